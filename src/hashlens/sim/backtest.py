"""Walk-forward backtest of the adjustment forecast beside simple rules measured in the same run,
the tuning of its settings on the periods before 2020, and the track record the report states.

At every period P whose inputs exist, the forecast a user would have had (data below the
forecast height only, :func:`hashlens.sim.forecast.history`) is compared with what the chain
did: from the period's start at the next 1 … 3 adjustments, and, where the period's blocks are
stored, at points inside it (after 144, 504, 1,008, 1,512 and 1,872 of its blocks) at the
adjustment that ends it. Scores (Gneiting & Raftery 2007, *Strictly proper scoring rules*,
JASA 102:359):

* the mean absolute error of the median (a point rule's own value);
* CRPS from the paths by the sorted-sample formula (for a point rule, its absolute error);
* coverage of the central 50/80/90 % ranges, and the shares of outcomes below the 10th and
  above the 90th percentile (10 % each when calibrated);
* the PIT (share of paths below the outcome, ties split) in ten bins, flat when calibrated.

Simple rules on the same points: "zero change", and the naive trend "mean of the last k
changes" for k = 1 … 6 (k = 1 is "same as last time"). Inside a period, also mempool.space's
method (:func:`hashlens.chain.estimate.mempool_estimate`) and the rate extrapolation that
hashlens showed before the forecast owned the next adjustment (:func:`rate_extrapolation`).

The split: settings are chosen (:func:`tune`) on the points whose outcomes were known before
2020-01-01 and scored on the points whose period began on or after it; "since 2019" and the
whole history are reported beside them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.chain.clock import STORED, ChainClock
from hashlens.chain.estimate import mempool_estimate
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.vectorised import difficulty_change_pct, retarget, split_bits
from hashlens.contracts import Quantiles, Result
from hashlens.sim.forecast import (
    DEFAULT_MODEL,
    Fit,
    HashrateModel,
    History,
    TrackRecord,
    fit,
    history,
    simulate_paths,
)

N = DIFFICULTY_ADJUSTMENT_INTERVAL
HORIZONS = (1, 2, 3)
FIRST_PERIOD = 40  # early 2010: the first period with enough dated history before it
IN_PERIOD_BLOCKS = (144, 504, 1008, 1512, 1872)  # blocks of the running period known
NAIVE_K = (1, 2, 3, 4, 5, 6)
PIT_BINS = 10
TUNING_END = datetime(2020, 1, 1, tzinfo=UTC).timestamp()  # tuning: outcomes before; scored: periods from
SINCE_DEFAULT = 2019
SUBSETS = ("whole", "pre-2020 (tuning)", "2020-2026 (scored)")


def crps_samples(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble: E|X - y| - E|X - X'|/2 (sorted-sample formula)."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = x.size
    i = np.arange(1, n + 1)
    return float(np.abs(x - y).mean() - ((2 * i - n - 1) * x).sum() / (n * n))


def pit(samples: np.ndarray, y: float, u: float) -> float:
    """Randomised PIT: P(X < y) + u·P(X = y)."""
    lo = float((samples < y).mean())
    return lo + u * (float((samples <= y).mean()) - lo)


def phase_name(blocks: int) -> str:
    return "start" if blocks == 0 else f"{blocks} blocks in"


# -- one point's record -----------------------------------------------------------------------
@dataclass
class Record:
    """One method's forecast at one point and its outcome."""

    phase: str
    horizon: int
    method: str
    period: int
    start_time: float  # the forecast period's start [Unix s]
    outcome_time: float  # when the outcome was known (the adjustment's time) [Unix s]
    y: float  # the realised change [%]
    median: float
    crps: float
    quantiles: Quantiles | None = None  # None for a point rule
    pit: float | None = None


def sample_record(
    phase: str, h: int, method: str, p: int, times: tuple[float, float], s: np.ndarray, y: float, u: float
) -> Record:
    q = Quantiles.of(s)
    return Record(phase, h, method, p, times[0], times[1], y, float(np.median(s)), crps_samples(s, y), q, pit(s, y, u))


