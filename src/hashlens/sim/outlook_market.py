"""The market a fleet outlook starts from: the store's clock and prices (:class:`Market`,
read once), and the start state of a request's paths (:func:`start_state`: the chain's history
at the as-of instant, the price there, its volatility and drift, the fees)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.errors import HashlensError
from hashlens.sim.forecast import History, height_for_time, history
from hashlens.sim.outlook_request import Spec
from hashlens.sim.prices import price_history, trailing_volatility
from hashlens.units import DAYS_PER_YEAR


@dataclass
class Market:
    """What the store gives the outlook: the chain's clock and the daily USD prices."""

    clock: ChainClock
    days: np.ndarray  # datetime64[D]
    prices: np.ndarray  # [USD/BTC]
    latest_day: date


def market_from_store(store: Any) -> Market:
    """Read the clock and the price series once (the API caches this)."""
    from hashlens.economics.daily import latest_day

    clock = ChainClock.from_store(store)
    days, prices = store.price_series()
    return Market(clock, days, prices, latest_day(store, clock))


def add_months(d: date, m: int) -> date:
    """The same day of the month ``m`` months later, or that month's last day."""
    y, mo = divmod(d.month - 1 + m, 12)
    first = date(d.year + y, mo + 1, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=min(d.day, last.day))


@dataclass(frozen=True)
class Start:
    hist: History
    t0: float  # 24:00 UTC of the as-of day [Unix s]
    price_usd: float
    sigma_daily: float
    mu_daily: float
    fees_btc: float
    fees_source: str
    volatility_source: str


def start_state(market: Market, spec: Spec, as_of: date) -> Start:
    t0 = end_of_day(as_of)
    clock = market.clock
    hist = history(clock, height_for_time(clock, t0))
    try:
        returns, p0 = price_history(market.days, market.prices, as_of)
    except HashlensError:
        if spec.btc_price_usd is None or spec.price_volatility_annual is None:
            raise
        returns, p0 = np.zeros(0), spec.btc_price_usd
    if spec.price_volatility_annual is not None:
        sigma, vsrc = spec.price_volatility_annual / math.sqrt(DAYS_PER_YEAR), "given"
    else:
        sigma, vsrc = trailing_volatility(returns), "trailing 365 daily log returns"
    fees, fsrc = spec.fees_btc_per_block, "given"
    if fees is None:
        trailing = float(clock.trailing_fees_btc(np.array([hist.as_of_height - 1]))[0])
        fees, fsrc = (
            (trailing, "trailing 144-block mean at the as-of tip")
            if math.isfinite(trailing)
            else (0.0, "none stored at the as-of tip: held at zero")
        )
    return Start(
        hist=hist,
        t0=t0,
        price_usd=spec.btc_price_usd or p0,
        sigma_daily=sigma,
        mu_daily=math.log1p(spec.price_drift_annual) / DAYS_PER_YEAR,
        fees_btc=float(fees),
        fees_source=fsrc,
        volatility_source=vsrc,
    )
