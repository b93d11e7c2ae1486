"""Network hashrate from block times and work, with confidence intervals.

The point estimate is Bitcoin Core's ``getnetworkhashps``: chain work added over a window of
blocks divided by the span between the earliest and latest block time in that window.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import Field, computed_field

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_work
from hashlens.consensus.compact import decode_compact
from hashlens.contracts import Result
from hashlens.errors import HashlensError
from hashlens.units import HS_PER_EHS, SECONDS_PER_DAY, iso_utc

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def gamma_quantile(shape: float, p: float) -> float:
    """Quantile of Gamma(shape, 1) by the Wilson-Hilferty cube-root approximation.

    .. math:: G^{-1}(p) \\approx k\\left(1 - \\frac{1}{9k} + z_p\\sqrt{\\frac{1}{9k}}\\right)^3

    Wilson & Hilferty (1931), "The distribution of chi-square", PNAS 17:684. Relative
    error below 1e-3 for k >= 10, which covers every window hashlens uses.
    """
    if shape <= 0:
        raise HashlensError("gamma shape must be positive")
    z = NormalDist().inv_cdf(p)
    c = 1.0 / (9.0 * shape)
    return shape * max(0.0, 1.0 - c + z * math.sqrt(c)) ** 3


def rate_interval_from_blocks(n_intervals: int, span_s: float, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval for a Poisson block rate [blocks/s] given the time ``span_s`` that
    ``n_intervals`` inter-block intervals took: span * rate ~ Gamma(n, 1)."""
    a = (1 - level) / 2
    return gamma_quantile(n_intervals, a) / span_s, gamma_quantile(n_intervals, 1 - a) / span_s


