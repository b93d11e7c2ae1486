"""Units defined once: every module that turns seconds into days or years, EH/s into H/s or a
Unix time into the ISO instant shown takes them from here.

A year is the Julian year (365.25 days), as Bitcoin analyses and Cambridge's index annualise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365.25
HOURS_PER_YEAR = 24 * DAYS_PER_YEAR  # 8,766
#: The genesis block's time and 2100-01-01T00:00:00Z [Unix s]: the span a request's time may name.
FIRST_TIME_S = 1_231_006_505
LAST_TIME_S = 4_102_444_800
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

#: Hashes per second in one EH/s [H/s]: hashrates are kept in EH/s (``hashrate_ehs``) and
#: turned into H/s for consensus arithmetic only through this.
HS_PER_EHS = 1e18


@overload
def iso_utc(ts: float) -> str: ...
@overload
def iso_utc(ts: None) -> None: ...
def iso_utc(ts: float | None) -> str | None:
    """A Unix time [s] as the ISO-8601 UTC instant every face shows, to the second
    (``2026-02-07T13:56:45Z``); None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_many(ts: list[float | None]) -> list[str | None]:
    """:func:`iso_utc` of every time at once (numpy's datetime64 formatting), for whole
    seconds; None stays None. Equal, element by element, to :func:`iso_utc`
    (``tests/test_analytics.py`` holds them equal)."""
    import numpy as np

    known = [t for t in ts if t is not None]
    if any(float(t) != int(t) for t in known):
        return [iso_utc(t) for t in ts]  # fractions of a second: iso_utc's rounding, one by one
    text = iter(np.datetime_as_string(np.array([int(t) for t in known], dtype="datetime64[s]")).tolist())
    return [None if t is None else next(text) + "Z" for t in ts]
