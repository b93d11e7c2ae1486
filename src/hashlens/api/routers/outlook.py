"""Fleet outlook endpoint: ``POST /v1/outlook``.

The body is :class:`hashlens.sim.outlook_request.OutlookRequest`, the outlook's one contract (a fleet, its terms, months,
paths, seed); the answer is :func:`hashlens.sim.fleet_outlook.fleet_outlook` as plain data, the
same JSON as ``hashlens outlook FLEET --json`` for the same inputs and seed. Bounds are
Field constraints (422 naming the field); the work ceiling (rows × paths × months ≤
240,000,000) and a loan longer than the horizon are 422s from the model; an unknown model or
bad fleet row is a 422 at ``body.machines``; data the store lacks is a 400.

Braiins' calculator's inputs (docs/braiins-comparison.md), each optional; the defaults change
nothing:

- ``difficulty_increment_pct_per_year`` (Difficulty Increment, %/year): deterministic growth
  compounded over adjustments of one expected period each
  (``sim.fleet_outlook.growth_pct_per_adjustment``); instead of
  ``difficulty_growth_pct_per_adjustment`` (both at once: 422 at this field).
- ``halving_difficulty_drop_pct`` (Halving Difficulty Drop, %, 0 … 99): difficulty falls once by
  this much at the first adjustment at or after a halving height, on the deterministic path
  or on top of the forecast's paths (their period start times are kept).
- ``profit_fee`` (Profit Fees, 0 … 1): the share of each month's positive profit (revenue -
  power - hosting) paid away; its own monthly line ``profit_fee_usd``, and ``profit_usd`` is
  after it.
- ``hold_basis``: ``btc_mined`` (default: ``hold_share`` of every BTC mined is kept) or
  ``net_profit`` (Braiins' HODL ratio: revenue sold, ``hold_share`` of each month's positive
  profit bought in BTC at the month-end price).

Response shape (Q = ``{"p05", "p25", "p50", "p75", "p95"}``; per month, each a list of
``months`` numbers):

- ``as_of`` (YYYY-MM-DD), ``months``, ``paths``, ``seed``
- ``inputs``: ``machines`` (per row: label, count, hashrate_ths, power_w, efficiency_j_per_th,
  power_price_usd_per_kwh, capex_usd_per_machine, switch_off_hashprice_usd_per_ph_day),
  ``operating`` (power price, pool fee, stale rate, uptime, PUE, hosting fees), ``capex_usd``,
  ``depreciation_months``, ``salvage_share``, ``hold_share``, ``loan`` (principal_usd,
  rate_annual, term_months, or null), ``discount_rate_annual``, ``price_drift_annual``,
  ``price_volatility_annual`` (the one used), ``difficulty_growth_pct_per_adjustment`` (the
  one used, converted from the yearly increment where that was given; null: the forecast's
  paths), ``difficulty_increment_pct_per_year`` (as given, or null),
  ``halving_difficulty_drop_pct``, ``fees_btc_per_block`` (the one used), ``profit_fee``,
  ``hold_basis``
- ``start``: height, period_start_height, difficulty, btc_price_usd, hashprice_usd_per_ph_day,
  fees_source, volatility_source
- ``month_ends``: the last day of each month (YYYY-MM-DD)
- ``hashprice_usd_per_ph_day``: Q of each month's mean daily hashprice [USD/PH/day]
- ``policies``: ``run_always`` and ``switch_off`` side by side, each
  ``monthly``: {revenue_usd, btc_mined, power_cost_usd, hosting_usd, profit_fee_usd, profit_usd
  (revenue - power - hosting - profit fee), net_income_usd (profit - depreciation - interest), cash_flow_usd,
  cumulative_cash_usd, btc_held, position_usd (cash + BTC held at the month-end price - loan
  owed)} each a Q of per-month lists; ``payback_probability``: per month, the share of paths
  whose position has reached zero by then; ``npv_usd``: Q plus ``mean``; ``irr_annual``: Q
  (null where undefined on every path) plus ``share_defined``; ``machine_days_off_share``
- ``switch_off_value_usd``: Q of the NPV gained by switching off (per path, switch-off minus
  run-always)
- ``halving``: height, blocks_left, subsidy_before_btc, subsidy_after_btc,
  probability_in_horizon, date_p05 / date_p50 / date_p95
- ``method``: notes, one sentence each
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS
from hashlens.sim.outlook_request import OutlookRequest
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["outlook"], responses=ERRORS)


def _market(s: Store) -> Any:
    from hashlens.sim.fleet_outlook import market_from_store

    return market_from_store(s)


@router.post("/outlook", response_model=dict[str, Any])
async def outlook(request: Request, req: OutlookRequest) -> Response:
    """Monthly quantiles of a fleet's revenue, costs, cash and BTC held, payback, NPV and IRR,
    run-always beside switch-off-when-under-water, over the forecast's paths (shape above).
    Computed in the heavy pool (time and memory limits), cached per body and store version."""
    holder = holder_of(request)
    market = await holder.compute(_market)
    body = req.model_dump(mode="json", exclude_none=True)  # what fleet_outlook reads, in the pool
    key = hashlib.sha256(req.model_dump_json().encode()).hexdigest()
    pool = request.app.state.pool
    return await holder.json_from(("outlook", key), lambda: pool.run("hashlens.api.tasks:outlook", market, body))
