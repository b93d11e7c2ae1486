"""Reader for the bundled chain snapshot, ``hashlens/data/chain_snapshot.csv``.

Built by ``scripts/build_chain_snapshot.py`` from the public chain files: one row per
difficulty period with its bits, last-block hash and first block (full header where known,
else its hash and time).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from hashlens.consensus import BlockHeader
from hashlens.errors import HashlensError

SOURCE = "hashlens snapshot"


@dataclass(frozen=True)
class SnapshotPeriod:
    """One period of the snapshot."""

    period: int
    start_height: int
    bits: int  # compact nBits
    last_block_hash: str | None  # hash of block 2016p + 2015 (display hex)
    start_time: int | None  # time of the first block [Unix s]
    start_hash: str | None
    start_header: BlockHeader | None


def parse_snapshot(text: str, source: str = SOURCE) -> list[SnapshotPeriod]:
    """Rows of the snapshot CSV (period,start_height,bits,last_block_hash,start_time,start_hash,start_header)."""
    out = []
    for lineno, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            out.append(
                SnapshotPeriod(
                    period=int(r["period"]),
                    start_height=int(r["start_height"]),
                    bits=int(r["bits"], 16),
                    last_block_hash=r["last_block_hash"] or None,
                    start_time=int(r["start_time"]) if r["start_time"] else None,
                    start_hash=r["start_hash"] or None,
                    start_header=BlockHeader.from_hex(r["start_header"]) if r["start_header"] else None,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HashlensError(
                f"{source}: line {lineno}: {exc}; rebuild it with scripts/build_chain_snapshot.py"
            ) from None
    return out


def read_snapshot() -> list[SnapshotPeriod]:
    """The snapshot bundled with the package."""
    return parse_snapshot(resources.files("hashlens.data").joinpath("chain_snapshot.csv").read_text())
