"""The chain's clock: when each difficulty period began, and which block was the tip at a time.

Period start times come from stored block times where known. Where they are not, the
retarget itself dates the period: the new target is the old one scaled by the timespan τ the
period's 2015 measured intervals took (Bitcoin Core's ``CalculateNextWorkRequired``), so two
consecutive periods' bits give τ back to within the compact rounding (about ±20 s), unless the
4× clamp bound it. The next period begins one block interval after the last block, which is
the one part the bits cannot give: it is taken at its expected length. Each start time says
how it is known: ``stored``, ``retarget-implied`` or ``estimated`` (600 s per block).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np

from hashlens.consensus import (
    COIN,
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_TARGET_SPACING,
    decode_compact,
    difficulty_from_bits,
    timespan_range_for_bits,
)
from hashlens.consensus.retarget import MAX_TIMESPAN, MIN_TIMESPAN
from hashlens.errors import HashlensError
from hashlens.units import SECONDS_PER_DAY, iso_utc

N = DIFFICULTY_ADJUSTMENT_INTERVAL
FEE_WINDOW = 144

STORED, IMPLIED, ESTIMATED = "stored", "retarget-implied", "estimated"
#: How long the last known period is taken to stay in force: 1,440 blocks at 600 s (10 days).
LAST_PERIOD_IN_FORCE_S = 1440 * POW_TARGET_SPACING


@lru_cache(maxsize=4096)  # a pure function of two integers; every clock asks the same ~480 pairs
def retarget_timespan_s(old_bits: int, new_bits: int) -> float | None:
    """The timespan a retarget implies, inverted exactly from Core's rule.

    .. math:: T_{new} = \\lfloor T_{old} \\cdot \\tau / 1209600 \\rfloor
              \\;\\Rightarrow\\; \\tau \\approx 1209600 \\cdot T_{new} / T_{old}

    Parameters
    ----------
    old_bits, new_bits : compact bits of a period and of the next one

    Returns
    -------
    τ [s], the time from the period's first to its last block: the middle of the exact range
    of timespans that :func:`hashlens.consensus.timespan_range_for_bits` finds mapping to
    ``new_bits`` (at most ~37 s wide, from the 3-byte compact mantissa). None where the 4×
    clamp bound it (τ is then only known to be ≤ T/4 or ≥ 4T) or no timespan gives ``new_bits``.

    References
    ----------
    .. [1] Bitcoin Core ``src/pow.cpp``: ``CalculateNextWorkRequired``.
    """
    span = timespan_range_for_bits(old_bits, new_bits)
    if span is None or span[0] <= MIN_TIMESPAN or span[1] >= MAX_TIMESPAN:
        return None
    return (span[0] + span[1]) / 2


def period_start_times(
    bits: np.ndarray, stored_start: np.ndarray, stored_last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start time of every period [Unix s], how it is known, and its standard error [s].

    Parameters
    ----------
    bits : compact bits of periods 0 … n-1
    stored_start, stored_last : stored times of each period's first and last block [Unix s],
        NaN where not stored

    Method
    ------
    Walking forward from the first stored start, a period without a stored start begins
    after the previous one's last block (stored, or start + retarget-implied τ) plus one
    block interval, taken at its expectation: the previous period's mean interval rescaled to
    the new difficulty (≈ 600 s, since the new difficulty is set for the previous hashrate).
    Each such interval is one exponential draw the data do not show, so the error grows as
    600 s·√k after k implied periods; where a later start is stored, the accumulated
    difference is spread evenly over the implied run so both ends meet the stored times.
    Where τ is unknown (the clamp, or the last period) the period is ``estimated`` at 600 s
    per block.
    """
    n = len(bits)
    start = np.array(stored_start, dtype=float)
    source = np.where(np.isnan(start), ESTIMATED, STORED).astype(object)
    sd = np.where(np.isnan(start), np.nan, 0.0)
    known = np.flatnonzero(~np.isnan(start))
    if known.size == 0:
        raise HashlensError("no period start time is stored; sync the bitcoinj checkpoints or block stats")
    targets = [decode_compact(int(b))[0] for b in bits]
    # Before the first stored start: count back at 600 s per block (never needed on mainnet data).
    first = int(known[0])
    for p in range(first - 1, -1, -1):
        start[p] = start[p + 1] - N * POW_TARGET_SPACING
    p = first + 1
    while p < n:
        if source[p] == STORED:
            p += 1
            continue
        run_start = p
        while p < n and source[p] != STORED:
            q = p - 1
            tau = None if q + 1 >= n else retarget_timespan_s(int(bits[q]), int(bits[q + 1]))
            last = stored_last[q]
            if np.isnan(last) and tau is not None and source[q] != ESTIMATED:
                last = start[q] + tau
            if not np.isnan(last) and tau is not None:
                # One more interval at the new difficulty: the old mean interval x D_new / D_old.
                interval = tau / (N - 1) * (targets[q] / targets[p])
                start[p] = last + interval
                source[p] = IMPLIED
                sd[p] = float(np.hypot(0.0 if np.isnan(sd[q]) else sd[q], POW_TARGET_SPACING))
            else:
                start[p] = start[q] + N * POW_TARGET_SPACING
                source[p] = ESTIMATED
                sd[p] = np.nan
            p += 1
        if p < n:  # a stored start closes the run: spread the difference over it
            q = p - 1
            tau = retarget_timespan_s(int(bits[q]), int(bits[p]))
            if tau is not None and source[q] != ESTIMATED:
                interval = tau / (N - 1) * (targets[q] / targets[p])
                gap = start[p] - (start[q] + tau + interval)
                k = p - run_start + 1
                for j, r in enumerate(range(run_start, p), start=1):
                    start[r] += gap * j / k
                    sd[r] = POW_TARGET_SPACING * np.sqrt(j * (k - j) / k)
    # Block times are whole seconds; so are the dates derived here.
    return np.round(start), source, sd


