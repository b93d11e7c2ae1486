// hashlens dashboard: the figures of /v1/weekly for one as-of day, with the charts' longer
// history (/v1/difficulty/history, /v1/hashrate/series) cut at that same day. Charts are
// plotly.js; every chart and table downloads as CSV from the JSON it was drawn from. No
// arithmetic beyond formatting and selecting what is dated up to the day.
"use strict";

const { fmt, pct, int, $, escapeHtml, reason, missing, get } = HL;
// An ISO instant as "2026-01-22 19:31 UTC", with its source (stored, retarget-implied, estimated).
const when = (iso, source) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "n/a") + (source ? " (" + source + ")" : "");
const isoOfUnix = (s) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

// Each panel draws on its own: a section the day lacks leaves that panel saying why, not a blank page.
function naText(ids, e) { ids.forEach((id) => { const el = $(id); if (el) el.textContent = missing(e); }); }
// A card: a short "n/a" as its figure, the reason on the line below.
function naCard(valueId, detailId, e) { $(valueId).textContent = "n/a"; $(detailId).textContent = e && e.shown ? "" : missing(e); }
function naTable(id, e) {
  const t = $(id), n = t.tHead ? t.tHead.rows[0].cells.length : 1;
  t.tBodies[0].innerHTML = '<tr class="na"><td colspan="' + n + '">' + escapeHtml(missing(e)) + "</td></tr>";
}
// A section of the weekly figures, or an error carrying the reason the API gives for its absence.
function need(w, key) {
  if (w[key] === null || w[key] === undefined) throw new Error((w.missing && w.missing[key]) || "not in the figures for " + w.as_of);
  return w[key];
}
// Spans with ids, so a figure can be read back from the page.
const span = (id, text, cls) => '<span id="' + id + '"' + (cls ? ' class="' + cls + '"' : "") + ">" + escapeHtml(text) + "</span>";

