"""Assemble the weekly report from the library's own functions; this module holds no
economics, only the choice of figures, their wording and their footnotes."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.chain.adjustments import adjustment_history, load_periods
from hashlens.chain.hashrate import hashrate_series, period_work_table
from hashlens.chain.status import block_times, network_hashrate, per_block_tip, running_period
from hashlens.consensus import COIN, next_halving
from hashlens.consensus.compact import decode_compact
from hashlens.economics.asics import load_catalogue
from hashlens.economics.cbeci import network_power
from hashlens.economics.cost import electricity_cost_per_btc, hayes_cost_of_production
from hashlens.economics.daily import ChainCalendar, hashprice_days, hashprice_series, network_hashrate_ehs_on
from hashlens.economics.fleet import Operating, unit_economics
from hashlens.errors import HashlensError
from hashlens.miners.analysis import expected_vs_reported, treasuries
from hashlens.miners.storeio import ensure_sample
from hashlens.report import charts
from hashlens.sim.engine import resolve, simulate, summarise
from hashlens.sim.scenario import parse_scenario
from hashlens.store import Store

POWER_PRICE = 0.05


def _iso(ts: float | None) -> str:
    return "unknown" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


@dataclass
class Notes:
    items: list[str] = field(default_factory=list)

    def cite(self, text: str) -> str:
        self.items.append(text)
        return f"[^{len(self.items)}]"

    def markdown(self) -> str:
        return "\n".join(f"[^{i}]: {t}" for i, t in enumerate(self.items, start=1))


@dataclass
class Report:
    markdown_path: Path
    html_path: Path
    charts: list[Path]
    data: dict[str, Any]


def _fmt(x: float | None, digits: int = 2, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:,.{digits}f}{unit}"


def build_report(
    store: Store,
    out_dir: Path,
    as_of: date | None = None,
    price: float | None = None,
    paths: int = 20_000,
    seed: int = 1,
) -> Report:
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(exist_ok=True)
    ensure_sample(store)
    cal = ChainCalendar(store)
    heights, times = block_times(store)
    try:
        tip_h, tip_t = per_block_tip(heights, times)
        per_block = True
    except HashlensError:  # only sparse data (the bundled snapshot): the last known block time
        tip_h, tip_t, per_block = int(heights[-1]), int(times[-1]), False
    if as_of is None:
        as_of = _day(tip_t) - timedelta(days=1)
    end_ts = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC).timestamp() + 86399
    if end_ts < cal.start_time[1]:
        raise HashlensError(f"--as-of {as_of} is before the first retarget")
    notes = Notes()
    md: list[str] = []
    data: dict[str, Any] = {"as_of": as_of.isoformat()}
    made: list[Path] = []

    # -- difficulty ------------------------------------------------------------------------
    periods = load_periods(store)
    k = int(np.searchsorted(cal.start_time, end_ts, side="right"))  # periods started by as_of
    history = adjustment_history(periods[:k])
    last = history[-1]
    est_start = bool(cal.estimated[k - 1])
    drops = sum(a.change_pct < 0 for a in history)
    rises = sum(a.change_pct > 0 for a in history)

    def ranked(r: int, total: int, what: str) -> str:
        return f"the largest {what} of {total}" if r == 1 else f"the {_ordinal(r)} largest {what} of {total}"

    if last.rank_among_drops:
        rank = ranked(last.rank_among_drops, drops, "drop")
    elif last.rank_among_rises:
        rank = ranked(last.rank_among_rises, rises, "rise")
    else:
        rank = "no change"
    n = abs(last.streak)
    streak = f"{n} {'drop' if last.streak < 0 else 'rise'}{'s' if n != 1 else ''} in a row" if n else "no streak"
    low_p = next((p for p in periods if p.start_height == last.lowest_since_height), None)
    low_txt = (
        f"the lowest since the period from height {last.lowest_since_height:,} "
        f"({_iso(cal.start_time[low_p.period])[:10]}{', estimated' if cal.estimated[low_p.period] else ''})"
        if low_p
        else "the lowest on record"
    )
    if last.change_pct > 0:
        low_txt = "not a new low"
    src_bits = notes.cite(
        f"Compact bits of each period from {last.source}; difficulty as Bitcoin Core's GetDifficulty "
        "computes it; change = old target / new target − 1 (hashlens.chain.adjustments)."
    )
    src_rank = notes.cite(
        f"Ranked among all {len(history)} adjustments since 2009 that the store holds up to {as_of}; "
        "streak = consecutive adjustments of the same sign; 'lowest since' = the last earlier period "
        "with difficulty at or below this one."
    )
    when = _iso(cal.start_time[k - 1])[:10] + (" (start time estimated at 600 s/block)" if est_start else "")
    md += [
        "# hashlens weekly mining report",
        "",
        f"*As of {as_of} (UTC). Generated {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC from the store "
        f"`{Path(store.path).name}`; "
        + (
            f"per-block data to height {tip_h:,} ({_iso(tip_t)}).*"
            if per_block
            else f"no per-block data (period starts only, to height {tip_h:,}).*"
        ),
        "",
        "## Difficulty",
        "",
        f"The latest adjustment, at height {last.height:,} on {when}, moved difficulty "
        f"**{last.change_pct:+.2f} %** to **{_difficulty_text(last.difficulty)}**{src_bits}: {rank}, "
        f"{streak}, {low_txt}{src_rank}.",
    ]
    if last.largest_drop_since_height and last.change_pct < 0:
        md.append(f"It is the largest drop since the adjustment at height {last.largest_drop_since_height:,}.")
    recent = history[-26:]
    made.append(
        charts.adjustments_chart(
            chart_dir / "adjustments.png",
            [str(a.height) for a in recent],
            [a.change_pct for a in recent],
            "Last 26 difficulty adjustments",
        )
    )
    md += ["", "![Last 26 difficulty adjustments](charts/adjustments.png)", ""]
    data["difficulty"] = last.as_dict() | {"drops_total": drops, "rises_total": rises}

    # -- running period and hashrate ---------------------------------------------------------
    # Per-block figures only where block times reach (nearly) up to the report's day.
    upto = times <= end_ts
    before, hb = times[upto], heights[upto]
    contiguous = before.size > 2016 and int(hb[-1] - hb[-2017]) == 2016
    has_blocks = per_block and ((contiguous and end_ts - float(before[-1]) <= 2 * 86400) or end_ts > tip_t)
    rp = None
    if per_block and end_ts > tip_t + 86400:
        md += [
            "",
            f"*Per-block data end at height {tip_h:,} ({_iso(tip_t)}): the hashrate and running-period "
            "figures below are as of then; later difficulty and prices come from sparse sources.*",
        ]
    if has_blocks:
        rp = running_period(store, now=int(min(end_ts, tip_t)), upto_time=int(end_ts))
        hr = network_hashrate(store, "1008", rp["tip_height"])
        hr7 = network_hashrate(store, "7d", rp["tip_height"])
        src_hr = notes.cite(
            "Bitcoin Core's getnetworkhashps method: chain work of the window's blocks over the span of "
            "their timestamps; 95 % interval from the Gamma law of the block intervals (1008 blocks) "
            "or the Garwood Poisson interval on the block count (7 days)."
        )
        md += [
            "## Hashrate",
            "",
            f"Over the last 1,008 blocks to height {hr.end_height:,} the network ran at **{hr.hashrate_ehs:,.0f} EH/s** "
            f"(95 %: {hr.low_ehs:,.0f}–{hr.high_ehs:,.0f}){src_hr}; over 7 days, {hr7.hashrate_ehs:,.0f} EH/s "
            f"({hr7.low_ehs:,.0f}–{hr7.high_ehs:,.0f}).",
        ]
        work = period_work_table({p.period: p.bits for p in periods})
        sel = (times <= end_ts) & (times > end_ts - 200 * 86400)
        ser = hashrate_series(heights[sel], times[sel], work, 1008, 72)
        if ser:
            xs = [_day(e.end_time) for e in ser]
            made.append(
                charts.line_chart(
                    chart_dir / "hashrate.png",
                    "Network hashrate (1008-block window)",
                    "EH/s",
                    [("estimate", xs, [e.hashrate_ehs for e in ser])],
                    band=(xs, [e.low_ehs for e in ser], [e.high_ehs for e in ser]),
                )
            )
            md += ["", "![Network hashrate](charts/hashrate.png)", ""]
        data["hashrate"] = hr.as_dict()
        m, o = rp["mempool"], rp["hashlens"]
        src_est = notes.cite(
            "mempool.space's difficulty-adjustment method (its calcDifficultyAdjustment, reproduced "
            "exactly); hashlens' estimate draws the remaining blocks as a Poisson process at a "
            "Gamma-uncertain rate and applies the exact retarget rule (hashlens.chain.estimate)."
        )
        md += [
            "## Next adjustment",
            "",
            f"The running period began at height {rp['period_start_height']:,} ({rp['period_start_time']}); "
            f"{rp['blocks_in_period']:,} of 2,016 blocks are in. mempool.space's method expects "
            f"**{m['change_pct']:+.2f} %** around {m['estimated_retarget_time'][:16]}; hashlens expects "
            f"**{o['change_pct']:+.2f} %** (90 %: {o['change_low_pct']:+.2f} to {o['change_high_pct']:+.2f}; "
            f"P(drop) = {o['p_drop']:.0%}){src_est}.",
        ]
        if rp["actual_next_adjustment"] and rp["actual_next_adjustment"]["height"] <= tip_h + 2016:
            md.append(f"(The store already knows the outcome: {rp['actual_next_adjustment']['change_pct']:+.2f} %.)")
        md.append("")
        data["next_adjustment"] = {"mempool": m, "hashlens": o}

    else:
        hr_now, how = network_hashrate_ehs_on(cal, as_of)
        src_hr = notes.cite(
            f"No per-block times around {as_of} in the store: hashrate = work per block of the period "
            f"in force over its mean block interval ({how})."
        )
        md += ["## Hashrate", "", f"The period in force implies about **{_hashrate_text(hr_now)}**{src_hr}.", ""]
        data["hashrate"] = {"hashrate_ehs": hr_now, "method": how}

    # -- hashprice -----------------------------------------------------------------------------
    today = hashprice_days(store, [as_of], price, cal=cal)[0]
    series = hashprice_series(store, min(date(2012, 1, 1), as_of), as_of)
    rows = [r for r in series["rows"] if r["usd_per_ph_day"] is not None]
    atl = series["all_time_low_usd"]
    src_hp = notes.cite(
        "Hashprice (Luxor's definition) = (subsidy + fees) · 86,400 · 10^15 / (difficulty · 2^32) BTC per "
        f"PH/s per day; fees: {today.fee_source}; price: {today.price_source} "
        "(hashlens.economics.hashprice)."
    )
    usd_txt = (
        f"**${today.usd_per_ph_day:,.2f}/PH/day** at ${today.price_usd:,.0f}"
        if today.usd_per_ph_day is not None
        else "no USD figure (no price stored for the day; pass --price)"
    )
    md += [
        "## Hashprice",
        "",
        f"On {as_of} one PH/s earned {usd_txt} — **{today.btc_per_ph_day:.6f} BTC** "
        f"({today.sats_per_th_day:,.1f} sats/TH/day){src_hp}.",
    ]
    if atl and today.usd_per_ph_day is not None:
        ls = next((r["usd_lowest_since"] for r in series["rows"] if r["date"] == as_of.isoformat()), None)
        src_atl = notes.cite(
            "Daily series since 2012 from stored prices and the chain; days without per-block fees "
            "use the subsidy only, which understates hashprice by the fee share."
        )
        md.append(
            f"The all-time low is ${atl['usd_per_ph_day']:,.2f} on {atl['date']}{src_atl}; today's value is "
            + (
                f"the lowest since {ls}."
                if ls and ls < as_of.isoformat()
                else "a new all-time low."
                if ls is None and rows and today.usd_per_ph_day <= atl["usd_per_ph_day"]
                else "above it."
            )
        )
    md.append(
        f"After the next halving, all else equal, it would be {_fmt(today.after_halving_usd_per_ph_day, 2, '')} "
        f"USD/PH/day ({today.after_halving_btc_per_ph_day:.6f} BTC)."
    )
    if rows:
        xs = [date.fromisoformat(r["date"]) for r in rows]
        marks = [(date.fromisoformat(atl["date"]), atl["usd_per_ph_day"], "all-time low")] if atl else []
        made.append(
            charts.line_chart(
                chart_dir / "hashprice.png",
                "Hashprice",
                "USD per PH/s per day",
                [("hashprice", xs, [r["usd_per_ph_day"] for r in rows])],
                log=True,
                marks=marks,
            )
        )
        md += ["", "![Hashprice](charts/hashprice.png)", ""]
    data["hashprice"] = today.as_dict() | {"all_time_low": atl}

    # -- cost of production ---------------------------------------------------------------------
    months = sorted(
        {date(int(r["date"][:4]), int(r["date"][5:7]), 1) for r in series["rows"] if r["date"] >= "2016-01-01"}
    )
    mrows = hashprice_days(store, months, cal=cal) if months else []
    effs = (17.5, 21.5, 29.5)
    costs = {
        e: [float(electricity_cost_per_btc(POWER_PRICE, e, r.difficulty, r.subsidy_btc + r.fees_btc)) for r in mrows]
        for e in effs
    }
    src_cost = notes.cite(
        "Electricity cost per BTC = $/kWh · J/TH · difficulty · 2^32 / (3.6·10^18 · (subsidy + fees)); "
        "Hayes (2017) is the same marginal cost with the subsidy alone (hashlens.economics.cost)."
    )
    now_costs = {
        e: float(electricity_cost_per_btc(POWER_PRICE, e, today.difficulty, today.subsidy_btc + today.fees_btc))
        for e in effs
    }
    hayes = float(hayes_cost_of_production(POWER_PRICE, 0.0215, today.difficulty, today.subsidy_btc))
    md += [
        "## Cost to mine one bitcoin",
        "",
        f"At ${POWER_PRICE}/kWh, the electricity to mine one BTC costs "
        + ", ".join(f"**${c:,.0f}** at {e} J/TH" for e, c in now_costs.items())
        + f"{src_cost} (Hayes' model at 21.5 J/TH: ${hayes:,.0f})"
        + (f", against a price of ${today.price_usd:,.0f}." if today.price_usd else "."),
    ]
    if months:
        xs = [m_.replace(day=1) for m_ in months]
        price_line = [(r.price_usd or float("nan")) for r in mrows]
        made.append(
            charts.line_chart(
                chart_dir / "cost.png",
                f"Electricity cost per BTC at ${POWER_PRICE}/kWh vs price",
                "USD",
                [("BTC price", xs, price_line)] + [(f"{e} J/TH", xs, costs[e]) for e in effs],
                log=True,
            )
        )
        md += ["", "![Cost of production](charts/cost.png)", ""]
    data["cost_usd_per_btc"] = now_costs

    # -- fleet profitability by generation ------------------------------------------------------
    cat = [a for a in load_catalogue() if a.release_date <= as_of and (as_of - a.release_date).days < 6 * 365]
    hp_now = today.usd_per_ph_day
    if hp_now is not None and today.price_usd is not None and cat:
        h = np.array([a.hashrate_ths for a in cat])
        w = np.array([a.power_w for a in cat])
        ue = unit_economics(h, w, hp_now, today.price_usd, Operating(POWER_PRICE, pool_fee=0.02))
        margin = ue["margin"] * 100
        src_fleet = notes.cite(
            "Per machine: revenue = TH/s/1000 · hashprice · (1 − 2 % pool fee); power = W · 24 h · "
            f"${POWER_PRICE}/kWh; breakeven hashprice = 24 · J/TH · $/kWh / (1 − fee); switch-off "
            "price = the BTC price where revenue equals power cost (hashlens.economics.fleet). "
            "Makers' rated specifications (bundled catalogue)."
        )
        under = [a.name for a, m_ in zip(cat, margin, strict=True) if m_ < 0]
        md += [
            "## Which machines still pay",
            "",
            f"At today's hashprice and ${POWER_PRICE}/kWh, {len(cat) - len(under)} of {len(cat)} models from the last "
            f"six years cover their power{src_fleet}.",
            "",
            "| model | J/TH | margin | breakeven $/PH/day | switch-off BTC price |",
            "|---|---:|---:|---:|---:|",
        ]
        for i in np.argsort([a.efficiency_j_per_th for a in cat]):
            a = cat[i]
            md.append(
                f"| {a.name} | {a.efficiency_j_per_th:.1f} | {margin[i]:+.0f} % | "
                f"{ue['breakeven_hashprice_usd_per_ph_day'][i]:,.2f} | {ue['shutdown_btc_price_usd'][i]:,.0f} |"
            )
        order = np.argsort([a.efficiency_j_per_th for a in cat])
        made.append(
            charts.bar_chart(
                chart_dir / "fleet.png",
                f"Margin at today's hashprice, ${POWER_PRICE}/kWh",
                [cat[i].name for i in order],
                [float(margin[i]) for i in order],
                "% of revenue",
                ["tab:red" if margin[i] < 0 else "tab:green" for i in order],
            )
        )
        md += ["", "![Fleet margins](charts/fleet.png)", ""]
        hr_now, how = network_hashrate_ehs_on(cal, as_of)
        npow = network_power(load_catalogue(), as_of, hr_now, hp_now / 1000, POWER_PRICE)
        src_cbeci = notes.cite(
            f"Cambridge (CBECI) method: profitable hardware under five years old at ${POWER_PRICE}/kWh, "
            f"bounds with PUE 1.01/1.20, age-weighted best guess with PUE 1.10; hashrate: {how}."
        )
        md.append(
            f"Network power by the Cambridge method: **{npow.power_gw_guess:.1f} GW** "
            f"({npow.power_gw_lower:.1f}–{npow.power_gw_upper:.1f}), {npow.energy_twh_per_year_guess:.0f} TWh a "
            f"year{src_cbeci}."
        )
        md.append("")
        data["fleet_models_under_water"] = under

    # -- listed miners ----------------------------------------------------------------------------
    month = store.scalar("SELECT max(month) FROM miner_reports WHERE month <= ?", [as_of.replace(day=1)])
    if month is not None:
        rows_m = expected_vs_reported(store, month)
        src_m = notes.cite(
            f"Companies' monthly production updates ({rows_m[0]['source']} and peers). Expected BTC = "
            "hashrate · Σ seconds in each period / (difficulty · 2^32) · mean block reward of the month "
            f"({rows_m[0]['chain']['reward_source']}) (hashlens.miners.expected)."
        )
        md += [
            f"## Listed miners, {month:%B %Y}",
            "",
            f"Production in descending order, with what each company's reported hashrate should have mined{src_m}:",
            "",
            "| # | company | BTC mined | hashrate EH/s | expected BTC | reported/expected | notes |",
            "|---:|---|---:|---:|---:|---:|---|",
        ]
        for r in rows_m:
            md.append(
                f"| {r.get('rank_by_production', '')} | {r['company']} ({r['ticker']}) | {_fmt(r['reported_btc'], 1)} | "
                f"{_fmt(r['hashrate_ehs'], 1)} ({r['hashrate_basis']}) | {_fmt(r['expected_btc'], 0)} | "
                f"{_fmt(r['ratio'], 2)} | {'; '.join(r['flags'])} |"
            )
        tr = treasuries(store)
        src_t = notes.cite("Latest treasury each company published (monthly updates and disclosures in the store).")
        md += [
            "",
            f"Largest bitcoin treasuries held by listed miners{src_t}:",
            "",
            "| # | company | BTC | as of |",
            "|---:|---|---:|---|",
        ]
        md += [
            f"| {t['rank']} | {t['company']} ({t['ticker']}) | {t['treasury_btc']:,.0f} | {t['as_of']} |" for t in tr
        ]
        md.append("")
        data["miners"] = rows_m

    # -- halving -------------------------------------------------------------------------------
    hh, ht = (rp["tip_height"], tip_t) if rp else (tip_h, tip_t)
    t_at = dict(zip(heights.tolist(), times.tolist(), strict=True))
    interval = (t_at[hh] - t_at[hh - 2016]) / 2016 if (hh - 2016) in t_at and hh in t_at else 600.0
    nh = next_halving(hh, t_at.get(hh, ht), interval)
    src_h = notes.cite(
        f"Subsidy halves every 210,000 blocks; date = tip time + blocks left × the mean interval of the "
        f"last 2,016 blocks ({interval:.1f} s)."
    )
    md += [
        "## Halving countdown",
        "",
        f"{nh.blocks_left:,} blocks to the halving at height {nh.height:,} (subsidy {nh.current_subsidy_sat / COIN:g} → "
        f"{nh.next_subsidy_sat / COIN:g} BTC), expected around **{_iso(nh.estimated_time)[:10]}**{src_h}.",
        "",
    ]
    data["halving"] = {"height": nh.height, "blocks_left": nh.blocks_left, "estimated": _iso(nh.estimated_time)}

    # -- outlook ------------------------------------------------------------------------------
    if rp:
        o = rp["hashlens"]
        p_now = periods[rp["period_start_height"] // 2016]
        trend = _hashrate_trend(periods, cal, p_now.period)
        s = parse_scenario(
            {
                "name": "outlook",
                "days": 60,
                "record_every_days": 60,
                "initial": {
                    "bits": o["next_bits"],
                    "hashrate_ehs": float(hr.hashrate_ehs),
                    "price_usd": float(today.price_usd or 1.0),
                },
                "hashrate": {"model": "growth", "growth_pct_per_14_days": trend},
            }
        )
        summ = summarise(resolve(s), simulate(resolve(s), paths, seed))
        src_o = notes.cite(
            f"First row: hashlens' estimate for the running period. Later rows: {paths:,} simulated paths "
            f"from the estimated next bits, today's hashrate, growing {trend:+.2f} % per 14 days (the "
            "trend of the last six periods), every retarget by the exact rule (hashlens.sim)."
        )
        md += [
            "## Outlook: the next three adjustments",
            "",
            "| adjustment | median | 90 % range | P(drop) |",
            "|---|---:|---:|---:|",
            f"| next (height {o['next_retarget_height']:,}) | {o['change_pct']:+.2f} % | {o['change_low_pct']:+.2f} to "
            f"{o['change_high_pct']:+.2f} % | {o['p_drop']:.0%} |",
        ]
        for i, u in enumerate(summ["upcoming_adjustments"][:2], start=2):
            q = u["change_pct"]
            md.append(
                f"| +{i - 1} after that | {q['p50']:+.2f} % | {q['p5']:+.2f} to {q['p95']:+.2f} % | {u['p_drop']:.0%} |"
            )
        md += ["", f"Sources and methods{src_o}.", ""]
        data["outlook"] = {"next": o, "following": summ["upcoming_adjustments"][:2], "trend_pct_per_14_days": trend}

    md += ["---", "", notes.markdown(), ""]
    text = "\n".join(md)
    md_path = out_dir / "report.md"
    md_path.write_text(text)
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(text, out_dir, f"hashlens weekly mining report — {as_of}"))
    return Report(md_path, html_path, made, data)


def _difficulty_text(d: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if d >= scale:
            return f"{d / scale:,.2f} {unit}"
    return f"{d:,.2f}"


def _hashrate_text(ehs: float) -> str:
    hs = ehs * 1e18
    for unit, scale in (("EH/s", 1e18), ("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6)):
        if hs >= scale:
            return f"{hs / scale:,.1f} {unit}"
    return f"{hs:,.0f} H/s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _hashrate_trend(periods: list[Any], cal: ChainCalendar, p: int, n: int = 6) -> float:
    """Growth of the implied hashrate over the last n periods [% per 14 days] (log-linear fit)."""
    xs, ys = [], []
    for q in range(max(1, p - n), p):
        if cal.estimated[q] or cal.estimated[q + 1]:
            continue
        interval = (cal.start_time[q + 1] - cal.start_time[q]) / 2016
        work = 2**256 // (decode_compact(periods[q].bits)[0] + 1)
        xs.append(cal.start_time[q])
        ys.append(math.log(work / interval))
    if len(xs) < 3:
        return 0.0
    slope = float(np.polyfit(np.array(xs) - xs[0], ys, 1)[0])
    return (math.exp(slope * 14 * 86400) - 1) * 100


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
