// hashlens dashboard, pools panel: who found the blocks. Dominance over time (stacked area,
// /v1/pools/dominance) and the share table with exact intervals (/v1/pools) from the store's
// pool source, cut at the page's day; both download as CSV. Renders only: every share,
// interval and hashrate comes from the API.
"use strict";

const HLPools = (() => {
  const { fmt, int, $, escapeHtml, missing, get } = HL;
  const drawn = {};
  const COLORS = ["#f7931a", "#3478c8", "#1e8449", "#c0392b", "#8e44ad", "#16a085", "#d35400", "#2c3e50",
    "#7f8c8d", "#b7950b", "#5d6d7e", "#a93226"];
  ["pools-dominance", "pools-shares"].forEach((name) => HL.csvProvider(name, () => drawn[name]));
  function source(name, day, columns, rows) {
    drawn[name] = { filename: "hashlens-" + name + "-" + day + ".csv", columns, rows };
    HL.csvReady(name, true);
  }
  const pct = (x) => (x === null || x === undefined ? "n/a" : fmt(100 * x, 2) + " %");

  // The source to show: of those with at least a day's blocks (144 rows), the one holding the
  // page's day, else the one ending latest before it; its last day up to the page's day ends
  // the window (date comparisons, no figure).
  function pick(sources, day) {
    const enough = sources.filter((s) => s.rows >= 144);
    const pool = enough.length ? enough : sources;
    const holding = pool.filter((s) => s.first_day <= day && day <= s.last_day);
    const list = holding.length ? holding : pool.filter((s) => s.first_day <= day);
    if (!list.length) throw new Error("the store's pool attribution begins after " + day);
    list.sort((a, b) => (holding.length ? b.rows - a.rows : a.last_day < b.last_day ? 1 : a.last_day > b.last_day ? -1 : b.rows - a.rows));
    const s = list[0];
    return { name: s.source, end: s.last_day < day ? s.last_day : day, sources };
  }

  async function draw(w) {
    const sources = await get("/v1/pools/sources");
    if (!sources.length) {  // a store without pool data: the panel says so (a state, not a failure)
      empty("The store holds no pool attribution: hashlens pools import --shared adds the shared datasets.");
      return null;
    }
    const p = pick(sources, w.as_of);
    const q = "source=" + encodeURIComponent(p.name) + "&end=" + p.end;
    const [dom, shares] = await Promise.all([
      get("/v1/pools/dominance?" + q + "&step_days=7&top=8"),
      get("/v1/pools?source=" + encodeURIComponent(p.name) + "&as_of=" + p.end + "&window=30d"),
    ]);
    $("pools-caption").textContent = "Source " + p.name + " to " + p.end + (p.end < w.as_of ? " (its last day up to " + w.as_of + ")" : "") +
      "; " + dom.method + ".";
    drawTable(shares, p.end);
    return drawChart(dom, p.end);
  }

  function drawTable(r, day) {
    const c = r.coverage;
    $("pools-table-caption").textContent = c.start_day + " … " + c.end_day + ": " + int(c.blocks) + " blocks (" +
      int(c.unknown_blocks) + " unidentified), " + r.level_pct + " % exact intervals; network " +
      (r.network ? fmt(r.network.hashrate_ehs, 2) + " EH/s (" + r.network.method + ")" : "hashrate n/a: " + r.network_missing) + ".";
    $("pools-table").tBodies[0].innerHTML = r.pools.map((x) => "<tr><td>" + escapeHtml(x.pool) + "</td><td>" + int(x.blocks) +
      "</td><td>" + pct(x.share) + "</td><td>" + pct(x.share_low) + " – " + pct(x.share_high) + "</td><td>" +
      (x.hashrate_ehs === null ? "n/a" : fmt(x.hashrate_ehs, 2) + " (" + fmt(x.hashrate_low_ehs, 2) + "–" + fmt(x.hashrate_high_ehs, 2) + ")") +
      "</td></tr>").join("");
    source("pools-shares", day, [["source", () => r.source], ["window start", () => c.start_day], ["window end", () => c.end_day],
      ["pool", "pool"], ["blocks", "blocks"], ["share [fraction]", "share"], ["share low [fraction]", "share_low"],
      ["share high [fraction]", "share_high"], ["hashrate [EH/s]", "hashrate_ehs"], ["hashrate low [EH/s]", "hashrate_low_ehs"],
      ["hashrate high [EH/s]", "hashrate_high_ehs"]], r.pools);
  }

  function drawChart(d, day) {
    const traces = d.pools.map((p, i) => ({
      type: "scatter", mode: "lines", name: p, stackgroup: "share", x: d.bin_start, y: d.shares[p].map((v) => (v === null ? null : 100 * v)),
      line: { width: 0.5, color: COLORS[i % COLORS.length] }, hovertemplate: p + ": %{y:.1f} %<extra></extra>",
    }));
    const rows = d.bin_start.map((b, i) => Object.assign({ bin_start: b, blocks: d.blocks[i] },
      Object.fromEntries(d.pools.map((p) => [p, d.shares[p][i]]))));
    source("pools-dominance", day, [["bin start (UTC day)", "bin_start"], ["blocks", "blocks"]]
      .concat(d.pools.map((p) => [p + " share [fraction]", p])), rows);
    return HL.timeChart($("chart-pools"), traces, { yTitle: "share of blocks [%]", legend: true, xEnd: day, xStart: d.bin_start[0],
      view: 24, points: d.bin_start.length, yRange: [0, 100] });
  }

  function empty(text) {
    HL.chartMissing($("chart-pools"), new Error(text));
    $("pools-caption").textContent = text;
    $("pools-table-caption").textContent = "";
    $("pools-table").tBodies[0].innerHTML = '<tr class="na"><td colspan="5">' + escapeHtml(text) + "</td></tr>";
    ["pools-dominance", "pools-shares"].forEach((n) => { delete drawn[n]; HL.csvReady(n, false); });
  }

  function fail(e) {
    HL.chartMissing($("chart-pools"), e);
    $("pools-caption").textContent = missing(e);
    $("pools-table-caption").textContent = "";
    const t = $("pools-table");
    t.tBodies[0].innerHTML = '<tr class="na"><td colspan="5">' + escapeHtml(missing(e)) + "</td></tr>";
    ["pools-dominance", "pools-shares"].forEach((n) => { delete drawn[n]; HL.csvReady(n, false); });
  }

  return { draw, fail };
})();
