"""Contracts of the listed-miners domain: a quarterly fact as a file row states it, the requests
for results and treasury flows, and the typed results the CLI, the API, the report and the
dashboard show (units in the field names)."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from hashlens.contracts import Request, Result
from hashlens.miners.vocabulary import LIMITS, METRICS, metric_named

#: Days a request may name: the chain's first day to 2100 (as the API's other days).
FIRST_DAY, LAST_DAY = date(2009, 1, 3), date(2100, 1, 1)

_CALENDAR_QUARTER = re.compile(r"^Q([1-4]) (\d{4})$")
_FISCAL_QUARTER = re.compile(r"^(?:FQ[1-4] \d{4}|Q[1-4] FY\d{2}(?:\d{2})?)$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def months_before(day: date, n: int) -> date:
    """The first day of the month ``n`` months before ``day``'s month."""
    k = day.year * 12 + day.month - 1 - n
    return date(k // 12, k % 12 + 1, 1)


def period_span(period: str, period_end: date) -> date:
    """The first day of a fiscal period from its label and end date.

    A quarter (``Q2 2024``; fiscal ``FQ1 2026`` or ``Q2 FY26``) is the three months ending with
    ``period_end``'s month, which must be its last day; a calendar quarter's label must also
    name that quarter. A month (``2025-07``) is that month, ending on its last day. Fiscal
    quarters that are not calendar quarters (IREN's, CleanSpark's) are dated by their end only.
    """
    if period_end != month_end(period_end):
        raise ValueError(f"period_end {period_end} is not the last day of a month: periods end on a month's last day")
    if m := _MONTH.match(period):
        y, mo = int(m.group(1)), int(m.group(2))
        if (y, mo) != (period_end.year, period_end.month):
            raise ValueError(f"period {period!r} is a month that does not end on {period_end}")
        return date(y, mo, 1)
    if m := _CALENDAR_QUARTER.match(period):
        q, y = int(m.group(1)), int(m.group(2))
        if (y, 3 * q) != (period_end.year, period_end.month):
            raise ValueError(
                f"period {period!r} is a calendar quarter ending {month_end(date(y, 3 * q, 1))}, not {period_end} "
                "(label a fiscal quarter FQn YYYY or Qn FYyy)"
            )
        return months_before(period_end, 2)
    if _FISCAL_QUARTER.match(period):
        return months_before(period_end, 2)
    raise ValueError(
        f"period {period!r} is neither a quarter (Q1 2025; fiscal FQ1 2026 or Q2 FY26) nor a month (YYYY-MM)"
    )


class QuarterFact(Request):
    """One number a company published for a fiscal period, as one row of a results file.

    ``metric`` is a name of :data:`hashlens.miners.vocabulary.METRICS` (or an alias, stored under
    the name it stands for) and ``unit`` must be that metric's unit. Amounts that cannot be
    negative (revenue, coins, hashrate, costs) are refused when negative; coins above 21 M,
    hashrate above 3,000 EH/s and a quarter over a trillion dollars are refused as a unit slip.
    """

    ticker: str = Field(..., pattern=r"^[A-Za-z0-9.\-]{1,12}$", description="Exchange ticker.")
    company: str | None = Field(None, max_length=200)
    period: str = Field(..., min_length=1, max_length=20, description="Fiscal period as the company names it.")
    period_end: date = Field(..., ge=FIRST_DAY, le=LAST_DAY, description="Last day of the period.")
    metric: str = Field(..., min_length=1, max_length=80)
    value: float
    unit: str = Field(..., max_length=20)
    source_url: str | None = Field(None, max_length=2000)
    source_kind: str | None = Field(None, max_length=500, description="What the source is.")
    note: str | None = Field(None, max_length=2000)
    published: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="Day the figure was published, where known."
    )

    @field_validator("ticker")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        m = metric_named(v)
        if m is None:
            raise ValueError(f"unknown metric {v!r}; the vocabulary: {', '.join(METRICS)}")
        return m.name

    @model_validator(mode="after")
    def _consistent(self) -> QuarterFact:
        m = METRICS[self.metric]
        if self.unit != m.unit:
            raise ValueError(f"unit {self.unit!r} is not {self.metric}'s unit; give it in {m.unit!r}")
        if self.value < 0 and not m.signed:
            raise ValueError(f"{self.metric} must not be negative (got {self.value:g} {self.unit})")
        limit = LIMITS.get(self.unit)
        if limit is not None and abs(self.value) > limit:
            raise ValueError(
                f"{self.metric} {self.value:,g} {self.unit} is implausible (over {limit:,.0f}); check the unit"
            )
        period_span(self.period, self.period_end)
        if not (self.source_url or self.source_kind):
            raise ValueError("give its source: source_url or source_kind (what the source is)")
        if self.published is not None and self.published < self.period_end:
            raise ValueError(f"published {self.published} is before the period ended ({self.period_end})")
        return self

    @property
    def period_start(self) -> date:
        """First day of the period (:func:`period_span`)."""
        return period_span(self.period, self.period_end)

    def key(self) -> tuple[str, date, date, str]:
        """What makes two rows the same fact: company, period and metric."""
        return self.ticker, self.period_start, self.period_end, self.metric


