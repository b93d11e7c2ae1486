"""Fleet outlook: monthly quantiles of a fleet's revenue, costs, cash flow and BTC held, its
payback, NPV and IRR, run-always beside switch-off-when-under-water, over paths of the chain.

Each path is one path of the calibrated adjustment forecast
(:func:`hashlens.sim.forecast.simulate_paths`, the model behind ``forecast_adjustments`` and the
hashprice outlook) with a price path (:func:`hashlens.sim.hashprice_outlook.gbm_prices`, the
hashprice outlook's GBM); the chain state of every day (difficulty in force, height, so the
halving enters by height) comes from :func:`hashlens.sim.hashprice_outlook.chain_at_times` and the
day's hashprice from :func:`hashlens.economics.hashprice.hashprice_btc_per_ph_day`. Machine
costs, revenue share and the switch-off threshold come from :mod:`hashlens.economics.fleet`.

Work is bounded (:data:`MAX_WORK` rows × paths × months, checked before anything is allocated)
and paths run in fixed chunks of :data:`CHUNK_PATHS`, each with its own seeded generator, so
memory stays flat and the result depends only on the inputs and the seed.

The one entry point for every face is :func:`fleet_outlook` (a plain request dict in, plain
data out); ``hashlens outlook`` and ``POST /v1/outlook`` call it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_TARGET_SPACING,
    block_subsidy_btc,
    difficulty_from_bits,
)
from hashlens.consensus.subsidy import next_halving_height
from hashlens.economics.asics import Asic, load_catalogue
from hashlens.economics.fleet import (
    FleetGroup,
    Operating,
    breakeven_hashprice_usd_per_ph_day,
    count_below,
    fleet_groups,
    group_arrays,
    machine_daily_cost,
    revenue_share,
)
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.errors import HashlensError
from hashlens.sim.forecast import History, Paths, height_for_time, history, simulate_paths
from hashlens.sim.hashprice_outlook import (
    DAY_S,
    _price_history,
    chain_at_times,
    gbm_prices,
    period_starts,
    steady_growth_paths,
    trailing_volatility,
)
from hashlens.units import DAYS_PER_YEAR

N = DIFFICULTY_ADJUSTMENT_INTERVAL
MAX_MONTHS = 60
MAX_PATHS = 100_000
MAX_ROWS = 1_000
#: Work ceiling, fleet rows × paths × months: the benchmark's 1,000 × 10,000 × 24.
MAX_WORK = 240_000_000
CHUNK_PATHS = 2_048
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
Q_NAMES = ("p05", "p25", "p50", "p75", "p95")
MIN_DAYS_PER_PERIOD = 10  # simulated periods cover the horizon even at a fast 10 days each

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


# -- inputs -------------------------------------------------------------------------------------
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
    years_per_period = N * POW_TARGET_SPACING / (DAYS_PER_YEAR * DAY_S)
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
    x = float(v)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise OutlookInputError(key, f"{key} must be between {lo:g} and {hi:g} (got {v!r})")
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


# -- the market the paths start from ------------------------------------------------------------
@dataclass
class Market:
    """What the store gives the outlook: the chain's clock and the daily USD prices."""

    clock: ChainClock
    days: np.ndarray  # datetime64[D]
    prices: np.ndarray  # [USD/BTC]
    latest_day: date


def market_from_store(store: Any) -> Market:
    """Read the clock and the price series once (the API caches this)."""
    from hashlens.economics.daily import latest_day

    clock = ChainClock.from_store(store)
    days, prices = store.price_series()
    return Market(clock, days, prices, latest_day(store, clock))


def add_months(d: date, m: int) -> date:
    """The same day of the month ``m`` months later, or that month's last day."""
    y, mo = divmod(d.month - 1 + m, 12)
    first = date(d.year + y, mo + 1, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=min(d.day, last.day))


@dataclass(frozen=True)
class Start:
    hist: History
    t0: float  # 24:00 UTC of the as-of day [Unix s]
    price_usd: float
    sigma_daily: float
    mu_daily: float
    fees_btc: float
    fees_source: str
    volatility_source: str


