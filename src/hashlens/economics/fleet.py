"""Unit economics of one machine or a fleet, vectorised over machines (and days).

References
----------
.. [1] Braiins Insights, profitability calculator: revenue net of pool fee, power at the
   wall, breakeven power price and hashprice, ROI days.
.. [2] Luxor Hashrate Index, "breakeven hashprice": a machine of ε J/TH paying p $/kWh breaks
   even at 24·ε·p $/PH/day (before PUE and fees).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from pydantic import Field

from hashlens.contracts import Result, finite_or_none
from hashlens.economics.asics import Asic, find_model
from hashlens.economics.models import FleetRequest, Machine, Operating
from hashlens.errors import HashlensError, Refused
from hashlens.units import DAYS_PER_MONTH

if TYPE_CHECKING:
    from hashlens.economics.daily import DayHashprice

__all__ = [
    "DailyCost",
    "FleetGroup",
    "FleetMachine",
    "FleetResult",
    "FleetTotals",
    "MachineEconomics",
    "Operating",
    "breakeven_hashprice_usd_per_ph_day",
    "evaluate_fleet",
    "fleet_groups",
    "fleet_on_day",
    "fleet_over_days",
    "group_arrays",
    "load_fleet",
    "machine_daily_cost",
    "machines_that_pay",
    "read_fleet_file",
    "read_fleet_rows",
    "revenue_share",
    "share_under_water",
    "unit_economics",
]

HOURS_PER_DAY = 24


class DailyCost(NamedTuple):
    """One machine's running costs for one day (see :func:`machine_daily_cost`)."""

    energy_kwh: Any  # facility energy [kWh/day]
    power_usd: Any  # energy x power price [USD/day]
    hosting_per_kwh_usd: Any  # energy x per-kWh hosting fee [USD/day]
    hosting_fixed_usd: Any  # per-kW-month hosting, owed whether the machine runs or not [USD/day]
    total_usd: Any  # the sum [USD/day]


def machine_daily_cost(
    power_w: ArrayLike, op: Operating, power_price_usd_per_kwh: ArrayLike | None = None
) -> DailyCost:
    """What running a machine costs per day, every cost the operator pays.

    .. math::
        E = \\frac{W}{1000} \\cdot 24 \\, u \\cdot PUE \\qquad
        C = E \\, (p + h_{kWh}) + \\frac{W}{1000} PUE \\frac{h_{kW\\,month}}{30.44}

    Parameters
    ----------
    power_w : the machine's power at the wall W [W]
    op : uptime u, PUE, hosting fees h_kWh [USD/kWh] and h_kW-month [USD/kW/month]
    power_price_usd_per_kwh : p [USD/kWh]; default ``op.power_price_usd_per_kwh``

    Returns
    -------
    :class:`DailyCost` [kWh/day, USD/day]. Facility power is machine power × PUE, so PUE
    scales both the power bill and the power-based hosting fees [1]_.
    """
    w = np.asarray(power_w, float)
    p = np.asarray(op.power_price_usd_per_kwh if power_price_usd_per_kwh is None else power_price_usd_per_kwh, float)
    energy = w / 1000 * HOURS_PER_DAY * op.uptime * op.pue
    power = energy * p
    variable = energy * op.hosting_usd_per_kwh
    fixed = w / 1000 * op.pue * op.hosting_usd_per_kw_month / DAYS_PER_MONTH
    return DailyCost(energy, power, variable, fixed, power + variable + fixed)


def revenue_share(op: Operating) -> float:
    """Share of the gross expected revenue a machine keeps [0-1].

    .. math:: k = (1 - f_{pool})(1 - f_{stale})\\, u

    Parameters
    ----------
    op : pool fee f_pool, stale rate f_stale and uptime u, each [0-1]

    References
    ----------
    .. [1] Braiins Insights profitability calculator: revenue net of pool fee and downtime.
    """
    return (1 - op.pool_fee) * (1 - op.stale_rate) * op.uptime


