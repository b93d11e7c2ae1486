"""The old outlook's hashrate trend (the simulator baseline of :mod:`hashlens.sim.backtest`).

The outlook of the next adjustments is :func:`hashlens.sim.forecast.forecast_adjustments`, the one
function the report, ``/v1/weekly``, ``/v1/forecast``, ``hashlens forecast`` and the dashboard call.
"""

from __future__ import annotations

import math

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.units import SECONDS_PER_DAY

FORTNIGHT_S = 14 * SECONDS_PER_DAY
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