def point_record(phase: str, h: int, method: str, p: int, times: tuple[float, float], x: float, y: float) -> Record:
    return Record(phase, h, method, p, times[0], times[1], y, x, abs(x - y))


class BacktestRow(Result):
    """Scores of one method at one phase and horizon over one subset of the points."""

    subset: str
    phase: str
    horizon: int
    method: str
    n: int
    mae: float  # of the median [percentage points]
    crps: float  # [percentage points]
    coverage_50: float | None = None  # shares [-]
    coverage_80: float | None = None
    coverage_90: float | None = None
    below_p10: float | None = None
    above_p90: float | None = None
    pit_histogram: list[int] | None = None


class Backtest(Result):
    """The walk-forward backtest: rows per subset, phase, horizon and method."""

    model: str
    paths: int
    periods: list[int]  # first and last forecast period
    points: int
    split: str
    subsets: list[str]
    rows: list[BacktestRow]


def subsets_of(r: Record, since_year: int) -> list[str]:
    out = ["whole"]
    if r.outcome_time < TUNING_END:
        out.append(SUBSETS[1])
    if r.start_time >= TUNING_END:
        out.append(SUBSETS[2])
    if r.start_time >= datetime(since_year, 1, 1, tzinfo=UTC).timestamp():
        out.append(f"since {since_year}")
    return out


def summarise(records: Sequence[Record], since_year: int = SINCE_DEFAULT) -> list[BacktestRow]:
    """The scores of every (subset, phase, horizon, method) group of ``records``."""
    groups: dict[tuple[str, str, int, str], list[Record]] = {}
    for r in records:
        for s in subsets_of(r, since_year):
            groups.setdefault((s, r.phase, r.horizon, r.method), []).append(r)
    order = [*SUBSETS, f"since {since_year}"]
    rows = []
    for (s, phase, h, method), rs in groups.items():
        y = np.array([r.y for r in rs])
        row: dict[str, Any] = {
            "subset": s,
            "phase": phase,
            "horizon": h,
            "method": method,
            "n": len(rs),
            "mae": float(np.mean([abs(r.median - r.y) for r in rs])),
            "crps": float(np.mean([r.crps for r in rs])),
        }
        qs = [r.quantiles for r in rs if r.quantiles is not None]
        if len(qs) == len(rs):
            q = {name: np.array([getattr(x, name) for x in qs]) for name in Quantiles.NAMES}
            row |= {
                "coverage_50": float(np.mean((q["p25"] <= y) & (y <= q["p75"]))),
                "coverage_80": float(np.mean((q["p10"] <= y) & (y <= q["p90"]))),
                "coverage_90": float(np.mean((q["p05"] <= y) & (y <= q["p95"]))),
                "below_p10": float(np.mean(y < q["p10"])),
                "above_p90": float(np.mean(y > q["p90"])),
                "pit_histogram": np.histogram(np.array([r.pit for r in rs], dtype=float), bins=PIT_BINS, range=(0, 1))[
                    0
                ].tolist(),
            }
        rows.append(BacktestRow(**row))

    def phase_key(phase: str) -> int:
        return 0 if phase == "start" else int(phase.split()[0])

    def method_key(m: str) -> tuple[int, str]:
        return (0 if m == "forecast" else 1, m)

    rows.sort(key=lambda r: (order.index(r.subset), phase_key(r.phase), r.horizon, method_key(r.method)))
    return rows


# -- the points -------------------------------------------------------------------------------
@dataclass
class Point:
    period: int
    blocks: int  # blocks of the running period known (0: from its start)
    hist: History

    @property
    def phase(self) -> str:
        return phase_name(self.blocks)


def period_fully_stored(clock: ChainClock, p: int) -> bool:
    bh = clock.block_h
    if not bh.size:
        return False
    i0 = int(np.searchsorted(bh, p * N))
    i1 = int(np.searchsorted(bh, (p + 1) * N))
    return i1 - i0 == N and i0 < bh.size and int(bh[i0]) == p * N


