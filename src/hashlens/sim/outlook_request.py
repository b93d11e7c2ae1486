"""The fleet outlook's request: its keys, defaults and bounds, the loan, and the validated
:class:`Spec` every other part of the outlook reads (:func:`parse_request`).

The work ceiling (:data:`MAX_WORK` rows × paths × months) is checked here, before anything
is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
from hashlens.economics.asics import Asic, load_catalogue
from hashlens.economics.fleet import FleetGroup, Operating, fleet_groups
from hashlens.errors import HashlensError
from hashlens.units import DAYS_PER_YEAR, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
MAX_MONTHS = 60
MAX_PATHS = 100_000
MAX_ROWS = 1_000
#: Work ceiling, fleet rows × paths × months: the benchmark's 1,000 × 10,000 × 24.
MAX_WORK = 240_000_000

#: Request keys and their defaults (the CLI's scenario YAML and the API body use these names).
DEFAULTS: dict[str, Any] = {
    "date": None,
    "months": 24,
    "paths": 10_000,
    "seed": 1,
    "power_price_usd_per_kwh": 0.05,
    "pool_fee": 0.02,
    "stale_rate": 0.0,
    "uptime": 1.0,
    "pue": 1.0,
    "hosting_usd_per_kwh": 0.0,
    "hosting_usd_per_kw_month": 0.0,
    "capex_usd_per_machine": 0.0,
    "depreciation_months": 36,
    "salvage_share": 0.0,
    "hold_share": 0.0,
    "loan": None,
    "discount_rate_annual": 0.10,
    "btc_price_usd": None,
    "price_volatility_annual": None,
    "price_drift_annual": 0.0,
    "difficulty_growth_pct_per_adjustment": None,
    "fees_btc_per_block": None,
    # Braiins' calculator's inputs (docs/braiins-comparison.md); the defaults change nothing
    "difficulty_increment_pct_per_year": None,  # instead of the growth per adjustment
    "halving_difficulty_drop_pct": 0.0,
    "profit_fee": 0.0,
    "hold_basis": "btc_mined",
}
#: What ``hold_share`` is a share of: the BTC mined (kept as mined), or each month's net
#: profit (bought in BTC at the month-end price, Braiins' HODL ratio).
HOLD_BASES = ("btc_mined", "net_profit")


class OutlookInputError(HashlensError):
    """A request value out of bounds; ``field`` names it as the request does (``loan.term_months``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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


def _growth(req: dict[str, Any]) -> tuple[float | None, float | None]:
    """(growth per adjustment used [%], yearly increment as given [%/year]); at most one given."""
    per_adj, per_year = req["difficulty_growth_pct_per_adjustment"], req["difficulty_increment_pct_per_year"]
    if per_adj is not None and per_year is not None:
        raise OutlookInputError(
            "difficulty_increment_pct_per_year",
            "difficulty_increment_pct_per_year: give it or difficulty_growth_pct_per_adjustment, not both",
        )
    if per_year is not None:
        year = _num(req, "difficulty_increment_pct_per_year", -99, 1000)
        return growth_pct_per_adjustment(year), year
    return (None if per_adj is None else _num(req, "difficulty_growth_pct_per_adjustment", -75, 300)), None


def _num(req: dict[str, Any], key: str, lo: float, hi: float) -> float:
    v = req[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise OutlookInputError(key, f"{key} must be a number (got {v!r})")
    try:
        x = float(v)
    except OverflowError:  # an integer of more digits than any float: outside every bound
        x = math.inf
    if not math.isfinite(x) or not lo <= x <= hi:
        got = repr(v) if len(repr(v)) <= 40 else f"{repr(v)[:20]}… ({len(repr(v))} digits)"
        raise OutlookInputError(key, f"{key} must be between {lo:g} and {hi:g} (got {got})")
    return x


def _int(req: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = req[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
        raise OutlookInputError(key, f"{key} must be a whole number (got {v!r})")
    if not lo <= int(v) <= hi:
        raise OutlookInputError(key, f"{key} must be {lo:,} … {hi:,} (got {int(v):,})")
    return int(v)


def check_work(rows: int, paths: int, months: int) -> None:
    """Refuse a request above the work ceiling before anything is allocated."""
    if rows > MAX_ROWS:
        raise OutlookInputError(
            "machines", f"machines: at most {MAX_ROWS:,} fleet rows (got {rows:,}); group identical machines"
        )
    if rows * paths * months > MAX_WORK:
        raise OutlookInputError(
            "paths",
            f"paths: {rows:,} rows × {paths:,} paths × {months} months = {rows * paths * months:,} exceeds "
            f"the work ceiling {MAX_WORK:,}; ask for at most {MAX_WORK // (rows * months):,} paths",
        )


def parse_request(request: dict[str, Any], catalogue: list[Asic] | None = None) -> Spec:
    """Validate a request (keys of :data:`DEFAULTS` plus ``machines``); one-line errors naming
    the key. ``machines`` is a list of fleet records (:func:`hashlens.economics.fleet.fleet_groups`)."""
    unknown = set(request) - set(DEFAULTS) - {"machines"}
    if unknown:
        raise OutlookInputError(
            sorted(unknown)[0], f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(DEFAULTS))}"
        )
    req = DEFAULTS | {k: v for k, v in request.items() if v is not None}
    months = _int(req, "months", 1, MAX_MONTHS)
    paths = _int(req, "paths", 1, MAX_PATHS)
    seed = _int(req, "seed", 0, 0xFFFF_FFFF)  # numpy seeds are unsigned 32-bit
    records = req.get("machines")
    if not isinstance(records, list):
        raise OutlookInputError("machines", "machines must be a list of fleet rows (model or hashrate_ths, count)")
    check_work(len(records), paths, months)
    try:
        groups = fleet_groups(records, catalogue if catalogue is not None else load_catalogue(), "machines")
    except HashlensError as exc:  # an unknown model, a bad row: named by row and field
        raise OutlookInputError("machines", str(exc)) from None
    terms = {k: req[k] for k in Operating.model_fields}
    try:
        op = Operating.parse(terms)
    except HashlensError as exc:  # named by its field, in the contract's words
        raise OutlookInputError(str(exc).split(" ", 1)[0], str(exc)) from None
    capex = _num(req, "capex_usd_per_machine", 0, 1e8)
    loan = None
    if req["loan"] is not None:
        raw = req["loan"]
        if not isinstance(raw, dict) or set(raw) - {"principal_usd", "rate_annual", "term_months"}:
            raise OutlookInputError("loan", "loan must be {principal_usd, rate_annual, term_months}")
        lr = {"principal_usd": 0.0, "rate_annual": 0.0, "term_months": 12} | raw
        loan = Loan(
            _num({"loan.principal_usd": lr["principal_usd"]}, "loan.principal_usd", 0, 1e12),
            _num({"loan.rate_annual": lr["rate_annual"]}, "loan.rate_annual", 0, 1),
            _int({"loan.term_months": lr["term_months"]}, "loan.term_months", 1, 600),
        )
        if loan.term_months > months:
            raise OutlookInputError(
                "loan.term_months",
                f"loan.term_months {loan.term_months} is longer than the horizon ({months} months): "
                "shorten the loan or lengthen --months",
            )
    day = req["date"]
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise OutlookInputError("date", f"date {day!r} must be YYYY-MM-DD") from None
    if day is not None and not isinstance(day, date):
        raise OutlookInputError("date", f"date {day!r} must be YYYY-MM-DD")
    opt = {k: req[k] for k in ("btc_price_usd", "price_volatility_annual")}
    growth, increment = _growth(req)
    if req["hold_basis"] not in HOLD_BASES:
        raise OutlookInputError(
            "hold_basis", f"hold_basis must be {' or '.join(HOLD_BASES)} (got {req['hold_basis']!r})"
        )
    return Spec(
        groups=groups,
        op=op,
        capex_usd=np.array([g.machine_price_usd if g.machine_price_usd is not None else capex for g in groups]),
        as_of=day,
        months=months,
        paths=paths,
        seed=seed,
        depreciation_months=_int(req, "depreciation_months", 1, 600),
        salvage_share=_num(req, "salvage_share", 0, 1),
        hold_share=_num(req, "hold_share", 0, 1),
        loan=loan,
        discount_rate_annual=_num(req, "discount_rate_annual", 0, 10),
        btc_price_usd=None if opt["btc_price_usd"] is None else _num(req, "btc_price_usd", 1e-6, 1e9),
        price_volatility_annual=None
        if opt["price_volatility_annual"] is None
        else _num(req, "price_volatility_annual", 0, 5),
        price_drift_annual=_num(req, "price_drift_annual", -0.99, 10),
        difficulty_growth_pct_per_adjustment=growth,
        fees_btc_per_block=None if req["fees_btc_per_block"] is None else _num(req, "fees_btc_per_block", 0, 100),
        difficulty_increment_pct_per_year=increment,
        halving_difficulty_drop_pct=_num(req, "halving_difficulty_drop_pct", 0, 99),
        profit_fee=_num(req, "profit_fee", 0, 1),
        hold_basis=req["hold_basis"],
    )
