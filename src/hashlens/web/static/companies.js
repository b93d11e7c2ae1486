// hashlens companies page: the listed miners' quarterly results (/v1/miners/results) with the
// chain beside them, their revenue mix, and treasury flows (/v1/miners/flows). The page draws
// the API's JSON as it comes: no figure is computed here, only selected and formatted.
"use strict";

const { fmt, int, $, escapeHtml, reason, missing, get } = HL;
const usdM = (x) => (x === null || x === undefined) ? "" : (x < 0 ? "−$" : "$") + fmt(Math.abs(x), 1) + " m";
const share = (x) => (x === null || x === undefined) ? "" : fmt(100 * x, 1) + " %";
const btc = (x, d = 0) => (x === null || x === undefined) ? "" : fmt(x, d);
const span = (lo, hi) => (hi === null || hi === undefined) ? "≥ " + btc(lo) : (Math.abs(hi - lo) < 0.5 ? btc(lo) : btc(lo) + "–" + btc(hi));
// The revenue segments the API groups a period's revenue into, in the chart's stacking order.
const SEGMENTS = [["mining", "mining", "#f7931a"], ["ai_hpc", "AI/HPC", "#3478c8"], ["hosting", "hosting", "#7f8c8d"],
  ["engineering", "engineering", "#8e44ad"], ["machine_sales", "machine sales", "#1e8449"], ["other", "other (staking)", "#b7950b"]];

const drawn = {};
function source(name, columns, list) {
  drawn[name] = { filename: "hashlens-" + name + (shownDay ? "-" + shownDay : "") + ".csv", columns, rows: list };
  HL.csvReady(name, true);
}
function noSource(name) { delete drawn[name]; HL.csvReady(name, false); }
["mix", "results", "facts", "flows"].forEach((name) => HL.csvProvider(name, () => drawn[name]));

const fact = (r, metric) => { const f = r.facts.find((x) => x.metric === metric); return f ? f.value : null; };
const label = (r) => r.ticker + " " + r.period;

// -- the revenue mix -------------------------------------------------------------------------
function drawMix(answer) {
  const list = answer.results.filter((r) => r.revenue_mix);
  if (!list.length) throw new Error("no period with revenue by segment is stored" + (answer.as_of ? " as of " + answer.as_of : ""));
  const x = list.map(label);
  const traces = SEGMENTS.map(([key, name, color]) => ({
    type: "bar", name, x, y: list.map((r) => r.revenue_mix.by_segment_usd_m[key] || 0), marker: { color },
    customdata: list.map((r) => [r.company, r.period_end, share(r.revenue_mix.ai_hpc_share)]),
    hovertemplate: "%{customdata[0]}, to %{customdata[1]}<br>" + name + ": $%{y:,.1f} m<br>AI/HPC share %{customdata[2]}<extra></extra>",
  })).filter((t) => t.y.some((v) => v > 0));
  traces.push({ type: "bar", name: "not split out", x, y: list.map((r) => Math.max(r.revenue_mix.unidentified_usd_m, 0)),
    marker: { color: "#d5d8dc" }, hovertemplate: "not split out: $%{y:,.1f} m<extra></extra>" });
  source("mix", [["ticker", "ticker"], ["company", "company"], ["period", "period"], ["period end", "period_end"]]
    .concat(SEGMENTS.map(([key, name]) => [name + " [USD m]", (r) => r.revenue_mix.by_segment_usd_m[key] ?? null]))
    .concat([["not split out [USD m]", (r) => r.revenue_mix.unidentified_usd_m], ["total [USD m]", (r) => r.revenue_mix.total_usd_m],
      ["total basis", (r) => r.revenue_mix.total_basis], ["AI/HPC share [fraction]", (r) => r.revenue_mix.ai_hpc_share]]), list);
  $("mix-caption").textContent = list.length + " periods with revenue by segment; the AI/HPC share is AI cloud, HPC lease and HPC " +
    "colocation revenue over the reported total (else the sum of the segments).";
  return HL.categoryChart($("chart-mix"), traces, { yTitle: "USD m", legend: true, points: list.length })
    .then(() => Plotly.relayout($("chart-mix"), { barmode: "stack" }));
}

