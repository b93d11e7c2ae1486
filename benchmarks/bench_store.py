"""Store benchmarks, each beside its strongest peer measured in the same run.

Run: ``python benchmarks/bench_store.py [--smoke] [--rounds R]`` (or ``sh scripts/bench store``).

1. Block rows: hashlens' validated import of the real per-block file (80,118 rows, batched
   transactions) beside DuckDB's own unvalidated ``read_csv`` of the same file into a table.
2. Headers: hashlens' import of the real bitcoinj headers (436, full context validation: proof
   of work, linkage, bits) beside bitcoin-utils parsing, hashing and proof-of-work checking each
   header, then one columnar insert of the rows into DuckDB.
3. The adjustment history with ranks, streaks and records over the full chain, from the
   store: as columns (``adjustment_columns(load_periods(store))``, the owner) and as typed
   rows (``adjustment_history``, what the faces get), beside the same computation in pandas
   reading the same tables; they must agree on every rank.

Contenders alternate round by round; each prints min/median/max and the ratio of medians
(above 1: hashlens faster).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_store.py`

import duckdb
import numpy as np
import pandas as pd

from benchmarks.common import Row, compare, interleave, parser
from hashlens.chain.adjustments import adjustment_columns, adjustment_history, load_periods
from hashlens.chain.sync import sync
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.sources.datadir import require_data_dir
from hashlens.store import Store

NAME = "store"


def pandas_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Ranks, streaks and records of every retarget, in pandas (the peer)."""
    df = con.execute(
        "SELECT p.period, p.start_height, p.target_hex, b.time FROM periods p "
        "LEFT JOIN blocks b ON b.height = p.start_height ORDER BY p.period"
    ).df()
    target = df["target_hex"].map(lambda h: int(h, 16))
    df["difficulty"] = (0xFFFF << 208) / target.astype(float)
    df["change_pct"] = (target.shift(1) / target - 1) * 100
    df = df.iloc[1:].copy()
    drops = df["change_pct"].where(df["change_pct"] < 0)
    rises = df["change_pct"].where(df["change_pct"] > 0)
    df["rank_among_drops"] = drops.rank(method="min")
    df["rank_among_rises"] = rises.rank(method="min", ascending=False)
    sign = np.sign(df["change_pct"])
    run_id = (sign != sign.shift()).cumsum()
    df["streak"] = (df.groupby(run_id).cumcount() + 1) * sign
    diff = df["difficulty"].to_numpy()
    ch = df["change_pct"].to_numpy()
    low, big = [], []
    for i in range(len(df)):
        earlier = np.flatnonzero(diff[:i] <= diff[i])
        low.append(earlier[-1] if earlier.size else -1)
        e2 = np.flatnonzero(ch[:i] <= ch[i])
        big.append(e2[-1] if e2.size and ch[i] < 0 else -1)
    df["lowest_since"] = low
    df["largest_drop_since"] = big
    return df


def main() -> None:
    args = parser(__doc__).parse_args()
    rounds = args.rounds or (2 if args.smoke else 5)
    data = require_data_dir() / "chain"
    stats = data / "blockstats-btc-rpc-data.csv.gz"
    checkpoints = data / "electrum-mainnet-checkpoints.json"
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-bench-store-"))
    n_rows = 80118

    # 1. block rows: the store holds the checkpoints first (the rows are validated against them)
    def ours_rows() -> float:
        with Store(tmp / f"a{time.perf_counter_ns()}.duckdb") as s:
            sync(s, str(checkpoints))
            t0 = time.perf_counter()
            sync(s, str(stats))
            return time.perf_counter() - t0

    def duck_rows() -> None:
        con = duckdb.connect(str(tmp / f"b{time.perf_counter_ns()}.duckdb"))
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(stats)])
        con.close()

    t = interleave({"ours": ours_rows, "peer": duck_rows}, rounds)
    compare(
        Row(
            NAME,
            "block rows (80,118) into a store",
            "validated import",
            "DuckDB read_csv, no checks",
            t["ours"],
            t["peer"],
            None,
            n_rows,
            "rows",
        )
    )

    # 2. headers
    bitcoinj = data / "bitcoinj-mainnet-checkpoints.txt"
    cps = read_bitcoinj(bitcoinj)

    def ours_headers() -> float:
        db = tmp / f"c{time.perf_counter_ns()}.duckdb"
        with Store(db):  # the schema made beforehand, as a user's store exists
            pass
        t0 = time.perf_counter()
        with Store(db) as s:
            sync(s, str(bitcoinj))
        return time.perf_counter() - t0

    def peer_headers() -> None:
        import pyarrow as pa
        from bitcoinutils.block import BlockHeader

        cols: dict[str, list[object]] = {k: [] for k in ("height", "hash", "prev_hash", "time", "bits")}
        for cp in cps:
            h = BlockHeader.from_raw(cp.raw_header)
            x = h.get_block_hash()
            if int(x, 16) > int(h.get_target_hex(), 16):
                raise SystemExit(f"bitcoin-utils: header at {cp.height} fails proof of work")
            for k, v in zip(
                cols, (cp.height, x, h.get_previous_block_hash(), h.get_timestamp(), h.get_target_bits()), strict=True
            ):
                cols[k].append(v)
        con = duckdb.connect(str(tmp / f"d{time.perf_counter_ns()}.duckdb"))
        con.register("rows_", pa.table(cols))
        con.execute("CREATE TABLE blocks AS SELECT * FROM rows_")
        con.close()

    t = interleave({"ours": ours_headers, "peer": peer_headers}, rounds)
    compare(
        Row(
            NAME,
            f"headers ({len(cps)} bitcoinj) into a store",
            "validated import (context rules)",
            "bitcoin-utils parse+hash+PoW, one insert",
            t["ours"],
            t["peer"],
            None,
            len(cps),
            "headers",
        )
    )

    # 3. the adjustment history
    with Store(tmp / "full.duckdb") as s:
        sync(s, str(data))
    with Store(tmp / "full.duckdb", read_only=True) as s:
        con = s._con
        ours = [a.rank_among_drops or 0 for a in adjustment_history(load_periods(s))]
        theirs = pandas_history(con)["rank_among_drops"].fillna(0).astype(int).tolist()
        if ours != theirs:
            raise SystemExit("the adjustment history and pandas disagree on the ranks")
        reps = 5 if args.smoke else 20
        t = interleave(
            {
                "columns": lambda: [adjustment_columns(load_periods(s)) for _ in range(reps)] and None,
                "typed": lambda: [adjustment_history(load_periods(s)) for _ in range(reps)] and None,
                "peer": lambda: [pandas_history(con) for _ in range(reps)] and None,
            },
            rounds,
        )
        rows = len(ours)
    what = f"adjustment history from the store ({rows} retargets, ranks/streaks/records)"
    peer = [x / reps for x in t["peer"]]
    compare(
        Row(NAME, what + ", as columns", "adjustment_columns", "pandas", [x / reps for x in t["columns"]], peer, 1.0)
    )
    compare(Row(NAME, what + ", typed rows", "adjustment_history", "pandas", [x / reps for x in t["typed"]], peer, 1.0))


if __name__ == "__main__":
    main()
