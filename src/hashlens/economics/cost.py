"""Cost of producing one bitcoin: electricity cost, cash cost, all-in cost, Hayes' model.

Three costs, never confused:

- **electricity** — the power a machine of ε J/TH burns per BTC at the network's difficulty and
  reward (:func:`electricity_cost_per_btc`); what a profitability calculator's breakeven is;
- **cash** — electricity plus the other cash costs of mining (site operations, hosting,
  staff): the listed miners' "cash cost" [2]_ [3]_;
- **all-in** — cash plus the depreciation of the fleet [2]_ [4]_ (and, if given, overheads and
  interest).

The non-power costs are per PH/s per day (:class:`CostTerms`), so their cost per BTC moves with
difficulty and reward as the power cost does: cost per BTC = cost per PH/s per day ÷ the BTC
1 PH/s mines per day (:func:`hashlens.economics.hashprice.expected_btc_per_day`). Their
defaults are derived from the companies' reported figures (``../shared/data/miners/
quarterly-results-2024-2026.csv``), each converted at the network's BTC per PH/s per day over
the company's own quarter (:mod:`hashlens.miners.results`):

========================  ======  ==============================================================
term                      USD/    derivation
                          PH/day
========================  ======  ==============================================================
other cash costs          11.4    MARA Q2 2025: cost of revenues excluding depreciation, 28.7 per
                                  PH/s per day, less its purchased energy, 33,735 per BTC ×
                                  0.000513 BTC per PH/s per day (the network, Q2 2025) = 17.3
depreciation              12.3    the mean of Cango Q2 2025 — all-in 98,636 less cash 83,091 per
                                  BTC = 15,545 per BTC × 0.000513 = 7.98 — and Canaan Q4 2025 —
                                  depreciation of mining machines 12.1 of mining revenue 30.4
                                  (USD m) × the network's hashprice over the quarter,
                                  41.98 USD/PH/day = 16.71
overheads, interest       0       not in the default (the results give neither SG&A nor interest
                                  per unit of hashrate); give them to count them
========================  ======  ==============================================================

CoinShares' quarterly mining report [2]_ computes the listed miners' weighted average cash cost
(cost of revenues, mostly electricity, plus SG&A net of non-cash items, per BTC) and adds
depreciation and stock-based compensation for the total; hashlens reproduces that structure
for a machine of the network at a stated efficiency and power price, with the defaults above
standing for the non-power costs.

References
----------
.. [1] Hayes, A. S. (2017). Cryptocurrency value formation: an empirical study leading to a
   cost of production model for valuing bitcoin. Telematics and Informatics 34(7), 1308-1321.
.. [2] CoinShares Research (Butterfill, J., Shannon, M.), Bitcoin Mining Report, quarterly
   (e.g. Q3 2024 earnings update: weighted average cash cost ~US$55,950 per BTC; with
   depreciation and stock-based compensation ~US$106,000).
.. [3] TheMinerMag, cost of bitcoin production: cost of revenue of the mining segment excluding
   depreciation, per BTC mined; all-in cost adds corporate overhead (SG&A net of share-based
   pay) and interest.
.. [4] Galaxy Digital Research (2021), "How Much Does It Cost To Mine A Bitcoin?": direct costs
   (power, hosting), then indirect costs, then depreciation on a set schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Self

import numpy as np
from numpy.typing import ArrayLike
from pydantic import Field, model_validator

from hashlens.contracts import Day, Request, Result, as_of_field
from hashlens.economics.hashprice import expected_btc_per_day
from hashlens.economics.models import BtcPrice, check_start
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
    day.

    .. math:: c_{cash} = \\frac{E + O}{b}, \\qquad c_{all-in} = c_{cash} + \\frac{\\delta + G + I}{b}

    with b the BTC produced a day, E electricity, O other cash operating costs, δ depreciation,
    G overheads (SG&A) and I interest, each [USD/day]."""
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

#: Other cash costs of mining per PH/s per day [USD/PH/day]: see the module's table.
OTHER_CASH_USD_PER_PH_DAY = 11.4
#: Depreciation of the fleet per PH/s per day [USD/PH/day]: see the module's table.
DEPRECIATION_USD_PER_PH_DAY = 12.3

#: What the default all-in terms stand for, in one line (faces print it beside the figures).
ALL_IN_METHOD = (
    "all-in = electricity + other cash costs + depreciation, per PH/s per day over the BTC 1 PH/s mines that day; "
    f"defaults ${OTHER_CASH_USD_PER_PH_DAY:g} other cash costs (MARA Q2 2025: cost per PH/s per day less its "
    f"purchased energy) and ${DEPRECIATION_USD_PER_PH_DAY:g} depreciation (mean of Cango Q2 2025 and Canaan Q4 2025) "
    "per PH/s per day; the structure of CoinShares' quarterly mining report (cash cost, then depreciation)"
)