def _start(market: Market, spec: Spec, as_of: date) -> Start:
    t0 = end_of_day(as_of)
    clock = market.clock
    hist = history(clock, height_for_time(clock, t0))
    try:
        returns, p0 = _price_history(market.days, market.prices, as_of)
    except HashlensError:
        if spec.btc_price_usd is None or spec.price_volatility_annual is None:
            raise
        returns, p0 = np.zeros(0), spec.btc_price_usd
    if spec.price_volatility_annual is not None:
        sigma, vsrc = spec.price_volatility_annual / math.sqrt(DAYS_PER_YEAR), "given"
    else:
        sigma, vsrc = trailing_volatility(returns), "trailing 365 daily log returns"
    fees, fsrc = spec.fees_btc_per_block, "given"
    if fees is None:
        trailing = float(clock.trailing_fees_btc(np.array([hist.as_of_height - 1]))[0])
        fees, fsrc = (
            (trailing, "trailing 144-block mean at the as-of tip")
            if math.isfinite(trailing)
            else (0.0, "none stored at the as-of tip: held at zero")
        )
    return Start(
        hist=hist,
        t0=t0,
        price_usd=spec.btc_price_usd or p0,
        sigma_daily=sigma,
        mu_daily=math.log1p(spec.price_drift_annual) / DAYS_PER_YEAR,
        fees_btc=float(fees),
        fees_source=fsrc,
        volatility_source=vsrc,
    )


# -- the fleet, reduced to what a day needs ------------------------------------------------------
@dataclass(frozen=True)
class FleetArrays:
    """Per fleet row, whole rows (count × one machine), sorted by switch-off threshold."""

    rate_ph: np.ndarray  # hashrate kept after fees and uptime [PH/s]
    power_usd: np.ndarray  # power bill a running day [USD/day]
    hosting_kwh_usd: np.ndarray  # per-kWh hosting a running day [USD/day]
    hosting_fixed_usd: np.ndarray  # per-kW-month hosting, owed every day [USD/day]
    machines: np.ndarray  # count [-]
    threshold_usd_per_ph_day: np.ndarray  # hashprice below which switching off saves money
    order: np.ndarray  # row order (indices into the fleet as given)


def fleet_arrays(groups: list[FleetGroup], op: Operating) -> FleetArrays:
    """Rates, daily costs and switch-off thresholds of every row, by
    :func:`~hashlens.economics.fleet.machine_daily_cost`, :func:`~hashlens.economics.fleet.revenue_share`
    and :func:`~hashlens.economics.fleet.breakeven_hashprice_usd_per_ph_day`.

    The switch-off threshold is the breakeven hashprice of the costs a machine saves by
    stopping (power and per-kWh hosting; per-kW-month hosting is owed either way), i.e. the
    breakeven with the per-kW-month fee set to zero.
    """
    h, w, n, pp = group_arrays(groups, op)
    c = machine_daily_cost(w, op, pp)
    thr = np.asarray(
        breakeven_hashprice_usd_per_ph_day(h, w, op.model_copy(update={"hosting_usd_per_kw_month": 0.0}), pp),
        dtype=float,
    ).reshape(-1)
    order = np.argsort(thr, kind="stable")
    rate = h / 1000 * revenue_share(op) * n
    return FleetArrays(
        rate_ph=rate[order],
        power_usd=(np.asarray(c.power_usd) * n)[order],
        hosting_kwh_usd=(np.asarray(c.hosting_per_kwh_usd) * n)[order],
        hosting_fixed_usd=(np.asarray(c.hosting_fixed_usd) * n)[order],
        machines=n[order],
        threshold_usd_per_ph_day=thr[order],
        order=order,
    )


# -- the paths ------------------------------------------------------------------------------------
def halving_drop_factors(first_period: int, periods: int, drop_pct: float) -> np.ndarray:
    """Factor on the difficulty of periods ``first_period`` … ``first_period + periods - 1``
    for a one-off drop of ``drop_pct`` at the first adjustment at or after each halving [-].

    Period p begins at height p·2016; its adjustment follows a halving when a halving height
    lies in ((p - 1)·2016, p·2016], i.e. when the subsidy at its first block is below the
    subsidy at the previous period's first block. The running period (column 0) keeps its
    difficulty; each later period carries (1 - drop/100)^k, k the halvings so passed.

    Parameters
    ----------
    first_period : index of the running period [-]
    periods : number of periods, the running one first [-]
    drop_pct : the one-off drop [%], 0 … < 100

    Returns
    -------
    (periods,) factors [-], 1 before the first adjustment after a halving
    """
    heights = (first_period + np.arange(periods)) * N
    subsidy = np.asarray(block_subsidy_btc(heights), dtype=float)
    passed = np.concatenate([[0], np.cumsum(subsidy[1:] < subsidy[:-1])])
    out: np.ndarray = (1 - drop_pct / 100) ** passed
    return out


