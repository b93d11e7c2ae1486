"""Pool figures from the store: each source read apart, a window resolved to its blocks, and
every figure from its one owner in :mod:`hashlens.pools.stats`.

Sources are never merged: a figure reads one source and says which. Per-block sources
(hashlens' ``coinbase`` attribution, a ``mempool-api``, ``canhui`` labels) are placed in time
by stored block times where the store has them, else by heights interpolated linearly between
period starts (stored or retarget-implied; within about a day at a window's edges), and every
answer says which. Daily sources (``btl``) are summed over whole UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.errors import HashlensError
from hashlens.pools import stats
from hashlens.pools.models import (
    ConcentrationRequest,
    ConcentrationResult,
    Coverage,
    DominanceRequest,
    DominanceSeries,
    Interval,
    LuckRequest,
    LuckResult,
    NetworkHashrate,
    PoolLuck,
    PoolShare,
    PoolShares,
    PoolsRequest,
    SideBySideRow,
    SourceComparison,
    WindowFields,
    parse_window,
)
from hashlens.pools.names import UNKNOWN, canonical
from hashlens.store import Store
from hashlens.units import HS_PER_EHS, SECONDS_PER_DAY

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: Block times are ordered only loosely (consensus bounds them by the median of the previous
#: 11 and 2 h into the future): a day is whole in the stored times when they reach this far
#: beyond both of its edges [s].
EDGE_MARGIN_S = 7200


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _start_ts(d: date) -> float:
    return end_of_day(d) - SECONDS_PER_DAY


# -- sources ------------------------------------------------------------------------------------------
@dataclass
class SourceData:
    """One source as read from the store."""

    name: str
    kind: str  # "blocks" | "days"
    origin: str
    names: list[str]  # the source's own names, indexed by code
    # per-block
    heights: np.ndarray
    codes: np.ndarray
    times: np.ndarray  # [Unix s]: stored block times, else interpolated between period starts
    time_stored: np.ndarray  # bool
    # per-day
    days: np.ndarray  # datetime64[D] per row
    day_codes: np.ndarray
    day_blocks: np.ndarray

    def first_last_day(self) -> tuple[date, date]:
        if self.kind == "days":
            return self.days.min().astype(date), self.days.max().astype(date)
        return _day(float(self.times.min())), _day(float(self.times.max()))


def source_names(store: Store) -> list[dict[str, Any]]:
    return store.pool_sources()


def _unknown_source(store: Store, name: str) -> HashlensError:
    have = [s["source"] for s in store.pool_sources()]
    held = ", ".join(have) if have else "none"
    return HashlensError(
        f"unknown pool source {name!r} (the store holds: {held}); import one with `hashlens pools import FILE` "
        "or `hashlens pools import --shared`"
    )


def block_times_for(clock: ChainClock, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each height's time: the stored block time where the store has it, else interpolated
    linearly in height between the starts of its period and the next (stored or
    retarget-implied) [Unix s], and whether it is stored."""
    h = np.asarray(heights, dtype=np.int64)
    starts_h = np.arange(clock.periods, dtype=np.int64) * N
    est = np.interp(h.astype(float), starts_h.astype(float), clock.start_time.astype(float))
    # Past the last known period start: 600 s a block (the interval its difficulty was set for).
    past = h > starts_h[-1]
    est[past] = clock.start_time[-1] + (h[past] - starts_h[-1]) * 600.0
    stored = np.zeros(h.shape, dtype=bool)
    if clock.block_h.size:
        i = np.searchsorted(clock.block_h, h)
        i = np.minimum(i, clock.block_h.size - 1)
        stored = clock.block_h[i] == h
        est = np.where(stored, clock.block_t[i].astype(float), est)
    return est, stored


