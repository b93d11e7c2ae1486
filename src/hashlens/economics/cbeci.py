"""Network power and energy as the Cambridge Bitcoin Electricity Consumption Index computes them.

The method, as Cambridge's public code runs it [1]_ [2]_:

1. Profitability threshold ε* [J/TH] of each day: revenue per TH·s over the price of a joule
   (:func:`threshold_j_per_th`), averaged over the trailing 14 days.
2. Profitable set of a day: models released by that day, under five years old, with
   efficiency ε below the averaged threshold (:func:`profitable_set`).
3. Lower bound: the most efficient model of the set with PUE 1.01; upper bound: the least
   efficient with PUE 1.20; best guess: the plain mean efficiency of the set with PUE 1.10
   (Cambridge's 2023 revision weights models by a shipment-based mix instead; the public
   code's per-day calculation takes the plain mean).
4. Power = ε · hashrate · PUE. A day with no profitable model carries the last profitable
   day's values forward. Every output is then smoothed as a trailing 7-day mean.

hashlens computes this in :func:`network_power_series` (pure, over arrays of days);
:func:`hashlens.economics.power.network_power_on_days` feeds it from the store.

References
----------
.. [1] Cambridge Centre for Alternative Finance, Cambridge Bitcoin Electricity Consumption
   Index, methodology, https://ccaf.io/cbnsi/cbeci/methodology
.. [2] CambridgeAltFin/ccaf_cbeci_api, ``api/components/energy_consumption/`` (the
   calculator: min/max/mean of the profitable efficiencies times hashrate times PUE 1.01 /
   1.20 / 1.10; the service: 14-day rolling mean of the threshold, profitable models
   released under five years before the day, missing days carried forward from the previous
   row, then a 7-day rolling mean of every metric).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hashlens.economics.asics import Asic
from hashlens.economics.fleet import Operating, breakeven_hashprice_usd_per_ph_day
from hashlens.errors import HashlensError
from hashlens.units import HOURS_PER_YEAR  # 365.25 days, as Cambridge annualises

PUE_LOWER, PUE_GUESS, PUE_UPPER = 1.01, 1.10, 1.20
THRESHOLD_WINDOW_DAYS = 14
SMOOTHING_WINDOW_DAYS = 7
MAX_AGE_YEARS = 5
#: Days before the first day of interest that the trailing windows reach back: the 7-day
#: mean of a day uses 6 earlier days, each of whose profitable sets uses a 14-day mean of
#: the threshold (13 earlier days); 20 in all.
LOOKBACK_DAYS = THRESHOLD_WINDOW_DAYS - 1 + SMOOTHING_WINDOW_DAYS - 1


def threshold_j_per_th(hashprice_usd_per_th_day: ArrayLike, power_price_usd_per_kwh: float) -> Any:
    """Profitability threshold ε* [J/TH]: revenue per TH·s divided by the price of a joule.

    .. math:: \\varepsilon^* = \\frac{HP_{TH,day}/86400}{p/3.6\\cdot10^6}

    i.e. the efficiency whose electricity-only breakeven hashprice
    (:func:`hashlens.economics.fleet.breakeven_hashprice_usd_per_ph_day`) equals the day's.

    Parameters
    ----------
    hashprice_usd_per_th_day : HP [USD/TH/day], scalar or array
    power_price_usd_per_kwh : p [USD/kWh]; zero or less means free power (ε* = inf)

    Returns
    -------
    ε* [J/TH], a float for a scalar input, else an array.
    """
    hp = np.asarray(hashprice_usd_per_th_day, dtype=float)
    if power_price_usd_per_kwh <= 0:
        out = np.full(hp.shape, np.inf)  # free power: every machine pays
    else:
        # The breakeven hashprice is linear in ε; CBECI counts electricity alone (no fees, PUE 1).
        per_j_per_th = breakeven_hashprice_usd_per_ph_day(
            1.0, 1.0, Operating(power_price_usd_per_kwh=power_price_usd_per_kwh, pool_fee=0.0)
        )
        out = hp * 1000 / per_j_per_th
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class NetworkPower:
    """One day of the CBECI calculation (see :func:`network_power_series`).

    Efficiencies are the day's (its profitable set, or carried forward); powers and energies
    are the trailing 7-day means Cambridge publishes.
    """

    as_of: str
    threshold_j_per_th: float  # the day's ε* [J/TH]
    threshold_mean_j_per_th: float  # trailing 14-day mean of ε*, the cut the set uses [J/TH]
    profitable_models: int  # size of the day's own profitable set (0 when carried forward)
    lower_j_per_th: float
    guess_j_per_th: float  # plain mean efficiency of the profitable set [J/TH]
    upper_j_per_th: float
    hashrate_ehs: float
    power_gw_lower: float
    power_gw_guess: float
    power_gw_upper: float
    energy_twh_per_year_lower: float
    energy_twh_per_year_guess: float
    energy_twh_per_year_upper: float
    carried_forward: bool
    carried_from: str | None  # the last day with a profitable set, when carried forward
    threshold_days: int  # days that went into the threshold mean (14 once the series has them)
    smoothing_days: int  # days that went into the 7-day power mean (7 once the series has them)
    note: str
    hashrate_method: str = ""  # how the day's hashrate is known (filled by the store composition)

    def as_dict(self) -> dict[str, Any]:
        # NaN (no profitable model) is JSON's null: the API refuses to write NaN.
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


def read_cbeci_hardware(path: str | Path) -> list[Asic]:
    """Cambridge's hardware list (``server_config/miners.csv`` of [2]_: ``Miner_name``,
    ``UNIX_date_of_release`` [s], ``Efficiency_J_Gh`` [J/GH]) as catalogue rows: efficiency
    × 1000 [J/TH], release day the UTC date of the timestamp, rated as 1 TH/s at ε W (only
    the ratio matters here). For comparing with Cambridge's published figures; hashlens' own
    catalogue is :func:`hashlens.economics.asics.load_catalogue`."""
    p = Path(path)
    out = []
    try:
        with p.open(newline="") as fh:
            for lineno, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    eff = float(row["Efficiency_J_Gh"]) * 1000
                    released = datetime.fromtimestamp(int(float(row["UNIX_date_of_release"])), UTC).date()
                except (KeyError, TypeError, ValueError):
                    raise HashlensError(f"{p}: line {lineno}: not a CBECI hardware row") from None
                name = (row.get("Miner_name") or "?").strip()
                out.append(Asic("CBECI", name, released, 1.0, eff, eff, "air", f"{p.name} line {lineno}"))
    except OSError as exc:
        raise HashlensError(f"{p}: {exc.strerror}") from None
    return out


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def profitable_set(catalogue: Sequence[Asic], as_of: date, threshold: float) -> list[Asic]:
    """Models released by ``as_of``, under five years old, more efficient than ``threshold``.

    .. math:: \\{m : r_m \\le d < r_m + 5\\,\\mathrm{y},\\; \\varepsilon_m < \\varepsilon^*\\}

    Parameters
    ----------
    catalogue : the hardware list
    as_of : the day d
    threshold : ε* [J/TH] (Cambridge: the trailing 14-day mean)
    """
    return [
        a
        for a in catalogue
        if a.release_date <= as_of < _plus_years(a.release_date, MAX_AGE_YEARS) and a.efficiency_j_per_th < threshold
    ]


def _trailing_nanmean(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean over ``window`` rows (the row and the ones before it), NaN ignored and
    fewer rows at the start (pandas ``rolling(window, min_periods=1).mean()``); also the
    number of values averaged."""
    ok = ~np.isnan(x)
    cs = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(np.where(ok, x, 0.0), axis=0)])
    cn = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(ok, axis=0)])
    hi = np.arange(1, x.shape[0] + 1)
    lo = np.maximum(hi - window, 0)
    n = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (cs[hi] - cs[lo]) / np.where(n > 0, n, 1), np.nan)
    return mean, n.astype(int)


