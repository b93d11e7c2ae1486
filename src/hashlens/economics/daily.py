"""Day-by-day inputs (difficulty in force, subsidy, fees, price) and the hashprice built on
them, read through the store's typed queries and the chain's clock.

A day's figures are taken at 24:00 UTC of that day: the chain state then (the period in
force, the tip height, the mean fees of the 144 blocks up to it) priced with the stored price
of the next day, whose first-minute close (the shared USD series' convention) is the price at
that instant. Luxor's Hashrate Index dates its daily hashprice the same way (its all-time low
of November 2025 falls on the 22nd this way, on the 23rd with the same day's opening price).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from hashlens.chain.adjustments import last_earlier_at_or_below
from hashlens.chain.clock import ChainClock, day_of, end_of_day
from hashlens.chain.prices import PricesImported
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_subsidy_btc, next_halving_height
from hashlens.contracts import Result
from hashlens.economics.hashprice import (
    hashprice_btc_per_ph_day,
    hashprice_usd_per_ph_day,
    hashvalue_sats_per_th_day,
)
from hashlens.economics.models import PricesImport
from hashlens.errors import HashlensError
from hashlens.sources.prices import PricePoint
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
PRICE_INSTANT = "24:00 UTC (the next day's first-minute price)"


class PricesFetched(PricesImported):
    """A price import from a price API, with the outliers it let through (``hashlens prices sync``)."""

    outliers: list[str] = Field(default_factory=list, description="Prices 10x off their neighbours, stored as allowed.")


def price_points(request: PricesImport) -> list[PricePoint]:
    """A :class:`~hashlens.economics.models.PricesImport`'s prices as points, by day."""
    return sorted((PricePoint(d, request.currency, p) for d, p in request.prices.items()), key=lambda x: x.day)


class DayHashprice(Result):
    """Hashprice of one UTC day, taken at 24:00 UTC, with how each input is known (``hashlens
    hashprice``, ``GET /v1/hashprice``)."""

    date: str = Field(..., description="The UTC day.")
    height: int = Field(..., description="The tip at 24:00 UTC [-].")
    height_exact: bool = Field(..., description="From stored block times; else interpolated in the period.")
    difficulty: float = Field(..., description="Difficulty of the period in force [-].")
    period_start_height: int
    period_start_source: str = Field(..., description="stored / retarget-implied / estimated")
    subsidy_btc: float = Field(..., description="[BTC/block]")
    fees_btc: float = Field(..., description="Mean fees per block [BTC/block].")
    fee_source: str
    btc_per_ph_day: float = Field(..., description="[BTC per PH/s per day]")
    sats_per_th_day: float = Field(..., description="[sat per TH/s per day]")
    btc_per_th_day: float = Field(..., description="[BTC per TH/s per day]")
    price_usd: float | None = Field(..., description="BTC price at 24:00 UTC [USD]; null if none stored.")
    price_source: str
    usd_per_ph_day: float | None = Field(..., description="[USD per PH/s per day]")
    usd_per_th_day: float | None = Field(..., description="[USD per TH/s per day]")
    after_halving_btc_per_ph_day: float = Field(..., description="The same with the next era's subsidy.")
    after_halving_usd_per_ph_day: float | None


class HashpriceDay(DayHashprice):
    """A day of a hashprice series, with the last earlier day at or below it."""

    usd_lowest_since: str | None = Field(..., description="The last earlier day whose USD hashprice was at or below.")


class AllTimeLow(Result):
    """The lowest USD hashprice of a series."""

    date: str
    usd_per_ph_day: float = Field(..., description="[USD per PH/s per day]")
    fees_included: bool = Field(..., description="False where no per-block fees are stored (subsidy only).")


class HashpriceSeries(Result):
    """Daily hashprice over a span (``GET /v1/hashprice/series``, the weekly figures)."""

    rows: list[HashpriceDay]
    all_time_low_usd: AllTimeLow | None
    price_instant: str = Field(..., description="The instant each day's price is taken at.")


