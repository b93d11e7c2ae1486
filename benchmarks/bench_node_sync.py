"""Initial header sync from a node: Core's REST in bulk beside batched JSON-RPC and beside
bitcoin-utils parsing the same bytes.

Run: `sh scripts/bench node_sync` (or `python -m benchmarks.bench_node_sync`).

The chain: a 900,000-header chain linked and with real proof of work cannot be taken from
the shared data (it holds 436 period-start headers and an 8-block stale run), so the benchmark
mines one itself at start-up under Bitcoin Core's regtest rules (its genesis block, pow limit
0x207fffff: about two double-SHA-256 per header; times 1 s apart). A loopback replay server in
its own process serves it as a Core node (REST and JSON-RPC), and the sync checks every header
with the same code as on mainnet under `hashlens.consensus.contextual.REGTEST` (every rule;
no retargeting on regtest, the minimum-difficulty rule instead), into a DuckDB file.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_node_sync.py`

from tests.replay import ReplayChain, ReplayServer, chain_of, mine_regtest_chain

from benchmarks.common import Row, parser, record
from hashlens.chain.sync import REMOTE_BATCH_ROWS, sync
from hashlens.consensus.contextual import REGTEST
from hashlens.store import Store

NOW = 1_900_000_000  # the sync's reference time (regtest times start in 2011) [Unix s]


def _serve(chain: ReplayChain, rest: bool, conn: Any) -> None:
    chain.rest = rest
    chain.frozen = True
    chain.best_headers(chain.hashes[min(chain.hashes)], 1)  # its index and buffer, before the clock starts
    with ReplayServer(chain) as srv:
        conn.send(srv.port)
        conn.recv()  # until the parent says stop


class Node:
    """The replay server in a child process, so that serving does not share the sync's core."""

    def __init__(self, chain: ReplayChain, rest: bool) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(chain, rest, child), daemon=True)
        self.proc.start()
        self.port = int(self.conn.recv())
        self.url = f"bitcoind://{chain.user}:{chain.password}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.conn.send("stop")
        self.proc.join(10)


def timed_sync(url: str, db: Path, tip: int, batch: int = REMOTE_BATCH_ROWS) -> tuple[float, int]:
    """Seconds to sync heights 0 … tip from ``url`` into a new DuckDB file, from opening the
    store to closing it (its last checkpoint included), and rows stored."""
    t0 = time.perf_counter()
    with Store(db) as store:
        sync(store, url, batch_rows=batch, now=NOW, params=REGTEST, fee_blocks=0)
    dt = time.perf_counter() - t0
    with Store(db, read_only=True) as store:
        rows = store.counts()["blocks"]
        assert store.tip_height() == tip, (store.tip_height(), tip)
    return dt, rows


def bitcoin_utils_s(buf: bytes) -> float:
    """Seconds for bitcoin-utils to parse and hash every header of ``buf``."""
    from bitcoinutils.block import BlockHeader as BuHeader

    t0 = time.perf_counter()
    for o in range(0, len(buf), 80):
        BuHeader.from_raw(buf[o : o + 80]).get_block_hash()
    return time.perf_counter() - t0


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("-n", type=int, default=900_000, help="headers in the chain (genesis included)")
    ap.add_argument("--batch-n", type=int, default=100_000, help="prefix synced in bulk over batched JSON-RPC")
    ap.add_argument(
        "--batch", type=int, default=REMOTE_BATCH_ROWS, help="headers per run (one transaction each; default: sync's)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="REST syncs, each in a new process (the median counts)")
    args = ap.parse_args()
    if args.smoke:  # seconds: a short chain, one REST sync
        args.n, args.batch_n, args.repeat = 20_000, 5_000, 1
    if args.rounds:
        args.repeat = args.rounds

    t0 = time.perf_counter()
    raws = mine_regtest_chain(args.n)
    mined_s = time.perf_counter() - t0
    buf = b"".join(raws)
    print(
        f"chain: {args.n:,} regtest-rules headers mined here in {mined_s:.1f} s (Core's regtest genesis, "
        "bits 0x207fffff, real proof of work for regtest's limit); not mainnet headers"
    )
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-bench-"))
    full, batch_prefix = chain_of(raws), chain_of(raws[: args.batch_n])
    rest_node, batch_node = Node(full, True), Node(batch_prefix, False)
    try:
        # Each REST sync in a new interpreter, as `hashlens sync` runs: nothing loaded by an
        # earlier run (llvmlite, pyarrow) is already there.
        spawn = multiprocessing.get_context("spawn")
        rest_runs = []
        bu_runs = []
        for i in range(args.repeat):  # interleaved with bitcoin-utils on the same bytes
            db = tmp / ("rest.duckdb" if i == 0 else f"rest-{i}.duckdb")
            with spawn.Pool(1) as pool:
                rest_runs.append(pool.apply(timed_sync, (rest_node.url, db, args.n - 1, args.batch)))
            bu_runs.append(bitcoin_utils_s(buf))
        rest_s, rows = statistics.median(s for s, _ in rest_runs), rest_runs[0][1]
        batch_s, _ = timed_sync(batch_node.url, tmp / "batch.duckdb", args.batch_n - 1, batch=args.batch)
    finally:
        for node in (rest_node, batch_node):
            node.stop()
    with Store(tmp / "rest.duckdb") as a, Store(tmp / "batch.duckdb") as b:
        q = f"SELECT height, hash, prev_hash, version, merkle_root, time, bits, nonce FROM blocks WHERE height < {args.batch_n} ORDER BY height"
        same = a._rows(q) == b._rows(q)

    bu_s = statistics.median(bu_runs)
    record(
        Row(
            "node_sync",
            f"initial sync from a node over REST, {args.n:,} headers",
            "REST bulk sync into DuckDB",
            "bitcoin-utils from_raw + get_block_hash, no checks, no store",
            [s for s, _ in rest_runs],
            bu_runs,
            None,
            args.n,
            "headers",
        )
    )

    rest_rate, batch_rate, bu_rate = args.n / rest_s, args.batch_n / batch_s, args.n / bu_s
    each = ", ".join(f"{s:.2f}" for s, _ in rest_runs)
    print(
        f"REST bulk sync, end to end into DuckDB ({rows:,} rows, median {rest_s:.2f} s of {each}; "
        f"runs of {args.batch:,}):   {rest_rate:12,.0f} headers/s"
    )
    print(
        f"batched JSON-RPC bulk sync (node without -rest; first {args.batch_n:,}):    {batch_rate:12,.0f} headers/s"
        f"  (REST is {rest_rate / batch_rate:.1f}x)"
    )
    print(
        f"bitcoin-utils 0.8 BlockHeader.from_raw + get_block_hash, same bytes, no checks, no store: "
        f"{bu_rate:12,.0f} headers/s  (REST bulk end to end is {rest_rate / bu_rate:.1f}x)"
    )
    print(f"rows of the first {args.batch_n:,} heights identical between the REST and batched RPC syncs: {same}")
    print(f"goal >= 500,000 headers/s end to end (median): {'met' if rest_rate >= 500_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
