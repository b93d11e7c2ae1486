"""What a simulation recorded (:class:`ChunkResult`), the chunks merged into one run's result
(:func:`merge`) and its summary as JSON data (:func:`summarise`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
from hashlens.consensus.vectorised import difficulty
from hashlens.sim.resolved import Resolved

N = DIFFICULTY_ADJUSTMENT_INTERVAL


@dataclass
class ChunkResult:
    """What a chunk of paths recorded: R records every ``record_every_days``, n paths, G fleet
    generations and room for K adjustments per path."""

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
    k_max: int = 0  # the most columns K may grow to (0: fixed)


def ensure_columns(out: ChunkResult, need: int) -> None:
    """Grow the per-period arrays (doubling, NaN-filled, at most ``out.k_max`` columns) so that
    ``need`` columns exist. Draws are untouched: results equal those of full-size arrays."""
    k = out.adjustments.shape[1]
    if need <= k or k >= out.k_max:
        return
    new = min(out.k_max, max(need, 2 * k))

    def grow(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, new - k)), constant_values=np.nan)

    out.adjustments, out.adjustment_days, out.period_s = (
        grow(out.adjustments),
        grow(out.adjustment_days),
        grow(out.period_s),
    )


def merge(parts: list[ChunkResult], records: tuple[np.ndarray, ...] | None = None) -> ChunkResult:
    """One result from the chunks, written in place into arrays allocated once; each chunk is
    released from ``parts`` as soon as it is copied, so the peak is the result plus one chunk.
    ``records``: the run's record arrays the chunks already wrote into (nothing to copy)."""
    k = max(p.adjustments.shape[1] for p in parts)
    n = sum(p.periods_done.size for p in parts)
    first = parts[0]
    rec = first.difficulty.shape[0]
    g = first.margins.shape[1]
    done = records is not None
    if records is None:
        records = (*(np.empty((rec, n), np.float32) for _ in range(4)), np.empty((rec, g, n), np.float32))
    out = ChunkResult(
        first.record_days,
        records[0][:rec],
        records[1][:rec],
        records[2][:rec],
        records[3][:rec],
        records[4][:rec],
        np.empty((n, k), np.float32),  # each chunk's columns copied, the rest NaN-filled below
        np.empty((n, k), np.float32),
        np.empty((n, k), np.float32),
        np.empty(n, dtype=np.int64),
    )
    at = 0
    while parts:
        p = parts.pop(0)
        m = p.periods_done.size
        sl = slice(at, at + m)
        if not done:
            out.difficulty[:, sl], out.hashrate_ehs[:, sl] = p.difficulty, p.hashrate_ehs
            out.hashprice_usd[:, sl], out.price_usd[:, sl] = p.hashprice_usd, p.price_usd
            out.margins[:, :, sl] = p.margins
        kk = p.adjustments.shape[1]
        out.adjustments[sl, :kk], out.adjustment_days[sl, :kk], out.period_s[sl, :kk] = (
            p.adjustments,
            p.adjustment_days,
            p.period_s,
        )
        for a in (out.adjustments, out.adjustment_days, out.period_s):
            a[sl, kk:] = np.nan
        out.periods_done[sl] = p.periods_done
        at += m
    return out


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