def _difficulty_paths(start: Start, spec: Spec, periods: int) -> Paths:
    if spec.difficulty_growth_pct_per_adjustment is not None:
        sim = steady_growth_paths(start.hist, periods, spec.paths, spec.difficulty_growth_pct_per_adjustment)
    else:
        not_ended = start.t0 if start.hist.known_intervals == 0 else None
        sim = simulate_paths(start.hist, periods, spec.paths, spec.seed, not_ended_by=not_ended)
    if spec.halving_difficulty_drop_pct > 0:
        # On top of the paths: difficulty steps down, the period start times stay as they were
        # (a simulated path is not re-timed for the faster blocks a lower difficulty would give).
        # change_pct is left as simulated; the outlook reads only difficulty and start times.
        factor = halving_drop_factors(start.hist.period, periods, spec.halving_difficulty_drop_pct)
        sim = replace(sim, difficulty=sim.difficulty * factor)
    return sim


@dataclass
class Monthly:
    """(paths, months) sums per policy, and the month-end price."""

    btc: dict[str, np.ndarray]
    usd: dict[str, np.ndarray]
    power_usd: dict[str, np.ndarray]
    hosting_usd: dict[str, np.ndarray]
    machine_days_off: np.ndarray  # switch-off policy [machine-days]
    price_end: np.ndarray
    hashprice_mean: np.ndarray  # mean daily hashprice in the month [USD/PH/day]


POLICIES = ("run_always", "switch_off")


