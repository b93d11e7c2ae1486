"""One as-of day for every face: the day a reading command answers for, and the chain's picture
(difficulty, summary, the running period) at 24:00 UTC of that day.

Every reading command (``difficulty``, ``summary``, ``halving``, ``weekly``, ``report``,
``forecast``, ``hashrate``, ``hashprice``, ``cost``, ``power``) takes ``--as-of``; its default is :func:`as_of_day` — the report's day, :func:`hashlens.economics.daily.latest_day` (the
latest day with a dated period in force and a stored price) — never a command's own 'latest'.
Each answer names the day (``as_of``). The tip at the day is the clock's
(:meth:`hashlens.chain.clock.ChainClock.height_at`), the same one the halving, the forecast and
the week's figures read, so that all of them agree on it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from pydantic import Field

from hashlens.chain.adjustments import Adjustment, adjustment_history, load_periods
from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.chain.estimate import MempoolEstimate
from hashlens.chain.halving import HalvingOutlook, halving_outlook
from hashlens.chain.models import HashrateRequest
from hashlens.chain.summary import RecentAdjustment, SummaryAdjustment
from hashlens.consensus import COIN, DIFFICULTY_ADJUSTMENT_INTERVAL, issued_supply_sat
from hashlens.contracts import Result
from hashlens.economics.daily import HashrateOnDay, latest_day, network_hashrate_on
from hashlens.errors import HashlensError
from hashlens.sim.forecast import Forecast, ForecastRequest, NextAdjustment
from hashlens.store import Store
from hashlens.units import iso_utc

__all__ = [
    "DifficultyOnDay",
    "HashrateAnswer",
    "RunningPeriodFigures",
    "SummaryOnDay",
    "as_of_day",
    "difficulty_on",
    "forecast_answer",
    "forecast_for_day",
    "forecast_of_day",
    "forecast_on",
    "hashrate_on",
    "running_period_on",
    "summary_on",
]

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def as_of_day(store: Store, clock: ChainClock, day: date | None = None) -> date:
    """The day a reading command answers for: ``day``, else the report's default day
    (:func:`hashlens.economics.daily.latest_day`); a day the store's periods do not reach is a
    one-line error (never a silent fallback)."""
    d = day if day is not None else latest_day(store, clock)
    p = clock.require_covered(end_of_day(d), f"the day {d}")
    if p < 1:
        raise HashlensError(
            f"the day {d} is before the first difficulty period ended ({iso_utc(float(clock.start_time[1]))[:10]})"
        )
    return d


def tip_at(clock: ChainClock, day: date) -> tuple[int, bool]:
    """The chain's tip at 24:00 UTC of ``day`` and whether it is exact (stored block times run
    through it) or counted at 600 s per block in the period in force."""
    heights, exact = clock.height_at(np.array([end_of_day(day)]))
    return int(heights[0]), bool(exact[0])


class RunningPeriodFigures(Result):
    """The period in force at the day's end: its start, the one estimate of its adjustment and,
    where its blocks are stored, the tip, blocks in and mempool.space's method beside it."""

    start_height: int
    start_time: str | None
    start_time_source: str
    next_retarget_height: int
    per_block: bool = Field(..., description="Whether the running period's blocks are stored up to the day.")
    tip_height: int | None
    blocks_in_period: int | None
    hashrate_ehs: float | None = Field(
        None,
        description="The running period's hashrate from its stored blocks so far (getnetworkhashps over them) [EH/s]; "
        "null without per-block data or before its second block.",
    )
    hashrate_low_ehs: float | None = Field(None, description="Its 95 % interval's lower end [EH/s].")
    hashrate_high_ehs: float | None = Field(None, description="Its 95 % interval's upper end [EH/s].")
    estimate: NextAdjustment | None = Field(
        ...,
        description="The next adjustment: the outlook's first row (sim.forecast), the one estimate every face shows; "
        "conditioned on the running period's blocks where stored, else on its start.",
    )
    estimate_missing: str | None = Field(None, description="Why there is no estimate, where there is none.")
    mempool: MempoolEstimate | None = Field(
        ..., description="mempool.space's method, a reference method (per-block data only)."
    )
    note: str


