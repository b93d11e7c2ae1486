"""Reader for period boundary times: the first and last block time of difficulty periods.

Format of ``chain-extra/period-boundary-times-2025-2026.csv``: a header line starting
``period_start,start_time`` with at least ``last_height`` and ``last_time`` among the columns
(also ``bits``, UTC strings, provenance; those are not needed). ``last_time`` may be empty
for a period that had not ended when the file was written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.errors import HashlensError

N = DIFFICULTY_ADJUSTMENT_INTERVAL
COLUMNS = ("period_start", "start_time", "last_height", "last_time")


@dataclass(frozen=True)
class PeriodBoundary:
    """One period's first block (height ``period_start``) and last block (``last_height``)."""

    period_start: int
    start_time: int | None  # [Unix s]
    last_height: int
    last_time: int | None  # [Unix s]
    bits: int | None  # compact nBits of the period, when the file gives them
    where: str  # "file: line 7", for messages


def _int(value: str | None, where: str, name: str, base: int = 10) -> int | None:
    v = (value or "").strip()
    if not v:
        return None
    try:
        return int(v.removeprefix("0x"), base)
    except ValueError:
        raise HashlensError(f"{where}: {name} {value!r} is not an integer") from None


def read_period_boundary_times(path: Path) -> list[PeriodBoundary]:
    """Every row, in file order; a period start must be a retarget height and its last
    block 2015 blocks later (the retarget rule reads exactly those two times)."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in cols]
        if missing:
            raise HashlensError(f"{path}: missing column(s) {', '.join(missing)} in the header line")
        out = []
        for lineno, row in enumerate(reader, start=2):
            where = f"{path}: line {lineno}"
            start = _int(row["period_start"], where, "period_start")
            last = _int(row["last_height"], where, "last_height")
            if start is None or start % N:
                raise HashlensError(f"{where}: period_start {row['period_start']!r} is not a multiple of {N}")
            if last != start + N - 1:
                raise HashlensError(f"{where}: last_height {row['last_height']!r} is not period_start + {N - 1}")
            out.append(
                PeriodBoundary(
                    period_start=start,
                    start_time=_int(row["start_time"], where, "start_time"),
                    last_height=last,
                    last_time=_int(row["last_time"], where, "last_time"),
                    bits=_int(row.get("bits"), where, "bits", 16),
                    where=where,
                )
            )
    return out
