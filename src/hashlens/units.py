"""Calendar units, defined once: every module that turns seconds into days or years takes them
from here.

A year is the Julian year (365.25 days), as Bitcoin analyses and Cambridge's index annualise.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365.25
HOURS_PER_YEAR = 24 * DAYS_PER_YEAR  # 8,766
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
