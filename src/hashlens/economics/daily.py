"""Day-by-day inputs from the store (difficulty in force, subsidy, fees, price) and the
hashprice series built on them. The only module of ``economics`` that reads the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from hashlens.consensus import COIN, DIFFICULTY_ADJUSTMENT_INTERVAL, block_subsidy_sat, difficulty_from_bits
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.errors import HashlensError
from hashlens.sources.prices import PricePoint, find_gaps
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL
FEE_WINDOW = 144


def import_prices(store: Store, points: list[PricePoint], source: str, allow_gaps: bool = False) -> dict[str, Any]:
    """Store a price series in one transaction; refuse gaps unless allowed (they are then
    left as gaps, never filled)."""
    gaps = find_gaps(points)
    if gaps and not allow_gaps:
        cur, days = next(iter(gaps.items()))
        raise HashlensError(
            f"{source}: {sum(len(v) for v in gaps.values())} missing day(s), first {cur} {days[0]}; "
            "pass --allow-gaps to store the series with its gaps"
        )
    import pyarrow as pa

    tbl = pa.table(
        {
            "day": pa.array([p.day for p in points], pa.date32()),
            "currency": [p.currency for p in points],
            "price": pa.array([p.price for p in points], pa.float64()),
            "source": [source] * len(points),
        }
    )
    with store.transaction():
        store.insert_arrow("prices", tbl, ("day", "currency", "price", "source"))
        store.log(source, "prices", len(points))
    return {
        "source": source,
        "rows": len(points),
        "currencies": sorted({p.currency for p in points}),
        "gaps": {k: [d.isoformat() for d in v[:10]] + (["..."] if len(v) > 10 else []) for k, v in gaps.items()},
    }


def price_on(store: Store, day: date, currency: str = "USD") -> float | None:
    v = store.scalar("SELECT price FROM prices WHERE day = ? AND currency = ?", [day, currency.upper()])
    return None if v is None else float(v)


def price_series(store: Store, currency: str = "USD") -> tuple[np.ndarray, np.ndarray]:
    rows = store.rows("SELECT day, price FROM prices WHERE currency = ? ORDER BY day", [currency.upper()])
    return np.array([r[0] for r in rows], dtype="datetime64[D]"), np.array([r[1] for r in rows], dtype=float)


class ChainCalendar:
    """Maps times to heights and periods using stored block times.

    Period start times come from stored blocks where known; between two known starts the
    start of a period is interpolated linearly in height, and after the last known one it is
    extrapolated at 600 s per block. Such periods are flagged ``estimated``.
    """

    def __init__(self, store: Store) -> None:
        rows = store.rows(
            "SELECT p.period, p.bits, b.time FROM periods p LEFT JOIN blocks b ON b.height = p.start_height "
            "ORDER BY p.period"
        )
        if not rows:
            raise HashlensError("the store has no difficulty periods: run `hashlens sync ../shared/data/chain`")
        self.bits = np.array([int(r[1]) for r in rows], dtype=np.int64)
        self.difficulty = np.array([difficulty_from_bits(int(b)) for b in self.bits])
        known = np.array([r[2] is not None for r in rows])
        starts = np.array([r[0] * N for r in rows], dtype=float)
        times = np.array([r[2] if r[2] is not None else np.nan for r in rows], dtype=float)
        if not known.any():
            raise HashlensError("no period start time is stored; sync the bitcoinj checkpoints or block stats")
        kh, kt = starts[known], times[known]
        est = np.interp(starts, kh, kt)
        last = kh[-1]
        after = starts > last
        est[after] = kt[-1] + (starts[after] - last) * 600.0
        self.start_time = np.where(known, times, est)
        self.estimated = ~known
        bt = store.rows("SELECT height, time FROM blocks WHERE time IS NOT NULL ORDER BY height")
        self.block_h = np.array([r[0] for r in bt], dtype=np.int64)
        self.block_t = np.array([r[1] for r in bt], dtype=np.int64)
        fs = store.rows("SELECT height, totalfee_sat FROM block_stats ORDER BY height")
        self.fee_h = np.array([r[0] for r in fs], dtype=np.int64)
        self.fee_sat = np.array([r[1] for r in fs], dtype=np.int64)
        self._fee_cum = np.concatenate([[0], np.cumsum(self.fee_sat)])

    def period_at(self, ts: np.ndarray) -> np.ndarray:
        """Index of the period in force at each time (-1 before the chain)."""
        return np.searchsorted(self.start_time, ts, side="right") - 1

    def height_at(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tip height at each time: exact where per-block times cover it, else interpolated
        between period starts. Returns (height, exact flag)."""
        ts = np.asarray(ts, dtype=float)
        approx = np.interp(ts, self.start_time, np.arange(len(self.start_time)) * N, right=np.nan).astype(float)
        exact = np.zeros(ts.shape, dtype=bool)
        heights = np.floor(np.nan_to_num(approx, nan=-1)).astype(np.int64)
        if self.block_h.size:
            i = np.searchsorted(self.block_t, ts, side="right") - 1
            ok = i >= 0
            # Exact only inside a contiguous run: the next stored block is the next height.
            nxt = np.minimum(i + 1, self.block_h.size - 1)
            inside = ok & (self.block_h[nxt] == self.block_h[np.maximum(i, 0)] + 1) & (self.block_t[nxt] > ts)
            heights = np.where(inside, self.block_h[np.maximum(i, 0)], heights)
            exact = inside
        return heights, exact

    def trailing_fees_btc(self, heights: np.ndarray, window: int = FEE_WINDOW) -> np.ndarray:
        """Mean fees per block over the ``window`` blocks ending at each height [BTC], NaN where
        the stats file does not hold all of them."""
        out = np.full(np.shape(heights), np.nan)
        if not self.fee_h.size:
            return out
        hi = np.searchsorted(self.fee_h, heights, side="right")
        lo = hi - window
        ok = (lo >= 0) & (hi > 0)
        lo_c, hi_c = np.clip(lo, 0, None), np.clip(hi, 1, None)
        ok &= (self.fee_h[hi_c - 1] == heights) & (
            self.fee_h[np.clip(lo_c, 0, self.fee_h.size - 1)] == heights - window + 1
        )
        total = self._fee_cum[hi_c] - self._fee_cum[lo_c]
        out[ok] = total[ok] / window / COIN
        return out