def load_source(store: Store, name: str, clock: ChainClock | None = None) -> SourceData:
    """A source's rows: per-block pools with each block's time, or per-day counts."""
    meta = {s["source"]: s for s in store.pool_sources()}
    if name not in meta:
        raise _unknown_source(store, name)
    kind = str(meta[name]["kind"])
    empty_i = np.zeros(0, dtype=np.int64)
    if kind == "blocks":
        heights, pools = store.pool_block_labels(name)
        names, codes = np.unique(np.asarray(pools, dtype=object), return_inverse=True)
        clock = clock or ChainClock.from_store(store)
        times, stored = block_times_for(clock, heights)
        return SourceData(
            name,
            kind,
            str(meta[name]["origin"]),
            [str(x) for x in names],
            heights,
            codes.astype(np.int64),
            times,
            stored,
            np.zeros(0, dtype="datetime64[D]"),
            empty_i,
            empty_i,
        )
    days, pools, blocks = store.pool_day_counts(name)
    names, codes = np.unique(np.asarray(pools, dtype=object), return_inverse=True)
    return SourceData(
        name,
        kind,
        str(meta[name]["origin"]),
        [str(x) for x in names],
        empty_i,
        empty_i,
        np.zeros(0),
        np.zeros(0, dtype=bool),
        days,
        codes.astype(np.int64),
        blocks,
    )


# -- windows ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    start_day: date
    end_day: date
    blocks: int | None  # a block-count window
    label: str


def resolve_window(req: WindowFields, src: SourceData) -> Window:
    """The window a request asks for, on this source (as_of defaults to its last day)."""
    if req.start is not None and req.end is not None:
        return Window(req.start, req.end, None, f"{req.start} … {req.end}")
    as_of = req.as_of or src.first_last_day()[1]
    kind, amount = parse_window(req.window or "30d")
    if kind == "days":
        start = as_of - timedelta(days=amount - 1)
        return Window(start, as_of, None, f"{amount} days to {as_of}")
    if src.kind == "days":
        raise HashlensError(
            f"--window {req.window}: source {src.name} counts blocks per day, not per block; give days (e.g. 7d) "
            "or --start/--end"
        )
    return Window(as_of, as_of, amount, f"{amount} blocks to the end of {as_of}")


@dataclass
class WindowCounts:
    """One source's blocks in one window, per pool at one level."""

    source: SourceData
    window: Window
    level: str
    pools: list[str]  # at the level, unknown excluded
    counts: np.ndarray  # per pool
    total: int  # unknown included
    unknown: int
    coverage: Coverage
    heights: np.ndarray | None  # per-block: the window's labelled heights, in order
    codes: np.ndarray | None  # their pool index (-1 unknown)
    time_basis_stored: bool


def _level_codes(src: SourceData, level: str) -> tuple[list[str], np.ndarray]:
    """The source's names at ``level``: the pool list (unknown excluded) and, per source
    code, the pool index (-1 for unknown)."""
    mapped = canonical(src.names, level)
    pools = sorted({m for m in mapped if m != UNKNOWN})
    index = {p: i for i, p in enumerate(pools)}
    return pools, np.array([index.get(m, -1) for m in mapped], dtype=np.int64)


