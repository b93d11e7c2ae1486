"""The fleet outlook's method notes: the words the outlook returns, each built from the
request and the start state it states."""

from __future__ import annotations

import math

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
from hashlens.sim.outlook_market import Start
from hashlens.sim.outlook_request import Spec
from hashlens.units import DAYS_PER_YEAR

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def method_notes(spec: Spec, start: Start, growth: float | None) -> list[str]:
    period = f"{N} × {POW_TARGET_SPACING} s"
    chain = (
        f"difficulty grows {growth:+g} % at every adjustment, periods of exactly {period} (deterministic)"
        if growth is not None
        else "difficulty paths from the calibrated adjustment forecast (random walk with drift on log implied "
        "hashrate, Poisson blocks, the exact retarget; sim.forecast.simulate_paths)"
    )
    if spec.difficulty_increment_pct_per_year is not None:
        chain += (
            f", from {spec.difficulty_increment_pct_per_year:+g} % a year compounded over periods of {period} "
            f"in years of {DAYS_PER_YEAR:g} days"
        )
    notes = [
        f"{spec.paths:,} paths, seed {spec.seed}; {chain}; height per day within each period at the period's own "
        "pace, so the halving enters by height",
        f"BTC price: GBM from {start.price_usd:,.0f} USD, volatility {start.sigma_daily * math.sqrt(DAYS_PER_YEAR):.0%} "
        f"a year ({start.volatility_source}), expected growth {spec.price_drift_annual:+.0%} a year",
        f"fees {start.fees_btc:g} BTC per block ({start.fees_source})",
        "each day earns the hashprice (economics.hashprice) at its 24:00 UTC; months are calendar months after the "
        "as-of day",
        "switch-off: a row runs on days when the hashprice is at or above the breakeven of the costs it saves by "
        "stopping (power, per-kWh hosting); the per-kW-month fee is owed either way; decided daily with that day's "
        "hashprice known (an upper bound on what curtailment is worth)",
        _cash_note(spec),
        "NPV and IRR: monthly cash flows discounted at the annual rate, plus at the end the BTC held at the last "
        "price and the machines at book value (straight-line depreciation to the salvage share); IRR by bisection, "
        "undefined where the flows do not change sign",
    ]
    if spec.halving_difficulty_drop_pct > 0:
        notes.insert(
            1,
            f"halving difficulty drop: difficulty falls {spec.halving_difficulty_drop_pct:g} % once at the first "
            "adjustment at or after each halving height, and later growth starts from the lower level; applied on top "
            "of the difficulty paths (their period start times are kept, not re-timed for faster blocks)",
        )
    if spec.profit_fee > 0:
        notes.insert(
            -2,
            f"profit fee: {spec.profit_fee * 100:g} % of each month's profit (revenue - power - hosting) where positive is paid "
            "away; profit, net income and cash flow are after it",
        )
    return notes


def _cash_note(spec: Spec) -> str:
    if spec.hold_basis == "net_profit":
        kept = (
            "each month the revenue is sold and the profit less the loan payment is cash, except the held share of "
            "a positive profit, bought in BTC at the month-end price (Braiins' HODL ratio)"
        )
    else:
        kept = (
            "each month the sold share of revenue less power, hosting and the loan payment; the held share of BTC "
            "mined is kept"
        )
    if spec.profit_fee > 0 and spec.hold_basis != "net_profit":
        kept = kept.replace("hosting and the loan payment", "hosting, the profit fee and the loan payment")
    return (
        f"cash flow: capex less the loan principal at month 0; {kept}. Position = cumulative cash + BTC held at "
        "the month-end price - the loan still owed; payback = the position reaches zero"
    )