class CostTerms(Request):
    """The costs of mining one BTC that are not read from the chain: the machine (efficiency),
    the power price and the non-power costs per PH/s per day (the one contract ``hashlens
    cost``, ``GET /v1/cost`` and the weekly figures share)."""

    power_price_usd_per_kwh: float = Field(0.05, ge=0, le=10, description="Power price [USD/kWh].")
    efficiencies_j_per_th: list[Annotated[float, Field(gt=0, le=100_000)]] = Field(
        default_factory=lambda: list(DEFAULT_EFFICIENCIES_J_PER_TH),
        min_length=1,
        max_length=20,
        description="Machine efficiencies to cost [J/TH], each positive.",
    )
    other_cash_usd_per_ph_day: float = Field(
        OTHER_CASH_USD_PER_PH_DAY, ge=0, le=1e6, description="Other cash costs of mining [USD per PH/s per day]."
    )
    depreciation_usd_per_ph_day: float = Field(
        DEPRECIATION_USD_PER_PH_DAY, ge=0, le=1e6, description="Depreciation of the fleet [USD per PH/s per day]."
    )
    overhead_usd_per_ph_day: float = Field(0.0, ge=0, le=1e6, description="Overheads (SG&A) [USD per PH/s per day].")
    interest_usd_per_ph_day: float = Field(0.0, ge=0, le=1e6, description="Interest [USD per PH/s per day].")

    def method(self) -> str:
        """What the all-in cost adds to electricity with these terms, in one line."""
        default = (self.other_cash_usd_per_ph_day, self.depreciation_usd_per_ph_day) == (
            OTHER_CASH_USD_PER_PH_DAY,
            DEPRECIATION_USD_PER_PH_DAY,
        ) and not (self.overhead_usd_per_ph_day or self.interest_usd_per_ph_day)
        if default:
            return ALL_IN_METHOD
        extra = "".join(
            f" + ${v:g} {name}"
            for name, v in (("overheads", self.overhead_usd_per_ph_day), ("interest", self.interest_usd_per_ph_day))
            if v
        )
        return (
            f"all-in = electricity + ${self.other_cash_usd_per_ph_day:g} other cash costs + "
            f"${self.depreciation_usd_per_ph_day:g} depreciation{extra} per PH/s per day (given), over the BTC "
            "1 PH/s mines that day"
        )


class CostDayRequest(CostTerms):
    """A day's cost to mine one BTC (``GET /v1/cost``): the terms, the day, and a BTC price to
    set the costs beside."""

    as_of: Day | None = as_of_field("UTC day (default: the report's day, the latest day with data).")
    btc_price_usd: BtcPrice | None = Field(
        None, description="BTC price [USD] to set the costs beside, instead of the day's stored one."
    )

    def terms(self) -> CostTerms:
        """The request's terms alone."""
        return CostTerms.model_validate(self.model_dump(include=set(CostTerms.model_fields)))


