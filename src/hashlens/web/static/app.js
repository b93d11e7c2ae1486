// hashlens dashboard: fetches /v1 and draws on canvas; no external libraries.
"use strict";

const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x)) ? "n/a"
  : x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x) => (x >= 0 ? "+" : "") + fmt(x, 2) + " %";
const $ = (id) => document.getElementById(id);

async function get(path, opts) {
  const r = await fetch(path, opts);
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

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

async function loadFleet(hp, price) {
  const asics = await get("/v1/asics");
  const recent = asics.filter((a) => a.release_date >= "2020-06");
  const body = { machines: recent.map((a) => ({ model: a.maker + " " + a.model, count: 1 })),
    power_price_usd_per_kwh: parseFloat($("power-price").value) || 0.05 };
  const f = await get("/v1/fleet", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const ms = f.machines.slice().sort((a, b) => a.efficiency_j_per_th - b.efficiency_j_per_th);
  rows($("fleet-table").tBodies[0], ms.map((m) => [m.label, fmt(m.efficiency_j_per_th, 1),
    '<span class="' + (m.margin < 0 ? "neg" : "pos") + '">' + fmt(100 * m.margin, 0) + " %</span>",
    fmt(m.breakeven_hashprice_usd_per_ph_day, 2), fmt(m.shutdown_btc_price_usd, 0)]));
}

async function main() {
  const [d, hr, hp, halving] = await Promise.all([get("/v1/difficulty"), get("/v1/hashrate?window=1008"),
    get("/v1/hashprice"), get("/v1/halving")]);
  const a = d.latest_adjustment, rp = d.running_period;
  $("asof").textContent = "data to " + rp.tip_time + " · hashprice day " + hp.date;
  $("difficulty-value").textContent = fmt(a.difficulty / 1e12, 2) + " T";
  $("difficulty-change").textContent = pct(a.change_pct) + " at " + a.height.toLocaleString() + ", streak " + a.streak +
    (a.rank_among_drops ? ", #" + a.rank_among_drops + " drop" : a.rank_among_rises ? ", #" + a.rank_among_rises + " rise" : "");
  $("hashrate-value").textContent = fmt(hr.hashrate_ehs, 0) + " EH/s";
  $("hashrate-ci").textContent = "95 %: " + fmt(hr.low_ehs, 0) + "–" + fmt(hr.high_ehs, 0);
  $("hashprice-value").textContent = hp.usd_per_ph_day === null ? "n/a" : "$" + fmt(hp.usd_per_ph_day, 2) + "/PH/day";
  $("hashprice-btc").textContent = fmt(hp.btc_per_ph_day * 1e3, 4) + " mBTC · " + fmt(hp.sats_per_th_day, 1) + " sats/TH";
  $("next-value").textContent = pct(rp.hashlens.change_pct);
  $("next-detail").textContent = "mempool method " + pct(rp.mempool.change_pct) + " · height " +
    rp.mempool.next_retarget_height.toLocaleString();
  $("halving-value").textContent = halving.blocks_left.toLocaleString() + " blocks";
  $("halving-detail").textContent = "height " + halving.next_halving_height.toLocaleString() + ", ~" +
    new Date(halving.estimated_time * 1000).toISOString().slice(0, 10);

  const hist = await get("/v1/difficulty/history?limit=60");
  chart($("chart-adjustments"), hist.map((_, i) => i), [{ ys: hist.map((x) => x.change_pct), bars: true }], { zero: true });
  const hs = await get("/v1/hashrate/series?window=1008&step=144");
  const recent = hs.slice(-120);
  chart($("chart-hashrate"), recent.map((e) => e.end_time * 1000),
    [{ ys: recent.map((e) => e.hashrate_ehs), band: [recent.map((e) => e.low_ehs), recent.map((e) => e.high_ehs)] }],
    { dates: true });
  const ser = await get("/v1/hashprice/series?start=2016-01-01");
  const pts = ser.rows.filter((r) => r.usd_per_ph_day !== null);
  chart($("chart-hashprice"), pts.map((r) => Date.parse(r.date)), [{ ys: pts.map((r) => r.usd_per_ph_day) }],
    { log: true, dates: true });
  if (ser.all_time_low_usd) $("hashprice-atl").textContent = "All-time low in this range: $" +
    fmt(ser.all_time_low_usd.usd_per_ph_day, 2) + " on " + ser.all_time_low_usd.date;

  await loadFleet();
  $("power-price").addEventListener("change", () => loadFleet());

  const months = await get("/v1/miners/months");
  if (months.length) {
    const m = months[months.length - 1];
    $("miners-month").textContent = m;
    const ex = await get("/v1/miners/" + m + "/expected");
    rows($("miners-table").tBodies[0], ex.map((r, i) => [i + 1, r.company + " (" + r.ticker + ")", fmt(r.reported_btc, 1),
      fmt(r.expected_btc, 0), fmt(r.ratio, 2), fmt(r.hashrate_ehs, 1) + " " + r.hashrate_basis]));
  }
  const tr = await get("/v1/miners/treasury");
  rows($("treasury-table").tBodies[0], tr.map((t) => [t.rank, t.company + " (" + t.ticker + ")", fmt(t.treasury_btc, 0), t.as_of]));

  const sim = await get("/v1/simulate", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ paths: 2000, seed: 1, scenario: { name: "dashboard", days: 90, record_every_days: 30,
      initial: { hashrate_ehs: hr.hashrate_ehs }, hashrate: { model: "constant" }, price: { model: "constant" } } }) });
  rows($("outlook-table").tBodies[0], sim.upcoming_adjustments.slice(0, 3).map((u) => ["#" + u.index,
    pct(u.change_pct.p50), pct(u.change_pct.p5) + " to " + pct(u.change_pct.p95), fmt(100 * u.p_drop, 0) + " %"]));
  document.body.dataset.ready = "1";
}

main().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
setInterval(() => main().catch(() => {}), 300000);
