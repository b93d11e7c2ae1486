"""Weekly endpoint: every figure of the weekly report as of one day, as the dashboard draws it.

``GET /v1/weekly?as_of=D`` is :meth:`hashlens.weekly.WeeklyFigures.compute` for D, as plain
data (:meth:`~hashlens.weekly.WeeklyFigures.as_dict`), with the report's seed and number of
simulated paths, so the report, the API and the dashboard show the same numbers.
``GET /v1/weekly/days`` bounds the dashboard's date picker.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS, Day
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["weekly"], responses=ERRORS)

PATHS = 20_000  # as the report (hashlens report --paths default)
SEED = 1


# -- library calls, module-level so their results can be cached ---------------------------------
def _weekly(s: Store, as_of: date | None) -> dict[str, Any]:
    from hashlens.weekly import WeeklyFigures

    return WeeklyFigures.compute(s, as_of, paths=PATHS, seed=SEED).as_dict()


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
@router.get("/weekly")
def weekly(holder: Holder, as_of: Annotated[Day | None, Query()] = None) -> dict[str, Any]:
    """Every figure of the weekly report as of ``as_of`` (24:00 UTC; default: the latest day
    with a dated period and a stored price). Sections the store lacks data for are null, with
    the reason in ``missing``; a day beyond the store's periods is a 400 naming the last one."""
    if as_of is None:  # the same cache entry as the explicit latest day
        as_of = date.fromisoformat(holder.cached(_days)["latest"])
    return holder.cached(_weekly, as_of)


@router.get("/weekly/days")
def weekly_days(holder: Holder) -> dict[str, str]:
    """The days ``/v1/weekly`` can be asked for: ``first`` and ``latest`` (the default as-of)."""
    return holder.cached(_days)