def window_counts(store: Store, src: SourceData, window: Window, level: str, clock: ChainClock) -> WindowCounts:
    """Blocks per pool of ``src`` in ``window`` (refused, naming the source's coverage, when
    the source has no block there)."""
    pools, remap = _level_codes(src, level)
    first, last = src.first_last_day()
    days_in = (window.end_day - window.start_day).days + 1
    if src.kind == "days":
        d0, d1 = np.datetime64(window.start_day), np.datetime64(window.end_day)
        sel = (src.days >= d0) & (src.days <= d1)
        if not sel.any():
            raise HashlensError(
                f"source {src.name} has no blocks in {window.label} (it covers {first} … {last}); choose days inside it"
            )
        lvl = remap[src.day_codes[sel]]
        blocks = src.day_blocks[sel]
        counts = np.bincount(lvl[lvl >= 0], weights=blocks[lvl >= 0], minlength=len(pools)).astype(np.int64)
        unknown = int(blocks[lvl < 0].sum())
        total = int(blocks.sum())
        cov = Coverage(
            source=src.name,
            kind="days",
            start_day=window.start_day,
            end_day=window.end_day,
            days_in_window=days_in,
            days_covered=int(np.unique(src.days[sel]).size),
            start_height=None,
            end_height=None,
            heights_basis=None,
            blocks=total,
            unknown_blocks=unknown,
            missing_heights=None,
        )
        return WindowCounts(src, window, level, pools, counts, total, unknown, cov, None, None, True)
    # per-block
    if window.blocks is not None:
        tip_sel = src.times < end_of_day(window.end_day)
        if not tip_sel.any():
            raise HashlensError(
                f"source {src.name} has no blocks by the end of {window.end_day} (it covers {first} … {last})"
            )
        tip = int(src.heights[tip_sel].max())
        lo, hi = tip - window.blocks + 1, tip
        sel = (src.heights >= lo) & (src.heights <= hi)
        basis = "the last labelled block by then and the blocks before it"
        stored = bool(src.time_stored[sel].all())
    else:
        t0, t1 = _start_ts(window.start_day), end_of_day(window.end_day)
        sel = (src.times >= t0) & (src.times < t1)
        if not sel.any():
            raise HashlensError(
                f"source {src.name} has no blocks in {window.label} (it covers {first} … {last}, heights "
                f"{int(src.heights.min()):,} … {int(src.heights.max()):,}); choose days inside it"
            )
        hs = src.heights[sel]
        lo, hi = int(hs.min()), int(hs.max())
        stored = _stored_covers(clock, t0, t1)
        basis = "stored block times" if stored else "heights interpolated between period starts (edges within ~1 day)"
    hs, codes = src.heights[sel], remap[src.codes[sel]]
    counts = np.bincount(codes[codes >= 0], minlength=len(pools)).astype(np.int64)
    unknown = int((codes < 0).sum())
    total = int(sel.sum())
    cov = Coverage(
        source=src.name,
        kind="blocks",
        start_day=window.start_day,
        end_day=window.end_day,
        days_in_window=days_in,
        days_covered=None,
        start_height=lo,
        end_height=hi,
        heights_basis=basis,
        blocks=total,
        unknown_blocks=unknown,
        missing_heights=int(hi - lo + 1 - total),
    )
    return WindowCounts(src, window, level, pools, counts, total, unknown, cov, hs, codes, stored)


def _stored_covers(clock: ChainClock, t0: float, t1: float) -> bool:
    """Whether stored block times run without a gap from before t0 to after t1 (with a
    margin for their loose order)."""
    h = clock.block_h
    if h.size == 0:
        return False
    i0 = int(np.searchsorted(clock._block_tmax, t0 - EDGE_MARGIN_S, side="left"))
    i1 = int(np.searchsorted(clock._block_tmax, t1 + EDGE_MARGIN_S, side="left"))
    if i0 == 0 or i1 >= h.size:
        return False
    return bool(h[i1] - h[i0 - 1] == i1 - i0 + 1)


