"""The weekly report: words and charts over :class:`hashlens.weekly.WeeklyFigures`.

Each section is one function from its part of the figures to Markdown lines (and a chart);
none computes a figure. Every number carries a footnote naming its data and method. The companies'
sections live in :mod:`hashlens.report.companies`; the page they write into in :mod:`hashlens.report.page`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from hashlens.report import charts
from hashlens.report.companies import companies_section, miners_section
from hashlens.report.page import Page, fmt, source_suffix
from hashlens.store import Store
from hashlens.units import HS_PER_EHS
from hashlens.weekly import WeeklyFigures


@dataclass
class Report:
    markdown_path: Path
    html_path: Path
    charts: list[Path]
    figures: WeeklyFigures

    @cached_property
    def data(self) -> dict[str, Any]:
        """The figures as plain data (:meth:`WeeklyFigures.to_json`), made when first asked for:
        writing the report does not need them."""
        return self.figures.to_json()


def build_report(
    store: Store,
    out_dir: Path,
    as_of: date | None = None,
    price: float | None = None,
    paths: int = 20_000,
    seed: int = 1,
) -> Report:
    """Compute the week's figures and write report.md, report.html and charts/."""
    fig = WeeklyFigures.compute(store, as_of, price, paths, seed)
    return write_report(fig, out_dir)


def write_report(fig: WeeklyFigures, out_dir: Path) -> Report:
    out_dir.mkdir(parents=True, exist_ok=True)
    page = Page(out_dir / "charts")
    page.chart_dir.mkdir(exist_ok=True)
    header(fig, page)
    sections: list[Callable[[WeeklyFigures, Page], None]] = [
        difficulty_section,
        hashrate_section,
        running_period_section,
        hashprice_section,
        cost_section,
        machines_section,
        miners_section,
        companies_section,
        pools_section,
        halving_section,
        outlook_section,
    ]
    for section in sections:
        section(fig, page)
    page.md += ["---", "", page.notes.markdown(), ""]
    text = "\n".join(page.md)
    md_path = out_dir / "report.md"
    md_path.write_text(text)
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(text, out_dir, f"hashlens weekly mining report — {fig.as_of}"))
    return Report(md_path, html_path, page.charts, fig)


# -- sections ---------------------------------------------------------------------------------
def header(fig: WeeklyFigures, page: Page) -> None:
    blocks = (
        f"per-block data to {fig.per_block_until[:16].replace('T', ' ')} UTC"
        if fig.per_block_until
        else "no per-block data (period starts only)"
    )
    page.md += [
        "# hashlens weekly mining report",
        "",
        f"*As of {fig.as_of} (24:00 UTC). Generated {fig.generated} from the store `{Path(fig.store).name}`; "
        f"{blocks}.*",
        "",
    ]
    page.md += [f"*{n}*" for n in fig.notes]
    if fig.notes:
        page.md.append("")


