"""Day-by-day inputs (difficulty in force, subsidy, fees, price) and the hashprice built on
them, read through the store's typed queries and the chain's clock.

A day's figures are taken at 24:00 UTC of that day: the chain state then (the period in
force, the tip height, the mean fees of the 144 blocks up to it) priced with the stored price
of the next day, whose first-minute close (the shared USD series' convention) is the price at
that instant. Luxor's Hashrate Index dates its daily hashprice the same way (its all-time low
of November 2025 falls on the 22nd this way, on the 23rd with the same day's opening price).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import Field

from hashlens.chain.adjustments import last_earlier_at_or_below
from hashlens.chain.clock import ChainClock, day_of, end_of_day
from hashlens.chain.prices import PricesImported
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_subsidy_btc, next_halving_height
from hashlens.contracts import Result
from hashlens.economics.hashprice import (
    hashprice_btc_per_ph_day,
    hashprice_usd_per_ph_day,
    hashvalue_sats_per_th_day,
)
from hashlens.economics.models import PricesImport
from hashlens.errors import HashlensError
from hashlens.sources.prices import PricePoint
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
PRICE_INSTANT = "24:00 UTC (the next day's first-minute price)"


class PricesFetched(PricesImported):
    """A price import from a price API, with the outliers it let through (``hashlens prices sync``)."""

    outliers: list[str] = Field(default_factory=list, description="Prices 10x off their neighbours, stored as allowed.")


def price_points(request: PricesImport) -> list[PricePoint]:
    """A :class:`~hashlens.economics.models.PricesImport`'s prices as points, by day."""
    return sorted((PricePoint(d, request.currency, p) for d, p in request.prices.items()), key=lambda x: x.day)


class DayHashprice(Result):
    """Hashprice of one UTC day, taken at 24:00 UTC, with how each input is known (``hashlens
    hashprice``, ``GET /v1/hashprice``)."""

    date: str = Field(..., description="The UTC day.")
    height: int = Field(..., description="The tip at 24:00 UTC [-].")
    height_exact: bool = Field(..., description="From stored block times; else interpolated in the period.")
    difficulty: float = Field(..., description="Difficulty of the period in force [-].")
    period_start_height: int
    period_start_source: str = Field(..., description="stored / retarget-implied / estimated")
    subsidy_btc: float = Field(..., description="[BTC/block]")
    fees_btc: float = Field(..., description="Mean fees per block [BTC/block].")
    fee_source: str
    btc_per_ph_day: float = Field(..., description="[BTC per PH/s per day]")
    sats_per_th_day: float = Field(..., description="[sat per TH/s per day]")
    btc_per_th_day: float = Field(..., description="[BTC per TH/s per day]")
    price_usd: float | None = Field(..., description="BTC price at 24:00 UTC [USD]; null if none stored.")
    price_source: str
    usd_per_ph_day: float | None = Field(..., description="[USD per PH/s per day]")
    usd_per_th_day: float | None = Field(..., description="[USD per TH/s per day]")
    after_halving_btc_per_ph_day: float = Field(..., description="The same with the next era's subsidy.")
    after_halving_usd_per_ph_day: float | None


class HashpriceDay(DayHashprice):
    """A day of a hashprice series, with the last earlier day at or below it."""

    usd_lowest_since: str | None = Field(..., description="The last earlier day whose USD hashprice was at or below.")


class AllTimeLow(Result):
    """The lowest USD hashprice of a series."""

    date: str
    usd_per_ph_day: float = Field(..., description="[USD per PH/s per day]")
    fees_included: bool = Field(..., description="False where no per-block fees are stored (subsidy only).")


class HashpriceSeries(Result):
    """Daily hashprice over a span (``GET /v1/hashprice/series``, the weekly figures)."""

    rows: list[HashpriceDay]
    all_time_low_usd: AllTimeLow | None
    price_instant: str = Field(..., description="The instant each day's price is taken at.")


def hashprice_days(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
) -> list[DayHashprice]:
    """Hashprice of each day at 24:00 UTC: the period in force and the tip height then, the
    subsidy at that height (:func:`hashlens.consensus.block_subsidy_btc`), fees the trailing
    144-block mean where block stats exist, else ``fees_btc``, else zero (stated in
    ``fee_source``); priced with ``price_usd`` if given, else the stored USD price at that
    instant. A day the store's periods do not reach is an error, never a fallback."""
    return [DayHashprice.model_validate(r) for r in _day_rows(store, days, price_usd, fees_btc, clock)]