def forecast_at(
    clock: ChainClock, day: date, horizon: int, paths: int, seed: int
) -> tuple[Forecast | None, str | None]:
    """The one forecast as of 24:00 UTC of ``day`` (:func:`hashlens.sim.forecast.forecast_adjustments`),
    or None and why."""
    from hashlens.sim.forecast import forecast_adjustments

    try:
        return forecast_adjustments(clock, as_of_time=end_of_day(day), horizon=horizon, paths=paths, seed=seed), None
    except HashlensError as exc:
        return None, str(exc)


def running_period_on(
    store: Store,
    clock: ChainClock,
    day: date,
    forecast: Forecast | None,
    missing: str | None = None,
    now_s: int | None = None,
) -> RunningPeriodFigures:
    """The running period at 24:00 UTC of ``day`` (:func:`hashlens.chain.status.running_period`
    where its blocks are stored), with ``forecast``'s first row as the one estimate."""
    from hashlens.chain.hashrate import hashrate_over_blocks, period_work_table
    from hashlens.chain.status import running_period

    ts = end_of_day(day)
    p = int(clock.period_at(ts))
    per_block = clock.per_block_at(ts)
    r = None
    if per_block:
        r = running_period(store, now=int(ts) if now_s is None else now_s, upto_time=int(ts), clock=clock)
        if r.period_start_height != p * N:
            r = None
    hr = None
    if r is not None and r.blocks_in_period >= 2:
        # the running period's own blocks: its first block to the tip (one difficulty, one window)
        i0 = int(np.searchsorted(clock.block_h, p * N))
        i1 = int(np.searchsorted(clock.block_h, r.tip_height))
        work = period_work_table({p: int(clock.bits[p])})
        hr = hashrate_over_blocks(clock.block_h[i0 : i1 + 1], clock.block_t[i0 : i1 + 1], work)
    if r is not None:
        note = r.note
    elif forecast is None:
        note = missing or "no forecast for the day"
    else:
        note = (
            "the estimate knows the running period's start only: the store has no per-block times for the day, "
            "so mempool.space's method (which needs them) is left out"
        )
    estimate = forecast.next_adjustment() if forecast is not None and forecast.period_start_height == p * N else None
    return RunningPeriodFigures(
        start_height=p * N,
        start_time=iso_utc(float(clock.start_time[p])),
        start_time_source=str(clock.start_source[p]),
        next_retarget_height=(p + 1) * N,
        per_block=per_block,
        tip_height=r.tip_height if r else None,
        blocks_in_period=r.blocks_in_period if r else None,
        hashrate_ehs=hr.hashrate_ehs if hr else None,
        hashrate_low_ehs=hr.low_ehs if hr else None,
        hashrate_high_ehs=hr.high_ehs if hr else None,
        estimate=estimate,
        estimate_missing=None if estimate is not None else (missing or "no forecast for the running period"),
        mempool=r.mempool if r else None,
        note=note,
    )


class DifficultyOnDay(Result):
    """The latest adjustment and the running period as of 24:00 UTC of a day (``hashlens
    difficulty``, ``GET /v1/difficulty``)."""

    as_of: str = Field(..., description="The UTC day answered for (24:00 UTC of it).")
    as_of_instant: str = Field(..., description="24:00 UTC of the day, ISO-8601.")
    tip_height: int = Field(..., description="The chain's tip at the day's end (the clock's).")
    tip_height_exact: bool = Field(..., description="Whether stored block times run through the day's end.")
    latest_adjustment: Adjustment
    adjustments_total: int
    drops_total: int
    rises_total: int
    running_period: RunningPeriodFigures


def _history_to(store: Store, clock: ChainClock, day: date) -> list[Adjustment]:
    """Every adjustment in force by 24:00 UTC of ``day``, oldest first."""
    p = int(clock.period_at(end_of_day(day)))
    return adjustment_history(load_periods(store, clock)[: p + 1])


