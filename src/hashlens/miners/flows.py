"""Treasury flows: what a company's BTC holdings did between two published figures, and the
sales that change implies.

.. math:: \\text{sold} \\approx \\text{produced} - (\\text{holdings}_{end} - \\text{holdings}_{start})

Holdings come from monthly reports (month-end treasury), treasury snapshots and quarterly
results (``btc_holdings``); production from monthly reports (the company's own part: cloud-mined
and hosted output belongs to customers) and quarterly results (``btc_produced``). Where the
production of part of the span is not published, it is bounded: a quarter's total less its
months published separately bounds the rest of it, and an unpublished stretch without such a
total leaves the upper bound open. Purchases, loans, pledges and transfers move holdings too, so
the result is the sales the figures imply, compared with the sales the company stated.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from hashlens.miners.dataset import Report
from hashlens.miners.models import FlowsAnswer, FlowsQuery, HoldingsPoint, TreasuryFlow, month_end, months_before
from hashlens.miners.published import LAG_RULE, month_published, result_published, snapshot_published
from hashlens.miners.storeio import stored_reports, stored_results
from hashlens.store import Store

#: Holdings and stated sales agree within the larger of this many BTC and this share of the
#: holdings (rounded disclosures such as "nearly 13,100"), as the monthly treasury check.
TOLERANCE_BTC = 25.0
TOLERANCE_SHARE = 0.02


@dataclass(frozen=True)
class Holding:
    """A company's BTC holdings on a day, as one source stated them, and when that was published."""

    ticker: str
    company: str
    day: date
    btc: float
    published: date
    source: str
    note: str | None


def company_names(store: Store) -> dict[str, str]:
    """Each ticker's company name as the stored reports, snapshots and results give it."""
    names: dict[str, str] = {}
    for f in stored_results(store):
        if f.company:
            names[f.ticker] = f.company
    for t, _, company, *_ in store.miner_treasury_rows():
        names[t] = company
    for r in stored_reports(store):
        names[r.ticker] = r.company
    return names


def holdings_points(store: Store, as_of: date | None = None) -> dict[str, list[Holding]]:
    """Every company's published holdings by day, oldest first: one figure per day (the one
    published first where several sources state the same day), only those published by
    ``as_of`` (:mod:`hashlens.miners.published`)."""
    names = company_names(store)
    found: list[Holding] = []
    for r in stored_reports(store):
        if r.treasury_btc is not None:
            found.append(
                Holding(
                    r.ticker,
                    r.company,
                    month_end(r.month),
                    r.treasury_btc,
                    month_published(r.month),
                    r.source_title,
                    r.note,
                )
            )
    for t, day, company, btc, note, src in store.miner_treasury_rows():
        found.append(Holding(t, company, day, float(btc), snapshot_published(day), src, note))
    for f in stored_results(store):
        if f.metric == "btc_holdings":
            found.append(
                Holding(
                    f.ticker,
                    names.get(f.ticker, f.ticker),
                    f.period_end,
                    f.value,
                    result_published(f.period_end, f.published)[0],
                    f"{f.period} results ({f.source_url or f.source_kind})",
                    f.note,
                )
            )
    by_day: dict[tuple[str, date], Holding] = {}
    for h in found:
        if as_of is not None and h.published > as_of:
            continue
        old = by_day.get((h.ticker, h.day))
        if old is None or h.published < old.published:
            by_day[(h.ticker, h.day)] = h
    out: dict[str, list[Holding]] = defaultdict(list)
    for key in sorted(by_day):
        out[key[0]].append(by_day[key])
    return dict(out)


def _months(first: date, last: date) -> list[date]:
    """First days of the months from ``first``'s to ``last``'s, inclusive."""
    out, m = [], date(first.year, first.month, 1)
    while m <= last:
        out.append(m)
        m = months_before(m, -1)
    return out


def own_production_btc(r: Report) -> float | None:
    """A month's production that accrues to the company [BTC]: self-mined where reported, else
    what it mined less cloud-mined and hosted output (customers')."""
    if r.btc_self_mined is not None:
        return r.btc_self_mined
    if r.btc_mined is None:
        return None
    return r.btc_mined - (r.btc_cloud_mined or 0.0) - (r.btc_hosted_mined or 0.0)


@dataclass(frozen=True)
class Production:
    low_btc: float
    high_btc: float | None
    basis: list[str]