def hashprice_days(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
) -> list[DayHashprice]:
    """Hashprice of each day at 24:00 UTC: the period in force and the tip height then, the
    subsidy at that height (:func:`hashlens.consensus.block_subsidy_btc`), fees the trailing
    144-block mean where block stats exist, else ``fees_btc``, else zero (stated in
    ``fee_source``); priced with ``price_usd`` if given, else the stored USD price at that
    instant. A day the store's periods do not reach is an error, never a fallback."""
    return [DayHashprice.model_validate(r) for r in _day_rows(store, days, price_usd, fees_btc, clock)]


def _day_rows(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
) -> list[dict[str, Any]]:
    """:func:`hashprice_days`' rows before they are typed (one dict per day, from
    :func:`day_columns`)."""
    cols = day_columns(store, days, price_usd, fees_btc, clock)
    names = list(cols)
    return [dict(zip(names, vals, strict=True)) for vals in zip(*(cols[n] for n in names), strict=True)]


def day_columns(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
) -> dict[str, list[Any]]:
    """Every field of :class:`DayHashprice` for each day, as columns (one list per field, in
    the model's order, JSON-ready values: None where a day has no price)."""
    if not days:
        return {name: [] for name in DayHashprice.model_fields}
    arrays, priced = day_arrays(store, np.array(days, dtype="datetime64[D]"), price_usd, fees_btc, clock)
    return _as_lists(arrays, priced)


@dataclass(frozen=True)
class Labels:
    """A text column of a few distinct values, as each row's index into ``names`` (a source
    description repeats over thousands of days: one string each, not one per day)."""

    codes: np.ndarray  # int, into names
    names: list[str]

    def tolist(self) -> list[str]:
        out: list[str] = np.array(self.names, dtype=object)[self.codes].tolist()
        return out

    def arrow(self) -> Any:
        import pyarrow as pa

        return pa.array(self.names, pa.string()).take(self.codes)


def _as_lists(arrays: dict[str, Any], priced: np.ndarray) -> dict[str, list[Any]]:
    """:func:`day_arrays`' columns as Python lists (days as ISO strings, None for NaT), None
    where ``priced`` is False in the columns that need a price."""
    out: dict[str, list[Any]] = {}
    mask = priced.tolist()
    for name, col in arrays.items():
        if isinstance(col, np.ndarray) and col.dtype.kind == "M":
            values = [None if d == "NaT" else d for d in np.datetime_as_string(col).tolist()]
        else:
            values = col if isinstance(col, list) else col.tolist()  # a list: the empty series
        out[name] = [v if k else None for v, k in zip(values, mask, strict=True)] if name in PRICED else values
    return out


#: The columns that need the day's price (None, or masked, where it has none).
PRICED = ("price_usd", "usd_per_ph_day", "usd_per_th_day", "after_halving_usd_per_ph_day")


