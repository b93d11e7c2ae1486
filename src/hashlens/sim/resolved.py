"""A scenario made numbers: the simulator's starting state (:class:`Resolved`).

:func:`resolve` takes each initial quantity from the scenario, else from the chain facts the
caller read from the store, else from the growth steady state
(:func:`hashlens.sim.theory.steady_state_start_rate`), and refuses a start or a growth the
engine could not run (a target outside 1 … powLimit, a hashrate past
:data:`hashlens.sim.scenario.MAX_HASHRATE_EHS` within the horizon).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    MAX_TARGET,
    bits_to_target,
    hashrate_hs_for_block_rate,
    target_to_bits,
)
from hashlens.consensus.vectorised import split_bits
from hashlens.errors import HashlensError
from hashlens.sim import theory
from hashlens.sim.kernels import MIN_ONLINE
from hashlens.sim.scenario import MAX_HASHRATE_EHS, Scenario
from hashlens.units import DAYS_PER_YEAR, HS_PER_EHS, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL


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


def _bits_for_difficulty(d: float, where: str) -> int:
    """Compact bits of the target of difficulty ``d`` (MAX_TARGET/d), refused outside 1 … powLimit."""
    target = MAX_TARGET / d if d > 0 else math.inf
    if not (1.0 <= target <= MAX_TARGET * (1 + 1e-9)):
        raise HashlensError(
            f"{where}: gives a starting difficulty of {d:.4g}; it must be between 1 and {MAX_TARGET:.4g}"
        )
    return target_to_bits(min(int(target), MAX_TARGET))


def resolve(
    s: Scenario, chain: dict[str, Any] | None = None, efficiency_of: Callable[[str], float] | None = None
) -> Resolved:
    """Fill the initial state from the scenario, then from ``chain`` (facts read from the store
    by the caller: bits, hashrate, price, height), then from steady-state formulas.

    The steady-state difficulty is the one at which ``hashrate_ehs`` finds blocks at the
    growth steady state's start rate a (:func:`hashlens.sim.theory.steady_state_start_rate`):
    D = H / hashrate_hs_for_block_rate(a, 1).
    """
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
    _check_growth(s, float(h0))
    if isinstance(s.difficulty, str) or (bits is None and s.difficulty is None):
        g = theory.growth_rate_per_s(s.growth_pct_per_14_days) if s.hashrate_model == "growth" else 0.0
        a = theory.steady_state_start_rate(g)
        d0 = h0 * HS_PER_EHS / hashrate_hs_for_block_rate(a, 1.0)
        bits = _bits_for_difficulty(d0, "initial.difficulty steady-state")
    elif s.difficulty is not None:
        bits = _bits_for_difficulty(float(s.difficulty), "initial.difficulty")
    assert bits is not None
    try:
        bits_to_target(int(bits))
    except HashlensError as exc:
        raise HashlensError(f"initial.bits: {exc}") from None
    m, e = split_bits(int(bits))
    effs = np.array([efficiency_of(g.model) if efficiency_of else g.efficiency_j_per_th for g in s.fleet], dtype=float)
    return Resolved(s, m, e, float(h0), float(price), height, effs)


def _check_growth(s: Scenario, h0: float) -> None:
    """Refuse growth that would take the hashrate past MAX_HASHRATE_EHS within the horizon
    (λ would overflow and the block loop never end)."""
    if h0 > MAX_HASHRATE_EHS:
        raise HashlensError(f"initial.hashrate_ehs: {h0:.4g} EH/s is above {MAX_HASHRATE_EHS:.0e} EH/s")
    if s.hashrate_model == "growth":
        log_end = math.log(h0) + theory.growth_rate_per_s(s.growth_pct_per_14_days) * s.days * SECONDS_PER_DAY
        if log_end > math.log(MAX_HASHRATE_EHS):
            raise HashlensError(
                f"hashrate.growth_pct_per_14_days: {s.growth_pct_per_14_days:g} % for {s.days:g} days takes the "
                f"hashrate past {MAX_HASHRATE_EHS:.0e} EH/s"
            )
    if s.hashrate_model == "fleet" and s.fleet_growth_pct_per_year > 0:
        # installed capacity is at most 1/MIN_ONLINE times the initial hashrate, then grows
        log_end = math.log(h0 / MIN_ONLINE) + math.log1p(s.fleet_growth_pct_per_year / 100) * s.days / DAYS_PER_YEAR
        if log_end > math.log(MAX_HASHRATE_EHS):
            raise HashlensError(
                f"hashrate.fleet_growth_pct_per_year: {s.fleet_growth_pct_per_year:g} % for {s.days:g} days takes "
                f"the hashrate past {MAX_HASHRATE_EHS:.0e} EH/s"
            )