def difficulty_section(fig: WeeklyFigures, page: Page) -> None:
    d = fig.difficulty
    assert d is not None
    a = d.latest

    def ranked(r: int, total: int, what: str) -> str:
        return f"the largest {what} of {total}" if r == 1 else f"the {_ordinal(r)} largest {what} of {total}"

    if a.rank_among_drops:
        rank = ranked(a.rank_among_drops, d.drops_total, "drop")
    elif a.rank_among_rises:
        rank = ranked(a.rank_among_rises, d.rises_total, "rise")
    else:
        rank = "no change"
    n = abs(a.streak)
    streak = f"{n} {'drop' if a.streak < 0 else 'rise'}{'s' if n != 1 else ''} in a row" if n else "no streak"
    if d.same_sign_count > n:  # a run with one break in it, as the press counts runs
        streak += f" ({d.same_sign_count} of the last {d.same_sign_window} {'fell' if a.streak < 0 else 'rose'})"
    if a.change_pct > 0:
        low = "not a new low"
    elif a.lowest_since_height is not None:
        low = f"the lowest since the period from height {a.lowest_since_height:,} ({(a.lowest_since_time or '?')[:10]})"
    else:
        low = "the lowest on record"
    src_bits = page.notes.cite(
        f"Compact bits of each period from {a.source}; difficulty as Bitcoin Core's GetDifficulty computes it; "
        "change = old target / new target − 1 (hashlens.chain.adjustments)."
    )
    src_rank = page.notes.cite(
        f"Ranked among all {d.adjustments_total} adjustments since 2009 up to {fig.as_of}; streak = consecutive "
        "adjustments of the same sign ('k of the last n': the longest window back from this adjustment with at most one "
        "of the other sign, hashlens.chain.adjustments.same_sign_of_last); 'lowest since' = the last earlier period "
        "with difficulty at or below this one."
    )
    src_time = page.notes.cite(
        "Period start times: stored block times, else implied by the retarget (the timespan two consecutive "
        "periods' bits encode, plus one block interval), else estimated at 600 s per block (hashlens.chain.clock)."
    )
    when = f"{(a.time or 'unknown')[:16].replace('T', ' ')} UTC{source_suffix(a.time_source)}"
    page.md += [
        "## Difficulty",
        "",
        f"The latest adjustment, at height {a.height:,} on {when}{src_time}, moved difficulty "
        f"**{a.change_pct:+.2f} %** to **{_difficulty_text(a.difficulty)}**{src_bits}: {rank}, {streak}, {low}{src_rank}.",
    ]
    if a.largest_drop_since_height and a.change_pct < 0:
        since = f" ({a.largest_drop_since_time[:10]})" if a.largest_drop_since_time else ""
        page.md.append(f"It is the largest drop since the adjustment at height {a.largest_drop_since_height:,}{since}.")
    page.chart(
        charts.adjustments_chart(
            page.chart_dir / "adjustments.png",
            [str(r.height) for r in d.recent],
            [r.change_pct for r in d.recent],
            "Last 26 difficulty adjustments",
        ),
        "Last 26 difficulty adjustments",
    )


def hashrate_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Hashrate", ""]
    h = fig.hashrate
    if h is None:
        page.md += [f"n/a — {fig.missing.get('hashrate', 'no data')}", ""]
        return
    src = page.notes.cite(
        f"{h.method} (Bitcoin Core's getnetworkhashps: chain work over time; hashlens.chain.hashrate)."
    )
    rp = fig.running_period
    assert fig.difficulty is not None
    latest = fig.difficulty.latest
    recent = fig.difficulty.recent
    # the last completed period: from the adjustment before the latest to the latest's block below
    prev_ehs = recent[-1].implied_hashrate_ehs if len(recent) >= 2 else None
    prev_start = recent[-2].height if len(recent) >= 2 else None
    if rp is not None and rp.hashrate_ehs is not None and rp.tip_height is not None:
        # the running period's own blocks, then the last completed period's mean beside it
        src_rp = page.notes.cite(
            f"Chain work over the running period's stored blocks, heights {rp.start_height:,} to {rp.tip_height:,} "
            "(getnetworkhashps over them; 95 % interval from the Gamma law of their intervals; "
            "hashlens.weekly.asof.running_period_on)."
        )
        line = (
            f"In the running period — its {rp.blocks_in_period:,} blocks from height {rp.start_height:,} to "
            f"{rp.tip_height:,}, mined by the end of {fig.as_of} — the network ran at "
            f"**{_hashrate_text(rp.hashrate_ehs)}** (95 %: {_hashrate_text(rp.hashrate_low_ehs or 0.0)} – "
            f"{_hashrate_text(rp.hashrate_high_ehs or 0.0)}){src_rp}"
        )
        if prev_ehs is not None and prev_start is not None:
            src_prev = page.notes.cite(
                f"The period from height {prev_start:,} to {latest.height - 1:,}: its work over its "
                "duration from its start times (hashlens.chain.hashrate.implied_hashrate_ehs)."
            )
            # Compared as stated: two rates that print alike are "the same as" each other.
            same = _hashrate_text(rp.hashrate_ehs) == _hashrate_text(prev_ehs)
            side = "the same as" if same else "above" if rp.hashrate_ehs > prev_ehs else "below"
            line += (
                f", {side} the last completed period's mean of {_hashrate_text(prev_ehs)} (heights "
                f"{prev_start:,} to {latest.height - 1:,}){src_prev}"
            )
        page.md.append(line + ".")
        page.md.append(
            f"Over heights {h.start_height:,} to {h.end_height:,} ({h.method}) it ran at "
            f"{_hashrate_text(h.hashrate_ehs)} (95 %: {_hashrate_text(h.low_ehs)} – {_hashrate_text(h.high_ehs)}){src}."
        )
    else:
        page.md.append(
            f"Over heights {h.start_height:,} to {h.end_height:,}, the last window the data allow by the end of "
            f"{fig.as_of} ({h.method}), the network ran at **{_hashrate_text(h.hashrate_ehs)}** "
            f"(95 %: {_hashrate_text(h.low_ehs)} – {_hashrate_text(h.high_ehs)}){src}."
        )
    assert fig.difficulty is not None
    pts = [
        (date.fromisoformat(r.time[:10]), r.implied_hashrate_ehs)
        for r in fig.difficulty.recent
        if r.time and r.implied_hashrate_ehs
    ]
    if len(pts) > 1:
        page.chart(
            charts.line_chart(
                page.chart_dir / "hashrate.png",
                "Hashrate each period implied (work / mean interval)",
                "EH/s",
                [("implied", [x for x, _ in pts], [y for _, y in pts])],
            ),
            "Network hashrate by period",
        )