function rows(tbody, list) {
  tbody.innerHTML = list.map((cells) => "<tr>" + cells.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("");
}

// -- CSV sources: what each chart and table was drawn from, set by its panel ---------------------
const drawn = {};
function source(name, columns, list) {
  drawn[name] = { filename: "hashlens-" + name + "-" + (shownDay || "latest") + ".csv", columns, rows: list };
  HL.csvReady(name, true);
}
function noSource(name) { delete drawn[name]; HL.csvReady(name, false); }
["adjustments", "hashrate-periods", "hashrate-window", "hashprice", "cost", "machines", "miners", "treasuries", "outlook"]
  .forEach((name) => HL.csvProvider(name, () => drawn[name]));

// -- the cards -----------------------------------------------------------------------------------
function drawDifficulty(w) {
  const d = need(w, "difficulty"), a = d.latest;
  $("difficulty-value").textContent = fmt(a.difficulty / 1e12, 2) + " T";
  const rank = a.rank_among_drops ? "#" + a.rank_among_drops + " drop of " + d.drops_total
    : a.rank_among_rises ? "#" + a.rank_among_rises + " rise of " + d.rises_total : "no change";
  $("difficulty-change").innerHTML = span("difficulty-pct", pct(a.change_pct)) + " at " + span("difficulty-height", int(a.height)) +
    ", " + span("difficulty-time", when(a.time, a.time_source)) + " · " + escapeHtml(rank) + " · streak " + escapeHtml(String(a.streak)) +
    (a.lowest_since_height !== null && a.lowest_since_height !== undefined ? " · lowest since " + int(a.lowest_since_height) +
      " (" + escapeHtml((a.lowest_since_time || "").slice(0, 10)) + ")" : "");
}

function drawHashrate(w) {
  const hr = need(w, "hashrate");
  $("hashrate-value").textContent = fmt(hr.hashrate_ehs, 0) + " EH/s";
  $("hashrate-ci").textContent = "95 %: " + fmt(hr.low_ehs, 0) + "–" + fmt(hr.high_ehs, 0) + " EH/s · blocks " +
    int(hr.start_height) + "–" + int(hr.end_height) + " · " + hr.method;
}

function drawRunningPeriod(w) {
  const rp = need(w, "running_period");
  const start = "period from " + int(rp.start_height) + ", began " + when(rp.start_time, rp.start_time_source) +
    " · next retarget at " + span("next-height", int(rp.next_retarget_height));
  // the next adjustment: the outlook's first row (hashlens.sim.forecast), the one estimate shown
  const e = rp.estimate;
  if (!e) {
    $("next-value").textContent = "n/a";
    $("next-detail").innerHTML = start + " · " + escapeHtml(missing(new Error(rp.note)));
    return;
  }
  const q = e.change_pct;
  const known = e.basis === "per-block" ? int(e.blocks_in_period) + " blocks in" : "from the period's start (no per-block data)";
  $("next-value").textContent = pct(q.p50);
  $("next-detail").innerHTML = start + ' · <span class="forecast">~' + escapeHtml(when(e.retarget_time_median, "estimated")) +
    "</span> · 90 %: " + escapeHtml(pct(q.p05) + " to " + pct(q.p95)) + " · " + escapeHtml(known) +
    (rp.mempool ? " · another method, mempool.space's: " + escapeHtml(pct(rp.mempool.change_pct)) : "");
}

function drawHashprice(w) {
  const hp = need(w, "hashprice"), t = hp.today;
  $("hashprice-value").textContent = t.usd_per_ph_day === null ? "n/a" : "$" + fmt(t.usd_per_ph_day, 2) + "/PH/day";
  $("hashprice-btc").textContent = fmt(t.btc_per_ph_day * 1e3, 4) + " mBTC · " + fmt(t.sats_per_th_day, 1) + " sats/TH/day · " +
    (t.price_usd === null ? missing(new Error(t.price_source)) : "BTC $" + fmt(t.price_usd, 0) + " (" + t.price_source + ")") +
    " · difficulty of the period from " + int(t.period_start_height) + " (" + t.period_start_source + ") · fees: " + t.fee_source;
}

function drawHalving(w) {
  const h = need(w, "halving");
  $("halving-value").textContent = int(h.blocks_left) + " blocks";
  $("halving-detail").innerHTML = "height " + int(h.next_halving_height) + ', <span class="forecast">~' +
    escapeHtml(h.estimated_date) + "</span> at " + fmt(h.block_interval_s, 0) + " s/block (" + escapeHtml(h.interval_window) +
    ") · subsidy " + fmt(h.current_subsidy_btc, 4) + " → " + fmt(h.next_subsidy_btc, 4) + " BTC";
}

function drawPower(w) {
  const p = need(w, "network_power");
  if (p.power_gw_guess === undefined) {  // a shape this page does not know: show its numbers as they are
    $("power-value").textContent = "see detail";
    $("power-detail").textContent = Object.entries(p).filter(([, v]) => typeof v !== "object").map(([k, v]) =>
      k + " " + (typeof v === "number" ? fmt(v, 2) : v)).join(" · ");
    return;
  }
  $("power-value").textContent = fmt(p.power_gw_guess, 1) + " GW";
  $("power-detail").textContent = "bounds " + fmt(p.power_gw_lower, 1) + "–" + fmt(p.power_gw_upper, 1) + " GW · " +
    fmt(p.energy_twh_per_year_guess, 0) + " TWh/yr" + (p.carried_forward ? " · carried forward" : "");
}

// -- the charts ----------------------------------------------------------------------------------
// Every adjustment up to the one in force on the day: the store's history, with the last 26 as
// the day's figures date them (those are the as-of answer; older ones do not move).
function adjustmentsToDay(w, history) {
  const d = need(w, "difficulty"), last = d.latest.height;
  const byHeight = new Map();
  (history || []).forEach((a) => { if (a.height <= last) byHeight.set(a.height, a); });
  d.recent.forEach((a) => byHeight.set(a.height, Object.assign({}, byHeight.get(a.height) || {}, a)));
  return [...byHeight.values()].filter((a) => a.time).sort((a, b) => a.height - b.height);
}

const ADJ_COLUMNS = [["height", "height"], ["time (UTC)", "time"], ["time source", "time_source"],
  ["change [%]", "change_pct"], ["difficulty", "difficulty"]];

function drawAdjustments(w, h) {
  const list = adjustmentsToDay(w, h.history);
  if (!list.length) throw new Error("no dated adjustments up to " + w.as_of);
  const trace = {
    type: "bar", name: "change", x: list.map((a) => a.time), y: list.map((a) => a.change_pct),
    customdata: list.map((a) => [int(a.height), a.time_source]),
    marker: { color: list.map((a) => (a.change_pct < 0 ? "#c0392b" : "#1e8449")) },
    hovertemplate: "%{y:+.2f} %<br>height %{customdata[0]}<br>%{x|%Y-%m-%d %H:%M} UTC (%{customdata[1]})<extra></extra>",
  };
  source("adjustments", ADJ_COLUMNS, list);
  const first = list[0], last = list[list.length - 1];
  const sources = [...new Set(list.slice(-26).map((x) => x.time_source))].join(", ");
  $("adjustments-caption").textContent = list.length + " adjustments from " + int(first.height) + " (" + first.time.slice(0, 10) +
    ") to " + int(last.height) + " (" + last.time.slice(0, 10) + "); the last 26 dated " + sources + "." +
    (h.historyError ? " Older history unavailable: " + h.historyError : "");
  return HL.timeChart($("chart-adjustments"), [trace], { yTitle: "change [%]", zero: true, xEnd: w.as_of, xStart: first.time,
    view: 12, fitY: true, points: list.length });
}

// The 1008-block hashrate windows that end by the day's end.
function windowsToDay(w, series) {
  const end = Date.parse(w.as_of_instant) / 1000;
  return (series || []).filter((r) => r.end_time_s <= end);
}

function drawHashrateChart(w, h) {
  const periods = adjustmentsToDay(w, h.history).filter((x) => Number.isFinite(x.implied_hashrate_ehs));
  if (!periods.length) throw new Error("no dated periods before " + w.as_of);
  const wins = windowsToDay(w, h.series);
  // The windows come in runs where per-block times are stored: the line and band break between runs.
  const gapped = HL.withGaps(wins, (r) => r.end_height);
  const endIso = (r) => isoOfUnix(r.end_time_s);
  const traces = [];
  if (wins.length) {
    traces.push(Object.assign({ type: "scatter", mode: "lines", name: "1008 blocks, 95 %", line: { width: 0 },
      fill: "toself", fillcolor: "rgba(52,120,200,0.18)", hoverinfo: "skip" },
    HL.gapBand(gapped, endIso, (r) => r.low_ehs, (r) => r.high_ehs)));
    traces.push(Object.assign({ type: "scatter", mode: "lines", name: "over 1008 blocks",
      line: { color: "#3478c8", width: 1.2 }, customdata: gapped.map((r) => (r ? [int(r.end_height), fmt(r.low_ehs, 0), fmt(r.high_ehs, 0)] : null)),
      hovertemplate: "%{y:,.0f} EH/s (95 %: %{customdata[1]}–%{customdata[2]})<br>1008 blocks to %{customdata[0]}<extra></extra>" },
    HL.gapXY(gapped, endIso, (r) => r.hashrate_ehs)));
  }
  traces.push({ type: "scatter", mode: "lines+markers", name: "each period implied", x: periods.map((p) => p.time),
    y: periods.map((p) => p.implied_hashrate_ehs), line: { color: "#f7931a", width: 1.5, shape: "hv" }, marker: { size: 3 },
    customdata: periods.map((p) => int(p.height)),
    hovertemplate: "%{y:,.1f} EH/s<br>the period closed at %{customdata}, %{x|%Y-%m-%d}<extra></extra>" });
  source("hashrate-periods", [["height", "height"], ["time (UTC)", "time"], ["time source", "time_source"],
    ["implied hashrate [EH/s]", "implied_hashrate_ehs"]], periods);
  if (wins.length) {
    source("hashrate-window", [["start height", "start_height"], ["end height", "end_height"], ["end time (UTC)", (r) => isoOfUnix(r.end_time_s)],
      ["hashrate [EH/s]", "hashrate_ehs"], ["95 % low [EH/s]", "low_ehs"], ["95 % high [EH/s]", "high_ehs"]], wins);
  } else noSource("hashrate-window");
  $("hashrate-caption").textContent = "Each period's implied hashrate (its work over its duration), plotted at the adjustment that closed it" +
    (wins.length ? "; the hashrate over 1008 blocks with its 95 % interval where per-block times are stored (" + wins.length + " windows)."
      : "; no per-block windows end by " + w.as_of + (h.seriesError ? " (" + h.seriesError + ")" : "") + ".");
  return HL.timeChart($("chart-hashrate"), traces, { yTitle: "hashrate [EH/s]", scaleToggle: true, legend: true, xEnd: w.as_of,
    xStart: periods[0].time, view: 24, points: periods.length });
}

function drawHashpriceChart(w) {
  const hp = need(w, "hashprice");
  const pts = hp.series.filter((r) => r.usd_per_ph_day !== null);
  if (!pts.length) throw new Error("no USD prices stored up to " + w.as_of);
  const trace = { type: "scatter", mode: "lines", name: "hashprice", x: pts.map((r) => r.date), y: pts.map((r) => r.usd_per_ph_day),
    line: { color: "#3478c8", width: 1.3 }, hovertemplate: "$%{y:,.2f}/PH/day<br>%{x|%Y-%m-%d}<extra></extra>" };
  source("hashprice", [["date (UTC)", "date"], ["hashprice [USD/PH/day]", "usd_per_ph_day"]], pts);
  $("hashprice-atl").textContent = (hp.all_time_low ? "All-time low to " + w.as_of + ": $" + fmt(hp.all_time_low.usd_per_ph_day, 2) +
    " on " + hp.all_time_low.date : "No all-time low: no USD prices") +
    (hp.lowest_since ? " · the day's hashprice is the lowest since " + hp.lowest_since : "") + " · prices at " + hp.price_instant + ".";
  return HL.timeChart($("chart-hashprice"), [trace], { yTitle: "USD/PH/day", log: true, scaleToggle: true, xEnd: w.as_of,
    xStart: pts[0].date, points: pts.length, fitY: true });
}

// -- the tables ----------------------------------------------------------------------------------
function drawCost(w) {
  const c = need(w, "cost");
  if (!c.rows.length) throw new Error("no cost row for " + w.as_of);
  const r = c.rows[0];
  $("cost-caption").textContent = "On " + r.date + " at $" + fmt(c.power_price_usd_per_kwh, 3) + "/kWh: BTC $" + fmt(r.btc_price_usd, 0) +
    ", reward " + fmt(r.reward_btc, 4) + " BTC/block (fees: " + r.fee_source + ")." + (r.terms ? " Electricity is the power alone; " + r.terms.method + "." : "");
  rows($("cost-table").tBodies[0], r.costs.map((x) => [fmt(x.efficiency_j_per_th, 1), "$" + fmt(x.electricity_usd_per_btc, 0),
    "$" + fmt(x.all_in_cost_usd_per_btc, 0), "$" + fmt(x.hayes_usd_per_btc, 0)]));
  source("cost", [["date (UTC)", () => r.date], ["power price [USD/kWh]", () => c.power_price_usd_per_kwh],
    ["efficiency [J/TH]", "efficiency_j_per_th"], ["electricity [USD/BTC]", "electricity_usd_per_btc"],
    ["cash cost [USD/BTC]", "cash_cost_usd_per_btc"], ["all-in [USD/BTC]", "all_in_cost_usd_per_btc"], ["Hayes [USD/BTC]", "hayes_usd_per_btc"]],
  r.costs);
}

const MACHINE_COLUMNS = [["model", "model"], ["released", "released"], ["efficiency [J/TH]", "efficiency_j_per_th"],
  ["margin [fraction]", "margin"], ["profit [USD/TH/day]", "profit_usd_per_th_day"],
  ["breakeven hashprice [USD/PH/day]", "breakeven_hashprice_usd_per_ph_day"], ["switch-off BTC price [USD]", "shutdown_btc_price_usd"],
  ["pays", "pays"]];

function drawMachines(w) {
  const m = need(w, "machines");
  $("fleet-caption").textContent = m.paying + " of " + m.models.length + " models pay on " + w.as_of + " at $" +
    fmt(m.power_price_usd_per_kwh, 3) + "/kWh and a " + fmt(100 * m.pool_fee, 0) + " % pool fee.";
  rows($("fleet-table").tBodies[0], m.models.map((x) => [escapeHtml(x.model), escapeHtml(x.released), fmt(x.efficiency_j_per_th, 1),
    '<span class="' + (x.margin < 0 ? "neg" : "pos") + '">' + fmt(x.margin === null ? null : 100 * x.margin, 0) + " %</span>",
    fmt(x.breakeven_hashprice_usd_per_ph_day, 2), "$" + fmt(x.shutdown_btc_price_usd, 0), x.pays ? "yes" : "no"]));
  source("machines", MACHINE_COLUMNS, m.models);
}

function drawMiners(w) {
  const m = need(w, "miners");
  $("miners-month").textContent = m.month;
  rows($("miners-table").tBodies[0], m.rows.map((r, i) => [i + 1, escapeHtml(r.company + " (" + r.ticker + ")"),
    fmt(r.reported_btc, 1), fmt(r.expected_btc, 0), fmt(r.ratio, 2), fmt(r.hashrate_ehs, 1) + " " + escapeHtml(r.hashrate_basis || "")]));
  source("miners", [["month", () => m.month], ["company", "company"], ["ticker", "ticker"], ["BTC mined [BTC]", "reported_btc"],
    ["expected [BTC]", "expected_btc"], ["ratio", "ratio"], ["hashrate [EH/s]", "hashrate_ehs"], ["hashrate basis", "hashrate_basis"]], m.rows);
}

function drawTreasuries(w) {
  const m = need(w, "miners");
  rows($("treasury-table").tBodies[0], m.treasuries.map((t) => [t.rank, escapeHtml(t.company + " (" + t.ticker + ")"),
    fmt(t.treasury_btc, 0), escapeHtml(t.as_of)]));
  source("treasuries", [["rank", "rank"], ["company", "company"], ["ticker", "ticker"], ["treasury [BTC]", "treasury_btc"],
    ["as of", "as_of"]], m.treasuries);
}

function drawOutlook(w) {
  $("outlook-paths").textContent = "";
  $("outlook-caption").textContent = "";
  const o = need(w, "outlook");
  $("outlook-paths").textContent = "(forecast, " + String(o.basis || "") + " basis, " + int(o.paths) + " paths, seed " + o.seed + ")";
  const tr = o.track_record;
  $("outlook-caption").textContent = o.method + (tr && tr.forecasts ? " — of the last " + int(tr.forecasts) +
    " forecasts of the next adjustment from a period start, the 90 % range held " + int(tr.held_90) + "; " +
    int(tr.below_p10) + " fell below the 10th percentile, " + int(tr.above_p90) + " above the 90th." : "");
  const a = o.adjustments || [];
  rows($("outlook-table").tBodies[0], a.map((u) => [escapeHtml(u.label), int(u.height), pct(u.change_pct.p50),
    pct(u.change_pct.p05) + " to " + pct(u.change_pct.p95), fmt(100 * u.p_drop, 0) + " %"]));
  const q = (name) => (u) => u.change_pct[name];
  const t = (name) => (u) => isoOfUnix(Math.round(u.retarget_time_s[name]));
  source("outlook", [["adjustment", "label"], ["height", "height"], ["p05 [%]", q("p05")], ["p25 [%]", q("p25")],
    ["p50 [%]", q("p50")], ["p75 [%]", q("p75")], ["p95 [%]", q("p95")], ["P(drop) [fraction]", "p_drop"],
    ["date p05 (UTC)", t("p05")], ["date p50 (UTC)", t("p50")], ["date p95 (UTC)", t("p95")]], a);
  if (!a.length) throw new Error("no adjustments in the outlook");
  // plotly's box drawn from the given quantiles: whiskers 5–95 %, box 25–75 %, line the median.
  const trace = { type: "box", name: "change", x: a.map((u) => u.label + " (" + int(u.height) + ")"),
    lowerfence: a.map(q("p05")), q1: a.map(q("p25")), median: a.map(q("p50")),
    q3: a.map(q("p75")), upperfence: a.map(q("p95")),
    marker: { color: "#3478c8" }, hoverinfo: "y+name" };
  return HL.categoryChart($("chart-outlook"), [trace], { yTitle: "change [%]", zero: true, points: a.length });
}

// [name, draw(w, history), onError(e)]: a draw may return a promise (a chart being drawn).
const PANELS = [
  ["difficulty", drawDifficulty, (e) => naCard("difficulty-value", "difficulty-change", e)],
  ["hashrate", drawHashrate, (e) => naCard("hashrate-value", "hashrate-ci", e)],
  ["running_period", drawRunningPeriod, (e) => naCard("next-value", "next-detail", e)],
  ["hashprice", drawHashprice, (e) => naCard("hashprice-value", "hashprice-btc", e)],
  ["halving", drawHalving, (e) => naCard("halving-value", "halving-detail", e)],
  ["network_power", drawPower, (e) => naCard("power-value", "power-detail", e)],
  ["adjustments chart", drawAdjustments, (e) => { HL.chartMissing($("chart-adjustments"), e); naText(["adjustments-caption"], e); noSource("adjustments"); }],
  ["hashrate chart", drawHashrateChart, (e) => { HL.chartMissing($("chart-hashrate"), e); naText(["hashrate-caption"], e);
    noSource("hashrate-periods"); noSource("hashrate-window"); }],
  ["hashprice chart", drawHashpriceChart, (e) => { HL.chartMissing($("chart-hashprice"), e); naText(["hashprice-atl"], e); noSource("hashprice"); }],
  ["cost", drawCost, (e) => { naTable("cost-table", e); $("cost-caption").textContent = ""; noSource("cost"); }],
  ["machines", drawMachines, (e) => { naTable("fleet-table", e); $("fleet-caption").textContent = ""; noSource("machines"); }],
  ["miners", drawMiners, (e) => { naTable("miners-table", e); $("miners-month").textContent = ""; noSource("miners"); }],
  ["treasuries", drawTreasuries, (e) => { naTable("treasury-table", e); noSource("treasuries"); }],
  ["outlook", drawOutlook, (e) => { naTable("outlook-table", e); HL.chartMissing($("chart-outlook"), e); }],
  ["pools", (w) => HLPools.draw(w), (e) => HLPools.fail(e)],
];

async function panel(name, fn, onError) {
  try { await fn(); return null; } catch (e) { onError(e); console.warn(name + ": " + reason(e)); return name; }
}

// -- the page's one day ------------------------------------------------------------------------
let shownDay = null;  // the as-of day drawn (null: none yet)
let picked = false;  // the reader chose a day: a live update keeps it
let loads = 0;  // the latest load wins when days are picked quickly
let histories = null;  // the store's adjustment history and hashrate windows, fetched once per store version

function setNotes(lines) {
  $("notes").innerHTML = lines.map((x) => "<li>" + escapeHtml(x) + "</li>").join("");
}

// Histories the charts cut at the day; a failure leaves the day's own figures to draw.
function fetchHistories() {
  const h = { history: null, series: null, historyError: null, seriesError: null };
  return Promise.all([
    get("/v1/difficulty/history").then((x) => { h.history = x; }, (e) => { h.historyError = reason(e); }),
    get("/v1/hashrate/series").then((x) => { h.series = x; }, (e) => { h.seriesError = reason(e); }),
  ]).then(() => h);
}

async function load(day) {
  const n = ++loads;
  document.body.dataset.ready = "0";
  const url = "/v1/weekly" + (day ? "?as_of=" + encodeURIComponent(day) : "");
  if (!histories) histories = fetchHistories();
  let w;
  try {
    w = await get(url);
  } catch (e) {
    if (n !== loads) return;
    // No figures at all (e.g. an empty store, a day beyond the data): every panel says why.
    $("asof").textContent = "As of " + (day || "the latest day") + ": n/a";
    setNotes([missing(e)]);
    // The reason once, in the notes; every panel just "n/a" (not the same sentence twenty times).
    const shown = Object.assign(new Error(reason(e)), { shown: true });
    const failed = PANELS.map(([name, , onError]) => { onError(shown); return name; });
    finish(day || "", failed);
    return;
  }
  const h = await histories;
  if (n !== loads) return;
  shownDay = w.as_of;
  $("asof").textContent = "As of " + w.as_of + " (24:00 UTC)";
  $("asof-date").value = w.as_of;
  $("source-url").textContent = url;
  setNotes(w.notes.concat(w.per_block_until ? [] : ["No per-block data stored: figures come from period-level data."]));
  const failed = (await Promise.all(PANELS.map(([name, draw, onError]) => panel(name, () => draw(w, h), onError)))).filter((x) => x);
  if (n !== loads) return;
  finish(w.as_of, failed);
}

function finish(asOf, failed) {
  document.body.dataset.asof = asOf;
  document.body.dataset.missing = failed.join(", ");
  document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  document.body.dataset.ready = "1";
}

// The picker's bounds: the days /v1/weekly answers for (default: the latest).
async function bounds() {
  const d = await get("/v1/weekly/days");
  $("asof-date").min = d.first;
  $("asof-date").max = d.latest;
  return d;
}

// The store changed (a sync, an import, the followed source): fetch again; a picked day stays.
async function refresh() {
  histories = null;
  try { await bounds(); } catch (e) { console.warn("days: " + reason(e)); }
  await load(picked ? shownDay : null);
}

async function main() {
  HL.wireCsvButtons(document.querySelector("main"));
  document.querySelectorAll("button.csv").forEach((b) => { b.disabled = true; });
  const start = new URLSearchParams(location.search).get("as_of");
  picked = !!start;
  const b = bounds().catch((e) => { console.warn("days: " + reason(e)); return null; });
  $("asof-date").addEventListener("change", () => {
    const v = $("asof-date").value;
    if (!v || v === shownDay) return;
    picked = true;
    const q = new URLSearchParams(location.search);
    q.set("as_of", v);
    history.replaceState(null, "", "?" + q.toString());
    load(v);
  });
  await b;
  await load(start);
  HL.pollHealth($("live"), refresh);
}

main().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
