"""The fleet outlook's paths: the fleet reduced to what a day needs, the difficulty paths of
the calibrated forecast (:func:`hashlens.sim.forecast.simulate_paths`, or a steady growth),
the chain state of every day (:func:`hashlens.sim.hashprice_outlook.chain_at_times`), the
day's hashprice (:func:`hashlens.economics.hashprice.hashprice_btc_per_ph_day`) and price
(:func:`hashlens.sim.prices.gbm_prices`), summed per month under both policies.

Paths run in fixed chunks of :data:`CHUNK_PATHS`, each with its own seeded generator, so
memory stays flat and the result depends only on the inputs and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_subsidy_btc
from hashlens.economics.fleet import (
    FleetGroup,
    Operating,
    breakeven_hashprice_usd_per_ph_day,
    count_below,
    group_arrays,
    machine_daily_cost,
    revenue_share,
)
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.sim.forecast import Paths, simulate_paths
from hashlens.sim.hashprice_outlook import DAY_S, chain_at_times, period_starts, steady_growth_paths
from hashlens.sim.outlook_market import Start, add_months
from hashlens.sim.outlook_request import Spec
from hashlens.sim.prices import gbm_prices

N = DIFFICULTY_ADJUSTMENT_INTERVAL
CHUNK_PATHS = 2_048
MIN_DAYS_PER_PERIOD = 10  # simulated periods cover the horizon even at a fast 10 days each


@dataclass(frozen=True)
class FleetArrays:
    """Per fleet row, whole rows (count × one machine), sorted by switch-off threshold."""

    rate_ph: np.ndarray  # hashrate kept after fees and uptime [PH/s]
    power_usd: np.ndarray  # power bill a running day [USD/day]
    hosting_kwh_usd: np.ndarray  # per-kWh hosting a running day [USD/day]
    hosting_fixed_usd: np.ndarray  # per-kW-month hosting, owed every day [USD/day]
    machines: np.ndarray  # count [-]
    threshold_usd_per_ph_day: np.ndarray  # hashprice below which switching off saves money
    order: np.ndarray  # row order (indices into the fleet as given)


def fleet_arrays(groups: list[FleetGroup], op: Operating) -> FleetArrays:
    """Rates, daily costs and switch-off thresholds of every row, by
    :func:`~hashlens.economics.fleet.machine_daily_cost`, :func:`~hashlens.economics.fleet.revenue_share`
    and :func:`~hashlens.economics.fleet.breakeven_hashprice_usd_per_ph_day`.

    The switch-off threshold is the breakeven hashprice of the costs a machine saves by
    stopping (power and per-kWh hosting; per-kW-month hosting is owed either way), i.e. the
    breakeven with the per-kW-month fee set to zero.
    """
    h, w, n, pp = group_arrays(groups, op)
    c = machine_daily_cost(w, op, pp)
    thr = np.asarray(
        breakeven_hashprice_usd_per_ph_day(h, w, op.model_copy(update={"hosting_usd_per_kw_month": 0.0}), pp),
        dtype=float,
    ).reshape(-1)
    order = np.argsort(thr, kind="stable")
    rate = h / 1000 * revenue_share(op) * n
    return FleetArrays(
        rate_ph=rate[order],
        power_usd=(np.asarray(c.power_usd) * n)[order],
        hosting_kwh_usd=(np.asarray(c.hosting_per_kwh_usd) * n)[order],
        hosting_fixed_usd=(np.asarray(c.hosting_fixed_usd) * n)[order],
        machines=n[order],
        threshold_usd_per_ph_day=thr[order],
        order=order,
    )


def halving_drop_factors(first_period: int, periods: int, drop_pct: float) -> np.ndarray:
    """Factor on the difficulty of periods ``first_period`` … ``first_period + periods - 1``
    for a one-off drop of ``drop_pct`` at the first adjustment at or after each halving [-].

    Period p begins at height p·2016; its adjustment follows a halving when a halving height
    lies in ((p - 1)·2016, p·2016], i.e. when the subsidy at its first block is below the
    subsidy at the previous period's first block. The running period (column 0) keeps its
    difficulty; each later period carries (1 - drop/100)^k, k the halvings so passed.

    Parameters
    ----------
    first_period : index of the running period [-]
    periods : number of periods, the running one first [-]
    drop_pct : the one-off drop [%], 0 … < 100

    Returns
    -------
    (periods,) factors [-], 1 before the first adjustment after a halving
    """
    heights = (first_period + np.arange(periods)) * N
    subsidy = np.asarray(block_subsidy_btc(heights), dtype=float)
    passed = np.concatenate([[0], np.cumsum(subsidy[1:] < subsidy[:-1])])
    out: np.ndarray = (1 - drop_pct / 100) ** passed
    return out


def difficulty_paths(start: Start, spec: Spec, periods: int) -> Paths:
    if spec.difficulty_growth_pct_per_adjustment is not None:
        sim = steady_growth_paths(start.hist, periods, spec.paths, spec.difficulty_growth_pct_per_adjustment)
    else:
        not_ended = start.t0 if start.hist.known_intervals == 0 else None
        sim = simulate_paths(start.hist, periods, spec.paths, spec.seed, not_ended_by=not_ended)
    if spec.halving_difficulty_drop_pct > 0:
        # On top of the paths: difficulty steps down, the period start times stay as they were
        # (a simulated path is not re-timed for the faster blocks a lower difficulty would give).
        # change_pct is left as simulated; the outlook reads only difficulty and start times.
        factor = halving_drop_factors(start.hist.period, periods, spec.halving_difficulty_drop_pct)
        sim = replace(sim, difficulty=sim.difficulty * factor)
    return sim


@dataclass
class Monthly:
    """(paths, months) sums per policy, and the month-end price."""

    btc: dict[str, np.ndarray]
    usd: dict[str, np.ndarray]
    power_usd: dict[str, np.ndarray]
    hosting_usd: dict[str, np.ndarray]
    machine_days_off: np.ndarray  # switch-off policy [machine-days]
    price_end: np.ndarray
    hashprice_mean: np.ndarray  # mean daily hashprice in the month [USD/PH/day]


POLICIES = ("run_always", "switch_off")


def month_sums(
    fa: FleetArrays,
    start: Start,
    first: np.ndarray,
    starts: np.ndarray,
    difficulty: np.ndarray,
    times: np.ndarray,
    day_index: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Monthly sums for one chunk of paths (see :class:`Monthly`)."""
    paths = starts.shape[0]
    diff, height = chain_at_times(start.hist.period, starts, difficulty, times)
    subsidy = np.asarray(block_subsidy_btc(height), dtype=float)
    hp_btc = np.asarray(hashprice_btc_per_ph_day(diff, subsidy, start.fees_btc), dtype=float)
    price = gbm_prices(start.price_usd, start.sigma_daily, start.mu_daily, day_index, paths, rng)
    hp_usd = hp_btc * price  # hashprice_usd_per_ph_day's definition, per path and day
    del diff, height, subsidy
    days_in = np.diff(np.append(first, times.size))
    out: dict[str, np.ndarray] = {}
    rate_all = float(fa.rate_ph.sum())
    out["btc_run_always"] = np.add.reduceat(hp_btc, first, axis=1) * rate_all
    out["usd_run_always"] = np.add.reduceat(hp_usd, first, axis=1) * rate_all
    fixed = float(fa.hosting_fixed_usd.sum())
    out["power_run_always"] = np.broadcast_to(days_in * float(fa.power_usd.sum()), (paths, first.size))
    out["hosting_run_always"] = np.broadcast_to(
        days_in * (float(fa.hosting_kwh_usd.sum()) + fixed), (paths, first.size)
    )
    # Switch off: rows whose threshold is at or below the day's hashprice run (sorted rows,
    # so the running set is a prefix and its totals are cumulative sums).
    k = count_below(fa.threshold_usd_per_ph_day, hp_usd, side="right")
    cum = {
        name: np.concatenate([[0.0], np.cumsum(v)])
        for name, v in (("rate", fa.rate_ph), ("power", fa.power_usd), ("hkwh", fa.hosting_kwh_usd), ("n", fa.machines))
    }
    r_on = cum["rate"][k]
    out["btc_switch_off"] = np.add.reduceat(hp_btc * r_on, first, axis=1)
    out["usd_switch_off"] = np.add.reduceat(hp_usd * r_on, first, axis=1)
    out["power_switch_off"] = np.add.reduceat(cum["power"][k], first, axis=1)
    out["hosting_switch_off"] = np.add.reduceat(cum["hkwh"][k], first, axis=1) + days_in * fixed
    out["off"] = days_in * float(fa.machines.sum()) - np.add.reduceat(cum["n"][k], first, axis=1)
    out["price_end"] = price[:, np.append(first[1:], times.size) - 1]
    out["hp_mean"] = np.add.reduceat(hp_usd, first, axis=1) / days_in
    return out