class ResultsQuery(Request):
    """Which quarterly results to show, and the reference machine the network's electricity
    cost is computed for."""

    company: str | None = Field(None, max_length=200, description="Ticker or company name.")
    quarter: str | None = Field(
        None, max_length=20, description="Period label as published (Q4 2025, Q2 FY26) or its end day (YYYY-MM-DD)."
    )
    as_of: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="Only results published by this day (the lag rule)."
    )
    efficiency_j_per_th: float = Field(21.5, gt=0, le=200, description="Reference efficiency [J/TH].")
    power_price_usd_per_kwh: float = Field(0.05, ge=0, le=10, description="Reference power price [USD/kWh].")


class FlowsQuery(Request):
    """Whose treasury flows to show, with what was published by a day."""

    company: str | None = Field(None, max_length=200, description="Ticker or company name.")
    as_of: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="Only figures published by this day (the lag rule)."
    )


class _Out(Result):
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (what ``WeeklyFigures.as_dict`` and the API send)."""
        return self.to_json()


class FactOut(_Out):
    metric: str
    value: float
    unit: str
    description: str
    source: str
    note: str | None


class RevenueMix(_Out):
    """A period's revenue by segment [USD m] and the AI/HPC share [0-1]."""

    total_usd_m: float
    total_basis: str  # "reported total" or "sum of the reported segments"
    segments_usd_m: dict[str, float]  # by metric
    by_segment_usd_m: dict[str, float]  # by segment: mining, ai_hpc, hosting, engineering, machine_sales, other
    ai_hpc_usd_m: float
    ai_hpc_share: float | None
    mining_share: float | None
    unidentified_usd_m: float


class RealisedRevenue(_Out):
    """Mining revenue per PH/s per day against the network's hashprice over the same days."""

    revenue_mining_usd_m: float
    hashrate_ehs: float
    hashrate_basis: str
    days: int
    realised_usd_per_ph_day: float
    network_usd_per_ph_day: float | None
    ratio: float | None
    network_basis: str


class ExpectedProduction(_Out):
    """Reported BTC against what the company's hashrate should have mined over the period's
    difficulty segments."""

    reported_btc: float
    hashrate_ehs: float
    hashrate_basis: str
    expected_btc: float
    expected_sd_btc: float
    expected_blocks: float
    ratio: float
    reward_basis: list[str]
    estimated_boundaries: bool
    fees_known: bool
    notes: list[str]


class CostAgainstNetwork(_Out):
    """A company's own cost per BTC beside the network's electricity cost per BTC at a stated
    machine over the same period."""

    metric: str
    definition: str
    basis: str
    reported_usd_per_btc: float
    network_electricity_usd_per_btc: float
    efficiency_j_per_th: float
    power_price_usd_per_kwh: float
    ratio: float
    implied_power_price_usd_per_kwh: float | None  # the price at which the two would be equal
    network_btc_per_ph_day: float
    fees_known: bool


class MiningMargin(_Out):
    """Mining revenue against the reported cost of mining revenue [USD m]."""

    revenue_mining_usd_m: float
    cost_mining_usd_m: float
    margin_usd_m: float
    cost_to_revenue: float
    depreciation_usd_m: float | None
    cash_cost_usd_m: float | None  # cost less the depreciation it includes
    cash_margin_usd_m: float | None


class QuarterResult(_Out):
    """One company's period: its published figures and what the chain says beside them."""

    ticker: str
    company: str
    period: str
    period_start: date
    period_end: date
    days: int
    published: date
    published_basis: str
    facts: list[FactOut]
    revenue_mix: RevenueMix | None
    realised: RealisedRevenue | None
    production: ExpectedProduction | None
    costs: list[CostAgainstNetwork]
    mining_margin: MiningMargin | None
    notes: list[str]


class ResultsAnswer(_Out):
    as_of: date | None
    lag_rule: str
    efficiency_j_per_th: float
    power_price_usd_per_kwh: float
    results: list[QuarterResult]


class HoldingsPoint(_Out):
    day: date
    btc: float
    source: str
    published: date


class TreasuryFlow(_Out):
    """The change in a company's BTC holdings between two published figures and the sales it
    implies: sold = produced − change in holdings (negative: bought or received)."""

    ticker: str
    company: str
    start: HoldingsPoint
    end: HoldingsPoint
    change_btc: float
    produced_low_btc: float
    produced_high_btc: float | None  # None: production in part of the span is not bounded
    production_basis: list[str]
    production_complete: bool
    implied_sold_low_btc: float
    implied_sold_high_btc: float | None
    stated_sold_btc: float | None
    stated_basis: list[str]
    direction: str  # "added", "sold" or "unchanged" (of holdings)
    agrees: bool | None
    flag: str | None


class FlowsAnswer(_Out):
    as_of: date | None
    lag_rule: str
    flows: list[TreasuryFlow]


class PivotPoint(_Out):
    """A company's AI/HPC share of revenue in one period."""

    ticker: str
    company: str
    period: str
    period_end: date
    ai_hpc_usd_m: float
    total_usd_m: float
    ai_hpc_share: float


class PivotTrend(_Out):
    ticker: str
    company: str
    latest: PivotPoint
    previous: PivotPoint | None
    change_points: float | None  # latest − previous share [percentage points]


class CompaniesWeek(_Out):
    """The companies' part of the weekly report as of a day: results published in the week,
    treasury changes, the AI/HPC pivot. Only figures published by ``as_of`` count."""

    as_of: date
    week_start: date
    lag_rule: str
    results: list[QuarterResult]
    treasury_changes: list[TreasuryFlow]
    pivot: list[PivotTrend]