def day_arrays(
    store: Store,
    days: np.ndarray,
    price_usd: float | None = None,
    fees_btc: float | None = None,
    clock: ChainClock | None = None,
    usd_prices: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Every field of :class:`DayHashprice` for each day of ``days`` (``datetime64[D]``) as an
    array (the date as ``datetime64[D]``, the source descriptions as :class:`Labels`), and
    which days have a price: the owner of the per-day figures, computed on arrays
    (:func:`hashprice_days` types its rows, :func:`series_table` writes them as Arrow). The
    price columns hold NaN where a day has no price. ``usd_prices``: the store's
    :meth:`~hashlens.store.Store.price_series` of USD where the caller has read it already."""
    clock = clock or ChainClock.from_store(store)
    # 24:00 UTC of each day (end_of_day's instant, for every day at once) [Unix s]
    ts = ((days - np.datetime64("1970-01-01", "D")).astype(np.int64) * SECONDS_PER_DAY + SECONDS_PER_DAY).astype(float)
    pidx = clock.period_at(ts)
    bad = (pidx < 0) | (ts > clock.covered_until)
    if bad.any():  # the first day the periods do not reach, refused in the clock's own words
        i = int(np.argmax(bad))
        clock.require_covered(float(ts[i]), str(days[i]))
    heights, exact = clock.height_at(ts)
    heights = np.maximum(heights, 0)
    fees = clock.trailing_fees_btc(heights)
    fee_known = ~np.isnan(fees)
    fee = np.where(fee_known, fees, fees_btc if fees_btc is not None else 0.0)
    subsidy = np.asarray(block_subsidy_btc(heights), dtype=float)
    # next_halving_height is integer arithmetic that numpy applies to every height at once
    next_subsidy = np.asarray(block_subsidy_btc(next_halving_height(heights)), dtype=float)
    diff = clock.difficulty[pidx]
    hp = np.asarray(hashprice_btc_per_ph_day(diff, subsidy, fee), dtype=float)
    hp_after = np.asarray(hashprice_btc_per_ph_day(diff, next_subsidy, fee), dtype=float)
    sats = np.asarray(hashvalue_sats_per_th_day(diff, subsidy, fee), dtype=float)
    if price_usd is not None:
        px = np.full(days.size, float(price_usd))
    else:  # the stored price of the next day (its first minute: 24:00 UTC of the day)
        pdays, pvals = usd_prices if usd_prices is not None else store.price_series("USD")
        want = days + 1
        if pdays.size:
            j = np.clip(np.searchsorted(pdays, want), 0, pdays.size - 1)
            px = np.where(pdays[j] == want, pvals[j], np.nan)
        else:
            px = np.full(days.size, np.nan)
    has_px = ~np.isnan(px)
    usd = np.asarray(hashprice_usd_per_ph_day(diff, subsidy, fee, px), dtype=float)
    usd_after = np.asarray(hashprice_usd_per_ph_day(diff, next_subsidy, fee, px), dtype=float)
    fee_other = "given per block" if fees_btc is not None else "no per-block fees stored for this day: subsidy only"
    fee_src = Labels((~fee_known).astype(np.int8), ["trailing 144-block mean of per-block fees", fee_other])
    if price_usd is not None:
        price_src = Labels(np.zeros(days.size, dtype=np.int8), ["given"])
    else:  # one text for the priced days; each day without a price says which price to give
        missing = np.flatnonzero(~has_px)
        codes = np.zeros(days.size, dtype=np.int64)
        codes[missing] = np.arange(1, missing.size + 1)
        price_src = Labels(codes, [f"stored USD series at {PRICE_INSTANT}"])
        for d in days[missing].tolist():
            price_src.names.append(
                f"none: no USD price stored for {d + timedelta(days=1)} (the price at 24:00 UTC of {d}); give a price"
            )
    # the periods' sources, numbered once per period (a few hundred), then indexed by day
    source_names, source_codes = np.unique(clock.start_source.astype(str), return_inverse=True)
    arrays: dict[str, Any] = {
        "date": days,
        "height": heights,
        "height_exact": exact,
        "difficulty": diff,
        "period_start_height": pidx * N,
        "period_start_source": Labels(source_codes[pidx], source_names.tolist()),
        "subsidy_btc": subsidy,
        "fees_btc": fee,
        "fee_source": fee_src,
        "btc_per_ph_day": hp,
        "sats_per_th_day": sats,
        "btc_per_th_day": hp / 1000,
        "price_usd": px,
        "price_source": price_src,
        "usd_per_ph_day": usd,
        "usd_per_th_day": usd / 1000,
        "after_halving_btc_per_ph_day": hp_after,
        "after_halving_usd_per_ph_day": usd_after,
    }
    return arrays, has_px


def monthly_days(start: date | None, end: date) -> list[date]:
    """``end`` alone, or with ``start``: the start day and each 1st of a month after it, to ``end``."""
    if start is None:
        return [end]
    if start > end:
        raise HashlensError(f"start {start} is after {end}")
    days = []
    while start <= end:
        days.append(start)
        start = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return days


def latest_day(store: Store, clock: ChainClock | None = None) -> date:
    """The latest UTC day with a dated period in force and a stored USD price at its end: the
    default 'as of' of every face."""
    clock = clock or ChainClock.from_store(store)
    chain_day = day_of(clock.covered_until) - timedelta(days=1)
    last_price = store.last_price_day()
    if last_price is None:
        return chain_day
    return min(chain_day, last_price - timedelta(days=1))


def series_arrays(
    store: Store, start: date | None, end: date, clock: ChainClock | None = None
) -> tuple[dict[str, Any], np.ndarray, AllTimeLow | None]:
    """Daily hashprice from ``start`` (default: the first stored price) to ``end`` as
    :func:`day_arrays`' columns with ``usd_lowest_since`` (the last earlier day at or below,
    ``datetime64[D]``, NaT where none), which days have a price, and the all-time low: the
    owner of :func:`hashprice_series` and :func:`series_table`."""
    clock = clock or ChainClock.from_store(store)
    usd = store.price_series("USD")  # read once: the first day and every day's price
    if start is None:
        if usd[0].size == 0 or usd[0][0] > np.datetime64(end, "D"):
            return {name: [] for name in HashpriceDay.model_fields}, np.zeros(0, dtype=bool), None
        start = usd[0][0].item()  # a datetime.date
    if end < start:
        raise HashlensError(f"the series' end {end} is before its start {start}")
    clock.require_covered(end_of_day(end), f"the series' end {end}")
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    cols, priced = day_arrays(store, days, clock=clock, usd_prices=usd)
    usd_ph = cols["usd_per_ph_day"]
    lowest_since = np.full(days.size, np.datetime64("NaT"), dtype="datetime64[D]")
    vi = np.flatnonzero(priced)
    atl = None
    if vi.size:
        j = last_earlier_at_or_below(usd_ph[vi])
        has = j >= 0
        lowest_since[vi[has]] = days[vi[j[has]]]
        m = int(vi[np.argmin(usd_ph[vi])])
        # Days past the per-block data count the subsidy alone: say which kind the low is.
        fee_src = cols["fee_source"]
        atl = AllTimeLow(
            date=str(days[m]),
            usd_per_ph_day=float(usd_ph[m]),
            fees_included=fee_src.names[fee_src.codes[m]].startswith("trailing"),
        )
    cols["usd_lowest_since"] = lowest_since
    return cols, priced, atl


def hashprice_series(store: Store, start: date | None, end: date, clock: ChainClock | None = None) -> HashpriceSeries:
    """Daily hashprice from ``start`` (default: the first stored price) to ``end``, with its
    all-time low and each day's "lowest since" (the last earlier day at or below it)."""
    arrays, priced, atl = series_arrays(store, start, end, clock)
    cols = _as_lists(arrays, priced)
    names = list(cols)
    rows = [dict(zip(names, vals, strict=True)) for vals in zip(*(cols[n] for n in names), strict=True)]
    return HashpriceSeries(
        rows=[HashpriceDay.model_validate(r) for r in rows], all_time_low_usd=atl, price_instant=PRICE_INSTANT
    )


