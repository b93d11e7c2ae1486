"""Monthly table, expected versus reported production with notes derived from the data,
treasuries and ranks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.consensus import COIN, block_subsidy_sat, issued_supply_sat
from hashlens.errors import HashlensError
from hashlens.miners.dataset import Report
from hashlens.miners.expected import btc_per_ehs_day, expected_btc
from hashlens.miners.models import month_end
from hashlens.miners.published import month_published, snapshot_published
from hashlens.miners.storeio import stored_reports
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY


def month_bounds(month: date) -> tuple[float, float]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC).timestamp()
    return start, start + month_end(month).day * SECONDS_PER_DAY


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
    # The stats hold every block of the month: a contiguous run, and as many blocks as the
    # chain's heights at the month's ends (from stored block times) say the month had. Block
    # times without stats (a times-only file) would otherwise leave a run of the month's first
    # hours looking complete.
    h, exact = cal.height_at(np.array([t0, t1]))
    covered = (
        rs.contiguous and rs.mean_reward_sat is not None and bool(exact.all()) and int(h[1]) - int(h[0]) == rs.blocks
    )
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
    sub, how = mean_subsidy_btc(cal, t0, t1)
    return MonthChain(
        f"{month:%Y-%m}",
        segments,
        estimated,
        sub,
        0.0,
        f"{how}, fees unknown (not in stored block stats)",
        None,
    )


def mean_subsidy_btc(cal: ChainClock, t0: float, t1: float) -> tuple[float, str]:
    """Mean subsidy of the blocks mined between two times [BTC/block], and how it is known.

    .. math:: \bar s = \frac{S(h_1) - S(h_0)}{h_1 - h_0}

    with S the scheduled issuance through a height
    (:func:`hashlens.consensus.issued_supply_sat`) and h_0, h_1 the chain's heights at the two
    times (:meth:`hashlens.chain.clock.ChainClock.height_at`: exact where block times are
    stored, else counted at 600 s per block from the period's start). A month holding a
    halving (April 2024) is weighted by its blocks on each side, not priced at one subsidy.
    """
    h, exact = cal.height_at(np.array([t0, t1]))
    h0, h1 = max(int(h[0]), 0), max(int(h[1]), 0)
    if h1 <= h0:
        return block_subsidy_sat(h0) / COIN, "the subsidy at the month's height"
    mean = (issued_supply_sat(h1) - issued_supply_sat(h0)) / (h1 - h0) / COIN
    counted = "stored block times" if bool(exact.all()) else "heights counted from period starts"
    return mean, f"mean subsidy of heights {h0 + 1:,}-{h1:,} ({counted})"


def _hashrate_used(r: Report) -> tuple[float | None, str]:
    if r.hashrate_avg_ehs is not None:
        return r.hashrate_avg_ehs, "average operating"
    if r.hashrate_month_end_ehs is not None:
        return r.hashrate_month_end_ehs, "month-end"
    if r.hashrate_deployed_ehs is not None:
        return r.hashrate_deployed_ehs, "deployed"
    return None, "none reported"


#: Beyond this many standard deviations of block-finding luck a gap counts as a shortfall.
LUCK_SD = 2.0


def _notes(r: Report, prev: Report | None, ratio: float | None, expected: float | None, sd: float | None) -> list[str]:
    """What the data say about a month's reported/expected ratio, each note computed from the
    figures it names: for a month-end hashrate, the previous month-end and the ratio the
    change between the two could explain (the fleet assumed to have run between the two
    month-end figures); for an average, whether the gap exceeds block-finding luck (Poisson);
    what the company's own notes and cloud figures can and cannot explain."""
    out: list[str] = []
    note = (r.note or "").lower()
    h, basis = _hashrate_used(r)
    cloud = r.btc_cloud_mined is not None or "cloud" in note
    if cloud:
        part = (
            f" (cloud-mined {r.btc_cloud_mined:,.0f} of {r.btc_mined:,.0f} BTC)"
            if r.btc_cloud_mined is not None and r.btc_mined is not None
            else ""
        )
        out.append(
            f"hashrate and output both include cloud-mining customers{part}: that does not lower the ratio, "
            "but the figures are not comparable with self-mining peers"
        )
    if ratio is None or h is None or expected is None:
        return out
    if basis == "month-end":
        p = prev.hashrate_month_end_ehs if prev is not None else None
        if p is None or p <= 0:
            out.append(
                f"month-end hashrate {h:g} EH/s used; no previous month-end is stored, so the month's average "
                "(and the ratio at it) is not bounded by the data"
            )
        elif h > p:
            at_prev = ratio * h / p
            text = (
                f"month-end hashrate rose {p:g} → {h:g} EH/s: had the whole month run at {p:g} EH/s the ratio "
                f"would be {at_prev:.2f}, so growth explains at most {ratio:.2f} → {at_prev:.2f}"
            )
            if at_prev < 1 - LUCK_SD * (sd or 0.0) / expected:
                text += "; the rest of the gap is not explained by the growth"
            out.append(text)
        elif h < p:
            at_prev = ratio * h / p
            out.append(
                f"month-end hashrate fell {p:g} → {h:g} EH/s: the month's average was above the month-end figure, "
                f"so the ratio at the average lies between {at_prev:.2f} and {ratio:.2f}"
            )
        else:
            out.append(f"month-end hashrate unchanged at {h:g} EH/s from the previous month-end")
    elif basis == "deployed":
        out.append(
            f"installed hashrate {h:g} EH/s used: not all of it need have run, so {ratio:.2f} is a lower bound "
            "of the ratio at the operating hashrate"
        )
    elif sd is not None and r.btc_mined is not None:
        gap = r.btc_mined - expected
        z = gap / sd if sd > 0 else 0.0
        if abs(z) <= LUCK_SD:
            out.append(
                f"within block-finding luck: {gap:+,.0f} BTC against ±{sd:,.0f} BTC (one standard deviation) "
                "at the average operating hashrate"
            )
        else:
            side = "below" if gap < 0 else "above"
            out.append(
                f"{abs(gap):,.0f} BTC {side} what the average operating hashrate should have mined, "
                f"{abs(z):.1f} standard deviations of block-finding luck"
            )
    if any(w in note for w in ("curtail", "storm", "weather")):
        out.append(
            "the company reports curtailment in the month; its average operating hashrate already counts it"
            if basis == "average operating"
            else f"the company reports curtailment in the month, which its {basis} hashrate does not show"
        )
    return out


def expected_vs_reported(store: Store, month: date) -> list[dict[str, Any]]:
    cal = ChainClock.from_store(store)
    mc = month_chain(store, month, cal)
    days = sum(t for t, _ in mc.segments) / SECONDS_PER_DAY
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
        prev_end = p.hashrate_month_end_ehs if p is not None else None
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
                "previous_month_end_ehs": prev_end,
                "btc_per_ehs_day": btc_per_ehs_day(r.btc_mined, h, days) if h and r.btc_mined is not None else None,
                "mom_change_pct": mom,
                "flags": _notes(r, p, ratio, exp, sd),
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


def published_by(day: date, as_of: date, from_day: bool = False) -> bool:
    """Whether a figure had been published by ``as_of`` (:mod:`hashlens.miners.published`): a
    month's production update (``day`` any day of the month) or, with ``from_day``, a
    treasury figure dated ``day``."""
    return (snapshot_published(day) if from_day else month_published(day)) <= as_of


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
    """Latest known treasury per company from monthly reports, snapshots and quarterly
    results published by ``as_of`` (default: all; the lag rule of
    :mod:`hashlens.miners.published`), largest first, ranked."""
    from hashlens.miners.flows import holdings_points

    latest: dict[str, dict[str, Any]] = {}
    for ticker, points in holdings_points(store, as_of).items():
        p = points[-1]
        latest[ticker] = {
            "ticker": ticker,
            "company": p.company,
            "as_of": p.day.isoformat(),
            "treasury_btc": p.btc,
            "published": p.published.isoformat(),
            "source": p.source,
            "note": p.note,
        }
    out = sorted(latest.values(), key=lambda x: -x["treasury_btc"])
    for i, x in enumerate(out, start=1):
        x["rank"] = i
    return out