def difficulty_on(
    store: Store, day: date | None = None, now_s: int | None = None, paths: int = 20_000, seed: int = 1
) -> DifficultyOnDay:
    """The difficulty picture as of ``day`` (default :func:`as_of_day`'s): the latest adjustment
    with its rank, streak and records, and the running period with the one estimate of its
    adjustment (the forecast's first row). ``now_s`` [Unix s]: the time mempool.space's method
    is taken at (default the day's end)."""
    clock = ChainClock.from_store(store)
    day = as_of_day(store, clock, day)
    history = _history_to(store, clock, day)
    tip, exact = tip_at(clock, day)
    fc, missing = forecast_at(clock, day, 1, paths, seed)
    return DifficultyOnDay(
        as_of=day.isoformat(),
        as_of_instant=iso_utc(end_of_day(day)),
        tip_height=tip,
        tip_height_exact=exact,
        latest_adjustment=history[-1],
        adjustments_total=len(history),
        drops_total=sum(a.change_pct < 0 for a in history),
        rises_total=sum(a.change_pct > 0 for a in history),
        running_period=running_period_on(store, clock, day, fc, missing, now_s),
    )


class SummaryOnDay(Result):
    """The chain at a glance as of 24:00 UTC of a day (``hashlens summary``, ``GET /v1/summary``)."""

    as_of: str = Field(..., description="The UTC day answered for (24:00 UTC of it).")
    as_of_instant: str
    counts: dict[str, int] = Field(..., description="Rows per store table (the whole store).")
    periods: int = Field(..., description="Periods the store knows (the whole store).")
    per_block_until: str | None = Field(..., description="The end of the stored per-block data, ISO-8601 UTC.")
    tip_height: int = Field(..., description="The chain's tip at the day's end (the clock's).")
    tip_height_exact: bool
    latest_adjustment: SummaryAdjustment
    hashrate: HashrateOnDay | None = Field(..., description="economics.daily.network_hashrate_on the day.")
    running_period: RunningPeriodFigures
    issued_supply_btc_at_tip: float = Field(..., description="[BTC]")
    next_halving: HalvingOutlook
    recent_adjustments: list[RecentAdjustment]


def summary_on(store: Store, day: date | None = None, paths: int = 20_000, seed: int = 1) -> SummaryOnDay:
    """The store's chain at a glance as of ``day`` (default :func:`as_of_day`'s)."""
    clock = ChainClock.from_store(store)
    day = as_of_day(store, clock, day)
    ts = end_of_day(day)
    history = _history_to(store, clock, day)
    tip, exact = tip_at(clock, day)
    fc, missing = forecast_at(clock, day, 1, paths, seed)
    try:
        hr: HashrateOnDay | None = network_hashrate_on(clock, day)
    except HashlensError:
        hr = None
    until = clock.per_block_until()
    latest = history[-1]
    return SummaryOnDay(
        as_of=day.isoformat(),
        as_of_instant=iso_utc(ts),
        counts=store.counts(),
        periods=clock.periods,
        per_block_until=iso_utc(until) if until is not None else None,
        tip_height=tip,
        tip_height_exact=exact,
        latest_adjustment=SummaryAdjustment(**latest.model_dump(include=set(SummaryAdjustment.model_fields))),
        hashrate=hr,
        running_period=running_period_on(store, clock, day, fc, missing),
        issued_supply_btc_at_tip=issued_supply_sat(tip) / COIN,
        next_halving=halving_outlook(clock, ts).model_copy(update={"as_of": day.isoformat()}),
        recent_adjustments=[
            RecentAdjustment(**a.model_dump(include=set(RecentAdjustment.model_fields))) for a in history[-8:]
        ],
    )


def forecast_for_day(clock: ChainClock, request: ForecastRequest, day: date | None) -> Forecast:
    """The request's forecast (:func:`hashlens.sim.forecast.forecast_adjustments`) as of 24:00
    UTC of ``day``, its as-of day resolved (:func:`as_of_day`), or as of its height when
    ``day`` is None."""
    from hashlens.sim.forecast import forecast_adjustments

    r = request
    if day is None:
        return forecast_adjustments(clock, r.height, r.horizon, r.paths, r.seed)
    return forecast_adjustments(clock, None, r.horizon, r.paths, r.seed, as_of_time=end_of_day(day))


