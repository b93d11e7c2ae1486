"""The report's sections on the listed companies: the month's production beside what each
company's hashrate should have mined, the treasuries, and the week's results, treasury changes
and AI/HPC pivot (:func:`hashlens.miners.results.companies_week`). Each renders figures already
computed in :class:`hashlens.weekly.WeeklyFigures`."""

from __future__ import annotations

from datetime import date
from typing import Any

from hashlens.miners.published import LAG_RULE
from hashlens.report.page import Page, fmt
from hashlens.weekly.figures import WeeklyFigures

__all__ = ["companies_section", "miners_section"]


def miners_section(fig: WeeklyFigures, page: Page) -> None:
    m = fig.miners
    if m is None:
        page.md += ["## Listed miners", "", f"n/a — {fig.missing.get('miners', 'no data')}", ""]
        return
    rows = m.rows
    src = page.notes.cite(
        f"Companies' monthly production updates ({rows[0]['source']} and peers). Expected BTC = hashrate · Σ seconds in "
        "each period / (difficulty · 2^32) · mean block reward of the month "
        f"({rows[0]['chain']['reward_source']}) (hashlens.miners.expected)."
    )
    page.md += [
        f"## Listed miners, {date.fromisoformat(m.month + '-01'):%B %Y}",
        "",
        f"Production in descending order, with what each company's reported hashrate should have mined{src}:",
        "",
        "| # | company | BTC mined | hashrate EH/s | expected BTC | reported/expected | notes |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        page.md.append(
            f"| {r.get('rank_by_production', '')} | {r['company']} ({r['ticker']}) | {fmt(r['reported_btc'], 1)} | "
            f"{fmt(r['hashrate_ehs'], 1)} ({r['hashrate_basis']}) | {fmt(r['expected_btc'], 0)} | "
            f"{fmt(r['ratio'], 2)} | {'; '.join(r['flags'])} |"
        )
    src_t = page.notes.cite(f"Latest treasury each company published on or before {fig.as_of}. {LAG_RULE}")
    page.md += [
        "",
        f"Largest bitcoin treasuries held by listed miners{src_t}:",
        "",
        "| # | company | BTC | as of |",
        "|---:|---|---:|---|",
    ]
    page.md += [
        f"| {t['rank']} | {t['company']} ({t['ticker']}) | {t['treasury_btc']:,.0f} | {t['as_of']} |"
        for t in m.treasuries
    ]
    page.md.append("")


def _usd_m(x: float | None) -> str:
    if x is None:
        return ""
    return f"−${-x:,.1f} m" if x < 0 else f"${x:,.1f} m"


def _fact(r: Any, metric: str) -> float | None:
    return next((f.value for f in r.facts if f.metric == metric), None)


def _span(lo: float, hi: float | None) -> str:
    if hi is None:
        return f"at least {lo:,.0f}"
    return f"{lo:,.0f}" if abs(hi - lo) < 0.5 else f"{lo:,.0f}–{hi:,.0f}"


