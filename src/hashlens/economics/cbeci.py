"""Network power and energy as the Cambridge Bitcoin Electricity Consumption Index computes them.

References
----------
.. [1] Cambridge Centre for Alternative Finance, CBECI methodology: miners run hardware while
   it covers its electricity cost; the profitability threshold, the profitable hardware set
   (released, under five years old), lower/upper bounds and an age-weighted best guess, with
   PUE 1.01 / 1.20 / 1.10.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from hashlens.economics.asics import Asic

HOURS_PER_YEAR = 8766.0
PUE_LOWER, PUE_GUESS, PUE_UPPER = 1.01, 1.10, 1.20
AGE_WEIGHTS = (1.0, 0.8, 0.6, 0.4, 0.2)  # by whole years of age: <1, 1-2, 2-3, 3-4, 4-5


def threshold_j_per_th(hashprice_usd_per_th_day: float, power_price_usd_per_kwh: float) -> float:
    """Profitability threshold ε* [J/TH]: revenue per TH·s divided by the price of a joule.

    .. math:: \\varepsilon^* = \\frac{HP_{TH,day}/86400}{p/3.6\\cdot10^6}
    """
    usd_per_joule = power_price_usd_per_kwh / 3.6e6
    if usd_per_joule <= 0:
        return float("inf")  # free power: every machine pays
    return (hashprice_usd_per_th_day / 86400.0) / usd_per_joule


@dataclass(frozen=True)
class NetworkPower:
    as_of: str
    threshold_j_per_th: float
    profitable_models: int
    lower_j_per_th: float
    guess_j_per_th: float
    upper_j_per_th: float
    hashrate_ehs: float
    power_gw_lower: float
    power_gw_guess: float
    power_gw_upper: float
    energy_twh_per_year_lower: float
    energy_twh_per_year_guess: float
    energy_twh_per_year_upper: float
    carried_forward: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def profitable_set(catalogue: list[Asic], as_of: date, threshold: float) -> list[tuple[Asic, float]]:
    """Models released by ``as_of``, under five years old, more efficient than the threshold;
    each with its age weight."""
    out = []
    for a in catalogue:
        age_years = (as_of - a.release_date).days / 365.25
        if 0 <= age_years < 5 and a.efficiency_j_per_th < threshold:
            out.append((a, AGE_WEIGHTS[int(age_years)]))
    return out


def network_power(
    catalogue: list[Asic],
    as_of: date,
    hashrate_ehs: float,
    hashprice_usd_per_th_day: float,
    power_price_usd_per_kwh: float = 0.05,
    previous: NetworkPower | None = None,
) -> NetworkPower:
    """Power [GW] and annualised energy [TWh/yr] bounds and best guess [1]_.

    Power = ε·hashrate·PUE (ε in J/TH, hashrate in TH/s gives W); energy = power × 8766 h.
    If no model is profitable the last profitable efficiencies are carried forward, as CBECI does.
    """
    eps_star = threshold_j_per_th(hashprice_usd_per_th_day, power_price_usd_per_kwh)
    chosen = profitable_set(catalogue, as_of, eps_star)
    carried = False
    if chosen:
        effs = np.array([a.efficiency_j_per_th for a, _ in chosen])
        weights = np.array([w for _, w in chosen])
        lower, upper = float(effs.min()), float(effs.max())
        guess = float((effs * weights).sum() / weights.sum())
    elif previous is not None:
        lower, guess, upper, carried = previous.lower_j_per_th, previous.guess_j_per_th, previous.upper_j_per_th, True
    else:
        lower = guess = upper = float("nan")
    ths = hashrate_ehs * 1e6
    gw = [e * ths * pue / 1e9 for e, pue in ((lower, PUE_LOWER), (guess, PUE_GUESS), (upper, PUE_UPPER))]
    return NetworkPower(
        as_of=as_of.isoformat(),
        threshold_j_per_th=eps_star,
        profitable_models=len(chosen),
        lower_j_per_th=lower,
        guess_j_per_th=guess,
        upper_j_per_th=upper,
        hashrate_ehs=hashrate_ehs,
        power_gw_lower=gw[0],
        power_gw_guess=gw[1],
        power_gw_upper=gw[2],
        energy_twh_per_year_lower=gw[0] * HOURS_PER_YEAR / 1000,
        energy_twh_per_year_guess=gw[1] * HOURS_PER_YEAR / 1000,
        energy_twh_per_year_upper=gw[2] * HOURS_PER_YEAR / 1000,
        carried_forward=carried,
    )