def network_power_series(
    catalogue: Sequence[Asic],
    days: Sequence[date],
    hashrate_ehs: ArrayLike,
    hashprice_usd_per_th_day: ArrayLike,
    power_price_usd_per_kwh: float = 0.05,
) -> list[NetworkPower]:
    """Network power [GW] and annualised energy [TWh/yr] of consecutive days, CBECI method [1]_ [2]_.

    .. math::

        \\bar\\varepsilon^*_d = \\tfrac{1}{14}\\sum_{k=0}^{13} \\varepsilon^*_{d-k}, \\qquad
        S_d = \\{m : r_m \\le d < r_m + 5\\,\\mathrm{y},\\ \\varepsilon_m < \\bar\\varepsilon^*_d\\}

        P^{low}_d = \\min_{S_d}\\varepsilon \\cdot H_d \\cdot 1.01, \\quad
        P^{guess}_d = \\overline{\\varepsilon}_{S_d} \\cdot H_d \\cdot 1.10, \\quad
        P^{up}_d = \\max_{S_d}\\varepsilon \\cdot H_d \\cdot 1.20

        \\text{published } P_d = \\tfrac{1}{7}\\sum_{k=0}^{6} P_{d-k}, \\qquad
        E_d = P_d \\cdot 8766\\,\\mathrm{h}

    with ε [J/TH] and H [TH/s] giving W. A day whose set S_d is empty takes the previous
    day's (already carried) efficiencies and powers, as Cambridge's code carries the previous
    row's values (so a carried day's power does not follow that day's hashrate); its record
    says so (``carried_forward``, ``carried_from``). Days before any profitable day have no
    value (NaN; Cambridge would put zero there). Windows shorten at the start of the series
    (``threshold_days``, ``smoothing_days`` say by how much): to get full windows on a day,
    pass the :data:`LOOKBACK_DAYS` (20) days before it too.

    Parameters
    ----------
    catalogue : hardware list (release date, efficiency [J/TH])
    days : N consecutive UTC days, ascending
    hashrate_ehs : network hashrate of each day [EH/s], shape (N,); NaN where unknown
        (then the day contributes no power to the 7-day means)
    hashprice_usd_per_th_day : revenue per TH/s per day [USD/TH/day], shape (N,); NaN where
        unknown (left out of the 14-day threshold means)
    power_price_usd_per_kwh : electricity price p [USD/kWh] (Cambridge's default 0.05)

    Returns
    -------
    One :class:`NetworkPower` per day.

    Raises
    ------
    HashlensError if the days are not consecutive or the arrays do not match them.
    """
    n = len(days)
    hr = np.asarray(hashrate_ehs, dtype=float).reshape(-1)
    hp = np.asarray(hashprice_usd_per_th_day, dtype=float).reshape(-1)
    if hr.size != n or hp.size != n:
        raise HashlensError(f"CBECI: {n} days but {hr.size} hashrates and {hp.size} hashprices")
    if n == 0:
        return []
    d64 = np.array(days, dtype="datetime64[D]")
    if n > 1 and not np.all(np.diff(d64).astype(int) == 1):
        raise HashlensError(
            "CBECI: the days must be consecutive and ascending (the method averages over trailing days)"
        )

    eps_star = np.asarray(threshold_j_per_th(hp, power_price_usd_per_kwh), dtype=float)
    eps_mean, thr_n = _trailing_nanmean(eps_star, THRESHOLD_WINDOW_DAYS)

    # Models × days: released by the day, under five years old, below the day's mean threshold.
    eff = np.array([a.efficiency_j_per_th for a in catalogue], dtype=float)
    rel = np.array([a.release_date for a in catalogue], dtype="datetime64[D]")
    retire = np.array([_plus_years(a.release_date, MAX_AGE_YEARS) for a in catalogue], dtype="datetime64[D]")
    with np.errstate(invalid="ignore"):
        in_set = (rel[:, None] <= d64[None, :]) & (d64[None, :] < retire[:, None]) & (eff[:, None] < eps_mean[None, :])
    count = in_set.sum(axis=0)
    has = count > 0
    safe = np.where(has, count, 1)
    lower_d = np.where(has, np.where(in_set, eff[:, None], np.inf).min(axis=0, initial=np.inf), np.nan)
    upper_d = np.where(has, np.where(in_set, eff[:, None], -np.inf).max(axis=0, initial=-np.inf), np.nan)
    guess_d = np.where(has, (in_set * eff[:, None]).sum(axis=0) / safe, np.nan)

    ths = hr * 1e6  # EH/s -> TH/s
    pues = np.array([PUE_LOWER, PUE_GUESS, PUE_UPPER])
    eff_d = np.stack([lower_d, guess_d, upper_d], axis=1)  # (N, 3) [J/TH]
    gw_d = eff_d * ths[:, None] * pues[None, :] / 1e9  # [GW]

    # Carry the last profitable day's values forward (Cambridge carries the previous row).
    idx = np.maximum.accumulate(np.where(has, np.arange(n), -1))
    src = np.maximum(idx, 0)
    eff_c = np.where((idx >= 0)[:, None], eff_d[src], np.nan)
    gw_c = np.where((idx >= 0)[:, None], gw_d[src], np.nan)

    gw_s, sm_n = _trailing_nanmean(gw_c, SMOOTHING_WINDOW_DAYS)
    twh = gw_s * HOURS_PER_YEAR / 1000

    out = []
    for i, d in enumerate(days):
        carried = not has[i] and idx[i] >= 0
        notes = []
        if carried:
            notes.append(f"no model profitable: values carried forward from {days[int(idx[i])]}")
        elif idx[i] < 0:
            notes.append("no model profitable on this day or any earlier day of the series")
        if thr_n[i] < THRESHOLD_WINDOW_DAYS:
            notes.append(f"threshold averaged over {int(thr_n[i])} day(s), not {THRESHOLD_WINDOW_DAYS}")
        if int(sm_n[i, 1]) < SMOOTHING_WINDOW_DAYS and idx[i] >= 0:
            notes.append(f"power averaged over {int(sm_n[i, 1])} day(s), not {SMOOTHING_WINDOW_DAYS}")
        out.append(
            NetworkPower(
                as_of=d.isoformat(),
                threshold_j_per_th=float(eps_star[i]),
                threshold_mean_j_per_th=float(eps_mean[i]),
                profitable_models=int(count[i]),
                lower_j_per_th=float(eff_c[i, 0]),
                guess_j_per_th=float(eff_c[i, 1]),
                upper_j_per_th=float(eff_c[i, 2]),
                hashrate_ehs=float(hr[i]),
                power_gw_lower=float(gw_s[i, 0]),
                power_gw_guess=float(gw_s[i, 1]),
                power_gw_upper=float(gw_s[i, 2]),
                energy_twh_per_year_lower=float(twh[i, 0]),
                energy_twh_per_year_guess=float(twh[i, 1]),
                energy_twh_per_year_upper=float(twh[i, 2]),
                carried_forward=bool(carried),
                carried_from=days[int(idx[i])].isoformat() if carried else None,
                threshold_days=int(thr_n[i]),
                smoothing_days=int(sm_n[i, 1]),
                note="; ".join(notes),
            )
        )
    return out


def energy_twh(powers: Sequence[NetworkPower]) -> float:
    """Energy over the given days [TWh]: the sum of each day's best-guess power, as Cambridge
    totals a month or a year.

    .. math:: E = \\sum_d P^{guess}_d \\cdot 24\\,\\mathrm{h} / 1000
    """
    return float(sum(p.power_gw_guess for p in powers) * 24 / 1000)