def companies_section(fig: WeeklyFigures, page: Page) -> None:
    """Results published in the week, treasury changes and the AI/HPC pivot
    (:func:`hashlens.miners.results.companies_week`)."""
    page.md += ["## The companies: results, treasuries, the AI pivot", ""]
    c = fig.companies
    if c is None:
        page.md += [f"n/a — {fig.missing.get('companies', 'no data')}", ""]
        return
    lag = page.notes.cite(f"{c.lag_rule} Only figures published by {c.as_of} count.")
    week = f"the week {c.week_start} to {c.as_of}"
    if not c.results:
        page.md += [f"No quarterly results were published in {week}{lag}.", ""]
    else:
        src = page.notes.cite(
            "Companies' results as stored, each figure with its source (`hashlens miners results`); the chain's "
            "figures over the same days from hashlens.miners.results."
        )
        page.md += [
            f"Results published in {week}{lag}{src}:",
            "",
            "| company | period (ended) | revenue | mining | AI/HPC | operating income | net income | BTC held |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in c.results:
            mix = r.revenue_mix
            ai = (
                ""
                if mix is None or mix.ai_hpc_share is None
                else f"{_usd_m(mix.ai_hpc_usd_m)} ({mix.ai_hpc_share:.1%})"
            )
            held = _fact(r, "btc_holdings")
            page.md.append(
                f"| {r.company} ({r.ticker}) | {r.period} ({r.period_end}) | {_usd_m(_fact(r, 'revenue_total'))} | "
                f"{_usd_m(_fact(r, 'revenue_mining'))} | {ai} | {_usd_m(_fact(r, 'operating_income'))} | "
                f"{_usd_m(_fact(r, 'net_income'))} | {'' if held is None else f'{held:,.0f}'} |"
            )
        page.md.append("")
        for r in c.results:
            page.md += [f"- {line}" for line in _result_lines(r)]
        page.md.append("")
    if c.treasury_changes:
        src_f = page.notes.cite(
            "Sold ≈ produced − change in holdings between two published holdings figures (monthly reports, treasury "
            "snapshots, quarterly results); production the company's own (cloud-mined output is its customers'); "
            "where part of a span's production is unpublished it is bounded by a quarter's total less its months "
            "reported separately (hashlens.miners.flows)."
        )
        fell = [f for f in c.treasury_changes if f.direction == "sold"]
        rose = [f for f in c.treasury_changes if f.direction == "added"]
        summary = []
        if fell:
            summary.append("holdings fell at " + ", ".join(f"{f.company} ({f.change_btc:+,.0f} BTC)" for f in fell))
        if rose:
            summary.append("rose at " + ", ".join(f"{f.company} ({f.change_btc:+,.0f} BTC)" for f in rose))
        page.md += [f"Treasury changes that became known in {week}{src_f}: {'; '.join(summary)}.", ""]
        for f in sorted(c.treasury_changes, key=lambda f: f.change_btc):
            page.md.append(f"- {_flow_line(f)}")
        page.md.append("")
    else:
        page.md += [f"No treasury changes became known in {week}.", ""]
    if c.pivot:
        src_p = page.notes.cite(
            "AI/HPC share = AI cloud, HPC lease and HPC colocation revenue ÷ total revenue (the reported total, else "
            "the sum of the reported segments), stated where such a segment is reported or the segments cover 95 % of "
            "the total (hashlens.miners.results.revenue_mix)."
        )
        parts = [
            f"{t.company} {t.latest.ai_hpc_share:.1%} ({t.latest.period}, to {t.latest.period_end})" for t in c.pivot
        ]
        page.md.append(
            f"The pivot — AI/HPC share of revenue in each company's latest published split{src_p}: "
            + "; ".join(parts)
            + "."
        )
        trends = [t for t in c.pivot if t.previous is not None and t.change_points is not None]
        if trends:
            page.md.append(
                "Against the quarter before: "
                + "; ".join(
                    f"{t.company} {'up' if (t.change_points or 0) > 0 else 'down' if (t.change_points or 0) < 0 else 'unchanged'} "
                    f"from {t.previous.ai_hpc_share:.1%} in {t.previous.period} ({t.change_points:+.1f} points)"
                    for t in trends
                    if t.previous is not None and t.change_points is not None
                )
                + "."
            )
        else:
            page.md.append("No company has two published quarters with a split yet, so no trend is stated.")
        page.md.append("")


def _result_lines(r: Any) -> list[str]:
    """What the chain says beside one company's period, one sentence per analytic."""
    out = []
    m = r.mining_margin
    if m is not None:
        dep = (
            f", including ${m.depreciation_usd_m:,.1f} m depreciation of its machines"
            if m.depreciation_usd_m is not None and m.cash_cost_usd_m is not None
            else ""
        )
        verb = "exceeded" if m.margin_usd_m < 0 else "was below"
        text = (
            f"{r.company}'s mining cost ({_usd_m(m.cost_mining_usd_m)}{dep}) {verb} its mining revenue "
            f"({_usd_m(m.revenue_mining_usd_m)}) by ${abs(m.margin_usd_m):,.1f} m ({m.cost_to_revenue:.2f}× revenue)"
        )
        if m.cash_margin_usd_m is not None:
            cash = "earned" if m.cash_margin_usd_m >= 0 else "lost"
            text += f"; before depreciation its mining {cash} ${abs(m.cash_margin_usd_m):,.1f} m"
        out.append(text + ".")
    for k in r.costs:
        out.append(
            f"{r.company}'s {k.metric.replace('_', ' ')} (its own definition: {k.definition}) of ${k.reported_usd_per_btc:,.0f} "
            f"is {k.ratio:.2f}× the network's electricity cost over the period at {k.efficiency_j_per_th:g} J/TH and "
            f"${k.power_price_usd_per_kwh:g}/kWh (${k.network_electricity_usd_per_btc:,.0f} per BTC)."
        )
    p = r.production
    if p is not None:
        out.append(
            f"{r.company} reported {p.reported_btc:,.0f} BTC; its {p.hashrate_basis} hashrate of {p.hashrate_ehs:g} EH/s "
            f"should have mined {p.expected_btc:,.0f} ± {p.expected_sd_btc:,.0f} over the period's difficulty "
            f"(ratio {p.ratio:.2f}; {'; '.join(p.notes)})."
        )
    q = r.realised
    if q is not None and q.network_usd_per_ph_day is not None and q.ratio is not None:
        out.append(
            f"{r.company}'s mining revenue came to ${q.realised_usd_per_ph_day:,.2f} per PH/s per day ({q.hashrate_basis} "
            f"hashrate) against the network's ${q.network_usd_per_ph_day:,.2f} ({q.ratio:.2f}×)."
        )
    return out


def _flow_line(f: Any) -> str:
    text = (
        f"{f.company}: {f.start.btc:,.0f} → {f.end.btc:,.0f} BTC ({f.change_btc:+,.0f}) from {f.start.day} to "
        f"{f.end.day}"
    )
    if f.produced_high_btc is None and f.produced_low_btc == 0:
        text += "; production over the span is not published, so its sales cannot be inferred"
    else:
        lo, hi = f.implied_sold_low_btc, f.implied_sold_high_btc
        produced = _span(f.produced_low_btc, f.produced_high_btc)
        if hi is not None and hi < 0:
            text += f"; it produced {produced} BTC, so it bought or received {_span(-hi, -lo)} BTC"
        else:
            text += f"; it produced {produced} BTC, so it sold {_span(lo, hi)} BTC"
    if f.stated_sold_btc is not None:
        text += (
            f" (stated: {f.stated_sold_btc:,.1f} BTC for " + ", ".join(b.split(":")[0] for b in f.stated_basis) + ")"
        )
    if f.flag:
        text += f" — {f.flag}"
    return text + "."
