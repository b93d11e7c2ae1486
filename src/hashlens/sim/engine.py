"""The Monte Carlo engine, vectorised across paths.

Time advances in steps (default one day). Within a step each path's hashrate is constant, so
its blocks are a Poisson process of rate λ = H/(D·2^32). A period's last block comes when the
accumulated intensity reaches a Gamma(2015) draw — the exact law of 2015 exponential intervals,
never simulated block by block — and the next period's first block after one more Exp(1) of
intensity at the new difficulty. The retarget is computed from the two blocks' integer times
with :mod:`hashlens.consensus.vectorised` (bit-exact with the scalar rule). Paths run in fixed chunks, each
with its own child of the run's SeedSequence, so results do not depend on the executor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
from hashlens.consensus.vectorised import difficulty, retarget, split_bits
from hashlens.errors import HashlensError
from hashlens.sim import theory
from hashlens.sim.scenario import Scenario

N = DIFFICULTY_ADJUSTMENT_INTERVAL
CHUNK = 16384
TWO32 = 2.0**32
SECONDS_PER_DAY = 86400.0


@dataclass
class Resolved:
    """A scenario with every initial quantity a number."""

    scenario: Scenario
    mantissa: int
    exponent: int
    hashrate_ehs: float
    price_usd: float
    height: int
    efficiencies: np.ndarray  # per fleet generation [J/TH]


def resolve(
    s: Scenario, chain: dict[str, Any] | None = None, efficiency_of: Callable[[str], float] | None = None
) -> Resolved:
    """Fill the initial state from the scenario, then from ``chain`` (facts read from the store
    by the caller: bits, hashrate, price, height), then from steady-state formulas."""
    chain = chain or {}
    bits = s.bits if s.bits is not None else chain.get("bits")
    h0 = s.hashrate_ehs if s.hashrate_ehs is not None else chain.get("hashrate_ehs")
    if h0 is None:
        raise HashlensError("initial.hashrate_ehs: not given and no chain state to take it from")
    price = s.price_usd if s.price_usd is not None else chain.get("price_usd")
    if price is None:
        if s.price_model == "path":
            price = float(s.price_path[0]) if s.price_path is not None else None
        if price is None:
            raise HashlensError("initial.price_usd: not given and no stored price to take it from")
    height = s.height if s.height is not None else int(chain.get("height", 0))
    height = (height // N) * N  # runs start at a period's first block
    if isinstance(s.difficulty, str) or (bits is None and s.difficulty is None):
        g = theory.growth_rate_per_s(s.growth_pct_per_14_days) if s.hashrate_model == "growth" else 0.0
        a = theory.steady_state_start_rate(g)
        d0 = h0 * 1e18 / (a * TWO32)
        from hashlens.consensus import MAX_TARGET, target_to_bits

        bits = target_to_bits(int(MAX_TARGET / d0))
    elif s.difficulty is not None:
        from hashlens.consensus import MAX_TARGET, target_to_bits

        bits = target_to_bits(int(MAX_TARGET / float(s.difficulty)))
    assert bits is not None
    m, e = split_bits(int(bits))
    effs = np.array([efficiency_of(g.model) if efficiency_of else g.efficiency_j_per_th for g in s.fleet], dtype=float)
    return Resolved(s, m, e, float(h0), float(price), height, effs)


def _subsidy_btc(height: np.ndarray) -> np.ndarray:
    halvings = height // 210_000
    return np.where(halvings < 64, np.right_shift(5_000_000_000, np.minimum(halvings, 63)), 0) / 1e8


def _erf_cdf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 erf approximation (|error| < 1.5e-7), vectorised.
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


@dataclass
class ChunkResult:
    record_days: np.ndarray  # (R,)
    difficulty: np.ndarray  # (R, n) float32
    hashrate_ehs: np.ndarray
    hashprice_usd: np.ndarray
    price_usd: np.ndarray
    margins: np.ndarray  # (R, G, n) float32, median-machine margin per generation
    adjustments: np.ndarray  # (n, K) float32, % change, NaN after the path's last
    adjustment_days: np.ndarray  # (n, K) float32
    period_s: np.ndarray  # (n, K) float32, duration of each completed period (first block to next first)
    periods_done: np.ndarray  # (n,)


def run_chunk(r: Resolved, n: int, seed: np.random.SeedSequence) -> ChunkResult:
    s = r.scenario
    rng = np.random.default_rng(seed)
    steps = math.ceil(s.days / s.step_days)
    dt = s.step_days * SECONDS_PER_DAY
    rec_every = max(1, round(s.record_every_days / s.step_days))
    n_rec = steps // rec_every + 1
    k_max = int(s.days / 3) + 8  # no period can be shorter than T/4 ... plus slack
    m = np.full(n, r.mantissa, dtype=np.int64)
    e = np.full(n, r.exponent, dtype=np.int64)
    d = difficulty(m, e)
    pstart = np.zeros(n)
    phase = np.zeros(n, dtype=np.int8)
    need = rng.gamma(N - 1, 1.0, n)
    acc = np.zeros(n)
    periods = np.zeros(n, dtype=np.int64)
    period_s = np.full((n, k_max), np.nan, dtype=np.float32)
    adj = np.full((n, k_max), np.nan, dtype=np.float32)
    adj_day = np.full((n, k_max), np.nan, dtype=np.float32)
    nadj = np.zeros(n, dtype=np.int64)
    price = np.full(n, r.price_usd)
    fees = s.fees_btc_per_block
    G = len(s.fleet)
    rec_d = np.empty((n_rec, n), np.float32)
    rec_h = np.empty((n_rec, n), np.float32)
    rec_hp = np.empty((n_rec, n), np.float32)
    rec_p = np.empty((n_rec, n), np.float32)
    rec_m = np.empty((n_rec, G, n), np.float32)
    rec_days = np.empty(n_rec)
    g_rate = theory.growth_rate_per_s(s.growth_pct_per_14_days) if s.hashrate_model == "growth" else 0.0
    sigma_d = s.sigma_annual * math.sqrt(s.step_days / 365.25)
    drift_d = (s.mu_annual - 0.5 * s.sigma_annual**2) * s.step_days / 365.25
    # bootstrap state
    rets = s.bootstrap_returns
    if s.price_model == "bootstrap":
        if rets is None or len(rets) < s.block_days + 1:
            raise HashlensError("price.model bootstrap: no stored price series long enough to resample")
        b_start = rng.integers(0, len(rets) - s.block_days, n)
        b_off = np.zeros(n, dtype=np.int64)
    # fleet state
    if G:
        pm = np.array([g.power_price_median for g in s.fleet])
        ps = np.array([g.power_price_sigma for g in s.fleet])
        share = np.array([g.share for g in s.fleet])
        lag_factor = 1.0 - math.exp(-s.step_days / s.switch_on_lag_days) if s.switch_on_lag_days > 0 else 1.0
        fleet_growth = (1 + s.fleet_growth_pct_per_year / 100) ** (s.step_days / 365.25)

    if G:
        # A machine of ε J/TH paying p $/kWh is profitable while 24·ε·p·PUE < hashprice, so the
        # share of a generation with lognormal p that runs is Φ((ln HP - ln(24 ε PUE) - ln p_med)/σ).
        log_scale = np.log(24.0 * r.efficiencies * s.pue * pm)[:, None]
        inv_sigma = np.where(ps > 0, 1.0 / np.where(ps > 0, ps, 1.0), 0.0)[:, None]
        any_step = bool((ps == 0).any())

    def fleet_target(hp: np.ndarray) -> np.ndarray:
        """(G, n) share of each generation whose power cost is below revenue at hashprice hp."""
        log_hp = np.log(np.maximum(hp, 1e-300))[None, :]
        out = _erf_cdf((log_hp - log_scale) * inv_sigma)
        if any_step:
            out = np.where(ps[:, None] > 0, out, (log_hp > log_scale).astype(float))
        return out

    height0 = r.height

    def hashprice_usd(d_: np.ndarray, price_: np.ndarray, h_: np.ndarray) -> np.ndarray:
        return (_subsidy_btc(h_) + fees) * SECONDS_PER_DAY * 1e15 / (d_ * TWO32) * price_

    def heights() -> np.ndarray:
        return height0 + periods * N + np.where(phase == 0, np.minimum(acc, N - 1).astype(np.int64), N - 1)

    hp = hashprice_usd(d, price, heights())
    if G:
        online = np.clip(fleet_target(hp), 0.02, 1.0)
        capacity = (share[:, None] * r.hashrate_ehs) / online  # installed EH/s per generation
    record_i = 0
    t = 0.0
    shock_days = sorted((sh.day, sh.pct) for sh in s.shocks)
    for step in range(steps + 1):
        day = t / SECONDS_PER_DAY
        # hashrate for the coming step
        hp = hashprice_usd(d, price, heights())
        if s.hashrate_model == "fleet":
            target = fleet_target(hp)
            online = np.where(target < online, target, online + (target - online) * lag_factor)
            h = (capacity * online).sum(axis=0)
        elif s.hashrate_model == "growth":
            h = np.full(
                n,
                r.hashrate_ehs * (math.exp(g_rate * t) * (math.expm1(g_rate * dt) / (g_rate * dt)) if g_rate else 1.0),
            )
        else:
            h = np.full(n, r.hashrate_ehs)
        for c in s.curtailment:
            overlap = max(0.0, min(day + s.step_days, c.start_day + c.days) - max(day, c.start_day))
            if overlap > 0:
                h = h * (1.0 - c.share * overlap / s.step_days)
        if step % rec_every == 0 and record_i < n_rec:
            rec_days[record_i] = day
            rec_d[record_i], rec_h[record_i], rec_hp[record_i], rec_p[record_i] = d, h, hp, price
            if G:
                rec_m[record_i] = (
                    1.0 - 24.0 * r.efficiencies[:, None] * pm[:, None] * s.pue / np.maximum(hp, 1e-9)[None, :]
                )
            record_i += 1
        if step == steps:
            break
        # blocks during the step
        lam = h * 1e18 / (d * TWO32)
        rem = np.full(n, dt)
        active = np.arange(n)
        while active.size:
            with np.errstate(divide="ignore"):
                tte = np.where(lam[active] > 0, need[active] / lam[active], np.inf)
            hit = tte <= rem[active]
            if not hit.any():
                break
            idx = active[hit]
            rem[idx] -= tte[hit]
            tev = t + dt - rem[idx]
            last = phase[idx] == 0
            i0, t0 = idx[last], tev[last]
            if i0.size:
                span = np.floor(t0) - np.floor(pstart[i0])
                nm, ne = retarget(m[i0], e[i0], span)
                nd = difficulty(nm, ne)
                k = nadj[i0]
                ok = k < k_max
                adj[i0[ok], k[ok]] = (nd[ok] / d[i0[ok]] - 1.0) * 100.0
                adj_day[i0[ok], k[ok]] = t0[ok] / SECONDS_PER_DAY
                nadj[i0] += 1
                m[i0], e[i0], d[i0] = nm, ne, nd
                lam[i0] = h[i0] * 1e18 / (nd * TWO32)
                acc[i0] = N - 1
                phase[i0] = 1
                need[i0] = rng.exponential(1.0, i0.size)
            i1, t1 = idx[~last], tev[~last]
            if i1.size:
                kk = periods[i1]
                fits = kk < k_max
                period_s[i1[fits], kk[fits]] = t1[fits] - pstart[i1[fits]]
                periods[i1] += 1
                pstart[i1] = t1
                phase[i1] = 0
                acc[i1] = 0.0
                need[i1] = rng.gamma(N - 1, 1.0, i1.size)
            active = idx
        used = lam * rem
        need -= used
        acc += np.where(phase == 0, used, 0.0)
        t += dt
        # price for the next step
        if s.price_model == "gbm":
            price = price * np.exp(drift_d + sigma_d * rng.standard_normal(n))
        elif s.price_model == "bootstrap":
            steps_here = max(1, round(s.step_days))
            total = np.zeros(n)
            for _ in range(steps_here):
                total += rets[b_start + b_off]
                b_off += 1
                renew = b_off >= s.block_days
                if renew.any():
                    b_start[renew] = rng.integers(0, len(rets) - s.block_days, int(renew.sum()))
                    b_off[renew] = 0
            price = price * np.exp(total)
        elif s.price_model == "path":
            path = s.price_path
            price = np.full(n, float(path[min(int(t / SECONDS_PER_DAY), len(path) - 1)]))
        for sd, pct in shock_days:
            if day < sd <= t / SECONDS_PER_DAY:
                price = price * (1 + pct / 100.0)
        if G and fleet_growth != 1.0:
            capacity[-1] *= fleet_growth
    return ChunkResult(
        rec_days[:record_i],
        rec_d[:record_i],
        rec_h[:record_i],
        rec_hp[:record_i],
        rec_p[:record_i],
        rec_m[:record_i],
        adj,
        adj_day,
        period_s,
        periods,
    )


def chunk_plan(paths: int, seed: int, chunk: int = CHUNK) -> list[tuple[int, np.random.SeedSequence]]:
    """Fixed chunks with their own seeds: the same (paths, seed) gives the same draws on any executor."""
    sizes = [min(chunk, paths - i) for i in range(0, paths, chunk)]
    return list(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True))


def merge(parts: list[ChunkResult]) -> ChunkResult:
    k = max(p.adjustments.shape[1] for p in parts)

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, k - a.shape[1])), constant_values=np.nan)

    return ChunkResult(
        parts[0].record_days,
        np.concatenate([p.difficulty for p in parts], axis=1),
        np.concatenate([p.hashrate_ehs for p in parts], axis=1),
        np.concatenate([p.hashprice_usd for p in parts], axis=1),
        np.concatenate([p.price_usd for p in parts], axis=1),
        np.concatenate([p.margins for p in parts], axis=2),
        np.concatenate([pad(p.adjustments) for p in parts], axis=0),
        np.concatenate([pad(p.adjustment_days) for p in parts], axis=0),
        np.concatenate([pad(p.period_s) for p in parts], axis=0),
        np.concatenate([p.periods_done for p in parts]),
    )


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
    plan = chunk_plan(paths, seed)

    def job(item: tuple[int, np.random.SeedSequence]) -> ChunkResult:
        out = run_chunk(r, item[0], item[1])
        if progress:
            progress(item[0])
        return out

    if map_fn is not None:
        parts = map_fn(job, plan)
    elif len(plan) > 1 and (os.cpu_count() or 1) > 1:
        # numpy releases the GIL in its kernels, so chunks on threads use every core; the
        # chunk seeds are fixed, so the result is the same as a sequential run.
        with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, len(plan))) as pool:
            parts = list(pool.map(job, plan))
    else:
        parts = [job(item) for item in plan]
    return merge(parts)


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def summarise(r: Resolved, res: ChunkResult, k_drops: int = 5) -> dict[str, Any]:
    """Quantiles, probabilities and the mean block interval of a run, as plain JSON data."""
    s = r.scenario
    adj = res.adjustments
    n = adj.shape[0]
    upcoming = []
    for k in range(adj.shape[1]):
        col = adj[:, k]
        have = ~np.isnan(col)
        if have.mean() < 0.5:
            break
        q = np.quantile(col[have], QUANTILES)
        upcoming.append(
            {
                "index": k + 1,
                "share_of_paths": float(have.mean()),
                "day_median": float(np.nanmedian(res.adjustment_days[:, k])),
                "change_pct": dict(zip(("p5", "p25", "p50", "p75", "p95"), map(float, q), strict=True)),
                "mean_change_pct": float(col[have].mean()),
                "p_drop": float((col[have] < 0).mean()),
            }
        )
    first = np.nan_to_num(adj[:, :k_drops], nan=1.0)
    p_consecutive = {str(k): float((first[:, :k] < 0).all(axis=1).mean()) for k in range(1, k_drops + 1)}
    # Over the periods every path completed: counting only periods that happened to finish
    # before the horizon would favour short ones.
    common = int(res.periods_done.min()) if res.periods_done.size else 0
    mean_interval = float(res.period_s[:, :common].astype(np.float64).mean() / N) if common else None

    def fan(a: np.ndarray) -> dict[str, list[float]]:
        q = np.quantile(a, QUANTILES, axis=1)
        return {name: [float(x) for x in q[i]] for i, name in enumerate(("p5", "p25", "p50", "p75", "p95"))}

    margins = {}
    for gi, g in enumerate(s.fleet):
        margins[g.model] = fan(res.margins[:, gi, :])
    return {
        "scenario": s.name,
        "paths": n,
        "days": s.days,
        "start": {
            "height": r.height,
            "bits": f"{(r.exponent << 24) | r.mantissa:08x}",
            "difficulty": float(difficulty(np.array([r.mantissa]), np.array([r.exponent]))[0]),
            "hashrate_ehs": r.hashrate_ehs,
            "price_usd": r.price_usd,
        },
        "upcoming_adjustments": upcoming,
        "p_next_adjustment_negative": upcoming[0]["p_drop"] if upcoming else None,
        "p_consecutive_drops": p_consecutive,
        "mean_block_interval_s": mean_interval,
        "periods_in_mean_interval": common,
        "target_block_interval_s": float(POW_TARGET_SPACING),
        "series": {
            "day": [float(x) for x in res.record_days],
            "difficulty": fan(res.difficulty),
            "hashrate_ehs": fan(res.hashrate_ehs),
            "hashprice_usd_per_ph_day": fan(res.hashprice_usd),
            "price_usd": fan(res.price_usd),
            "fleet_margin": margins,
        },
    }
