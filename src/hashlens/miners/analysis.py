"""Monthly table, expected versus reported production with flags, treasuries and ranks."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.consensus import COIN, block_subsidy_sat
from hashlens.errors import HashlensError
from hashlens.miners.dataset import Report
from hashlens.miners.expected import btc_per_ehs_day, expected_btc
from hashlens.miners.storeio import stored_reports
from hashlens.store import Store


def month_bounds(month: date) -> tuple[float, float]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC).timestamp()
    days = calendar.monthrange(month.year, month.month)[1]
    return start, start + days * 86400


@dataclass(frozen=True)
class MonthChain:
    """What the chain says about one month: difficulty segments and the mean block reward."""

    month: str
    segments: list[tuple[float, float]]  # (seconds, difficulty)
    estimated_boundaries: bool
    reward_btc: float
    fees_btc: float
    reward_source: str
    blocks_in_month: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def month_chain(store: Store, month: date, cal: ChainClock | None = None) -> MonthChain:
    """Split the month at period starts (from stored block times, or estimated where the
    data lack them — flagged) and take the month's mean reward from per-block stats where
    every block of the month is stored, else the subsidy at the month's height and no fees."""
    cal = cal or ChainClock.from_store(store)
    t0, t1 = month_bounds(month)
    p0 = int(cal.period_at(np.array([t0]))[0])
    p1 = int(cal.period_at(np.array([t1 - 1]))[0])
    if p0 < 0:
        raise HashlensError(f"{month:%Y-%m} is before the chain began")
    segments, estimated = [], False
    for p in range(p0, p1 + 1):
        a = max(t0, float(cal.start_time[p]))
        b = min(t1, float(cal.start_time[p + 1])) if p + 1 < len(cal.start_time) else t1
        if b > a:
            segments.append((b - a, float(cal.difficulty[p])))
            estimated |= bool(cal.estimated[p]) or (
                p + 1 < len(cal.estimated) and bool(cal.estimated[p + 1]) and b < t1
            )
    rs = store.reward_stats(t0, t1)
    covered = rs.contiguous and rs.mean_reward_sat is not None
    if covered:
        return MonthChain(
            f"{month:%Y-%m}",
            segments,
            estimated,
            float(rs.mean_reward_sat or 0.0) / COIN,
            float(rs.mean_fee_sat or 0.0) / COIN,
            "mean subsidy + fees of the month's blocks (block stats)",
            rs.blocks,
        )
    h, _ = cal.height_at(np.array([(t0 + t1) / 2]))
    sub = block_subsidy_sat(max(int(h[0]), 0)) / COIN
    return MonthChain(
        f"{month:%Y-%m}",
        segments,
        estimated,
        sub,
        0.0,
        "subsidy at the month's middle height, fees unknown (not in stored block stats)",
        None,
    )


def _hashrate_used(r: Report) -> tuple[float | None, str]:
    if r.hashrate_avg_ehs is not None:
        return r.hashrate_avg_ehs, "average operating"
    if r.hashrate_month_end_ehs is not None:
        return r.hashrate_month_end_ehs, "month-end"
    if r.hashrate_deployed_ehs is not None:
        return r.hashrate_deployed_ehs, "deployed"
    return None, "none reported"


def _flags(r: Report, ratio: float | None, basis: str) -> list[str]:
    out = []
    note = (r.note or "").lower()
    if r.btc_cloud_mined or "cloud" in note:
        out.append("cloud-mining capacity and output included: not comparable with self-mining peers")
    if ratio is None:
        return out
    if basis == "month-end" and ratio < 0.97:
        out.append("month-end hashrate used: the fleet likely grew during the month, so the average was lower")
    if basis == "deployed":
        out.append("deployed (installed) hashrate used: not all of it was operating")
    if ratio < 0.9 and basis == "average operating":
        out.append("below expectation on average hashrate: curtailment, downtime or pool luck")
    if "curtail" in note or "storm" in note or "weather" in note:
        out.append("the company reports curtailment in the month")
    if ratio > 1.05:
        out.append("above expectation: hosted or cloud output counted, hashrate under-reported, or luck")
    return out