def breakeven_hashprice_usd_per_ph_day(
    hashrate_ths: ArrayLike,
    power_w: ArrayLike,
    op: Operating,
    power_price_usd_per_kwh: ArrayLike | None = None,
) -> Any:
    """The hashprice at which a machine's revenue equals its full running cost [USD/PH/day].

    .. math:: HP^* = \\frac{C}{(H/1000)(1 - f_{pool})(1 - f_{stale})\\, u}

    with C the full daily cost of :func:`machine_daily_cost` (power × PUE, hosting per kWh and
    per kW-month). The one breakeven of hashlens: "under water", fleet shares, the CBECI
    threshold and the simulator's switch-off rule all use it. With no fees, PUE 1, full uptime
    and no hosting it is Luxor's rule of thumb 24·ε·p [2]_.

    Parameters
    ----------
    hashrate_ths : H [TH/s]
    power_w : W [W]; only the ratio ε = W/H matters, the per-kW-month fee scaling with W too
    op : pool fee, stale rate, uptime, PUE and hosting fees (:class:`Operating`)
    power_price_usd_per_kwh : p [USD/kWh]; default ``op.power_price_usd_per_kwh``

    Returns
    -------
    breakeven hashprice HP* [USD/PH/day]; infinite where the machine keeps no revenue.
    """
    cost = machine_daily_cost(power_w, op, power_price_usd_per_kwh).total_usd
    out = _breakeven(cost, np.asarray(hashrate_ths, float) / 1000 * revenue_share(op))
    return float(out) if out.ndim == 0 else out


def count_below(
    sorted_values: np.ndarray, x: np.ndarray, side: Literal["left", "right"] = "left", bins: int | None = None
) -> np.ndarray:
    """How many of ``sorted_values`` are below each x (``side="right"``: at or below):
    ``np.searchsorted(sorted_values, x, side)`` exactly, faster for many x over few values (a
    year of days and a million machines; a thousand fleet rows and millions of path-days).

    A grid of ``bins`` equal cells over [min, max] (default 64 per value, at least 16,384) is
    looked up first: where a cell and its two neighbours hold no value, every x computed to
    fall in it (off by one cell at most, from rounding) has the count at the cell's left edge,
    on either side; only the other x are searched. NaN in x takes the plain search.
    """
    n = sorted_values.size
    bins = bins or max(16384, 64 * n)
    lo, hi = (float(sorted_values[0]), float(sorted_values[-1])) if n else (0.0, 0.0)
    if x.size < 8 * bins or not (math.isfinite(lo) and math.isfinite(hi) and hi > lo) or np.isnan(x).any():
        return np.searchsorted(sorted_values, x, side=side)
    scale = bins / (hi - lo)
    cells = np.arange(-2, bins + 3)  # cell c covers [lo + c/scale, lo + (c+1)/scale)
    below = np.searchsorted(sorted_values, lo + cells / scale, side="left")
    empty = below[:-1] == below[1:]  # no value inside the cell
    # a cell and both neighbours empty (cells -1 … bins); cells -2 and bins+1 hold the x beyond
    # the values by a cell or more, with counts 0 and n
    safe = np.concatenate([[True], empty[:-2] & empty[1:-1] & empty[2:], [True]])
    count = below[:-1]  # the count at the left edge of cells -2 … bins+1
    cell = np.clip(np.floor((x - lo) * scale), -2, bins + 1).astype(np.int64) + 2
    out: np.ndarray = count[cell]
    unsure = ~safe[cell]
    out[unsure] = np.searchsorted(sorted_values, x[unsure], side=side)
    return out