def forecast_points(
    clock: ChainClock, first: int = FIRST_PERIOD, last: int | None = None, in_period: bool = True
) -> list[Point]:
    """Every period start, and the points inside periods whose blocks are all stored, as the
    history below the point's height."""
    pts = []
    last = clock.periods - 2 if last is None else min(last, clock.periods - 2)
    for p in range(first, last + 1):
        pts.append(Point(p, 0, history(clock, p * N)))
        if in_period and period_fully_stored(clock, p):
            pts += [Point(p, b, history(clock, p * N + b)) for b in IN_PERIOD_BLOCKS]
    return pts


def realised_changes(clock: ChainClock) -> np.ndarray:
    """The change at the end of each period but the last [%]."""
    d = clock.difficulty
    return np.asarray(difficulty_change_pct(d[:-1], d[1:]), dtype=float)


def _times(clock: ChainClock, p: int, h: int) -> tuple[float, float]:
    return float(clock.start_time[p]), float(clock.start_time[p + h])


def naive_trend(actual: np.ndarray, p: int, k: int) -> float:
    """The mean of the last ``k`` changes known at period ``p``'s start [%]."""
    return float(np.mean(actual[max(0, p - k) : p]))


def run_backtest(
    clock: ChainClock,
    first: int = FIRST_PERIOD,
    last: int | None = None,
    paths: int = 2000,
    model: HashrateModel = DEFAULT_MODEL,
    baselines: bool = True,
    in_period: bool = True,
    since_year: int = SINCE_DEFAULT,
    progress: Callable[[int, int], None] | None = None,
) -> Backtest:
    """Scores per subset, phase, horizon and method (see the module docstring)."""
    records = backtest_records(clock, first, last, paths, model, baselines, in_period, progress)
    periods = sorted({r.period for r in records})
    return Backtest(
        model=model.describe(),
        paths=paths,
        periods=[periods[0], periods[-1]] if periods else [],
        points=len({(r.period, r.phase) for r in records}),
        split=(
            "settings chosen on the points whose outcome was known before 2020-01-01 (hashlens.sim.backtest.tune); "
            "scored on the points whose period began on or after it"
        ),
        subsets=[*SUBSETS, f"since {since_year}"],
        rows=summarise(records, since_year),
    )


