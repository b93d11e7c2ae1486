"""The outlook for the next difficulty adjustments: the running period's estimate followed by
simulated paths from the bits it implies, with hashrate growing at its recent trend.

One function serves the report, ``/v1/weekly`` and the dashboard, so they publish one forecast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.sim.engine import simulate, summarise
from hashlens.sim.setup import prepare_run

FORTNIGHT_S = 14 * 86_400
N = DIFFICULTY_ADJUSTMENT_INTERVAL


def hashrate_trend_pct_per_14_days(clock: ChainClock, period: int, periods: int = 6) -> float:
    """Growth of the implied hashrate over the ``periods`` whole periods before ``period``
    [% per 14 days]: a least-squares line through log(implied hashrate) against start time.

    .. math:: g = e^{14\\,d \\cdot b} - 1, \\qquad \\ln H_q = a + b\\, t_q

    Periods whose start or end is only estimated are left out; fewer than three gives 0.
    """
    xs, ys = [], []
    for q in range(max(0, period - periods), period):
        dur = clock.implied_duration_s(q)
        if dur is None:
            continue
        xs.append(float(clock.start_time[q]))
        ys.append(math.log(float(implied_hashrate_ehs(int(clock.bits[q]), dur))))
    if len(xs) < 3:
        return 0.0
    slope = float(np.polyfit(np.array(xs) - xs[0], ys, 1)[0])
    return (math.exp(slope * FORTNIGHT_S) - 1) * 100


@dataclass(frozen=True)
class OutlookRow:
    label: str
    height: int | None
    change_pct_p05: float
    change_pct_p50: float
    change_pct_p95: float
    p_drop: float


@dataclass(frozen=True)
class Outlook:
    rows: list[OutlookRow] = field(default_factory=list)
    trend_pct_per_14_days: float = 0.0
    paths: int = 0
    seed: int = 0
    method: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def adjustment_outlook(
    running_estimate: dict[str, Any],
    hashrate_ehs: float,
    price_usd: float | None,
    trend_pct_per_14_days: float,
    paths: int = 20_000,
    seed: int = 1,
    following: int = 2,
) -> Outlook:
    """The next adjustment (hashlens' estimate for the running period, ``running_estimate`` from
    :func:`hashlens.chain.estimate.own_estimate`) and the ``following`` ones: ``paths`` simulated
    paths starting from the bits that estimate implies, at ``hashrate_ehs`` [EH/s] growing
    ``trend_pct_per_14_days`` [%/14 days], every retarget by the exact rule."""
    o = running_estimate
    rows = [
        OutlookRow(
            "next",
            int(o["next_retarget_height"]),
            float(o["change_low_pct"]),
            float(o["change_pct"]),
            float(o["change_high_pct"]),
            float(o["p_drop"]),
        )
    ]
    run = prepare_run(
        {
            "name": "outlook",
            "days": 60,
            "record_every_days": 60,
            "initial": {
                "bits": o["next_bits"],
                "hashrate_ehs": float(hashrate_ehs),
                "price_usd": float(price_usd or 1.0),
            },
            "hashrate": {"model": "growth", "growth_pct_per_14_days": trend_pct_per_14_days},
        }
    )
    summary = summarise(run.resolved, simulate(run.resolved, paths, seed))
    for i, u in enumerate(summary["upcoming_adjustments"][:following], start=1):
        q = u["change_pct"]
        height = int(o["next_retarget_height"]) + i * N if o.get("next_retarget_height") else None
        rows.append(OutlookRow(f"+{i} after that", height, q["p5"], q["p50"], q["p95"], float(u["p_drop"])))
    return Outlook(
        rows,
        trend_pct_per_14_days,
        paths,
        seed,
        f"first row: hashlens' estimate for the running period; later rows: {paths:,} simulated paths from "
        f"its estimated next bits at today's hashrate growing {trend_pct_per_14_days:+.2f} % per 14 days "
        "(the trend of the last six periods), every retarget by the exact rule",
    )
