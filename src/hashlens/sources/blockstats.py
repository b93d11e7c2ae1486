"""Reader for per-block ``getblockstats`` dumps (CSV, optionally gzip-compressed)."""

from __future__ import annotations

import csv
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

    Column names are read from the header line trimmed of spaces and of a byte-order mark
    (``height,blockhash,time, txs`` names ``txs``); a name given twice is refused. A row whose
    integer columns do not parse is reported by its line number.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = Path(path)
    try:
        with gzip.open(p, "rt", encoding="utf-8-sig") if p.suffix == ".gz" else open(p, encoding="utf-8-sig") as fh:
            cols = [c.strip().strip('"').strip() for c in fh.readline(1 << 20).rstrip("\r\n").split(",")]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise HashlensError(f"{p}: cannot read as CSV: {exc}") from None
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise HashlensError(f"{p}: missing column(s) {', '.join(missing)} in the header line")
    twice = sorted({c for c in cols if c and cols.count(c) > 1})
    if twice:
        raise HashlensError(f"{p}: column(s) {', '.join(twice)} appear twice in the header line")
    # Unnamed columns get placeholder names (Arrow needs one per column; they are not read).
    names = [c or f"_unnamed_{i}" for i, c in enumerate(cols)]
    wanted: tuple[str, ...] = ("height", "time", "subsidy", "totalfee", "mediantime", "txs", "total_weight")
    ints: list[str] = [c for c in wanted if c in cols]
    types: dict[str, Any] = {c: pa.int64() for c in ints}
    types["blockhash"] = pa.string()
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                include_columns=[*ints, "blockhash"],
                column_types=types,
            ),
        )
    except pa.ArrowInvalid as exc:
        try:
            bad = _first_bad_line(p, ints)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error):
            bad = None
        raise HashlensError(f"{p}: {bad or ' '.join(str(exc).split())}") from None
    except pa.ArrowException as exc:
        raise HashlensError(f"{p}: not a readable block-stats CSV: {' '.join(str(exc).split())}") from None
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
    with (
        gzip.open(p, "rt", newline="", encoding="utf-8-sig")
        if p.suffix == ".gz"
        else open(p, newline="", encoding="utf-8-sig") as fh
    ):
        reader = csv.reader(fh)
        names = [c.strip() for c in next(reader, [])]
        for lineno, cells in enumerate(reader, start=2):
            if len(cells) != len(names):
                return f"line {lineno}: {len(cells)} cells, but the header names {len(names)} columns"
            row = dict(zip(names, cells, strict=True))
            for c in ints:
                try:
                    int(row[c])
                except (TypeError, ValueError):
                    shown = row[c] if len(row[c]) <= 24 else row[c][:20] + "…"
                    return f"line {lineno}: {c} {shown!r} is not an integer"
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
