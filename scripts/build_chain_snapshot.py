"""Build the compact chain snapshot that ships in the package (src/hashlens/data/chain_snapshot.csv).

Public chain facts only, one row per difficulty period: start height, compact bits, the hash
of its last block, and for the period's first block its time, hash and full 80-byte header
where the shared data hold them. Derived by hashlens' own readers from ../shared/data/chain;
run by a maintainer, output committed. It lets `hashlens report` run on a machine that has
neither the shared data nor a node.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hashlens.consensus import target_to_bits
from hashlens.sources.blockstats import read_blockstats
from hashlens.sources.checkpoints import read_bitcoinj, read_electrum

ROOT = Path(__file__).resolve().parents[1]
CHAIN = ROOT / "../shared/data/chain"
OUT = ROOT / "src/hashlens/data/chain_snapshot.csv"


def main() -> None:
    periods = read_electrum(CHAIN / "electrum-mainnet-checkpoints.json")
    headers = {cp.height: cp for cp in read_bitcoinj(CHAIN / "bitcoinj-mainnet-checkpoints.txt")}
    stats = read_blockstats(CHAIN / "blockstats-btc-rpc-data.csv.gz")
    by_height = {int(h): (int(t), x) for h, t, x in zip(stats.height, stats.time, stats.blockhash, strict=True)}
    with open(OUT, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["period", "start_height", "bits", "last_block_hash", "start_time", "start_hash", "start_header"])
        for p in periods:
            h = p.start_height
            cp = headers.get(h)
            t, x = by_height.get(h, (None, None))
            if cp is not None:
                t, x = cp.header.time, cp.header.hash_hex
            w.writerow(
                [
                    p.period,
                    h,
                    f"{target_to_bits(p.target):08x}",
                    p.last_block_hash or "",
                    t or "",
                    x or "",
                    cp.raw_header.hex() if cp else "",
                ]
            )
    print(f"wrote {OUT.relative_to(ROOT)}: {len(periods)} periods")


if __name__ == "__main__":
    main()
