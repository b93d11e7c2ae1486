"""Reader for per-block ``getblockstats`` dumps (CSV, optionally gzip-compressed)."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashlens.errors import HashlensError

REQUIRED = ("height", "blockhash", "time")


@dataclass(frozen=True)
class BlockStats:
    """Columns of a block-stats file, sorted by height."""

    height: np.ndarray  # int64
    time: np.ndarray  # int64 [Unix s]
    blockhash: list[str]
    subsidy_sat: np.ndarray  # int64
    totalfee_sat: np.ndarray  # int64
    mediantime: np.ndarray  # int64 [Unix s]; 0 where the file lacks the column
    txs: np.ndarray  # int64
    total_weight: np.ndarray  # int64 [WU]

    def time_at(self) -> dict[int, int]:
        return dict(zip(self.height.tolist(), self.time.tolist(), strict=True))


def read_blockstats(path: str | Path) -> BlockStats:
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    heights: list[int] = []
    times: list[int] = []
    hashes: list[str] = []
    subsidy: list[int] = []
    fees: list[int] = []
    optional: dict[str, list[int]] = {"mediantime": [], "txs": [], "total_weight": []}
    with opener(p, "rt", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise HashlensError(f"{p}: missing column(s) {', '.join(missing)} in the header line")
        has_sub = "subsidy" in (reader.fieldnames or [])
        has_fee = "totalfee" in (reader.fieldnames or [])
        for lineno, row in enumerate(reader, start=2):
            try:
                heights.append(int(row["height"]))
                times.append(int(row["time"]))
                subsidy.append(int(row["subsidy"]) if has_sub else -1)
                fees.append(int(row["totalfee"]) if has_fee else -1)
                for col, vals in optional.items():
                    vals.append(int(row.get(col) or 0))
            except (TypeError, ValueError):
                raise HashlensError(
                    f"{p}: line {lineno}: height, time, subsidy, totalfee, mediantime, txs and "
                    "total_weight must be integers"
                ) from None
            hashes.append(row["blockhash"])
    h = np.asarray(heights, dtype=np.int64)
    order = np.argsort(h, kind="stable")
    return BlockStats(
        height=h[order],
        time=np.asarray(times, dtype=np.int64)[order],
        blockhash=[hashes[i] for i in order.tolist()],
        subsidy_sat=np.asarray(subsidy, dtype=np.int64)[order],
        totalfee_sat=np.asarray(fees, dtype=np.int64)[order],
        mediantime=np.asarray(optional["mediantime"], dtype=np.int64)[order],
        txs=np.asarray(optional["txs"], dtype=np.int64)[order],
        total_weight=np.asarray(optional["total_weight"], dtype=np.int64)[order],
    )
