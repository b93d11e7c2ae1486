"""Reader for per-block ``getblockstats`` dumps (CSV, optionally gzip-compressed)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Read the columns hashlens uses with Arrow's multi-threaded CSV reader (gzip or plain).

    A row whose integer columns do not parse is reported by its line number.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = Path(path)
    try:
        with gzip.open(p, "rt") if p.suffix == ".gz" else open(p) as fh:
            cols = [c.strip() for c in fh.readline().split(",")]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise HashlensError(f"{p}: cannot read as CSV: {exc}") from None
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise HashlensError(f"{p}: missing column(s) {', '.join(missing)} in the header line")
    wanted: tuple[str, ...] = ("height", "time", "subsidy", "totalfee", "mediantime", "txs", "total_weight")
    ints: list[str] = [c for c in wanted if c in cols]
    types: dict[str, Any] = {c: pa.int64() for c in ints}
    types["blockhash"] = pa.string()
    try:
        table = pacsv.read_csv(
            p,
            convert_options=pacsv.ConvertOptions(
                include_columns=[*ints, "blockhash"],
                column_types=types,
            ),
        )
    except pa.ArrowInvalid as exc:
        try:
            bad = _first_bad_line(p, ints)
        except (OSError, EOFError, UnicodeDecodeError):
            bad = None
        raise HashlensError(f"{p}: {bad or exc}") from None
    except (OSError, EOFError) as exc:
        raise HashlensError(f"{p}: cannot read: {exc} (a truncated or damaged file?)") from None
    n = table.num_rows

    def col(name: str, fill: int) -> np.ndarray:
        if name not in ints:
            return np.full(n, fill, dtype=np.int64)
        c = table.column(name)
        if c.null_count:
            row = int(np.flatnonzero(c.is_null().to_numpy(zero_copy_only=False))[0])
            raise HashlensError(f"{p}: line {row + 2}: {name} is empty")
        return np.asarray(c.to_numpy(), dtype=np.int64)

    h = col("height", 0)
    order = np.argsort(h, kind="stable")
    hashes = table.column("blockhash").to_pylist()
    return BlockStats(
        height=h[order],
        time=col("time", 0)[order],
        blockhash=[hashes[i] or "" for i in order.tolist()],
        subsidy_sat=col("subsidy", -1)[order],
        totalfee_sat=col("totalfee", -1)[order],
        mediantime=col("mediantime", 0)[order],
        txs=col("txs", 0)[order],
        total_weight=col("total_weight", 0)[order],
    )


def _first_bad_line(p: Path, ints: list[str]) -> str | None:
    """Arrow does not say which row failed; find it with the slow reader, for the message."""
    import csv

    with gzip.open(p, "rt", newline="") if p.suffix == ".gz" else open(p, newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            for c in ints:
                try:
                    int(row[c])
                except (TypeError, ValueError):
                    return f"line {lineno}: {c} {row[c]!r} is not an integer"
    return None


def check_block_stats(stats: BlockStats, path: str | Path) -> None:
    """The checks a block-stats file allows without headers, vectorised over the file.

    Hashes are 64 lowercase hex digits; the subsidy is the consensus subsidy of the height
    (:func:`hashlens.consensus.block_subsidy_sat`); fees are not negative; and a block's time
    exceeds its parent's median time past (Core's ``ContextualCheckBlockHeader`` rule) where
    the parent is the previous row; weights and transaction counts within what a block can
    hold (``MAX_BLOCK_WEIGHT``, and at most one transaction per non-witness byte).
    """
    from hashlens.consensus import HALVING_INTERVAL, MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR, block_subsidy_sat

    heights, hashes = stats.height, stats.blockhash
    hexdigits = set("0123456789abcdef")
    bad_len = [i for i, x in enumerate(hashes) if len(x) != 64]
    if bad_len or not set("".join(hashes)) <= hexdigits:
        i = bad_len[0] if bad_len else next(i for i, x in enumerate(hashes) if not set(x) <= hexdigits)
        raise HashlensError(f"{path}: height {int(heights[i])}: blockhash {hashes[i]!r} is not 64 lowercase hex digits")
    if heights.size:
        if int(heights.min()) < 0:
            raise HashlensError(f"{path}: height {int(heights.min())} is negative")
        # One scalar consensus call per subsidy era, then a lookup per row (zero from era 64 on).
        per_era = np.array([block_subsidy_sat(e * HALVING_INTERVAL) for e in range(65)], np.int64)
        expected = per_era[np.minimum(heights // HALVING_INTERVAL, 64)]
        bad = np.flatnonzero(stats.subsidy_sat != expected)
        if bad.size:
            i = int(bad[0])
            raise HashlensError(
                f"{path}: height {int(heights[i])}: subsidy {int(stats.subsidy_sat[i])} sat is not the "
                f"consensus {int(expected[i])} sat"
            )
    bad = np.flatnonzero(stats.totalfee_sat < 0)
    if bad.size:
        raise HashlensError(f"{path}: height {int(heights[int(bad[0])])}: negative total fee")
    for name, values, most in (
        ("total_weight", stats.total_weight, MAX_BLOCK_WEIGHT),
        ("txs", stats.txs, MAX_BLOCK_WEIGHT // WITNESS_SCALE_FACTOR),
    ):
        bad = np.flatnonzero((values < 0) | (values > most))
        if bad.size:
            i = int(bad[0])
            raise HashlensError(
                f"{path}: height {int(heights[i])}: {name} {int(values[i]):,} is outside 0 … {most:,}, "
                "what a block can hold"
            )
    if len(heights) > 1 and stats.mediantime.any():
        has_parent = np.diff(heights) == 1
        bad = np.flatnonzero(has_parent & (stats.time[1:] <= stats.mediantime[:-1]))
        if bad.size:
            i = int(bad[0]) + 1
            raise HashlensError(
                f"{path}: height {int(heights[i])}: time {int(stats.time[i])} is not after "
                f"the parent's median time past {int(stats.mediantime[i - 1])}"
            )
