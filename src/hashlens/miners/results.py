"""Quarterly results beside the chain: what each company published for a period, and what the
chain says over the same days.

For a period (a quarter or a month, dated by its first and last day) this module composes the
owners, it re-derives nothing:

- the period's difficulty segments and mean rewards are :func:`hashlens.miners.analysis.month_chain`
  for each of its months; expected production over them is :func:`hashlens.miners.expected.expected_btc`
  (the monthly method over the quarter's segments);
- the network's hashprice over the same days is :func:`hashlens.economics.daily.hashprice_days`;
- the network's electricity cost per BTC at a stated machine is
  :func:`hashlens.economics.cost.electricity_cost_per_btc` on each segment, weighted by the
  BTC the segment yields.

References
----------
.. [1] Luxor Hashrate Index, "hashprice": USD per PH/s per day, the yardstick of a miner's
   realised revenue per unit of hashrate.
.. [2] CoinShares Research, Bitcoin Mining Report (quarterly): listed miners' cash cost per BTC
   set against the network's cost of production.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.errors import HashlensError
from hashlens.miners.analysis import MonthChain, month_chain
from hashlens.miners.dataset import Report
from hashlens.miners.expected import expected_blocks, expected_btc
from hashlens.miners.flows import company_names, treasury_flows
from hashlens.miners.models import (
    CompaniesWeek,
    CostAgainstNetwork,
    ExpectedProduction,
    FactOut,
    FlowsQuery,
    MiningMargin,
    PivotPoint,
    PivotTrend,
    QuarterFact,
    QuarterResult,
    RealisedRevenue,
    ResultsAnswer,
    ResultsQuery,
    RevenueMix,
)
from hashlens.miners.published import LAG_RULE, result_published
from hashlens.miners.storeio import stored_reports, stored_results
from hashlens.miners.vocabulary import AI_HPC, METRICS, revenue_segments
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY

#: A company's reported segments count as its whole revenue mix when they add up to at least
#: this share of its reported total (the rest is "other" too small to hide a segment).
MIX_COVERAGE = 0.95
LUCK_SD = 2.0
PH_PER_EH = 1000.0


# -- the chain over a period ------------------------------------------------------------------
def period_chains(store: Store, start: date, end: date, cal: ChainClock | None = None) -> list[MonthChain]:
    """The chain over each month from ``start``'s to ``end``'s (a period's months)."""
    cal = cal or ChainClock.from_store(store)
    out, m = [], date(start.year, start.month, 1)
    while m <= end:
        out.append(month_chain(store, m, cal))
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def expected_over(hashrate_ehs: float, chains: Sequence[MonthChain]) -> tuple[float, float, float]:
    """Expected BTC, its Poisson standard deviation [BTC] and the expected blocks of a constant
    hashrate [EH/s] over the months' segments, each month at its own mean reward."""
    btc = sum(expected_btc(hashrate_ehs, c.segments, c.reward_btc)[0] for c in chains)
    var = sum(expected_blocks(hashrate_ehs, c.segments) * c.reward_btc**2 for c in chains)
    blocks = sum(expected_blocks(hashrate_ehs, c.segments) for c in chains)
    return btc, math.sqrt(var), blocks


def period_days(chains: Sequence[MonthChain]) -> float:
    return sum(t for c in chains for t, _ in c.segments) / SECONDS_PER_DAY


def network_btc_per_ph_day(chains: Sequence[MonthChain]) -> float:
    """The BTC 1 PH/s mines on average per day over the months [BTC/PH/day]."""
    return expected_over(1 / PH_PER_EH, chains)[0] / period_days(chains)


def electricity_cost_over(
    chains: Sequence[MonthChain], power_price_usd_per_kwh: float, efficiency_j_per_th: float
) -> float:
    """The network's electricity cost per BTC over the months at one machine [USD/BTC].

    .. math:: c = \\frac{\\sum_k w_k \\, c(D_k, r_k)}{\\sum_k w_k}, \\qquad w_k = \\frac{t_k \\, r_k}{D_k}

    with c(D, r) :func:`hashlens.economics.cost.electricity_cost_per_btc` and w_k the BTC that
    segment k (t_k seconds at difficulty D_k, the month's mean reward r_k) yields per unit of
    hashrate: total power cost over total BTC.
    """
    from hashlens.economics.cost import electricity_cost_per_btc

    w, wc = 0.0, 0.0
    for c in chains:
        for t, d in c.segments:
            weight = t * c.reward_btc / d
            w += weight
            wc += weight * float(
                electricity_cost_per_btc(power_price_usd_per_kwh, efficiency_j_per_th, d, c.reward_btc)
            )
    return wc / w


def network_hashprice_usd(store: Store, start: date, end: date, cal: ChainClock) -> tuple[float | None, str]:
    """Mean of the network's daily USD hashprice over the days [USD/PH/day], and its basis."""
    from hashlens.economics.daily import hashprice_days

    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows = hashprice_days(store, days, clock=cal)
    usd = [r.usd_per_ph_day for r in rows if r.usd_per_ph_day is not None]
    no_fees = sum(not r.fee_source.startswith("trailing") for r in rows)
    basis = f"mean of {len(usd)} of {len(rows)} days' hashprice (economics.daily, priced at 24:00 UTC)"
    if no_fees:
        basis += f"; {no_fees} day(s) without stored fees count the subsidy only"
    return (float(np.mean(usd)) if usd else None), basis


# -- one period ---------------------------------------------------------------------------------
def revenue_mix(facts: dict[str, QuarterFact]) -> RevenueMix | None:
    """Revenue by segment and the AI/HPC share: over the reported total, or over the sum of
    the segments where no total is reported and at least two are. The share is stated where
    an AI/HPC segment is reported or the segments cover :data:`MIX_COVERAGE` of the total."""
    seg_of = revenue_segments()
    segments = {name: f.value for name, f in facts.items() if name in seg_of}
    total_fact = facts.get("revenue_total")
    if total_fact is not None:
        total, basis = total_fact.value, "reported total"
    elif len(segments) >= 2:
        total, basis = sum(segments.values()), "sum of the reported segments"
    else:
        return None
    if not segments or total <= 0:
        return None
    ai = sum(v for k, v in segments.items() if seg_of[k] == AI_HPC)
    grouped: dict[str, float] = {}
    for k, v in segments.items():
        grouped[seg_of[k]] = grouped.get(seg_of[k], 0.0) + v
    covered = sum(segments.values()) / total
    known = ai > 0 or covered >= MIX_COVERAGE
    mining = segments.get("revenue_mining")
    return RevenueMix(
        total_usd_m=total,
        total_basis=basis,
        segments_usd_m=segments,
        by_segment_usd_m=grouped,
        ai_hpc_usd_m=ai,
        ai_hpc_share=ai / total if known else None,
        mining_share=mining / total if mining is not None else None,
        unidentified_usd_m=round(total - sum(segments.values()), 9),
    )


def period_hashrate(
    facts: dict[str, QuarterFact], monthly: dict[date, Report], start: date, end: date
) -> tuple[float, str] | None:
    """The company's hashrate over the period [EH/s] and its basis, best first: the reported
    average; the mean of its monthly reports' averages (every month reported); the operating
    hashrate at the period's end; the installed hashrate at its end."""
    if (f := facts.get("avg_operational_hashrate")) is not None:
        return f.value, "average operating (reported for the period)"
    months, m = [], date(start.year, start.month, 1)
    while m <= end:
        months.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    avgs = [monthly[m].hashrate_avg_ehs for m in months if m in monthly]
    if len(avgs) == len(months) and all(a is not None for a in avgs):
        return float(np.mean([a for a in avgs if a is not None])), "average operating (mean of the monthly reports)"
    if (f := facts.get("total_hashrate")) is not None:
        return f.value, "operating at the period's end (own and leased)"
    if (f := facts.get("energized_hashrate")) is not None:
        return f.value, "installed at the period's end"
    return None


def _production(reported: float, h: float, basis: str, chains: Sequence[MonthChain]) -> ExpectedProduction:
    exp, sd, blocks = expected_over(h, chains)
    ratio = reported / exp
    no_fees = [c.month for c in chains if c.blocks_in_month is None]
    notes = []
    if no_fees:
        notes.append(
            f"fees are not stored for {', '.join(no_fees)}: the expectation counts the subsidy only there, so it is "
            f"a lower bound and {ratio:.2f} an upper bound of the ratio"
        )
    if basis.startswith("installed"):
        notes.append(f"installed hashrate: not all of it need have run, so {ratio:.2f} is a lower bound")
    elif basis.startswith("operating at the period's end"):
        notes.append("period-end hashrate: if the fleet grew during the period its average was lower, the ratio higher")
    else:
        z = (reported - exp) / sd if sd > 0 else 0.0
        notes.append(
            f"{reported - exp:+,.0f} BTC against the expectation, {abs(z):.1f} standard deviations of block-finding luck"
            + (" (within luck)" if abs(z) <= LUCK_SD else "")
        )
    if any(c.estimated_boundaries for c in chains):
        notes.append("some period boundaries in the span are estimated, not stored")
    return ExpectedProduction(
        reported_btc=reported,
        hashrate_ehs=h,
        hashrate_basis=basis,
        expected_btc=exp,
        expected_sd_btc=sd,
        expected_blocks=blocks,
        ratio=ratio,
        reward_basis=[f"{c.month}: {c.reward_btc:.4f} BTC/block, {c.reward_source}" for c in chains],
        estimated_boundaries=any(c.estimated_boundaries for c in chains),
        fees_known=not no_fees,
        notes=notes,
    )


def _costs(
    facts: dict[str, QuarterFact], chains: Sequence[MonthChain], query: ResultsQuery
) -> list[CostAgainstNetwork]:
    out: list[CostAgainstNetwork] = []
    if not any(METRICS[n].kind == "unit_cost" and METRICS[n].unit == "USD/BTC" for n in facts):
        return out
    p, e = query.power_price_usd_per_kwh, query.efficiency_j_per_th
    network = electricity_cost_over(chains, p, e)
    fees = all(c.blocks_in_month is not None for c in chains)
    for name, f in facts.items():
        m = METRICS[name]
        if m.kind != "unit_cost" or m.unit != "USD/BTC":
            continue
        out.append(
            CostAgainstNetwork(
                metric=name,
                definition=m.description + (f" ({f.note})" if f.note else ""),
                basis=m.basis or "unstated",
                reported_usd_per_btc=f.value,
                network_electricity_usd_per_btc=network,
                efficiency_j_per_th=e,
                power_price_usd_per_kwh=p,
                ratio=f.value / network if network > 0 else float("inf"),
                implied_power_price_usd_per_kwh=p * f.value / network if network > 0 and p > 0 else None,
                network_btc_per_ph_day=network_btc_per_ph_day(chains),
                fees_known=fees,
            )
        )
    return out


def _margin(facts: dict[str, QuarterFact]) -> MiningMargin | None:
    rev, cost = facts.get("revenue_mining"), facts.get("cost_mining")
    if rev is None or cost is None or rev.value <= 0:
        return None
    dep = facts.get("depreciation_mining_rigs")
    cash = cost.value - dep.value if dep is not None and dep.value <= cost.value else None
    return MiningMargin(
        revenue_mining_usd_m=rev.value,
        cost_mining_usd_m=cost.value,
        margin_usd_m=rev.value - cost.value,
        cost_to_revenue=cost.value / rev.value,
        depreciation_usd_m=dep.value if dep is not None else None,
        cash_cost_usd_m=cash,
        cash_margin_usd_m=rev.value - cash if cash is not None else None,
    )


def quarter_result(
    store: Store,
    facts: list[QuarterFact],
    query: ResultsQuery,
    cal: ChainClock | None,
    monthly: dict[date, Report],
    company: str,
) -> QuarterResult:
    """One company's period: its facts and, where they allow, the analytics beside the chain
    (none without a clock: the facts and the revenue mix alone)."""
    f0 = facts[0]
    start, end = f0.period_start, f0.period_end
    by_metric = {f.metric: f for f in facts}
    published = [result_published(f.period_end, f.published) for f in facts]
    first = min(published)
    notes: list[str] = []
    chains: list[MonthChain] = []
    if cal is not None:
        try:
            chains = period_chains(store, start, end, cal)
        except HashlensError as exc:
            notes.append(f"no chain comparison: {exc}")
    production = realised = None
    costs: list[CostAgainstNetwork] = []
    hr = period_hashrate(by_metric, monthly, start, end)
    if chains and cal is not None:
        produced = by_metric.get("btc_produced")
        if produced is not None and hr is not None and hr[0] > 0:
            production = _production(produced.value, hr[0], hr[1], chains)
        rev = by_metric.get("revenue_mining")
        if rev is not None and hr is not None and hr[0] > 0:
            days = (end - start).days + 1
            net, basis = network_hashprice_usd(store, start, end, cal)
            real = rev.value * 1e6 / (hr[0] * PH_PER_EH * days)
            realised = RealisedRevenue(
                revenue_mining_usd_m=rev.value,
                hashrate_ehs=hr[0],
                hashrate_basis=hr[1],
                days=days,
                realised_usd_per_ph_day=real,
                network_usd_per_ph_day=net,
                ratio=real / net if net else None,
                network_basis=basis,
            )
        costs = _costs(by_metric, chains, query)
    return QuarterResult(
        ticker=f0.ticker,
        company=company,
        period=f0.period,
        period_start=start,
        period_end=end,
        days=(end - start).days + 1,
        published=first[0],
        published_basis=first[1],
        facts=[
            FactOut(
                metric=f.metric,
                value=f.value,
                unit=f.unit,
                description=METRICS[f.metric].description,
                source=f.source_url or f.source_kind or "",
                note=f.note,
            )
            for f in facts
        ],
        revenue_mix=revenue_mix(by_metric),
        realised=realised,
        production=production,
        costs=costs,
        mining_margin=_margin(by_metric),
        notes=notes,
    )


def _matches(text: str | None, *candidates: str) -> bool:
    if not text:
        return True
    key = " ".join(text.split()).lower()
    return any(key == " ".join(c.split()).lower() for c in candidates)


def quarterly_results(
    store: Store,
    query: ResultsQuery | None = None,
    chain: bool = True,
    only: set[tuple[str, date, date]] | None = None,
    clock: ChainClock | None = None,
) -> ResultsAnswer:
    """Every stored period's results (filtered by ``query``: company, quarter, published by
    ``as_of``), oldest period first, each with the analytics beside the chain (without
    ``chain``: the facts and the revenue mix alone); ``only``: just these (ticker, first day,
    last day) periods."""
    query = query or ResultsQuery()
    names = company_names(store)
    groups: dict[tuple[str, date, date], list[QuarterFact]] = defaultdict(list)
    for f in stored_results(store):
        if query.as_of is not None and result_published(f.period_end, f.published)[0] > query.as_of:
            continue
        company = f.company or names.get(f.ticker, f.ticker)
        if not _matches(query.company, f.ticker, company):
            continue
        if not _matches(query.quarter, f.period, f.period_end.isoformat()):
            continue
        if only is None or (f.ticker, f.period_start, f.period_end) in only:
            groups[(f.ticker, f.period_start, f.period_end)].append(f)
    if not groups and only is None and (query.company or query.quarter):
        asked = " ".join(x for x in (query.company, query.quarter) if x)
        raise HashlensError(
            f"no stored results for {asked}"
            + (f" published by {query.as_of}" if query.as_of else "")
            + ": see `hashlens miners results` for what is stored"
        )
    monthly: dict[str, dict[date, Report]] = defaultdict(dict)
    for r in stored_reports(store):
        monthly[r.ticker][r.month] = r
    cal = (clock or ChainClock.from_store(store)) if chain else None
    out = [
        quarter_result(store, facts, query, cal, monthly[key[0]], facts[0].company or names.get(key[0], key[0]))
        for key, facts in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0]))
    ]
    return ResultsAnswer(
        as_of=query.as_of,
        lag_rule=LAG_RULE,
        efficiency_j_per_th=query.efficiency_j_per_th,
        power_price_usd_per_kwh=query.power_price_usd_per_kwh,
        results=out,
    )