# -- network hashrate -----------------------------------------------------------------------------------
def network_hashrate(clock: ChainClock, wc: WindowCounts, level: float) -> tuple[NetworkHashrate | None, str | None]:
    """The network's hashrate over the window (the same for every source), from its owners:
    ``chain.hashrate`` over the window's stored blocks where stored block times cover it,
    else the hashrate at the end of its last day (``economics.daily.network_hashrate_on``,
    which says how it is known)."""
    from hashlens.chain.hashrate import hashrate_over_blocks, hashrate_over_days, period_work_table

    w = wc.window
    hs, ts = clock.block_h, clock.block_t
    try:
        if w.blocks is None and _stored_covers(clock, _start_ts(w.start_day), end_of_day(w.end_day)):
            t0, t1 = _start_ts(w.start_day), end_of_day(w.end_day)
            i0 = int(np.searchsorted(clock._block_tmax, t0 - EDGE_MARGIN_S))
            i1 = int(np.searchsorted(clock._block_tmax, t1 + EDGE_MARGIN_S))
            run_h, run_t = hs[i0:i1], ts[i0:i1]
            work = period_work_table({int(p): int(clock.bits[p]) for p in np.unique(run_h // N)})
            days = (w.end_day - w.start_day).days + 1
            est = hashrate_over_days(run_h, run_t, work, int(t1), days, level)
        elif w.blocks is not None and wc.heights is not None and wc.time_basis_stored:
            lo, hi = int(wc.heights[0]) - 1, int(wc.heights[-1])
            i0, i1 = int(np.searchsorted(hs, lo)), int(np.searchsorted(hs, hi))
            if i1 >= hs.size or hs[i0] != lo or hs[i1] != hi or hi - lo != i1 - i0:
                raise HashlensError(f"blocks {lo:,} … {hi:,} do not all have stored times")
            work = period_work_table({int(p): int(clock.bits[p]) for p in np.unique(hs[i0 : i1 + 1] // N)})
            est = hashrate_over_blocks(hs[i0 : i1 + 1], ts[i0 : i1 + 1], work, level)
        else:
            from hashlens.economics.daily import network_hashrate_on

            d = network_hashrate_on(clock, w.end_day, level)
            return NetworkHashrate(
                hashrate_ehs=d.hashrate_ehs,
                low_ehs=d.low_ehs,
                high_ehs=d.high_ehs,
                method=f"at the end of {w.end_day}: {d.method}",
            ), None
        return NetworkHashrate(
            hashrate_ehs=est.hashrate_ehs, low_ehs=est.low_ehs, high_ehs=est.high_ehs, method=est.method
        ), None
    except HashlensError as exc:
        return None, str(exc)


# -- shares ---------------------------------------------------------------------------------------------
def _shares(
    store: Store, clock: ChainClock, wc: WindowCounts, level_pct: float
) -> tuple[list[PoolShare], NetworkHashrate | None, str | None]:
    level = level_pct / 100
    k, n = wc.counts, wc.total
    share = np.asarray(stats.share(k, n), dtype=float).reshape(-1)
    lo, hi = (np.asarray(x, dtype=float).reshape(-1) for x in stats.clopper_pearson(k, np.full(k.shape, n), level))
    net, net_missing = network_hashrate(clock, wc, level)
    if net is not None:
        h, hl, hh = (
            np.asarray(x, dtype=float).reshape(-1)
            for x in stats.pool_hashrate_ehs(share, lo, hi, net.hashrate_ehs, net.low_ehs, net.high_ehs)
        )
    run_len = run_end = run_p = empty = with_stats = None
    if wc.heights is not None and wc.codes is not None:
        span = int(wc.heights[-1] - wc.heights[0] + 1)
        seq = np.full(span, -1, dtype=np.int64)
        seq[wc.heights - wc.heights[0]] = wc.codes
        run_len, ends = stats.longest_runs(seq, len(wc.pools))
        run_end = np.where(ends >= 0, ends + wc.heights[0], -1)
        run_p = np.array(
            [
                float(stats.prob_run_at_least(span, int(L), float(s))) if L > 0 else 1.0
                for L, s in zip(run_len, share, strict=True)
            ]
        )
        sh, tx = store.block_tx_counts()
        if sh.size:
            j = np.searchsorted(sh, wc.heights)
            j = np.minimum(j, sh.size - 1)
            has = sh[j] == wc.heights
            if has.any():
                known = wc.codes[has]
                is_empty = tx[j[has]] == 1
                ok = known >= 0
                with_stats = np.bincount(known[ok], minlength=len(wc.pools))
                empty = np.bincount(known[ok & is_empty], minlength=len(wc.pools))
    rows = []
    for i in np.argsort(-k, kind="stable"):
        rows.append(
            PoolShare(
                pool=wc.pools[i],
                blocks=int(k[i]),
                share=float(share[i]),
                share_low=float(lo[i]),
                share_high=float(hi[i]),
                hashrate_ehs=None if net is None else float(h[i]),
                hashrate_low_ehs=None if net is None else float(hl[i]),
                hashrate_high_ehs=None if net is None else float(hh[i]),
                longest_run_blocks=None if run_len is None else int(run_len[i]),
                longest_run_end_height=None if run_end is None or run_end[i] < 0 else int(run_end[i]),
                longest_run_p=None if run_p is None else float(run_p[i]),
                empty_blocks=None if empty is None else int(empty[i]),
                blocks_with_stats=None if with_stats is None else int(with_stats[i]),
            )
        )
    return rows, net, net_missing


SHARE_METHOD = (
    "share = blocks / all blocks of the window (unidentified ones included); {pct:g} % exact Clopper–Pearson "
    "interval; hashrate = share × the network's hashrate, the two intervals combined on the log scale; "
    "longest run and its probability under independent blocks at the pool's share (exact); empty = one "
    "transaction (block stats). hashlens.pools.stats"
)


def _notes(wc: WindowCounts) -> list[str]:
    c = wc.coverage
    notes = []
    if c.kind == "days" and c.days_covered is not None and c.days_covered < c.days_in_window:
        notes.append(f"{wc.source.name} has counts for {c.days_covered} of the window's {c.days_in_window} days.")
    if c.missing_heights:
        notes.append(f"{wc.source.name} has no label for {c.missing_heights} of the window's heights.")
    if c.heights_basis and "interpolated" in c.heights_basis:
        notes.append(f"{wc.source.name}: the window's edges in height are interpolated (no stored block times there).")
    return notes


def _first_source(req: WindowFields) -> str | None:
    names = req.sources()
    return names[0] if names else None


def _default_source(store: Store, req: WindowFields) -> str:
    """The source holding the window's last day (the given end or as-of day), with the most
    rows; without a day, the source whose data end latest."""
    have = store.pool_sources()
    if not have:
        raise HashlensError(
            "the store has no pool attribution yet: run `hashlens pools import --shared` (the shared datasets) or "
            "`hashlens pools import FILE`"
        )
    if len(have) == 1:
        return str(have[0]["source"])
    cov = coverage_summary(store)
    rows = {str(s["source"]): int(s["rows"]) for s in have}
    day = req.end or req.as_of
    if day is not None:
        holding = [c for c in cov if c["first_day"] <= day.isoformat() <= c["last_day"]]
        if holding:
            return str(max(holding, key=lambda c: rows[c["source"]])["source"])
    return str(max(cov, key=lambda c: (c["last_day"], rows[c["source"]]))["source"])


def pool_shares(
    store: Store, req: PoolsRequest, source: str | None = None, clock: ChainClock | None = None
) -> PoolShares:
    """Each pool's share of the window's blocks in one source, with its exact interval, its
    hashrate, its longest run and its empty blocks (:class:`PoolShares`)."""
    clock = clock or ChainClock.from_store(store)
    name = source or _first_source(req) or _default_source(store, req)
    src = load_source(store, name, clock)
    wc = window_counts(store, src, resolve_window(req, src), req.level, clock)
    rows, net, missing = _shares(store, clock, wc, req.level_pct)
    return PoolShares(
        source=name,
        level=req.level,
        level_pct=req.level_pct,
        coverage=wc.coverage,
        network=net,
        network_missing=missing,
        pools=rows,
        method=SHARE_METHOD.format(pct=req.level_pct),
        notes=_notes(wc),
    )


def compare_sources(store: Store, req: PoolsRequest, clock: ChainClock | None = None) -> SourceComparison:
    """Several sources' shares of one window side by side, each from its own blocks (never
    merged); names compared at ``req.level`` through the one name table."""
    clock = clock or ChainClock.from_store(store)
    names = req.sources() or []
    if len(names) < 2:
        raise HashlensError("a comparison needs two or more sources, comma-separated (e.g. canhui,btl)")
    results = {n: pool_shares(store, req, n, clock) for n in names}
    pools: list[str] = []
    for r in results.values():
        pools += [p.pool for p in r.pools if p.pool not in pools]
    rows = [
        SideBySideRow(pool=p, shares={n: next((x for x in r.pools if x.pool == p), None) for n, r in results.items()})
        for p in pools
    ]
    notes = [n for r in results.values() for n in r.notes]
    return SourceComparison(
        level=req.level,
        level_pct=req.level_pct,
        sources=names,
        coverage={n: r.coverage for n, r in results.items()},
        rows=rows,
        method=SHARE_METHOD.format(pct=req.level_pct) + "; each source's own blocks, side by side",
        notes=notes,
    )


# -- luck ------------------------------------------------------------------------------------------------
def _stated_expected(clock: ChainClock, window: Window, hashrate_ehs: float) -> float:
    """Blocks a stated hashrate is expected to find in a day window: Σ over the periods in
    force of H·t/(D·2^32) (:func:`hashlens.consensus.expected_blocks`)."""
    from hashlens.consensus import expected_blocks

    if window.blocks is not None:
        raise HashlensError("a stated hashrate needs a window of days (e.g. --window 30d or --start/--end)")
    t0, t1 = _start_ts(window.start_day), end_of_day(window.end_day)
    p0, p1 = int(clock.period_at(np.array([t0]))[0]), int(clock.period_at(np.array([t1 - 1]))[0])
    if p0 < 0:
        raise HashlensError(f"{window.start_day} is before the chain began")
    total = 0.0
    for p in range(p0, p1 + 1):
        a = max(t0, float(clock.start_time[p]))
        b = min(t1, float(clock.start_time[p + 1])) if p + 1 < clock.periods else t1
        if b > a:
            total += float(expected_blocks(hashrate_ehs * HS_PER_EHS, float(clock.difficulty[p]), b - a))
    return total


def pool_luck(store: Store, req: LuckRequest, clock: ChainClock | None = None) -> LuckResult:
    """Luck per pool: blocks found in the window against blocks expected, exact Poisson
    p-values and Holm's correction across the pools tested (:func:`hashlens.pools.stats.holm`)."""
    clock = clock or ChainClock.from_store(store)
    name = _first_source(req) or _default_source(store, req)
    src = load_source(store, name, clock)
    window = resolve_window(req, src)
    test = window_counts(store, src, window, req.level, clock)
    ref: WindowCounts | None = None
    expected_from: dict[str, str] = {}
    if req.reference_start is not None and req.reference_end is not None:
        ref_window = Window(
            req.reference_start, req.reference_end, None, f"{req.reference_start} … {req.reference_end}"
        )
    elif window.blocks is not None:
        ref_window = Window(window.start_day, window.end_day, None, "")
    else:
        length = (window.end_day - window.start_day).days + 1
        e = window.start_day - timedelta(days=1)
        ref_window = Window(e - timedelta(days=length - 1), e, None, f"{e - timedelta(days=length - 1)} … {e}")
    if req.reference_start is not None or window.blocks is None:
        if ref_window.end_day >= window.start_day and ref_window.start_day <= window.end_day:
            raise HashlensError("the reference window overlaps the window tested; use an earlier one")
        ref = window_counts(store, src, ref_window, req.level, clock)
    else:  # a block-count window: the same number of blocks just before it
        assert test.heights is not None
        lo = int(test.heights[0]) - int(window.blocks)
        sel = (src.heights >= lo) & (src.heights < int(test.heights[0]))
        if not sel.any():
            raise HashlensError(
                f"source {src.name} has no blocks before height {int(test.heights[0]):,} to estimate shares from"
            )
        pools_l, remap = _level_codes(src, req.level)
        codes = remap[src.codes[sel]]
        counts = np.bincount(codes[codes >= 0], minlength=len(pools_l))
        ref = WindowCounts(
            src,
            ref_window,
            req.level,
            pools_l,
            counts,
            int(sel.sum()),
            int((codes < 0).sum()),
            Coverage(
                source=src.name,
                kind="blocks",
                start_day=_day(float(src.times[sel].min())),
                end_day=_day(float(src.times[sel].max())),
                days_in_window=0,
                days_covered=None,
                start_height=lo,
                end_height=int(test.heights[0]) - 1,
                heights_basis="the blocks just before the window",
                blocks=int(sel.sum()),
                unknown_blocks=int((codes < 0).sum()),
                missing_heights=None,
            ),
            None,
            None,
            True,
        )
    seen_test = {p for p, c in zip(test.pools, test.counts.tolist(), strict=True) if c}
    seen_ref = {p for p, c in zip(ref.pools, ref.counts.tolist(), strict=True) if c} if ref else set()
    pools = sorted(seen_test | seen_ref)
    found = np.array([int(test.counts[test.pools.index(p)]) if p in test.pools else 0 for p in pools], dtype=float)
    expected = np.zeros(len(pools))
    for i, p in enumerate(pools):
        if req.pool is not None and p == req.pool:
            continue
        k_ref = int(ref.counts[ref.pools.index(p)]) if ref and p in ref.pools else 0
        expected[i] = k_ref / ref.total * test.total if ref and ref.total else 0.0
        expected_from[p] = (
            f"its share of {ref.total:,} blocks in {ref.coverage.start_day} … {ref.coverage.end_day}" if ref else ""
        )
    if req.pool is not None and req.hashrate_ehs is not None:
        if req.pool not in pools:
            pools.append(req.pool)
            found = np.append(found, 0.0)
            expected = np.append(expected, 0.0)
        i = pools.index(req.pool)
        expected[i] = _stated_expected(clock, window, req.hashrate_ehs)
        expected_from[req.pool] = f"a stated {req.hashrate_ehs:g} EH/s at the difficulty in force"
    keep = expected > 0
    res = stats.luck(found[keep], expected[keep])
    p_two = np.asarray(res["p_two_sided"], dtype=float).reshape(-1)
    adj, q = stats.holm(p_two), stats.benjamini_hochberg(p_two)
    kept = [p for p, k in zip(pools, keep, strict=True) if k]
    rows = [
        PoolLuck(
            pool=p,
            found_blocks=int(f),
            expected_blocks=float(e),
            luck=float(lk),
            p_low=float(pl),
            p_high=float(ph),
            p_two_sided=float(p2),
            p_adjusted=float(pa),
            q_value=float(qv),
            flagged=bool(pa < req.alpha),
            expected_from=expected_from[p],
        )
        for p, f, e, lk, pl, ph, p2, pa, qv in zip(
            kept,
            found[keep],
            expected[keep],
            *(np.asarray(res[x], dtype=float).reshape(-1) for x in ("luck", "p_low", "p_high", "p_two_sided")),
            adj,
            q,
            strict=True,
        )
    ]
    rows.sort(key=lambda r: -r.expected_blocks)
    notes = _notes(test)
    dropped = [p for p, k in zip(pools, keep, strict=True) if not k]
    if dropped:
        notes.append(
            f"No expectation for {len(dropped)} pool(s) with no block in the reference window: {', '.join(dropped[:5])}."
        )
    notes.append("The reference share's own sampling error is not included: p-values are those of a known mean.")
    return LuckResult(
        source=name,
        level=req.level,
        coverage=test.coverage,
        reference=ref.coverage if ref else None,
        alpha=req.alpha,
        correction="Holm (family-wise, valid under the negative dependence of counts sharing one total)",
        pools=rows,
        method="found k ~ Poisson(μ), μ = reference share × the window's blocks (or a stated hashrate × time / "
        "(difficulty·2^32)); exact tails P(X ≤ k), P(X ≥ k); two-sided = 2·min; Holm across pools. hashlens.pools.stats",
        notes=notes,
    )


# -- concentration -----------------------------------------------------------------------------------------
def pool_concentration(store: Store, req: ConcentrationRequest, clock: ChainClock | None = None) -> ConcentrationResult:
    """Top-1/top-3 share, HHI and Nakamoto coefficient of the window, with percentile
    bootstrap intervals (:func:`hashlens.pools.stats.bootstrap_concentration`)."""
    clock = clock or ChainClock.from_store(store)
    name = _first_source(req) or _default_source(store, req)
    src = load_source(store, name, clock)
    wc = window_counts(store, src, resolve_window(req, src), req.level, clock)
    point = stats.concentration(wc.counts, wc.total)
    boot = stats.bootstrap_concentration(wc.counts, wc.total, req.replicates, req.level_pct / 100, req.seed)
    order = np.argsort(-wc.counts, kind="stable")
    longest = None
    if wc.heights is not None:
        rows, _, _ = _shares(store, clock, wc, req.level_pct)
        runs = [r for r in rows if r.longest_run_blocks]
        longest = max(runs, key=lambda r: r.longest_run_blocks or 0) if runs else None

    def iv(key: str) -> Interval:
        return Interval(value=float(point[key]), low=boot[key][0], high=boot[key][1])

    return ConcentrationResult(
        source=name,
        level=req.level,
        level_pct=req.level_pct,
        coverage=wc.coverage,
        top1_share=iv("top1"),
        top3_share=iv("top3"),
        hhi=iv("hhi"),
        nakamoto=iv("nakamoto"),
        top_pools=[wc.pools[i] for i in order[:3]],
        longest_run=longest,
        replicates=req.replicates,
        seed=req.seed,
        method="shares of all the window's blocks (unidentified ones as no pool); HHI = Σ s² (0-1); Nakamoto = "
        "fewest pools above 50 %; percentile bootstrap over the window's blocks (multinomial). hashlens.pools.stats",
    )


# -- dominance over time -------------------------------------------------------------------------------------
def dominance(store: Store, req: DominanceRequest, clock: ChainClock | None = None) -> DominanceSeries:
    """Shares per pool in bins of ``step_days`` (the top pools by name, the rest as other)."""
    clock = clock or ChainClock.from_store(store)
    name = req.source or _default_source(store, PoolsRequest())
    src = load_source(store, name, clock)
    first, last = src.first_last_day()
    start, end = max(req.start or first, first), min(req.end or last, last)
    if start > end:
        raise HashlensError(f"source {name} covers {first} … {last}, nothing in {req.start} … {req.end}")
    pools, remap = _level_codes(src, req.level)
    if src.kind == "days":
        day_idx = (src.days - np.datetime64(start)).astype(np.int64)
        codes, weights = remap[src.day_codes], src.day_blocks
    else:
        day_idx = ((src.times - _start_ts(start)) // SECONDS_PER_DAY).astype(np.int64)
        codes, weights = remap[src.codes], np.ones(src.codes.size, dtype=np.int64)
    n_days = (end - start).days + 1
    keep = (day_idx >= 0) & (day_idx < n_days)
    bins = day_idx[keep] // req.step_days
    n_bins = (n_days + req.step_days - 1) // req.step_days
    codes, weights = codes[keep], weights[keep]
    width = len(pools) + 1  # the last column: unknown
    col = np.where(codes >= 0, codes, len(pools))
    grid = np.bincount(bins * width + col, weights=weights, minlength=n_bins * width).reshape(n_bins, width)
    totals = grid.sum(axis=1)
    top = [int(i) for i in np.argsort(-grid[:, :-1].sum(axis=0), kind="stable")[: req.top]]
    named = [pools[i] for i in top]
    other = grid[:, :-1].sum(axis=1) - grid[:, top].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = lambda col: [None if t == 0 else float(v / t) for v, t in zip(col, totals, strict=True)]  # noqa: E731
        shares = {p: frac(grid[:, i]) for p, i in zip(named, top, strict=True)}
        shares["other"] = frac(other)
        shares[UNKNOWN] = frac(grid[:, -1])
    return DominanceSeries(
        source=name,
        level=req.level,
        step_days=req.step_days,
        bin_start=[start + timedelta(days=b * req.step_days) for b in range(n_bins)],
        blocks=[int(t) for t in totals],
        pools=[*named, "other", UNKNOWN],
        shares=shares,
        method=f"blocks per pool per {req.step_days}-day bin / all blocks of the bin ({name}"
        + ("; block days from stored times, else interpolated between period starts)" if src.kind == "blocks" else ")"),
    )


# -- the store's coverage and checks ---------------------------------------------------------------------------
def coverage_summary(store: Store, clock: ChainClock | None = None) -> list[dict[str, Any]]:
    """Per source: kind, first and last day, rows — what the store's attribution covers."""
    out = []
    for s in store.pool_sources():
        src = load_source(store, str(s["source"]), clock)
        first, last = src.first_last_day()
        row = {
            "source": src.name,
            "kind": src.kind,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "rows": int(s["rows"]),
            "origin": src.origin,
        }
        if src.kind == "blocks":
            row["first_height"], row["last_height"] = int(src.heights.min()), int(src.heights.max())
        out.append(row)
    return out


def coverage_sentence(store: Store, clock: ChainClock | None = None, until: date | None = None) -> str:
    """One sentence saying what the store's pool attribution covers (up to ``until``: nothing
    dated later is named)."""
    cov = coverage_summary(store, clock)
    if until is not None:
        cov = [
            dict(c, last_day=min(c["last_day"], until.isoformat())) for c in cov if c["first_day"] <= until.isoformat()
        ]
    if not cov:
        return (
            "The store holds no pool attribution"
            + (f" up to {until}" if until else "")
            + (" (hashlens pools import --shared adds the shared datasets).")
        )
    parts = [
        f"{c['source']} ({'per block' if c['kind'] == 'blocks' else 'per day'}, {c['first_day']} … {c['last_day']})"
        for c in cov
    ]
    return "The store's pool attribution covers " + "; ".join(parts) + (f" up to {until}." if until else ".")
