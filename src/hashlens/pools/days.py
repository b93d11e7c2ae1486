"""Pools by UTC day: the store's own blocks per whole day, a daily source's totals held
against them (:func:`daily_totals_check`), and the report's week of pools
(:func:`weekly_pools`), built from :mod:`hashlens.pools.analysis`' window figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from hashlens.chain.clock import ChainClock
from hashlens.errors import HashlensError
from hashlens.pools.analysis import (
    EDGE_MARGIN_S,
    Window,
    coverage_sentence,
    load_source,
    pool_concentration,
    pool_shares,
    window_counts,
)
from hashlens.pools.models import ConcentrationRequest, PoolsRequest, WeeklyPools
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY


def store_blocks_per_day(clock: ChainClock) -> tuple[np.ndarray, np.ndarray]:
    """(days, blocks) for every UTC day the stored block times cover whole: blocks counted by
    their own time, on days where the stored run reaches ``EDGE_MARGIN_S`` beyond both edges."""
    h, t = clock.block_h, clock.block_t
    if h.size == 0:
        return np.zeros(0, dtype="datetime64[D]"), np.zeros(0, dtype=np.int64)
    runs = np.split(np.arange(h.size), np.flatnonzero(np.diff(h) != 1) + 1)
    days_out, counts_out = [], []
    for r in runs:
        tr = t[r]
        d = (tr // SECONDS_PER_DAY).astype(np.int64)
        first_whole = int((tr.min() + EDGE_MARGIN_S) // SECONDS_PER_DAY) + 1
        last_whole = int((tr.max() - EDGE_MARGIN_S) // SECONDS_PER_DAY) - 1
        if last_whole < first_whole:
            continue
        sel = (d >= first_whole) & (d <= last_whole)
        c = np.bincount(d[sel] - first_whole, minlength=last_whole - first_whole + 1)
        days_out.append(np.arange(first_whole, last_whole + 1).astype("datetime64[D]"))
        counts_out.append(c)
    if not days_out:
        return np.zeros(0, dtype="datetime64[D]"), np.zeros(0, dtype=np.int64)
    return np.concatenate(days_out), np.concatenate(counts_out).astype(np.int64)


def daily_totals_check(store: Store, source: str, clock: ChainClock | None = None) -> dict[str, Any]:
    """A daily source's blocks per day (all entities) against the store's blocks per whole UTC
    day, wherever both exist: the days, both totals and how many differ."""
    clock = clock or ChainClock.from_store(store)
    src = load_source(store, source, clock)
    if src.kind != "days":
        raise HashlensError(f"source {source} is per block; the check compares a per-day source with the store")
    days, idx = np.unique(src.days, return_inverse=True)
    totals = np.bincount(idx, weights=src.day_blocks).astype(np.int64)
    sdays, scounts = store_blocks_per_day(clock)
    common, ia, ib = np.intersect1d(days, sdays, return_indices=True)
    diff = totals[ia] != scounts[ib]
    return {
        "source": source,
        "days_compared": int(common.size),
        "days_differing": int(diff.sum()),
        "days": [str(d) for d in common],
        "source_blocks": [int(x) for x in totals[ia]],
        "store_blocks": [int(x) for x in scounts[ib]],
    }


# -- the week's figures ------------------------------------------------------------------------------------
def weekly_pools(store: Store, as_of: date, clock: ChainClock | None = None, days: int = 7) -> WeeklyPools:
    """The pools of the ``days`` to ``as_of`` for the weekly report: from the source covering
    every one of those days (the one with the most blocks there), its shares and concentration;
    else ``covered`` false and one sentence saying what the store covers."""
    clock = clock or ChainClock.from_store(store)
    start = as_of - timedelta(days=days - 1)
    best: tuple[int, str] | None = None
    for s in store.pool_sources():
        src = load_source(store, str(s["source"]), clock)
        try:
            wc = window_counts(store, src, Window(start, as_of, None, ""), "pool", clock)
        except HashlensError:
            continue
        first, last = src.first_last_day()
        if src.kind == "days":
            whole = first <= start and last >= as_of and wc.coverage.days_covered == days
        else:  # every height of the week labelled, and the labelled run reaching past both ends
            lo, hi = int(wc.coverage.start_height or 0), int(wc.coverage.end_height or 0)
            labelled = set(
                src.heights[np.searchsorted(src.heights, [lo - 1, hi + 1]).clip(0, src.heights.size - 1)].tolist()
            )
            whole = wc.coverage.missing_heights == 0 and {lo - 1, hi + 1} <= labelled
        if whole and (best is None or wc.total > best[0]):
            best = (wc.total, src.name)
    if best is None:
        return WeeklyPools(
            covered=False, start_day=start, end_day=as_of, sentence=coverage_sentence(store, clock, as_of)
        )
    req = PoolsRequest(source=best[1], start=start, end=as_of)
    shares = pool_shares(store, req, clock=clock)
    conc = pool_concentration(
        store, ConcentrationRequest(source=best[1], start=start, end=as_of, replicates=1000), clock
    )
    return WeeklyPools(
        covered=True,
        source=best[1],
        start_day=start,
        end_day=as_of,
        shares=shares,
        concentration=conc,
        sentence=coverage_sentence(store, clock, as_of),
    )
