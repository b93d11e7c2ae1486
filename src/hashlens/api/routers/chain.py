"""Chain endpoints: the summary, difficulty and its history, the next-retarget estimate from
explicit inputs, hashrate, halving, compact bits. Each takes its request model from
:mod:`hashlens.chain.models` as its query and answers the library's typed result."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS
from hashlens.chain.adjustments import Adjustment
from hashlens.chain.bits import BitsDecoded
from hashlens.chain.estimate import MempoolEstimate
from hashlens.chain.halving import HalvingOutlook
from hashlens.chain.hashrate import HashrateEstimate
from hashlens.chain.models import (
    BitsRequest,
    DifficultyHistoryRequest,
    DifficultyRequest,
    EstimateInputs,
    HalvingRequest,
    HashrateRequest,
    HashrateSeriesRequest,
    SummaryRequest,
)
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.weekly.asof import DifficultyOnDay, HashrateAnswer, SummaryOnDay

router = APIRouter(prefix="/v1", tags=["chain"], responses=ERRORS)

#: Points one hashrate series may have: its cost and its cached size stay bounded.
MAX_SERIES_POINTS = 20_000


# -- library calls, module-level so their results can be cached ---------------------------------
def _difficulty(s: Store, as_of: date | None, now_s: int | None) -> DifficultyOnDay:
    from hashlens.weekly.asof import difficulty_on

    # the running period's inputs beside the one estimate of the next adjustment (sim.forecast)
    return difficulty_on(s, as_of, now_s)


def _history(s: Store, limit: int | None) -> list[Adjustment]:
    from hashlens.chain.status import difficulty_history

    return difficulty_history(s, limit)


def _hashrate(s: Store, request: HashrateRequest) -> HashrateAnswer:
    from hashlens.weekly.asof import hashrate_on

    return hashrate_on(s, request)


def _hashrate_series(s: Store, window: int, step: int) -> list[HashrateEstimate]:
    from hashlens.chain.status import network_hashrate_series

    return network_hashrate_series(s, window, step)


def _summary(s: Store, as_of: date | None) -> SummaryOnDay:
    from hashlens.weekly.asof import summary_on

    return summary_on(s, as_of)


def _halving(s: Store, req: HalvingRequest) -> HalvingOutlook:
    from hashlens.chain.halving import halving

    return halving(s, req)


# -- endpoints ----------------------------------------------------------------------------------
@router.get("/difficulty", response_model=DifficultyOnDay)
async def difficulty(request: Request, q: Annotated[DifficultyRequest, Query()]) -> Response:
    """Latest adjustment (rank, streak, records) and the running period: the next adjustment
    (``running_period.next_adjustment``, the forecast's first row) and mempool.space's method
    beside it as a reference (``running_period.mempool``)."""
    holder = holder_of(request)
    return await holder.json(_difficulty, q.as_of, q.now_s)


@router.get("/summary", response_model=SummaryOnDay)
async def summary(request: Request, q: Annotated[SummaryRequest, Query()]) -> Response:
    """The chain at a glance, as ``hashlens summary``: row counts, the latest adjustment, the
    per-block tip, hashrate, the next retarget's two estimates, issued supply, the next halving."""
    holder = holder_of(request)
    return await holder.json(_summary, q.as_of)


@router.get("/difficulty/history", response_model=list[Adjustment])
async def difficulty_history(request: Request, q: Annotated[DifficultyHistoryRequest, Query()]) -> Response:
    """Every difficulty adjustment (change %, rank among rises or drops, streak), oldest first."""
    holder = holder_of(request)
    return await holder.json(_history, q.limit)


@router.get("/difficulty/estimate", response_model=MempoolEstimate)
async def difficulty_estimate(q: Annotated[EstimateInputs, Query()]) -> Response:
    """The next retarget by mempool.space's method from explicit inputs (no store needed), as
    ``hashlens difficulty estimate``."""
    from hashlens.api.deps import encode_json
    from hashlens.chain.status import estimate_from_inputs

    return Response(encode_json(estimate_from_inputs(q)), media_type="application/json")


@router.get("/hashrate", response_model=HashrateAnswer)
async def hashrate(request: Request, q: Annotated[HashrateRequest, Query()]) -> Response:
    """Network hashrate over a block window (e.g. 1008) or days (e.g. 7d), with a 95 % interval,
    ending at ``height`` or at the tip at 24:00 UTC of ``as_of`` (default the report's day)."""
    holder = holder_of(request)
    return await holder.json(_hashrate, q)


@router.get("/hashrate/series", response_model=list[HashrateEstimate])
async def hashrate_series(request: Request, q: Annotated[HashrateSeriesRequest, Query()]) -> Response:
    """Hashrate over a sliding block window, every ``step`` blocks [EH/s]; at most
    20,000 points (a larger ``step`` over a long chain)."""
    holder = holder_of(request)
    blocks = holder.counts.get("blocks", 0)
    if blocks // q.step > MAX_SERIES_POINTS:
        raise HashlensError(
            f"step {q.step}: {blocks:,} stored blocks would give over {MAX_SERIES_POINTS:,} points; "
            f"use step {-(-blocks // MAX_SERIES_POINTS)} or more"
        )
    return await holder.json(_hashrate_series, q.window, q.step)


@router.get("/halving", response_model=HalvingOutlook)
async def halving(request: Request, q: Annotated[HalvingRequest, Query()]) -> Response:
    """Next halving as of a day (the store's chain) or from a given tip height, tip time and
    mean block interval: height, blocks left, subsidy now and after, estimated time."""
    holder = holder_of(request)
    return await holder.json(_halving, q)


@router.get("/bits", response_model=BitsDecoded)
async def bits(q: Annotated[BitsRequest, Query()]) -> Response:
    """Decode compact nBits: target, difficulty and work per block (no store needed)."""
    from hashlens.api.deps import encode_json
    from hashlens.chain.bits import decode_bits

    return Response(encode_json(decode_bits(q.value)), media_type="application/json")
