"""The simulator's compiled kernels: the step loops of :mod:`hashlens.sim.engine` over paths,
written as plain functions on arrays (numba compiles them once per machine and keeps them on
disk; without numba the same functions run as Python, to the same bits).

Each kernel calls the owners' arithmetic (:data:`OWNER_ARITHMETIC`: the block rate, the subsidy,
the difficulty and its change, the retarget, the hashprice), compiled into it from the very
functions the rest of hashlens calls, never a copy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.params import COIN
from hashlens.consensus.rate import block_rate
from hashlens.consensus.subsidy import subsidy_sat
from hashlens.consensus.vectorised import change_pct, difficulty, retarget_bits
from hashlens.economics.hashprice import hashprice_btc
from hashlens.units import HS_PER_EHS, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
EH = HS_PER_EHS  # [H/s] in one EH/s (hashlens.units)
MIN_ONLINE = 0.02  # smallest initial online share a generation's installed capacity is derived from [-]


def event_paths_kernel(
    active: np.ndarray, need: np.ndarray, lam: np.ndarray, rem: np.ndarray, t_end: float
) -> tuple[np.ndarray, np.ndarray]:
    """The paths of ``active`` whose next event falls within their time left ``rem`` (spent up
    to the event, in place), and the event times."""
    idx = np.empty(active.size, dtype=np.int64)
    tev = np.empty(active.size)
    k = 0
    for a in active:
        la = lam[a]
        if la > 0:
            tte = need[a] / la
            if tte <= rem[a]:
                rem[a] -= tte
                idx[k] = a
                tev[k] = t_end - rem[a]
                k += 1
    return idx[:k].copy(), tev[:k].copy()


def apply_events_kernel(
    i0: np.ndarray,
    t0: np.ndarray,
    nm: np.ndarray,
    ne: np.ndarray,
    nd: np.ndarray,
    change: np.ndarray,
    lam_new: np.ndarray,
    i1: np.ndarray,
    t1: np.ndarray,
    k_max: int,
    day_s: float,
    intervals: int,
    n_adj: np.ndarray,
    mantissa: np.ndarray,
    exponent: np.ndarray,
    d: np.ndarray,
    lam: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    need: np.ndarray,
    periods: np.ndarray,
    period_start: np.ndarray,
    adjustments: np.ndarray,
    adjustment_days: np.ndarray,
    period_s: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Write one round of events: retargeted paths (new bits, rate, Exp(1) to the next
    period's first block) and paths starting a period (duration, Gamma(intervals))."""
    for j in range(i0.size):
        i = i0[j]
        k = n_adj[i]
        if k < k_max:
            adjustments[i, k] = change[j]
            adjustment_days[i, k] = t0[j] / day_s
        n_adj[i] = k + 1
        mantissa[i], exponent[i], d[i] = nm[j], ne[j], nd[j]
        lam[i] = lam_new[j]
        acc[i] = intervals
        phase[i] = 1
    for j in range(i0.size):
        need[i0[j]] = rng.exponential(1.0)
    for j in range(i1.size):
        i = i1[j]
        k = periods[i]
        if k < k_max:
            period_s[i, k] = t1[j] - period_start[i]
        periods[i] = k + 1
        period_start[i] = t1[j]
        phase[i] = 0
        acc[i] = 0.0
    for j in range(i1.size):
        need[i1[j]] = rng.gamma(float(intervals), 1.0)


def quiet_paths_numpy(need: np.ndarray, acc: np.ndarray, phase: np.ndarray, lam: np.ndarray, dt: float) -> np.ndarray:
    """Spend a whole step ``dt`` on every path whose next event lies beyond it (in place) and
    return the indices of the others (the numpy fallback of the numba kernel)."""
    with np.errstate(divide="ignore"):
        tte = np.where(lam > 0, need / lam, np.inf)
    hit = tte <= dt
    quiet = ~hit
    used = lam[quiet] * dt
    need[quiet] -= used
    acc[quiet] += np.where(phase[quiet] == 0, used, 0.0)
    return np.flatnonzero(hit)


def quiet_paths_kernel(need: np.ndarray, acc: np.ndarray, phase: np.ndarray, lam: np.ndarray, dt: float) -> np.ndarray:
    n = need.size
    hits = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        li = lam[i]
        if li > 0 and need[i] / li <= dt:
            hits[k] = i
            k += 1
        else:
            used = li * dt
            need[i] -= used
            if phase[i] == 0:
                acc[i] += used
    return hits[:k].copy()


