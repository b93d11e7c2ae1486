"""Pools: shares with exact intervals, sources side by side, luck, concentration, dominance.

Each endpoint takes its request model of :mod:`hashlens.pools.models` as its query (the same
model, bounds and words as ``hashlens pools``), calls :mod:`hashlens.pools.analysis` and
returns its result model. Answers are cached per store version.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS
from hashlens.pools.models import (
    ConcentrationRequest,
    ConcentrationResult,
    DominanceRequest,
    DominanceSeries,
    LuckRequest,
    LuckResult,
    PoolShares,
    PoolsRequest,
    SourceComparison,
)
from hashlens.store import Store

router = APIRouter(prefix="/v1/pools", tags=["pools"], responses=ERRORS)


# -- library calls, module-level so their results can be cached ----------------------------------------
def _shares(s: Store, req: PoolsRequest) -> dict[str, Any]:
    from hashlens.pools.analysis import pool_shares

    return pool_shares(s, req).to_json()


def _compare(s: Store, req: PoolsRequest) -> dict[str, Any]:
    from hashlens.pools.analysis import compare_sources

    return compare_sources(s, req).to_json()


def _luck(s: Store, req: LuckRequest) -> dict[str, Any]:
    from hashlens.pools.analysis import pool_luck

    return pool_luck(s, req).to_json()


def _concentration(s: Store, req: ConcentrationRequest) -> dict[str, Any]:
    from hashlens.pools.analysis import pool_concentration

    return pool_concentration(s, req).to_json()


def _dominance(s: Store, req: DominanceRequest) -> dict[str, Any]:
    from hashlens.pools.analysis import dominance

    return dominance(s, req).to_json()


def _sources(s: Store) -> list[dict[str, Any]]:
    from hashlens.pools.analysis import coverage_summary

    return coverage_summary(s)


# -- endpoints -----------------------------------------------------------------------------------------
@router.get("", response_model=PoolShares)
async def pools(request: Request, req: Annotated[PoolsRequest, Query()]) -> Response:
    """Each pool's share of the window's blocks in one source: exact Clopper–Pearson interval,
    hashrate (share × network hashrate, both uncertainties), longest run, empty blocks."""
    return await holder_of(request).json(_shares, req)


@router.get("/compare", response_model=SourceComparison)
async def pools_compare(request: Request, req: Annotated[PoolsRequest, Query()]) -> Response:
    """Two or more sources (``source=canhui,btl``) side by side for one window, never merged."""
    return await holder_of(request).json(_compare, req)


@router.get("/luck", response_model=LuckResult)
async def pools_luck(request: Request, req: Annotated[LuckRequest, Query()]) -> Response:
    """Blocks found against expected per pool: exact Poisson p-values, Holm across pools."""
    return await holder_of(request).json(_luck, req)


@router.get("/concentration", response_model=ConcentrationResult)
async def pools_concentration(request: Request, req: Annotated[ConcentrationRequest, Query()]) -> Response:
    """Top-1/top-3 share, HHI and Nakamoto coefficient with bootstrap intervals."""
    return await holder_of(request).json(_concentration, req)


@router.get("/dominance", response_model=DominanceSeries)
async def pools_dominance(request: Request, req: Annotated[DominanceRequest, Query()]) -> Response:
    """Shares per pool per bin of days over the source's span (the dashboard's stacked area)."""
    return await holder_of(request).json(_dominance, req)


@router.get("/sources", response_model=list[dict[str, Any]])
async def pools_sources(request: Request) -> Response:
    """Every pool source in the store and what it covers."""
    return await holder_of(request).json(_sources)