def running_period_section(fig: WeeklyFigures, page: Page) -> None:
    rp = fig.running_period
    assert rp is not None
    page.md += ["## Next adjustment", ""]
    start = f"{(rp.start_time or 'unknown')[:16].replace('T', ' ')} UTC{source_suffix(rp.start_time_source)}"
    e = rp.estimate
    if e is None:
        page.md += [
            f"The period in force began at height {rp.start_height:,} ({start}); the next adjustment comes at "
            f"height {rp.next_retarget_height:,}. No estimate: {rp.note}.",
            "",
        ]
        return
    q = e.change_pct
    src = page.notes.cite(f"{e.method} (hashlens.sim.forecast: the outlook's first row below, the same numbers).")
    known = (
        f"{e.blocks_in_period:,} of 2,016 blocks are in"
        if e.basis == "per-block"
        else "its blocks are not stored for the day, so the estimate knows its start and that it had not ended"
    )
    page.md += [
        f"The running period began at height {rp.start_height:,} ({start}); {known}. hashlens expects the "
        f"adjustment at height {e.height:,} to be **{q.p50:+.2f} %** (90 %: {q.p05:+.2f} to {q.p95:+.2f}; "
        f"P(drop) = {e.p_drop:.0%}) around {e.retarget_time_median[:16].replace('T', ' ')} UTC{src}.",
        "",
    ]
    m = rp.mempool
    if m is not None:
        ref = page.notes.cite(
            "mempool.space's difficulty-adjustment method (its calcDifficultyAdjustment, reproduced exactly: the "
            "running period's mean block time so far, a point with no range; hashlens.chain.estimate)."
        )
        page.md += [
            f"Another method, for reference: mempool.space's gives {m.change_pct:+.2f} % around "
            f"{m.estimated_retarget_time[:16].replace('T', ' ')} UTC{ref}.",
            "",
        ]


def hashprice_section(fig: WeeklyFigures, page: Page) -> None:
    hp = fig.hashprice
    assert hp is not None
    t = hp.today
    src = page.notes.cite(
        "Hashprice (Luxor's definition) = (subsidy + fees) · 86,400 · 10^15 / (difficulty · 2^32) BTC per PH/s per "
        f"day, taken at {hp.price_instant}; fees: {t.fee_source}; price: {t.price_source} "
        "(hashlens.economics.hashprice)."
    )
    usd = (
        f"**${t.usd_per_ph_day:,.2f}/PH/day** at ${t.price_usd:,.0f}"
        if t.usd_per_ph_day is not None and t.price_usd is not None
        else "no USD figure (no price stored at the day's end; pass --price)"
    )
    page.md += [
        "## Hashprice",
        "",
        f"On {fig.as_of} one PH/s earned {usd} — **{t.btc_per_ph_day:.6f} BTC** ({t.sats_per_th_day:,.1f} "
        f"sats/TH/day){src}.",
    ]
    atl = hp.all_time_low
    if atl and t.usd_per_ph_day is not None:
        src_atl = page.notes.cite(
            f"Every stored day up to {fig.as_of}; days without per-block fees use the subsidy only, which understates "
            "hashprice by the fee share."
        )
        # The comparison is made on the two values stated (a price given with --price can put
        # today's value below a low the stored prices set).
        # in the cents both are stated in (two values that print alike are not called above or below).
        today_usd = f"${t.usd_per_ph_day:,.2f}"
        today_c, low_c = round(t.usd_per_ph_day * 100), round(atl.usd_per_ph_day * 100)
        if today_c < low_c:
            verdict = f"today's value, {today_usd}, is below it: lower than on any stored day."
        elif today_c == low_c and atl.date == fig.as_of.isoformat():
            verdict = "today's value is a new all-time low."
        elif today_c == low_c:
            verdict = f"today's value, {today_usd}, equals it."
        elif hp.lowest_since:
            verdict = f"today's value, {today_usd}, is above it, and the lowest since {hp.lowest_since}."
        else:
            verdict = f"today's value, {today_usd}, is above it."
        basis = "" if atl.fees_included else " (subsidy only: no per-block fees stored for that day)"
        page.md.append(f"The all-time low is ${atl.usd_per_ph_day:,.2f} on {atl.date}{basis}{src_atl}; {verdict}")
    page.md.append(
        f"After the next halving, all else equal, it would be {fmt(t.after_halving_usd_per_ph_day, 2)} USD/PH/day "
        f"({t.after_halving_btc_per_ph_day:.6f} BTC)."
    )
    pts = [(date.fromisoformat(r.date), r.usd_per_ph_day) for r in hp.series if r.usd_per_ph_day]
    if pts:
        marks = [(date.fromisoformat(atl.date), atl.usd_per_ph_day, "all-time low")] if atl else []
        page.chart(
            charts.line_chart(
                page.chart_dir / "hashprice.png",
                "Hashprice",
                "USD per PH/s per day",
                [("hashprice", [x for x, _ in pts], [y for _, y in pts])],
                log=True,
                marks=marks,
            ),
            "Hashprice",
        )