def backtest_records(
    clock: ChainClock,
    first: int = FIRST_PERIOD,
    last: int | None = None,
    paths: int = 2000,
    model: HashrateModel = DEFAULT_MODEL,
    baselines: bool = True,
    in_period: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[Record]:
    """Every method's record at every point."""
    actual = realised_changes(clock)
    rng_u = np.random.default_rng(12345)
    pts = forecast_points(clock, first, last, in_period)
    out: list[Record] = []
    for n_done, pt in enumerate(pts):
        p, hist = pt.period, pt.hist
        hmax = 1 if pt.blocks else min(len(HORIZONS), clock.periods - 1 - p)
        seed = p * 10 + (IN_PERIOD_BLOCKS.index(pt.blocks) + 1 if pt.blocks else 0)
        sim = simulate_paths(hist, hmax, paths, seed=seed, model=model)
        for h in range(1, hmax + 1):
            y, t = float(actual[p + h - 1]), _times(clock, p, h)
            out.append(sample_record(pt.phase, h, "forecast", p, t, sim.change_pct[:, h - 1], y, float(rng_u.random())))
            if not baselines:
                continue
            if pt.blocks == 0:
                out.append(point_record(pt.phase, h, "zero change", p, t, 0.0, y))
                for k in NAIVE_K:
                    out.append(point_record(pt.phase, h, f"mean of last {k}", p, t, naive_trend(actual, p, k), y))
                continue
            m = _mempool(clock, hist, float(actual[p - 1]))
            if m is not None:
                out.append(point_record(pt.phase, h, "mempool.space", p, t, m, y))
            r = _rate_extrapolation_at(clock, hist)
            if r is not None:
                out.append(sample_record(pt.phase, h, "rate extrapolation", p, t, r, y, float(rng_u.random())))
        if progress:
            progress(n_done + 1, len(pts))
    return out


def _stored_time(clock: ChainClock, hist: History, height: int) -> int | None:
    bh, bt = clock.block_h, clock.block_t
    i = int(np.searchsorted(bh, height))
    ok = i < bh.size and bh[i] == height and height < hist.as_of_height
    return int(bt[i]) if ok else None


def _mempool(clock: ChainClock, hist: History, previous_change_pct: float) -> float | None:
    """mempool.space's point estimate with the tip at as_of_height - 1."""
    tip = hist.as_of_height - 1
    start, tip_t = _stored_time(clock, hist, hist.period * N), _stored_time(clock, hist, tip)
    back = _stored_time(clock, hist, tip - 503)
    if start is None or tip_t is None:
        return None
    return float(mempool_estimate(start, back, tip_t, tip, previous_change_pct, tip_t).change_pct)


def _rate_extrapolation_at(clock: ChainClock, hist: History) -> np.ndarray | None:
    """:func:`rate_extrapolation` with the inputs the old running-period figures gave it: the
    running period's own rate from its 504th block, before that the last 504 intervals with the
    previous period's part rescaled to the current difficulty."""
    p, tip = hist.period, hist.as_of_height - 1
    start, tip_t = _stored_time(clock, hist, p * N), _stored_time(clock, hist, tip)
    if start is None or tip_t is None:
        return None
    n = tip - p * N
    if n >= 503:
        span, blocks = float(tip_t - start), n
    else:
        back = _stored_time(clock, hist, tip - 503)
        if back is None:
            return None
        old_t, new_t = decode_compact(int(hist.bits[p - 1]))[0], decode_compact(int(hist.bits[p]))[0]
        span = max((start - back) * (old_t / new_t) + (tip_t - start), 1.0)
        blocks = 504
    return rate_extrapolation(start, tip, tip_t, int(hist.bits[p]), span, blocks, draws=2000, seed=p)


def rate_extrapolation(
    period_start_time: int,
    tip_height: int,
    tip_time: int,
    bits: int,
    recent_span_s: float,
    recent_blocks: int,
    draws: int = 20000,
    seed: int = 7,
) -> np.ndarray:
    """The running period's change if its recent block rate held to the end: a baseline.

    The time already spent is known; the 2015 - n intervals still to come are
    Gamma(2015 - n, 1/λ) with λ ~ Gamma(recent_blocks, 1/recent_span_s) (a flat-prior
    posterior of the rate from the recent intervals); each draw's timespan goes through the
    exact retarget. Until December 2026 this was the running period's estimate in hashlens
    (``chain.estimate.own_estimate``); it ignores that hashrate moves during the rest of the
    period, and its 90 % range held 58-84 % of outcomes inside stored periods (README,
    "Forecast backtest"), so the forecast owns the next adjustment now.

    Returns
    -------
    (draws,) changes [%]
    """
    n = tip_height % N
    elapsed = tip_time - period_start_time
    remaining = (N - 1) - n
    rng = np.random.default_rng(seed)
    lam = rng.gamma(recent_blocks, 1.0 / recent_span_s, size=draws)
    future = rng.gamma(remaining, 1.0, size=draws) / lam if remaining > 0 else np.zeros(draws)
    spans = np.rint(elapsed + future).astype(np.int64)
    # the change depends on the timespan only: exact for each distinct span at once (the
    # many-path rule is bit-exact with Core's); old target / new target = m_old/m_new · 256^Δe
    uniq, inv = np.unique(spans, return_inverse=True)
    m_old, e_old = split_bits(bits)
    m_new, e_new = retarget(np.full(uniq.size, m_old), np.full(uniq.size, e_old), uniq)
    ratio = np.ldexp(m_old / m_new.astype(np.float64), 8 * (e_old - e_new))
    out: np.ndarray = (ratio[inv] - 1.0) * 100.0
    return out


# -- tuning on the periods before 2020 ---------------------------------------------------------
TUNING_GRID: tuple[HashrateModel, ...] = tuple(
    HashrateModel(window=w, vol_window=v, innovations=i, scale=s)
    for w in (78, 104, 156)
    for v in (13, 26, 52, None)
    for i in ("normal", "student")
    for s in (0.7, 0.8, 0.9, 1.0, 1.1)
)
CALIBRATION_TARGETS = {"coverage_90": (0.85, 0.95), "below_p10": (0.08, 0.12), "above_p90": (0.08, 0.12)}


class TuningRow(Result):
    window: int
    vol_window: int | None
    innovations: str
    scale: float
    n: int
    crps: float
    mae: float
    coverage_90: float
    below_p10: float
    above_p90: float
    calibrated: bool  # every share within CALIBRATION_TARGETS


class Tuning(Result):
    """The settings' choice on the points whose outcome was known before 2020."""

    rule: str
    points: int
    rows: list[TuningRow]
    chosen: TuningRow


def tune(
    clock: ChainClock,
    grid: Sequence[HashrateModel] = TUNING_GRID,
    paths: int = 1000,
    first: int = FIRST_PERIOD,
    progress: Callable[[int, int], None] | None = None,
) -> Tuning:
    """Score every setting of ``grid`` on the next adjustment from each period start whose
    outcome was known before 2020-01-01, and choose: among the settings whose shares are all
    within :data:`CALIBRATION_TARGETS`, the lowest CRPS (the lowest CRPS overall if none is).
    Nothing from 2020 on is read: the clock is cut at the first period starting in 2020."""
    cut = int(np.searchsorted(clock.start_time, TUNING_END))
    actual = realised_changes(clock)
    periods = [p for p in range(first, cut - 1) if clock.start_time[p + 1] < TUNING_END]
    hists = [history(clock, p * N) for p in periods]
    rng_u = np.random.default_rng(12345)
    us = rng_u.random(len(periods))
    fits: dict[tuple[int, int, int], Fit] = {}
    rows = []
    for gi, m in enumerate(grid):
        recs = []
        for j, (p, hist) in enumerate(zip(periods, hists, strict=True)):
            key = (m.window, m.vol_window or 0, p)
            if key not in fits:
                fits[key] = fit(hist, m)
            s = simulate_paths(hist, 1, paths, seed=p * 10, model=m, fitted=fits[key]).change_pct[:, 0]
            recs.append(
                sample_record("start", 1, "forecast", p, _times(clock, p, 1), s, float(actual[p]), float(us[j]))
            )
        r = next(x for x in summarise(recs) if x.subset == "whole")
        assert r.coverage_90 is not None and r.below_p10 is not None and r.above_p90 is not None
        shares = {"coverage_90": r.coverage_90, "below_p10": r.below_p10, "above_p90": r.above_p90}
        ok = all(lo <= shares[k] <= hi for k, (lo, hi) in CALIBRATION_TARGETS.items())
        rows.append(
            TuningRow(
                window=m.window,
                vol_window=m.vol_window,
                innovations=m.innovations,
                scale=m.scale,
                n=r.n,
                crps=r.crps,
                mae=r.mae,
                calibrated=ok,
                **shares,
            )
        )
        if progress:
            progress(gi + 1, len(grid))
    pool = [r for r in rows if r.calibrated] or rows
    chosen = min(pool, key=lambda r: r.crps)
    return Tuning(
        rule=(
            "next adjustment from each period start with its outcome before 2020-01-01; among the settings with "
            "90 % coverage 85-95 % and 8-12 % of outcomes below p10 and above p90, the lowest CRPS"
        ),
        points=len(periods),
        rows=rows,
        chosen=chosen,
    )


def model_of(row: TuningRow) -> HashrateModel:
    return replace(
        DEFAULT_MODEL, window=row.window, vol_window=row.vol_window, innovations=row.innovations, scale=row.scale
    )


# -- the report's track record, kept per chain state -------------------------------------------
TRACK_LAST = 100
TRACK_PATHS = 1000
#: Part of every kept point's digest: raise it when the forecast's arithmetic changes, so points
#: kept by an older hashlens are not read back.
POINTS_VERSION = 1


def cache_dir() -> Path:
    """Where computed backtest points are kept: ``$HASHLENS_CACHE_DIR``, else the user cache
    directory."""
    env = os.environ.get("HASHLENS_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hashlens", appauthor=False))