def _day_rows(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
) -> list[dict[str, Any]]:
    """:func:`hashprice_days`' rows before they are typed (a series types them once, with its
    lowest-since)."""
    if not days:
        return []
    clock = clock or ChainClock.from_store(store)
    ts = np.array([end_of_day(d) for d in days])
    pidx = np.array([clock.require_covered(float(t), str(d)) for t, d in zip(ts, days, strict=True)])
    heights, exact = clock.height_at(ts)
    heights = np.maximum(heights, 0)
    fees = clock.trailing_fees_btc(heights)
    fee_known = ~np.isnan(fees)
    fee = np.where(fee_known, fees, fees_btc if fees_btc is not None else 0.0)
    subsidy = np.asarray(block_subsidy_btc(heights), dtype=float)
    next_subsidy = np.asarray(block_subsidy_btc([next_halving_height(int(h)) for h in heights]), dtype=float)
    diff = clock.difficulty[pidx]
    hp = np.asarray(hashprice_btc_per_ph_day(diff, subsidy, fee), dtype=float)
    hp_after = np.asarray(hashprice_btc_per_ph_day(diff, next_subsidy, fee), dtype=float)
    sats = np.asarray(hashvalue_sats_per_th_day(diff, subsidy, fee), dtype=float)
    stored = {} if price_usd is not None else store.prices_between(min(days), max(days) + timedelta(days=1))
    prices = [price_usd if price_usd is not None else stored.get(d + timedelta(days=1)) for d in days]
    px_arr = np.array([np.nan if x is None else x for x in prices], dtype=float)
    usd = np.asarray(hashprice_usd_per_ph_day(diff, subsidy, fee, px_arr), dtype=float)
    usd_after = np.asarray(hashprice_usd_per_ph_day(diff, next_subsidy, fee, px_arr), dtype=float)
    # Plain Python values first (indexing numpy arrays one element at a time is slow), then
    # one validated row per day.
    known, h_, ex_, d_, p_ = fee_known.tolist(), heights.tolist(), exact.tolist(), diff.tolist(), pidx.tolist()
    sub_, fee_, hp_, sats_, usd_ = subsidy.tolist(), fee.tolist(), hp.tolist(), sats.tolist(), usd.tolist()
    hpa_, usda_, src_ = hp_after.tolist(), usd_after.tolist(), clock.start_source.tolist()
    out = []
    for i, d in enumerate(days):
        px = prices[i]
        fsrc = (
            "trailing 144-block mean of per-block fees"
            if known[i]
            else "given per block"
            if fees_btc is not None
            else "no per-block fees stored for this day: subsidy only"
        )
        psrc = (
            "given"
            if price_usd is not None
            else f"stored USD series at {PRICE_INSTANT}"
            if px is not None
            else f"none: no USD price stored for {d + timedelta(days=1)} (the price at 24:00 UTC of {d}); give a price"
        )
        out.append(
            {
                "date": d.isoformat(),
                "height": int(h_[i]),
                "height_exact": bool(ex_[i]),
                "difficulty": float(d_[i]),
                "period_start_height": int(p_[i]) * N,
                "period_start_source": str(src_[p_[i]]),
                "subsidy_btc": sub_[i],
                "fees_btc": fee_[i],
                "fee_source": fsrc,
                "btc_per_ph_day": hp_[i],
                "sats_per_th_day": sats_[i],
                "btc_per_th_day": hp_[i] / 1000,
                "price_usd": px,
                "price_source": psrc,
                "usd_per_ph_day": usd_[i] if px is not None else None,
                "usd_per_th_day": usd_[i] / 1000 if px is not None else None,
                "after_halving_btc_per_ph_day": hpa_[i],
                "after_halving_usd_per_ph_day": usda_[i] if px is not None else None,
            }
        )
    return out


def monthly_days(start: date | None, end: date) -> list[date]:
    """``end`` alone, or with ``start``: the start day and each 1st of a month after it, to ``end``."""
    if start is None:
        return [end]
    if start > end:
        raise HashlensError(f"start {start} is after {end}")
    days = []
    while start <= end:
        days.append(start)
        start = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return days


def latest_day(store: Store, clock: ChainClock | None = None) -> date:
    """The latest UTC day with a dated period in force and a stored USD price at its end: the
    default 'as of' of every face."""
    clock = clock or ChainClock.from_store(store)
    chain_day = day_of(clock.covered_until) - timedelta(days=1)
    last_price = store.last_price_day()
    if last_price is None:
        return chain_day
    return min(chain_day, last_price - timedelta(days=1))