def _breakeven(cost_usd: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """HP* = C / r from a daily cost C [USD/day] and the revenue rate r = (H/1000)·k [PH/s kept];
    infinite where r is zero. :func:`breakeven_hashprice_usd_per_ph_day`'s arithmetic, kept
    apart so a caller holding C and r does not compute them twice."""
    out = np.full(np.broadcast_shapes(np.shape(cost_usd), np.shape(rate)), np.inf)
    np.divide(cost_usd, rate, out=out, where=np.asarray(rate) > 0)
    return out


def unit_economics(
    hashrate_ths: ArrayLike,
    power_w: ArrayLike,
    hashprice_usd_per_ph_day: ArrayLike,
    btc_price_usd: ArrayLike,
    op: Operating,
    power_price_usd_per_kwh: ArrayLike | None = None,
    machine_price_usd: ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """Per machine per day, broadcasting machines against days.

    .. math::
        R = \\frac{H}{1000} HP (1 - f_{pool})(1 - f_{stale}) u \\qquad \\pi = R - C

    with C from :func:`machine_daily_cost`. Returns revenue, energy, power and hosting cost,
    profit, margin, breakeven power price (the $/kWh at which profit is zero), breakeven
    hashprice (:func:`breakeven_hashprice_usd_per_ph_day`), the BTC price at which the machine
    should switch off (revenue below the costs it saves by stopping: power and per-kWh
    hosting; per-kW-month hosting is owed either way), and static payback days [1]_.
    Units: [USD/day], [kWh/day], [USD/kWh], [USD/PH/day], [USD/BTC], [days].
    """
    h = np.asarray(hashrate_ths, float)
    hp = np.asarray(hashprice_usd_per_ph_day, float)
    price = np.asarray(btc_price_usd, float)
    c = machine_daily_cost(power_w, op, power_price_usd_per_kwh)
    revenue = h / 1000 * hp * revenue_share(op)
    profit = revenue - c.total_usd
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(revenue > 0, profit / revenue, np.nan)
        breakeven_power = (revenue - c.hosting_fixed_usd) / c.energy_kwh - op.hosting_usd_per_kwh
        revenue_btc = revenue / price
        shutdown_price = (c.power_usd + c.hosting_per_kwh_usd) / revenue_btc
        payback = (
            np.where(profit > 0, np.asarray(machine_price_usd, float) / profit, np.inf)
            if machine_price_usd is not None
            else np.full(np.shape(profit), np.nan)
        )
    return {
        "revenue_usd_per_day": revenue,
        "revenue_btc_per_day": revenue_btc,
        "energy_kwh_per_day": c.energy_kwh,
        "power_cost_usd_per_day": c.power_usd,
        "hosting_usd_per_day": c.hosting_per_kwh_usd + c.hosting_fixed_usd,
        "profit_usd_per_day": profit,
        "margin": margin,
        "breakeven_power_price_usd_per_kwh": breakeven_power,
        "breakeven_hashprice_usd_per_ph_day": np.broadcast_to(
            breakeven_hashprice_usd_per_ph_day(h, power_w, op, power_price_usd_per_kwh), np.shape(profit)
        ),
        "shutdown_btc_price_usd": shutdown_price,
        "payback_days": payback,
    }


def share_under_water(
    hashrate_ths: ArrayLike,
    power_w: ArrayLike,
    hashprice_usd_per_ph_day: float,
    op: Operating,
    power_price_usd_per_kwh: ArrayLike | None = None,
) -> float:
    """Share of the fleet's hashrate whose full running cost exceeds its revenue at this
    hashprice (the listed miners' "at a hashprice of $X, N % of our fleet is in the red") [0-1].

    A machine is under water when ``hashprice_usd_per_ph_day`` is below its
    :func:`breakeven_hashprice_usd_per_ph_day`. ``hashrate_ths`` and ``power_w`` weigh each
    entry: one machine's, or a whole group's total (the breakeven depends on their ratio).
    """
    # One day of :func:`fleet_over_days`, the one owner of "hashrate under water" over any days.
    h = np.atleast_1d(np.asarray(hashrate_ths, float))
    days = fleet_over_days(
        h,
        np.atleast_1d(np.asarray(power_w, float)),
        None if power_price_usd_per_kwh is None else np.atleast_1d(np.asarray(power_price_usd_per_kwh, float)),
        np.array([hashprice_usd_per_ph_day], float),
        op,
    )
    return float(days["share_hashrate_under_water"][0])


class MachineEconomics(Result):
    """One catalogue model's economics on a day (:func:`machines_that_pay`); null where a value
    does not exist (no revenue)."""

    model: str
    released: str = Field(..., description="Release month, YYYY-MM.")
    efficiency_j_per_th: float = Field(..., description="[J/TH]")
    margin: float | None = Field(..., description="Profit / revenue [-].")
    profit_usd_per_th_day: float = Field(..., description="[USD per TH/s per day]")
    breakeven_hashprice_usd_per_ph_day: float | None = Field(..., description="[USD/PH/day]")
    shutdown_btc_price_usd: float | None = Field(..., description="BTC price below which it should stop [USD].")
    pays: bool = Field(..., description="Profit above zero.")


def machines_that_pay(
    catalogue: list[Asic],
    day: date,
    hashprice_usd_per_ph_day: float,
    btc_price_usd: float,
    op: Operating,
    max_age_days: int = 6 * 365,
) -> list[MachineEconomics]:
    """Unit economics of every catalogue model released in the ``max_age_days`` before
    ``day`` (the generations still in the field), most efficient first: J/TH, margin [0-1],
    breakeven hashprice [USD/PH/day] and switch-off BTC price [USD] by :func:`unit_economics`."""
    models = [a for a in catalogue if a.release_date <= day and (day - a.release_date).days < max_age_days]
    models.sort(key=lambda a: a.efficiency_j_per_th)
    if not models:
        return []
    ue = unit_economics(
        np.array([a.hashrate_ths for a in models]),
        np.array([a.power_w for a in models]),
        hashprice_usd_per_ph_day,
        btc_price_usd,
        op,
    )
    return [
        MachineEconomics(
            model=a.name,
            released=a.release_date.strftime("%Y-%m"),
            efficiency_j_per_th=a.efficiency_j_per_th,
            margin=finite_or_none(ue["margin"][i]),
            profit_usd_per_th_day=float(ue["profit_usd_per_day"][i] / a.hashrate_ths),
            breakeven_hashprice_usd_per_ph_day=finite_or_none(ue["breakeven_hashprice_usd_per_ph_day"][i]),
            shutdown_btc_price_usd=finite_or_none(ue["shutdown_btc_price_usd"][i]),
            pays=bool(ue["profit_usd_per_day"][i] > 0),
        )
        for i, a in enumerate(models)
    ]


# -- fleet files --------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetGroup:
    """One line of a fleet: ``count`` identical machines.

    Attributes
    ----------
    label : catalogue name, the row's ``label``, or "row N"
    count : machines [-]
    hashrate_ths : per machine [TH/s]
    power_w : per machine, at the wall [W]
    power_price_usd_per_kwh : this group's power price [USD/kWh]; None: the fleet's
    machine_price_usd : price of one machine [USD], for payback; None: unknown
    """

    label: str
    count: int
    hashrate_ths: float  # per machine
    power_w: float  # per machine
    power_price_usd_per_kwh: float | None
    machine_price_usd: float | None

    @property
    def efficiency_j_per_th(self) -> float:
        """power_w / hashrate_ths [J/TH]."""
        return self.power_w / self.hashrate_ths


#: The fields of a fleet row (files and ``POST /v1/fleet``); any other is refused by name.
FLEET_FIELDS = (
    "model",
    "label",
    "count",
    "hashrate_ths",
    "power_w",
    "efficiency_j_per_th",
    "power_price_usd_per_kwh",
    "machine_price_usd",
)


def _records(path: Path) -> list[dict[str, Any]]:
    """A fleet file's rows through the one reader (:mod:`hashlens.sources.reader`)."""
    from hashlens.sources.reader import check_keys, read_csv, read_tree

    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        return [dict(r) for r in read_csv(path, FLEET_FIELDS, "fleet file")]
    data = read_tree(path, "fleet file")
    rows = data.get("machines", data.get("fleet")) if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise HashlensError(f"{path}: expected a list of machines (or a 'machines:' list)")
    for i, r in enumerate(rows, start=1):
        check_keys(r, FLEET_FIELDS, f"{path}: row {i}")
    return rows


def _machine(raw: Any, at: str) -> Machine:
    """One fleet record as a :class:`~hashlens.economics.models.Machine` (its bounds, its
    words), named by ``at``: keys matched case-insensitively, empty values count as missing."""
    if isinstance(raw, Machine):
        return raw
    if not isinstance(raw, dict):
        raise HashlensError(f"{at}: expected a mapping of field names to values")
    rec = {
        str(k).strip().lower(): v
        for k, v in raw.items()
        if k is not None and v is not None and not (isinstance(v, str) and not v.strip())
    }
    try:
        return Machine.parse(rec)
    except Refused as exc:
        raise Refused(f"{at}: {exc}", exc.errors) from None


def read_fleet_rows(records: Sequence[Any], where: str = "fleet") -> list[Machine]:
    """Fleet records (rows of a CSV or YAML file, items of a JSON list) as
    :class:`~hashlens.economics.models.Machine` rows, each held to the model's bounds; a bad
    row is refused naming "<where>: row N" (N from 1) and the field. How many rows a fleet may
    have is :class:`~hashlens.economics.models.FleetRequest`'s bound."""
    return [_machine(raw, f"{where}: row {i}") for i, raw in enumerate(records, start=1)]


def fleet_groups(records: Sequence[Any], catalogue: list[Asic], where: str = "fleet") -> list[FleetGroup]:
    """Validate a list of machine records into fleet groups: the one reader of fleets, for
    files (:func:`load_fleet`), ``POST /v1/fleet`` and the fleet outlook.

    Each record (a mapping, or a :class:`~hashlens.economics.models.Machine`) gives either a
    catalogue ``model`` (its rated TH/s and W, which ``hashrate_ths`` and ``power_w`` may
    override) or ``hashrate_ths`` [TH/s] with ``efficiency_j_per_th`` [J/TH] or ``power_w`` [W];
    and ``count`` [-]. Optional: ``power_price_usd_per_kwh`` [USD/kWh], ``machine_price_usd``
    [USD], ``label``. Fields and bounds are those of ``Machine`` (unknown fields refused); keys
    are matched case-insensitively and empty values count as missing. An efficiency given
    beside a power must agree with power / hashrate within 3 %.

    Parameters
    ----------
    records : one record per group, as read from a CSV/YAML file or a JSON body
    catalogue : the ASIC catalogue (:func:`hashlens.economics.asics.load_catalogue`)
    where : the source's name; rows are named "<where>: row N", N counting from 1

    Returns
    -------
    list of :class:`FleetGroup`, in the order given.

    Raises
    ------
    HashlensError
        naming the row and the field, for the first bad record; or for an empty list.
    """
    if not records:
        raise HashlensError(f"{where}: no machines")
    out = []
    for i, m in enumerate(read_fleet_rows(records, where), start=1):
        at = f"{where}: row {i}"
        ths, w, eff = m.hashrate_ths, m.power_w, m.efficiency_j_per_th
        if m.model is not None:
            a = find_model(catalogue, m.model, f"{at}: ")
            ths, w, label = ths or a.hashrate_ths, w or a.power_w, a.name
        else:
            assert ths is not None  # the model's own rule: a model, or hashrate with power or efficiency
            label = m.label or f"row {i}"
            w = w if w is not None else ths * float(eff or 0)
        if not (w > 0 and math.isfinite(w / ths) and w / ths > 0):
            raise HashlensError(f"{at}: {ths:g} TH/s at {w:g} W gives no usable efficiency (J/TH); check the units")
        if eff is not None and abs(eff - w / ths) / (w / ths) > 0.03:
            raise HashlensError(
                f"{at}: efficiency_j_per_th {eff:g} is inconsistent with {w:g} W / {ths:g} TH/s = {w / ths:.1f} J/TH"
            )
        out.append(FleetGroup(label, m.count, ths, w, m.power_price_usd_per_kwh, m.machine_price_usd))
    return out


def read_fleet_file(path: str | Path) -> list[Machine]:
    """A fleet file (CSV or YAML, a list or a ``machines:`` list) as
    :class:`~hashlens.economics.models.Machine` rows (:func:`read_fleet_rows`); errors name the
    file, the row (counting from 1) and the field."""
    p = Path(path)
    return read_fleet_rows(_records(p), str(p))


def load_fleet(path: str | Path, catalogue: list[Asic]) -> list[FleetGroup]:
    """A fleet file (CSV or YAML, a list or a ``machines:`` list) read by :func:`fleet_groups`;
    errors name the file, the row (counting from 1) and the field."""
    return fleet_groups(read_fleet_file(path), catalogue, str(path))


class FleetMachine(Result):
    """One group's unit economics per machine (null where not finite, e.g. no payback)."""

    label: str
    count: int
    hashrate_ths: float = Field(..., description="Per machine [TH/s].")
    power_w: float = Field(..., description="Per machine, at the wall [W].")
    efficiency_j_per_th: float = Field(..., description="[J/TH]")
    power_price_usd_per_kwh: float = Field(..., description="The group's power price [USD/kWh].")
    revenue_usd_per_day: float | None
    revenue_btc_per_day: float | None
    energy_kwh_per_day: float | None
    power_cost_usd_per_day: float | None
    hosting_usd_per_day: float | None
    profit_usd_per_day: float | None
    margin: float | None = Field(..., description="Profit / revenue [-].")
    breakeven_power_price_usd_per_kwh: float | None
    breakeven_hashprice_usd_per_ph_day: float | None
    shutdown_btc_price_usd: float | None = Field(..., description="BTC price below which it should stop [USD].")
    payback_days: float | None = Field(..., description="Machine price / daily profit [days]; null if unknown.")


class FleetTotals(Result):
    """The whole fleet per day."""

    revenue_usd_per_day: float
    power_cost_usd_per_day: float
    hosting_usd_per_day: float
    profit_usd_per_day: float
    revenue_btc_per_day: float
    hashrate_phs: float = Field(..., description="[PH/s]")
    power_mw: float = Field(..., description="At the wall [MW].")
    margin: float | None = Field(..., description="Profit / revenue [-]; null with no revenue.")


class FleetResult(Result):
    """A fleet's unit economics at a hashprice and a BTC price (``hashlens fleet``, ``POST
    /v1/fleet``)."""

    date: str | None = Field(None, description="The UTC day the hashprice and price are taken at.")
    hashprice_usd_per_ph_day: float = Field(..., description="[USD/PH/day]")
    btc_price_usd: float = Field(..., description="[USD/BTC]")
    operating: Operating
    machines: list[FleetMachine]
    fleet: FleetTotals
    share_of_hashrate_under_water: float = Field(..., description="Share of hashrate losing money [0-1].")


def fleet_on_day(request: FleetRequest, day: DayHashprice, catalogue: list[Asic]) -> FleetResult:
    """:func:`evaluate_fleet` of a request's machines and terms at a day's hashprice and BTC
    price, or at the ones it gives.

    Parameters
    ----------
    request : the fleet, its operating terms, and optionally ``btc_price_usd`` [USD/BTC] (default
        the day's stored price) and ``hashprice_usd_per_ph_day`` [USD/PH/day] (default the day's
        hashprice at that price)
    day : the day's row from :func:`hashlens.economics.daily.hashprice_days`
    catalogue : the ASIC catalogue the rows' models are looked up in

    Returns
    -------
    :class:`FleetResult`, what ``hashlens fleet`` and ``POST /v1/fleet`` return.
    """
    price = request.btc_price_usd or day.price_usd
    hp = request.hashprice_usd_per_ph_day or day.usd_per_ph_day
    if price is None or hp is None:
        raise HashlensError(f"no USD price stored for {day.date}: give the BTC price")
    groups = fleet_groups(request.machines, catalogue, "machines")
    return evaluate_fleet(groups, request.operating(), hp, price).model_copy(update={"date": str(day.date)})


def fleet_over_days(
    hashrate_ths: np.ndarray,
    power_w: np.ndarray,
    power_price_usd_per_kwh: np.ndarray | None,
    hashprice_usd_per_ph_day: np.ndarray,
    op: Operating,
) -> dict[str, np.ndarray]:
    r"""Every machine on every day of a hashprice series, without forming the machine × day
    matrix: a machine's daily profit is linear in the day's hashprice,

    .. math:: \pi_{i,d} = r_i \, HP_d - c_i, \qquad r_i = \frac{H_i}{1000}(1-f_{pool})(1-f_{stale})u

    so its total is r_i ΣHP - D c_i, and it is under water on the u_i days with
    HP_d < c_i / r_i (the breakeven, :func:`breakeven_hashprice_usd_per_ph_day`), counted by
    binary search in the sorted series. Day d is under water for machine i exactly when
    u_i > ρ_d, ρ_d the number of days with a lower hashprice; so the hashrate under water on
    day d is the sum of H_i over u_i > ρ_d: one ``bincount`` of H by u and a suffix sum, no
    sort over machines.

    ``power_price_usd_per_kwh`` [USD/kWh] per machine, or None for the operating terms' price.
    Returns per machine: ``profit_usd`` [USD over the series], ``days_under_water``; per day:
    ``fleet_profit_usd`` [USD/day], ``share_hashrate_under_water`` [0-1]. O(n log d + d log d).
    """
    hp = np.asarray(hashprice_usd_per_ph_day, float)
    h = np.asarray(hashrate_ths, float)
    rate = h / 1000 * revenue_share(op)  # USD per day per (USD/PH/day) of hashprice
    cost = machine_daily_cost(power_w, op, power_price_usd_per_kwh).total_usd
    threshold = _breakeven(cost, rate)
    hp_sorted = np.sort(hp)
    under = count_below(hp_sorted, threshold)  # days with HP < threshold
    by_under = np.bincount(under, weights=h, minlength=hp.size + 1)  # hashrate by days under water
    above = np.cumsum(by_under[::-1])[::-1]  # above[k]: hashrate of machines with u_i >= k
    rank = np.searchsorted(hp_sorted, hp, side="left")  # ρ_d
    total_h = above[0]
    return {
        "profit_usd": rate * hp.sum() - len(hp) * cost,
        "days_under_water": under.astype(np.int64),
        "fleet_profit_usd": hp * rate.sum() - cost.sum(),
        "share_hashrate_under_water": above[rank + 1] / total_h if total_h > 0 else np.zeros_like(hp),
    }


def group_arrays(groups: Sequence[FleetGroup], op: Operating) -> tuple[np.ndarray, ...]:
    """Per-group hashrate [TH/s], power [W], count [-] and power price [USD/kWh] (the group's
    own, else the operating one) as arrays, in the groups' order."""
    h = np.array([g.hashrate_ths for g in groups])
    w = np.array([g.power_w for g in groups])
    n = np.array([g.count for g in groups], dtype=float)
    pp = np.array(
        [
            g.power_price_usd_per_kwh if g.power_price_usd_per_kwh is not None else op.power_price_usd_per_kwh
            for g in groups
        ]
    )
    return h, w, n, pp


def evaluate_fleet(
    groups: list[FleetGroup], op: Operating, hashprice_usd_per_ph_day: float, btc_price_usd: float
) -> FleetResult:
    """Per-group unit economics, fleet totals and the share of hashrate under water (what the
    CLI prints and the API returns)."""
    h, w, n, pp = group_arrays(groups, op)
    mp = np.array([g.machine_price_usd if g.machine_price_usd is not None else np.nan for g in groups])
    ue = unit_economics(h, w, hashprice_usd_per_ph_day, btc_price_usd, op, pp, mp)
    per_group = [
        FleetMachine(
            label=g.label,
            count=g.count,
            hashrate_ths=g.hashrate_ths,
            power_w=g.power_w,
            efficiency_j_per_th=g.efficiency_j_per_th,
            power_price_usd_per_kwh=float(pp[i]),
            **{k: finite_or_none(v[i]) for k, v in ue.items()},
        )
        for i, g in enumerate(groups)
    ]
    sums = {
        k: float((ue[k] * n).sum())
        for k in (
            "revenue_usd_per_day",
            "power_cost_usd_per_day",
            "hosting_usd_per_day",
            "profit_usd_per_day",
            "revenue_btc_per_day",
        )
    }
    totals = FleetTotals(
        **sums,
        hashrate_phs=float((h * n).sum() / 1000),
        power_mw=float((w * n).sum() / 1e6),
        margin=sums["profit_usd_per_day"] / sums["revenue_usd_per_day"] if sums["revenue_usd_per_day"] else None,
    )
    return FleetResult(
        hashprice_usd_per_ph_day=hashprice_usd_per_ph_day,
        btc_price_usd=btc_price_usd,
        operating=op.operating(),
        machines=per_group,
        fleet=totals,
        share_of_hashrate_under_water=share_under_water(h * n, w * n, hashprice_usd_per_ph_day, op, pp),
    )