// -- one table per company ---------------------------------------------------------------------
const RESULT_COLUMNS = [["ticker", "ticker"], ["company", "company"], ["period", "period"], ["period start", "period_start"],
  ["period end", "period_end"], ["published", "published"], ["published basis", "published_basis"],
  ["revenue [USD m]", (r) => fact(r, "revenue_total")], ["mining revenue [USD m]", (r) => fact(r, "revenue_mining")],
  ["AI/HPC revenue [USD m]", (r) => r.revenue_mix ? r.revenue_mix.ai_hpc_usd_m : null],
  ["AI/HPC share [fraction]", (r) => r.revenue_mix ? r.revenue_mix.ai_hpc_share : null],
  ["operating income [USD m]", (r) => fact(r, "operating_income")], ["net income [USD m]", (r) => fact(r, "net_income")],
  ["BTC produced [BTC]", (r) => fact(r, "btc_produced")], ["expected BTC [BTC]", (r) => r.production ? r.production.expected_btc : null],
  ["reported/expected", (r) => r.production ? r.production.ratio : null],
  ["hashrate used [EH/s]", (r) => r.production ? r.production.hashrate_ehs : (r.realised ? r.realised.hashrate_ehs : null)],
  ["hashrate basis", (r) => r.production ? r.production.hashrate_basis : (r.realised ? r.realised.hashrate_basis : null)],
  ["revenue per PH/s per day [USD]", (r) => r.realised ? r.realised.realised_usd_per_ph_day : null],
  ["network hashprice [USD/PH/day]", (r) => r.realised ? r.realised.network_usd_per_ph_day : null],
  ["own cost metrics", (r) => r.costs.map((c) => c.metric + "=" + c.reported_usd_per_btc).join("; ") || null],
  ["network electricity cost [USD/BTC]", (r) => r.costs.length ? r.costs[0].network_electricity_usd_per_btc : null],
  ["BTC held [BTC]", (r) => fact(r, "btc_holdings")]];

function costCell(r) {
  return r.costs.map((c) => '<span title="' + escapeHtml(c.definition) + '">' + escapeHtml(c.metric.replace(/_/g, " ")) + " $" +
    fmt(c.reported_usd_per_btc, 0) + " = " + fmt(c.ratio, 2) + "× $" + fmt(c.network_electricity_usd_per_btc, 0) + "</span>").join("<br>");
}
function productionCell(r) {
  const p = r.production;
  if (!p) return "";
  return '<span title="' + escapeHtml(p.notes.join("; ")) + '">' + btc(p.expected_btc) + " (" + fmt(p.ratio, 2) + ") at " +
    fmt(p.hashrate_ehs, 1) + " EH/s " + escapeHtml(p.hashrate_basis.split(" (")[0]) + "</span>";
}
function realisedCell(r) {
  const q = r.realised;
  if (!q || q.network_usd_per_ph_day === null) return "";
  return "$" + fmt(q.realised_usd_per_ph_day, 2) + " vs $" + fmt(q.network_usd_per_ph_day, 2) + " (" + fmt(q.ratio, 2) + "×)";
}
function marginCell(r) {
  const m = r.mining_margin;
  if (!m) return "";
  return "mining cost " + usdM(m.cost_mining_usd_m) + " = " + fmt(m.cost_to_revenue, 2) + "× mining revenue" +
    (m.cash_margin_usd_m !== null ? "; before depreciation " + usdM(m.cash_margin_usd_m) : "");
}