def _chunk(
    fa: FleetArrays,
    start: Start,
    first: np.ndarray,
    starts: np.ndarray,
    difficulty: np.ndarray,
    times: np.ndarray,
    day_index: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Monthly sums for one chunk of paths (see :class:`Monthly`)."""
    paths = starts.shape[0]
    diff, height = chain_at_times(start.hist.period, starts, difficulty, times)
    subsidy = np.asarray(block_subsidy_btc(height), dtype=float)
    hp_btc = np.asarray(hashprice_btc_per_ph_day(diff, subsidy, start.fees_btc), dtype=float)
    price = gbm_prices(start.price_usd, start.sigma_daily, start.mu_daily, day_index, paths, rng)
    hp_usd = hp_btc * price  # hashprice_usd_per_ph_day's definition, per path and day
    del diff, height, subsidy
    days_in = np.diff(np.append(first, times.size))
    out: dict[str, np.ndarray] = {}
    rate_all = float(fa.rate_ph.sum())
    out["btc_run_always"] = np.add.reduceat(hp_btc, first, axis=1) * rate_all
    out["usd_run_always"] = np.add.reduceat(hp_usd, first, axis=1) * rate_all
    fixed = float(fa.hosting_fixed_usd.sum())
    out["power_run_always"] = np.broadcast_to(days_in * float(fa.power_usd.sum()), (paths, first.size))
    out["hosting_run_always"] = np.broadcast_to(
        days_in * (float(fa.hosting_kwh_usd.sum()) + fixed), (paths, first.size)
    )
    # Switch off: rows whose threshold is at or below the day's hashprice run (sorted rows,
    # so the running set is a prefix and its totals are cumulative sums).
    k = count_below(fa.threshold_usd_per_ph_day, hp_usd, side="right")
    cum = {
        name: np.concatenate([[0.0], np.cumsum(v)])
        for name, v in (("rate", fa.rate_ph), ("power", fa.power_usd), ("hkwh", fa.hosting_kwh_usd), ("n", fa.machines))
    }
    r_on = cum["rate"][k]
    out["btc_switch_off"] = np.add.reduceat(hp_btc * r_on, first, axis=1)
    out["usd_switch_off"] = np.add.reduceat(hp_usd * r_on, first, axis=1)
    out["power_switch_off"] = np.add.reduceat(cum["power"][k], first, axis=1)
    out["hosting_switch_off"] = np.add.reduceat(cum["hkwh"][k], first, axis=1) + days_in * fixed
    out["off"] = days_in * float(fa.machines.sum()) - np.add.reduceat(cum["n"][k], first, axis=1)
    out["price_end"] = price[:, np.append(first[1:], times.size) - 1]
    out["hp_mean"] = np.add.reduceat(hp_usd, first, axis=1) / days_in
    return out


def simulate_months(fa: FleetArrays, start: Start, spec: Spec, as_of: date) -> tuple[Monthly, Paths, np.ndarray]:
    """Run every path in fixed chunks; returns the monthly sums, the difficulty paths and the
    period start times per path."""
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    n_days = (ends[-1] - as_of).days
    day_index = np.arange(1, n_days + 1)
    times = start.t0 + day_index.astype(float) * DAY_S  # 24:00 UTC of each day of the horizon
    first = np.array([0] + [(e - as_of).days for e in ends[:-1]], dtype=np.int64)
    periods = n_days // MIN_DAYS_PER_PERIOD + 3
    sim = _difficulty_paths(start, spec, periods)
    starts = period_starts(start.hist, sim)
    parts: list[dict[str, np.ndarray]] = []
    for c, lo in enumerate(range(0, spec.paths, CHUNK_PATHS)):
        hi = min(lo + CHUNK_PATHS, spec.paths)
        rng = np.random.default_rng([spec.seed, 1, c])  # one generator per fixed chunk
        parts.append(_chunk(fa, start, first, starts[lo:hi], sim.difficulty[lo:hi], times, day_index, rng))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    monthly = Monthly(
        btc={p: cat[f"btc_{p}"] for p in POLICIES},
        usd={p: cat[f"usd_{p}"] for p in POLICIES},
        power_usd={p: cat[f"power_{p}"] for p in POLICIES},
        hosting_usd={p: cat[f"hosting_{p}"] for p in POLICIES},
        machine_days_off=cat["off"],
        price_end=cat["price_end"],
        hashprice_mean=cat["hp_mean"],
    )
    return monthly, sim, starts


# -- money ----------------------------------------------------------------------------------------
def npv_monthly(flows: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Net present value per row of monthly cash flows (column 0 = month 0) at a monthly rate
    per row [same unit as the flows], by Horner's rule in x = 1/(1 + r):

    .. math:: NPV = \\sum_{m=0}^{M} f_m x^m = f_0 + x(f_1 + x(f_2 + \\dots + x f_M))

    M multiply-adds per row and no power.
    """
    x = 1.0 / (1.0 + rate)
    acc = flows[:, -1].copy()
    for m in range(flows.shape[1] - 2, -1, -1):
        acc *= x
        acc += flows[:, m]
    return acc


def irr_annual(flows: np.ndarray, iterations: int = 64) -> np.ndarray:
    """Annual IRR of monthly cash flows per row (column 0 = month 0), by bisection on the
    monthly rate r in (-0.99, 10) with the NPV by :func:`npv_monthly`; NaN where the NPV does
    not change sign there [-]: (1 + r)^12 − 1.

    64 halvings of the bracket reach adjacent floating-point rates (10.99 / 2^64 < 10^-18).
    """
    flows = np.ascontiguousarray(flows, dtype=float)
    lo = np.full(flows.shape[0], -0.99)
    hi = np.full(flows.shape[0], 10.0)
    f_lo = npv_monthly(flows, lo)
    ok = np.sign(f_lo) * np.sign(npv_monthly(flows, hi)) < 0
    s_lo = np.sign(f_lo)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        left = np.sign(npv_monthly(flows, mid)) == s_lo
        lo = np.where(left, mid, lo)
        hi = np.where(left, hi, mid)
    with np.errstate(invalid="ignore"):
        return np.where(ok, (1 + (lo + hi) / 2) ** 12 - 1, np.nan)


def _q(x: np.ndarray) -> dict[str, Any]:
    """Quantiles over paths: per month for (paths, months), a scalar for (paths,)."""
    q = np.quantile(x, QUANTILES, axis=0)
    return {name: (q[i].tolist() if x.ndim > 1 else float(q[i])) for i, name in enumerate(Q_NAMES)}


def cash_flows(
    spec: Spec, fa: FleetArrays, monthly: Monthly, policy: str
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per path and month: revenue, costs, profit, net income, cash flow, cumulative cash,
    BTC held and position [USD, BTC]; and per path the NPV [USD] and annual IRR [-].

    Month 0 carries the capex, less the loan principal drawn. The profit fee is the share
    ``profit_fee`` of the month's profit (revenue - power - hosting) where that is positive;
    profit is after it. With ``hold_basis`` "btc_mined" the held share of the BTC mined is
    kept and the rest sold at each day's price; power, hosting, the profit fee and the loan
    payment are paid in cash. With "net_profit" the month's revenue is sold, and the held
    share of a positive profit is bought back in BTC at the month-end price (Braiins' HODL
    ratio). At the horizon's end the BTC held is valued at the last price and the machines at
    their book value (straight-line depreciation to the salvage share).
    """
    months = spec.months
    capex = float((spec.capex_usd * np.array([g.count for g in spec.groups])).sum())
    dep = np.zeros(months)
    dep[: spec.depreciation_months] = capex * (1 - spec.salvage_share) / spec.depreciation_months
    book_end = capex - dep.sum()
    zero = np.zeros(months)
    pay, interest, balance = spec.loan.schedule(months) if spec.loan else (zero, zero, zero)
    principal = spec.loan.principal_usd if spec.loan else 0.0
    rev, btc = monthly.usd[policy], monthly.btc[policy]
    power, hosting = monthly.power_usd[policy], monthly.hosting_usd[policy]
    operating = rev - power - hosting
    fee = spec.profit_fee * np.maximum(operating, 0.0)
    profit = operating - fee
    if spec.hold_basis == "net_profit":
        kept_usd = spec.hold_share * np.maximum(profit, 0.0)
        cf = profit - kept_usd - pay
        held = np.cumsum(kept_usd / monthly.price_end, axis=1)
    else:
        cf = (1 - spec.hold_share) * rev - power - hosting - fee - pay
        held = spec.hold_share * np.cumsum(btc, axis=1)
    cf0 = principal - capex
    cum = cf0 + np.cumsum(cf, axis=1)
    position = cum + held * monthly.price_end - balance
    terminal = held[:, -1] * monthly.price_end[:, -1] + book_end
    years = np.arange(1, months + 1) / 12
    disc = (1 + spec.discount_rate_annual) ** -years
    npv = cf0 + (cf * disc).sum(axis=1) + terminal * disc[-1]
    flows = np.concatenate([np.full((cf.shape[0], 1), cf0), cf], axis=1)
    flows[:, -1] += terminal
    out = {
        "revenue_usd": rev,
        "btc_mined": btc,
        "power_cost_usd": power,
        "hosting_usd": hosting,
        "profit_fee_usd": fee,
        "profit_usd": profit,
        "net_income_usd": profit - dep - interest,
        "cash_flow_usd": cf,
        "cumulative_cash_usd": cum,
        "btc_held": held,
        "position_usd": position,
    }
    return out, npv, irr_annual(flows)


def _iso_day(ts: float) -> str:
    return (date(1970, 1, 1) + timedelta(seconds=float(ts))).isoformat()


def _halving(start: Start, sim: Paths, starts: np.ndarray, t_end: float) -> dict[str, Any]:
    """The next halving by height: per path the time the path reaches it (the inverse of the
    height-at-time rule of :func:`~hashlens.sim.hashprice_outlook.chain_at_times`)."""
    hist = start.hist
    h = next_halving_height(hist.as_of_height)
    k = h // N - hist.period
    before = float(block_subsidy_btc(h - 1))
    after = float(block_subsidy_btc(h))
    info: dict[str, Any] = {
        "height": h,
        "blocks_left": h - hist.as_of_height,
        "subsidy_before_btc": before,
        "subsidy_after_btc": after,
    }
    if k + 1 >= starts.shape[1]:
        return info | {"probability_in_horizon": 0.0, "date_p05": None, "date_p50": None, "date_p95": None}
    frac = (h - (hist.period + k) * N) / N
    t = starts[:, k] + frac * (starts[:, k + 1] - starts[:, k])
    q = np.quantile(t, (0.05, 0.5, 0.95))
    return info | {
        "probability_in_horizon": float((t <= t_end).mean()),
        "date_p05": _iso_day(q[0]),
        "date_p50": _iso_day(q[1]),
        "date_p95": _iso_day(q[2]),
    }


def fleet_outlook(market: Market, request: dict[str, Any], catalogue: list[Asic] | None = None) -> dict[str, Any]:
    """The fleet outlook for a request (see :data:`DEFAULTS`; ``machines``: fleet rows).

    Returns plain data: inputs echoed, the start state, month ends, per policy the monthly
    quantiles (5/25/50/75/95 %) of revenue, power cost, hosting, profit fee, profit, net income, cash flow,
    cumulative cash, BTC mined and held and position, the probability of payback by each
    month, NPV and IRR quantiles; the value of switching off; the halving; method notes.
    """
    spec = parse_request(request, catalogue)
    as_of = spec.as_of or market.latest_day
    start = _start(market, spec, as_of)
    fa = fleet_arrays(spec.groups, spec.op)
    monthly, sim, starts = simulate_months(fa, start, spec, as_of)
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    policies: dict[str, Any] = {}
    npvs: dict[str, np.ndarray] = {}
    total_machine_days = float(fa.machines.sum()) * (ends[-1] - as_of).days
    for p in POLICIES:
        series, npv, irr = cash_flows(spec, fa, monthly, p)
        npvs[p] = npv
        paid = np.maximum.accumulate(series["position_usd"] >= 0, axis=1)
        finite = irr[np.isfinite(irr)]
        policies[p] = {
            "monthly": {k: _q(v) for k, v in series.items()},
            "payback_probability": paid.mean(axis=0).tolist(),
            "npv_usd": _q(npv) | {"mean": float(npv.mean())},
            "irr_annual": (_q(finite) if finite.size else dict.fromkeys(Q_NAMES))
            | {"share_defined": float(finite.size / irr.size)},
            "machine_days_off_share": 0.0
            if p == "run_always" or total_machine_days == 0
            else float(monthly.machine_days_off.sum() / (total_machine_days * spec.paths)),
        }
    d0 = float(difficulty_from_bits(int(start.hist.bits[-1])))
    subsidy0 = float(block_subsidy_btc(start.hist.as_of_height))
    hp0 = float(hashprice_btc_per_ph_day(d0, subsidy0, start.fees_btc)) * start.price_usd
    machines = []
    for i, g in enumerate(spec.groups):
        j = int(np.flatnonzero(fa.order == i)[0])
        machines.append(
            {
                "label": g.label,
                "count": g.count,
                "hashrate_ths": g.hashrate_ths,
                "power_w": g.power_w,
                "efficiency_j_per_th": g.efficiency_j_per_th,
                "power_price_usd_per_kwh": g.power_price_usd_per_kwh
                if g.power_price_usd_per_kwh is not None
                else spec.op.power_price_usd_per_kwh,
                "capex_usd_per_machine": float(spec.capex_usd[i]),
                "switch_off_hashprice_usd_per_ph_day": float(fa.threshold_usd_per_ph_day[j]),
            }
        )
    growth = spec.difficulty_growth_pct_per_adjustment
    return {
        "as_of": as_of.isoformat(),
        "months": spec.months,
        "paths": spec.paths,
        "seed": spec.seed,
        "inputs": {
            "machines": machines,
            "operating": spec.op.model_dump(),
            "capex_usd": float((spec.capex_usd * np.array([g.count for g in spec.groups])).sum()),
            "depreciation_months": spec.depreciation_months,
            "salvage_share": spec.salvage_share,
            "hold_share": spec.hold_share,
            "loan": asdict(spec.loan) if spec.loan else None,
            "discount_rate_annual": spec.discount_rate_annual,
            "price_drift_annual": spec.price_drift_annual,
            "price_volatility_annual": start.sigma_daily * math.sqrt(DAYS_PER_YEAR),
            "difficulty_growth_pct_per_adjustment": growth,
            "difficulty_increment_pct_per_year": spec.difficulty_increment_pct_per_year,
            "halving_difficulty_drop_pct": spec.halving_difficulty_drop_pct,
            "fees_btc_per_block": start.fees_btc,
            "profit_fee": spec.profit_fee,
            "hold_basis": spec.hold_basis,
        },
        "start": {
            "height": start.hist.as_of_height,
            "period_start_height": start.hist.period * N,
            "difficulty": d0,
            "btc_price_usd": start.price_usd,
            "hashprice_usd_per_ph_day": hp0,
            "fees_source": start.fees_source,
            "volatility_source": start.volatility_source,
        },
        "month_ends": [e.isoformat() for e in ends],
        "hashprice_usd_per_ph_day": _q(monthly.hashprice_mean),
        "policies": policies,
        "switch_off_value_usd": _q(npvs["switch_off"] - npvs["run_always"]),
        "halving": _halving(start, sim, starts, start.t0 + (ends[-1] - as_of).days * DAY_S),
        "method": _method(spec, start, growth),
    }


def _method(spec: Spec, start: Start, growth: float | None) -> list[str]:
    period = f"{N} × {POW_TARGET_SPACING} s"
    chain = (
        f"difficulty grows {growth:+g} % at every adjustment, periods of exactly {period} (deterministic)"
        if growth is not None
        else "difficulty paths from the calibrated adjustment forecast (random walk with drift on log implied "
        "hashrate, Poisson blocks, the exact retarget; sim.forecast.simulate_paths)"
    )
    if spec.difficulty_increment_pct_per_year is not None:
        chain += (
            f", from {spec.difficulty_increment_pct_per_year:+g} % a year compounded over periods of {period} "
            f"in years of {DAYS_PER_YEAR:g} days"
        )
    notes = [
        f"{spec.paths:,} paths, seed {spec.seed}; {chain}; height per day within each period at the period's own "
        "pace, so the halving enters by height",
        f"BTC price: GBM from {start.price_usd:,.0f} USD, volatility {start.sigma_daily * math.sqrt(DAYS_PER_YEAR):.0%} "
        f"a year ({start.volatility_source}), expected growth {spec.price_drift_annual:+.0%} a year",
        f"fees {start.fees_btc:g} BTC per block ({start.fees_source})",
        "each day earns the hashprice (economics.hashprice) at its 24:00 UTC; months are calendar months after the "
        "as-of day",
        "switch-off: a row runs on days when the hashprice is at or above the breakeven of the costs it saves by "
        "stopping (power, per-kWh hosting); the per-kW-month fee is owed either way; decided daily with that day's "
        "hashprice known (an upper bound on what curtailment is worth)",
        _cash_note(spec),
        "NPV and IRR: monthly cash flows discounted at the annual rate, plus at the end the BTC held at the last "
        "price and the machines at book value (straight-line depreciation to the salvage share); IRR by bisection, "
        "undefined where the flows do not change sign",
    ]
    if spec.halving_difficulty_drop_pct > 0:
        notes.insert(
            1,
            f"halving difficulty drop: difficulty falls {spec.halving_difficulty_drop_pct:g} % once at the first "
            "adjustment at or after each halving height, and later growth starts from the lower level; applied on top "
            "of the difficulty paths (their period start times are kept, not re-timed for faster blocks)",
        )
    if spec.profit_fee > 0:
        notes.insert(
            -2,
            f"profit fee: {spec.profit_fee * 100:g} % of each month's profit (revenue - power - hosting) where positive is paid "
            "away; profit, net income and cash flow are after it",
        )
    return notes


def _cash_note(spec: Spec) -> str:
    if spec.hold_basis == "net_profit":
        kept = (
            "each month the revenue is sold and the profit less the loan payment is cash, except the held share of "
            "a positive profit, bought in BTC at the month-end price (Braiins' HODL ratio)"
        )
    else:
        kept = (
            "each month the sold share of revenue less power, hosting and the loan payment; the held share of BTC "
            "mined is kept"
        )
    if spec.profit_fee > 0 and spec.hold_basis != "net_profit":
        kept = kept.replace("hosting and the loan payment", "hosting, the profit fee and the loan payment")
    return (
        f"cash flow: capex less the loan principal at month 0; {kept}. Position = cumulative cash + BTC held at "
        "the month-end price - the loan still owed; payback = the position reaches zero"
    )


def fleet_outlook_from_store(
    store: Any, request: dict[str, Any], catalogue: list[Asic] | None = None
) -> dict[str, Any]:
    """:func:`fleet_outlook` over the store's chain and prices (inputs checked first)."""
    parse_request(request, catalogue)  # bad input fails before the store is read
    return fleet_outlook(market_from_store(store), request, catalogue)
