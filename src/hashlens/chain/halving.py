"""The halving outlook at a time: the next halving's height, blocks left and estimated date."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.consensus import COIN, next_halving


@dataclass(frozen=True)
class HalvingOutlook:
    tip_height: int
    tip_height_exact: bool  # from stored block times, else interpolated between period starts
    tip_time: float  # [Unix s]
    next_halving_height: int
    blocks_left: int
    current_subsidy_btc: float
    next_subsidy_btc: float
    block_interval_s: float
    interval_window: str
    estimated_time: float  # [Unix s]

    @property
    def estimated_date(self) -> str:
        return datetime.fromtimestamp(self.estimated_time, tz=UTC).strftime("%Y-%m-%d")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"estimated_date": self.estimated_date}


def halving_outlook(clock: ChainClock, ts: float, periods: int = 26) -> HalvingOutlook:
    """The next halving as seen at time ``ts`` [Unix s], from data up to then only.

    .. math:: t_{halving} = t_{tip} + (h_{halving} - h_{tip}) \\cdot \\bar{\\Delta t}

    The tip is the last stored block at ``ts`` where block times cover it, else the height
    interpolated in the period in force; the mean interval :math:`\\bar{\\Delta t}` is
    :meth:`ChainClock.mean_block_interval_s` over the ``periods`` whole periods before ``ts``
    (26, about a year, by default) — a longer window than one period, so that a storm-slowed
    period does not move the date by months.

    Parameters
    ----------
    clock : the chain's clock of the store
    ts : the time the outlook is taken at [Unix s]
    periods : whole periods in the mean-interval window [-]

    Returns
    -------
    :class:`HalvingOutlook`: tip height, next halving height, blocks left, subsidies [BTC],
    mean interval [s] and its window, estimated time [Unix s].

    References
    ----------
    .. [1] Bitcoin Core ``validation.cpp: GetBlockSubsidy`` (the 210,000-block eras).
    """
    clock.require_covered(ts, "the halving date")
    heights, exact = clock.height_at(np.array([ts]))
    tip = int(heights[0])
    tip_time = float(clock.block_t[np.searchsorted(clock.block_h, tip)]) if exact[0] else ts
    interval, window = clock.mean_block_interval_s(ts, periods)
    nh = next_halving(tip, tip_time, interval)
    return HalvingOutlook(
        tip_height=tip,
        tip_height_exact=bool(exact[0]),
        tip_time=tip_time,
        next_halving_height=nh.height,
        blocks_left=nh.blocks_left,
        current_subsidy_btc=nh.current_subsidy_sat / COIN,
        next_subsidy_btc=nh.next_subsidy_sat / COIN,
        block_interval_s=interval,
        interval_window=window,
        estimated_time=nh.estimated_time,
    )