def series_table(store: Store, start: date | None, end: date, clock: ChainClock | None = None) -> Any:
    """:func:`hashprice_series`' rows as an Arrow table, built from the columns without a
    Python object per day (``hashlens hashprice --out``), and its all-time low."""
    import pyarrow as pa

    cols, priced, atl = series_arrays(store, start, end, clock)
    unpriced = ~priced
    columns = {}
    for name, f in HashpriceDay.model_fields.items():
        col = cols[name]
        if isinstance(col, Labels):
            columns[name] = col.arrow()
        elif isinstance(col, np.ndarray) and col.dtype.kind == "M":  # days as ISO strings, NaT as null
            columns[name] = pa.array(col, mask=np.isnat(col)).cast(pa.string())
        elif isinstance(col, np.ndarray) and col.dtype.kind == "f":
            columns[name] = pa.array(col, type=pa.float64(), mask=unpriced if name in PRICED else None)
        else:  # the empty series' lists, and the integer and boolean columns, typed as the model says
            kind = (
                pa.string()
                if f.annotation in (str, str | None)
                else pa.bool_()
                if f.annotation is bool
                else pa.int64()
                if f.annotation is int
                else pa.float64()
            )
            columns[name] = pa.array(col, type=kind)
    return pa.table(columns), atl


