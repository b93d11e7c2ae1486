"""The halving outlook at a time: the next halving's height, blocks left and estimated date."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, computed_field

from hashlens.chain.clock import ChainClock
from hashlens.consensus import COIN, next_halving
from hashlens.contracts import Result
from hashlens.units import iso_utc

if TYPE_CHECKING:
    from hashlens.chain.models import HalvingRequest
    from hashlens.store import Store


class HalvingOutlook(Result):
    """The next halving seen from a tip (``hashlens halving``, ``GET /v1/halving``, the weekly
    figures)."""

    as_of: str | None = Field(None, description="The UTC day the store's chain is taken at (null: tip given).")
    source: str = Field("store", description="Where the tip comes from: the store's chain, or given.")
    tip_height: int = Field(..., description="The tip's height [-].")
    tip_height_exact: bool = Field(
        ..., description="From stored block times; else interpolated in the period in force (or given)."
    )
    tip_time_s: float = Field(..., description="The tip's time [Unix s].")
    next_halving_height: int
    blocks_left: int
    current_subsidy_btc: float = Field(..., description="[BTC/block]")
    next_subsidy_btc: float = Field(..., description="[BTC/block]")
    block_interval_s: float = Field(..., description="Mean block interval the date assumes [s].")
    interval_window: str = Field(..., description="The blocks that mean is taken over.")
    estimated_time_s: float = Field(..., description="Estimated time of the halving [Unix s].")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tip_time(self) -> str:
        """The tip's time, ISO-8601 UTC."""
        return iso_utc(self.tip_time_s)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimated_time(self) -> str:
        """The estimated time, ISO-8601 UTC."""
        return iso_utc(self.estimated_time_s)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimated_date(self) -> str:
        """The estimated UTC day."""
        return self.estimated_time[:10]


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
        tip_time_s=tip_time,
        next_halving_height=nh.height,
        blocks_left=nh.blocks_left,
        current_subsidy_btc=nh.current_subsidy_sat / COIN,
        next_subsidy_btc=nh.next_subsidy_sat / COIN,
        block_interval_s=interval,
        interval_window=window,
        estimated_time_s=nh.estimated_time,
    )


def halving_from_tip(height: int, tip_time_s: float, interval_s: float) -> HalvingOutlook:
    """The next halving from a given tip height, tip time [Unix s] and mean block interval [s]:
    :func:`hashlens.consensus.next_halving`."""
    nh = next_halving(height, tip_time_s, interval_s)
    return HalvingOutlook(
        source="given: tip height, tip time and mean block interval",
        tip_height=height,
        tip_height_exact=True,
        tip_time_s=float(tip_time_s),
        next_halving_height=nh.height,
        blocks_left=nh.blocks_left,
        current_subsidy_btc=nh.current_subsidy_sat / COIN,
        next_subsidy_btc=nh.next_subsidy_sat / COIN,
        block_interval_s=nh.block_interval_s,
        interval_window="given",
        estimated_time_s=nh.estimated_time,
    )


def halving(store: Store, request: HalvingRequest) -> HalvingOutlook:
    """The request's halving outlook: from its given tip, else from the store's chain at 24:00
    UTC of its day (default: :func:`hashlens.economics.daily.latest_day`)."""
    if request.height is not None and request.tip_time_s is not None and request.interval_s is not None:
        return halving_from_tip(request.height, request.tip_time_s, request.interval_s)
    from hashlens.chain.clock import end_of_day
    from hashlens.economics.daily import latest_day

    clock = ChainClock.from_store(store)
    day = request.as_of or latest_day(store, clock)
    return halving_outlook(clock, end_of_day(day)).model_copy(update={"as_of": day.isoformat()})