def rate_interval_from_count(n_blocks: int, span_s: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson rate from a block count in a fixed time span:
    [G^{-1}(a; n), G^{-1}(1-a; n+1)] / span, with G the Gamma(·, 1) quantile."""
    a = (1 - level) / 2
    lo = gamma_quantile(n_blocks, a) / span_s if n_blocks > 0 else 0.0
    return lo, gamma_quantile(n_blocks + 1, 1 - a) / span_s


class HashrateEstimate(Result):
    """Network hashrate over a window of blocks, with its interval (``GET /v1/hashrate``)."""

    end_height: int = Field(..., description="The window's last block [-].")
    start_height: int = Field(..., description="The window's first block [-].")
    blocks: int = Field(..., description="Block intervals (a block window) or blocks found (a day window) [-].")
    start_time_s: int = Field(..., description="The window's start [Unix s].")
    end_time_s: int = Field(..., description="The window's end [Unix s].")
    hashrate_ehs: float = Field(..., description="Point estimate (Core's getnetworkhashps) [EH/s].")
    low_ehs: float = Field(..., description="Lower end of the interval [EH/s].")
    high_ehs: float = Field(..., description="Upper end of the interval [EH/s].")
    method: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def end_time_iso(self) -> str:
        """The window's end, ISO-8601 UTC."""
        return iso_utc(self.end_time_s)


def work_between(heights: np.ndarray, period_work: dict[int, int]) -> int:
    """Exact total work of the given block heights [hashes]."""
    periods, counts = np.unique(heights // N, return_counts=True)
    return sum(period_work[int(p)] * int(c) for p, c in zip(periods, counts, strict=True))


def hashrate_over_blocks(
    heights: np.ndarray, times: np.ndarray, period_work: dict[int, int], level: float = 0.95
) -> HashrateEstimate:
    """``getnetworkhashps(n, h)`` for the window of n+1 consecutive blocks given
    (heights[0] .. heights[-1]): work of blocks heights[1:] over max(time) - min(time).
    The interval treats the n intervals as exponential at a constant rate."""
    n = len(heights) - 1
    if n < 1 or int(heights[-1] - heights[0]) != n:
        raise HashlensError("hashrate needs a run of consecutive blocks with known times")
    span = int(times.max() - times.min())
    if span <= 0:
        raise HashlensError(f"blocks {int(heights[0])}..{int(heights[-1])} span no time")
    work = work_between(heights[1:], period_work)
    per_block = work / n
    lo, hi = rate_interval_from_blocks(n, span, level)
    return HashrateEstimate(
        end_height=int(heights[-1]),
        start_height=int(heights[0]),
        blocks=n,
        start_time_s=int(times.min()),
        end_time_s=int(times.max()),
        hashrate_ehs=work / span / HS_PER_EHS,
        low_ehs=lo * per_block / HS_PER_EHS,
        high_ehs=hi * per_block / HS_PER_EHS,
        method=f"getnetworkhashps over {n} blocks; {level:.0%} interval from Gamma({n}) block intervals",
    )


def hashrate_over_days(
    heights: np.ndarray,
    times: np.ndarray,
    period_work: dict[int, int],
    end_time: int,
    days: float,
    level: float = 0.95,
) -> HashrateEstimate:
    """Hashrate from the blocks found in the ``days`` before ``end_time``: their work over
    the fixed span, with the Garwood interval on the block count."""
    span = int(days * SECONDS_PER_DAY)
    sel = (times > end_time - span) & (times <= end_time)
    count = int(sel.sum())
    if count == 0:
        raise HashlensError(f"no blocks with known times in the {days} days before {end_time}")
    work = work_between(heights[sel], period_work)
    per_block = work / count
    lo, hi = rate_interval_from_count(count, span, level)
    return HashrateEstimate(
        end_height=int(heights[sel].max()),
        start_height=int(heights[sel].min()),
        blocks=count,
        start_time_s=end_time - span,
        end_time_s=end_time,
        hashrate_ehs=work / span / HS_PER_EHS,
        low_ehs=lo * per_block / HS_PER_EHS,
        high_ehs=hi * per_block / HS_PER_EHS,
        method=f"blocks found in {days:g} days x work per block / span; {level:.0%} Garwood Poisson interval",
    )


def period_work_table(period_bits: dict[int, int]) -> dict[int, int]:
    """Exact work of one block of each period, floor(2^256/(target+1)) [hashes]."""
    return {p: block_work(decode_compact(b)[0]) for p, b in period_bits.items()}


def implied_hashrate_ehs(bits: ArrayLike, duration_s: ArrayLike, intervals: int = N) -> Any:
    """The hashrate a period implies: its exact work per block over its mean block interval.

    .. math:: H = \\frac{W(\\mathrm{bits})}{\\tau / n}, \\qquad W = \\lfloor 2^{256}/(T+1) \\rfloor

    Parameters
    ----------
    bits : compact nBits of the period (one value or an array)
    duration_s : time the period's ``intervals`` block intervals took [s]: from its first block
        to the next period's first block for the default 2016
    intervals : number of block intervals in ``duration_s`` [-]

    Returns
    -------
    hashrate [EH/s]: the chain's own estimate of the hashrate that mined the period (the
    hashrate Core's ``getnetworkhashps`` gives over exactly that window). Its relative
    standard error is about 1/sqrt(intervals) (2.2 % for a whole period).

    References
    ----------
    .. [1] Bitcoin Core ``rpc/mining.cpp: GetNetworkHashPS`` (work over time span);
       ``chain.cpp: GetBlockProof`` (work per block).
    """
    b = np.asarray(bits, dtype=np.int64)
    work = np.vectorize(lambda x: float(block_work(decode_compact(int(x))[0])), otypes=[float])(b)
    out = work * intervals / np.asarray(duration_s, dtype=float) / HS_PER_EHS
    return float(out) if out.ndim == 0 else out


def hashrate_series(
    heights: np.ndarray,
    times: np.ndarray,
    period_work: dict[int, int],
    window_blocks: int,
    step_blocks: int,
    level: float = 0.95,
) -> list[HashrateEstimate]:
    """Rolling ``getnetworkhashps`` every ``step_blocks`` over each contiguous run of blocks."""
    out = []
    breaks = np.flatnonzero(np.diff(heights) != 1) + 1
    for run_h, run_t in zip(np.split(heights, breaks), np.split(times, breaks), strict=True):
        for end in range(window_blocks, len(run_h), step_blocks):
            sl = slice(end - window_blocks, end + 1)
            out.append(hashrate_over_blocks(run_h[sl], run_t[sl], period_work, level))
    return out
