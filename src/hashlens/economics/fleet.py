"""Unit economics of one machine or a fleet, vectorised over machines (and days).

References
----------
.. [1] Braiins Insights, profitability calculator: revenue net of pool fee, power at the
   wall, breakeven power price and hashprice, ROI days.
.. [2] Luxor Hashrate Index, "breakeven hashprice": a machine of ε J/TH paying p $/kWh breaks
   even at 24·ε·p $/PH/day (before PUE and fees).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hashlens.economics.asics import Asic, find_model
from hashlens.errors import HashlensError

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Operating:
    """How a fleet is run: fees, losses and facility costs (all per machine-day unless said)."""

    power_price_usd_per_kwh: float = 0.05
    pool_fee: float = 0.02  # share of revenue [0-1]
    stale_rate: float = 0.0  # share of work lost [0-1]
    uptime: float = 1.0  # share of the day running [0-1]
    pue: float = 1.0  # facility power / machine power [>=1]
    hosting_usd_per_kwh: float = 0.0
    hosting_usd_per_kw_month: float = 0.0

    def validate(self) -> None:
        for name in ("pool_fee", "stale_rate", "uptime"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise HashlensError(f"{name.replace('_', '-')} must be between 0 and 1 (got {v:g})")
        if self.pue < 1:
            raise HashlensError(f"pue must be at least 1 (got {self.pue:g})")
        for name in ("power_price_usd_per_kwh", "hosting_usd_per_kwh", "hosting_usd_per_kw_month"):
            if getattr(self, name) < 0:
                raise HashlensError(f"{name.replace('_', '-')} must not be negative")


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
        R = \\frac{H}{1000} HP (1 - f_{pool})(1 - f_{stale}) u \\qquad
        E = \\frac{W}{1000} \\cdot 24 u \\cdot PUE \\qquad
        C = E (p + h_{kWh}) + \\frac{W}{1000} PUE \\frac{h_{kW\\,month}}{30.44}

    Returns revenue, energy, power and hosting cost, profit, margin, breakeven power price
    (the $/kWh at which profit is zero), breakeven hashprice (the $/PH/day at which it is
    zero; 24·ε·p with PUE 1, no fees, full uptime [2]_), the BTC price at which the machine
    should switch off (revenue below the costs it saves by stopping: power and per-kWh
    hosting; per-kW-month hosting is owed either way), and static payback days.
    Units: [USD/day], [kWh/day], [USD/kWh], [USD/PH/day], [USD/BTC], [days].
    """
    op.validate()
    h = np.asarray(hashrate_ths, float)
    w = np.asarray(power_w, float)
    hp = np.asarray(hashprice_usd_per_ph_day, float)
    price = np.asarray(btc_price_usd, float)
    p_kwh = np.asarray(
        op.power_price_usd_per_kwh if power_price_usd_per_kwh is None else power_price_usd_per_kwh, float
    )
    yield_factor = (1 - op.pool_fee) * (1 - op.stale_rate) * op.uptime
    revenue = h / 1000 * hp * yield_factor
    energy_kwh = w / 1000 * 24 * op.uptime * op.pue
    power_cost = energy_kwh * p_kwh
    hosting_variable = energy_kwh * op.hosting_usd_per_kwh
    hosting_fixed = w / 1000 * op.pue * op.hosting_usd_per_kw_month / DAYS_PER_MONTH
    cost = power_cost + hosting_variable + hosting_fixed
    profit = revenue - cost
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(revenue > 0, profit / revenue, np.nan)
        breakeven_power = (revenue - hosting_fixed) / energy_kwh - op.hosting_usd_per_kwh
        breakeven_hp = cost / (h / 1000 * yield_factor)
        revenue_btc = revenue / price
        shutdown_price = (power_cost + hosting_variable) / revenue_btc
        payback = (
            np.where(profit > 0, np.asarray(machine_price_usd, float) / profit, np.inf)
            if machine_price_usd is not None
            else np.full(np.shape(profit), np.nan)
        )
    return {
        "revenue_usd_per_day": revenue,
        "revenue_btc_per_day": revenue_btc,
        "energy_kwh_per_day": energy_kwh,
        "power_cost_usd_per_day": power_cost,
        "hosting_usd_per_day": hosting_variable + hosting_fixed,
        "profit_usd_per_day": profit,
        "margin": margin,
        "breakeven_power_price_usd_per_kwh": breakeven_power,
        "breakeven_hashprice_usd_per_ph_day": breakeven_hp,
        "shutdown_btc_price_usd": shutdown_price,
        "payback_days": payback,
    }


