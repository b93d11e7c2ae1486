"""Cost of producing one bitcoin: electricity ("cash") cost, all-in cost, Hayes' model.

References
----------
.. [1] Hayes, A. S. (2017). Cryptocurrency value formation: an empirical study leading to a
   cost of production model for valuing bitcoin. Telematics and Informatics 34(7), 1308-1321.
.. [2] Listed miners' quarterly reports: "cash cost" per BTC (direct costs, mostly power) and
   "all-in" cost adding depreciation, overheads and financing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def electricity_cost_per_btc(
    power_price_usd_per_kwh: ArrayLike, efficiency_j_per_th: ArrayLike, difficulty: ArrayLike, reward_btc: ArrayLike
) -> Any:
    """Electricity cost of mining one BTC [USD/BTC].

    .. math:: c = \\frac{p \\cdot \\varepsilon \\cdot D \\cdot 2^{32}}{3.6\\cdot10^{18} (s + f)}

    D·2^32 hashes per block at ε J/TH is ε·D·2^32/10^12 J; 3.6·10^6 J per kWh; reward s + f
    BTC per block. Parameters: p [USD/kWh], ε [J/TH], D [-], s + f [BTC/block].
    """
    out = (
        np.asarray(power_price_usd_per_kwh, float)
        * np.asarray(efficiency_j_per_th, float)
        * np.asarray(difficulty, float)
        * 2.0**32
        / (3.6e18 * np.asarray(reward_btc, float))
    )
    return float(out) if out.ndim == 0 else out


def hayes_cost_of_production(
    power_price_usd_per_kwh: ArrayLike, efficiency_j_per_gh: ArrayLike, difficulty: ArrayLike, subsidy_btc: ArrayLike
) -> Any:
    """Hayes' marginal cost of production [USD/BTC] [1]_: daily energy cost of 1 GH/s,
    E = p·24·ε_GH/1000, over its expected daily coins, θ = 86400·10^9·s/(D·2^32).
    The subsidy only (Hayes' β), efficiency in J/GH as in the paper."""
    e_day = np.asarray(power_price_usd_per_kwh, float) * 24 * np.asarray(efficiency_j_per_gh, float) / 1000
    theta = 86400 * 1e9 * np.asarray(subsidy_btc, float) / (np.asarray(difficulty, float) * 2.0**32)
    out = e_day / theta
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class CostBreakdown:
    btc_per_day: float
    electricity_usd_per_btc: float
    other_cash_usd_per_btc: float
    cash_cost_usd_per_btc: float
    depreciation_usd_per_btc: float
    overhead_usd_per_btc: float
    interest_usd_per_btc: float
    all_in_cost_usd_per_btc: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cost_breakdown_per_btc(
    btc_per_day: float,
    electricity_usd_per_day: float,
    other_cash_opex_usd_per_day: float = 0.0,
    depreciation_usd_per_day: float = 0.0,
    overhead_usd_per_day: float = 0.0,
    interest_usd_per_day: float = 0.0,
) -> CostBreakdown:
    """Cash and all-in cost per BTC [USD/BTC] [2]_: each daily cost over the BTC produced that
    day. Cash = electricity + other cash operating costs; all-in adds depreciation, overhead
    (SG&A) and interest."""
    if btc_per_day <= 0:
        raise ValueError("btc_per_day must be positive")
    per = 1.0 / btc_per_day
    cash = (electricity_usd_per_day + other_cash_opex_usd_per_day) * per
    all_in = cash + (depreciation_usd_per_day + overhead_usd_per_day + interest_usd_per_day) * per
    return CostBreakdown(
        btc_per_day,
        electricity_usd_per_day * per,
        other_cash_opex_usd_per_day * per,
        cash,
        depreciation_usd_per_day * per,
        overhead_usd_per_day * per,
        interest_usd_per_day * per,
        all_in,
    )