def production_between(
    monthly: dict[date, float], quarters: list[tuple[date, date, str, float]], start: date, end: date
) -> Production:
    """BTC produced after ``start`` through ``end`` [BTC], bounded where not all of it was
    published.

    Parameters
    ----------
    monthly : own production by month (first day) [BTC]
    quarters : (first day, last day, label, BTC produced) of published periods
    start, end : the span is the days after ``start`` through ``end``

    Returns
    -------
    :class:`Production`: low and high bounds (high None where part of the span is unbounded)
    and, per part, where its figure comes from.
    """
    low, high, basis = 0.0, 0.0, []
    unbounded = False
    months = _months(start + timedelta(days=1), end)
    first_day = start + timedelta(days=1)

    def whole(m: date) -> bool:
        return m >= first_day and month_end(m) <= end

    covered: set[date] = set()
    for m in months:
        if m in monthly:
            covered.add(m)
            if whole(m):
                low += monthly[m]
                high += monthly[m]
                basis.append(f"{m:%Y-%m}: {monthly[m]:,.1f} (monthly report)")
            else:
                high += monthly[m]
                basis.append(f"{m:%Y-%m}: part of {monthly[m]:,.1f} (monthly report; span covers part of the month)")
    for q0, q1, label, btc in sorted(quarters):
        q_months = _months(q0, q1)
        rest = [m for m in q_months if m not in monthly]  # the quarter's months not published alone
        inside = [m for m in rest if m in months and m not in covered]
        if not inside:
            continue
        # The quarter's total less its months published alone is what the rest of its months
        # produced: exactly the span's part if those months all lie wholly in the span, else
        # an upper bound of it (production is never negative).
        residual = btc - sum(monthly[m] for m in q_months if m in monthly)
        covered.update(inside)
        names = f"{inside[0]:%Y-%m}" + (f"..{inside[-1]:%Y-%m}" if len(inside) > 1 else "")
        if inside == rest and all(whole(m) for m in rest):
            low += residual
            high += residual
            basis.append(f"{names}: {residual:,.1f} ({label} total less its months reported separately)")
        else:
            high += residual
            basis.append(
                f"{names}: at most {residual:,.1f} ({label} total less its months reported separately"
                + (", part of it outside the span)" if inside != rest or not all(whole(m) for m in inside) else ")")
            )
    for m in months:
        if m not in covered:
            unbounded = True
            basis.append(f"{m:%Y-%m}: not published")
    return Production(low, None if unbounded else high, basis)


def treasury_flows(store: Store, query: FlowsQuery | None = None) -> FlowsAnswer:
    """Flows between consecutive published holdings of each company (:class:`TreasuryFlow`)."""
    query = query or FlowsQuery()
    as_of = query.as_of
    points = holdings_points(store, as_of)
    reports = [r for r in stored_reports(store) if as_of is None or month_published(r.month) <= as_of]
    monthly: dict[str, dict[date, float]] = defaultdict(dict)
    sold: dict[str, dict[date, float]] = defaultdict(dict)
    for r in reports:
        own = own_production_btc(r)
        if own is not None:
            monthly[r.ticker][r.month] = own
        if r.btc_sold is not None:
            sold[r.ticker][r.month] = r.btc_sold
    quarters: dict[str, list[tuple[date, date, str, float]]] = defaultdict(list)
    for f in stored_results(store):
        if f.metric == "btc_produced" and (as_of is None or result_published(f.period_end, f.published)[0] <= as_of):
            quarters[f.ticker].append((f.period_start, f.period_end, f.period, f.value))
    wanted = _match(query.company, points)
    flows = []
    for ticker in sorted(wanted):
        pts = points[ticker]
        for a, b in itertools.pairwise(pts):
            flows.append(_flow(a, b, production_between(monthly[ticker], quarters[ticker], a.day, b.day), sold[ticker]))
    return FlowsAnswer(as_of=as_of, lag_rule=LAG_RULE, flows=flows)


def _match(company: str | None, points: dict[str, list[Holding]]) -> list[str]:
    if not company:
        return list(points)
    key = company.strip().lower()
    return [t for t, pts in points.items() if t.lower() == key or pts[-1].company.lower() == key]


def _point(h: Holding) -> HoldingsPoint:
    return HoldingsPoint(day=h.day, btc=h.btc, source=h.source, published=h.published)


def _flow(a: Holding, b: Holding, prod: Production, sold: dict[date, float]) -> TreasuryFlow:
    change = b.btc - a.btc
    sold_low = prod.low_btc - change
    sold_high = None if prod.high_btc is None else prod.high_btc - change
    stated_months = [m for m in sorted(sold) if a.day < m and month_end(m) <= b.day]
    stated = sum(sold[m] for m in stated_months) if stated_months else None
    tol = max(TOLERANCE_BTC, TOLERANCE_SHARE * max(a.btc, b.btc))
    agrees: bool | None = None
    flag = None
    if sold_high is None:
        implied = f"at least {sold_low:,.0f}"
    elif sold_high - sold_low < 0.5:
        implied = f"{sold_low:,.0f}"
    else:
        implied = f"{sold_low:,.0f}–{sold_high:,.0f}"
    if stated is not None:
        agrees = sold_low - tol <= stated and (sold_high is None or stated <= sold_high + tol)
        if not agrees:
            when = ", ".join(f"{m:%Y-%m}" for m in stated_months)
            flag = f"implied sales {implied} BTC against {stated:,.1f} BTC stated (for {when})"
    elif sold_low > tol:  # with production unbounded, a positive lower bound is still a sale
        flag = f"implied sales {implied} BTC, none stated"
    if flag is not None and b.note:
        flag += f"; the company's note: {b.note!r}"
    return TreasuryFlow(
        ticker=b.ticker,
        company=b.company,
        start=_point(a),
        end=_point(b),
        change_btc=change,
        produced_low_btc=prod.low_btc,
        produced_high_btc=prod.high_btc,
        production_basis=prod.basis,
        production_complete=prod.high_btc is not None and prod.high_btc == prod.low_btc,
        implied_sold_low_btc=sold_low,
        implied_sold_high_btc=sold_high,
        stated_sold_btc=stated,
        stated_basis=[f"{m:%Y-%m}: {sold[m]:,.1f} (monthly report)" for m in stated_months],
        direction="added" if change > 0 else "sold" if change < 0 else "unchanged",
        agrees=agrees,
        flag=flag,
    )
