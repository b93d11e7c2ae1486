"""The difficulty adjustment history: every retarget with its rank, streak and records.

Pure functions over arrays of per-period bits and start times; :func:`load_periods` is the
one place that reads them from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import Field, TypeAdapter

from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, MAX_TARGET, difficulty_from_bits
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.vectorised import difficulty_change_pct
from hashlens.contracts import Result
from hashlens.errors import HashlensError
from hashlens.units import iso_utc_many

N = DIFFICULTY_ADJUSTMENT_INTERVAL


@dataclass(frozen=True)
class PeriodRow:
    period: int
    start_height: int
    bits: int
    start_time: int | None  # [Unix s]; None where the clock can only estimate it
    source: str
    start_source: str = "stored"  # stored / retarget-implied (see hashlens.chain.clock)


def load_periods(store: Any, clock: Any = None) -> list[PeriodRow]:
    """Every period with its start time as the chain's clock knows it (stored or
    retarget-implied; None where only estimated).

    Without a ``clock`` this reads the period table alone and dates the periods with
    :func:`hashlens.chain.clock.period_start_times`, the clock's own owner of the start times:
    the history needs 480 rows, not the clock's 80,000 block times and fees."""
    from hashlens.chain.clock import ESTIMATED, period_start_times

    if clock is not None:
        bits_a, starts_a, sources_a, period_source = (
            clock.bits,
            clock.start_time,
            clock.start_source,
            clock.period_source,
        )
    else:
        table = store.period_table()
        starts_a, sources_a, _ = period_start_times(table.bits, table.start_time, table.last_time)
        bits_a, period_source = table.bits, table.source
    # Plain Python lists first: indexing numpy arrays one element at a time is slow.
    sources, starts, bits = sources_a.tolist(), starts_a.tolist(), bits_a.tolist()
    out = []
    for p in range(len(bits)):
        src = str(sources[p])
        t = None if src == ESTIMATED else round(float(starts[p]))
        out.append(PeriodRow(p, p * N, int(bits[p]), t, period_source[p], src))
    return out


def change_pct(old_bits: int, new_bits: int) -> float:
    """Difficulty change of a retarget [%], from the exact integer targets.

    .. math:: \\Delta = \\left(\\frac{T_{old}}{T_{new}} - 1\\right) \\cdot 100

    Difficulty is inversely proportional to the target, so this is
    :func:`hashlens.consensus.vectorised.difficulty_change_pct` (the one formula) with the
    targets in swapped roles; Python divides the 256-bit integers with one rounding.

    Parameters
    ----------
    old_bits, new_bits : compact bits before and after the retarget

    Returns
    -------
    change [%]; positive when difficulty rose.
    """
    old_t, new_t = decode_compact(old_bits)[0], decode_compact(new_bits)[0]
    return float(difficulty_change_pct(1.0, old_t / new_t))


def bits_difference_pct(old_bits: int, new_bits: int) -> float:
    """% change between two bits values as mempool.space reports it (its ``calcBitsDifference``).

    It compares the 23-bit mantissas after aligning exponents that may differ by at most
    one, and clamps to [-75, 300]. It agrees with :func:`change_pct` to float rounding.
    """
    for b in (old_bits, new_bits):
        if b > 0x207FFFFF or b < 1 or b & 0x00800000 or not b & 0x007FFFFF:
            raise HashlensError(f"invalid bits 0x{b:08x} for a difficulty comparison")
    d_exp = (new_bits >> 24) - (old_bits >> 24)
    old_m, new_m = old_bits & 0x007FFFFF, new_bits & 0x007FFFFF
    if d_exp == -1:
        result = ((old_m << 8) * 100) / new_m - 100
    elif d_exp == 0:
        result = (old_m * 100) / new_m - 100
    elif d_exp == 1:
        result = (old_m * 100) / (new_m << 8) - 100
    else:
        raise HashlensError("bits exponents differ by more than one: not adjacent periods")
    return min(300.0, max(-75.0, result))


