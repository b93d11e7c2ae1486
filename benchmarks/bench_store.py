"""Store benchmarks, each beside a named baseline measured in the same run.

Run: `sh scripts/bench store`.
1. Import of the real per-block file (80,118 rows, validated, batched transactions) beside
   DuckDB's own unvalidated `read_csv` load of the same file.
2. Import of the real bitcoinj headers (436, full context validation: PoW, linkage, bits)
   beside a naive importer: python-bitcoinlib parse + CheckProofOfWork + row-by-row INSERT.
3. The adjustment history with ranks, streaks and records over the full chain, beside the
   same computation written in pandas.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks.bench_headers import best_of as timed
from hashlens.chain.adjustments import adjustment_history, load_periods
from hashlens.chain.sync import sync
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.sources.datadir import require_data_dir
from hashlens.store import Store


def pandas_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
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
    data = require_data_dir() / "chain"
    stats = data / "blockstats-btc-rpc-data.csv.gz"
    tmp = Path(tempfile.mkdtemp())
    n_rows = 80118

    # 1. block rows
    def ours_rows() -> None:
        p = tmp / f"a{time.perf_counter_ns()}.duckdb"
        with Store(p) as s:
            sync(s, str(data / "electrum-mainnet-checkpoints.json"))
            t0 = time.perf_counter()
            sync(s, str(stats))
            ours_rows.t = time.perf_counter() - t0  # type: ignore[attr-defined]

    def duck_rows() -> None:
        con = duckdb.connect(str(tmp / f"b{time.perf_counter_ns()}.duckdb"))
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(stats)])
        con.close()

    best_ours = float("inf")
    for _ in range(3):
        ours_rows()
        best_ours = min(best_ours, ours_rows.t)  # type: ignore[attr-defined]
    t_duck = timed(duck_rows)
    print(
        f"block rows: hashlens validated import {n_rows / best_ours:10,.0f} rows/s | "
        f"DuckDB read_csv (no validation) {n_rows / t_duck:10,.0f} rows/s | ratio {t_duck / best_ours:.2f}x"
    )

    # 2. headers
    cps = read_bitcoinj(data / "bitcoinj-mainnet-checkpoints.txt")

    def ours_headers() -> None:
        with Store(tmp / f"c{time.perf_counter_ns()}.duckdb") as s:
            sync(s, str(data / "bitcoinj-mainnet-checkpoints.txt"))

    def naive_headers() -> None:
        from bitcoin.core import CBlockHeader, CheckProofOfWork, b2lx

        con = duckdb.connect(str(tmp / f"d{time.perf_counter_ns()}.duckdb"))
        con.execute(
            "CREATE TABLE blocks (height INTEGER PRIMARY KEY, hash VARCHAR, prev_hash VARCHAR, time BIGINT, "
            "bits UINTEGER)"
        )
        for cp in cps:
            h = CBlockHeader.deserialize(cp.raw_header)
            CheckProofOfWork(h.GetHash(), h.nBits)
            con.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?, ?)",
                [cp.height, b2lx(h.GetHash()), b2lx(h.hashPrevBlock), h.nTime, h.nBits],
            )
        con.close()

    t_ours_h = timed(ours_headers)
    t_naive_h = timed(naive_headers)
    n = len(cps)
    print(
        f"headers:    hashlens validated import {n / t_ours_h:10,.0f} headers/s | "
        f"python-bitcoinlib + row INSERTs      {n / t_naive_h:10,.0f} headers/s | ratio {t_naive_h / t_ours_h:.2f}x"
    )

    # 3. history query
    full = tmp / "full.duckdb"
    with Store(full) as s:
        sync(s, str(data))
        t_ours_q = timed(lambda: adjustment_history(load_periods(s)), repeat=5)
        t_pd_q = timed(lambda: pandas_history(s.con), repeat=5)
        rows = len(adjustment_history(load_periods(s)))
        ours = [a.rank_among_drops or 0 for a in adjustment_history(load_periods(s))]
        theirs = pandas_history(s.con)["rank_among_drops"].fillna(0).astype(int).tolist()
        assert ours == theirs, "the two implementations disagree"
    print(
        f"history:    hashlens {rows} adjustments with ranks/streaks/records {t_ours_q * 1e3:8.1f} ms | "
        f"pandas {t_pd_q * 1e3:8.1f} ms | ratio {t_pd_q / t_ours_q:.2f}x"
    )


if __name__ == "__main__":
    main()
