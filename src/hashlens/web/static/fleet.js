// hashlens fleet page: a fleet and its terms in, POST /v1/outlook out — the outlook fan, the
// probability of payback and running always beside switching off. The page only collects
// inputs (percent fields are sent as fractions) and draws the response; the outlook is the
// server's (hashlens.sim.fleet_outlook, the function `hashlens outlook` calls).
"use strict";

const { fmt, int, $, escapeHtml, reason } = HL;
const usd = (x) => (x === null || x === undefined || !Number.isFinite(x)) ? "n/a" : (x < 0 ? "−$" : "$") + fmt(Math.abs(x), 0);
const share = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x)) ? "n/a" : fmt(100 * x, d) + " %";
const POLICIES = [["run_always", "run always"], ["switch_off", "switch off"]];

// -- the fleet's rows --------------------------------------------------------------------------
// Each row is a fleet record as POST /v1/outlook takes it; the table edits model, count, capex
// and power price, and keeps any other fields an uploaded file gave (hashrate_ths, power_w, …).
let fleet = [{ model: "", count: null }];

function rowHtml(r, i) {
  const v = (x) => (x === null || x === undefined ? "" : escapeHtml(String(x)));
  const custom = !r.model && r.hashrate_ths ? "custom: " + r.hashrate_ths + " TH/s" : "";
  return '<tr data-i="' + i + '">' +
    '<td class="model"><input name="model" list="asic-models" placeholder="' + escapeHtml(custom || "e.g. S21 XP") + '" value="' + v(r.model) +
    '" aria-label="model of row ' + (i + 1) + '"></td>' +
    '<td class="count"><input name="count" type="number" min="0" step="1" value="' + v(r.count) + '" aria-label="count of row ' + (i + 1) + '"></td>' +
    '<td class="price"><input name="machine_price_usd" type="number" min="0" step="any" placeholder="default" value="' + v(r.machine_price_usd) +
    '" aria-label="capex per machine of row ' + (i + 1) + '"></td>' +
    '<td class="price"><input name="power_price_usd_per_kwh" type="number" min="0" step="any" placeholder="default" value="' +
    v(r.power_price_usd_per_kwh) + '" aria-label="power price of row ' + (i + 1) + '"></td>' +
    '<td><button type="button" class="remove" aria-label="remove row ' + (i + 1) + '">×</button></td></tr>';
}
function drawRows() { $("fleet-rows").tBodies[0].innerHTML = fleet.map(rowHtml).join(""); }

function onRowInput(ev) {
  const tr = ev.target.closest("tr[data-i]");
  if (!tr || !ev.target.name) return;
  const r = fleet[Number(tr.dataset.i)], name = ev.target.name, raw = ev.target.value.trim();
  if (name === "model") r.model = raw;
  else r[name] = raw === "" ? null : Number(raw);
}
function onRowClick(ev) {
  const b = ev.target.closest("button.remove");
  if (!b) return;
  fleet.splice(Number(b.closest("tr").dataset.i), 1);
  if (!fleet.length) fleet.push({ model: "", count: null });
  drawRows();
}