function drawCompanies(answer) {
  const byTicker = new Map();
  answer.results.forEach((r) => { if (!byTicker.has(r.ticker)) byTicker.set(r.ticker, []); byTicker.get(r.ticker).push(r); });
  if (!byTicker.size) throw new Error("no results stored" + (answer.as_of ? " published by " + answer.as_of : ""));
  const head = "<thead><tr><th>period (ended)</th><th>revenue</th><th>mining</th><th>AI/HPC</th>" +
    "<th>operating income</th><th>net income</th><th>BTC produced</th><th>expected BTC (ratio)</th>" +
    "<th>own cost per BTC vs network electricity</th><th>revenue per PH/s/day vs hashprice</th><th>BTC held</th></tr></thead>";
  const html = [...byTicker.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([ticker, list]) => {
    const rows = list.map((r) => {
      const mix = r.revenue_mix;
      return '<tr><td title="' + escapeHtml("published " + r.published + " (" + r.published_basis + ")") + '">' +
        escapeHtml(r.period + " (" + r.period_end + ")") + "</td><td>" + usdM(fact(r, "revenue_total")) + "</td><td>" +
        usdM(fact(r, "revenue_mining")) + "</td><td>" + (mix && mix.ai_hpc_share !== null ? usdM(mix.ai_hpc_usd_m) + " (" + share(mix.ai_hpc_share) + ")" : "") +
        "</td><td>" + usdM(fact(r, "operating_income")) + "</td><td>" + usdM(fact(r, "net_income")) + "</td><td>" + btc(fact(r, "btc_produced"), 1) +
        "</td><td>" + productionCell(r) + "</td><td>" + costCell(r) + "</td><td>" + realisedCell(r) + "</td><td>" +
        btc(fact(r, "btc_holdings")) + "</td></tr>";
    }).join("");
    const notes = list.flatMap((r) => [marginCell(r)].concat(r.notes).filter((x) => x).map((x) => r.period + ": " + x));
    return '<section class="company" data-ticker="' + escapeHtml(ticker) + '"><h3>' + escapeHtml(list[0].company + " (" + ticker + ")") +
      '</h3><div class="scroll"><table class="results-table">' + head + "<tbody>" + rows + "</tbody></table></div>" +
      (notes.length ? '<ul class="muted">' + notes.map((x) => "<li>" + escapeHtml(x) + "</li>").join("") + "</ul>" : "") + "</section>";
  }).join("");
  $("company-tables").innerHTML = html;
  source("results", RESULT_COLUMNS, answer.results);
  const facts = answer.results.flatMap((r) => r.facts.map((f) => Object.assign({ ticker: r.ticker, company: r.company, period: r.period,
    period_end: r.period_end, published: r.published }, f)));
  source("facts", [["ticker", "ticker"], ["company", "company"], ["period", "period"], ["period end", "period_end"],
    ["metric", "metric"], ["value", "value"], ["unit", "unit"], ["definition", "description"], ["source", "source"], ["note", "note"],
    ["published", "published"]], facts);
}

// -- treasury flows ------------------------------------------------------------------------------
function drawFlows(answer) {
  const list = answer.flows;
  const body = $("flows-table").tBodies[0];
  if (!list.length) throw new Error("no company has two published holdings figures" + (answer.as_of ? " by " + answer.as_of : ""));
  body.innerHTML = list.map((f) => {
    const unknown = f.produced_high_btc === null && f.produced_low_btc === 0;
    return "<tr><td>" + escapeHtml(f.company + " (" + f.ticker + ")") + "</td><td>" + escapeHtml(f.start.day + " → " + f.end.day) +
      "</td><td>" + btc(f.start.btc) + " → " + btc(f.end.btc) + '</td><td class="' + (f.change_btc < 0 ? "neg" : "pos") + '">' +
      (f.change_btc > 0 ? "+" : "") + btc(f.change_btc) + "</td><td>" + (unknown ? "not published" : span(f.produced_low_btc, f.produced_high_btc)) +
      "</td><td>" + (unknown ? "" : span(f.implied_sold_low_btc, f.implied_sold_high_btc)) + "</td><td>" + btc(f.stated_sold_btc, 1) + "</td></tr>";
  }).join("");
  $("flow-flags").innerHTML = list.filter((f) => f.flag).map((f) => "<li>" + escapeHtml(f.company + " (to " + f.end.day + "): " + f.flag) + "</li>").join("");
  source("flows", [["ticker", "ticker"], ["company", "company"], ["from", (f) => f.start.day], ["to", (f) => f.end.day],
    ["holdings at start [BTC]", (f) => f.start.btc], ["holdings at end [BTC]", (f) => f.end.btc], ["change [BTC]", "change_btc"],
    ["produced, low [BTC]", "produced_low_btc"], ["produced, high [BTC]", "produced_high_btc"],
    ["implied sold, low [BTC]", "implied_sold_low_btc"], ["implied sold, high [BTC]", "implied_sold_high_btc"],
    ["stated sold [BTC]", "stated_sold_btc"], ["production basis", (f) => f.production_basis.join("; ")], ["flag", "flag"]], list);
}