def grow(a: np.ndarray, new: int) -> np.ndarray:
    """A (K, n) per-period array grown to ``new`` rows, NaN-filled."""
    out = np.full((new, a.shape[1]), np.nan, dtype=np.float32)
    out[: a.shape[0]] = a
    return out


def block_step(
    t: float,
    dt: float,
    h_new: float,
    hv: np.ndarray,
    lam: np.ndarray,
    need: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    mantissa: np.ndarray,
    exponent: np.ndarray,
    d: np.ndarray,
    period_start: np.ndarray,
    n_adj: np.ndarray,
    periods: np.ndarray,
    adjustments: np.ndarray,
    adjustment_days: np.ndarray,
    period_s: np.ndarray,
    k_max: int,
    rem: np.ndarray,
    hits: np.ndarray,
    act: np.ndarray,
    idx: np.ndarray,
    tev: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of :func:`step_blocks` from ``t`` for every path at its hashrate ``hv`` and
    block rate ``lam`` (the same arithmetic and draws in the same order), in one pass; the
    kernels' shared part. ``h_new``: a hashrate the same on every path to set first (``hv``
    and ``lam``), NaN to keep them. The per-period arrays are (K, n) (:func:`_by_period`);
    returns them (grown if needed)."""
    n = need.size
    intervals = N - 1
    # Every path with no event in the step spends all of it (branch-free, so it vectorises;
    # adding 0.0 leaves a value unchanged), then the others are listed. A product stands for
    # the division need/λ ≤ dt: with dt widened by 2^-40 it lists every path with an event
    # (and at most a few without, whose event loop then finds none and spends the step as
    # here, to the same bits).
    dt_wide = dt * (1.0 + 2.0**-40)
    if h_new == h_new:  # a new hashrate, the same on every path: the rates first (loops that vectorise)
        hs = h_new * EH
        for i in range(n):
            lam[i] = block_rate(hs, d[i])
        hv[:] = h_new
    for i in range(n):
        li = lam[i]
        hit = (li > 0) & (need[i] <= li * dt_wide)
        used = 0.0 if hit else li * dt
        need[i] -= used
        acc[i] += used if phase[i] == 0 else 0.0
        last[i] = hit
    nb = 0
    for i in range(n):  # the listing without a branch: written always, counted when listed
        hits[nb] = i
        nb += last[i]
    for q in range(nb):
        rem[hits[q]] = dt
    t_end = t + dt
    na = nb
    for q in range(nb):
        act[q] = hits[q]
    while na > 0:
        k = 0
        for q in range(na):
            a = act[q]
            la = lam[a]
            if la > 0:
                tte = need[a] / la
                if tte <= rem[a]:
                    rem[a] -= tte
                    idx[k] = a
                    tev[k] = t_end - rem[a]
                    last[k] = phase[a] == 0
                    k += 1
        if k == 0:
            break
        # Room for the rows this round writes, grown here, before the loops that write them:
        # an array the per-event loops below could reassign had numba count references to it
        # (atomic increments) all through the step, two thirds of the kernel's time.
        rows = 0
        for q in range(k):
            rows = max(rows, (n_adj[idx[q]] if last[q] else periods[idx[q]]) + 1)
        rows = min(rows, k_max)
        if rows > adjustments.shape[0]:
            new = min(k_max, max(rows, 2 * adjustments.shape[0]))
            adjustments = grow(adjustments, new)
            adjustment_days = grow(adjustment_days, new)
            period_s = grow(period_s, new)
        for q in range(k):  # a period's last block: retarget, Exp(1) to the next first block
            if last[q]:
                i = idx[q]
                span = math.floor(tev[q]) - math.floor(period_start[i])
                nm, ne = retarget_bits(mantissa[i], exponent[i], np.int64(span))
                nd = difficulty(nm, ne)
                c = n_adj[i]
                if c < k_max:
                    adjustments[c, i] = change_pct(d[i], nd)
                    adjustment_days[c, i] = tev[q] / SECONDS_PER_DAY
                n_adj[i] = c + 1
                mantissa[i], exponent[i], d[i] = nm, ne, nd
                lam[i] = block_rate(hv[i] * EH, nd)
                acc[i] = intervals
                phase[i] = 1
                need[i] = rng.exponential(1.0)
        for q in range(k):  # a period's first block: its duration, Gamma(N − 1)
            if not last[q]:
                i = idx[q]
                c = periods[i]
                if c < k_max:
                    period_s[c, i] = tev[q] - period_start[i]
                periods[i] = c + 1
                period_start[i] = tev[q]
                phase[i] = 0
                acc[i] = 0.0
                need[i] = rng.gamma(float(intervals), 1.0)
        for q in range(k):
            act[q] = idx[q]
        na = k
    for q in range(nb):
        i = hits[q]
        used = lam[i] * rem[i]
        need[i] -= used
        if phase[i] == 0:
            acc[i] += used
    return adjustments, adjustment_days, period_s


def steps_kernel(
    n_steps: int,
    t: float,
    dt: float,
    h_steps: np.ndarray,
    h_prev: float,
    hv: np.ndarray,
    lam: np.ndarray,
    need: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    mantissa: np.ndarray,
    exponent: np.ndarray,
    d: np.ndarray,
    period_start: np.ndarray,
    n_adj: np.ndarray,
    periods: np.ndarray,
    adjustments: np.ndarray,
    adjustment_days: np.ndarray,
    period_s: np.ndarray,
    k_max: int,
    normals: np.ndarray,
    rem: np.ndarray,
    hits: np.ndarray,
    act: np.ndarray,
    idx: np.ndarray,
    tev: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """``n_steps`` steps of :func:`step_blocks` at the hashrate ``h_steps[j]`` of every path in
    one pass (:func:`block_step`), then each step's standard normals for the GBM price into
    ``normals[j]`` (none when it has no rows). Returns the time, the hashrate the rates ``lam``
    are for, and the per-period arrays (grown if needed)."""
    n = need.size
    for j in range(n_steps):
        h = h_steps[j]
        h_new = math.nan
        if h != h_prev:
            h_new = h_prev = h
        adjustments, adjustment_days, period_s = block_step(
            t, dt, h_new, hv, lam, need, acc, phase, mantissa, exponent, d, period_start, n_adj, periods,
            adjustments, adjustment_days, period_s, k_max, rem, hits, act, idx, tev, last, rng,
        )  # fmt: skip
        t = t + dt
        if normals.shape[0] > 0:
            for i in range(n):
                normals[j, i] = rng.standard_normal()
    return t, h_prev, adjustments, adjustment_days, period_s


def online_share(log_hp: float, log_breakeven: float, inv_sigma: float) -> float:
    """Share of a fleet generation running at a hashprice HP [0-1], the fleet model's one rule
    (:class:`FleetModel`): Φ((ln HP − ln HP*)/σ) with Φ by Abramowitz & Stegun 7.1.26 (|error|
    below 1.5e-7), or a step (all or none) where σ = 0 (``inv_sigma`` 0).

    Plain arithmetic on floats: the step functions and the fused kernel both run this same
    function compiled by numba (plain Python where numba is missing), so they agree bit for bit.
    """
    if inv_sigma == 0.0:
        return 1.0 if log_hp > log_breakeven else 0.0
    x = (log_hp - log_breakeven) * inv_sigma
    z = abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * math.exp(-z * z)
    return 0.5 * (1.0 + erf) if x > 0 else (0.5 * (1.0 - erf) if x < 0 else 0.5)


def fleet_kernel(
    hp: np.ndarray,
    log_breakeven: np.ndarray,
    inv_sigma: np.ndarray,
    lag: float,
    online: np.ndarray,
    capacity: np.ndarray,
    h_out: np.ndarray,
    start: bool,
) -> None:
    """Every path's fleet at hashprice ``hp``: each generation's share running moves to
    :func:`online_share` at once when it falls and by ``lag`` of the gap when it rises (at the
    start: the share itself, at least MIN_ONLINE); ``h_out`` the hashrate Σ capacity·share."""
    for i in range(hp.size):
        lhp = math.log(max(hp[i], 1e-300))
        h = 0.0
        for g in range(log_breakeven.size):
            target = online_share(lhp, log_breakeven[g], inv_sigma[g])
            if start:
                o = min(max(target, MIN_ONLINE), 1.0)
            else:
                o = online[g, i]
                o = target if target < o else o + (target - o) * lag
            online[g, i] = o
            h += capacity[g, i] * o
        h_out[i] = h


def fleet_step_kernel(
    t: float,
    dt: float,
    height0: int,
    fees: float,
    price: np.ndarray,
    curtail_factors: np.ndarray,
    rec: int,
    log_breakeven: np.ndarray,
    inv_sigma: np.ndarray,
    breakeven: np.ndarray,
    lag: float,
    online: np.ndarray,
    capacity: np.ndarray,
    out_d: np.ndarray,
    out_h: np.ndarray,
    out_hp: np.ndarray,
    out_p: np.ndarray,
    margins: np.ndarray,
    hv: np.ndarray,
    lam: np.ndarray,
    need: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    mantissa: np.ndarray,
    exponent: np.ndarray,
    d: np.ndarray,
    period_start: np.ndarray,
    n_adj: np.ndarray,
    periods: np.ndarray,
    adjustments: np.ndarray,
    adjustment_days: np.ndarray,
    period_s: np.ndarray,
    k_max: int,
    rem: np.ndarray,
    hits: np.ndarray,
    act: np.ndarray,
    idx: np.ndarray,
    tev: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
    blocks: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of the fleet model in one pass, as :func:`_run_stepwise` does it: each path's
    hashprice (:func:`hashprice_usd`'s owners), its fleet (:func:`fleet_kernel`) and hashrate
    after the step's curtailment factors, record ``rec`` (none when negative), then, unless
    ``blocks`` is false, the blocks (:func:`block_step`); the price moves outside, after it."""
    n = need.size
    for i in range(n):
        within = min(acc[i], N - 1) if phase[i] == 0 else N - 1
        height = height0 + periods[i] * N + np.int64(within)
        hp = hashprice_btc(d[i], subsidy_sat(height) / COIN + fees) * price[i]
        lhp = math.log(max(hp, 1e-300))
        h = 0.0
        for g in range(log_breakeven.size):
            target = online_share(lhp, log_breakeven[g], inv_sigma[g])
            o = online[g, i]
            o = target if target < o else o + (target - o) * lag
            online[g, i] = o
            h += capacity[g, i] * o
        for c in range(curtail_factors.size):
            h = h * curtail_factors[c]
        if rec >= 0:
            out_d[rec, i] = d[i]
            out_h[rec, i] = h
            out_hp[rec, i] = hp
            out_p[rec, i] = price[i]
            for g in range(breakeven.size):
                margins[rec, g, i] = 1.0 - breakeven[g] / max(hp, 1e-9)
        hv[i] = h
        lam[i] = block_rate(h * EH, d[i])
    if not blocks:  # the horizon's last record
        return adjustments, adjustment_days, period_s
    return block_step(
        t, dt, math.nan, hv, lam, need, acc, phase, mantissa, exponent, d, period_start, n_adj, periods,
        adjustments, adjustment_days, period_s, k_max, rem, hits, act, idx, tev, last, rng,
    )  # fmt: skip