def forecast_of_day(
    store: Store, request: ForecastRequest, clock: ChainClock | None = None
) -> tuple[date | None, Forecast]:
    """The request's forecast as of 24:00 UTC of its day (default :func:`as_of_day`'s), or as
    of its height (then no day): the day and :func:`forecast_for_day`. ``clock``: the store's,
    when the caller holds it already."""
    clock = clock if clock is not None else ChainClock.from_store(store)
    day = None if request.height is not None else as_of_day(store, clock, request.as_of)
    return day, forecast_for_day(clock, request, day)


def forecast_answer(day: date | None, forecast: Forecast) -> dict[str, Any]:
    """A forecast as JSON, with the day it answers for under ``as_of`` (null for a height)."""
    return {"as_of": day.isoformat() if day is not None else None, **forecast.to_json()}


def forecast_on(store: Store, request: ForecastRequest) -> dict[str, Any]:
    """:func:`forecast_of_day` as :func:`forecast_answer`'s JSON."""
    return forecast_answer(*forecast_of_day(store, request))


class HashrateAnswer(Result):
    """Network hashrate as of a day (or at a height) with its 95 % interval: over a window of
    stored blocks (getnetworkhashps), or, past the per-block data, the last completed period's."""

    as_of: str = Field(..., description="The UTC day answered for (for a height, its block's day).")
    hashrate_ehs: float = Field(..., description="[EH/s]")
    low_ehs: float = Field(..., description="Lower end of the 95 % interval [EH/s].")
    high_ehs: float = Field(..., description="Upper end of the 95 % interval [EH/s].")
    method: str
    start_height: int = Field(..., description="The window's first block [-].")
    end_height: int = Field(..., description="The window's last block [-].")
    per_block: bool = Field(..., description="Whether the window is stored blocks (else a period's implied rate).")
    blocks: int | None = Field(None, description="Block intervals or blocks found in the window [-].")
    start_time_s: int | None = Field(None, description="The window's start [Unix s].")
    end_time_s: int | None = Field(None, description="The window's end [Unix s].")


def _from_blocks(day: str, est: Any) -> HashrateAnswer:
    return HashrateAnswer(as_of=day, per_block=True, **est.model_dump(include=set(HashrateAnswer.model_fields)))


def hashrate_on(store: Store, request: HashrateRequest) -> HashrateAnswer:
    """Network hashrate over the request's window ending at its height, else at the tip at 24:00
    UTC of its as-of day (default :func:`as_of_day`'s): :func:`hashlens.chain.status.network_hashrate`
    where stored block times run through the day; past them, for the default 1008-block window,
    the hashrate the last period that ended by then implies
    (:func:`hashlens.economics.daily.network_hashrate_on`, its method says so). ``as_of`` names
    the day (for a height, the day of its block's time)."""
    from hashlens.chain.models import window_of
    from hashlens.chain.status import network_hashrate

    window, height, day = request.window, request.height, request.as_of
    clock = ChainClock.from_store(store)
    if height is not None:  # the request holds a height or an as-of day, never both
        est = network_hashrate(store, window, height, clock)
        return _from_blocks(iso_utc(est.end_time_s)[:10], est)
    day = as_of_day(store, clock, day)
    if clock.per_block_at(end_of_day(day)):
        tip, _ = tip_at(clock, day)
        return _from_blocks(day.isoformat(), network_hashrate(store, window, tip, clock))
    until = clock.per_block_until()
    if window_of(window) != ("blocks", 1008.0):
        raise HashlensError(
            f"window {window} as of {day}: the stored block times end "
            f"{'at ' + iso_utc(until) if until is not None else 'nowhere (none are stored)'}; give --as-of a day they "
            "cover, or the default 1008-block window (then the last period's implied hashrate is given)"
        )
    on = network_hashrate_on(clock, day)
    return HashrateAnswer(
        as_of=day.isoformat(),
        per_block=False,
        **on.model_dump(include={"hashrate_ehs", "low_ehs", "high_ehs", "method", "start_height", "end_height"}),
    )