def hashprice_series(store: Store, start: date | None, end: date, clock: ChainClock | None = None) -> HashpriceSeries:
    """Daily hashprice from ``start`` (default: the first stored price) to ``end``, with its
    all-time low and each day's "lowest since" (the last earlier day at or below it)."""
    clock = clock or ChainClock.from_store(store)
    if start is None:
        first = store.first_price_day()
        if first is None or first > end:
            return HashpriceSeries(rows=[], all_time_low_usd=None, price_instant=PRICE_INSTANT)
        start = first
    if end < start:
        raise HashlensError(f"the series' end {end} is before its start {start}")
    clock.require_covered(end_of_day(end), f"the series' end {end}")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows = _day_rows(store, days, clock=clock)
    usd = np.array([r["usd_per_ph_day"] if r["usd_per_ph_day"] is not None else np.nan for r in rows])
    valid = ~np.isnan(usd)
    lowest_since: list[str | None] = [None] * len(rows)
    vi = np.flatnonzero(valid)
    if vi.size:
        j = last_earlier_at_or_below(usd[vi])
        for k, i in enumerate(vi.tolist()):
            lowest_since[i] = rows[int(vi[j[k]])]["date"] if j[k] >= 0 else None
    atl = None
    if valid.any():
        m = int(np.nanargmin(usd))
        # Days past the per-block data count the subsidy alone: say which kind the low is.
        atl = AllTimeLow(
            date=rows[m]["date"],
            usd_per_ph_day=float(usd[m]),
            fees_included=rows[m]["fee_source"].startswith("trailing"),
        )
    return HashpriceSeries(
        rows=[
            HashpriceDay.model_validate(r | {"usd_lowest_since": ls}) for r, ls in zip(rows, lowest_since, strict=True)
        ],
        all_time_low_usd=atl,
        price_instant=PRICE_INSTANT,
    )


class HashrateOnDay(Result):
    """Network hashrate at 24:00 UTC of a day, by the best method the data allow."""

    date: str
    hashrate_ehs: float = Field(..., description="[EH/s]")
    low_ehs: float = Field(..., description="Lower end of the 95 % interval [EH/s].")
    high_ehs: float = Field(..., description="Upper end of the 95 % interval [EH/s].")
    method: str
    start_height: int
    end_height: int


def network_hashrate_on(clock: ChainClock, day: date, level: float = 0.95) -> HashrateOnDay:
    """Network hashrate at the end of ``day`` from data up to then only [EH/s].

    Where stored block times cover the day: Bitcoin Core's getnetworkhashps over the last 1008
    blocks, with the Gamma interval of their intervals. Else the hashrate the last period that
    ended by then implies (:func:`hashlens.chain.hashrate.implied_hashrate_ehs`), its interval
    from the Gamma law of its 2016 intervals; the method names the period and how its times
    are known.
    """
    from hashlens.chain.hashrate import (
        hashrate_over_blocks,
        implied_hashrate_ehs,
        period_work_table,
        rate_interval_from_blocks,
    )

    ts = end_of_day(day)
    p = clock.require_covered(ts, str(day))
    heights, exact = clock.height_at(np.array([ts]))
    if exact[0]:
        i = int(np.searchsorted(clock.block_h, heights[0]))
        if i >= 1008 and clock.block_h[i] - clock.block_h[i - 1008] == 1008:
            sl = slice(i - 1008, i + 1)
            ps = np.unique(clock.block_h[sl] // N)
            work = period_work_table({int(q): int(clock.bits[q]) for q in ps})
            est = hashrate_over_blocks(clock.block_h[sl], clock.block_t[sl], work, level)
            return HashrateOnDay(
                date=day.isoformat(),
                hashrate_ehs=est.hashrate_ehs,
                low_ehs=est.low_ehs,
                high_ehs=est.high_ehs,
                method=est.method,
                start_height=est.start_height,
                end_height=est.end_height,
            )
    q = p - 1
    dur = clock.implied_duration_s(q) if q >= 0 else None
    if dur is None:
        raise HashlensError(f"{day}: no dated period before it to take the hashrate from")
    h = float(implied_hashrate_ehs(int(clock.bits[q]), dur))
    lo_rate, hi_rate = rate_interval_from_blocks(N, dur, level)
    scale = h / (N / dur)
    how = "/".join(sorted({str(clock.start_source[q]), str(clock.start_source[q + 1])}))
    return HashrateOnDay(
        date=day.isoformat(),
        hashrate_ehs=h,
        low_ehs=lo_rate * scale,
        high_ehs=hi_rate * scale,
        method=f"implied by the period from height {q * N:,} (its work over its {dur / SECONDS_PER_DAY:.2f} days; "
        f"start times {how}); {level:.0%} interval from Gamma({N}) block intervals",
        start_height=q * N,
        end_height=(q + 1) * N,
    )