// -- the page ------------------------------------------------------------------------------------
let shownDay = null, loads = 0;

function query(day) {
  const q = new URLSearchParams();
  if (day) q.set("as_of", day);
  ["efficiency_j_per_th", "power_price_usd_per_kwh"].forEach((id) => { const v = $(id).value.trim(); if (v !== "") q.set(id, v); });
  return q;
}

async function load(day) {
  const n = ++loads;
  document.body.dataset.ready = "0";
  const q = query(day), flowsQ = new URLSearchParams(day ? { as_of: day } : {});
  const url = "/v1/miners/results" + (q.toString() ? "?" + q : "");
  let results = null, flows = null, error = null;
  try {
    [results, flows] = await Promise.all([get(url), get("/v1/miners/flows" + (flowsQ.toString() ? "?" + flowsQ : ""))]);
  } catch (e) { error = e; }
  if (n !== loads) return;
  $("form-error").textContent = error ? reason(error) : "";
  shownDay = day || null;
  $("asof").textContent = "Listed companies" + (day ? ", published by " + day : "");
  $("source-url").textContent = url;
  const failed = [];
  const panel = async (name, fn, onError) => { try { await fn(); } catch (e) { onError(e); failed.push(name); } };
  await panel("mix", () => { if (error) throw error; return drawMix(results); }, (e) => { HL.chartMissing($("chart-mix"), e); $("mix-caption").textContent = ""; noSource("mix"); });
  await panel("results", () => { if (error) throw error; drawCompanies(results); },
    (e) => { $("company-tables").textContent = missing(e); noSource("results"); noSource("facts"); });
  await panel("flows", () => { if (error) throw error; drawFlows(flows); },
    (e) => { $("flows-table").tBodies[0].innerHTML = '<tr class="na"><td colspan="7">' + escapeHtml(missing(e)) + "</td></tr>";
      $("flow-flags").innerHTML = ""; noSource("flows"); });
  const rule = results ? results.lag_rule : (flows ? flows.lag_rule : "");
  $("method").innerHTML = [rule, "Network electricity cost per BTC at the reference machine over the period: power of ε J/TH at the power price " +
    "over the BTC 1 TH/s mines in each difficulty segment (hashlens.miners.results).",
    "Expected BTC: the company's hashrate over the period's difficulty segments at each month's mean reward (the monthly method, " +
    "hashlens.miners.expected)."].filter((x) => x).map((x) => "<li>" + escapeHtml(x) + "</li>").join("");
  $("notes").innerHTML = day ? "<li>" + escapeHtml("Only figures published by " + day + " count (the publication-lag rule below).") + "</li>" : "";
  document.body.dataset.asof = day || "";
  document.body.dataset.missing = failed.join(", ");
  document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  document.body.dataset.ready = "1";
}

async function main() {
  HL.wireCsvButtons(document.querySelector("main"));
  document.querySelectorAll("button.csv").forEach((b) => { b.disabled = true; });
  const start = new URLSearchParams(location.search).get("as_of");
  if (start) $("asof-date").value = start;
  const reload = () => load($("asof-date").value || null);
  $("asof-date").addEventListener("change", () => {
    const v = $("asof-date").value, q = new URLSearchParams(location.search);
    if (v) q.set("as_of", v); else q.delete("as_of");
    history.replaceState(null, "", q.toString() ? "?" + q : location.pathname);
    reload();
  });
  ["efficiency_j_per_th", "power_price_usd_per_kwh"].forEach((id) => $(id).addEventListener("change", reload));
  await load(start);
  HL.pollHealth($("live"), reload);
}

main().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