def breakeven_hashprice_usd_per_ph_day(efficiency_j_per_th: ArrayLike, power_price_usd_per_kwh: ArrayLike) -> Any:
    """24·ε·p [USD/PH/day]: 1 PH/s at ε J/TH draws ε kW, i.e. 24·ε kWh a day [2]_."""
    out = 24 * np.asarray(efficiency_j_per_th, float) * np.asarray(power_price_usd_per_kwh, float)
    return float(out) if out.ndim == 0 else out


def share_under_water(
    hashrate_ths: ArrayLike,
    efficiency_j_per_th: ArrayLike,
    hashprice_usd_per_ph_day: float,
    power_price_usd_per_kwh: ArrayLike,
) -> float:
    """Share of the fleet's hashrate whose power cost exceeds its revenue at this hashprice
    (the listed miners' "at a hashprice of $X, N % of our fleet is in the red") [0-1].
    ``hashrate_ths`` weighs each entry: one machine's, or a whole group's total."""
    h = np.asarray(hashrate_ths, float)
    be = np.asarray(breakeven_hashprice_usd_per_ph_day(efficiency_j_per_th, power_price_usd_per_kwh))
    total = h.sum()
    return float(h[be > hashprice_usd_per_ph_day].sum() / total) if total > 0 else 0.0


# -- fleet files --------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetGroup:
    label: str
    count: int
    hashrate_ths: float  # per machine
    power_w: float  # per machine
    power_price_usd_per_kwh: float | None
    machine_price_usd: float | None

    @property
    def efficiency_j_per_th(self) -> float:
        return self.power_w / self.hashrate_ths


def _records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise HashlensError(f"{path}: not valid YAML: {exc}") from None
        rows = data.get("machines", data.get("fleet")) if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise HashlensError(f"{path}: expected a list of machines (or a 'machines:' list)")
        return rows
    import csv

    return [dict(r) for r in csv.DictReader(text.splitlines())]


def _opt_num(rec: dict[str, Any], key: str, where: str, positive: bool = True) -> float | None:
    v = rec.get(key)
    if v in (None, ""):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise HashlensError(f"{where}: {key} {v!r} is not a number") from None
    if (positive and x <= 0) or x < 0:
        raise HashlensError(f"{where}: {key} must be {'positive' if positive else 'non-negative'} (got {x:g})")
    return x


def load_fleet(path: str | Path, catalogue: list[Asic]) -> list[FleetGroup]:
    """A fleet file (CSV or YAML): rows of ``model, count`` from the catalogue, or
    ``hashrate_ths, efficiency_j_per_th`` (or ``power_w``), ``count``; optional
    ``power_price_usd_per_kwh`` and ``machine_price_usd``. Errors name the row and field."""
    p = Path(path)
    try:
        records = _records(p)
    except OSError as exc:
        raise HashlensError(f"{p}: {exc.strerror}") from None
    if not records:
        raise HashlensError(f"{p}: no machines")
    out = []
    for i, rec in enumerate(records, start=1):
        rec = {str(k).strip().lower(): v for k, v in rec.items() if k is not None}
        where = f"{p}: row {i}"
        count = _opt_num(rec, "count", where, positive=False)
        if count is None:
            raise HashlensError(f"{where}: count is required")
        if count != int(count):
            raise HashlensError(f"{where}: count must be a whole number (got {count:g})")
        ths = _opt_num(rec, "hashrate_ths", where)
        w = _opt_num(rec, "power_w", where)
        eff = _opt_num(rec, "efficiency_j_per_th", where)
        if rec.get("model"):
            a = find_model(catalogue, str(rec["model"]), f"{where}: ")
            ths, w, label = ths or a.hashrate_ths, w or a.power_w, a.name
        else:
            label = str(rec.get("label") or f"row {i}")
            if ths is None:
                raise HashlensError(f"{where}: give a model, or hashrate_ths with efficiency_j_per_th or power_w")
            if w is None and eff is None:
                raise HashlensError(f"{where}: give efficiency_j_per_th or power_w for {ths:g} TH/s")
            w = w if w is not None else ths * float(eff or 0)
        assert ths is not None and w is not None
        if eff is not None and abs(eff - w / ths) / (w / ths) > 0.03:
            raise HashlensError(
                f"{where}: efficiency_j_per_th {eff:g} is inconsistent with {w:g} W / {ths:g} TH/s = {w / ths:.1f} J/TH"
            )
        out.append(
            FleetGroup(
                label,
                int(count),
                ths,
                w,
                _opt_num(rec, "power_price_usd_per_kwh", where, False),
                _opt_num(rec, "machine_price_usd", where, False),
            )
        )
    return out


