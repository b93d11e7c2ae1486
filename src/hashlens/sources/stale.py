"""Reader for stale (orphaned) block lists: ``height,hash,header`` with the 80-byte header in hex.

The format of bitcoin-data/stale-blocks (``stale-blocks.csv``). Each row proves itself: the
header must hash to the named hash and meet its own target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hashlens.consensus import BlockHeader
from hashlens.errors import HashlensError


@dataclass(frozen=True)
class StaleBlock:
    """One stale block: its height, hash (display hex), header hex and parsed header."""

    height: int
    hash: str
    header_hex: str
    header: BlockHeader


def read_stale_blocks(path: Path) -> list[StaleBlock]:
    """Every row of a stale-blocks CSV, in file order; refuses a row that does not prove itself."""
    lines = path.read_text().splitlines()
    out: list[StaleBlock] = []
    for lineno, line in enumerate(lines[1:], start=2):
        parts = line.split(",")
        if len(parts) != 3:
            raise HashlensError(f"{path}: line {lineno}: expected height,hash,header")
        try:
            height = int(parts[0])
        except ValueError:
            raise HashlensError(f"{path}: line {lineno}: height {parts[0]!r} is not an integer") from None
        hdr = BlockHeader.from_hex(parts[2])
        if hdr.hash_hex != parts[1].strip():
            raise HashlensError(f"{path}: line {lineno}: header hashes to {hdr.hash_hex}, not {parts[1]}")
        if not hdr.check_proof_of_work():
            raise HashlensError(f"{path}: line {lineno}: header fails proof of work")
        out.append(StaleBlock(height, hdr.hash_hex, parts[2].strip(), hdr))
    return out
