"""Fleet outlook: monthly quantiles of a fleet's revenue, costs, cash flow and BTC held, its
payback, NPV and IRR, run-always beside switch-off-when-under-water, over paths of the chain.

The outlook is part of the calibrated forecast stack (beside :mod:`hashlens.sim.forecast` and
:mod:`hashlens.sim.hashprice_outlook`; the scenario simulator, :mod:`hashlens.sim.engine`, is
the other stack) and is kept in one file per topic:

- :mod:`~hashlens.sim.outlook_request`: the request (:class:`OutlookRequest`, the one contract of
  every face: fields, defaults, bounds, the loan, the work ceiling) and its validated Spec;
- :mod:`~hashlens.sim.outlook_market`: the store's clock and prices, a request's start state;
- :mod:`~hashlens.sim.outlook_paths`: the fleet's arrays, the difficulty and price paths
  (:mod:`hashlens.sim.prices`), each day's hashprice, monthly sums per policy;
- :mod:`~hashlens.sim.outlook_finance`: cash flows, NPV, IRR (Horner's rule);
- :mod:`~hashlens.sim.outlook_notes`: the method notes;
- this module: the one entry point for every face, :func:`fleet_outlook` (the request or
  its fields in, plain data out: quantiles, payback, the halving), which ``hashlens outlook`` and
  ``POST /v1/outlook`` call.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_subsidy_btc, difficulty_from_bits
from hashlens.consensus.subsidy import next_halving_height
from hashlens.economics.asics import Asic
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.sim.forecast import Paths
from hashlens.sim.hashprice_outlook import DAY_S
from hashlens.sim.outlook_finance import cash_flows, irr_annual, npv_monthly
from hashlens.sim.outlook_market import Market, Start, add_months, market_from_store, start_state
from hashlens.sim.outlook_notes import method_notes
from hashlens.sim.outlook_paths import POLICIES, fleet_arrays, simulate_months
from hashlens.sim.outlook_request import (
    MAX_MONTHS,
    MAX_PATHS,
    MAX_ROWS,
    MAX_WORK,
    OutlookInputError,
    OutlookRequest,
    Spec,
    growth_pct_per_adjustment,
    parse_request,
)
from hashlens.units import DAYS_PER_YEAR

__all__ = [  # the entry point, and what the faces take from the outlook's parts
    "MAX_MONTHS",
    "MAX_PATHS",
    "MAX_ROWS",
    "MAX_WORK",
    "Market",
    "OutlookInputError",
    "OutlookRequest",
    "Spec",
    "fleet_outlook",
    "fleet_outlook_from_store",
    "growth_pct_per_adjustment",
    "irr_annual",
    "market_from_store",
    "npv_monthly",
    "parse_request",
]

N = DIFFICULTY_ADJUSTMENT_INTERVAL
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
Q_NAMES = ("p05", "p25", "p50", "p75", "p95")


def _q(x: np.ndarray) -> dict[str, Any]:
    """Quantiles over paths: per month for (paths, months), a scalar for (paths,)."""
    q = np.quantile(x, QUANTILES, axis=0)
    return {name: (q[i].tolist() if x.ndim > 1 else float(q[i])) for i, name in enumerate(Q_NAMES)}


def _iso_day(ts: float) -> str:
    return (date(1970, 1, 1) + timedelta(seconds=float(ts))).isoformat()


def _halving(start: Start, sim: Paths, starts: np.ndarray, t_end: float) -> dict[str, Any]:
    """The next halving by height: per path the time the path reaches it (the inverse of the
    height-at-time rule of :func:`~hashlens.sim.hashprice_outlook.chain_at_times`)."""
    hist = start.hist
    h = next_halving_height(hist.as_of_height)
    k = h // N - hist.period
    before = float(block_subsidy_btc(h - 1))
    after = float(block_subsidy_btc(h))
    info: dict[str, Any] = {
        "height": h,
        "blocks_left": h - hist.as_of_height,
        "subsidy_before_btc": before,
        "subsidy_after_btc": after,
    }
    if k + 1 >= starts.shape[1]:
        return info | {"probability_in_horizon": 0.0, "date_p05": None, "date_p50": None, "date_p95": None}
    frac = (h - (hist.period + k) * N) / N
    t = starts[:, k] + frac * (starts[:, k + 1] - starts[:, k])
    q = np.quantile(t, (0.05, 0.5, 0.95))
    return info | {
        "probability_in_horizon": float((t <= t_end).mean()),
        "date_p05": _iso_day(q[0]),
        "date_p50": _iso_day(q[1]),
        "date_p95": _iso_day(q[2]),
    }


def fleet_outlook(
    market: Market, request: dict[str, Any] | OutlookRequest, catalogue: list[Asic] | None = None
) -> dict[str, Any]:
    """The fleet outlook for a request (:class:`OutlookRequest`, or its fields as a mapping).

    Returns plain data: inputs echoed, the start state, month ends, per policy the monthly
    quantiles (5/25/50/75/95 %) of revenue, power cost, hosting, profit fee, profit, net income, cash flow,
    cumulative cash, BTC mined and held and position, the probability of payback by each
    month, NPV and IRR quantiles; the value of switching off; the halving; method notes.
    """
    spec = parse_request(request, catalogue)
    as_of = spec.as_of or market.latest_day
    start = start_state(market, spec, as_of)
    fa = fleet_arrays(spec.groups, spec.op)
    monthly, sim, starts = simulate_months(fa, start, spec, as_of)
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    policies: dict[str, Any] = {}
    npvs: dict[str, np.ndarray] = {}
    total_machine_days = float(fa.machines.sum()) * (ends[-1] - as_of).days
    for p in POLICIES:
        series, npv, irr = cash_flows(spec, fa, monthly, p)
        npvs[p] = npv
        paid = np.maximum.accumulate(series["position_usd"] >= 0, axis=1)
        finite = irr[np.isfinite(irr)]
        policies[p] = {
            "monthly": {k: _q(v) for k, v in series.items()},
            "payback_probability": paid.mean(axis=0).tolist(),
            "npv_usd": _q(npv) | {"mean": float(npv.mean())},
            "irr_annual": (_q(finite) if finite.size else dict.fromkeys(Q_NAMES))
            | {"share_defined": float(finite.size / irr.size)},
            "machine_days_off_share": 0.0
            if p == "run_always" or total_machine_days == 0
            else float(monthly.machine_days_off.sum() / (total_machine_days * spec.paths)),
        }
    d0 = float(difficulty_from_bits(int(start.hist.bits[-1])))
    subsidy0 = float(block_subsidy_btc(start.hist.as_of_height))
    hp0 = float(hashprice_btc_per_ph_day(d0, subsidy0, start.fees_btc)) * start.price_usd
    machines = []
    for i, g in enumerate(spec.groups):
        j = int(np.flatnonzero(fa.order == i)[0])
        machines.append(
            {
                "label": g.label,
                "count": g.count,
                "hashrate_ths": g.hashrate_ths,
                "power_w": g.power_w,
                "efficiency_j_per_th": g.efficiency_j_per_th,
                "power_price_usd_per_kwh": g.power_price_usd_per_kwh
                if g.power_price_usd_per_kwh is not None
                else spec.op.power_price_usd_per_kwh,
                "capex_usd_per_machine": float(spec.capex_usd[i]),
                "switch_off_hashprice_usd_per_ph_day": float(fa.threshold_usd_per_ph_day[j]),
            }
        )
    growth = spec.difficulty_growth_pct_per_adjustment
    return {
        "as_of": as_of.isoformat(),
        "months": spec.months,
        "paths": spec.paths,
        "seed": spec.seed,
        "inputs": {
            "machines": machines,
            "operating": spec.op.model_dump(),
            "capex_usd": float((spec.capex_usd * np.array([g.count for g in spec.groups])).sum()),
            "depreciation_months": spec.depreciation_months,
            "salvage_share": spec.salvage_share,
            "hold_share": spec.hold_share,
            "loan": asdict(spec.loan) if spec.loan else None,
            "discount_rate_annual": spec.discount_rate_annual,
            "price_drift_annual": spec.price_drift_annual,
            "price_volatility_annual": start.sigma_daily * math.sqrt(DAYS_PER_YEAR),
            "difficulty_growth_pct_per_adjustment": growth,
            "difficulty_increment_pct_per_year": spec.difficulty_increment_pct_per_year,
            "halving_difficulty_drop_pct": spec.halving_difficulty_drop_pct,
            "fees_btc_per_block": start.fees_btc,
            "profit_fee": spec.profit_fee,
            "hold_basis": spec.hold_basis,
        },
        "start": {
            "height": start.hist.as_of_height,
            "period_start_height": start.hist.period * N,
            "difficulty": d0,
            "btc_price_usd": start.price_usd,
            "hashprice_usd_per_ph_day": hp0,
            "fees_source": start.fees_source,
            "volatility_source": start.volatility_source,
        },
        "month_ends": [e.isoformat() for e in ends],
        "hashprice_usd_per_ph_day": _q(monthly.hashprice_mean),
        "policies": policies,
        "switch_off_value_usd": _q(npvs["switch_off"] - npvs["run_always"]),
        "halving": _halving(start, sim, starts, start.t0 + (ends[-1] - as_of).days * DAY_S),
        "method": method_notes(spec, start, growth),
    }


def fleet_outlook_from_store(
    store: Any, request: dict[str, Any] | OutlookRequest, catalogue: list[Asic] | None = None
) -> dict[str, Any]:
    """:func:`fleet_outlook` over the store's chain and prices (inputs checked first)."""
    parse_request(request, catalogue)  # bad input fails before the store is read
    return fleet_outlook(market_from_store(store), request, catalogue)