class CostRequest(CostDayRequest):
    """The same on the first of each month from ``start`` to ``as_of`` (``hashlens cost
    --start``; the API answers one day)."""

    start: Day | None = Field(None, description="A monthly series from this day to ``as_of``.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        check_start(self.start, self.as_of)
        return self


class CostRow(Result):
    """One machine's costs per BTC on a day [USD/BTC], and whether the day's price is above them."""

    efficiency_j_per_th: float
    electricity_usd_per_btc: float
    other_cash_usd_per_btc: float
    cash_cost_usd_per_btc: float
    depreciation_usd_per_btc: float
    all_in_cost_usd_per_btc: float
    hayes_usd_per_btc: float
    price_above_electricity: bool | None
    price_above_all_in: bool | None


class CostTermsUsed(Result):
    """The non-power costs a day's all-in cost added [USD per PH/s per day], and what they are."""

    other_cash_usd_per_ph_day: float
    depreciation_usd_per_ph_day: float
    overhead_usd_per_ph_day: float
    interest_usd_per_ph_day: float
    method: str


class CostDay(Result):
    """One day of :func:`cost_per_btc_table` (what ``hashlens cost --json`` prints)."""

    date: str
    difficulty: float
    reward_btc: float  # subsidy + mean fees [BTC/block]
    fee_source: str
    btc_price_usd: float | None
    power_price_usd_per_kwh: float
    btc_per_ph_day: float
    terms: CostTermsUsed
    costs: list[CostRow]


def cost_per_btc_table(
    rows: Sequence[DayHashprice],
    efficiencies_j_per_th: Sequence[float] = DEFAULT_EFFICIENCIES_J_PER_TH,
    power_price_usd_per_kwh: float = 0.05,
    opex_usd_per_ph_day: float | None = None,
    depreciation_usd_per_ph_day: float | None = None,
    overhead_usd_per_ph_day: float = 0.0,
    interest_usd_per_ph_day: float = 0.0,
    terms: CostTerms | None = None,
) -> list[dict[str, Any]]:
    """Cost of mining one BTC on each day, for each machine efficiency: what ``hashlens cost``
    prints and ``GET /v1/cost`` returns.

    For a day with difficulty D, subsidy s and mean fees f per block, and an efficiency ε:
    electricity per BTC by :func:`electricity_cost_per_btc` (reward s + f); cash and all-in
    cost by :func:`cost_breakdown_per_btc` for 1 PH/s (its expected BTC a day from
    :func:`hashlens.economics.hashprice.expected_btc_per_day`, the other costs per PH/s per
    day); Hayes' cost by :func:`hayes_cost_of_production` (subsidy only, ε in J/GH). With the
    day's price, whether the price is above each cost.

    Parameters
    ----------
    rows : days from :func:`hashlens.economics.daily.hashprice_days` (``.date``,
        ``.difficulty``, ``.subsidy_btc``, ``.fees_btc``, ``.fee_source``, ``.price_usd``)
    efficiencies_j_per_th : ε [J/TH], each positive
    power_price_usd_per_kwh : p [USD/kWh], not negative
    opex_usd_per_ph_day, depreciation_usd_per_ph_day : other cash costs and depreciation of
        1 PH/s [USD/day]; None: the defaults derived from the companies' results (module table)
    overhead_usd_per_ph_day, interest_usd_per_ph_day : overheads and interest of 1 PH/s [USD/day]
    terms : all of the above as one :class:`CostTerms` (replaces them)

    Returns
    -------
    One dict per day: ``date``, ``difficulty`` [-], ``reward_btc`` [BTC/block],
    ``fee_source``, ``btc_price_usd`` [USD/BTC or None], ``power_price_usd_per_kwh``,
    ``terms`` (the non-power costs [USD/PH/day] and ``method``, what all-in adds), and
    ``costs``: one dict per efficiency with ``efficiency_j_per_th`` and
    ``electricity_usd_per_btc``, ``other_cash_usd_per_btc``, ``cash_cost_usd_per_btc``,
    ``depreciation_usd_per_btc``, ``all_in_cost_usd_per_btc``, ``hayes_usd_per_btc``
    [USD/BTC], ``price_above_electricity`` and ``price_above_all_in`` (None without a price).
    """
    if terms is None:
        if power_price_usd_per_kwh < 0 or not np.isfinite(power_price_usd_per_kwh):
            raise HashlensError(f"power price must be a non-negative number (got {power_price_usd_per_kwh:g})")
        for e in efficiencies_j_per_th:
            if not (e > 0 and np.isfinite(e)):
                raise HashlensError(f"efficiency must be positive (got {e:g} J/TH)")
        terms = CostTerms.build(
            power_price_usd_per_kwh=power_price_usd_per_kwh,
            efficiencies_j_per_th=list(efficiencies_j_per_th),
            other_cash_usd_per_ph_day=opex_usd_per_ph_day,
            depreciation_usd_per_ph_day=depreciation_usd_per_ph_day,
            overhead_usd_per_ph_day=overhead_usd_per_ph_day,
            interest_usd_per_ph_day=interest_usd_per_ph_day,
        )
    p = terms.power_price_usd_per_kwh
    out = []
    for r in rows:
        reward = r.subsidy_btc + r.fees_btc
        btc_day = float(expected_btc_per_day(1000.0, r.difficulty, reward))  # 1 PH/s
        costs = []
        for e in terms.efficiencies_j_per_th:
            elec = float(electricity_cost_per_btc(p, e, r.difficulty, reward))
            bd = cost_breakdown_per_btc(
                btc_day,
                elec * btc_day,
                terms.other_cash_usd_per_ph_day,
                terms.depreciation_usd_per_ph_day,
                terms.overhead_usd_per_ph_day,
                terms.interest_usd_per_ph_day,
            )
            price = r.price_usd
            costs.append(
                {
                    "efficiency_j_per_th": float(e),
                    "electricity_usd_per_btc": elec,
                    "other_cash_usd_per_btc": bd.other_cash_usd_per_btc,
                    "cash_cost_usd_per_btc": bd.cash_cost_usd_per_btc,
                    "depreciation_usd_per_btc": bd.depreciation_usd_per_btc,
                    "all_in_cost_usd_per_btc": bd.all_in_cost_usd_per_btc,
                    "hayes_usd_per_btc": float(hayes_cost_of_production(p, e / 1000, r.difficulty, r.subsidy_btc)),
                    "price_above_electricity": None if price is None else price > elec,
                    "price_above_all_in": None if price is None else price > bd.all_in_cost_usd_per_btc,
                }
            )
        out.append(
            {
                "date": str(r.date),
                "difficulty": r.difficulty,
                "reward_btc": reward,
                "fee_source": r.fee_source,
                "btc_price_usd": r.price_usd,
                "power_price_usd_per_kwh": p,
                "btc_per_ph_day": btc_day,
                "terms": {
                    "other_cash_usd_per_ph_day": terms.other_cash_usd_per_ph_day,
                    "depreciation_usd_per_ph_day": terms.depreciation_usd_per_ph_day,
                    "overhead_usd_per_ph_day": terms.overhead_usd_per_ph_day,
                    "interest_usd_per_ph_day": terms.interest_usd_per_ph_day,
                    "method": terms.method(),
                },
                "costs": costs,
            }
        )
    return out
