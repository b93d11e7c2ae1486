"""The fleet outlook beside Braiins' profitability calculator (issue 14 item 2).

No worked example with numbers from Braiins was reachable (see docs/braiins-comparison.md for
what was searched and read), so nothing here reproduces a Braiins figure. What this file pins
is the one documented method difference whose consequence does not depend on Braiins' unpublished
internals: where the held share is taken.

Sources, as read:
- Braiins, "How to Calculate Bitcoin Mining Profitability", braiins.com/blog/
  bitcoin-mining-profitability-methodology (published 2022-03-22): the calculator's inputs
  (horizon 6-60 months, current price and difficulty with their expected changes in separate
  fields). Only the opening sections were reachable.
- A third-party summary of that article (atoallinks.com, 2021, "How Bitcoin Mining Profit
  Calculation Works"): "the HODL Ratio ... a percentage of their net profit each month to keep
  in BTC".

hashlens keeps ``hold_share`` of the BTC mined and pays power and hosting in cash; Braiins keeps
the HODL ratio of the net profit. At a constant BTC price the two give the same position
(cash + BTC held at the price) month by month; they differ in how many BTC are held, by
h · (power + hosting) / price, i.e. in how much of the position is exposed to the price.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashlens.sim.fleet_outlook import fleet_outlook, market_from_store
from hashlens.store import Store

PRICE_USD = 80_000.0
HOLD = 0.5
TERMS: dict[str, Any] = {
    "machines": [{"label": "s21", "hashrate_ths": 200, "power_w": 3500, "count": 50}],
    "date": "2026-01-20",
    "months": 12,
    "paths": 1,
    "seed": 1,
    "power_price_usd_per_kwh": 0.06,
    "pool_fee": 0.02,
    "uptime": 0.98,
    "hosting_usd_per_kw_month": 5.0,
    "hold_share": HOLD,
    "btc_price_usd": PRICE_USD,
    "price_volatility_annual": 0.0,
    "price_drift_annual": 0.0,  # a constant price: the conventions' positions must agree
    "difficulty_growth_pct_per_adjustment": 2.0,
    "fees_btc_per_block": 0.02,
}


@pytest.fixture(scope="module")
def run_always(full_db: Path) -> dict[str, np.ndarray]:
    with Store(full_db, read_only=True) as s:
        out = fleet_outlook(market_from_store(s), TERMS)
    monthly = out["policies"]["run_always"]["monthly"]
    return {k: np.array(v["p50"]) for k, v in monthly.items()}


def test_hold_share_is_taken_from_btc_mined_not_from_profit(run_always: dict[str, np.ndarray]) -> None:
    m = run_always
    costs_usd = m["revenue_usd"] - m["profit_usd"]  # power + hosting, paid in cash
    assert np.all(costs_usd > 0)
    # hashlens: the held share of every BTC mined
    np.testing.assert_allclose(m["btc_held"], HOLD * np.cumsum(m["btc_mined"]), rtol=1e-12)
    # Braiins: the HODL ratio of each month's net profit, bought at the (constant) price
    held_braiins_btc = HOLD * np.cumsum(m["profit_usd"]) / PRICE_USD
    np.testing.assert_allclose(m["btc_held"] - held_braiins_btc, HOLD * np.cumsum(costs_usd) / PRICE_USD, rtol=1e-9)
    assert np.all(m["btc_held"] > held_braiins_btc)  # more BTC exposure in hashlens


def test_positions_agree_at_a_constant_price(run_always: dict[str, np.ndarray]) -> None:
    m = run_always
    # Braiins: the sold (1 - h) of the profit in cash, h of it in BTC at the price
    cash_braiins = (1 - HOLD) * np.cumsum(m["profit_usd"])
    held_braiins_btc = HOLD * np.cumsum(m["profit_usd"]) / PRICE_USD
    position_braiins = cash_braiins + held_braiins_btc * PRICE_USD
    # no capex and no loan: both positions are the cumulative profit
    np.testing.assert_allclose(m["position_usd"], position_braiins, rtol=1e-9)
    np.testing.assert_allclose(m["position_usd"], np.cumsum(m["profit_usd"]), rtol=1e-9)
    # but the cash differs: hashlens pays the whole power bill out of the sold share
    np.testing.assert_allclose(
        m["cumulative_cash_usd"] - cash_braiins, -HOLD * np.cumsum(m["revenue_usd"] - m["profit_usd"]), rtol=1e-9
    )