@dataclass(frozen=True)
class DayHashprice:
    date: str
    height: int
    height_exact: bool
    difficulty: float
    difficulty_estimated_period_start: bool
    subsidy_btc: float
    fees_btc: float
    fee_source: str
    btc_per_ph_day: float
    sats_per_th_day: float
    btc_per_th_day: float
    price_usd: float | None
    price_source: str
    usd_per_ph_day: float | None
    usd_per_th_day: float | None
    after_halving_btc_per_ph_day: float
    after_halving_usd_per_ph_day: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _end_of_day(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() + 86399


def hashprice_days(
    store: Store,
    days: list[date],
    price_usd: float | None = None,
    fees_btc: float | None = None,
    cal: ChainCalendar | None = None,
) -> list[DayHashprice]:
    """Hashprice at the end of each UTC day (difficulty and subsidy of the tip then; fees the
    trailing 144-block mean where block stats exist, else ``fees_btc``, else zero — stated in
    ``fee_source``); priced with ``price_usd`` if given, else the stored USD price of the day."""
    if not days:
        return []
    cal = cal or ChainCalendar(store)
    ts = np.array([_end_of_day(d) for d in days])
    pidx = cal.period_at(ts)
    if (pidx < 0).any():
        raise HashlensError(f"{days[int(np.argmin(pidx))]} is before the chain began")
    heights, exact = cal.height_at(ts)
    fees = cal.trailing_fees_btc(heights)
    prices = (
        {}
        if price_usd is not None
        else dict(
            store.rows(
                "SELECT day, price FROM prices WHERE currency = 'USD' AND day BETWEEN ? AND ?", [min(days), max(days)]
            )
        )
    )
    out = []
    for i, d in enumerate(days):
        h = int(heights[i])
        diff = float(cal.difficulty[pidx[i]])
        sub = block_subsidy_sat(max(h, 0)) / COIN
        if not np.isnan(fees[i]):
            f, fsrc = float(fees[i]), "trailing 144-block mean of per-block fees"
        elif fees_btc is not None:
            f, fsrc = fees_btc, "given per block"
        else:
            f, fsrc = 0.0, "no per-block fees stored for this day: subsidy only"
        hp = float(hashprice_btc_per_ph_day(diff, sub, f))
        next_sub = block_subsidy_sat((h // 210_000 + 1) * 210_000) / COIN
        hp_after = float(hashprice_btc_per_ph_day(diff, next_sub, f))
        px = price_usd if price_usd is not None else prices.get(d)
        out.append(
            DayHashprice(
                date=d.isoformat(),
                height=h,
                height_exact=bool(exact[i]),
                difficulty=diff,
                difficulty_estimated_period_start=bool(
                    cal.estimated[pidx[i]] or (pidx[i] + 1 < len(cal.estimated) and cal.estimated[pidx[i] + 1])
                ),
                subsidy_btc=sub,
                fees_btc=f,
                fee_source=fsrc,
                btc_per_ph_day=hp,
                sats_per_th_day=hp * 1e8 / 1000,
                btc_per_th_day=hp / 1000,
                price_usd=px,
                price_source="given" if price_usd is not None else ("stored USD series" if px is not None else "none"),
                usd_per_ph_day=hp * px if px is not None else None,
                usd_per_th_day=hp * px / 1000 if px is not None else None,
                after_halving_btc_per_ph_day=hp_after,
                after_halving_usd_per_ph_day=hp_after * px if px is not None else None,
            )
        )
    return out


def latest_day(store: Store) -> date:
    """The last day fully covered by stored per-block data (the default 'today')."""
    t = store.scalar("SELECT max(time) FROM blocks")
    if t is None:
        raise HashlensError("the store has no block times: run `hashlens sync ../shared/data/chain`")
    return datetime.fromtimestamp(int(t), tz=UTC).date() - timedelta(days=1)


def hashprice_series(store: Store, start: date, end: date, currency_price: str = "USD") -> dict[str, Any]:
    """Daily hashprice from start to end with its all-time low and each day's "lowest since"."""
    if end < start:
        raise HashlensError("--end is before --start")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows = hashprice_days(store, days)
    usd = np.array([r.usd_per_ph_day if r.usd_per_ph_day is not None else np.nan for r in rows])
    lowest_since: list[str | None] = []
    for i in range(len(rows)):
        if np.isnan(usd[i]):
            lowest_since.append(None)
            continue
        earlier = np.flatnonzero(usd[:i] <= usd[i])
        lowest_since.append(rows[int(earlier[-1])].date if earlier.size else None)
    valid = ~np.isnan(usd)
    atl = None
    if valid.any():
        j = int(np.nanargmin(usd))
        atl = {"date": rows[j].date, "usd_per_ph_day": float(usd[j])}
    return {
        "rows": [r.as_dict() | {"usd_lowest_since": ls} for r, ls in zip(rows, lowest_since, strict=True)],
        "all_time_low_usd": atl,
    }


def network_hashrate_ehs_on(cal: ChainCalendar, day: date) -> tuple[float, str]:
    """Network hashrate at the end of ``day`` [EH/s], by the best method the data allow:
    the period's work per block over its mean interval when both its start and the next
    period's start are known; else Core's getnetworkhashps over the 1008 blocks before that
    time where per-block times exist; else the difficulty at 600 s per block."""
    from hashlens.chain.hashrate import hashrate_over_blocks, period_work_table

    ts = _end_of_day(day)
    p = int(cal.period_at(np.array([ts]))[0])
    if p < 0:
        raise HashlensError(f"{day} is before the chain began")
    if p + 1 < len(cal.start_time) and not cal.estimated[p] and not cal.estimated[p + 1]:
        interval = (cal.start_time[p + 1] - cal.start_time[p]) / N
        return float(cal.difficulty[p] * 2.0**32 / interval / 1e18), "period's mean block interval"
    heights, exact = cal.height_at(np.array([ts]))
    if exact[0]:
        i = int(np.searchsorted(cal.block_h, heights[0]))
        if i >= 1008 and cal.block_h[i] - cal.block_h[i - 1008] == 1008:
            work = period_work_table({q: int(b) for q, b in enumerate(cal.bits)})
            est = hashrate_over_blocks(cal.block_h[i - 1008 : i + 1], cal.block_t[i - 1008 : i + 1], work)
            return est.hashrate_ehs, "getnetworkhashps over the last 1008 blocks"
    return float(cal.difficulty[p] * 2.0**32 / 600 / 1e18), "difficulty at 600 s per block (no block times)"