def cost_section(fig: WeeklyFigures, page: Page) -> None:
    c = fig.cost
    assert c is not None and fig.hashprice is not None
    today = c.rows[0]
    terms = today["terms"]
    src = page.notes.cite(
        "Electricity cost per BTC = $/kWh · J/TH · difficulty · 2^32 / (3.6·10^18 · (subsidy + fees)); Hayes (2017) "
        "is the same marginal cost with the subsidy alone (hashlens.economics.cost)."
    )
    src_all = page.notes.cite(
        f"{terms['method'][0].upper()}{terms['method'][1:]}. Per BTC the non-power costs are divided by the BTC 1 PH/s "
        f"mines that day ({today['btc_per_ph_day']:.6f}). Cash cost = electricity + other cash costs; the listed "
        "miners' own cash and all-in costs differ by company (hashlens.economics.cost)."
    )
    costs = ", ".join(
        f"**${x['electricity_usd_per_btc']:,.0f}** at {x['efficiency_j_per_th']:g} J/TH" for x in today["costs"]
    )
    all_in = ", ".join(f"**${x['all_in_cost_usd_per_btc']:,.0f}**" for x in today["costs"])
    mid = today["costs"][len(today["costs"]) // 2]
    extra = mid["all_in_cost_usd_per_btc"] - mid["electricity_usd_per_btc"]
    price = fig.hashprice.today.price_usd
    page.md += [
        "## Cost to mine one bitcoin",
        "",
        f"At ${c.power_price_usd_per_kwh}/kWh, the electricity to mine one BTC costs {costs}{src} (Hayes' model at "
        f"{mid['efficiency_j_per_th']:g} J/TH: ${mid['hayes_usd_per_btc']:,.0f}). The all-in cost, adding "
        f"${terms['other_cash_usd_per_ph_day']:g} other cash costs and ${terms['depreciation_usd_per_ph_day']:g} "
        f"depreciation per PH/s per day (${extra:,.0f} per BTC on the day), is {all_in} at the same efficiencies"
        f"{src_all}.",
    ]
    if price:
        page.md.append(f"At ${price:,.0f}, the price is {_price_against_costs(today['costs'])}.")
    if c.monthly:
        xs = [date.fromisoformat(r["date"]) for r in c.monthly]
        effs = [x["efficiency_j_per_th"] for x in c.monthly[0]["costs"]]
        lines = [("BTC price", xs, [r["btc_price_usd"] or float("nan") for r in c.monthly])]
        lines += [
            (f"{e:g} J/TH", xs, [r["costs"][i]["electricity_usd_per_btc"] for r in c.monthly])
            for i, e in enumerate(effs)
        ]
        k = len(effs) // 2
        lines.append((f"all-in, {effs[k]:g} J/TH", xs, [r["costs"][k]["all_in_cost_usd_per_btc"] for r in c.monthly]))
        page.chart(
            charts.line_chart(
                page.chart_dir / "cost.png",
                f"Electricity and all-in cost per BTC at ${c.power_price_usd_per_kwh}/kWh vs price",
                "USD",
                lines,
                log=True,
            ),
            "Cost of production",
        )


def _efficiencies(xs: list[float]) -> str:
    names = [f"{x:g}" for x in xs]
    return (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]) + " J/TH"