def simulate_months(fa: FleetArrays, start: Start, spec: Spec, as_of: date) -> tuple[Monthly, Paths, np.ndarray]:
    """Run every path in fixed chunks; returns the monthly sums, the difficulty paths and the
    period start times per path."""
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    n_days = (ends[-1] - as_of).days
    day_index = np.arange(1, n_days + 1)
    times = start.t0 + day_index.astype(float) * DAY_S  # 24:00 UTC of each day of the horizon
    first = np.array([0] + [(e - as_of).days for e in ends[:-1]], dtype=np.int64)
    periods = n_days // MIN_DAYS_PER_PERIOD + 3
    sim = difficulty_paths(start, spec, periods)
    starts = period_starts(start.hist, sim)
    parts: list[dict[str, np.ndarray]] = []
    for c, lo in enumerate(range(0, spec.paths, CHUNK_PATHS)):
        hi = min(lo + CHUNK_PATHS, spec.paths)
        rng = np.random.default_rng([spec.seed, 1, c])  # one generator per fixed chunk
        parts.append(month_sums(fa, start, first, starts[lo:hi], sim.difficulty[lo:hi], times, day_index, rng))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    monthly = Monthly(
        btc={p: cat[f"btc_{p}"] for p in POLICIES},
        usd={p: cat[f"usd_{p}"] for p in POLICIES},
        power_usd={p: cat[f"power_{p}"] for p in POLICIES},
        hosting_usd={p: cat[f"hosting_{p}"] for p in POLICIES},
        machine_days_off=cat["off"],
        price_end=cat["price_end"],
        hashprice_mean=cat["hp_mean"],
    )
    return monthly, sim, starts