def fleet_over_days(
    hashrate_ths: np.ndarray,
    power_w: np.ndarray,
    power_price_usd_per_kwh: np.ndarray,
    hashprice_usd_per_ph_day: np.ndarray,
    op: Operating,
) -> dict[str, np.ndarray]:
    r"""Every machine on every day of a hashprice series, without forming the machine × day
    matrix: a machine's daily profit is linear in the day's hashprice,

    .. math:: \pi_{i,d} = r_i \, HP_d - c_i, \qquad r_i = \frac{H_i}{1000}(1-f_{pool})(1-f_{stale})u

    so its total is r_i ΣHP - D c_i, it is under water on the days with HP_d < c_i / r_i
    (counted by binary search in the sorted series), and the fleet's daily profit and share
    of hashrate under water follow from sums and one sort over machines.

    Returns per machine: ``profit_usd`` [USD over the series], ``days_under_water``; per day:
    ``fleet_profit_usd`` [USD/day], ``share_hashrate_under_water`` [0-1]. O((n + d) log n).
    """
    op.validate()
    hp = np.asarray(hashprice_usd_per_ph_day, float)
    h = np.asarray(hashrate_ths, float)
    yield_factor = (1 - op.pool_fee) * (1 - op.stale_rate) * op.uptime
    rate = h / 1000 * yield_factor  # USD per day per (USD/PH/day) of hashprice
    cost = (
        np.asarray(power_w, float)
        / 1000
        * op.pue
        * (
            24 * op.uptime * (np.asarray(power_price_usd_per_kwh, float) + op.hosting_usd_per_kwh)
            + op.hosting_usd_per_kw_month / DAYS_PER_MONTH
        )
    )
    with np.errstate(divide="ignore"):
        threshold = np.where(rate > 0, cost / rate, np.inf)  # breakeven hashprice per machine
    hp_sorted = np.sort(hp)
    under = np.searchsorted(hp_sorted, threshold, side="left")  # days with HP < threshold
    order = np.argsort(threshold)
    cum_h = np.concatenate([[0.0], np.cumsum(h[order])])
    # Machines with threshold > HP_d are under water on day d.
    above = np.searchsorted(threshold[order], hp, side="right")
    total_h = cum_h[-1]
    return {
        "profit_usd": rate * hp.sum() - len(hp) * cost,
        "days_under_water": under.astype(np.int64),
        "fleet_profit_usd": hp * rate.sum() - cost.sum(),
        "share_hashrate_under_water": (total_h - cum_h[above]) / total_h if total_h > 0 else np.zeros_like(hp),
    }


def evaluate_fleet(
    groups: list[FleetGroup], op: Operating, hashprice_usd_per_ph_day: float, btc_price_usd: float
) -> dict[str, Any]:
    """Per-group unit economics, fleet totals and the share of hashrate under water, as
    plain data (what the CLI prints and the API returns)."""
    from dataclasses import asdict

    h = np.array([g.hashrate_ths for g in groups])
    w = np.array([g.power_w for g in groups])
    n = np.array([g.count for g in groups], dtype=float)
    pp = np.array(
        [
            g.power_price_usd_per_kwh if g.power_price_usd_per_kwh is not None else op.power_price_usd_per_kwh
            for g in groups
        ]
    )
    mp = np.array([g.machine_price_usd if g.machine_price_usd is not None else np.nan for g in groups])
    ue = unit_economics(h, w, hashprice_usd_per_ph_day, btc_price_usd, op, pp, mp)
    per_group = []
    for i, g in enumerate(groups):
        row: dict[str, Any] = {
            "label": g.label,
            "count": g.count,
            "hashrate_ths": g.hashrate_ths,
            "power_w": g.power_w,
            "efficiency_j_per_th": g.efficiency_j_per_th,
            "power_price_usd_per_kwh": float(pp[i]),
        }
        row |= {k: (None if not np.isfinite(v[i]) else float(v[i])) for k, v in ue.items()}
        per_group.append(row)
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
    totals: dict[str, float | None] = dict(sums)
    totals["hashrate_phs"] = float((h * n).sum() / 1000)
    totals["power_mw"] = float((w * n).sum() / 1e6)
    totals["margin"] = sums["profit_usd_per_day"] / sums["revenue_usd_per_day"] if sums["revenue_usd_per_day"] else None
    return {
        "hashprice_usd_per_ph_day": hashprice_usd_per_ph_day,
        "btc_price_usd": btc_price_usd,
        "operating": asdict(op),
        "machines": per_group,
        "fleet": totals,
        "share_of_hashrate_under_water": share_under_water(h * n, w / h, hashprice_usd_per_ph_day, pp),
    }