def _price_against_costs(costs: list[dict[str, Any]]) -> str:
    """Which costs the day's price is below, in a roundup's words, from the table's
    ``price_above_*`` flags (``hashlens.economics.cost.cost_per_btc_table``)."""

    def against(key: str, name: str) -> str:
        above = [c["efficiency_j_per_th"] for c in costs if c[key]]
        below = [c["efficiency_j_per_th"] for c in costs if not c[key]]
        if not above:
            return f"below the {name} at every efficiency"
        if not below:
            return f"above the {name} at every efficiency"
        return f"below the {name} at {_efficiencies(below)} and above it at {_efficiencies(above)}"

    return f"{against('price_above_all_in', 'all-in cost')}; it is {against('price_above_electricity', 'electricity cost')}"


def machines_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Which machines still pay", ""]
    m = fig.machines
    if m is None:
        page.md += [f"n/a — {fig.missing.get('machines', 'no data')}", ""]
        return
    src = page.notes.cite(
        f"Per machine: revenue = TH/s / 1000 · hashprice · (1 − {m.pool_fee:.0%} pool fee); cost = W · 24 h · "
        f"${m.power_price_usd_per_kwh}/kWh; breakeven hashprice = full daily cost / (TH/s / 1000 · (1 − fee)); "
        "switch-off price = the BTC price where revenue equals the power cost (hashlens.economics.fleet). Makers' "
        "rated specifications (bundled catalogue), models released in the six years before the day."
    )
    page.md += [
        f"At the day's hashprice and ${m.power_price_usd_per_kwh}/kWh, {m.paying} of {len(m.models)} models from the "
        f"last six years cover their power costs{src}.",
        "",
        "| model | J/TH | margin | breakeven $/PH/day | switch-off BTC price |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in m.models:
        margin = "n/a" if r.margin is None else f"{100 * r.margin:+.0f} %"
        page.md.append(
            f"| {r.model} | {r.efficiency_j_per_th:.1f} | {margin} | "
            f"{fmt(r.breakeven_hashprice_usd_per_ph_day, 2)} | {fmt(r.shutdown_btc_price_usd, 0)} |"
        )
    if m.models:
        page.chart(
            charts.bar_chart(
                page.chart_dir / "fleet.png",
                f"Margin at the day's hashprice, ${m.power_price_usd_per_kwh}/kWh",
                [r.model for r in m.models],
                [100 * r.margin if r.margin is not None else float("nan") for r in m.models],
                "% of revenue",
                ["tab:red" if r.margin is not None and r.margin < 0 else "tab:green" for r in m.models],
            ),
            "Fleet margins",
        )
    npow = fig.network_power
    if npow is not None:
        src_c = page.notes.cite(
            f"Cambridge (CBECI) method at ${m.power_price_usd_per_kwh}/kWh: profitable hardware under five years old, "
            "bounds with PUE 1.01/1.20, best guess the plain mean efficiency with PUE 1.10 (hashlens.economics.cbeci)."
        )
        page.md += [
            f"Network power by the Cambridge method: **{fmt(npow.power_gw_guess, 1)} GW** "
            f"({fmt(npow.power_gw_lower, 1)}–{fmt(npow.power_gw_upper, 1)}), "
            f"{fmt(npow.energy_twh_per_year_guess, 0)} TWh a year{src_c}.",
            "",
        ]


def pools_section(fig: WeeklyFigures, page: Page) -> None:
    """Who mined the week: each pool's share with its interval where the store's attribution
    covers the week, else one sentence saying what it covers."""
    page.md += ["## Who mined", ""]
    w = fig.pools
    if w is None:
        page.md += [f"n/a — {fig.missing.get('pools', 'no data')}", ""]
        return
    if not w.covered or w.shares is None or w.concentration is None:
        page.md += [f"No pool attribution covers {w.start_day} … {w.end_day}. {w.sentence}", ""]
        return
    sh, co = w.shares, w.concentration
    src = page.notes.cite(
        f"Source {w.source} ({sh.coverage.blocks:,} blocks, {sh.coverage.unknown_blocks:,} unidentified); "
        f"{sh.method}; concentration: {co.method}."
    )
    first, hhi, nak = sh.pools[0], co.hhi, co.nakamoto
    page.md += [
        f"From {w.start_day} to {w.end_day}, {first.pool} found the most blocks, {first.blocks:,} of "
        f"{sh.coverage.blocks:,} ({100 * first.share:.1f} %, 95 %: {100 * first.share_low:.1f}–"
        f"{100 * first.share_high:.1f} %); HHI "
        f"{hhi.value:.3f} ({hhi.low:.3f}–{hhi.high:.3f}), Nakamoto coefficient {nak.value:.0f}{src}.",
        "",
        "| pool | blocks | share | 95 % | hashrate EH/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in sh.pools[:10]:
        rate = "n/a" if p.hashrate_ehs is None else f"{p.hashrate_ehs:,.1f}"
        page.md.append(
            f"| {p.pool} | {p.blocks:,} | {100 * p.share:.1f} % | "
            f"{100 * p.share_low:.1f}–{100 * p.share_high:.1f} % | {rate} |"
        )
    page.md.append("")


def halving_section(fig: WeeklyFigures, page: Page) -> None:
    h = fig.halving
    assert h is not None
    src = page.notes.cite(
        f"Subsidy halves every 210,000 blocks; date = tip time + blocks left × the mean block interval, "
        f"{h.block_interval_s:.1f} s ({h.interval_window}); the tip at height {h.tip_height:,} is "
        + ("the last stored block." if h.tip_height_exact else "interpolated in the period in force.")
    )
    page.md += [
        "## Halving countdown",
        "",
        f"{h.blocks_left:,} blocks to the halving at height {h.next_halving_height:,} (subsidy {h.current_subsidy_btc:g} → "
        f"{h.next_subsidy_btc:g} BTC), expected around **{h.estimated_date}**{src}.",
        "",
    ]


def outlook_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Outlook: the next three adjustments", ""]
    o = fig.outlook
    if o is None:
        page.md += [f"n/a — {fig.missing.get('outlook', 'no data')}", ""]
        return
    src = page.notes.cite(o.method + " (hashlens.sim.forecast).")
    page.md += ["| adjustment | median | 90 % range | P(drop) |", "|---|---:|---:|---:|"]
    for r in o.adjustments:
        q = r.change_pct
        page.md.append(
            f"| {r.label} (height {r.height:,}) | {q.p50:+.2f} % | {q.p05:+.2f} to {q.p95:+.2f} % | {r.p_drop:.0%} |"
        )
    tr = o.track_record
    if tr is not None and tr.forecasts:
        page.md += [
            "",
            f"Of the last {tr.forecasts} forecasts of the next adjustment from a period start, the 90 % range "
            f"held {tr.held_90}; {tr.below_p10} outcomes fell below the 10th percentile and {tr.above_p90} above "
            "the 90th (walk-forward backtest, hashlens.sim.backtest).",
        ]
    page.md += ["", f"Sources and methods{src}.", ""]


def _difficulty_text(d: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if d >= scale:
            return f"{d / scale:,.2f} {unit}"
    return f"{d:,.2f}"


def _hashrate_text(ehs: float) -> str:
    hs = ehs * HS_PER_EHS
    for unit, scale in (("EH/s", HS_PER_EHS), ("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6)):
        if hs >= scale:
            return f"{hs / scale:,.1f} {unit}"
    return f"{hs:,.0f} H/s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #1d232a; line-height: 1.5; }
h1 { border-bottom: 3px solid #f7931a; padding-bottom: .3em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9em; margin: .8em 0; }
th, td { border: 1px solid #ddd; padding: .3em .6em; }
th { background: #f6f6f6; }
img { max-width: 100%; }
.footnote { font-size: .85em; color: #444; }
"""


def to_html(text: str, base: Path, title: str) -> str:
    """Markdown to a standalone HTML page: charts embedded, footnotes kept."""
    import markdown

    body = markdown.markdown(text, extensions=["tables", "footnotes"])

    def embed(m: re.Match[str]) -> str:
        p = base / m.group(1)
        data = base64.b64encode(p.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="(charts/[^"]+\.png)"', embed, body)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )
