"""The week's figures' requests: the day (what ``GET /v1/weekly`` takes) and, for ``hashlens
weekly`` and ``hashlens report``, the price and the outlook's simulation size.

The API serves the report's figures for a day: its price is the stored one and its outlook the
report's (20,000 paths, seed 1, :data:`PATHS`, :data:`SEED`), so that the report, the API and the
dashboard show the same numbers; the CLI may ask for another price, size or seed.
"""

from __future__ import annotations

from pydantic import Field

from hashlens.contracts import Day, Request
from hashlens.economics.models import BtcPrice

__all__ = ["MAX_PATHS", "PATHS", "SEED", "WeeklyDay", "WeeklyRequest"]

#: The report's outlook: simulated paths and seed (what ``GET /v1/weekly`` uses) [-].
PATHS = 20_000
SEED = 1
#: The most simulated paths the outlook may be asked for [-].
MAX_PATHS = 200_000


class WeeklyDay(Request):
    """The day the week's figures are taken at (24:00 UTC)."""

    as_of: Day | None = Field(
        None, description="UTC day (default: the latest day with a dated period and a stored price)."
    )


class WeeklyRequest(WeeklyDay):
    """The week's figures as of a day, at a given BTC price, with the outlook's simulation size."""

    btc_price_usd: BtcPrice | None = Field(None, description="BTC price [USD] instead of the day's stored one.")
    paths: int = Field(PATHS, ge=100, le=MAX_PATHS, description="Simulated paths of the outlook [-].")
    seed: int = Field(SEED, ge=0, le=0xFFFF_FFFF, description="Seed of the outlook's simulation [-].")
