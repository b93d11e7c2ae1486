"""Forecasts of the next difficulty adjustments with ranges calibrated on history; the one owner
of "the next adjustment" (the running period's outcome) that every face shows.

Model (README, "Forecast backtest", has its scores):

* The log of each whole period's implied hashrate (exact work over its duration,
  :func:`hashlens.chain.hashrate.implied_hashrate_ehs`, from the clock's stored or
  retarget-implied start times) follows a **local linear trend** (Harvey 1989, *Forecasting,
  structural time series models and the Kalman filter*, ch. 2): a level that moves by a trend
  each period, a trend that itself drifts, and a transient part that does not last (weather,
  curtailment, the Poisson noise of 2016 blocks)::

      x_t = level_t + e_t                      e ~ (0, s2)       transient
      level_t = level_{t-1} + trend_{t-1} + u  u ~ (0, q_level s2)
      trend_t = trend_{t-1} + w                w ~ (0, q_trend s2)

  The Kalman filter over the ``window`` (104) trailing periods gives the state and its
  uncertainty; the two noise ratios are the maximum-likelihood point of a fixed grid, with
  ``s2`` concentrated out (Harvey 1989, 3.4), so the weight on recent changes adapts to the
  era: a short memory when hashrate grew in waves (2010-2019), a long one since. The spread's
  level ``s2`` is then taken from the last ``vol_window`` (52) one-step prediction errors, so
  a calm era after a wild one is not forecast with the wild one's spread. Nothing but the
  trailing periods enters the fit.
* The level and transient shocks are Student-t with 4 degrees of freedom (heavier tails than
  the normal: the periods that lose hashrate to storms, curtailment and bans); every spread is
  multiplied by ``scale`` (0.8).
* Every path runs the chain's own mechanics: the period's 2015 measured intervals are
  Gamma(2015) at the path's block rate (Poisson blocks), the new bits come from the exact
  retarget (:func:`hashlens.consensus.vectorised.retarget`, bit-exact with Core), and the next
  period starts one exponential interval after the last block. The transient's variance is
  net of the Poisson part those draws add.
* What is known of the running period conditions the paths: with per-block data, the time its
  first k intervals took (the Gamma likelihood integrated over the mined part's transient,
  with a defensive-mixture proposal for the period's level; :func:`_running_period`); with a
  time and no per-block data, that the period had not ended by then.
* Each period's draws come from a stream of its own, so the next adjustment is the same
  whatever the horizon asked for.

The settings (window, vol_window, shocks, scale) were chosen on the period starts whose
outcome was known before 2020 by the rule in :func:`hashlens.sim.backtest.tune` (calibrated
first, then the lowest CRPS); the walk-forward backtest scores 2020-2026 apart.

Only data below ``as_of_height`` (and, for a time, dated no later than it) enter: the clock is
rebuilt from the store's rows truncated there, so a store holding later data cannot leak in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Self

import numpy as np
from pydantic import Field, model_validator

from hashlens.chain.clock import ESTIMATED, STORED, ChainClock, period_start_times
from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, MAX_BLOCK_HEIGHT, expected_block_rate_per_s
from hashlens.consensus.vectorised import difficulty, difficulty_change_pct, retarget, split_bits
from hashlens.contracts import MAX_SEED, Day, Quantiles, Request, Result
from hashlens.errors import HashlensError
from hashlens.units import HS_PER_EHS, iso_utc

N = DIFFICULTY_ADJUSTMENT_INTERVAL
EHS = HS_PER_EHS  # [H/s] in one EH/s (hashlens.units)
MAX_PATHS = 1_000_000  # documented bound for --paths / ?paths=
MAX_HORIZON = 60  # adjustments ahead (about 2.3 years)
POISSON_VAR = 1.0 / N  # variance of an observed period's log implied hashrate from its blocks
LEVELS = (0.5, 0.8, 0.9)
#: Noise ratios (to the transient's variance) the likelihood is searched over [-].
RATIO_GRID = np.logspace(-3.0, 2.0, 11)
DIFFUSE = 1e4  # prior variance of the first level and trend, in units of s2 (diffuse)
MIN_DATED = 8  # dated periods the fit needs


@dataclass(frozen=True)
class HashrateModel:
    """Settings of the local linear trend (see the module docstring); the defaults are what
    :func:`hashlens.sim.backtest.tune` chose on the periods before 2020."""

    window: int = 104  # trailing periods in the likelihood and the filter
    vol_window: int | None = 52  # the spread's level from this many latest prediction errors (None: all)
    innovations: str = "student"  # "normal" or "student" (level and transient shocks)
    dof: float = 4.0  # degrees of freedom of the Student-t shocks
    scale: float = 0.8  # multiplies every spread (state, shocks) [-]

    def describe(self) -> str:
        shocks = f"Student-t ({self.dof:g} d.o.f.)" if self.innovations == "student" else "normal"
        spread = f", spread from the last {self.vol_window} prediction errors" if self.vol_window else ""
        return (
            f"local linear trend on log implied hashrate per period, Kalman-filtered over the {self.window} "
            f"trailing periods (noise ratios by maximum likelihood{spread}), {shocks} shocks, spread x{self.scale:g}"
        )


DEFAULT_MODEL = HashrateModel()


@dataclass(frozen=True)
class History:
    """What a forecaster knows as of ``as_of_height``: periods 0 … P (P running), their bits,
    start times (from the store's rows below the height only), log implied hashrate of the
    whole periods 0 … P-1, and the running period's progress where blocks are stored."""

    as_of_height: int
    period: int
    bits: np.ndarray
    start_time: np.ndarray
    start_source: np.ndarray
    log_hashrate: np.ndarray  # ln(EH/s) of periods 0 … P-1, NaN where a start is estimated
    known_intervals: int = 0  # intervals of the running period with stored times
    elapsed_s: float = 0.0  # time those intervals took [s]
    tip_time: float | None = None  # time of block as_of_height-1 where stored

    @property
    def basis(self) -> str:
        return "per-block" if self.known_intervals > 0 else "period"


def history(clock: ChainClock, as_of_height: int) -> History:
    """The data below ``as_of_height`` from a clock that may hold later data (rebuilt, so
    nothing later reaches the implied start times)."""
    h = int(as_of_height)
    p = h // N
    if p >= clock.periods:
        raise HashlensError(f"height {h:,} is beyond the store's periods (last from {(clock.periods - 1) * N:,})")
    bits = np.asarray(clock.bits[: p + 1])
    # The clock's stored times: a start where its source says stored, a last block from blocks.
    stored_start = np.where(clock.start_source[: p + 1] == STORED, clock.start_time[: p + 1], np.nan)
    heights = np.arange(p + 1) * N
    stored_start = np.where(heights < h, stored_start, np.nan)
    bh, bt = clock.block_h, clock.block_t
    keep = bh < h
    bh, bt = bh[keep], bt[keep]

    def time_of(hs: np.ndarray) -> np.ndarray:
        """Stored times of the given heights, NaN where not stored."""
        if not bh.size:
            return np.full(hs.shape, np.nan)
        i = np.clip(np.searchsorted(bh, hs), 0, bh.size - 1)
        return np.where(bh[i] == hs, bt[i].astype(float), np.nan)

    stored_last = time_of(heights + N - 1)
    start, source, _ = period_start_times(bits, stored_start, stored_last)
    dur = np.diff(start)
    ok = (source[:-1] != ESTIMATED) & (source[1:] != ESTIMATED) & (dur > 0)
    logh = np.full(p, np.nan)
    if p:
        logh[ok] = np.log(np.asarray(implied_hashrate_ehs(bits[:-1][ok], dur[ok]), dtype=float))
    k, elapsed, tip_time = 0, 0.0, None
    t0, t1 = (float(v) for v in time_of(np.array([p * N, h - 1])))
    if not math.isnan(t1):
        tip_time = t1
    if not math.isnan(t0) and not math.isnan(t1) and h - 1 > p * N:
        # contiguous run of stored times from the period's first block to the tip
        i0, i1 = np.searchsorted(bh, [p * N, h - 1])
        if int(i1 - i0) == h - 1 - p * N:
            k, elapsed = h - 1 - p * N, float(t1 - t0)
    return History(h, p, bits, start, source, logh, k, elapsed, tip_time)


@dataclass(frozen=True)
class Fit:
    """The filtered state after the last whole period and the noise variances [log units]."""

    level: float  # ln(EH/s) of the last whole period's level
    trend: float  # level change per period
    state_cov: np.ndarray  # (2, 2) covariance of (level, trend)
    transient_var: float  # s2
    level_var: float  # q_level s2, per period
    trend_var: float  # q_trend s2, per period
    n: int  # dated periods in the window
    last_log_hashrate: float

    @property
    def drift(self) -> float:
        return self.trend

    @property
    def sigma(self) -> float:
        """Standard deviation of the next period's log hashrate about its forecast [-]."""
        c = self.state_cov
        return math.sqrt(c[0, 0] + 2 * c[0, 1] + c[1, 1] + self.level_var + self.transient_var)


def local_linear_trend(
    x: np.ndarray, ratios: np.ndarray = RATIO_GRID, recent: int | None = None
) -> tuple[np.ndarray, np.ndarray, float, float, float, int]:
    """Kalman filter of a local linear trend over ``x`` (NaN = missing), at the maximum-likelihood
    noise ratios of a grid.

    .. math:: x_t = \\mu_t + \\varepsilon_t,\\quad \\mu_t = \\mu_{t-1} + \\beta_{t-1} + \\eta_t,\\quad
              \\beta_t = \\beta_{t-1} + \\zeta_t

    with var(ε) = s², var(η) = q_η s², var(ζ) = q_ζ s²; s² is concentrated out of the Gaussian
    likelihood (prediction-error decomposition, the first two observations diffuse).

    Returns
    -------
    state (level, trend) after the last observation, its covariance, s², q_η s², q_ζ s², and
    the number of observations.

    References
    ----------
    .. [1] Harvey, A. C. (1989), *Forecasting, structural time series models and the Kalman
       filter*, Cambridge University Press, sections 2.3 and 3.4.
    .. [2] Durbin, J. & Koopman, S. J. (2012), *Time series analysis by state space methods*,
       2nd ed., chapter 7.
    """
    obs = np.flatnonzero(~np.isnan(x))
    if obs.size < 3:
        raise ValueError("a local linear trend needs three observations")
    qe, qz = (g.ravel() for g in np.meshgrid(ratios, ratios))
    a0 = np.full(qe.size, float(x[obs[0]]))
    a1 = np.zeros(qe.size)
    p00 = np.full(qe.size, DIFFUSE)
    p01 = np.zeros(qe.size)
    p11 = np.full(qe.size, DIFFUSE)
    ss = np.zeros(qe.size)
    errs: list[np.ndarray] = []
    logf = np.zeros(qe.size)
    terms, seen = 0, 0
    for t in range(int(obs[0]), x.size):
        if t > obs[0]:  # predict one period on
            a0 = a0 + a1
            p00, p01, p11 = p00 + 2 * p01 + p11 + qe, p01 + p11, p11 + qz
        y = x[t]
        if math.isnan(y):
            continue
        f = p00 + 1.0
        v = y - a0
        if seen >= 2:
            ss += v * v / f
            errs.append(v * v / f)
            logf += np.log(f)
            terms += 1
        seen += 1
        k0, k1 = p00 / f, p01 / f
        a0, a1 = a0 + k0 * v, a1 + k1 * v
        p00, p01, p11 = p00 - k0 * p00, p01 - k0 * p01, p11 - k1 * p01
    s2 = ss / terms
    best = int(np.argmax(-0.5 * (terms * np.log(s2) + logf)))
    s = float(s2[best])
    if recent is not None:  # the variance level from the last ``recent`` prediction errors only
        s = float(np.mean([e[best] for e in errs[-recent:]]))
    cov = np.array([[p00[best], p01[best]], [p01[best], p11[best]]]) * s
    return np.array([a0[best], a1[best]]), cov, s, float(qe[best]) * s, float(qz[best]) * s, int(obs.size)


def fit(hist: History, model: HashrateModel = DEFAULT_MODEL) -> Fit:
    """The local linear trend of log implied hashrate over the trailing window."""
    x = hist.log_hashrate
    if x.size < 2 or np.isnan(x[-1]):
        raise HashlensError(
            f"the forecast as of height {hist.as_of_height:,} needs the implied hashrate of the period before "
            "(its start and end dated): sync the bitcoinj checkpoints or period boundary times"
        )
    w = x[-model.window :]
    if int(np.count_nonzero(~np.isnan(w))) < MIN_DATED:
        raise HashlensError(
            f"the forecast as of height {hist.as_of_height:,} needs at least {MIN_DATED} dated periods before it"
        )
    state, cov, s2, lv, tv, n = local_linear_trend(w, recent=model.vol_window)
    return Fit(float(state[0]), float(state[1]), cov, s2, lv, tv, n, float(x[-1]))


@dataclass
class Paths:
    """Simulated periods P … P+n-1 (columns) for each path (rows)."""

    change_pct: np.ndarray  # adjustment at the end of each period [%]
    next_start: np.ndarray  # start time of the following period [Unix s]
    difficulty: np.ndarray  # difficulty of each period [-]
    log_hashrate: np.ndarray  # ln(EH/s) of each period


def _shocks(model: HashrateModel, rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance shocks of the model's family."""
    if model.innovations == "student":
        nu = model.dof
        return rng.standard_t(nu, n) / math.sqrt(nu / (nu - 2))
    if model.innovations == "normal":
        return rng.standard_normal(n)
    raise ValueError(f"innovations must be 'normal' or 'student' (got {model.innovations!r})")


QUADRATURE = 96  # nodes of the likelihood's integral over the mined part's transient


def _elapsed_loglik(k: int, elapsed_s: float, centre: np.ndarray, sd: float, model: HashrateModel) -> np.ndarray:
    """Log likelihood, on each path, of k intervals taking ``elapsed_s`` when the log block rate
    is ``centre`` plus a transient of standard deviation ``sd`` (integrated out).

    The Gamma(k) likelihood of a log rate z is k·z - e^z·t; it is summed over a grid of z
    around its peak (ln(k/t), width 1/√k) against the transient's density on each path, so
    the weight of a path is its marginal likelihood and no path needs to hit a narrow peak by
    chance (importance resampling from the prior collapses onto a few paths late in a period).
    """
    t = max(float(elapsed_s), 1.0)
    peak = math.log(k / t)
    width = 1.0 / math.sqrt(k)  # of the likelihood in z

    def rel(z: np.ndarray) -> np.ndarray:
        """k·z - e^z·t less its maximum (at z = peak)."""
        out: np.ndarray = k * (z - peak) - (np.exp(z - peak) - 1.0) * k
        return out

    if sd <= width / 2:
        # the transient is narrow beside the likelihood: its integral is the likelihood at the
        # centre, widened by the transient's variance (exact for the Gaussian part of the peak)
        return rel(centre) / (1.0 + k * sd * sd)
    z = np.arange(peak - 11 * width, peak + 11 * width, width / 4)
    ll = rel(z)
    # the integral is a smooth function of the centre alone: evaluated on a fine grid of
    # centres (spacing far below the likelihood's width) and interpolated for every path
    lo, hi = float(centre.min()), float(centre.max())
    n_grid = min(int((hi - lo) / (width / 20)) + 2, 4096)
    exact = n_grid >= centre.size
    points = centre if exact else np.linspace(lo, hi, n_grid)
    dz = (z[:, None] - points[None, :]) / sd  # (nodes, centres)
    if model.innovations == "student":
        nu = model.dof
        scale = math.sqrt((nu - 2) / nu)  # unit-variance t: density of dz/scale over scale
        logp = -(nu + 1) / 2 * np.log1p((dz / scale) ** 2 / nu)
    else:
        logp = -0.5 * dz * dz
    a = ll[:, None] + logp
    m = a.max(axis=0)
    out: np.ndarray = m + np.log(np.exp(a - m).sum(axis=0))
    return out if exact else np.interp(centre, points, out)


def _log_density(model: HashrateModel, z: np.ndarray) -> np.ndarray:
    """Log density of the model's unit-variance shock at z."""
    if model.innovations == "student":
        nu = model.dof
        s = math.sqrt((nu - 2) / nu)
        c = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(s)
        out: np.ndarray = c - (nu + 1) / 2 * np.log1p((z / s) ** 2 / nu)
        return out
    return -0.5 * z * z - 0.5 * math.log(2 * math.pi)


def _running_period(
    hist: History,
    model: HashrateModel,
    level: np.ndarray,
    trend: np.ndarray,
    difficulty_now: np.ndarray,
    level_sd: float,
    transient_sd: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The running period's level and timespan on each path given its first k intervals, and
    each path's log weight (likelihood of the time they took, times prior over proposal).

    Inside the period the log rate follows the path's trend (the part already mined sits
    ``trend·(1 - u)/2`` below the period's level, the rest ``trend·u/2`` above, u the share
    mined), its level wanders on (the rest's mean differs from the mined part's by a level
    shock of variance ``level_var/3``, the difference of two averages of a random walk), and the
    transient is white noise in time: over a share u of the period it has variance ``s2/u``, so
    the two parts' transients are independent and the period's mean keeps variance ``s2``. A
    slow start from a storm thus says little about the rest, a slow start from lost machines
    (a level shock) carries on.

    The period's level is drawn from a defensive mixture (Hesterberg 1995, *Weighted average
    importance sampling and defensive mixture distributions*, Technometrics 37:185): half the
    paths from the model, half from a normal around the level the mined part implies, each
    weighted by prior over mixture density, so a period far in the model's tail (a storm, a
    ban) is still represented by many paths.

    ``level`` and ``trend`` are the previous period's; returns (level, span [s], log weight).
    """
    k = hist.known_intervals
    u = k / (N - 1)
    n = level.size
    sd_done = transient_sd / math.sqrt(u)
    # log rate per unit of log hashrate: ln λ = x + ln(EH / (D·2^32)), the same on every path
    offset = float(np.log(expected_block_rate_per_s(EHS, float(difficulty_now[0]))))
    prior_mean = level + trend
    new = prior_mean + level_sd * _shocks(model, rng, n)
    logw = np.zeros(n)
    if level_sd > 0:
        implied = math.log(k / max(float(hist.elapsed_s), 1.0)) - offset - trend * (u - 1) / 2
        g_sd = 1.5 * math.sqrt(1.0 / k + sd_done * sd_done + level_sd * level_sd / 4)
        from_g = rng.random(n) < 0.5
        new = np.where(from_g, implied + g_sd * rng.standard_normal(n), new)
        log_prior = _log_density(model, (new - prior_mean) / level_sd) - math.log(level_sd)
        log_g = -0.5 * ((new - implied) / g_sd) ** 2 - math.log(g_sd) - 0.5 * math.log(2 * math.pi)
        logw = log_prior - np.logaddexp(log_prior, log_g)  # prior / (½ prior + ½ g), less ln 2
    centre = new + trend * (u - 1) / 2 + offset  # the mined part's log rate before its transient
    logw = logw + _elapsed_loglik(k, hist.elapsed_s, centre, sd_done, model)
    span = np.full(n, hist.elapsed_s)
    if k < N - 1:
        x_rest = (
            new
            + trend * u / 2
            + level_sd / math.sqrt(3.0) * _shocks(model, rng, n)
            + transient_sd / math.sqrt(1 - u) * _shocks(model, rng, n)
        )
        rate_rest = np.asarray(expected_block_rate_per_s(np.exp(x_rest) * EHS, difficulty_now), dtype=float)
        span = span + rng.gamma(N - 1 - k, size=n) / rate_rest
    return new, span, logw


def simulate_paths(
    hist: History,
    periods: int,
    paths: int,
    seed: int,
    model: HashrateModel = DEFAULT_MODEL,
    not_ended_by: float | None = None,
    fitted: Fit | None = None,
) -> Paths:
    """``paths`` futures of the running period and the ``periods - 1`` after it (``fitted``:
    :func:`fit` of ``hist`` if the caller has it)."""
    f = fitted or fit(hist, model)
    seq = np.random.SeedSequence(seed)
    streams = [np.random.default_rng(s) for s in seq.spawn(periods + 1)]
    rng0 = streams[0]  # the state drawn at the start, and the resampling
    c = model.scale
    # the state after the last whole period, drawn from the filter's posterior
    vals, vecs = np.linalg.eigh(f.state_cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    state = np.array([f.level, f.trend]) + c * rng0.standard_normal((paths, 2)) @ root.T
    level, trend = state[:, 0], state[:, 1]
    level_sd = c * math.sqrt(f.level_var)
    trend_sd = c * math.sqrt(f.trend_var)
    # the transient net of the Poisson noise the block draws below add
    transient_sd = math.sqrt(max(c * c * f.transient_var - POISSON_VAR, 0.0))
    m0, e0 = split_bits(int(hist.bits[-1]))
    mant = np.full(paths, m0, dtype=np.int64)
    expo = np.full(paths, e0, dtype=np.int64)
    start = np.full(paths, float(hist.start_time[-1]))
    out = Paths(*(np.empty((paths, periods)) for _ in range(4)))
    logw = np.zeros(paths)
    for j in range(periods):
        rng = streams[j + 1]
        d_old = difficulty(mant, expo)
        if j == 0 and hist.known_intervals > 0:
            level, span, w = _running_period(hist, model, level, trend, d_old, level_sd, transient_sd, rng)
            logw += w
            x = level
        else:
            level = level + trend + level_sd * _shocks(model, rng, paths)
            x = level + transient_sd * _shocks(model, rng, paths)
            rate = np.asarray(expected_block_rate_per_s(np.exp(x) * EHS, d_old), dtype=float)
            span = rng.gamma(N - 1, size=paths) / rate
        trend = trend + trend_sd * rng.standard_normal(paths)
        mant, expo = retarget(mant, expo, np.floor(span))
        d_new = difficulty(mant, expo)
        rate_next = np.asarray(expected_block_rate_per_s(np.exp(level + trend) * EHS, d_new), dtype=float)
        start = start + span + rng.exponential(size=paths) / rate_next
        out.change_pct[:, j] = difficulty_change_pct(d_old, d_new)
        out.next_start[:, j] = start
        out.difficulty[:, j] = d_old
        out.log_hashrate[:, j] = x
        if j == 0 and not_ended_by is not None:
            logw = np.where(start > not_ended_by, logw, -np.inf)
    if np.any(logw != 0):
        if not np.isfinite(logw).any():
            raise HashlensError("no simulated path agrees with what is known of the running period")
        w = np.exp(logw - logw.max())
        idx = rng0.choice(paths, size=paths, p=w / w.sum())
        out = Paths(*(a[idx] for a in (out.change_pct, out.next_start, out.difficulty, out.log_hashrate)))
    return out


_iso = iso_utc  # the one ISO-time helper (hashlens.units)


class AdjustmentForecast(Result):
    """One adjustment of the forecast: its height, the quantiles of its change and of its time."""

    label: str
    height: int
    change_pct: Quantiles  # [%]
    p_drop: float  # share of paths on which difficulty falls [-]
    retarget_time_s: Quantiles  # when the adjustment comes [Unix s]
    retarget_time_median: str  # the median of retarget_time_s, ISO UTC


class TrackRecord(Result):
    """How the forecast of the next adjustment from a period start fared on the last periods
    whose outcome was known (:func:`hashlens.sim.backtest.track_record`)."""

    forecasts: int
    held_90: int  # outcomes inside the 90 % range
    below_p10: int  # outcomes below the 10th percentile
    above_p90: int
    horizon: int = 1
    phase: str = "period start"


class NextAdjustment(Result):
    """The next adjustment: the one estimate (with its range) every face shows. It is the first
    row of :func:`forecast_adjustments` at the same as-of point, never a second computation."""

    as_of_height: int
    as_of_time: str | None
    basis: str  # per-block: the running period's stored blocks condition it; period: only its start
    period_start_height: int
    blocks_in_period: int  # blocks of the running period the estimate knows (0 on the period basis)
    height: int  # the retarget's height
    change_pct: Quantiles  # [%]
    p_drop: float
    retarget_time_s: Quantiles  # [Unix s]
    retarget_time_median: str
    method: str


class ForecastRequest(Request):
    """The forecast of the next adjustments as of 24:00 UTC of a day, or as of a height (data
    below it only): ``hashlens forecast``, ``hashlens difficulty estimate`` and
    ``GET /v1/forecast`` (whose paths have a tighter bound of their own, ``api.models``)."""

    as_of: Day | None = Field(
        None, description="UTC day, the forecast at its 24:00 UTC (default: the report's day; not with height)."
    )
    height: int | None = Field(
        None, ge=0, le=MAX_BLOCK_HEIGHT, description="As of this height instead (data below it only) [-]."
    )
    horizon: int = Field(3, ge=1, le=MAX_HORIZON, description="Adjustments ahead [-].")
    paths: int = Field(20_000, ge=1, le=MAX_PATHS, description="Simulated paths [-].")
    seed: int = Field(1, ge=0, le=MAX_SEED, description="Random seed: the same seed gives the same result [-].")

    @model_validator(mode="after")
    def _day_or_height(self) -> Self:
        if self.as_of is not None and self.height is not None:
            raise ValueError("give as_of or height, not both")
        return self


class Forecast(Result):
    """The forecast of the next ``len(adjustments)`` adjustments as of one point."""

    as_of_height: int
    as_of_time: str | None
    period_start_height: int
    basis: str  # per-block: the running period's stored blocks condition it; period: only its start
    blocks_in_period: int = 0
    adjustments: list[AdjustmentForecast]
    paths: int
    seed: int
    model: str
    method: str
    drift_pct_per_period: float
    volatility_pct_per_period: float
    track_record: TrackRecord | None = None  # the backtest's summary, where asked for

    def next_adjustment(self) -> NextAdjustment:
        """The first adjustment with what it was conditioned on."""
        a = self.adjustments[0]
        return NextAdjustment(
            as_of_height=self.as_of_height,
            as_of_time=self.as_of_time,
            basis=self.basis,
            period_start_height=self.period_start_height,
            blocks_in_period=self.blocks_in_period,
            height=a.height,
            change_pct=a.change_pct,
            p_drop=a.p_drop,
            retarget_time_s=a.retarget_time_s,
            retarget_time_median=a.retarget_time_median,
            method=self.method,
        )


def _label(i: int) -> str:
    return "next" if i == 0 else f"+{i} after that"


def summarise_paths(hist: History, sim: Paths, horizon: int) -> list[AdjustmentForecast]:
    rows = []
    for j in range(horizon):
        c = sim.change_pct[:, j]
        when = Quantiles.of(sim.next_start[:, j])
        rows.append(
            AdjustmentForecast(
                label=_label(j),
                height=(hist.period + 1 + j) * N,
                change_pct=Quantiles.of(c),
                p_drop=float((c < 0).mean()),
                retarget_time_s=when,
                retarget_time_median=_iso(when.p50),
            )
        )
    return rows


def store_tip_height(clock: ChainClock) -> int:
    """The height a forecast 'as of the store's tip' uses: one past the last stored block, or
    the latest dated period start if that is later."""
    dated = np.flatnonzero(clock.start_source != ESTIMATED)
    period_h = int(dated[-1]) * N if dated.size else 0
    block_h = int(clock.block_h[-1]) + 1 if clock.block_h.size else 0
    return max(period_h, block_h)


def check_inputs(clock: ChainClock, as_of_height: int | None, horizon: int, paths: int) -> int:
    """The forecast height (the tip if None) after checking every input; one-line errors (the
    bounds are :class:`ForecastRequest`'s, in its words)."""
    ForecastRequest.build(horizon=horizon, paths=paths)
    tip = store_tip_height(clock)
    h = tip if as_of_height is None else int(as_of_height)
    if h < 2 * N:
        raise HashlensError(f"--height must be at least {2 * N:,} (two whole periods of history; got {h:,})")
    if h > tip:
        raise HashlensError(
            f"--height {h:,} is beyond the store (its data reach height {tip:,}): sync newer chain data"
        )
    return h


def height_for_time(clock: ChainClock, ts: float) -> int:
    """The forecast height for a time: one past the tip where the running period's blocks are
    stored, else the start of the period in force."""
    p = clock.require_covered(ts, "the forecast's day")
    h = p * N
    if clock.per_block_at(ts):
        hs, exact = clock.height_at(np.array([ts]))
        if exact[0]:
            h = int(hs[0]) + 1
    return max(h, 2 * N)


def forecast_adjustments(
    clock: ChainClock,
    as_of_height: int | None = None,
    horizon: int = 3,
    paths: int = 20_000,
    seed: int = 1,
    as_of_time: float | None = None,
    model: HashrateModel = DEFAULT_MODEL,
) -> Forecast:
    """The forecast of the next ``horizon`` adjustments a user would have had at
    ``as_of_height`` (the store's tip if None), from data below that height only.

    With ``as_of_time`` instead (a day's 24:00 UTC, say) the height is the start of the period
    in force then, or the first height without a stored block time at or before it where the
    running period's blocks are stored; paths whose running period would have ended before that
    time are dropped. This is the one function the CLI, ``/v1/forecast``, the weekly figures,
    the report and the dashboard call; its first row is the next adjustment
    (:meth:`Forecast.next_adjustment`) and does not depend on ``horizon``.
    """
    if as_of_time is not None and as_of_height is None:
        as_of_height = height_for_time(clock, float(as_of_time))
    h = check_inputs(clock, as_of_height, horizon, paths)
    hist = history(clock, h)
    cond = None
    if as_of_time is not None and hist.known_intervals == 0:
        cond = float(as_of_time)
    f = fit(hist, model)
    sim = simulate_paths(hist, horizon, paths, seed, model, not_ended_by=cond, fitted=f)
    rows = summarise_paths(hist, sim, horizon)
    known = (
        f"the running period's first {hist.known_intervals + 1:,} blocks (stored times)"
        if hist.basis == "per-block"
        else "the running period's start" + (" and that it had not ended by the as-of time" if cond else "")
    )
    return Forecast(
        as_of_height=h,
        as_of_time=_iso(as_of_time) if as_of_time is not None else (_iso(hist.tip_time) if hist.tip_time else None),
        period_start_height=hist.period * N,
        basis=hist.basis,
        blocks_in_period=hist.known_intervals + 1 if hist.known_intervals else 0,
        adjustments=rows,
        paths=paths,
        seed=seed,
        model=model.describe(),
        method=(
            f"{paths:,} paths: {model.describe()} (trend {math.expm1(f.trend) * 100:+.2f} % per period, "
            f"next period's spread {f.sigma * 100:.2f} %); Poisson blocks and the exact retarget for every "
            f"period; conditioned on {known}; data below height {h:,} only"
        ),
        drift_pct_per_period=math.expm1(f.trend) * 100,
        volatility_pct_per_period=f.sigma * 100,
    )


def next_adjustment(
    clock: ChainClock,
    as_of_height: int | None = None,
    as_of_time: float | None = None,
    paths: int = 20_000,
    seed: int = 1,
) -> NextAdjustment:
    """The next adjustment as of a height or a time: the first row of
    :func:`forecast_adjustments` (the same numbers as the outlook's first row for the same
    as-of point, paths and seed)."""
    return forecast_adjustments(clock, as_of_height, 1, paths, seed, as_of_time).next_adjustment()