#: The last clock built on each open store (its backend object) and the data version it was
#: built at; an entry goes with its store.
_CLOCKS: weakref.WeakKeyDictionary[Any, tuple[int, ChainClock]] = weakref.WeakKeyDictionary()


def _cache_key(store: Any) -> tuple[Any, int] | None:
    """(the store's backend, its data version), or None where the store has no data version
    (a schema before migration 7, or not a :class:`hashlens.store.Store`): not cached."""
    db = getattr(store, "_db", None)
    if db is None or not getattr(store, "_versioned", False):
        return None
    try:
        return db, int(store.data_version())
    except Exception:  # a store that cannot say its version is read afresh
        return None


def end_of_day(day: date) -> float:
    """24:00 UTC of ``day``, the instant a day's figures are taken at [Unix s]."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + SECONDS_PER_DAY


def day_of(ts: float) -> date:
    """The UTC day of a time."""
    return datetime.fromtimestamp(ts, tz=UTC).date()


@dataclass
class ChainClock:
    """Times of periods and blocks as the store knows them (build with :meth:`from_store`)."""

    bits: np.ndarray
    start_time: np.ndarray  # [Unix s]
    start_source: np.ndarray  # STORED / IMPLIED / ESTIMATED per period
    start_sd_s: np.ndarray  # standard error of an implied start [s], 0 stored, NaN estimated
    block_h: np.ndarray
    block_t: np.ndarray
    fee_h: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fee_sat: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    period_source: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.difficulty = np.array([difficulty_from_bits(int(b)) for b in self.bits])
        self._fee_cum = np.concatenate([[0], np.cumsum(self.fee_sat)])
        self._block_tmax = np.maximum.accumulate(self.block_t) if self.block_t.size else self.block_t

    @classmethod
    def from_store(cls, store: Any) -> ChainClock:
        """The store's clock, built once per store version: a store whose data version (bumped
        by every committed write, :meth:`hashlens.store.Store.data_version`) is the one a clock
        was built at gets that clock back, as the same object (never modify it)."""
        key = _cache_key(store)
        if key is not None:
            hit = _CLOCKS.get(key[0])
            if hit is not None and hit[0] == key[1]:
                return hit[1]
        h, t = store.block_times()
        periods = store.period_table(block_times=(h, t))  # the periods' block times looked up, not joined
        start, source, sd = period_start_times(periods.bits, periods.start_time, periods.last_time)
        fh, fs = store.block_fees()
        clock = cls(periods.bits, start, source, sd, h, t, fh, fs, periods.source)
        if key is not None:
            _CLOCKS[key[0]] = (key[1], clock)
        return clock

    # -- periods ---------------------------------------------------------------------------
    @property
    def periods(self) -> int:
        return int(self.bits.size)

    @property
    def estimated(self) -> np.ndarray:
        """True where a period's start is not stored (implied or estimated)."""
        return self.start_source != STORED

    def period_end_time(self, p: int) -> tuple[float, str]:
        """When period p ended (the next one began) and how that is known; the last period's
        end is estimated at 600 s per block after its start."""
        if p + 1 < self.periods:
            return float(self.start_time[p + 1]), str(self.start_source[p + 1])
        return float(self.start_time[p]) + N * POW_TARGET_SPACING, ESTIMATED

    @property
    def covered_until(self) -> float:
        """The latest time the store's periods reach [Unix s]: ``LAST_PERIOD_IN_FORCE_S`` after
        the last known period began. Its end is unknown; a retarget sooner than that would need
        the hashrate 40 % above the one its difficulty was set for, which mainnet has not seen
        since 2010."""
        return float(self.start_time[self.periods - 1]) + LAST_PERIOD_IN_FORCE_S

    def period_at(self, ts: Any) -> np.ndarray:
        """Index of the period in force at each time (-1 before the chain)."""
        return np.searchsorted(self.start_time, np.asarray(ts, dtype=float), side="right") - 1

    def require_covered(self, ts: float, what: str) -> int:
        """The period in force at ``ts``, or a one-line error if the store's periods do not
        reach that time (never a silent fallback)."""
        p = int(self.period_at(ts))
        if p < 0:
            raise HashlensError(f"{what} is before the chain began (2009-01-03)")
        if ts > self.covered_until:
            last = self.periods - 1
            raise HashlensError(
                f"{what} is after the last period the store knows (from height {last * N:,}, began "
                f"{iso_utc(self.start_time[last])[:10]}, {self.start_source[last]}; taken to be in force to "
                f"{iso_utc(self.covered_until)[:10]}, its end is unknown): sync newer chain data"
            )
        return p

    def implied_duration_s(self, p: int) -> float | None:
        """Duration of period p, first block to the next period's first block [s], if both
        starts are stored or retarget-implied."""
        if p + 1 >= self.periods or ESTIMATED in (self.start_source[p], self.start_source[p + 1]):
            return None
        return float(self.start_time[p + 1] - self.start_time[p])

    # -- blocks ------------------------------------------------------------------------------
    def height_at(self, ts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Tip height at each time, and whether it is exact.

        Exact where stored block times run through the time: the highest block whose time,
        or any earlier block's, is not after it (block times are not monotone: a block may
        carry a time before its parent's, so the chain at t is read off the running maximum).
        Elsewhere counted from the start of the period in force at 600 s per block — the
        interval its difficulty was set for — capped at the period's last block; this uses
        nothing dated after the time.
        """
        ts = np.asarray(ts, dtype=float)
        p = self.period_at(ts)
        since = np.maximum(ts - self.start_time[np.maximum(p, 0)], 0.0)
        counted = np.minimum(np.floor(since / POW_TARGET_SPACING), N - 1)
        heights = np.where(p < 0, -1, np.maximum(p, 0) * N + counted).astype(np.int64)
        exact = np.zeros(ts.shape, dtype=bool)
        if self.block_h.size:
            i = np.searchsorted(self._block_tmax, ts, side="right") - 1
            ok = i >= 0
            nxt = np.minimum(i + 1, self.block_h.size - 1)
            # Exact only inside a contiguous run: the next stored block is the next height.
            inside = ok & (self.block_h[nxt] == self.block_h[np.maximum(i, 0)] + 1) & (self._block_tmax[nxt] > ts)
            heights = np.where(inside, self.block_h[np.maximum(i, 0)], heights)
            exact = inside
        return heights, exact

    def per_block_until(self) -> float | None:
        """Time of the last stored block that closes a run of 2017 consecutive block times
        (the end of the per-block data), or None."""
        h = self.block_h
        if h.size <= N:
            return None
        runs = np.flatnonzero((h[N:] - h[:-N]) == N)
        return None if runs.size == 0 else float(self.block_t[int(runs[-1]) + N])

    def per_block_at(self, ts: float) -> bool:
        """True if stored block times run through ``ts`` with the 2016 blocks before it (what
        getnetworkhashps and the running period's estimates need)."""
        heights, exact = self.height_at(np.array([ts]))
        if not exact[0]:
            return False
        i = int(np.searchsorted(self.block_h, heights[0]))
        return i >= N and int(self.block_h[i] - self.block_h[i - N]) == N

    def trailing_fees_btc(self, heights: Any, window: int = FEE_WINDOW) -> np.ndarray:
        """Mean fees per block over the ``window`` blocks ending at each height [BTC], NaN
        where the stored statistics do not hold all of them."""
        heights = np.asarray(heights)
        out = np.full(np.shape(heights), np.nan)
        if not self.fee_h.size:
            return out
        hi = np.searchsorted(self.fee_h, heights, side="right")
        lo = hi - window
        ok = (lo >= 0) & (hi > 0)
        lo_c, hi_c = np.clip(lo, 0, None), np.clip(hi, 1, None)
        ok &= (self.fee_h[hi_c - 1] == heights) & (
            self.fee_h[np.clip(lo_c, 0, self.fee_h.size - 1)] == heights - window + 1
        )
        total = self._fee_cum[hi_c] - self._fee_cum[lo_c]
        out[ok] = total[ok] / window / COIN
        return out

    def mean_block_interval_s(self, ts: float, periods: int = 26) -> tuple[float, str]:
        """Mean block interval over the ``periods`` whole periods that ended by ``ts`` [s],
        from their start times (stored or retarget-implied), and a description of the window.

        .. math:: \\bar{\\Delta t} = \\frac{t_{start}(p) - t_{start}(p - k)}{2016\\,k}

        The default of 26 periods (about a year) keeps one storm- or ban-slowed period from
        moving a date years ahead (one 662 s/block period alone puts the 2028 halving three
        months late).
        """
        p = int(self.period_at(ts))
        k = min(periods, p)
        while k > 0 and ESTIMATED in (self.start_source[p - k], self.start_source[p]):
            k -= 1
        if k <= 0:
            return float(POW_TARGET_SPACING), "600 s (no dated periods before this time)"
        span = float(self.start_time[p] - self.start_time[p - k])
        return span / (N * k), f"mean over the {k} periods from height {(p - k) * N:,} to {p * N:,}"