def expected_vs_reported(store: Store, month: date) -> list[dict[str, Any]]:
    cal = ChainClock.from_store(store)
    mc = month_chain(store, month, cal)
    days = sum(t for t, _ in mc.segments) / 86400
    reports = [r for r in stored_reports(store) if r.month == month]
    if not reports:
        raise HashlensError(f"no miner reports stored for {month:%Y-%m}: run `hashlens miners import FILE`")
    prev = {
        r.ticker: r
        for r in stored_reports(store)
        if (r.month.year * 12 + r.month.month) == month.year * 12 + month.month - 1
    }
    out: list[dict[str, Any]] = []
    for r in reports:
        h, basis = _hashrate_used(r)
        exp, sd = expected_btc(h, mc.segments, mc.reward_btc) if h is not None else (None, None)
        ratio = r.btc_mined / exp if exp and r.btc_mined is not None else None
        p = prev.get(r.ticker)
        mom = (r.btc_mined / p.btc_mined - 1) * 100 if p and p.btc_mined and r.btc_mined is not None else None
        out.append(
            {
                "ticker": r.ticker,
                "company": r.company,
                "month": f"{month:%Y-%m}",
                "reported_btc": r.btc_mined,
                "expected_btc": exp,
                "expected_sd_btc": sd,
                "ratio": ratio,
                "hashrate_ehs": h,
                "hashrate_basis": basis,
                "btc_per_ehs_day": btc_per_ehs_day(r.btc_mined, h, days) if h and r.btc_mined is not None else None,
                "mom_change_pct": mom,
                "flags": _flags(r, ratio, basis),
                "source": r.source_title,
            }
        )
    mined = sorted((x for x in out if x["reported_btc"] is not None), key=lambda x: -float(x["reported_btc"]))
    for rank, x in enumerate(mined, start=1):
        x["rank_by_production"] = rank
    out.sort(key=lambda x: -float(x["reported_btc"] if x["reported_btc"] is not None else -1))
    return [
        x
        | {
            "chain": {
                "reward_btc": mc.reward_btc,
                "reward_source": mc.reward_source,
                "estimated_period_boundaries": mc.estimated_boundaries,
                "days": days,
            }
        }
        for x in out
    ]


#: Listed miners publish a month's production update in the first week of the next month; a
#: report counts as known this many days after its month ends.
PUBLICATION_LAG_DAYS = 7


def month_end(month: date) -> date:
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def published_by(month: date, as_of: date, from_day: bool = False) -> bool:
    """Whether a figure had been published by ``as_of``: the usual lag after its month's end
    (or, with ``from_day``, after the day it is dated, for treasury snapshots)."""
    end = month if from_day else month_end(month)
    return (as_of - end).days >= PUBLICATION_LAG_DAYS


def latest_reported_month(store: Store, as_of: date) -> date | None:
    """The latest month with stored reports that had been published by ``as_of``."""
    return max((m for m in store.miner_months() if published_by(m, as_of)), default=None)


def month_table(store: Store, month: date) -> list[dict[str, Any]]:
    """The month's reports in descending order of BTC mined, as a news roundup lists them."""
    rows = [r.as_dict() for r in stored_reports(store) if r.month == month]
    if not rows:
        raise HashlensError(f"no miner reports stored for {month:%Y-%m}: run `hashlens miners import FILE`")
    return sorted(rows, key=lambda x: -(x["btc_mined"] if x["btc_mined"] is not None else -1))


def treasuries(store: Store, as_of: date | None = None) -> list[dict[str, Any]]:
    """Latest known treasury per company from reports and snapshots dated on or before
    ``as_of`` (default: all), largest first, ranked."""
    latest: dict[str, dict[str, Any]] = {}
    for r in stored_reports(store):
        if r.treasury_btc is not None:
            last_day = month_end(r.month)
            cand = {
                "ticker": r.ticker,
                "company": r.company,
                "as_of": last_day.isoformat(),
                "treasury_btc": r.treasury_btc,
                "source": r.source_title,
                "note": r.note,
            }
            if as_of is not None and not published_by(r.month, as_of):
                continue
            if r.ticker not in latest or latest[r.ticker]["as_of"] < cand["as_of"]:
                latest[r.ticker] = cand
    for t, day, company, btc, note, src in store.miner_treasury_rows():
        if as_of is not None and not published_by(day, as_of, from_day=True):
            continue
        cand = {
            "ticker": t,
            "company": company,
            "as_of": day.isoformat(),
            "treasury_btc": btc,
            "source": src,
            "note": note,
        }
        if t not in latest or latest[t]["as_of"] <= cand["as_of"]:
            latest[t] = cand
    out = sorted(latest.values(), key=lambda x: -x["treasury_btc"])
    for i, x in enumerate(out, start=1):
        x["rank"] = i
    return out
