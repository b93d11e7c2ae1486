"""Block subsidy, issued supply and the halving schedule (Core's ``GetBlockSubsidy``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hashlens.consensus.params import COIN, HALVING_INTERVAL
from hashlens.errors import HashlensError

INITIAL_SUBSIDY_SAT = 50 * COIN


def subsidy_sat(height: Any) -> Any:
    """Core's shift 5·10^9 sat >> ⌊h/210000⌋ (zero from 64 halvings) as plain integer
    arithmetic: an int64 or an int64 array in, the same out [sat].

    The one place the rule is written: :func:`block_subsidy_sat` and :func:`block_subsidy_btc`
    call it after checking the heights, and the simulator's numba kernels compile this same
    function. Heights must not be negative (the callers check).
    """
    halvings = height // HALVING_INTERVAL
    # the shift is capped at 63 (C++ leaves 64 and more undefined), and zeroed from 64 on
    return (INITIAL_SUBSIDY_SAT >> np.minimum(halvings, 63)) * (halvings < 64)


def block_subsidy_sat(height: int) -> int:
    """New coins a block at ``height`` may create [sat].

    .. math:: s(h) = \\lfloor 5\\cdot10^9 / 2^{\\lfloor h/210000 \\rfloor} \\rfloor

    A right shift by 64 or more is undefined in C++, so Core returns zero from the 64th
    halving on; the shift already yields zero from the 33rd.
    """
    if height < 0:
        raise HashlensError(f"height {height} is negative")
    # every height from the 64th halving on has the same (zero) subsidy: capped, it fits int64
    return int(subsidy_sat(min(height, 64 * HALVING_INTERVAL)))


def block_subsidy_btc(heights: ArrayLike) -> Any:
    """:func:`block_subsidy_sat` for many heights at once, in bitcoin [BTC/block].

    The same integer shift as Core (5·10^9 sat >> halvings, zero from 64 halvings), done on
    int64 arrays and divided by COIN only at the end, so every value equals the scalar rule.
    Negative heights are refused, as in the scalar rule.
    """
    h = np.asarray(heights, dtype=np.int64)
    if np.any(h < 0):
        raise HashlensError(f"height {int(h.min())} is negative")
    out = subsidy_sat(h) / COIN
    return float(out) if out.ndim == 0 else out


def next_halving_height(height: int) -> int:
    """First height of the next subsidy era after ``height`` [-]:
    (⌊h / 210000⌋ + 1) · 210000 (Core's ``nSubsidyHalvingInterval``)."""
    return (height // HALVING_INTERVAL + 1) * HALVING_INTERVAL


def issued_supply_sat(height: int) -> int:
    """Sum of all subsidies of blocks 0..height inclusive [sat].

    Closed form per era: full eras contribute 210,000 * s(era). This is the scheduled
    issuance; it counts the genesis coinbase (unspendable) and ignores coins that miners
    failed to claim, so it is an upper bound on the spendable supply.
    """
    if height < 0:
        return 0
    blocks = height + 1
    full_eras, rest = divmod(blocks, HALVING_INTERVAL)
    total = 0
    for era in range(min(full_eras, 64)):
        total += HALVING_INTERVAL * (INITIAL_SUBSIDY_SAT >> era)
    if full_eras < 64:
        total += rest * (INITIAL_SUBSIDY_SAT >> full_eras)
    return total


@dataclass(frozen=True)
class Halving:
    """One subsidy era's start."""

    epoch: int
    height: int
    subsidy_sat: int


def halving_schedule(eras: int = 34) -> list[Halving]:
    """Start height and subsidy of each era; era 33 is the first with zero subsidy."""
    return [Halving(e, e * HALVING_INTERVAL, block_subsidy_sat(e * HALVING_INTERVAL)) for e in range(eras)]


@dataclass(frozen=True)
class NextHalving:
    height: int
    blocks_left: int
    current_subsidy_sat: int
    next_subsidy_sat: int
    estimated_time: float
    block_interval_s: float


def next_halving(height: int, tip_time: float, block_interval_s: float) -> NextHalving:
    """Next halving after tip ``height`` and its estimated time [Unix s].

    .. math:: t_{halving} = t_{tip} + (h_{halving} - h_{tip}) \\cdot \\bar{\\Delta t}

    ``block_interval_s`` is the recent mean block interval, e.g. over the last 2016 blocks.
    """
    if block_interval_s <= 0:
        raise HashlensError("block interval must be positive")
    nxt = next_halving_height(height)
    left = nxt - height
    return NextHalving(
        height=nxt,
        blocks_left=left,
        current_subsidy_sat=block_subsidy_sat(height),
        next_subsidy_sat=block_subsidy_sat(nxt),
        estimated_time=tip_time + left * block_interval_s,
        block_interval_s=block_interval_s,
    )
