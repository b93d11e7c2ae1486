"""Expected production of a miner from its hashrate and the difficulty in force.

A miner with hashrate H [H/s] finds blocks as a Poisson process of rate H/(D·2^32) while the
difficulty is D, so over a month split into segments of constant difficulty

.. math:: E[\\text{blocks}] = H \\sum_k \\frac{t_k}{D_k \\, 2^{32}}, \\qquad
          E[\\text{BTC}] = E[\\text{blocks}] \\cdot (\\bar s + \\bar f)

with t_k the seconds of the month spent in period k and s̄ + f̄ the mean block reward of the
month's blocks. The Poisson standard deviation of the block count is sqrt(E[blocks]).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hashlens.consensus import expected_blocks as blocks_at
from hashlens.units import HS_PER_EHS


def expected_blocks(hashrate_ehs: float, segments: Sequence[tuple[float, float]]) -> float:
    """Expected blocks for ``hashrate_ehs`` [EH/s] over segments of (seconds, difficulty)."""
    if hashrate_ehs < 0:
        raise ValueError("hashrate must not be negative")
    return sum(float(blocks_at(hashrate_ehs * HS_PER_EHS, d, t)) for t, d in segments)


def expected_btc(
    hashrate_ehs: float, segments: Sequence[tuple[float, float]], reward_btc: float
) -> tuple[float, float]:
    """(expected BTC, its Poisson standard deviation) [BTC]."""
    blocks = expected_blocks(hashrate_ehs, segments)
    return blocks * reward_btc, math.sqrt(blocks) * reward_btc


def btc_per_ehs_day(btc: float, hashrate_ehs: float, days: float) -> float:
    """Production efficiency [BTC per EH/s per day]."""
    return btc / hashrate_ehs / days if hashrate_ehs > 0 and days > 0 else float("nan")
