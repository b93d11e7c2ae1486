"""Listed miners: report months, monthly tables, expected vs reported BTC, treasuries."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as FPath

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS, FIRST_DAY, LAST_DAY
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


def _treasury(s: Store) -> list[dict[str, Any]]:
    from hashlens.miners.analysis import treasuries

    return treasuries(s)


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
async def miner_treasury(request: Request) -> Response:
    """Each company's latest BTC treasury, largest first."""
    holder = holder_of(request)
    return await holder.json(_treasury)


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