def point_keys(
    clock: ChainClock, periods: Sequence[int], model: HashrateModel, paths: int, seed_of: Callable[[int], int]
) -> dict[int, str]:
    """A digest of everything a period-start forecast reads (bits to the period, stored start
    and last-block times before it, the settings): equal digests, equal forecasts."""
    last_h = np.arange(clock.periods) * N + N - 1
    i = np.clip(np.searchsorted(clock.block_h, last_h), 0, max(clock.block_h.size - 1, 0))
    stored_last = (
        np.where(clock.block_h[i] == last_h, clock.block_t[i].astype(float), np.nan)
        if clock.block_h.size
        else np.full(clock.periods, np.nan)
    )
    stored_start = np.where(clock.start_source == STORED, clock.start_time, np.nan)
    rows = np.stack([clock.bits.astype(float), stored_start, stored_last], axis=1)
    want = set(periods)
    digest = hashlib.sha256(json.dumps([POINTS_VERSION, repr(model), paths]).encode()).digest()
    out = {}
    for p in range(max(want) + 1 if want else 0):
        if p in want:
            tail = json.dumps([float(clock.bits[p]), seed_of(p)]).encode()
            out[p] = hashlib.sha256(digest + tail).hexdigest()
        digest = hashlib.sha256(digest + rows[p].tobytes()).digest()
    return out


