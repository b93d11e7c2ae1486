"""Weekly endpoint: every figure of the weekly report as of one day, as the dashboard draws it.

``GET /v1/weekly?as_of=D`` is :meth:`hashlens.weekly.WeeklyFigures.compute` for D, as plain
data (:meth:`~hashlens.weekly.WeeklyFigures.to_json`), with the report's seed and number of
simulated paths (:data:`hashlens.weekly.models.PATHS`, :data:`~hashlens.weekly.models.SEED`), so the report, the API and the dashboard show the same numbers.
``GET /v1/weekly/days`` bounds the dashboard's date picker.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import ERRORS
from hashlens.store import Store
from hashlens.weekly.figures import WeeklyFigures
from hashlens.weekly.models import PATHS as PATHS
from hashlens.weekly.models import SEED as SEED
from hashlens.weekly.models import WeeklyDay

router = APIRouter(prefix="/v1", tags=["weekly"], responses=ERRORS)


# -- library calls, module-level so their results can be cached ---------------------------------
def _days(s: Store) -> dict[str, str]:
    from hashlens.chain.clock import ChainClock, day_of
    from hashlens.economics.daily import latest_day

    clock = ChainClock.from_store(s)
    latest = latest_day(s, clock)
    first_price = s.first_price_day()
    # WeeklyFigures needs a period after the first retarget in force, and its hashprice lows
    # start at the first stored price.
    first = day_of(float(clock.start_time[1])) if clock.periods > 1 else latest
    if first_price is not None:
        first = max(first, first_price)
    return {"first": min(first, latest).isoformat(), "latest": latest.isoformat(), "default": latest.isoformat()}


# -- endpoints ----------------------------------------------------------------------------------
@router.get("/weekly", response_model=WeeklyFigures)
async def weekly(request: Request, q: Annotated[WeeklyDay, Query()]) -> Response:
    """Every figure of the weekly report as of ``as_of`` (24:00 UTC; default: the latest day
    with a dated period and a stored price). Sections the store lacks data for are null, with
    the reason in ``missing``; a day beyond the store's periods is a 400 naming the last one."""
    holder = holder_of(request)
    as_of = q.as_of
    if as_of is None:  # the same cache entry as the explicit latest day
        as_of = date.fromisoformat((await holder.compute(_days))["latest"])
    pool = request.app.state.pool
    day = as_of
    # A day's figures include 20,000 simulated paths: computed in the heavy pool, once per
    # store version and UTC date (a note counts the days from the data's end to today), then
    # served from the cache.
    today = datetime.now(tz=UTC).date()
    return await holder.json_from(
        ("weekly", day, today),
        lambda: pool.run("hashlens.api.tasks:weekly", str(holder.path), day, PATHS, SEED, today),
        whole=False,
    )


@router.get("/weekly/days", response_model=dict[str, str])
async def weekly_days(request: Request) -> Response:
    """The days ``/v1/weekly`` can be asked for: ``first`` and ``latest`` (the default as-of)."""
    holder = holder_of(request)
    return await holder.json(_days)
