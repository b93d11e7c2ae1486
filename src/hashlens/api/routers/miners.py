"""Listed miners: report months, monthly tables, expected vs reported BTC, treasuries, quarterly
results beside the chain (``/v1/miners/results``) and treasury flows (``/v1/miners/flows``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as FPath

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS, FIRST_DAY, LAST_DAY, Day
from hashlens.miners.models import FlowsAnswer, FlowsQuery, ResultsAnswer, ResultsQuery
from hashlens.store import Store

router = APIRouter(prefix="/v1/miners", tags=["miners"], responses=ERRORS)

Month = Annotated[str, FPath(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


def _months(s: Store) -> list[str]:
    return [m.strftime("%Y-%m") for m in s.miner_months()]


def _table(s: Store, month: date) -> list[dict[str, Any]]:
    from hashlens.miners.analysis import month_table

    return month_table(s, month)


def _expected(s: Store, month: date) -> list[dict[str, Any]]:
    from hashlens.miners.analysis import expected_vs_reported

    return expected_vs_reported(s, month)


def _treasury(s: Store, as_of: date | None = None) -> list[dict[str, Any]]:
    from hashlens.miners.analysis import treasuries

    return treasuries(s, as_of)


def _results(s: Store, query: ResultsQuery) -> ResultsAnswer:
    from hashlens.miners.results import quarterly_results

    return quarterly_results(s, query)


def _flows(s: Store, query: FlowsQuery) -> FlowsAnswer:
    from hashlens.miners.flows import treasury_flows

    return treasury_flows(s, query)


def _month(month: str) -> date:
    from hashlens.miners.dataset import parse_month

    d = parse_month(month, "month")
    if not FIRST_DAY <= d <= LAST_DAY:
        raise HTTPException(422, "month out of range")
    return d


@router.get("/months", response_model=list[str])
async def miner_months(request: Request) -> Response:
    """Months with stored reports, oldest first (YYYY-MM)."""
    holder = holder_of(request)
    return await holder.json(_months)


@router.get("/treasury", response_model=list[dict[str, Any]])
async def miner_treasury(request: Request, as_of: Annotated[Day | None, Query()] = None) -> Response:
    """Each company's latest BTC treasury, largest first; with ``as_of``, only figures published
    by that day (the publication-lag rule)."""
    holder = holder_of(request)
    return await holder.json(_treasury, as_of)


@router.get("/results", response_model=ResultsAnswer)
async def miner_results(request: Request, query: Annotated[ResultsQuery, Query()]) -> Response:
    """Quarterly results with the chain beside them: each figure with its source, the revenue
    mix and AI/HPC share, mining revenue per PH/s per day against the network's hashprice,
    expected vs reported BTC over the period's difficulty, each company's own cost per BTC
    against the network's electricity cost at the stated machine (``hashlens miners results``)."""
    holder = holder_of(request)
    return await holder.json(_results, query)


@router.get("/flows", response_model=FlowsAnswer)
async def miner_flows(request: Request, query: Annotated[FlowsQuery, Query()]) -> Response:
    """Treasury flows between published holdings: sold ≈ produced − change in holdings, with
    the stated sales and a flag where they disagree (``hashlens miners flows``)."""
    holder = holder_of(request)
    return await holder.json(_flows, query)


@router.get("/{month}/table", response_model=list[dict[str, Any]])
async def miner_table(request: Request, month: Month) -> Response:
    """The month's reports in descending order of BTC mined."""
    holder = holder_of(request)
    return await holder.json(_table, _month(month))


@router.get("/{month}/expected", response_model=list[dict[str, Any]])
async def miner_expected(request: Request, month: Month) -> Response:
    """Expected BTC from each company's hashrate and the month's real difficulty, vs reported."""
    holder = holder_of(request)
    return await holder.json(_expected, _month(month))
