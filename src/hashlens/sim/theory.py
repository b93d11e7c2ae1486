"""Closed forms the simulator is validated against.

Notation: a period has N blocks (``DIFFICULTY_ADJUSTMENT_INTERVAL``) and the retarget measures
N − 1 of its block intervals (Core's off-by-one, see :mod:`hashlens.consensus.retarget`); T is
the target timespan (``POW_TARGET_TIMESPAN``, 14 days).

Constant hashrate H. Let Γ_k ~ Gamma(N − 1, 1) be the work (in expected blocks) of period
k's N − 1 measured intervals. The retarget gives D_{k+1} = D_k · T/τ_k with τ_k = Γ_k/λ_k and
λ_k = H/(D_k 2^32), so D_{k+1} = T H / (2^32 Γ_k): each period's difficulty is independent of the
last. Hence the mean block interval is E[1/λ] = T·E[1/Γ] = T/(N − 2) = 600.596 s (not 600 s: the
rule measures N − 1 intervals, and Jensen's inequality on 1/Γ), and the expected retarget is
E[D_{k+1}/D_k] - 1 = E[Γ]·E[1/Γ] - 1 = (N − 1)/(N − 2) - 1 = +0.0497 %.

Exponential growth H(t) = H_0 e^{gt}. In a steady state every period's N − 1 measured
intervals take the same τ and the whole period P = τ + δ (δ: the one interval mined at the next
difficulty). With a the block rate at a period's start, ignoring the Poisson noise:

    a (e^{gτ} - 1)/g = N − 1                      (N − 1 intervals at D_k)
    a (τ/T) e^{gτ} (e^{gδ} - 1)/g = 1             (one interval at D_{k+1} = D_k T/τ)
    e^{gP} = T/τ                                  (the rate at each period start repeats)

Eliminating a and δ: e^{gτ} (1 + (N − 1) τ/T) = N, solved for τ by bisection; then the mean
block interval is P/N = ln(T/τ)/(N g). For 10 % per 14 days this gives 550.08 s. The
shortening of block times under growth is the effect Kraft (2016) described; this steady-state
form is derived here.
"""

from __future__ import annotations

import math

from hashlens.consensus.params import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_TIMESPAN

T = float(POW_TARGET_TIMESPAN)
N = DIFFICULTY_ADJUSTMENT_INTERVAL  # blocks per period
TIMED = N - 1  # block intervals the retarget measures


def constant_mean_interval_s() -> float:
    """Long-run mean block interval at constant hashrate: T·E[1/Γ] = T/(TIMED − 1) [s]."""
    return T / (TIMED - 1)


def constant_expected_change_pct() -> float:
    """Mean retarget at constant hashrate: E[Γ]·E[1/Γ] − 1 = TIMED/(TIMED − 1) − 1 [%]."""
    return (TIMED / (TIMED - 1) - 1.0) * 100.0


def growth_rate_per_s(pct_per_14_days: float) -> float:
    """Continuous rate g [1/s] of a growth of ``pct_per_14_days`` [%] per two weeks (T)."""
    return math.log1p(pct_per_14_days / 100.0) / T


def steady_state_timespan_s(g: float) -> float:
    """τ solving e^{gτ}(1 + TIMED·τ/T) = N [s]."""
    if g == 0:
        return T

    def f(tau: float) -> float:
        return math.exp(g * tau) * (1 + TIMED * tau / T) - N

    lo, hi = (1e-9 * T, T) if g > 0 else (T, 4 * T)
    for _ in range(200):
        mid = (lo + hi) / 2
        if (f(mid) > 0) == (f(hi) > 0):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def growth_mean_interval_s(g: float) -> float:
    """Steady-state mean block interval under growth rate g [1/s]."""
    if g == 0:
        return T / TIMED
    tau = steady_state_timespan_s(g)
    return math.log(T / tau) / (N * g)


def steady_state_start_rate(g: float) -> float:
    """Block rate at a period's first block in the growth steady state [blocks/s]."""
    if g == 0:
        return TIMED / T
    tau = steady_state_timespan_s(g)
    return TIMED * g / math.expm1(g * tau)
