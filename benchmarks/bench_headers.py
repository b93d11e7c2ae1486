"""Header parse + proof-of-work throughput: hashlens beside python-bitcoinlib, same run.

Run: `sh scripts/bench headers` (or `python -m benchmarks.bench_headers`). Uses the real
headers of ../shared/data (bitcoinj checkpoints and stale blocks), repeated to N headers.
"""

from __future__ import annotations

import argparse
import time

from hashlens.consensus import BlockHeader
from hashlens.consensus.header import check_raw_headers
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.sources.datadir import require_data_dir


def real_headers() -> list[bytes]:
    d = require_data_dir()
    raws = [cp.raw_header for cp in read_bitcoinj(d / "chain/bitcoinj-mainnet-checkpoints.txt")]
    for row in (d / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]:
        raws.append(bytes.fromhex(row.split(",")[2]))
    return raws


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000, help="headers per timed run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = real_headers()
    raws = (base * (args.n // len(base) + 1))[: args.n]
    buf = b"".join(raws)

    from bitcoin.core import CBlockHeader, CheckProofOfWorkError
    from bitcoin.core import CheckProofOfWork as bl_check

    def peer() -> None:
        for raw in raws:
            h = CBlockHeader.deserialize(raw)
            try:
                bl_check(h.GetHash(), h.nBits)
            except CheckProofOfWorkError:
                raise SystemExit("python-bitcoinlib rejected a real header") from None

    def ours_bulk() -> None:
        if not all(ok for _, ok in check_raw_headers(buf)):
            raise SystemExit("hashlens rejected a real header")

    def ours_objects() -> None:
        for raw in raws:
            if not BlockHeader.parse(raw).check_proof_of_work():
                raise SystemExit("hashlens rejected a real header")

    t_peer = best_of(peer, args.repeat)
    t_bulk = best_of(ours_bulk, args.repeat)
    t_obj = best_of(ours_objects, args.repeat)
    n = len(raws)
    print(f"headers: {n:,} real mainnet headers ({len(base)} distinct), best of {args.repeat}")
    print(f"python-bitcoinlib 0.12 deserialize+GetHash+CheckProofOfWork: {n / t_peer:12,.0f} headers/s")
    print(
        f"hashlens check_raw_headers (bulk buffer):                  {n / t_bulk:12,.0f} headers/s"
        f"  ({t_peer / t_bulk:.1f}x python-bitcoinlib)"
    )
    print(
        f"hashlens BlockHeader.parse + check_proof_of_work:          {n / t_obj:12,.0f} headers/s"
        f"  ({t_peer / t_obj:.1f}x python-bitcoinlib)"
    )


if __name__ == "__main__":
    main()
