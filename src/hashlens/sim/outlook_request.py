"""The fleet outlook's request: one contract for the library, the CLI (options and a
scenario file) and ``POST /v1/outlook`` (:class:`OutlookRequest`, its fields, defaults and
bounds), the loan, and the validated :class:`Spec` every other part of the outlook reads
(:func:`parse_request`).

The work ceiling (:data:`MAX_WORK` rows × paths × months) is the model's own check, so a
request above it is refused before anything is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Self

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
from hashlens.contracts import MAX_SEED, Day, Request, as_of_field
from hashlens.economics.asics import Asic, load_catalogue
from hashlens.economics.fleet import FleetGroup, Operating, fleet_groups
from hashlens.economics.models import Machine
from hashlens.errors import HashlensError, Refused
from hashlens.units import DAYS_PER_YEAR, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
MAX_MONTHS = 60
MAX_PATHS = 100_000
MAX_ROWS = 1_000
#: Work ceiling, fleet rows × paths × months: the benchmark's 1,000 × 10,000 × 24.
MAX_WORK = 240_000_000


class OutlookInputError(Refused):
    """A request value out of bounds; ``field`` names it as the request does (``loan.term_months``)."""

    def __init__(self, field: str, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message, errors)
        self.field = field


class LoanTerms(Request):
    """An annuity loan drawn at month 0, repaid monthly within the horizon."""

    principal_usd: float = Field(..., ge=0, le=1e12, description="[USD]")
    rate_annual: float = Field(0.0, ge=0, le=1, description="Nominal annual rate, compounded monthly [0-1].")
    term_months: int = Field(..., ge=1, le=MAX_MONTHS, description="Months; at most the horizon.")


class OutlookRequest(Operating):
    """A fleet and its terms (``hashlens outlook``'s fleet file, options and scenario file;
    ``POST /v1/outlook``'s body). Work ceiling: ``len(machines) × paths × months ≤ 240,000,000``
    (1,000 rows × 10,000 paths × 24 months, about 1.5 s of numpy on two cores)."""

    machines: list[Machine] = Field(..., min_length=1, max_length=MAX_ROWS)
    as_of: Day | None = as_of_field("As of this UTC day (default: the latest with data).")
    months: int = Field(24, ge=1, le=MAX_MONTHS)
    paths: int = Field(10_000, ge=1, le=MAX_PATHS)
    seed: int = Field(1, ge=0, le=MAX_SEED)
    power_price_usd_per_kwh: float = Field(0.05, ge=0, le=10, description="Where a row gives none [USD/kWh].")
    capex_usd_per_machine: float = Field(0.0, ge=0, le=1e8, description="Where a row gives no machine_price_usd.")
    depreciation_months: int = Field(36, ge=1, le=600, description="Straight line to the salvage share.")
    salvage_share: float = Field(0.0, ge=0, le=1)
    hold_share: float = Field(
        0.0, ge=0, le=1, description="Share kept in BTC (of the BTC mined, or of the net profit: hold_basis) [0-1]."
    )
    hold_basis: Literal["btc_mined", "net_profit"] = Field(
        "btc_mined",
        description="btc_mined: keep the held share of every BTC mined, sell the rest as mined; net_profit: sell "
        "the revenue and buy the held share of each month's positive profit in BTC at the month-end price "
        "(Braiins' HODL ratio).",
    )
    profit_fee: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of each month's positive profit (revenue - power - hosting) paid away, e.g. a hosting "
        "profit share (Braiins' Profit Fees) [0-1].",
    )
    loan: LoanTerms | None = None
    discount_rate_annual: float = Field(0.10, ge=0, le=10)
    btc_price_usd: float | None = Field(None, gt=0, le=1e9, description="Starting price instead of the stored one.")
    price_volatility_annual: float | None = Field(
        None, ge=0, le=5, description="GBM volatility; default: the trailing 365 days' [-]."
    )
    price_drift_annual: float = Field(0.0, ge=-0.99, le=10, description="Expected price growth a year [-].")
    difficulty_growth_pct_per_adjustment: float | None = Field(
        None, ge=-75, le=300, description="Deterministic difficulty growth instead of the forecast's paths [%]."
    )
    difficulty_increment_pct_per_year: float | None = Field(
        None,
        ge=-99,
        le=1000,
        description="Deterministic difficulty growth a year instead of the forecast's paths (Braiins' Difficulty "
        "Increment), compounded over adjustments of one expected period each; not with difficulty_growth_pct_per_adjustment "
        "[%/year].",
    )
    halving_difficulty_drop_pct: float = Field(
        0.0,
        ge=0,
        le=99,
        description="One-off difficulty drop at the first adjustment after a halving (Braiins' Halving Difficulty "
        "Drop), on the deterministic or the forecast's paths [%].",
    )
    fees_btc_per_block: float | None = Field(
        None, ge=0, le=100, description="Default: trailing 144-block mean where stored, else 0."
    )

    @field_validator("difficulty_increment_pct_per_year")
    @classmethod
    def _one_growth(cls, v: float | None, info: ValidationInfo) -> float | None:
        # fields are validated in order: the growth per adjustment is known here
        if v is not None and info.data.get("difficulty_growth_pct_per_adjustment") is not None:
            raise ValueError("and difficulty_growth_pct_per_adjustment: give one, not both")
        return v

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        rows, work = len(self.machines), len(self.machines) * self.paths * self.months
        if work > MAX_WORK:
            raise ValueError(
                f"paths: {rows:,} rows × {self.paths:,} paths × {self.months} months = {work:,} exceeds the work "
                f"ceiling {MAX_WORK:,}; ask for at most {MAX_WORK // (rows * self.months):,} paths"
            )
        if self.loan is not None and self.loan.term_months > self.months:
            raise ValueError(
                f"loan.term_months {self.loan.term_months} is longer than the horizon (months = {self.months}): "
                "shorten the loan or lengthen months"
            )
        return self


@dataclass(frozen=True)
class Loan:
    """An annuity loan drawn at month 0 and repaid in equal monthly payments."""

    principal_usd: float
    rate_annual: float  # nominal, compounded monthly [-]
    term_months: int

    def schedule(self, months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(payment, interest, balance after the payment) per month 1 … ``months`` [USD].

        .. math:: A = P \\frac{i}{1 - (1 + i)^{-n}}, \\qquad i = r / 12
        """
        pay, interest, balance = np.zeros(months), np.zeros(months), np.zeros(months)
        i, n, bal = self.rate_annual / 12, self.term_months, self.principal_usd
        a = bal / n if i == 0 else bal * i / (1 - (1 + i) ** -n)
        for m in range(min(n, months)):
            interest[m] = bal * i
            pay[m] = a
            bal -= a - interest[m]
            balance[m] = bal if m < n - 1 else 0.0  # the last payment clears the rounding
        return pay, interest, balance


@dataclass(frozen=True)
class Spec:
    """A validated request."""

    groups: list[FleetGroup]
    op: Operating
    capex_usd: np.ndarray  # per machine of each row [USD]
    as_of: date | None
    months: int
    paths: int
    seed: int
    depreciation_months: int
    salvage_share: float
    hold_share: float
    loan: Loan | None
    discount_rate_annual: float
    btc_price_usd: float | None
    price_volatility_annual: float | None
    price_drift_annual: float
    difficulty_growth_pct_per_adjustment: float | None  # the one used (converted from the yearly one)
    fees_btc_per_block: float | None
    difficulty_increment_pct_per_year: float | None = None  # as given
    halving_difficulty_drop_pct: float = 0.0
    profit_fee: float = 0.0
    hold_basis: str = "btc_mined"


def growth_pct_per_adjustment(increment_pct_per_year: float) -> float:
    """A yearly difficulty increment as the same growth compounded over adjustments of one
    expected period each (``DIFFICULTY_ADJUSTMENT_INTERVAL`` × ``POW_TARGET_SPACING``) in a
    year of ``units.DAYS_PER_YEAR`` days [%].

    .. math:: g_{adj} = \\left((1 + g_{year}/100)^{N \\cdot T / (Y \\cdot 86400)} - 1\\right) \\cdot 100

    with N blocks a period, T seconds a block and Y days a year.

    Parameters
    ----------
    increment_pct_per_year : difficulty growth a year [%], above -100
    """
    years_per_period = N * POW_TARGET_SPACING / (DAYS_PER_YEAR * SECONDS_PER_DAY)
    return math.expm1(years_per_period * math.log1p(increment_pct_per_year / 100)) * 100


def parse_request(request: dict[str, Any] | OutlookRequest, catalogue: list[Asic] | None = None) -> Spec:
    """The validated :class:`Spec` of a request (:class:`OutlookRequest`, or its fields as a
    mapping: a scenario file with the CLI's options, a body). A refusal is an
    :class:`OutlookInputError` naming the field, in the contract's words."""
    if isinstance(request, OutlookRequest):
        req = request
    else:
        try:
            req = OutlookRequest.build(**request)  # None: the field's default
        except Refused as exc:
            loc = exc.errors[0].get("loc") if exc.errors else None
            where = ".".join(str(x) for x in loc) if isinstance(loc, list | tuple) and loc else "request"
            raise OutlookInputError(where, str(exc), exc.errors) from None
    records = [m.model_dump(exclude_none=True) for m in req.machines]
    try:
        groups = fleet_groups(records, catalogue if catalogue is not None else load_catalogue(), "machines")
    except HashlensError as exc:  # an unknown model: named by row
        raise OutlookInputError("machines", str(exc)) from None
    increment = req.difficulty_increment_pct_per_year
    growth = req.difficulty_growth_pct_per_adjustment if increment is None else growth_pct_per_adjustment(increment)
    loan = req.loan
    return Spec(
        groups=groups,
        op=Operating.model_validate({k: getattr(req, k) for k in Operating.model_fields}),
        capex_usd=np.array(
            [g.machine_price_usd if g.machine_price_usd is not None else req.capex_usd_per_machine for g in groups]
        ),
        as_of=req.as_of,
        months=req.months,
        paths=req.paths,
        seed=req.seed,
        depreciation_months=req.depreciation_months,
        salvage_share=req.salvage_share,
        hold_share=req.hold_share,
        loan=None if loan is None else Loan(loan.principal_usd, loan.rate_annual, loan.term_months),
        discount_rate_annual=req.discount_rate_annual,
        btc_price_usd=req.btc_price_usd,
        price_volatility_annual=req.price_volatility_annual,
        price_drift_annual=req.price_drift_annual,
        difficulty_growth_pct_per_adjustment=growth,
        fees_btc_per_block=req.fees_btc_per_block,
        difficulty_increment_pct_per_year=increment,
        halving_difficulty_drop_pct=req.halving_difficulty_drop_pct,
        profit_fee=req.profit_fee,
        hold_basis=req.hold_basis,
    )
