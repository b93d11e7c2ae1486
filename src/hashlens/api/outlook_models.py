"""Request model of ``POST /v1/outlook``, with the bounds of :mod:`hashlens.sim.fleet_outlook`.

Every bound is a Field constraint, so a request outside it is a 422 naming the field; the
work ceiling (fleet rows × paths × months ≤ ``MAX_WORK``) and a loan longer than the horizon
are checked by the model too, before anything is computed. The yearly difficulty increment
given beside the growth per adjustment is a 422 at ``difficulty_increment_pct_per_year``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from hashlens.api.models import Day, Machine
from hashlens.economics.fleet import Operating
from hashlens.sim.fleet_outlook import MAX_MONTHS, MAX_PATHS, MAX_ROWS, MAX_WORK


class LoanIn(BaseModel):
    """An annuity loan drawn at month 0, repaid monthly within the horizon."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    principal_usd: float = Field(..., ge=0, le=1e12, description="[USD]")
    rate_annual: float = Field(0.0, ge=0, le=1, description="Nominal annual rate, compounded monthly [0-1].")
    term_months: int = Field(..., ge=1, le=MAX_MONTHS, description="Months; at most the horizon.")


class OutlookRequest(Operating):
    """A fleet and its terms. Work ceiling: ``len(machines) × paths × months ≤ 240,000,000``
    (1,000 rows × 10,000 paths × 24 months, about 1.5 s of numpy on two cores)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    machines: list[Machine] = Field(..., min_length=1, max_length=MAX_ROWS)
    date: Day | None = Field(None, description="As of this UTC day (default: the latest with data).")
    months: int = Field(24, ge=1, le=MAX_MONTHS)
    paths: int = Field(10_000, ge=1, le=MAX_PATHS)
    seed: int = Field(1, ge=0, le=0xFFFF_FFFF)
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
    loan: LoanIn | None = None
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
    def one_growth(cls, v: float | None, info: ValidationInfo) -> float | None:
        # fields are validated in order: the growth per adjustment is known here
        if v is not None and info.data.get("difficulty_growth_pct_per_adjustment") is not None:
            raise ValueError("give difficulty_increment_pct_per_year or difficulty_growth_pct_per_adjustment, not both")
        return v

    @model_validator(mode="after")
    def bounded(self) -> OutlookRequest:
        work = len(self.machines) * self.paths * self.months
        if work > MAX_WORK:
            raise ValueError(
                f"paths: {len(self.machines):,} rows × {self.paths:,} paths × {self.months} months = {work:,} "
                f"exceeds the work ceiling {MAX_WORK:,}"
            )
        if self.loan is not None and self.loan.term_months > self.months:
            raise ValueError(
                f"loan.term_months {self.loan.term_months} is longer than the horizon (months = {self.months})"
            )
        return self

    def as_request(self) -> dict[str, Any]:
        """The plain request :func:`hashlens.sim.fleet_outlook.fleet_outlook` takes (what the
        CLI builds from its options and scenario file)."""
        d = self.model_dump(exclude_none=True)
        if self.date is not None:
            d["date"] = self.date.isoformat()
        return d