def _read_cache(path: Path) -> dict[str, list[float]]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, data: dict[str, list[float]], keep: int = 4000) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        items = list(data.items())[-keep:]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(items)))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is recomputed next time


def track_record(
    clock: ChainClock,
    period: int,
    last: int = TRACK_LAST,
    paths: int = TRACK_PATHS,
    model: HashrateModel = DEFAULT_MODEL,
    cache: Path | None = None,
) -> TrackRecord:
    """Of the last ``last`` forecasts of the next adjustment from a period start before
    ``period`` (outcomes known by then), how many the 90 % range held and how many fell below
    p10 and above p90.

    Each point's quantiles are kept on disk (:func:`cache_dir`) under a digest of what it read
    (:func:`point_keys`), so a point is simulated once per chain state: a report recomputes
    only the periods that ended since the last one."""
    periods = list(range(max(FIRST_PERIOD, period - last - 1), period - 1))
    if not periods:
        return TrackRecord(forecasts=0, held_90=0, below_p10=0, above_p90=0)
    path = (cache or cache_dir()) / "forecast-points.json"
    keys = point_keys(clock, periods, model, paths, lambda p: p * 10)
    stored = _read_cache(path)
    actual = realised_changes(clock)
    held = below = above = 0
    new = False
    for p in periods:
        q = stored.get(keys[p])
        if q is None or len(q) != len(Quantiles.NAMES):
            s = simulate_paths(history(clock, p * N), 1, paths, seed=p * 10, model=model).change_pct[:, 0]
            q = list(Quantiles.of(s).model_dump().values())
            stored[keys[p]] = q
            new = True
        qq = dict(zip(Quantiles.NAMES, q, strict=True))
        y = float(actual[p])
        held += bool(qq["p05"] <= y <= qq["p95"])
        below += bool(y < qq["p10"])
        above += bool(y > qq["p90"])
    if new:
        _write_cache(path, stored)
    return TrackRecord(forecasts=len(periods), held_90=held, below_p10=below, above_p90=above)


# -- output -----------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "     -" if x is None else f"{x * 100:5.1f}%"


