"""When a company's figure counts as known: the publication-lag rule every as-of view applies.

A view as of day D (the weekly report, ``--as-of``) counts a figure only if it had been published
by D. Where the store holds the day a figure was published, that day is used; otherwise:

========================================  =================================================
figure                                     counted as published
========================================  =================================================
monthly production update                  7 days after its month ends (miners publish in the
                                           first week of the next month)
treasury figure dated a month's last day   7 days after that day (it comes with the month's
                                           production update)
treasury figure dated any other day        on that day (a disclosure made that day)
quarterly results                          40 days after the quarter ends (the SEC's 10-Q
                                           deadline for large accelerated filers)
========================================  =================================================
"""

from __future__ import annotations

from datetime import date, timedelta

from hashlens.miners.models import month_end

MONTHLY_LAG_DAYS = 7
QUARTERLY_LAG_DAYS = 40

#: The rule in one sentence, for footnotes and JSON answers.
LAG_RULE = (
    f"Counted as published: a monthly production update {MONTHLY_LAG_DAYS} days after its month ends; a treasury "
    f"figure dated a month's last day {MONTHLY_LAG_DAYS} days later (with that month's update), one dated another day "
    f"on that day; quarterly results on the day stored with them, else {QUARTERLY_LAG_DAYS} days after the quarter "
    "ends (the SEC's 10-Q deadline for large accelerated filers)."
)


def month_published(month: date) -> date:
    """The day a month's production update counts as published."""
    return month_end(month) + timedelta(days=MONTHLY_LAG_DAYS)


def snapshot_published(day: date) -> date:
    """The day a treasury figure dated ``day`` counts as published."""
    return day + timedelta(days=MONTHLY_LAG_DAYS) if day == month_end(day) else day


def result_published(period_end: date, published: date | None) -> tuple[date, str]:
    """The day a quarterly figure counts as published, and how that is known."""
    if published is not None:
        return published, "stored publication day"
    return period_end + timedelta(days=QUARTERLY_LAG_DAYS), f"{QUARTERLY_LAG_DAYS} days after the period ended"