// -- uploads: CSV with a header row, or JSON (a list of rows, or {machines: [...]}) ------------
function parseCsv(text) {
  const out = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(cell); cell = ""; } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); cell = "";
      if (row.some((c) => c.trim() !== "")) out.push(row);
      row = [];
    } else cell += ch;
  }
  row.push(cell);
  if (row.some((c) => c.trim() !== "")) out.push(row);
  return out;
}
const NUMERIC = new Set(["count", "hashrate_ths", "power_w", "efficiency_j_per_th", "power_price_usd_per_kwh", "machine_price_usd"]);
function recordsFromCsv(text, name) {
  const table = parseCsv(text.replace(/^\uFEFF/, ""));
  if (table.length < 2) throw new Error(name + ": a header row and at least one machine are needed");
  const head = table[0].map((h) => h.trim().toLowerCase());
  if (!head.includes("count")) throw new Error(name + ": no 'count' column (columns: " + head.join(", ") + ")");
  return table.slice(1).map((cells, k) => {
    const r = {};
    head.forEach((h, j) => {
      const c = (cells[j] || "").trim();
      if (!h || c === "") return;
      if (NUMERIC.has(h)) {
        const x = Number(c);
        if (!Number.isFinite(x)) throw new Error(name + ": row " + (k + 1) + ": " + h + " is not a number (" + c + ")");
        r[h] = x;
      } else r[h] = c;
    });
    return r;
  });
}
function recordsFromJson(text, name) {
  const data = JSON.parse(text);
  const list = Array.isArray(data) ? data : data && Array.isArray(data.machines) ? data.machines : null;
  if (!list) throw new Error(name + ": expected a list of machines or {\"machines\": [...]}");
  return list;
}
async function onUpload() {
  const f = $("fleet-file").files[0];
  if (!f) return;
  try {
    const text = await f.text();
    const list = /\.json$/i.test(f.name) || /^\s*[[{]/.test(text) ? recordsFromJson(text, f.name) : recordsFromCsv(text, f.name);
    if (!list.length) throw new Error(f.name + ": no machines");
    fleet = list.map((r) => Object.assign({}, r));
    drawRows();
    $("form-error").textContent = "";
    $("run-status").textContent = "Loaded " + list.length + " rows from " + f.name + ".";
  } catch (e) {
    $("form-error").textContent = reason(e);
  }
}

// -- the request -------------------------------------------------------------------------------
// A number field's value, or undefined when empty (the server's default then applies).
function num(id) {
  const raw = $(id).value.trim();
  if (raw === "") return undefined;
  const x = Number(raw);
  if (!Number.isFinite(x)) throw new Error($(id).closest("label").firstChild.textContent.trim() + ": not a number");
  return x;
}
// Percent fields are shown as % and sent as the fractions the API takes.
const frac = (id) => { const x = num(id); return x === undefined ? undefined : x / 100; };

function buildRequest() {
  const machines = fleet.map((r) => {
    const out = {};
    Object.entries(r).forEach(([k, v]) => { if (v !== null && v !== undefined && v !== "") out[k] = v; });
    return out;
  }).filter((r) => Object.keys(r).length);
  const body = {
    machines,
    capex_usd_per_machine: num("capex_usd_per_machine"),
    power_price_usd_per_kwh: num("power_price_usd_per_kwh"),
    hosting_usd_per_kwh: num("hosting_usd_per_kwh"),
    hosting_usd_per_kw_month: num("hosting_usd_per_kw_month"),
    pool_fee: frac("pool_fee_pct"),
    uptime: frac("uptime_pct"),
    pue: num("pue"),
    depreciation_months: num("depreciation_months"),
    salvage_share: frac("salvage_pct"),
    hold_share: frac("hold_pct"),
    hold_basis: $("hold_basis").value,
    profit_fee: frac("profit_fee_pct"),
    discount_rate_annual: frac("discount_rate_pct"),
    months: num("months"),
    paths: num("paths"),
    seed: num("seed"),
    price_drift_annual: frac("price_drift_pct"),
    btc_price_usd: num("btc_price_usd"),
    price_volatility_annual: frac("price_volatility_pct"),
    difficulty_growth_pct_per_adjustment: num("difficulty_growth_pct_per_adjustment"),
    difficulty_increment_pct_per_year: num("difficulty_increment_pct_per_year"),
    halving_difficulty_drop_pct: num("halving_difficulty_drop_pct"),
    fees_btc_per_block: num("fees_btc_per_block"),
  };
  const principal = num("loan_principal_usd");
  if (principal) body.loan = { principal_usd: principal, rate_annual: frac("loan_rate_pct") || 0, term_months: num("loan_term_months") || 12 };
  const day = $("asof-date").value;
  if (day && day !== $("asof-date").max) body.as_of = day;
  Object.keys(body).forEach((k) => { if (body[k] === undefined) delete body[k]; });
  return body;
}

// -- the results -------------------------------------------------------------------------------
const drawn = {};
["fan", "payback", "comparison", "machines"].forEach((name) => HL.csvProvider(name, () => drawn[name]));
const Q = ["p05", "p25", "p50", "p75", "p95"];
const last = (xs) => (xs && xs.length ? xs[xs.length - 1] : null);

function drawCards(o) {
  const ra = o.policies.run_always, so = o.policies.switch_off;
  $("result-asof").textContent = "(as of " + o.as_of + ", " + int(o.months) + " months to " + last(o.month_ends) + ", " +
    int(o.paths) + " paths, seed " + o.seed + ")";
  $("payback-probability").textContent = share(last(ra.payback_probability));
  $("payback-detail").textContent = "running always; " + share(last(so.payback_probability)) + " switching off when under water. " +
    "Payback: the position (cash + BTC held) reaches zero by " + last(o.month_ends) + ".";
  $("npv-p50").textContent = usd(ra.npv_usd.p50);
  $("npv-detail").textContent = "5–95 %: " + usd(ra.npv_usd.p05) + " to " + usd(ra.npv_usd.p95) + " at " +
    share(o.inputs.discount_rate_annual, 0) + " a year; IRR median " + share(ra.irr_annual.p50) + " a year.";
  const sv = o.switch_off_value_usd;
  $("switch-value").textContent = usd(sv.p50);
  $("switch-detail").textContent = "the NPV switching off adds over running always (median; 5–95 %: " + usd(sv.p05) + " to " +
    usd(sv.p95) + "); machine-days off " + share(so.machine_days_off_share) + ".";
  const s = o.start;
  $("start-hashprice").textContent = "$" + fmt(s.hashprice_usd_per_ph_day, 2) + "/PH/day";
  $("start-detail").textContent = "BTC $" + fmt(s.btc_price_usd, 0) + " · difficulty " + fmt(s.difficulty / 1e12, 2) + " T at height " +
    int(s.height) + " · capex " + usd(o.inputs.capex_usd) + (o.halving && o.halving.date_p50 ? " · halving ~" + o.halving.date_p50 : "");
}

function drawFan(o) {
  const x = o.month_ends, ra = o.policies.run_always.monthly.position_usd, so = o.policies.switch_off.monthly.position_usd;
  const band = (lo, hi, name, color) => [
    { type: "scatter", mode: "lines", x, y: lo, line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { type: "scatter", mode: "lines", name, x, y: hi, line: { width: 0 }, fill: "tonexty", fillcolor: color, hoverinfo: "skip" },
  ];
  const hover = "%{y:$,.0f}<br>%{x|%Y-%m-%d}<extra>%{fullData.name}</extra>";
  const traces = band(ra.p05, ra.p95, "run always 5–95 %", "rgba(52,120,200,0.15)")
    .concat(band(ra.p25, ra.p75, "run always 25–75 %", "rgba(52,120,200,0.3)"))
    .concat([
      { type: "scatter", mode: "lines", name: "run always, median", x, y: ra.p50, line: { color: "#3478c8", width: 2 }, hovertemplate: hover },
      { type: "scatter", mode: "lines", name: "switch off, median", x, y: so.p50, line: { color: "#f7931a", width: 2, dash: "dash" },
        hovertemplate: hover },
    ]);
  const cols = [["month end", (r) => r.month_end]];
  POLICIES.forEach(([p, label]) => Q.forEach((q) => cols.push([label + " position " + q + " [USD]", (r) => o.policies[p].monthly.position_usd[q][r.i]])));
  drawn.fan = { filename: "hashlens-fleet-position-" + o.as_of + ".csv", columns: cols, rows: x.map((m, i) => ({ month_end: m, i })) };
  return HL.timeChart($("chart-fan"), traces, { yTitle: "position [USD]", zero: true, legend: true, points: x.length });
}

function drawPayback(o) {
  const x = o.month_ends;
  const traces = POLICIES.map(([p, label], k) => ({ type: "scatter", mode: "lines+markers", name: label, x,
    y: o.policies[p].payback_probability, line: { color: k ? "#f7931a" : "#3478c8", width: 2, dash: k ? "dash" : "solid" },
    marker: { size: 4 }, hovertemplate: "%{y:.1%} paid back by %{x|%Y-%m-%d}<extra>%{fullData.name}</extra>" }));
  drawn.payback = { filename: "hashlens-fleet-payback-" + o.as_of + ".csv",
    columns: [["month end", (r) => r.month_end]].concat(POLICIES.map(([p, label]) =>
      ["P(payback) " + label + " [fraction]", (r) => o.policies[p].payback_probability[r.i]])),
    rows: x.map((m, i) => ({ month_end: m, i })) };
  return HL.timeChart($("chart-payback"), traces, { yTitle: "P(payback)", legend: true, points: x.length, yTickFormat: ".0%",
    yRange: [0, 1.02] });
}

// The comparison: each figure as the API gives it, for both policies.
function comparisonRows(o) {
  const P = o.policies;
  const at = (p, key, q) => last(P[p].monthly[key][q]);
  const row = (figure, unit, f, shown) => ({ figure, unit, run_always: f("run_always"), switch_off: f("switch_off"), shown });
  return [
    row("P(payback) by " + last(o.month_ends), "fraction", (p) => last(P[p].payback_probability), share),
    row("NPV, 5 %", "USD", (p) => P[p].npv_usd.p05, usd),
    row("NPV, median", "USD", (p) => P[p].npv_usd.p50, usd),
    row("NPV, 95 %", "USD", (p) => P[p].npv_usd.p95, usd),
    row("NPV, mean", "USD", (p) => P[p].npv_usd.mean, usd),
    row("IRR, median", "per year", (p) => P[p].irr_annual.p50, share),
    row("IRR defined on", "fraction of paths", (p) => P[p].irr_annual.share_defined, share),
    row("position at the end, median", "USD", (p) => at(p, "position_usd", "p50"), usd),
    row("cumulative cash at the end, median", "USD", (p) => at(p, "cumulative_cash_usd", "p50"), usd),
    row("BTC held at the end, median", "BTC", (p) => at(p, "btc_held", "p50"), (x) => fmt(x, 4)),
    row("BTC mined in the last month, median", "BTC", (p) => at(p, "btc_mined", "p50"), (x) => fmt(x, 4)),
    row("profit fee in the last month, median", "USD", (p) => at(p, "profit_fee_usd", "p50"), usd),
    row("machine-days switched off", "fraction", (p) => P[p].machine_days_off_share, share),
  ];
}
function drawComparison(o) {
  const list = comparisonRows(o);
  $("comparison-table").tBodies[0].innerHTML = list.map((r) => "<tr><td>" + escapeHtml(r.figure) + "</td><td>" + escapeHtml(r.unit) +
    "</td><td>" + escapeHtml(r.shown(r.run_always)) + "</td><td>" + escapeHtml(r.shown(r.switch_off)) + "</td></tr>").join("");
  drawn.comparison = { filename: "hashlens-fleet-comparison-" + o.as_of + ".csv",
    columns: [["figure", "figure"], ["unit", "unit"], ["run always", "run_always"], ["switch off", "switch_off"]], rows: list };
}
function drawMachines(o) {
  const m = o.inputs.machines;
  $("machines-table").tBodies[0].innerHTML = m.map((r) => "<tr><td>" + escapeHtml(r.label) + "</td><td>" + int(r.count) + "</td><td>" +
    fmt(r.hashrate_ths, 1) + "</td><td>" + fmt(r.efficiency_j_per_th, 1) + "</td><td>" + fmt(r.power_price_usd_per_kwh, 3) + "</td><td>" +
    usd(r.capex_usd_per_machine) + "</td><td>" + fmt(r.switch_off_hashprice_usd_per_ph_day, 2) + "</td></tr>").join("");
  drawn.machines = { filename: "hashlens-fleet-machines-" + o.as_of + ".csv", rows: m, columns: [["machine", "label"], ["count", "count"],
    ["hashrate [TH/s]", "hashrate_ths"], ["power [W]", "power_w"], ["efficiency [J/TH]", "efficiency_j_per_th"],
    ["power price [USD/kWh]", "power_price_usd_per_kwh"], ["capex [USD/machine]", "capex_usd_per_machine"],
    ["switch-off hashprice [USD/PH/day]", "switch_off_hashprice_usd_per_ph_day"]] };
}

async function draw(o) {
  $("results").hidden = false;
  drawCards(o);
  drawComparison(o);
  drawMachines(o);
  $("method").innerHTML = (o.method || []).map((x) => "<li>" + escapeHtml(x) + "</li>").join("");
  await Promise.all([drawFan(o), drawPayback(o)]);
}

let runs = 0;
async function run(ev) {
  if (ev) ev.preventDefault();
  const n = ++runs;
  document.body.dataset.ready = "0";
  $("form-error").textContent = "";
  let body;
  try { body = buildRequest(); } catch (e) { $("form-error").textContent = reason(e); finish("error"); return; }
  if (!body.machines.length) { $("form-error").textContent = "machines: enter at least one model and count"; finish("error"); return; }
  $("run").disabled = true;
  $("run-status").textContent = "running " + int(body.paths || 10000) + " paths…";
  try {
    const o = await HL.post("/v1/outlook", body);
    if (n !== runs) return;
    await draw(o);
    $("run-status").textContent = "done: " + int(o.paths) + " paths, seed " + o.seed + ".";
    finish("ok");
  } catch (e) {
    if (n !== runs) return;
    $("form-error").textContent = reason(e);
    $("run-status").textContent = "";
    finish("error");
  }
}
function finish(state) {
  $("run").disabled = false;
  document.body.dataset.result = state;
  document.body.dataset.runs = String(runs);
  document.body.dataset.ready = "1";
}

async function main() {
  HL.wireCsvButtons(document.querySelector("main"));
  drawRows();
  const body = $("fleet-rows").tBodies[0];
  body.addEventListener("input", onRowInput);
  body.addEventListener("click", onRowClick);
  $("add-row").addEventListener("click", () => { fleet.push({ model: "", count: null }); drawRows(); });
  $("fleet-file").addEventListener("change", onUpload);
  $("fleet-form").addEventListener("submit", run);
  const start = new URLSearchParams(location.search).get("as_of");
  try {
    const d = await HL.get("/v1/weekly/days");
    $("asof-date").min = d.first; $("asof-date").max = d.latest; $("asof-date").value = start || d.latest;
  } catch (e) { console.warn("days: " + reason(e)); }
  HL.get("/v1/asics").then((list) => {
    $("asic-models").innerHTML = list.map((a) => '<option value="' + escapeHtml(a.model) + '">' + escapeHtml(a.maker + " · " +
      fmt(a.efficiency_j_per_th, 1) + " J/TH") + "</option>").join("");
  }, (e) => console.warn("asics: " + reason(e)));
  // The store moved (a sync, an import): the result on screen is from before it.
  HL.pollHealth($("live"), async () => {
    try { const d = await HL.get("/v1/weekly/days"); $("asof-date").max = d.latest; } catch (_) { /* keep */ }
    if (!$("results").hidden) $("run-status").textContent = "The store has changed since this outlook: run it again for new data.";
  });
  document.body.dataset.ready = "1";
}

main().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
