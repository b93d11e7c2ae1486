"""Walk-forward backtest of the adjustment forecast against baselines measured in the same run.

At every period P whose inputs exist, the forecast a user would have had (data below the
forecast height only, :func:`hashlens.sim.forecast.history`) is compared with what the chain
did at the next 1 … 3 adjustments, at three points of the period: its start, mid-period (tip
at its 1,009th block) and 3 days before its retarget (the last stored block by then); the last
two need the running period's blocks to be stored. Scores:

* coverage of the central 50/80/90 % intervals;
* the PIT (share of paths below the outcome, ties split) in ten bins — flat when calibrated;
* CRPS (Gneiting & Raftery 2007, *Strictly proper scoring rules*, JASA 102:359), from the
  paths by the sorted-sample formula; for a point forecast it is the absolute error;
* mean absolute error of the median.

Baselines on the same points: "zero change", "same change as last time", mempool.space's
point method (:func:`hashlens.chain.estimate.mempool_estimate`, mid-period and late, next
adjustment only) and the current simulator (:mod:`hashlens.sim.engine` from the period start at
the previous period's implied hashrate growing at its six-period trend,
:func:`hashlens.sim.outlook.hashrate_trend_pct_per_14_days`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.chain.estimate import mempool_estimate
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.vectorised import difficulty_change_pct
from hashlens.sim.forecast import DEFAULT_MODEL, LEVELS, HashrateModel, History, history, simulate_paths
from hashlens.units import SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
PHASES = ("start", "mid", "late")
HORIZONS = (1, 2, 3)
FIRST_PERIOD = 40  # the simulator's old backtest started here too (early 2010)
LATE_S = 3 * SECONDS_PER_DAY
PIT_BINS = 10


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


@dataclass
class Score:
    """Accumulated scores of one method at one phase and horizon."""

    crps: list[float] = field(default_factory=list)
    abs_err: list[float] = field(default_factory=list)
    covered: dict[float, list[bool]] = field(default_factory=lambda: {lv: [] for lv in LEVELS})
    pits: list[float] = field(default_factory=list)
    periods: list[int] = field(default_factory=list)

    def add_samples(self, p: int, s: np.ndarray, y: float, u: float) -> None:
        self.periods.append(p)
        self.crps.append(crps_samples(s, y))
        self.abs_err.append(abs(float(np.median(s)) - y))
        for lv in LEVELS:
            lo, hi = np.quantile(s, [(1 - lv) / 2, (1 + lv) / 2])
            self.covered[lv].append(bool(lo <= y <= hi))
        self.pits.append(pit(s, y, u))

    def add_point(self, p: int, x: float, y: float) -> None:
        self.periods.append(p)
        self.crps.append(abs(x - y))
        self.abs_err.append(abs(x - y))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": len(self.crps),
            "crps": float(np.mean(self.crps)) if self.crps else None,
            "mae_median": float(np.mean(self.abs_err)) if self.abs_err else None,
        }
        if self.pits:
            out["coverage"] = {f"{int(lv * 100)}": float(np.mean(c)) for lv, c in self.covered.items()}
            out["pit_histogram"] = np.histogram(self.pits, bins=PIT_BINS, range=(0, 1))[0].tolist()
        return out


@dataclass
class Point:
    period: int
    phase: str
    hist: History


def forecast_points(clock: ChainClock, first: int = FIRST_PERIOD, last: int | None = None) -> list[Point]:
    """Every (period, phase) whose inputs exist, as the history below its height."""
    pts = []
    last = clock.periods - 2 if last is None else min(last, clock.periods - 2)
    bh, bt = clock.block_h, clock.block_t
    for p in range(first, last + 1):
        pts.append(Point(p, "start", history(clock, p * N)))
        if not bh.size:
            continue
        i0 = int(np.searchsorted(bh, p * N))
        i1 = int(np.searchsorted(bh, (p + 1) * N))
        if i1 - i0 != N or bh[i0] != p * N:  # the period's blocks are not all stored
            continue
        hist_mid = history(clock, p * N + N // 2 + 1)
        pts.append(Point(p, "mid", hist_mid))
        end = float(clock.start_time[p + 1]) - LATE_S
        j = int(np.searchsorted(bt[i0:i1], end, side="right")) - 1
        if j >= 1:
            pts.append(Point(p, "late", history(clock, int(bh[i0 + j]) + 1)))
    return pts


def _simulator_samples(hist: History, paths: int, seed: int) -> np.ndarray:
    """The current simulator (today's outlook model) from the period start: NaN-padded
    (paths, 3) adjustments."""
    from hashlens.sim.engine import resolve, simulate
    from hashlens.sim.outlook import hashrate_trend_pct_per_14_days
    from hashlens.sim.scenario import parse_scenario

    clock = ChainClock(
        hist.bits, hist.start_time, hist.start_source, np.zeros(hist.bits.size), *(np.zeros(0, dtype=np.int64),) * 2
    )
    trend = hashrate_trend_pct_per_14_days(clock, hist.period)
    trend = float(np.clip(trend, -50.0, 400.0))
    s = parse_scenario(
        {
            "name": "backtest",
            "days": 60,
            "record_every_days": 60,
            "initial": {
                "bits": f"{int(hist.bits[-1]):08x}",
                "hashrate_ehs": float(np.exp(hist.log_hashrate[-1])),
                "price_usd": 1.0,
            },
            "hashrate": {"model": "growth", "growth_pct_per_14_days": trend},
        }
    )
    res = simulate(resolve(s), paths, seed)
    out = np.full((paths, 3), np.nan)
    k = min(3, res.adjustments.shape[1])
    out[:, :k] = res.adjustments[:, :k]
    return out


def run_backtest(
    clock: ChainClock,
    first: int = FIRST_PERIOD,
    last: int | None = None,
    paths: int = 2000,
    model: HashrateModel = DEFAULT_MODEL,
    baselines: bool = True,
    sim_paths: int = 400,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Scores per phase, horizon and method (see the module docstring), as plain data."""
    diff = clock.difficulty
    actual = np.asarray(difficulty_change_pct(diff[:-1], diff[1:]), dtype=float)  # actual[p]: end of period p
    scores: dict[tuple[str, int, str], Score] = {}

    def sc(phase: str, h: int, method: str) -> Score:
        return scores.setdefault((phase, h, method), Score())

    rng_u = np.random.default_rng(12345)
    pts = forecast_points(clock, first, last)
    sim_cache: dict[int, np.ndarray] = {}
    for n_done, pt in enumerate(pts):
        p, hist = pt.period, pt.hist
        hmax = min(len(HORIZONS), clock.periods - 1 - p)
        sim = simulate_paths(hist, hmax, paths, seed=p * 10 + PHASES.index(pt.phase), model=model)
        for h in range(1, hmax + 1):
            y = float(actual[p + h - 1])
            sc(pt.phase, h, "forecast").add_samples(p, sim.change_pct[:, h - 1], y, float(rng_u.random()))
            if not baselines:
                continue
            sc(pt.phase, h, "zero change").add_point(p, 0.0, y)
            sc(pt.phase, h, "same as last").add_point(p, float(actual[p - 1]), y)
            if pt.phase == "start":
                if p not in sim_cache:
                    sim_cache[p] = _simulator_samples(hist, sim_paths, p)
                col = sim_cache[p][:, h - 1]
                col = col[~np.isnan(col)]
                if col.size:
                    sc(pt.phase, h, "simulator").add_samples(p, col, y, float(rng_u.random()))
            elif h == 1:
                m = _mempool(clock, hist, float(actual[p - 1]))
                if m is not None:
                    sc(pt.phase, h, "mempool.space").add_point(p, m, y)
        if progress:
            progress(n_done + 1)
    table = []
    for (phase, h, method), s in sorted(scores.items(), key=lambda kv: (PHASES.index(kv[0][0]), kv[0][1], kv[0][2])):
        table.append({"phase": phase, "horizon": h, "method": method, **s.summary()})
    ratios = []
    for (phase, h, method), s in scores.items():
        if method == "forecast":
            continue
        f = scores[(phase, h, "forecast")]
        common = set(s.periods) & set(f.periods)
        fi = [c for c, q in zip(f.crps, f.periods, strict=True) if q in common]
        bi = [c for c, q in zip(s.crps, s.periods, strict=True) if q in common]
        if fi:
            ratios.append(
                {
                    "phase": phase,
                    "horizon": h,
                    "baseline": method,
                    "n": len(fi),
                    "crps_ratio": float(np.mean(fi) / np.mean(bi)),
                }
            )
    ratios.sort(key=lambda r: (PHASES.index(r["phase"]), r["horizon"], r["baseline"]))
    return {
        "model": model.describe(),
        "paths": paths,
        "periods": [int(pts[0].period), int(pts[-1].period)] if pts else [],
        "points": len(pts),
        "table": table,
        "crps_ratio_forecast_to_baseline": ratios,
        "recent": {
            f"{phase}/{h}": [bool(x) for x in s.covered[0.9][-100:]]
            for (phase, h, method), s in scores.items()
            if method == "forecast"
        },
    }


def _mempool(clock: ChainClock, hist: History, previous_change_pct: float) -> float | None:
    """mempool.space's point estimate with the tip at as_of_height - 1."""
    tip = hist.as_of_height - 1
    bh, bt = clock.block_h, clock.block_t

    def t(height: int) -> int | None:
        i = int(np.searchsorted(bh, height))
        return int(bt[i]) if i < bh.size and bh[i] == height and height < hist.as_of_height else None

    start, tip_t, back = t(hist.period * N), t(tip), t(tip - 503)
    if start is None or tip_t is None:
        return None
    return float(mempool_estimate(start, back, tip_t, tip, previous_change_pct, tip_t).change_pct)


# -- the weekly report's one sentence ---------------------------------------------------------

_CACHE: dict[str, dict[str, Any]] = {}


def recent_coverage(clock: ChainClock, period: int, last: int = 100, paths: int = 1000) -> dict[str, Any]:
    """Of the last ``last`` forecasts of the next adjustment from a period start before
    ``period`` (outcomes known by then), how many the 90 % range held. Cached in memory by the
    clock's content, so the weekly figures pay for it once per store state."""
    key_src = np.concatenate([clock.bits[:period].astype(float), clock.start_time[:period]]).tobytes()
    key = hashlib.sha256(key_src + json.dumps([period, last, paths]).encode()).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    first = max(FIRST_PERIOD, period - last - 1)
    held, n = 0, 0
    for p in range(first, period - 1):
        hist = history(clock, p * N)
        sim = simulate_paths(hist, 1, paths, seed=p * 10)
        lo, hi = np.quantile(sim.change_pct[:, 0], [0.05, 0.95])
        y = float(difficulty_change_pct(clock.difficulty[p], clock.difficulty[p + 1]))
        held += bool(lo <= y <= hi)
        n += 1
    out = {"forecasts": n, "held_90": held, "horizon": 1, "phase": "period start"}
    _CACHE[key] = out
    return out


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"{'phase':6} {'h':>2} {'method':14} {'n':>4} {'cov50':>6} {'cov80':>6} {'cov90':>6} {'CRPS':>7} {'MAE':>7}  PIT"
    ]
    for r in result["table"]:
        cov = r.get("coverage", {})
        c = [f"{cov[k] * 100:5.1f}%" if k in cov else "     -" for k in ("50", "80", "90")]
        pit_h = " ".join(str(x) for x in r.get("pit_histogram", []))
        lines.append(
            f"{r['phase']:6} {r['horizon']:>2} {r['method']:14} {r['n']:>4} {c[0]} {c[1]} {c[2]} "
            f"{r['crps']:7.3f} {r['mae_median']:7.3f}  {pit_h}"
        )
    lines.append("")
    lines.append("CRPS ratio forecast / baseline (same points; < 1 = forecast better):")
    for r in result["crps_ratio_forecast_to_baseline"]:
        lines.append(f"  {r['phase']:6} h{r['horizon']} vs {r['baseline']:14} {r['crps_ratio']:.3f} (n={r['n']})")
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> Path:
    """Reliability diagram (nominal vs observed coverage) and PIT histograms, PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["table"] if r["method"] in ("forecast", "simulator") and "coverage" in r]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.plot([0, 100], [0, 100], color="grey", lw=0.8)
    for r in rows:
        xs = [50, 80, 90]
        ys = [r["coverage"][str(x)] * 100 for x in xs]
        a1.plot(
            xs,
            ys,
            marker="o",
            ls="-" if r["method"] == "forecast" else ":",
            label=f"{r['method']} {r['phase']} h{r['horizon']}",
        )
    a1.set(
        xlabel="nominal interval [%]", ylabel="outcomes inside [%]", title="Reliability", xlim=(40, 100), ylim=(0, 100)
    )
    a1.legend(fontsize=6)
    centers = (np.arange(PIT_BINS) + 0.5) / PIT_BINS
    for r in rows:
        if r["method"] != "forecast" or r["phase"] != "start":
            continue
        hist_ = np.array(r["pit_histogram"], dtype=float)
        a2.plot(centers, hist_ / hist_.sum() * PIT_BINS, marker="o", label=f"h{r['horizon']}")
    a2.axhline(1.0, color="grey", lw=0.8)
    a2.set(xlabel="PIT", ylabel="density", title="PIT of the forecast (period start)", ylim=(0, 3))
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