def format_table(result: Backtest) -> str:
    """The backtest as text: per subset, the rows of every phase, horizon and method."""
    lines = [result.split, ""]
    head = f"{'phase':14} {'h':>2} {'method':18} {'n':>4} {'MAE':>6} {'CRPS':>6} {'cov50':>6} {'cov80':>6} {'cov90':>6} {'<p10':>6} {'>p90':>6}"
    for subset in result.subsets:
        rows = [r for r in result.rows if r.subset == subset]
        if not rows:
            continue
        lines += [f"== {subset}", head]
        for r in rows:
            lines.append(
                f"{r.phase:14} {r.horizon:>2} {r.method:18} {r.n:>4} {r.mae:6.3f} {r.crps:6.3f} "
                f"{_pct(r.coverage_50)} {_pct(r.coverage_80)} {_pct(r.coverage_90)} {_pct(r.below_p10)} {_pct(r.above_p90)}"
            )
        lines += headline(rows)
        lines.append("")
    return "\n".join(lines)


def headline(rows: Sequence[BacktestRow]) -> list[str]:
    """The forecast's median against the best simple rule, per horizon from period starts."""
    out = []
    for h in HORIZONS:
        rs = [r for r in rows if r.phase == "start" and r.horizon == h]
        fc = next((r for r in rs if r.method == "forecast"), None)
        rules = [r for r in rs if r.method != "forecast"]
        if fc is None or not rules:
            continue
        best = min(rules, key=lambda r: r.mae)
        verdict = "beats" if fc.mae < best.mae else "does not beat"
        out.append(
            f"   start h{h}: forecast median MAE {fc.mae:.3f} {verdict} the best simple rule ({best.method}, {best.mae:.3f})"
        )
    return out


def format_tuning(t: Tuning) -> str:
    lines = [f"tuning: {t.rule} ({t.points} points)"]
    lines.append(
        f"{'window':>6} {'vol':>4} {'shocks':8} {'scale':>5} {'CRPS':>6} {'MAE':>6} {'cov90':>6} {'<p10':>6} {'>p90':>6}  calibrated"
    )
    for r in t.rows:
        mark = " <- chosen" if r == t.chosen else ""
        lines.append(
            f"{r.window:>6} {r.vol_window or '-'!s:>4} {r.innovations:8} {r.scale:5.2f} {r.crps:6.3f} {r.mae:6.3f} {_pct(r.coverage_90)} "
            f"{_pct(r.below_p10)} {_pct(r.above_p90)}  {'yes' if r.calibrated else 'no'}{mark}"
        )
    return "\n".join(lines)


def chart(result: Backtest, path: Path) -> Path:
    """Reliability diagram (nominal vs observed coverage) and PIT histograms, PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result.rows if r.subset == "whole" and r.coverage_90 is not None]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.plot([0, 100], [0, 100], color="grey", lw=0.8)
    for r in rows:
        ys = [(r.coverage_50 or 0) * 100, (r.coverage_80 or 0) * 100, (r.coverage_90 or 0) * 100]
        a1.plot(
            [50, 80, 90],
            ys,
            marker="o",
            ls="-" if r.method == "forecast" else ":",
            label=f"{r.method} {r.phase} h{r.horizon}",
        )
    a1.set(
        xlabel="nominal interval [%]", ylabel="outcomes inside [%]", title="Reliability", xlim=(40, 100), ylim=(0, 100)
    )
    a1.legend(fontsize=6)
    centers = (np.arange(PIT_BINS) + 0.5) / PIT_BINS
    for r in rows:
        if r.method != "forecast" or r.phase != "start" or not r.pit_histogram:
            continue
        hist_ = np.array(r.pit_histogram, dtype=float)
        a2.plot(centers, hist_ / hist_.sum() * PIT_BINS, marker="o", label=f"h{r.horizon}")
    a2.axhline(1.0, color="grey", lw=0.8)
    a2.set(xlabel="PIT", ylabel="density", title="PIT of the forecast (period start)", ylim=(0, 3))
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = [
    "Backtest",
    "BacktestRow",
    "Tuning",
    "crps_samples",
    "format_table",
    "pit",
    "run_backtest",
    "track_record",
    "tune",
]
