"""Cost of producing one bitcoin: electricity ("cash") cost, all-in cost, Hayes' model.

References
----------
.. [1] Hayes, A. S. (2017). Cryptocurrency value formation: an empirical study leading to a
   cost of production model for valuing bitcoin. Telematics and Informatics 34(7), 1308-1321.
.. [2] Listed miners' quarterly reports: "cash cost" per BTC (direct costs, mostly power) and
   "all-in" cost adding depreciation, overheads and financing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from hashlens.economics.hashprice import expected_btc_per_day
from hashlens.errors import HashlensError

if TYPE_CHECKING:
    from hashlens.economics.daily import DayHashprice


def electricity_cost_per_btc(
    power_price_usd_per_kwh: ArrayLike, efficiency_j_per_th: ArrayLike, difficulty: ArrayLike, reward_btc: ArrayLike
) -> Any:
    """Electricity cost of mining one BTC [USD/BTC].

    .. math:: c = \\frac{p \\cdot \\varepsilon \\cdot D \\cdot 2^{32}}{3.6\\cdot10^{18} (s + f)}

    D·2^32 hashes per block at ε J/TH is ε·D·2^32/10^12 J; 3.6·10^6 J per kWh; reward s + f
    BTC per block. Parameters: p [USD/kWh], ε [J/TH], D [-], s + f [BTC/block].

    Computed as the day's power bill of 1 TH/s (a machine of ε W:
    :func:`hashlens.economics.fleet.machine_daily_cost`, no PUE or fees) over its expected BTC a
    day (:func:`hashlens.economics.hashprice.expected_btc_per_day`), which is the formula above.
    """
    from hashlens.economics.fleet import Operating, machine_daily_cost

    usd_per_th_day = machine_daily_cost(
        efficiency_j_per_th, Operating(power_price_usd_per_kwh=0.0, pool_fee=0.0), power_price_usd_per_kwh
    )
    btc_per_th_day = np.asarray(expected_btc_per_day(1.0, difficulty, reward_btc))
    out = np.asarray(usd_per_th_day.power_usd) / btc_per_th_day
    return float(out) if out.ndim == 0 else out


def hayes_cost_of_production(
    power_price_usd_per_kwh: ArrayLike, efficiency_j_per_gh: ArrayLike, difficulty: ArrayLike, subsidy_btc: ArrayLike
) -> Any:
    """Hayes' marginal cost of production [USD/BTC] [1]_: daily energy cost of 1 GH/s,
    E = p·24·ε_GH/1000, over its expected daily coins, θ = 86400·10^9·s/(D·2^32).
    The subsidy only (Hayes' β), efficiency in J/GH as in the paper."""
    # 1 GH/s at ε J/GH is 1/1000 TH/s at 1000·ε J/TH: the same electricity cost per coin
    # with the subsidy alone as the reward.
    out = np.asarray(
        electricity_cost_per_btc(
            power_price_usd_per_kwh, 1000 * np.asarray(efficiency_j_per_gh, float), difficulty, subsidy_btc
        )
    )
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


DEFAULT_EFFICIENCIES_J_PER_TH = (15.0, 17.5, 21.5, 29.5, 38.0)


def cost_per_btc_table(
    rows: Sequence[DayHashprice],
    efficiencies_j_per_th: Sequence[float] = DEFAULT_EFFICIENCIES_J_PER_TH,
    power_price_usd_per_kwh: float = 0.05,
    opex_usd_per_ph_day: float = 0.0,
    depreciation_usd_per_ph_day: float = 0.0,
    overhead_usd_per_ph_day: float = 0.0,
    interest_usd_per_ph_day: float = 0.0,
) -> list[dict[str, Any]]:
    """Cost of mining one BTC on each day, for each machine efficiency: what ``hashlens cost``
    prints and ``GET /v1/cost`` returns.

    For a day with difficulty D, subsidy s and mean fees f per block, and an efficiency ε:
    electricity per BTC by :func:`electricity_cost_per_btc` (reward s + f), cash and all-in
    cost by :func:`cost_breakdown_per_btc` for 1 PH/s (its expected BTC a day from
    :func:`hashlens.economics.hashprice.expected_btc_per_day`, the other costs per PH/s per
    day), and Hayes' cost by :func:`hayes_cost_of_production` (subsidy only, ε in J/GH).

    Parameters
    ----------
    rows : days from :func:`hashlens.economics.daily.hashprice_days` (``.date``,
        ``.difficulty``, ``.subsidy_btc``, ``.fees_btc``, ``.fee_source``, ``.price_usd``)
    efficiencies_j_per_th : ε [J/TH], each positive
    power_price_usd_per_kwh : p [USD/kWh], not negative
    opex_usd_per_ph_day, depreciation_usd_per_ph_day, overhead_usd_per_ph_day,
    interest_usd_per_ph_day : other costs of 1 PH/s [USD/day]

    Returns
    -------
    One dict per day: ``date``, ``difficulty`` [-], ``reward_btc`` [BTC/block],
    ``fee_source``, ``btc_price_usd`` [USD/BTC or None], ``power_price_usd_per_kwh``, and
    ``costs``: one dict per efficiency with ``efficiency_j_per_th`` and
    ``electricity_usd_per_btc``, ``cash_cost_usd_per_btc``, ``all_in_cost_usd_per_btc``,
    ``hayes_usd_per_btc`` [USD/BTC].
    """
    if power_price_usd_per_kwh < 0 or not np.isfinite(power_price_usd_per_kwh):
        raise HashlensError(f"power price must be a non-negative number (got {power_price_usd_per_kwh:g})")
    for e in efficiencies_j_per_th:
        if not (e > 0 and np.isfinite(e)):
            raise HashlensError(f"efficiency must be positive (got {e:g} J/TH)")
    out = []
    for r in rows:
        reward = r.subsidy_btc + r.fees_btc
        btc_day = float(expected_btc_per_day(1000.0, r.difficulty, reward))  # 1 PH/s
        costs = []
        for e in efficiencies_j_per_th:
            elec = float(electricity_cost_per_btc(power_price_usd_per_kwh, e, r.difficulty, reward))
            bd = cost_breakdown_per_btc(
                btc_day,
                elec * btc_day,
                opex_usd_per_ph_day,
                depreciation_usd_per_ph_day,
                overhead_usd_per_ph_day,
                interest_usd_per_ph_day,
            )
            costs.append(
                {
                    "efficiency_j_per_th": float(e),
                    "electricity_usd_per_btc": elec,
                    "cash_cost_usd_per_btc": bd.cash_cost_usd_per_btc,
                    "all_in_cost_usd_per_btc": bd.all_in_cost_usd_per_btc,
                    "hayes_usd_per_btc": float(
                        hayes_cost_of_production(power_price_usd_per_kwh, e / 1000, r.difficulty, r.subsidy_btc)
                    ),
                }
            )
        out.append(
            {
                "date": str(r.date),
                "difficulty": r.difficulty,
                "reward_btc": reward,
                "fee_source": r.fee_source,
                "btc_price_usd": r.price_usd,
                "power_price_usd_per_kwh": power_price_usd_per_kwh,
                "costs": costs,
            }
        )
    return out