def write_series(table: Any, out: Path) -> None:
    """:func:`series_table`'s table as a .parquet or .csv file (``hashlens hashprice --out``).

    Parquet: the text columns but the date (source descriptions and lowest-since days, a few
    values repeated over thousands of days) are dictionary-encoded; the date and the numbers,
    nearly all different day to day, are written plain rather than tried in a dictionary and
    dropped: a third less time and a smaller file (2012-2026: 1.9 against 3.1 ms, 288 against
    321 kB), the same values read back."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        repeated = [f.name for f in table.schema if pa.types.is_string(f.type) and f.name != "date"]
        pq.write_table(table, out, use_dictionary=repeated)
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, out)
    else:
        raise HashlensError(f"--out {out}: use a .csv or .parquet file name")


class HashrateOnDay(Result):
    """Network hashrate at 24:00 UTC of a day, by the best method the data allow."""

    date: str
    hashrate_ehs: float = Field(..., description="[EH/s]")
    low_ehs: float = Field(..., description="Lower end of the 95 % interval [EH/s].")
    high_ehs: float = Field(..., description="Upper end of the 95 % interval [EH/s].")
    method: str
    start_height: int
    end_height: int


def network_hashrate_on(clock: ChainClock, day: date, level: float = 0.95) -> HashrateOnDay:
    """Network hashrate at the end of ``day`` from data up to then only [EH/s].

    Where stored block times cover the day: Bitcoin Core's getnetworkhashps over the last 1008
    blocks, with the Gamma interval of their intervals. Else the hashrate the last period that
    ended by then implies (:func:`hashlens.chain.hashrate.implied_hashrate_ehs`), its interval
    from the Gamma law of its 2016 intervals; the method names the period and how its times
    are known.
    """
    from hashlens.chain.hashrate import (
        hashrate_over_blocks,
        implied_hashrate_ehs,
        period_work_table,
        rate_interval_from_blocks,
    )

    ts = end_of_day(day)
    p = clock.require_covered(ts, str(day))
    heights, exact = clock.height_at(np.array([ts]))
    if exact[0]:
        i = int(np.searchsorted(clock.block_h, heights[0]))
        if i >= 1008 and clock.block_h[i] - clock.block_h[i - 1008] == 1008:
            sl = slice(i - 1008, i + 1)
            ps = np.unique(clock.block_h[sl] // N)
            work = period_work_table({int(q): int(clock.bits[q]) for q in ps})
            est = hashrate_over_blocks(clock.block_h[sl], clock.block_t[sl], work, level)
            return HashrateOnDay(
                date=day.isoformat(),
                hashrate_ehs=est.hashrate_ehs,
                low_ehs=est.low_ehs,
                high_ehs=est.high_ehs,
                method=est.method,
                start_height=est.start_height,
                end_height=est.end_height,
            )
    q = p - 1
    dur = clock.implied_duration_s(q) if q >= 0 else None
    if dur is None:
        raise HashlensError(f"{day}: no dated period before it to take the hashrate from")
    h = float(implied_hashrate_ehs(int(clock.bits[q]), dur))
    lo_rate, hi_rate = rate_interval_from_blocks(N, dur, level)
    scale = h / (N / dur)
    how = "/".join(sorted({str(clock.start_source[q]), str(clock.start_source[q + 1])}))
    return HashrateOnDay(
        date=day.isoformat(),
        hashrate_ehs=h,
        low_ehs=lo_rate * scale,
        high_ehs=hi_rate * scale,
        method=f"implied by the period from height {q * N:,} (its work over its {dur / SECONDS_PER_DAY:.2f} days; "
        f"start times {how}); {level:.0%} interval from Gamma({N}) block intervals",
        start_height=q * N,
        end_height=(q + 1) * N,
    )
