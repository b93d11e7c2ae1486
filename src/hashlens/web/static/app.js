// hashlens dashboard: draws one response of /v1/weekly (every figure of the weekly report as of
// one day) on canvas; no external libraries, no other endpoint, no arithmetic beyond formatting.
"use strict";

const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x)) ? "n/a"
  : x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x) => (x === null || x === undefined) ? "n/a" : (x >= 0 ? "+" : "") + fmt(x, 2) + " %";
const int = (x) => (x === null || x === undefined) ? "n/a" : x.toLocaleString("en-US");
const $ = (id) => document.getElementById(id);
// An ISO instant as "2026-01-22 19:31 UTC", with its source (stored, retarget-implied, estimated).
const when = (iso, source) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "n/a") + (source ? " (" + source + ")" : "");

// A failed request throws the API's own message (its "detail"), so a panel can say why it is empty.
async function get(path, opts) {
  const r = await fetch(path, opts);
  if (!r.ok) {
    let detail = "HTTP " + r.status;
    try { const body = await r.json(); if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return r.json();
}

const reason = (e) => (e && e.message ? e.message : String(e)).replace(/\s+/g, " ").slice(0, 200);
const missing = (e) => "n/a — " + reason(e);

// Each panel draws on its own: a section the day lacks leaves that panel saying why, not a blank page.
function naText(ids, e) { ids.forEach((id) => { const el = $(id); if (el) el.textContent = missing(e); }); }
// A card: a short "n/a" as its figure, the reason on the line below.
function naCard(valueId, detailId, e) { $(valueId).textContent = "n/a"; $(detailId).textContent = missing(e); }
function naTable(id, e) {
  const t = $(id), n = t.tHead ? t.tHead.rows[0].cells.length : 1;
  t.tBodies[0].innerHTML = '<tr class="na"><td colspan="' + n + '">' + escapeHtml(missing(e)) + "</td></tr>";
}
function naChart(id, e) {
  const c = $(id), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height); ctx.fillStyle = "#666"; ctx.font = "14px sans-serif";
  ctx.fillText(missing(e), 20, c.height / 2); c.dataset.points = "0";
}
function escapeHtml(x) {
  return String(x).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}
function panel(name, fn, onError) {
  try { fn(); return null; } catch (e) { onError(e); console.warn(name + ": " + reason(e)); return name; }
}
// A section of the weekly figures, or an error carrying the reason the API gives for its absence.
function need(w, key) {
  if (w[key] === null || w[key] === undefined) throw new Error((w.missing && w.missing[key]) || "not in the figures for " + w.as_of);
  return w[key];
}
// Spans with ids, so a figure can be read back from the page.
const span = (id, text, cls) => '<span id="' + id + '"' + (cls ? ' class="' + cls + '"' : "") + ">" + escapeHtml(text) + "</span>";

// A small line/bar chart: xs are numbers (ms or index), series [{ys, color, fill:[lo,hi]}].
function chart(canvas, xs, series, opts = {}) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 70, R = 12, T = 12, B = 28;
  ctx.clearRect(0, 0, W, H);
  const all = [];
  series.forEach((s) => { s.ys.forEach((y) => { if (Number.isFinite(y)) all.push(y); });
    if (s.band) s.band.flat().forEach((y) => { if (Number.isFinite(y)) all.push(y); }); });
  if (!all.length) return;
  const tr = opts.log ? (v) => Math.log10(v) : (v) => v;
  let lo = Math.min(...all.map(tr)), hi = Math.max(...all.map(tr));
  if (opts.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const px = (x) => L + (W - L - R) * (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0));
  const py = (y) => T + (H - T - B) * (1 - (tr(y) - lo) / (hi - lo));
  ctx.strokeStyle = "#ddd"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4, y = T + (H - T - B) * (1 - i / 4);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    const label = opts.log ? Math.pow(10, v) : v;
    ctx.fillText(label.toLocaleString("en-US", { maximumFractionDigits: Math.abs(label) < 10 ? 2 : 0 }), 4, y + 4);
  }
  if (opts.dates) {
    [x0, (x0 + x1) / 2, x1].forEach((x) => ctx.fillText(new Date(x).toISOString().slice(0, 10), px(x) - 30, H - 8));
  }
  series.forEach((s) => {
    if (s.band) {
      ctx.fillStyle = s.bandColor || "rgba(52,120,200,0.2)"; ctx.beginPath();
      xs.forEach((x, i) => { const y = py(s.band[1][i]); i ? ctx.lineTo(px(x), y) : ctx.moveTo(px(x), y); });
      for (let i = xs.length - 1; i >= 0; i--) ctx.lineTo(px(xs[i]), py(s.band[0][i]));
      ctx.closePath(); ctx.fill();
    }
    if (s.bars) {
      const w = Math.max(2, (W - L - R) / xs.length - 2);
      xs.forEach((x, i) => { const y = s.ys[i]; ctx.fillStyle = y < 0 ? "#c0392b" : "#1e8449";
        ctx.fillRect(px(x) - w / 2, Math.min(py(y), py(0)), w, Math.abs(py(y) - py(0))); });
    } else {
      ctx.strokeStyle = s.color || "#3478c8"; ctx.lineWidth = 1.5; ctx.beginPath();
      let started = false;
      xs.forEach((x, i) => { const y = s.ys[i]; if (!Number.isFinite(y)) return;
        started ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y)); started = true; });
      ctx.stroke();
    }
  });
  canvas.dataset.points = String(xs.length);
}

