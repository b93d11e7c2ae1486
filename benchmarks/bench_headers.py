"""`hashlens sync headers.bin` (a raw header file into the store) beside bitcoin-utils reading,
hashing, proof-of-work checking and linking the same file.

Run: `sh scripts/bench headers` (or `python -m benchmarks.bench_headers`); `--smoke` for a
seconds-long run (the test suite runs it).

The headers: a 900,000-header chain that links and carries real proof of work cannot be taken
from the shared data (it holds a few hundred far-apart mainnet headers and an 8-block stale
run), so, as `bench_node_sync` does, a chain is mined here under Bitcoin Core's regtest rules
(its genesis block, pow limit 0x207fffff: about two double-SHA-256 a header; times 1 s apart).
A loopback node serves it and hashlens syncs it into a store, checking every header; the raw
file is then written from what that store holds (each row re-serialised), so the file is a
validated chain, byte for byte the headers the store keeps.

Measured, interleaved in one process, ``--repeat`` times each:
- hashlens: ``sync(store, "headers.bin")`` into an empty DuckDB store (its schema made
  beforehand), from opening the store to closing it (its checkpoint included): read, hash every
  header once, every consensus rule over whole runs (proof of work, linkage, bits, median time
  past, version floors; regtest's parameters), where each header belongs, columnar insert.
- bitcoin-utils (the strongest pure-Python peer measured in the review): read the file, then per
  header ``BlockHeader.from_raw``, ``get_block_hash``, proof of work against ``get_target_hex``
  and the link to the previous header's hash; nothing stored.
Printed: headers/s min/median/max of each and the ratio of medians (above 1: hashlens faster).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_headers.py`

import numpy as np
from tests.replay import ReplayServer, chain_of, mine_regtest_chain

from benchmarks.common import Row, parser, record
from hashlens.chain.sync import sync
from hashlens.consensus.contextual import REGTEST
from hashlens.consensus.header import HEADER_DTYPE
from hashlens.store import Store

NOW = 1_900_000_000  # the syncs' reference time (regtest times start in 2011) [Unix s]


def headers_file_from_store(db: Path, out: Path) -> int:
    """Write the store's full headers, by height, as a raw header file; returns how many."""
    with Store(db, read_only=True) as store:
        rows = store._rows(
            "SELECT version, prev_hash, merkle_root, time, bits, nonce FROM blocks "
            "WHERE prev_hash IS NOT NULL ORDER BY height"
        )
    wire = np.zeros(len(rows), dtype=HEADER_DTYPE)
    wire["version"] = [r[0] for r in rows]
    # The store keeps hashes in display order; the wire, in internal order.
    wire["prev"] = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype=np.uint8).reshape(-1, 32)[:, ::-1]
    wire["merkle"] = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=np.uint8).reshape(-1, 32)[:, ::-1]
    wire["time"], wire["bits"], wire["nonce"] = [r[3] for r in rows], [r[4] for r in rows], [r[5] for r in rows]
    out.write_bytes(wire.tobytes())
    return len(rows)


def build_file(n: int, tmp: Path) -> tuple[Path, float]:
    """Mine n regtest-rule headers, sync them from a loopback node into a store, and write the
    store's headers as the benchmark's raw file; (file, seconds spent mining)."""
    t0 = time.perf_counter()
    raws = mine_regtest_chain(n)
    mined_s = time.perf_counter() - t0
    db = tmp / "source.duckdb"
    with ReplayServer(chain_of(raws)) as node, Store(db) as store:
        sync(store, node.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)
    f = tmp / "headers.bin"
    assert headers_file_from_store(db, f) == n
    assert f.read_bytes() == b"".join(raws)  # the store kept every header byte for byte
    return f, mined_s


def hashlens_sync(f: Path, db: Path, n: int) -> float:
    """Seconds for `sync(store, headers.bin)` into an empty DuckDB store (its schema made
    beforehand, as a user's store exists), from opening the store to closing it."""
    with Store(db):
        pass
    t0 = time.perf_counter()
    with Store(db) as store:
        report = sync(store, str(f), now=NOW, params=REGTEST)[0]
    dt = time.perf_counter() - t0
    if report.added != n:
        raise SystemExit(f"hashlens stored {report.added} of {n} headers")
    return dt


def bitcoin_utils_check(f: Path, n: int) -> float:
    """Seconds for bitcoin-utils to read the file, parse, hash, check proof of work and link
    every header."""
    from bitcoinutils.block import BlockHeader

    t0 = time.perf_counter()
    buf = f.read_bytes()
    prev = None
    for o in range(0, len(buf), 80):
        h = BlockHeader.from_raw(buf[o : o + 80])
        x = h.get_block_hash()
        if int(x, 16) > int(h.get_target_hex(), 16):
            raise SystemExit(f"bitcoin-utils: header {o // 80} fails proof of work")
        if prev is not None and h.get_previous_block_hash() != prev:
            raise SystemExit(f"bitcoin-utils: header {o // 80} does not link")
        prev = x
    dt = time.perf_counter() - t0
    if len(buf) // 80 != n:
        raise SystemExit("bitcoin-utils read a different number of headers")
    return dt


def spread(rates: list[float]) -> str:
    return f"min {min(rates):10,.0f}  median {statistics.median(rates):10,.0f}  max {max(rates):10,.0f} headers/s"


def run(n: int, repeat: int) -> float:
    """The benchmark; returns the ratio of median rates (hashlens / bitcoin-utils)."""
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-bench-headers-"))
    f, mined_s = build_file(n, tmp)
    print(
        f"headers.bin: {n:,} regtest-rule headers ({f.stat().st_size:,} bytes), mined in {mined_s:.1f} s, "
        "synced from a loopback node into a store and written from it"
    )
    ours, peer = [], []
    for i in range(repeat):  # interleaved: each round runs both, in alternating order
        runs = [
            ("ours", lambda i=i: hashlens_sync(f, tmp / f"run-{i}.duckdb", n)),
            ("peer", lambda: bitcoin_utils_check(f, n)),
        ]
        for name, fn in runs if i % 2 == 0 else runs[::-1]:
            (ours if name == "ours" else peer).append(n / fn())
    ratio = statistics.median(ours) / statistics.median(peer)
    record(
        Row(
            "headers",
            f"sync headers.bin ({n:,} regtest-rule headers), end to end",
            "sync into DuckDB (every rule)",
            "bitcoin-utils parse+hash+PoW+link, no store",
            [n / r for r in ours],
            [n / r for r in peer],
            2.0,
            n,
            "headers",
        )
    )
    print(f"hashlens sync headers.bin, end to end into DuckDB (every rule): {spread(ours)}")
    print(f"bitcoin-utils 0.8 parse + hash + proof of work + link, no store: {spread(peer)}")
    print(
        f"ratio hashlens / bitcoin-utils: {ratio:.2f}x median "
        f"({min(ours) / max(peer):.2f}x worst case, {max(ours) / min(peer):.2f}x best case); goal >= 2x: "
        + ("met" if ratio >= 2 else "NOT met")
    )
    return ratio


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("-n", type=int, default=200_000, help="headers in the file (genesis included)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each, interleaved (as --rounds)")
    args = ap.parse_args()
    if args.smoke:
        run(4_000, args.rounds or 2)
    else:
        run(args.n, args.rounds or args.repeat)


if __name__ == "__main__":
    main()