def record_kernel(
    i: int,
    h: float,
    height0: int,
    fees: float,
    d: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    periods: np.ndarray,
    price: np.ndarray,
    out_d: np.ndarray,
    out_h: np.ndarray,
    out_hp: np.ndarray,
    out_p: np.ndarray,
) -> None:
    """:func:`record` of row ``i`` for a hashrate ``h`` the same on every path and no fleet, with
    :func:`hashprice_usd` computed in the same operations, in one pass."""
    for j in range(d.size):
        within = min(acc[j], N - 1) if phase[j] == 0 else N - 1
        height = height0 + periods[j] * N + np.int64(within)
        hp = hashprice_btc(d[j], subsidy_sat(height) / COIN + fees) * price[j]
        out_d[i, j] = d[j]
        out_h[i, j] = h
        out_hp[i, j] = hp
        out_p[i, j] = price[j]


def all_steps_kernel(
    steps: int,
    rec_every: int,
    n_rec_max: int,
    t: float,
    dt: float,
    h_steps: np.ndarray,
    height0: int,
    fees: float,
    price: np.ndarray,
    record_days: np.ndarray,
    out_d: np.ndarray,
    out_h: np.ndarray,
    out_hp: np.ndarray,
    out_p: np.ndarray,
    hv: np.ndarray,
    lam: np.ndarray,
    need: np.ndarray,
    acc: np.ndarray,
    phase: np.ndarray,
    mantissa: np.ndarray,
    exponent: np.ndarray,
    d: np.ndarray,
    period_start: np.ndarray,
    n_adj: np.ndarray,
    periods: np.ndarray,
    adjustments: np.ndarray,
    adjustment_days: np.ndarray,
    period_s: np.ndarray,
    k_max: int,
    rem: np.ndarray,
    hits: np.ndarray,
    act: np.ndarray,
    idx: np.ndarray,
    tev: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """Every step of a run whose price never moves, records included, in one call: the loop
    of :func:`_run_fused` with :func:`record_kernel` and :func:`block_step` (the same
    arithmetic and draws in the same order). Returns the records written, the time and the
    per-period arrays."""
    n_rec = 0
    h_prev = math.nan
    for step in range(steps + 1):
        if step % rec_every == 0 and n_rec < n_rec_max:
            record_days[n_rec] = t / SECONDS_PER_DAY
            record_kernel(
                n_rec, h_steps[step], height0, fees, d, acc, phase, periods, price, out_d, out_h, out_hp, out_p
            )
            n_rec += 1
        if step == steps:
            break
        h = h_steps[step]
        h_new = math.nan
        if h != h_prev:
            h_new = h_prev = h
        adjustments, adjustment_days, period_s = block_step(
            t, dt, h_new, hv, lam, need, acc, phase, mantissa, exponent, d, period_start, n_adj, periods,
            adjustments, adjustment_days, period_s, k_max, rem, hits, act, idx, tev, last, rng,
        )  # fmt: skip
        t = t + dt
    return n_rec, t, adjustments, adjustment_days, period_s


#: The owners' plain arithmetic the kernels call: numba compiles these same functions into them.
OWNER_ARITHMETIC = (block_rate, subsidy_sat, difficulty, change_pct, retarget_bits, hashprice_btc)


def numba_cache_dir() -> Path:
    """Where the compiled kernels are kept between runs: ``$HASHLENS_CACHE_DIR``, else the
    user's cache folder (``platformdirs``), in ``numba/`` and a subfolder named by a hash of the sources the kernels are compiled
    from (this module and the owners' modules) and the numba version. numba checks only the
    kernel's own file for changes; an edit of an owner's arithmetic must not reuse old code."""
    import hashlib
    import importlib

    import platformdirs

    h = hashlib.sha256(numba_version().encode())
    # numba freezes the constants a kernel reads (the halving interval, COIN, the timespan, units)
    # into its code: their modules name the cache too.
    constants = {"hashlens.consensus.params", "hashlens.units"}
    for name in sorted({f.__module__ for f in OWNER_ARITHMETIC} | {__name__} | constants):
        source = getattr(importlib.import_module(name), "__file__", None)
        try:
            h.update(Path(source).read_bytes() if source else name.encode())
        except OSError:  # no readable source (a frozen install): the module's name stands for it
            h.update(name.encode())
    root = os.environ.get("HASHLENS_CACHE_DIR") or platformdirs.user_cache_dir("hashlens", appauthor=False)
    return Path(root) / "numba" / h.hexdigest()[:16]


def numba_version() -> str:
    import numba

    return str(numba.__version__)


quiet_paths: Callable[..., np.ndarray]
event_paths: Callable[..., tuple[np.ndarray, np.ndarray]]
apply_events: Callable[..., None]
try:
    import numba
    from numba.extending import register_jitable

    for _f in (*OWNER_ARITHMETIC, grow, block_step, online_share, record_kernel):
        register_jitable(error_model="numpy")(_f)  # callable from the kernels, still the plain function everywhere else
    if not os.environ.get("NUMBA_CACHE_DIR"):
        # compiled once per machine, not per process (the user's NUMBA_CACHE_DIR wins)
        numba.config.CACHE_DIR = str(numba_cache_dir())  # type: ignore[attr-defined,unused-ignore]

    def _jit(f: Callable[..., Any]) -> Any:
        return numba.njit(nogil=True, cache=True, error_model="numpy")(f)

    quiet_paths = _jit(quiet_paths_kernel)
    event_paths = _jit(event_paths_kernel)
    apply_events = _jit(apply_events_kernel)
    record_fast: Callable[..., None] | None = _jit(record_kernel)
    steps: Callable[..., tuple[float, float, np.ndarray, np.ndarray, np.ndarray]] | None = _jit(steps_kernel)
    all_steps: Callable[..., tuple[int, float, np.ndarray, np.ndarray, np.ndarray]] | None = _jit(all_steps_kernel)
    fleet: Callable[..., None] = _jit(fleet_kernel)
    fleet_step: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] | None = _jit(fleet_step_kernel)
except ImportError:  # pragma: no cover - numba is a dependency; plain Python keeps the same results
    quiet_paths, event_paths, apply_events = quiet_paths_numpy, event_paths_kernel, apply_events_kernel
    fleet = fleet_kernel
    steps = record_fast = fleet_step = all_steps = None
