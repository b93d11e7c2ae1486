// hashlens pages: what the dashboard and the fleet page share — formatting, API calls, CSV
// downloads, plotly chart layouts and the live-update poller. Faces render; nothing here
// computes a figure: charts and CSV files are drawn from the API's JSON as it comes.
"use strict";

const HL = (() => {
  const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x)) ? "n/a"
    : x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  const pct = (x) => (x === null || x === undefined) ? "n/a" : (x >= 0 ? "+" : "") + fmt(x, 2) + " %";
  const int = (x) => (x === null || x === undefined) ? "n/a" : x.toLocaleString("en-US");
  const $ = (id) => document.getElementById(id);
  function escapeHtml(x) {
    return String(x).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
  }
  const reason = (e) => (e && e.message ? e.message : String(e)).replace(/\s+/g, " ").slice(0, 200);
  // An error the page already states once (e.g. a day without figures) marks each panel "n/a" alone.
  const missing = (e) => (e && e.shown ? "n/a" : "n/a — " + reason(e));

  // A failed request throws the API's own message (its "detail"), so a panel can say why it is empty.
  async function get(path, opts) {
    const r = await fetch(path, opts);
    if (!r.ok) {
      let detail = "HTTP " + r.status;
      try {
        const body = await r.json();
        if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : validation(body.detail);
      } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    return r.json();
  }
  // FastAPI's 422 list as "field: message; …", naming the field the user has to fix.
  function validation(detail) {
    if (!Array.isArray(detail)) return JSON.stringify(detail);
    return detail.map((d) => (d.loc ? d.loc.filter((x) => x !== "body").join(".") + ": " : "") + (d.msg || "")).join("; ");
  }
  const post = (path, body) => get(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  // -- CSV --------------------------------------------------------------------------------------
  // columns: [[header with its unit, key or function of the row]]; numbers are written in full
  // precision as the API sent them, nulls as empty cells.
  function csvCell(v) {
    if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "";
    if (typeof v === "number") return String(v);
    if (typeof v === "boolean") return v ? "true" : "false";
    let s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // a spreadsheet would run it as a formula
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csvText(columns, rows) {
    const head = columns.map(([h]) => csvCell(h)).join(",");
    const body = rows.map((r) => columns.map(([, k]) => csvCell(typeof k === "function" ? k(r) : r[k])).join(","));
    return [head].concat(body).join("\r\n") + "\r\n";
  }
  function download(filename, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url; a.download = filename; a.hidden = true;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  // Buttons <button class="csv" data-csv="NAME"> download what the provider NAME returns now:
  // {filename, columns, rows} built from the JSON its chart or table was drawn from.
  const providers = {};
  function csvProvider(name, fn) { providers[name] = fn; }
  function wireCsvButtons(root) {
    root.addEventListener("click", (ev) => {
      const b = ev.target.closest("button.csv");
      if (!b) return;
      const p = providers[b.dataset.csv];
      const src = p ? p() : null;
      if (!src || !src.rows) { b.title = "nothing drawn yet"; return; }
      download(src.filename, csvText(src.columns, src.rows));
    });
  }
  // Whether a CSV button has data behind it (disabled while its panel is empty).
  function csvReady(name, ok) {
    document.querySelectorAll('button.csv[data-csv="' + name + '"]').forEach((b) => { b.disabled = !ok; });
  }

  // -- charts (plotly.js, served from the installed plotly package) -----------------------------
  const narrow = () => window.matchMedia("(max-width: 600px)").matches;
  // Not plotly's `responsive`: it sizes a chart from its div's current height, which is the
  // chart's own, so a window resize left charts shorter and clipped (see fitChart).
  const CONFIG = {
    responsive: false, displaylogo: false, scrollZoom: false,
    modeBarButtonsToRemove: ["toImage", "lasso2d", "select2d", "autoScale2d"],
  };
  // Range presets over a date axis, backward from its end (the page's as-of day).
  const RANGES = [
    { count: 3, label: "3M", step: "month", stepmode: "backward" },
    { count: 1, label: "1Y", step: "year", stepmode: "backward" },
    { count: 5, label: "5Y", step: "year", stepmode: "backward" },
    { label: "All", step: "all" },
  ];
  // A log/linear switch for the y axis, plotly's own update menu.
  const scaleMenu = (log) => ({
    type: "buttons", direction: "right", showactive: true, active: log ? 1 : 0,
    x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", pad: { r: 0, t: 0 }, font: { size: 11 },
    buttons: [
      { label: "linear", method: "relayout", args: [{ "yaxis.type": "linear", "yaxis.autorange": true }] },
      { label: "log", method: "relayout", args: [{ "yaxis.type": "log", "yaxis.autorange": true }] },
    ],
  });
  // What depends on the width: the chart's size, left margin, font and y title (a phone drops it).
  function sized(div, yTitle) {
    const small = narrow();
    return { width: div.clientWidth || undefined, height: small ? 300 : 340, "margin.l": small ? 48 : 64,
      "font.size": small ? 10 : 12, "yaxis.title.text": small ? "" : yTitle };
  }
  // A chart keeps to its div's content width (inside the border, so nothing is clipped) and the
  // page's height for that width, redrawn whenever the div's width changes (a window resize, a
  // phone turned) — plotly's own resize kept the old height and overflowed the box.
  function fitChart(div, yTitle) {
    div.dataset.ytitle = yTitle || "";
    if (div.dataset.fitted) return;
    div.dataset.fitted = "1";
    let width = div.clientWidth;
    new ResizeObserver(() => {
      if (!div.layout || div.clientWidth === width || !div.clientWidth) return;
      width = div.clientWidth;
      Plotly.relayout(div, sized(div, div.dataset.ytitle));
    }).observe(div);
  }
  function baseLayout(yTitle, opts) {
    const small = narrow();
    const layout = {
      height: small ? 300 : 340,
      margin: { l: small ? 48 : 64, r: 10, t: 36, b: 36 },
      font: { family: '-apple-system, "Segoe UI", "DejaVu Sans", sans-serif', size: small ? 10 : 12 },
      paper_bgcolor: "#fff", plot_bgcolor: "#fff",
      hovermode: "closest", dragmode: "zoom",
      showlegend: !!opts.legend, legend: { orientation: "h", x: 0, y: -0.18 },
      yaxis: { title: { text: small ? "" : yTitle }, type: opts.log ? "log" : "linear", automargin: true,
        gridcolor: "#eee", zeroline: !!opts.zero, zerolinecolor: "#999", fixedrange: false },
    };
    if (opts.yTickFormat) layout.yaxis.tickformat = opts.yTickFormat;
    if (opts.yRange) layout.yaxis.range = opts.yRange;
    return layout;
  }
  // A time series chart: x dates (ISO), plotly's zoom/pan/hover, range presets ending at xEnd,
  // and the log/linear switch when the values can be logged.
  function timeChart(div, traces, opts) {
    chartReady(div);
    const layout = baseLayout(opts.yTitle, opts);
    layout.width = div.clientWidth || undefined;
    layout.hovermode = "x unified";  // every series' value at the date under the pointer
    layout.xaxis = {
      type: "date", gridcolor: "#eee", automargin: true,
      rangeselector: { buttons: RANGES, x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
    };
    if (opts.xEnd && opts.view) {
      const end = new Date(opts.xEnd + "T24:00:00Z"), start = new Date(end);
      start.setUTCMonth(start.getUTCMonth() - opts.view);
      if (start.toISOString() > opts.xStart) layout.xaxis.range = [start.toISOString().slice(0, 10), end.toISOString().slice(0, 10)];
    }
    if (opts.scaleToggle) layout.updatemenus = [scaleMenu(opts.log)];
    if (opts.fitY && layout.xaxis.range) layout.yaxis.range = visibleYRange(traces, layout.xaxis.range, !!opts.log);
    return Plotly.react(div, traces, layout, CONFIG).then(() => {
      div.dataset.points = String(opts.points);
      fitChart(div, opts.yTitle);
      if (opts.fitY && !div.dataset.fitY) { div.dataset.fitY = "1"; div.on("plotly_relayout", (ev) => refitY(div, ev)); }
    });
  }
  // The y range of the values shown between two dates, so zooming in on recent data is not
  // flattened by the early chain's values (+300 % adjustments, $10M hashprice). On a log axis
  // the range is in decades, as plotly takes it. Axis limits only: no figure is computed here.
  function visibleYRange(traces, xRange, log) {
    const [x0, x1] = xRange.map((x) => Date.parse(x));
    let lo = log ? Infinity : 0, hi = log ? -Infinity : 0;
    traces.forEach((t) => t.x.forEach((x, i) => {
      const ms = Date.parse(x), y = t.y[i];
      if (ms >= x0 && ms <= x1 && Number.isFinite(y) && (!log || y > 0)) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
    }));
    if (log) {
      if (!Number.isFinite(lo)) return undefined;
      const a = Math.log10(lo), b = Math.log10(hi), pad = (b - a) * 0.06 || 0.1;
      return [a - pad, b + pad];
    }
    const pad = (hi - lo) * 0.06 || 1;
    return [lo - pad, hi + pad];
  }
  function isLog(div) { return !!(div.layout && div.layout.yaxis && div.layout.yaxis.type === "log"); }
  function refitY(div, ev) {
    if (ev["yaxis.range[0]"] !== undefined || ev["yaxis.range"]) return;  // the reader zoomed y too: keep it
    let range = ev["xaxis.range"] || (ev["xaxis.range[0]"] !== undefined ? [ev["xaxis.range[0]"], ev["xaxis.range[1]"]] : null);
    if (!range && ev["yaxis.type"] && div.layout.xaxis.range && !div.layout.xaxis.autorange) range = div.layout.xaxis.range;
    if (!range) {
      if (ev["xaxis.autorange"] || ev["yaxis.type"]) Plotly.relayout(div, { "yaxis.autorange": true });
      return;
    }
    const y = visibleYRange(div.data, range.map((x) => String(x).replace(" ", "T") + (String(x).length > 10 ? "Z" : "")), isLog(div));
    if (y) Plotly.relayout(div, { "yaxis.range": y });
  }
  // The rows with a gap marker (null) between any two neighbours further apart in `key` than the
  // series' step (its most common spacing): plotly breaks a line at a point without a value,
  // where it would otherwise draw a straight ramp across missing data (gapBand: the same for a band).
  function withGaps(rows, key) {
    const counts = new Map();
    for (let i = 1; i < rows.length; i++) {
      const d = key(rows[i]) - key(rows[i - 1]);
      counts.set(d, (counts.get(d) || 0) + 1);
    }
    let step = Infinity, most = 0;
    counts.forEach((n, d) => { if (n > most || (n === most && d < step)) { most = n; step = d; } });
    const out = [];
    rows.forEach((r, i) => {
      if (i > 0 && key(r) - key(rows[i - 1]) > step) out.push(null);
      out.push(r);
    });
    return out;
  }
  // A trace's x and y from rows with gap markers: a marker takes the x before it and no y.
  function gapXY(rows, x, y) {
    const xs = [], ys = [];
    rows.forEach((r, i) => {
      xs.push(r === null ? x(rows[i - 1]) : x(r));
      ys.push(r === null ? null : y(r));
    });
    return { x: xs, y: ys };
  }
  // A band between lo(r) and hi(r) as one closed outline per run of rows (plotly's fill
  // "toself" closes each segment between gaps on its own; "tonexty" would join the runs).
  function gapBand(rows, x, lo, hi) {
    const xs = [], ys = [];
    let run = [];
    const close = () => {
      if (!run.length) return;
      if (xs.length) { xs.push(x(run[0])); ys.push(null); }
      run.forEach((r) => { xs.push(x(r)); ys.push(hi(r)); });
      run.slice().reverse().forEach((r) => { xs.push(x(r)); ys.push(lo(r)); });
      run = [];
    };
    rows.forEach((r) => { if (r === null) close(); else run.push(r); });
    close();
    return { x: xs, y: ys };
  }
  // A chart over categories (e.g. the next adjustments), zoom and hover only.
  function categoryChart(div, traces, opts) {
    chartReady(div);
    const layout = baseLayout(opts.yTitle, opts);
    layout.width = div.clientWidth || undefined;
    layout.xaxis = { type: "category", automargin: true };
    if (opts.scaleToggle) layout.updatemenus = [scaleMenu(opts.log)];
    return Plotly.react(div, traces, layout, CONFIG).then(() => { div.dataset.points = String(opts.points); fitChart(div, opts.yTitle); });
  }
  // A panel's chart replaced by the reason it cannot be drawn.
  function chartMissing(div, e) {
    if (window.Plotly) Plotly.purge(div);
    div.textContent = missing(e);
    div.classList.add("na");
    div.dataset.points = "0";
  }
  // A chart div that showed a reason is emptied before plotly draws in it again.
  function chartReady(div) {
    if (div.classList.contains("na")) { div.classList.remove("na"); div.textContent = ""; }
  }

  // -- live updates: /v1/health every few seconds ----------------------------------------------
  // The store's version (store_version; before the server has one: its row counts) tells the
  // page to fetch its data again; `follow` says which source the server follows and when it
  // last heard from it. A missing field means "not following".
  const age = (s) => s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : s < 172800 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " days";
  function followText(h, nowMs) {
    const f = h && h.follow;
    if (!f || typeof f !== "object") return { text: "not following a source: figures are the store's as synced", error: false };
    const src = String(f.source || "a source");
    if (f.last_error) {
      const retry = Number.isFinite(f.next_retry_s) ? ", retrying in " + age(f.next_retry_s) : "";
      return { text: "following " + src + ": " + String(f.last_error).slice(0, 160) + retry, error: true };
    }
    const heard = f.last_contact_utc ? Date.parse(f.last_contact_utc) : NaN;
    const tip = Number.isFinite(f.tip_height) ? ", tip " + int(f.tip_height) : "";
    if (!Number.isFinite(heard)) return { text: "following " + src + ", not heard from yet" + tip, error: false };
    return { text: "following " + src + ", last heard " + age(Math.max(0, (nowMs - heard) / 1000)) + " ago" + tip, error: false };
  }
  const versionOf = (h) => (h && Number.isInteger(h.store_version)) ? "v" + h.store_version : (h && h.counts ? JSON.stringify(h.counts) : null);
  // Calls onChange() when the store's version moves; shows the follow status in statusEl.
  function pollHealth(statusEl, onChange) {
    const q = Number(new URLSearchParams(location.search).get("poll_s"));
    const everyMs = 1000 * (Number.isFinite(q) && q >= 1 ? q : 10);
    let version = null, last = null;
    const show = () => {
      if (!last) return;
      const t = followText(last, Date.now());
      statusEl.textContent = t.text;
      statusEl.classList.toggle("error", t.error);
    };
    async function tick() {
      try {
        const h = await get("/v1/health", { cache: "no-store" });
        last = h;
        const v = versionOf(h);
        if (version !== null && v !== null && v !== version) { version = v; await onChange(); } else if (v !== null) version = v;
        show();
      } catch (e) {
        statusEl.textContent = "server not reachable: " + reason(e);
        statusEl.classList.add("error");
      }
      setTimeout(tick, everyMs);
    }
    tick();
  }

  return { fmt, pct, int, $, escapeHtml, reason, missing, get, post, csvText, csvCell, download, csvProvider, wireCsvButtons,
    csvReady, timeChart, categoryChart, chartMissing, chartReady, narrow, pollHealth, followText, versionOf, withGaps, gapXY, gapBand };
})();