def ranks(changes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each change among drops (1 = largest % drop) and among rises (1 = largest
    rise); ties share the best rank; 0 where the change is not of that sign."""
    drop_rank = np.zeros(len(changes), dtype=np.int64)
    rise_rank = np.zeros(len(changes), dtype=np.int64)
    drops = changes < 0
    rises = changes > 0
    sorted_drops = np.sort(changes[drops])
    sorted_rises = np.sort(-changes[rises])
    drop_rank[drops] = np.searchsorted(sorted_drops, changes[drops], side="left") + 1
    rise_rank[rises] = np.searchsorted(sorted_rises, -changes[rises], side="left") + 1
    return drop_rank, rise_rank


def streaks(changes: np.ndarray) -> np.ndarray:
    """Signed run length: -3 = third drop in a row, +2 = second rise; 0 for no change."""
    sign = np.sign(changes).astype(np.int64)
    out = np.zeros(len(changes), dtype=np.int64)
    run = 0
    for i, s in enumerate(sign.tolist()):
        run = run + s if s != 0 and (run == 0 or (run > 0) == (s > 0)) else s
        out[i] = run
    return out


def same_sign_of_last(changes: np.ndarray) -> tuple[int, int]:
    """How many of the last ``n`` adjustments went the latest one's way: ``(k, n)`` over the
    longest window ending at the latest adjustment that holds at most one adjustment of the
    other sign (or none), starting on one of the latest's sign.

    The press counts a run with one break in it as a run ("the sixth consecutive drop" when 6
    of the last 7 fell): this names both numbers. With no break, ``k = n`` is the streak;
    ``(0, 0)`` for no adjustment or no change.

    Parameters
    ----------
    changes : the adjustments' changes, oldest first [%]

    Returns
    -------
    (k, n): adjustments of the latest's sign among the last n [-]
    """
    sign = np.sign(np.asarray(changes, dtype=float)).astype(np.int64)
    if sign.size == 0 or sign[-1] == 0:
        return 0, 0
    same = sign == sign[-1]
    breaks = np.cumsum(~same[::-1])  # adjustments of another sign, counted back from the latest
    n = int(np.searchsorted(breaks, 2))  # the window stops before the second break
    while not same[sign.size - n]:  # it starts on one of the latest's sign
        n -= 1
    return int(same[sign.size - n :].sum()), n


def last_earlier_at_or_below(values: np.ndarray) -> np.ndarray:
    """For each i, the largest j < i with values[j] <= values[i], else -1.

    Method
    ------
    Binary lifting on a sparse table of minima, every i at once: ``mins[k][p]`` is the least
    of ``values[p : p + 2**k]``; from ``p = i`` down, a block of ``2**k`` just before ``p`` is
    skipped where its least value is above ``values[i]`` (largest blocks first), so ``p`` ends
    at the left end of the run above ``values[i]`` and ``p - 1`` is the answer. Only
    comparisons: exact; ~log2(n) array passes (5,300 days: 0.27 ms, a monotone stack in Python
    0.75 ms). A NaN stops the search like a value at or below (as the stack did).
    """
    values = np.asarray(values)
    n = values.size
    mins = [values]
    while (1 << len(mins)) <= n:
        m, half = mins[-1], 1 << (len(mins) - 1)
        mins.append(np.minimum(m[:-half], m[half:]))
    p = np.arange(n)  # every j in [p, i) is above values[i]
    for k in range(len(mins) - 1, -1, -1):
        idx = np.flatnonzero(p >= 1 << k)
        skip = mins[k][p[idx] - (1 << k)] > values[idx]
        p[idx[skip]] -= 1 << k
    return p - 1


class Adjustment(Result):
    """One retarget of the history (:func:`adjustment_history`); times are ISO-8601 UTC."""

    height: int = Field(..., description="Height of the period's first block [-].")
    time: str | None = Field(..., description="Its start (ISO-8601 UTC); null where only estimated.")
    bits: str = Field(..., description="The period's compact nBits (hex).")
    previous_difficulty: float = Field(..., description="Difficulty of the period before [-].")
    difficulty: float = Field(..., description="Difficulty (Bitcoin Core's GetDifficulty) [-].")
    change_pct: float = Field(..., description="Change from the period before [%].")
    rank_among_drops: int | None = Field(..., description="1 = the largest % drop; null if not a drop.")
    rank_among_rises: int | None = Field(..., description="1 = the largest % rise; null if not a rise.")
    streak: int = Field(..., description="Signed run: -3 = third drop in a row, +2 = second rise.")
    time_source: str = Field(..., description="How the start is known: stored, retarget-implied, estimated.")
    period_duration_s: int | None = Field(..., description="Duration of the period before [s].")
    mean_block_interval_s: float | None = Field(..., description="Its mean block interval [s].")
    implied_hashrate_ehs: float | None = Field(..., description="The hashrate the period before implies [EH/s].")
    lowest_since_height: int | None = Field(..., description="The last earlier period at or below this difficulty.")
    lowest_since_time: str | None
    largest_drop_since_height: int | None = Field(..., description="The last earlier drop at least as large.")
    largest_drop_since_time: str | None
    source: str = Field(..., description="Where the bits come from.")


_ADJUSTMENTS: TypeAdapter[list[Adjustment]] = TypeAdapter(list[Adjustment])


@lru_cache(maxsize=8192)
def _per_bits(bits: int) -> tuple[int, float, float]:
    """A period's target, Core's difficulty and MAX_TARGET / target (exact), once per bits
    value (the first 16 periods share one)."""
    target = decode_compact(bits)[0]
    return target, difficulty_from_bits(bits), MAX_TARGET / target


def adjustment_columns(periods: list[PeriodRow]) -> dict[str, list[Any]]:
    """Every retarget (periods 1..n) as columns, one list per field of :class:`Adjustment`
    in its order: the owner of the history's ranks, streaks and records
    (:func:`adjustment_history` types its rows).

    The previous period's duration is start(p) - start(p-1): 2016 intervals, so the mean
    block interval is duration / 2016 and the implied hashrate is the previous period's
    work per block / mean interval [H/s] (the chain's own estimate of the hashrate that
    produced the retarget).
    """
    n = len(periods)
    bits = [p.bits for p in periods]
    per = [_per_bits(b) for b in bits]
    targets = [x[0] for x in per]
    diffs = [x[1] for x in per]
    # change_pct's arithmetic on the targets decoded once (T_old / T_new, one rounding).
    changes = np.asarray(
        difficulty_change_pct(1.0, np.array([targets[i - 1] / targets[i] for i in range(1, n)], dtype=float)),
        dtype=float,
    )
    drop_rank, rise_rank = ranks(changes)
    starts = np.array([np.nan if p.start_time is None else float(p.start_time) for p in periods])
    durations = np.diff(starts)  # NaN where either start is only estimated
    implied = np.full(durations.shape, np.nan)
    known = ~np.isnan(durations)
    if known.any():
        implied[known] = implied_hashrate_ehs(np.array(bits[:-1])[known], durations[known])
    low_since = last_earlier_at_or_below(np.array([x[2] for x in per])).tolist()[1:]
    # "largest drop since": last earlier change at or below this one (a drop at least as big).
    drop_since = last_earlier_at_or_below(changes).tolist()
    iso = iso_utc_many([p.start_time for p in periods])  # each period's once, however often named
    heights = [p.start_height for p in periods]
    ch_l = changes.tolist()
    dur_l: list[int | None] = [None if d != d else int(d) for d in durations.tolist()]  # d != d: NaN
    rest = periods[1:]
    cols = {
        "height": heights[1:],
        "time": iso[1:],
        "time_source": [p.start_source if p.start_time is not None else "estimated" for p in rest],
        "bits": [f"{b:08x}" for b in bits[1:]],
        "previous_difficulty": diffs[:-1],
        "difficulty": diffs[1:],
        "change_pct": ch_l,
        "rank_among_drops": [r or None for r in drop_rank.tolist()],
        "rank_among_rises": [r or None for r in rise_rank.tolist()],
        "streak": streaks(changes).tolist(),
        "period_duration_s": dur_l,
        "mean_block_interval_s": [None if d is None else d / N for d in dur_l],
        "implied_hashrate_ehs": [None if h != h else h for h in implied.tolist()],
        "lowest_since_height": [heights[j] if j >= 0 else None for j in low_since],
        "lowest_since_time": [iso[j] if j >= 0 else None for j in low_since],
        "largest_drop_since_height": [
            heights[k + 1] if c < 0 and k >= 0 else None for c, k in zip(ch_l, drop_since, strict=True)
        ],
        "largest_drop_since_time": [
            iso[k + 1] if c < 0 and k >= 0 else None for c, k in zip(ch_l, drop_since, strict=True)
        ],
        "source": [p.source for p in rest],
    }
    return {name: cols[name] for name in Adjustment.model_fields}


def adjustment_history(periods: list[PeriodRow]) -> list[Adjustment]:
    """One typed row per retarget (periods 1..n), with ranks, streaks and records, from
    :func:`adjustment_columns`."""
    cols = adjustment_columns(periods)
    names = list(cols)
    rows = [dict(zip(names, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]
    return _ADJUSTMENTS.validate_python(rows)  # one call validates every row