def pivot_trends(results: Sequence[QuarterResult]) -> list[PivotTrend]:
    """Each company's latest AI/HPC share of revenue and the one before it, largest share first."""
    points: dict[str, list[PivotPoint]] = defaultdict(list)
    for r in results:
        mix = r.revenue_mix
        if mix is None or mix.ai_hpc_share is None:
            continue
        points[r.ticker].append(
            PivotPoint(
                ticker=r.ticker,
                company=r.company,
                period=r.period,
                period_end=r.period_end,
                ai_hpc_usd_m=mix.ai_hpc_usd_m,
                total_usd_m=mix.total_usd_m,
                ai_hpc_share=mix.ai_hpc_share,
            )
        )
    out = []
    for ticker, pts in points.items():
        pts.sort(key=lambda p: p.period_end)
        latest, previous = pts[-1], (pts[-2] if len(pts) > 1 else None)
        out.append(
            PivotTrend(
                ticker=ticker,
                company=latest.company,
                latest=latest,
                previous=previous,
                change_points=100 * (latest.ai_hpc_share - previous.ai_hpc_share) if previous else None,
            )
        )
    return sorted(out, key=lambda t: (-t.latest.ai_hpc_share, t.ticker))


#: The report's week: the as-of day and the six before it.
WEEK_DAYS = 7


def companies_week(
    store: Store, as_of: date, query: ResultsQuery | None = None, clock: ChainClock | None = None
) -> CompaniesWeek:
    """The companies' week as of ``as_of``: results first published in the seven days up to
    it, treasury changes that became known in them, and every company's AI/HPC share with the
    one before it — counting only what was published by ``as_of``."""
    query = (query or ResultsQuery()).model_copy(update={"as_of": as_of})
    week_start = as_of - timedelta(days=WEEK_DAYS - 1)
    known = quarterly_results(store, query, chain=False).results  # the pivot needs no chain
    week = {(r.ticker, r.period_start, r.period_end) for r in known if r.published >= week_start}
    results = quarterly_results(store, query, only=week, clock=clock).results if week else []
    flows = treasury_flows(store, FlowsQuery(as_of=as_of)).flows
    return CompaniesWeek(
        as_of=as_of,
        week_start=week_start,
        lag_rule=LAG_RULE,
        results=results,
        treasury_changes=[f for f in flows if max(f.start.published, f.end.published) >= week_start],
        pivot=pivot_trends(known),
    )