function rows(tbody, list) {
  tbody.innerHTML = list.map((cells) => "<tr>" + cells.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("");
}

// -- panels: each draws one section of the weekly figures ---------------------------------------
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
  if (!rp.hashlens) {
    $("next-value").textContent = "n/a";
    $("next-detail").innerHTML = start + " · " + escapeHtml(missing(new Error(rp.note)));
    return;
  }
  const h = rp.hashlens;
  $("next-value").textContent = pct(h.change_pct);
  $("next-detail").innerHTML = start + ' · <span class="forecast">~' + escapeHtml(when(h.estimated_retarget_time, "estimated")) +
    "</span> · 90 %: " + escapeHtml(pct(h.change_low_pct) + " to " + pct(h.change_high_pct)) + " · " + int(rp.blocks_in_period) +
    " blocks in" + (rp.mempool ? " · mempool method " + escapeHtml(pct(rp.mempool.change_pct)) : "");
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

function drawAdjustments(w) {
  const recent = need(w, "difficulty").recent;
  chart($("chart-adjustments"), recent.map((_, i) => i), [{ ys: recent.map((x) => x.change_pct), bars: true }], { zero: true });
  const first = recent[0], last = recent[recent.length - 1];
  const sources = [...new Set(recent.map((x) => x.time_source))].join(", ");
  $("adjustments-caption").textContent = recent.length + " adjustments from " + int(first.height) + " (" + (first.time || "").slice(0, 10) +
    ") to " + int(last.height) + " (" + (last.time || "").slice(0, 10) + "); times " + sources + ".";
}

function drawHashrateChart(w) {
  const recent = need(w, "difficulty").recent.filter((x) => x.time && Number.isFinite(x.implied_hashrate_ehs));
  if (!recent.length) throw new Error("no dated periods before " + w.as_of);
  chart($("chart-hashrate"), recent.map((x) => Date.parse(x.time)), [{ ys: recent.map((x) => x.implied_hashrate_ehs) }], { dates: true });
  $("hashrate-caption").textContent = "The hashrate each of the last " + recent.length +
    " periods implied (its work over its duration), plotted at the adjustment that closed it.";
}

function drawHashpriceChart(w) {
  const hp = need(w, "hashprice");
  const pts = hp.series.filter((r) => r.usd_per_ph_day !== null);
  if (!pts.length) throw new Error("no USD prices stored up to " + w.as_of);
  chart($("chart-hashprice"), pts.map((r) => Date.parse(r.date)), [{ ys: pts.map((r) => r.usd_per_ph_day) }], { log: true, dates: true });
  $("hashprice-atl").textContent = (hp.all_time_low ? "All-time low to " + w.as_of + ": $" + fmt(hp.all_time_low.usd_per_ph_day, 2) +
    " on " + hp.all_time_low.date : "No all-time low: no USD prices") +
    (hp.lowest_since ? " · the day's hashprice is the lowest since " + hp.lowest_since : "") + " · prices at " + hp.price_instant + ".";
}

function drawCost(w) {
  const c = need(w, "cost");
  if (!c.rows.length) throw new Error("no cost row for " + w.as_of);
  const r = c.rows[0];
  $("cost-caption").textContent = "On " + r.date + " at $" + fmt(c.power_price_usd_per_kwh, 3) + "/kWh: BTC $" + fmt(r.btc_price_usd, 0) +
    ", reward " + fmt(r.reward_btc, 4) + " BTC/block (fees: " + r.fee_source + ").";
  rows($("cost-table").tBodies[0], r.costs.map((x) => [fmt(x.efficiency_j_per_th, 1), "$" + fmt(x.electricity_usd_per_btc, 0),
    "$" + fmt(x.all_in_cost_usd_per_btc, 0), "$" + fmt(x.hayes_usd_per_btc, 0)]));
}

function drawMachines(w) {
  const m = need(w, "machines");
  $("fleet-caption").textContent = m.paying + " of " + m.models.length + " models pay on " + w.as_of + " at $" +
    fmt(m.power_price_usd_per_kwh, 3) + "/kWh and a " + fmt(100 * m.pool_fee, 0) + " % pool fee.";
  rows($("fleet-table").tBodies[0], m.models.map((x) => [escapeHtml(x.model), escapeHtml(x.released), fmt(x.efficiency_j_per_th, 1),
    '<span class="' + (x.margin < 0 ? "neg" : "pos") + '">' + fmt(x.margin === null ? null : 100 * x.margin, 0) + " %</span>",
    fmt(x.breakeven_hashprice_usd_per_ph_day, 2), "$" + fmt(x.shutdown_btc_price_usd, 0), x.pays ? "yes" : "no"]));
}

function drawMiners(w) {
  const m = need(w, "miners");
  $("miners-month").textContent = m.month;
  rows($("miners-table").tBodies[0], m.rows.map((r, i) => [i + 1, escapeHtml(r.company + " (" + r.ticker + ")"),
    fmt(r.reported_btc, 1), fmt(r.expected_btc, 0), fmt(r.ratio, 2), fmt(r.hashrate_ehs, 1) + " " + escapeHtml(r.hashrate_basis || "")]));
}

function drawTreasuries(w) {
  const m = need(w, "miners");
  rows($("treasury-table").tBodies[0], m.treasuries.map((t) => [t.rank, escapeHtml(t.company + " (" + t.ticker + ")"),
    fmt(t.treasury_btc, 0), escapeHtml(t.as_of)]));
}

function drawOutlook(w) {
  $("outlook-paths").textContent = "";
  $("outlook-caption").textContent = "";
  const o = need(w, "outlook");
  $("outlook-paths").textContent = "(forecast, " + String(o.basis || "") + " basis, " + int(o.paths) + " paths, seed " + o.seed + ")";
  const tr = o.track_record;
  $("outlook-caption").textContent = o.method + (tr && tr.forecasts ? " — of the last " + int(tr.forecasts) +
    " forecasts of the next adjustment, the 90 % range held " + int(tr.held_90) + "." : "");
  rows($("outlook-table").tBodies[0], o.rows.map((u) => [escapeHtml(u.label), int(u.height), pct(u.change_pct_p50),
    pct(u.change_pct_p05) + " to " + pct(u.change_pct_p95), fmt(100 * u.p_drop, 0) + " %"]));
}

const PANELS = [
  ["difficulty", drawDifficulty, (e) => naCard("difficulty-value", "difficulty-change", e)],
  ["hashrate", drawHashrate, (e) => naCard("hashrate-value", "hashrate-ci", e)],
  ["running_period", drawRunningPeriod, (e) => naCard("next-value", "next-detail", e)],
  ["hashprice", drawHashprice, (e) => naCard("hashprice-value", "hashprice-btc", e)],
  ["halving", drawHalving, (e) => naCard("halving-value", "halving-detail", e)],
  ["network_power", drawPower, (e) => naCard("power-value", "power-detail", e)],
  ["adjustments chart", drawAdjustments, (e) => { naChart("chart-adjustments", e); naText(["adjustments-caption"], e); }],
  ["hashrate chart", drawHashrateChart, (e) => { naChart("chart-hashrate", e); naText(["hashrate-caption"], e); }],
  ["hashprice chart", drawHashpriceChart, (e) => { naChart("chart-hashprice", e); naText(["hashprice-atl"], e); }],
  ["cost", drawCost, (e) => { naTable("cost-table", e); $("cost-caption").textContent = ""; }],
  ["machines", drawMachines, (e) => { naTable("fleet-table", e); $("fleet-caption").textContent = ""; }],
  ["miners", drawMiners, (e) => { naTable("miners-table", e); $("miners-month").textContent = ""; }],
  ["treasuries", drawTreasuries, (e) => naTable("treasury-table", e)],
  ["outlook", drawOutlook, (e) => naTable("outlook-table", e)],
];

// -- the page's one day ------------------------------------------------------------------------
let shown = null;  // the as-of day drawn (null: none yet)
let picked = false;  // the reader chose a day: the periodic refresh keeps it
let loads = 0;  // the latest load wins when days are picked quickly

function setNotes(lines) {
  $("notes").innerHTML = lines.map((x) => "<li>" + escapeHtml(x) + "</li>").join("");
}

async function load(day) {
  const n = ++loads;
  document.body.dataset.ready = "0";
  const url = "/v1/weekly" + (day ? "?as_of=" + encodeURIComponent(day) : "");
  let w;
  try {
    w = await get(url);
  } catch (e) {
    if (n !== loads) return;
    // No figures at all (e.g. an empty store, a day beyond the data): every panel says why.
    $("asof").textContent = "As of " + (day || "the latest day") + ": n/a";
    setNotes([missing(e)]);
    const failed = PANELS.map(([name, , onError]) => { onError(e); return name; });
    finish(day || "", failed);
    return;
  }
  if (n !== loads) return;
  shown = w.as_of;
  $("asof").textContent = "As of " + w.as_of + " (24:00 UTC)";
  $("asof-date").value = w.as_of;
  $("source-url").textContent = url;
  setNotes(w.notes.concat(w.per_block_until ? [] : ["No per-block data stored: figures come from period-level data."]));
  const failed = PANELS.map(([name, draw, onError]) => panel(name, () => draw(w), onError)).filter((x) => x);
  finish(w.as_of, failed);
}

function finish(asOf, failed) {
  document.body.dataset.asof = asOf;
  document.body.dataset.missing = failed.join(", ");
  document.body.dataset.ready = "1";
}

// The picker's bounds: the days /v1/weekly answers for (default: the latest).
async function bounds() {
  const d = await get("/v1/weekly/days");
  $("asof-date").min = d.first;
  $("asof-date").max = d.latest;
  return d;
}

async function main() {
  const start = new URLSearchParams(location.search).get("as_of");
  picked = !!start;
  const b = bounds().catch((e) => { console.warn("days: " + reason(e)); return null; });
  $("asof-date").addEventListener("change", () => {
    const v = $("asof-date").value;
    if (!v || v === shown) return;
    picked = true;
    history.replaceState(null, "", "?as_of=" + v);
    load(v);
  });
  await b;
  await load(start);
}

// Every five minutes: newer data move the default day; a picked day stays.
setInterval(async () => {
  try { const d = await bounds(); if (!picked && d.latest !== shown) await load(null); } catch (_) { /* keep the page */ }
}, 300000);

main().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
