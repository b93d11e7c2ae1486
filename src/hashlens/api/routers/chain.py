"""Chain endpoints: the summary, difficulty and its history, hashrate, halving."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS, Halving
from hashlens.errors import HashlensError
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["chain"], responses=ERRORS)

#: Points one hashrate series may have: its cost and its cached size stay bounded.
MAX_SERIES_POINTS = 20_000


# -- library calls, module-level so their results can be cached ---------------------------------
def _difficulty(s: Store) -> dict[str, Any]:
    from hashlens.chain.clock import ChainClock
    from hashlens.chain.status import difficulty_status
    from hashlens.sim.forecast import with_next_adjustment

    clock = ChainClock.from_store(s)
    # the running period's inputs beside the one estimate of the next adjustment (sim.forecast)
    return with_next_adjustment(difficulty_status(s, clock=clock), clock)


def _history(s: Store, limit: int) -> list[dict[str, Any]]:
    from hashlens.chain.adjustments import adjustment_history, load_periods

    return [a.as_dict() for a in adjustment_history(load_periods(s))][-limit:]


def _hashrate(s: Store, window: str, height: int | None) -> dict[str, Any]:
    from hashlens.chain.status import network_hashrate

    return network_hashrate(s, window, height).as_dict()


def _hashrate_series(s: Store, window: int, step: int) -> list[dict[str, Any]]:
    from hashlens.chain.status import network_hashrate_series

    return [e.as_dict() for e in network_hashrate_series(s, window, step)]


def _summary(s: Store) -> dict[str, Any]:
    from hashlens.chain.clock import ChainClock
    from hashlens.chain.summary import chain_summary
    from hashlens.sim.forecast import with_next_adjustment

    # Everything `hashlens summary` shows but the store's path, which is the server's business.
    out = with_next_adjustment(chain_summary(s), ChainClock.from_store(s))
    return {k: v for k, v in out.items() if k != "store"}


def _halving(s: Store) -> Halving:
    from hashlens.chain.clock import ChainClock, end_of_day
    from hashlens.chain.halving import halving_outlook
    from hashlens.economics.daily import latest_day

    clock = ChainClock.from_store(s)
    h = halving_outlook(clock, end_of_day(latest_day(s, clock)))
    return Halving(
        tip_height=h.tip_height,
        next_halving_height=h.next_halving_height,
        blocks_left=h.blocks_left,
        current_subsidy_btc=h.current_subsidy_btc,
        next_subsidy_btc=h.next_subsidy_btc,
        block_interval_s=h.block_interval_s,
        estimated_time=h.estimated_time,
    )


# -- endpoints ----------------------------------------------------------------------------------
@router.get("/difficulty", response_model=dict[str, Any])
async def difficulty(request: Request) -> Response:
    """Latest adjustment (rank, streak, records) and the running period: the next adjustment
    (``running_period.next_adjustment``, the forecast's first row) and mempool.space's method
    beside it as a reference (``running_period.mempool``)."""
    holder = holder_of(request)
    return await holder.json(_difficulty)


@router.get("/summary", response_model=dict[str, Any])
async def summary(request: Request) -> Response:
    """The chain at a glance, as ``hashlens summary``: row counts, the latest adjustment, the
    per-block tip, hashrate, the next retarget's two estimates, issued supply, the next halving."""
    holder = holder_of(request)
    return await holder.json(_summary)


@router.get("/difficulty/history", response_model=list[dict[str, Any]])
async def difficulty_history(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> Response:
    """Every difficulty adjustment (change %, rank among rises or drops, streak), oldest first."""
    holder = holder_of(request)
    return await holder.json(_history, limit)


@router.get("/hashrate", response_model=dict[str, Any])
async def hashrate(
    request: Request,
    window: Annotated[str, Query(pattern=r"^(\d{1,6}|\d{1,3}(\.\d+)?d)$")] = "1008",
    height: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> Response:
    """Network hashrate over a block window (e.g. 1008) or days (e.g. 7d), with a 95 % interval."""
    holder = holder_of(request)
    return await holder.json(_hashrate, window, height)


@router.get("/hashrate/series", response_model=list[dict[str, Any]])
async def hashrate_series(
    request: Request,
    window: Annotated[int, Query(ge=10, le=20160)] = 1008,
    step: Annotated[int, Query(ge=6, le=20160)] = 144,
) -> Response:
    """Hashrate over a sliding block window, every ``step`` blocks [EH/s]; at most
    20,000 points (a larger ``step`` over a long chain)."""
    holder = holder_of(request)
    blocks = holder.counts.get("blocks", 0)
    if blocks // step > MAX_SERIES_POINTS:
        raise HashlensError(
            f"step {step}: {blocks:,} stored blocks would give over {MAX_SERIES_POINTS:,} points; "
            f"use step {-(-blocks // MAX_SERIES_POINTS)} or more"
        )
    return await holder.json(_hashrate_series, window, step)


@router.get("/halving", response_model=Halving)
async def halving(request: Request) -> Response:
    """Next halving: height, blocks left, subsidy now and after, estimated time."""
    holder = holder_of(request)
    return await holder.json(_halving)
