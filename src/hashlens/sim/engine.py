"""The Monte Carlo engine, vectorised across paths.

Time advances in steps (default one day). Within a step each path's hashrate is constant, so
its blocks are a Poisson process of rate λ = H/(D·2^32)
(:func:`hashlens.consensus.expected_block_rate_per_s`). A period's last block comes when the
accumulated intensity reaches a Gamma(N − 1) draw — the exact law of N − 1 exponential intervals,
never simulated block by block — and the next period's first block after one more Exp(1) of
intensity at the new difficulty. The retarget is computed from the two blocks' integer times
with :mod:`hashlens.consensus.vectorised` (bit-exact with the scalar rule). Paths run in fixed
chunks, each with its own child of the run's SeedSequence, so results do not depend on the
executor.

A chunk is a :class:`PathState` (every path's chain, price and fleet state as arrays) advanced
by small step functions, in this order each step: :func:`hashprice_usd` at the step's start,
:func:`step_hashrate` and :func:`curtail`, :func:`record` (every ``record_every_days``),
:func:`step_blocks` (blocks and retargets during the step), :func:`step_price` and
:func:`grow_fleet`. No step loops over paths; where a run can, the same steps run fused in
the compiled kernels of :mod:`hashlens.sim.kernels` (proven equal bit for bit on every example).

Its input, a scenario made numbers, is :mod:`hashlens.sim.resolved`'s; what a chunk records,
the chunks' merge and the run's summary are :mod:`hashlens.sim.results`'.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    block_subsidy_btc,
    expected_block_rate_per_s,
)
from hashlens.consensus.vectorised import (
    difficulty,
    difficulty_change_pct,
    retarget,
)
from hashlens.contracts import MAX_SEED
from hashlens.economics.fleet import Operating, breakeven_hashprice_usd_per_ph_day
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.errors import HashlensError
from hashlens.sim import kernels, theory
from hashlens.sim.prices import gbm_log_steps, gbm_step
from hashlens.sim.resolved import Resolved
from hashlens.sim.results import ChunkResult, ensure_columns, merge
from hashlens.sim.scenario import Curtailment, Scenario
from hashlens.units import DAYS_PER_YEAR, HS_PER_EHS, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
CHUNK = 4096  # paths a chunk: fixed (results depend on it), small enough that 2 cores share 8,192 paths
EH = HS_PER_EHS  # [H/s] in one EH/s (hashlens.units)


# -- the run's fixed quantities ------------------------------------------------------------
@dataclass(frozen=True)
class FleetModel:
    """Generations of machines that run while they pay (the ``fleet`` hashrate model).

    A machine of ε J/TH paying p $/kWh runs while its breakeven hashprice
    (:func:`hashlens.economics.fleet.breakeven_hashprice_usd_per_ph_day`, no pool fee, the
    scenario's PUE; 24·ε·p·PUE) is below the hashprice. The breakeven is proportional to p,
    so with p lognormal around p_med with spread σ the share of a generation that runs is
    Φ((ln HP − ln HP*(p_med))/σ) (:func:`online_share`).
    """

    share: np.ndarray  # (G,) share of the initial hashrate [0-1]
    breakeven: np.ndarray  # (G,) median machine's breakeven hashprice [USD/PH/day]
    log_breakeven: np.ndarray  # (G,) its logarithm
    sigma: np.ndarray  # (G,) lognormal spread of the power price [-]
    inv_sigma: np.ndarray  # (G,) 1/σ, 0 where σ = 0 (all of the generation runs or none)
    lag_factor: float  # share of the gap to the target closed per step when switching on [-]
    growth_per_step: float  # factor on the newest generation's capacity per step [-]


@dataclass(frozen=True)
class Plan:
    """What stays fixed during a chunk: steps, the recording grid and the models' constants."""

    steps: int
    step_days: float  # [days]
    dt: float  # [s]
    rec_every: int  # steps between records
    n_rec: int
    k_max: int  # adjustments and periods stored per path, at most
    k_start: int  # columns allocated at first (grown on demand up to k_max)
    growth_per_s: float  # growth model's rate g [1/s]
    price_drift: float  # GBM log drift per step [-]
    price_sigma: float  # GBM log volatility per step [-]
    fleet: FleetModel | None


def fleet_model(r: Resolved) -> FleetModel | None:
    """The fleet's switch-off rule from the scenario and the generations' efficiencies."""
    s = r.scenario
    if not s.fleet:
        return None
    pm = np.array([g.power_price_median for g in s.fleet])
    ps = np.array([g.power_price_sigma for g in s.fleet])
    be = np.asarray(
        breakeven_hashprice_usd_per_ph_day(1.0, r.efficiencies, Operating(pool_fee=0.0, pue=s.pue), pm), dtype=float
    )
    return FleetModel(
        share=np.array([g.share for g in s.fleet]),
        breakeven=be,
        log_breakeven=np.log(be),
        sigma=ps,
        inv_sigma=np.where(ps > 0, 1.0 / np.where(ps > 0, ps, 1.0), 0.0),
        lag_factor=1.0 - math.exp(-s.step_days / s.switch_on_lag_days) if s.switch_on_lag_days > 0 else 1.0,
        growth_per_step=(1 + s.fleet_growth_pct_per_year / 100) ** (s.step_days / DAYS_PER_YEAR),
    )


def _grid(s: Scenario) -> tuple[int, int]:
    """(steps, record every n-th step) of scenario ``s``."""
    return math.ceil(s.days / s.step_days), max(1, round(s.record_every_days / s.step_days))


def make_plan_counts(s: Scenario) -> tuple[int, int]:
    """(steps, recorded steps) of a run of scenario ``s``, before anything is allocated."""
    steps, rec_every = _grid(s)
    return steps, steps // rec_every + 1


def make_plan(r: Resolved) -> Plan:
    """The fixed quantities of a run of ``r``: its steps, recording grid and model constants."""
    s = r.scenario
    steps, rec_every = _grid(s)
    drift, vol = gbm_step(s.mu_annual, s.sigma_annual, s.step_days, DAYS_PER_YEAR)
    return Plan(
        steps=steps,
        step_days=s.step_days,
        dt=s.step_days * SECONDS_PER_DAY,
        rec_every=rec_every,
        n_rec=steps // rec_every + 1,
        k_max=int(s.days / 3) + 8,  # no period can be shorter than T/4 ... plus slack
        # most runs see a period every ~14 days: start right-sized, grow if a path needs more
        k_start=min(int(s.days / 3) + 8, int(s.days / 10) + 16),
        growth_per_s=theory.growth_rate_per_s(s.growth_pct_per_14_days) if s.hashrate_model == "growth" else 0.0,
        price_drift=drift,
        price_sigma=vol,
        fleet=fleet_model(r),
    )


# -- the paths' state ----------------------------------------------------------------------
@dataclass
class PathState:
    """Every path's state between two steps; arrays of length n (paths) unless said."""

    t: float  # time since the start [s], the same on every path
    mantissa: np.ndarray  # int64, compact bits of the running period
    exponent: np.ndarray  # int64
    difficulty: np.ndarray  # [-]
    period_start: np.ndarray  # time of the running period's first block [s]
    phase: np.ndarray  # int8: 0 mining the period's N − 1 timed intervals, 1 waiting for the next period's first block
    need: np.ndarray  # intensity still to go to the next event [expected blocks]
    acc: np.ndarray  # intensity spent in the running period's timed intervals [expected blocks]
    periods: np.ndarray  # int64, completed periods
    n_adj: np.ndarray  # int64, retargets done
    price: np.ndarray  # [USD/BTC]
    online: np.ndarray | None  # (G, n) share of each generation running [0-1]
    capacity: np.ndarray | None  # (G, n) installed hashrate of each generation [EH/s]
    boot_start: np.ndarray | None  # int64, start of each path's resampled block of returns
    boot_off: np.ndarray | None  # int64, position inside that block
    # scratch kept across steps so a step allocates nothing path-sized it does not need
    rem: np.ndarray | None = None  # time left in the step of the paths with events [s]
    h_const: np.ndarray | None = None  # the constant model's hashrate array [EH/s]
    lam_for: np.ndarray | None = None  # the hashrate array ``lam`` was computed for
    lam: np.ndarray | None = None  # block rate of each path at its difficulty [blocks/s]


def initial_state(r: Resolved, n: int, plan: Plan, rng: np.random.Generator) -> PathState:
    """n paths at the first block of the starting period. Draws, in order: the first period's
    Gamma(N − 1) and, for the bootstrap, each path's first block of returns."""
    s = r.scenario
    m = np.full(n, r.mantissa, dtype=np.int64)
    e = np.full(n, r.exponent, dtype=np.int64)
    st = PathState(
        t=0.0,
        mantissa=m,
        exponent=e,
        difficulty=difficulty(m, e),
        period_start=np.zeros(n),
        phase=np.zeros(n, dtype=np.int8),
        need=rng.gamma(N - 1, 1.0, n),
        acc=np.zeros(n),
        periods=np.zeros(n, dtype=np.int64),
        n_adj=np.zeros(n, dtype=np.int64),
        price=np.full(n, r.price_usd),
        online=None,
        capacity=None,
        boot_start=None,
        boot_off=None,
    )
    if s.price_model == "bootstrap":
        rets = s.bootstrap_returns
        if rets is None or len(rets) < s.block_days + 1:
            raise HashlensError("price.model bootstrap: no stored price series long enough to resample")
        st.boot_start = rng.integers(0, len(rets) - s.block_days, n)
        st.boot_off = np.zeros(n, dtype=np.int64)
    if plan.fleet is not None:
        # Installed capacity such that the share online at the starting hashprice gives the
        # starting hashrate (at least MIN_ONLINE of each generation counted as running).
        fl = plan.fleet
        st.online = np.empty((fl.share.size, n))
        kernels.fleet(
            hashprice_usd(r, st),
            fl.log_breakeven,
            fl.inv_sigma,
            1.0,
            st.online,
            np.zeros_like(st.online),
            np.empty(n),
            True,
        )
        st.capacity = (fl.share[:, None] * r.hashrate_ehs) / st.online
    return st


# -- step functions ------------------------------------------------------------------------
def heights(st: PathState, height0: int) -> np.ndarray:
    """Each path's current block height: the intensity spent stands for the blocks mined [-]."""
    within = np.where(st.phase == 0, np.minimum(st.acc, N - 1).astype(np.int64), N - 1)
    return height0 + st.periods * N + within


def hashprice_usd(r: Resolved, st: PathState) -> np.ndarray:
    """Each path's hashprice at its current height, difficulty and price [USD/PH/day]:
    :func:`hashlens.economics.hashprice.hashprice_btc_per_ph_day` × price."""
    subsidy = block_subsidy_btc(heights(st, r.height))
    return np.asarray(hashprice_btc_per_ph_day(st.difficulty, subsidy, r.scenario.fees_btc_per_block)) * st.price


def step_hashrate(r: Resolved, plan: Plan, st: PathState, hp: np.ndarray) -> np.ndarray:
    """Each path's hashrate for the coming step [EH/s]. The fleet model switches machines off
    at once and back on with a lag (updating ``st.online``); the growth model uses the mean
    of H_0·e^{gt} over the step."""
    n = st.price.size
    model = r.scenario.hashrate_model
    if model == "fleet":
        fl = plan.fleet
        assert fl is not None and st.online is not None and st.capacity is not None
        h = np.empty(n)
        kernels.fleet(hp, fl.log_breakeven, fl.inv_sigma, fl.lag_factor, st.online, st.capacity, h, False)
        return h
    if model == "growth":
        g, t, dt = plan.growth_per_s, st.t, plan.dt
        return np.full(n, r.hashrate_ehs * (math.exp(g * t) * (math.expm1(g * dt) / (g * dt)) if g else 1.0))
    if st.h_const is None or st.h_const.size != n:
        st.h_const = np.full(n, r.hashrate_ehs)
    return st.h_const


def curtail(h: np.ndarray, curtailment: list[Curtailment], day: float, step_days: float) -> np.ndarray:
    """Hashrate after curtailment: each event removes its share for the part of the step it
    overlaps [EH/s]."""
    for f in curtail_factors(curtailment, day, step_days):
        h = h * float(f)
    return h


def record(
    out: ChunkResult, i: int, day: float, st: PathState, h: np.ndarray, hp: np.ndarray, fleet: FleetModel | None
) -> None:
    """Write record ``i``: difficulty, hashrate, hashprice, price and, per generation, the
    median machine's margin 1 − HP*/HP [-]."""
    out.record_days[i] = day
    out.difficulty[i], out.hashrate_ehs[i], out.hashprice_usd[i], out.price_usd[i] = st.difficulty, h, hp, st.price
    if fleet is not None:
        out.margins[i] = 1.0 - fleet.breakeven[:, None] / np.maximum(hp, 1e-9)[None, :]


def step_blocks(st: PathState, h: np.ndarray, dt: float, rng: np.random.Generator, out: ChunkResult) -> None:
    """Mine the blocks of one step of ``dt`` [s] at hashrate ``h`` [EH/s].

    Every event is found at once for all paths that reach it within the step: a period's last
    block (retarget from the integer times of its first and last block, new Exp(1) to the next
    period's first block) or a next period's first block (the period's duration is recorded, new
    Gamma(N − 1)). The loop runs over events, at most a few per path and step, never over paths.
    Writes ``out.adjustments``, ``adjustment_days`` and ``period_s``; advances the state but not
    ``st.t``.
    """
    k_max = out.k_max
    d = st.difficulty
    if st.lam_for is h and st.lam is not None:
        # the same hashrate array as last step: the rates kept (updated at every retarget) hold
        lam = st.lam
    else:
        lam = np.asarray(expected_block_rate_per_s(h * EH, d), dtype=np.float64)
        st.lam_for, st.lam = h, lam
    if st.rem is None or st.rem.size != h.size:
        st.rem = np.empty(h.size)
    rem = st.rem
    # One fused pass (numba) settles every path with no event in the step and returns the
    # others; the event loop below then runs over those few only, in the same order as before.
    active = busy = kernels.quiet_paths(st.need, st.acc, st.phase, lam, float(dt))
    rem[busy] = dt
    t_end = st.t + dt
    while active.size:
        idx, tev = kernels.event_paths(active, st.need, lam, rem, t_end)
        if not idx.size:
            break
        last = st.phase[idx] == 0
        i0, t0 = idx[last], tev[last]
        i1, t1 = idx[~last], tev[~last]
        if i0.size:  # the period's last block: retarget by the owner's vectorised rule
            span = np.floor(t0) - np.floor(st.period_start[i0])
            nm, ne = retarget(st.mantissa[i0], st.exponent[i0], span)
            nd = difficulty(nm, ne)
            change = np.asarray(difficulty_change_pct(d[i0], nd), dtype=np.float64)
            lam_new = np.asarray(expected_block_rate_per_s(h[i0] * EH, nd), dtype=np.float64)
            ensure_columns(out, int(st.n_adj[i0].max()) + 1)
        else:
            nm = ne = np.zeros(0, dtype=np.int64)
            nd = change = lam_new = np.zeros(0)
        if i1.size:
            ensure_columns(out, int(st.periods[i1].max()) + 1)
        # the draws, in the order numpy made them: an Exp(1) per retargeted path, then a
        # Gamma(N − 1) per path starting a period
        kernels.apply_events(
            i0,
            t0,
            nm,
            ne,
            nd,
            change,
            lam_new,
            i1,
            t1,
            k_max,
            float(SECONDS_PER_DAY),
            N - 1,
            st.n_adj,
            st.mantissa,
            st.exponent,
            d,
            lam,
            st.acc,
            st.phase,
            st.need,
            st.periods,
            st.period_start,
            out.adjustments,
            out.adjustment_days,
            out.period_s,
            rng,
        )
        active = idx
    # the paths that had events: spend what is left of the step
    used = lam[busy] * rem[busy]
    st.need[busy] -= used
    st.acc[busy] += np.where(st.phase[busy] == 0, used, 0.0)


def _by_period(out: ChunkResult) -> list[np.ndarray]:
    """The chunk's per-period arrays as (K, n), the layout the fused kernels write: one round's
    events land in one row, paths in order, not each in its own row far apart. No copy where
    they were allocated so (:func:`_empty_result`'s ``by_period``)."""
    return [np.ascontiguousarray(a.T) for a in (out.adjustments, out.adjustment_days, out.period_s)]


def _by_path(out: ChunkResult, per: list[np.ndarray]) -> None:
    """Back to (n, K) in ``out`` after the fused kernels: views, transposed once, when
    :func:`run_chunk` copies the columns used."""
    out.adjustments, out.adjustment_days, out.period_s = (a.T for a in per)


def step_price(
    r: Resolved, plan: Plan, st: PathState, rng: np.random.Generator, day0: float, z: np.ndarray | None = None
) -> None:
    """Move each path's price from the step starting on ``day0`` to ``st.t``: GBM, a block
    bootstrap of stored daily log returns, or the price-path file (the GBM's arithmetic from
    :mod:`hashlens.sim.prices`, the one price-path module); then any shocks whose day falls
    in the step. ``z``: the GBM's standard normals, already drawn (else drawn here)."""
    s = r.scenario
    n = st.price.size
    day1 = st.t / SECONDS_PER_DAY
    if s.price_model == "gbm":
        if z is None:
            z = rng.standard_normal(n)
        st.price = st.price * np.exp(gbm_log_steps(z, plan.price_drift, plan.price_sigma))
    elif s.price_model == "bootstrap":
        assert st.boot_start is not None and st.boot_off is not None
        rets = s.bootstrap_returns
        total = np.zeros(n)
        for _ in range(max(1, round(s.step_days))):
            total += rets[st.boot_start + st.boot_off]
            st.boot_off += 1
            renew = st.boot_off >= s.block_days
            if renew.any():
                st.boot_start[renew] = rng.integers(0, len(rets) - s.block_days, int(renew.sum()))
                st.boot_off[renew] = 0
        st.price = st.price * np.exp(total)
    elif s.price_model == "path":
        path = s.price_path
        st.price = np.full(n, float(path[min(int(day1), len(path) - 1)]))
    for shock in s.shocks:
        if day0 < shock.day <= day1:
            st.price = st.price * (1 + shock.pct / 100.0)


def grow_fleet(plan: Plan, st: PathState) -> None:
    """New machines: the newest generation's installed capacity grows each step."""
    if plan.fleet is not None and st.capacity is not None and plan.fleet.growth_per_step != 1.0:
        st.capacity[-1] *= plan.fleet.growth_per_step


def _record_arrays(n: int, plan: Plan, generations: int) -> tuple[np.ndarray, ...]:
    """difficulty, hashrate, hashprice, price (R, n) and margins (R, G, n), float32."""
    return (
        *(np.empty((plan.n_rec, n), np.float32) for _ in range(4)),
        np.empty((plan.n_rec, generations, n), np.float32),
    )


def _empty_result(
    n: int, plan: Plan, generations: int, into: tuple[np.ndarray, ...] | None = None, by_period: bool = False
) -> ChunkResult:
    """A chunk's result arrays; the records are written into ``into`` (views of the run's
    arrays) where given, so chunks need no merge copy. ``by_period``: the per-period arrays
    are (n, K) views of (K, n) arrays, the layout the fused kernels write (:func:`_by_period`),
    so they are never transposed before the kernels."""

    def nan(shape: tuple[int, int]) -> np.ndarray:
        if by_period:
            return np.full(shape[::-1], np.nan, dtype=np.float32).T
        return np.full(shape, np.nan, dtype=np.float32)

    rec = into if into is not None else _record_arrays(n, plan, generations)
    return ChunkResult(
        record_days=np.empty(plan.n_rec),
        difficulty=rec[0],
        hashrate_ehs=rec[1],
        hashprice_usd=rec[2],
        price_usd=rec[3],
        margins=rec[4],
        adjustments=nan((n, plan.k_start)),
        adjustment_days=nan((n, plan.k_start)),
        period_s=nan((n, plan.k_start)),
        periods_done=np.zeros(n, dtype=np.int64),
        k_max=plan.k_max,
    )


def run_chunk(
    r: Resolved, n: int, seed: np.random.SeedSequence, into: tuple[np.ndarray, ...] | None = None
) -> ChunkResult:
    """Simulate ``n`` paths with their own random stream ``seed`` (records written into
    ``into`` where given)."""
    s = r.scenario
    rng = np.random.default_rng(seed)
    plan = make_plan(r)
    st = initial_state(r, n, plan, rng)
    fused = kernels.steps is not None and plan.fleet is None and s.price_model != "bootstrap"
    fleet_fused = kernels.fleet_step is not None and plan.fleet is not None
    out = _empty_result(n, plan, len(s.fleet), into, by_period=fused or fleet_fused)
    if fused:
        n_rec = _run_fused(r, plan, st, out, rng)
    elif fleet_fused:
        n_rec = _run_fleet_fused(r, plan, st, out, rng)
    else:
        n_rec = _run_stepwise(r, plan, st, out, rng)
    # right-size: keep only the columns some path used (copies, (n, K) in order, so the big
    # arrays are freed)
    used = max(1, min(out.adjustments.shape[1], int(max(st.n_adj.max(initial=0), st.periods.max(initial=0)))))
    return ChunkResult(
        out.record_days[:n_rec],
        out.difficulty[:n_rec],
        out.hashrate_ehs[:n_rec],
        out.hashprice_usd[:n_rec],
        out.price_usd[:n_rec],
        out.margins[:n_rec],
        out.adjustments[:, :used].copy(),
        out.adjustment_days[:, :used].copy(),
        out.period_s[:, :used].copy(),
        st.periods,
    )


def _step_hashrates(r: Resolved, plan: Plan) -> np.ndarray:
    """The hashrate of every step (after curtailment) where it is the same on every path
    (constant and growth models) [EH/s], with the times computed as the step loop does; worked
    out once per run, not per chunk (read only)."""
    s = r.scenario
    curtailment = tuple((c.start_day, c.days, c.share) for c in s.curtailment)
    return _step_hashrates_of(
        s.hashrate_model, r.hashrate_ehs, plan.growth_per_s, plan.dt, plan.steps, plan.step_days, curtailment
    )


@functools.lru_cache(maxsize=16)
def _step_hashrates_of(
    model: str,
    h0: float,
    g: float,
    dt: float,
    steps: int,
    step_days: float,
    curtailment: tuple[tuple[float, float, float], ...],
) -> np.ndarray:
    events = [Curtailment(*c) for c in curtailment]
    out = np.empty(steps + 1)
    t = 0.0
    for k in range(steps + 1):
        h = h0 * (math.exp(g * t) * (math.expm1(g * dt) / (g * dt)) if g else 1.0) if model == "growth" else h0
        for f in curtail_factors(events, t / SECONDS_PER_DAY, step_days):
            h = h * float(f)
        out[k] = h
        t += dt
    out.flags.writeable = False
    return out


def _run_fused(r: Resolved, plan: Plan, st: PathState, out: ChunkResult, rng: np.random.Generator) -> int:
    """The step loop for hashrates the same on every path and prices that do not feed back
    into the blocks: the numba pass :func:`kernels.steps_kernel` runs the steps between two records
    (blocks, retargets and the GBM's draws, in the order of :func:`step_blocks` then
    :func:`step_price`), the prices are then moved step by step with those draws."""
    s = r.scenario
    assert kernels.steps is not None and kernels.record_fast is not None
    n = st.price.size
    hs = _step_hashrates(r, plan)
    gbm = s.price_model == "gbm"
    normals = np.empty((plan.rec_every if gbm else 0, n))
    rem = np.empty(n)
    hits, act, idx = (np.empty(n, dtype=np.int64) for _ in range(3))
    tev = np.empty(n)
    last = np.empty(n, dtype=np.bool_)
    lam = np.empty(n)
    hv = np.empty(n)
    per = _by_period(out)
    if kernels.all_steps is not None and s.price_model == "constant" and not s.shocks:
        # the price never moves: every step in one call
        n_rec, st.t, per[0], per[1], per[2] = kernels.all_steps(
            plan.steps, plan.rec_every, plan.n_rec, st.t, float(plan.dt), hs, r.height, float(s.fees_btc_per_block),
            st.price, out.record_days, out.difficulty, out.hashrate_ehs, out.hashprice_usd, out.price_usd, hv, lam,
            st.need, st.acc, st.phase, st.mantissa, st.exponent, st.difficulty, st.period_start, st.n_adj,
            st.periods, per[0], per[1], per[2], plan.k_max, rem, hits, act, idx, tev, last, rng,
        )  # fmt: skip
        _by_path(out, per)
        return int(n_rec)
    h_prev = math.nan
    n_rec = 0
    step = 0
    while True:
        if step % plan.rec_every == 0 and n_rec < plan.n_rec:
            out.record_days[n_rec] = st.t / SECONDS_PER_DAY
            kernels.record_fast(
                n_rec,
                float(hs[step]),
                r.height,
                float(s.fees_btc_per_block),
                st.difficulty,
                st.acc,
                st.phase,
                st.periods,
                st.price,
                out.difficulty,
                out.hashrate_ehs,
                out.hashprice_usd,
                out.price_usd,
            )
            n_rec += 1
        if step == plan.steps:
            break
        end = min(plan.steps, (step // plan.rec_every + 1) * plan.rec_every)
        t0 = st.t
        st.t, h_prev, per[0], per[1], per[2] = kernels.steps(
            end - step,
            st.t,
            float(plan.dt),
            hs[step:end],
            h_prev,
            hv,
            lam,
            st.need,
            st.acc,
            st.phase,
            st.mantissa,
            st.exponent,
            st.difficulty,
            st.period_start,
            st.n_adj,
            st.periods,
            per[0],
            per[1],
            per[2],
            plan.k_max,
            normals,
            rem,
            hits,
            act,
            idx,
            tev,
            last,
            rng,
        )
        if s.price_model != "constant" or s.shocks:
            t_end, st.t = st.t, t0
            for j in range(end - step):
                day0 = st.t / SECONDS_PER_DAY
                st.t += plan.dt
                step_price(r, plan, st, rng, day0, normals[j] if gbm else None)
            assert st.t == t_end
        step = end
    _by_path(out, per)
    return n_rec


def curtail_factors(curtailment: list[Curtailment], day: float, step_days: float) -> np.ndarray:
    """The factors :func:`curtail` multiplies the hashrate of the step starting on ``day`` by,
    in its order [-]."""
    out = []
    for c in curtailment:
        overlap = max(0.0, min(day + step_days, c.start_day + c.days) - max(day, c.start_day))
        if overlap > 0:
            out.append(1.0 - c.share * overlap / step_days)
    return np.array(out, dtype=float)


def _run_fleet_fused(r: Resolved, plan: Plan, st: PathState, out: ChunkResult, rng: np.random.Generator) -> int:
    """The step loop of the fleet model: the numba pass :func:`kernels.fleet_step_kernel` does each
    step's hashprice, fleet, hashrate, record and blocks (in the order of
    :func:`_run_stepwise`), then the price moves (:func:`step_price`, any price model) and the
    newest generation grows."""
    s = r.scenario
    fl = plan.fleet
    assert kernels.fleet_step is not None and fl is not None and st.online is not None and st.capacity is not None
    n = st.price.size
    hv, lam, rem, tev = (np.empty(n) for _ in range(4))
    hits, act, idx = (np.empty(n, dtype=np.int64) for _ in range(3))
    last = np.empty(n, dtype=np.bool_)
    fees = float(s.fees_btc_per_block)
    per = _by_period(out)
    n_rec = 0
    for step in range(plan.steps + 1):
        day = st.t / SECONDS_PER_DAY
        recording = step % plan.rec_every == 0 and n_rec < plan.n_rec
        if recording:
            out.record_days[n_rec] = day
        per[0], per[1], per[2] = kernels.fleet_step(
            st.t, float(plan.dt), r.height, fees, st.price, curtail_factors(s.curtailment, day, plan.step_days),
            n_rec if recording else -1, fl.log_breakeven, fl.inv_sigma, fl.breakeven, fl.lag_factor,
            st.online, st.capacity, out.difficulty, out.hashrate_ehs, out.hashprice_usd, out.price_usd, out.margins,
            hv, lam, st.need, st.acc, st.phase, st.mantissa, st.exponent, st.difficulty, st.period_start, st.n_adj,
            st.periods, per[0], per[1], per[2], plan.k_max, rem, hits, act, idx, tev,
            last, rng, step < plan.steps,
        )  # fmt: skip
        if recording:
            n_rec += 1
        if step == plan.steps:
            break
        st.t += plan.dt
        step_price(r, plan, st, rng, day)
        grow_fleet(plan, st)
    _by_path(out, per)
    return n_rec


def _run_stepwise(r: Resolved, plan: Plan, st: PathState, out: ChunkResult, rng: np.random.Generator) -> int:
    """The step loop, one step function after the other (every model)."""
    s = r.scenario
    n_rec = 0
    for step in range(plan.steps + 1):
        day = st.t / SECONDS_PER_DAY
        recording = step % plan.rec_every == 0 and n_rec < plan.n_rec
        # hashprice is needed by the fleet model every step, else only where recorded
        hp = hashprice_usd(r, st) if plan.fleet is not None or recording else st.price
        h = curtail(step_hashrate(r, plan, st, hp), s.curtailment, day, plan.step_days)
        if recording:
            record(out, n_rec, day, st, h, hp, plan.fleet)
            n_rec += 1
        if step == plan.steps:
            break
        step_blocks(st, h, plan.dt, rng, out)
        st.t += plan.dt
        step_price(r, plan, st, rng, day)
        grow_fleet(plan, st)
    return n_rec


def chunk_plan(paths: int, seed: int, chunk: int = CHUNK) -> list[tuple[int, np.random.SeedSequence]]:
    """Fixed chunks with their own seeds: the same (paths, seed) gives the same draws on any executor."""
    sizes = [min(chunk, paths - i) for i in range(0, paths, chunk)]
    return list(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True))


def simulate(
    r: Resolved,
    paths: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    map_fn: Callable[..., list[ChunkResult]] | None = None,
) -> ChunkResult:
    """Run all chunks (sequentially, or through ``map_fn`` such as a thread or Dask map)."""
    if paths < 1:
        raise HashlensError("--paths must be at least 1")
    if not 0 <= seed <= MAX_SEED:
        got = f"{seed:,}" if abs(seed) < 10**20 else f"a number of {len(str(abs(seed)))} digits"
        raise HashlensError(f"--seed must be between 0 and {MAX_SEED:,} (got {got})")
    plan = chunk_plan(paths, seed)

    def job(item: tuple[int, np.random.SeedSequence]) -> ChunkResult:
        out = run_chunk(r, item[0], item[1])
        if progress:
            progress(item[0])
        return out

    if map_fn is not None:
        return merge(map_fn(job, plan))
    # In this process the chunks write their records straight into the run's arrays.
    records = _record_arrays(paths, make_plan(r), len(r.scenario.fleet))
    offsets = np.concatenate([[0], np.cumsum([n for n, _ in plan])])

    def job_in_place(i: int) -> ChunkResult:
        sl = slice(int(offsets[i]), int(offsets[i + 1]))
        into = (*(a[:, sl] for a in records[:4]), records[4][:, :, sl])
        out = run_chunk(r, plan[i][0], plan[i][1], into)
        if progress:
            progress(plan[i][0])
        return out

    if len(plan) > 1 and (os.cpu_count() or 1) > 1:
        # numpy and the numba pass release the GIL, so chunks on threads use every core; the
        # chunk seeds are fixed, so the result is the same as a sequential run.
        with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, len(plan))) as pool:
            parts = list(pool.map(job_in_place, range(len(plan))))
    else:
        parts = [job_in_place(i) for i in range(len(plan))]
    return merge(parts, records)
