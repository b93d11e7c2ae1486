"""Reader for per-block header times: ``height,time``, one row per block.

Format of ``chain-2026/block-times-934576-942199.csv``: the header line ``height,time`` and one
row per block, heights ascending (a block's ``nTime`` [Unix s], as its header carries it:
not monotone, as consensus allows). No hashes: the rows prove times, checked on import against
the median time past, the stored times and the retargets they make checkable.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashlens.consensus import MAX_BLOCK_HEIGHT
from hashlens.errors import HashlensError

COLUMNS = ("height", "time")


@dataclass(frozen=True)
class BlockTimes:
    """Block heights (strictly ascending) and their header times [Unix s]."""

    path: Path
    height: np.ndarray  # int64
    time: np.ndarray  # int64 [Unix s]

    def __len__(self) -> int:
        return int(self.height.size)

    def where(self, i: int) -> str:
        """Row i's place for messages (the header is line 1)."""
        return f"{self.path}: line {i + 2}"


def read_block_times(path: Path) -> BlockTimes:
    """Every row; refuses a row that is not two integers, a time outside a header's 32 bits,
    a negative height, and heights that do not strictly ascend."""
    heights: list[int] = []
    times: list[int] = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        cols = [c.strip().lstrip("\ufeff").strip().lower() for c in next(reader, [])]
        if cols[:2] != list(COLUMNS):
            raise HashlensError(f"{path}: the header line must start with 'height,time'")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            where = f"{path}: line {lineno}"
            try:
                h, t = int(row[0].strip()), int(row[1].strip())
            except (ValueError, IndexError):
                raise HashlensError(f"{where}: give a height and a time (integers), got {row[:2]!r}") from None
            if not 0 <= h <= MAX_BLOCK_HEIGHT:
                raise HashlensError(
                    f"{where}: height {h} is "
                    + (
                        "negative; heights start at 0 (genesis)"
                        if h < 0
                        else f"above {MAX_BLOCK_HEIGHT}, the highest a block can have"
                    )
                )
            if not 0 <= t <= 0xFFFF_FFFF:
                raise HashlensError(f"{where}: time {t} is outside a header's range 0 … 4294967295")
            if heights and h <= heights[-1]:
                raise HashlensError(f"{where}: height {h} does not follow {heights[-1]}; heights must ascend")
            heights.append(h)
            times.append(t)
    return BlockTimes(path, np.asarray(heights, dtype=np.int64), np.asarray(times, dtype=np.int64))


__all__ = ["BlockTimes", "read_block_times"]
