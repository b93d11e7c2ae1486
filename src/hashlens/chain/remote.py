"""Sync from a node (Bitcoin Core RPC or REST, or an Esplora API): headers in bulk runs, or
each period's first header; the fork point and the node's branch when it disagrees with the
store (:mod:`hashlens.chain.reorg` decides); then the fees of recent blocks, and the recent
blocks not yet attributed to a pool handed to the caller's ``on_blocks`` sink (the pools
package, injected by the faces: chain/ does not import pools/)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress

import numpy as np

from hashlens.chain.fees import sync_fees
from hashlens.chain.headers import (
    StoredChain,
    check_height,
    check_stored,
    differs_from_stored,
    header_columns,
    validate_header,
)
from hashlens.chain.progress import Progress, SyncReport, trace, unchecked_notes
from hashlens.chain.reorg import abandoned_rows, losing_branch, reorganise
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, BlockHeader
from hashlens.consensus.contextual import (
    MAINNET,
    MEDIAN_TIME_SPAN,
    ChainParams,
    Overlay,
    check_header_run,
)
from hashlens.consensus.header import hash_headers, warm_hasher
from hashlens.errors import HashlensError
from hashlens.sources.remote import HeaderRun, HeaderSource
from hashlens.store import Store
from hashlens.store.sync import StoredHeader

N = DIFFICULTY_ADJUSTMENT_INTERVAL

#: Headers per run (one transaction) of a node sync unless told otherwise: one DuckDB row
#: group (122,880 rows). A transaction adding whole row groups has them written straight to
#: the file; a part of one is copied through the write-ahead log at commit (runs of 100,000
#: committed 3x slower than runs of 122,880: `sh scripts/bench node_sync`).
REMOTE_BATCH_ROWS = 122_880
#: Blocks below a node's tip whose fees a remote sync fetches by default: two periods, enough
#: for the trailing 144-block fees and the hashprice of the recent days.
DEFAULT_FEE_BLOCKS = 2 * N

#: What a sync hands on after storing headers and fees: the open store, the node's client and
#: the (height, hash) of the stored headers in the fee window without a stored coinbase, oldest
#: first; it returns notes for the sync's report.
BlocksSink = Callable[[Store, HeaderSource, list[tuple[int, str]]], Sequence[str]]


def find_fork_point(store: Store, client: HeaderSource, remote_tip: int) -> int | None:
    """Highest stored full-header height whose hash the remote agrees with (None: none stored)."""
    stored = store.headers_at_or_below(remote_tip, 1)
    if not stored:
        return None
    top, top_hash = stored[0]
    if client.block_hashes([top])[0] == top_hash and not store.count_headers_above(remote_tip):
        return top
    step = 64
    hi = top
    while hi >= 0:
        cand = store.headers_at_or_below(hi, step)
        if not cand:
            return -1
        remote = client.block_hashes([h for h, _ in cand])
        for (h, x), r in zip(cand, remote, strict=True):
            if x == r:
                return h
        hi = cand[-1][0] - 1
    return -1


def fetch_branch(
    client: HeaderSource,
    ctx: Overlay,
    stored: StoredChain,
    heights: Sequence[int],
    periods_only: bool,
    step: int,
    now: int,
    unchecked: Counter[str],
    params: ChainParams = MAINNET,
) -> tuple[list[tuple[int, BlockHeader, str]], dict[int, str]]:
    """Fetch and validate the headers at ``heights`` (and, periods-only, the hashes below them)."""
    fresh: list[tuple[int, BlockHeader, str]] = []
    last_hashes: dict[int, str] = {}
    where = f"{client.name} block"
    for start in range(0, len(heights), step):
        hs = list(heights[start : start + step])
        if periods_only:
            asked = [x for h in hs for x in (h - 1, h)]
            got = client.block_hashes(asked)
            named = dict(zip(asked, got, strict=True))
        else:
            named = dict(zip(hs, client.block_hashes(hs), strict=True))
        raws = client.raw_headers([named[h] for h in hs])
        for h, raw in zip(hs, raws, strict=True):
            hdr = BlockHeader.parse(raw)
            if hdr.hash_hex != named[h]:
                raise HashlensError(
                    f"{where} (height {h}): the header the node sent hashes to {hdr.hash_hex}, "
                    f"not {named[h]}, the hash it named for that height; refused"
                )
            if periods_only:
                known = ctx.hash_at(h - 1)
                if known is not None and known != named[h - 1]:
                    raise differs_from_stored(where, h - 1, named[h - 1], known)
                stored.note_hash(h - 1, named[h - 1])
                last_hashes[h - 1] = named[h - 1]
            check_stored(stored, h, bytes.fromhex(hdr.hash_hex), np.array([hdr.time]), where)
            fresh.append((h, hdr, validate_header(ctx, h, hdr, where, unchecked, now, params)))
    return fresh, last_hashes


def sync_remote(
    store: Store,
    client: HeaderSource,
    progress: Progress,
    batch_rows: int,
    start_height: int | None = None,
    periods_only: bool = False,
    now: int | None = None,
    params: ChainParams = MAINNET,
    fee_blocks: int | None = DEFAULT_FEE_BLOCKS,
    on_blocks: BlocksSink | None = None,
) -> SyncReport:
    """Sync headers (or period-start headers) from a node, with Core's fork choice, then the
    fees of recent blocks where the node offers them.

    The node's tip must be a height consensus allows by ``now``. Where the node disagrees with
    stored headers, its branch above the highest agreeing stored header is fetched and
    validated first; it replaces the stored branch (one transaction) only if its exact work
    is greater, else the reorganisation is refused. Every header must hash to the hash the
    node named for its height.

    Full headers travel in runs of ``batch_rows`` (:meth:`HeaderSource.header_run`: Core's REST
    where served, else batched JSON-RPC), are checked with
    :func:`hashlens.consensus.contextual.check_header_run` (each hashed once, every rule of
    :func:`~hashlens.consensus.contextual.check_header`, under ``params``, mainnet's unless
    given) and stored in one columnar transaction per run, while the next run is fetched.

    ``fee_blocks``: the stored headers among the last ``fee_blocks`` below the tip without
    block statistics get them from the node (Core's ``getblockstats``, a mempool-style
    Esplora's ``extras.totalFees``); None: every stored header; 0: no fees.

    ``on_blocks``: called last with the stored headers of the same window that have no stored
    coinbase (or one of another block: the chain moved), oldest first; its notes join the
    report's. ``hashlens sync`` and ``serve --follow`` pass
    :func:`hashlens.pools.attribution.attribute_node_blocks`.
    """
    now = int(time.time()) if now is None else now
    report = SyncReport(client.name, "periods" if periods_only else "headers")
    tip = client.tip_height()
    check_height(tip, now, f"{client.name}: tip")
    if start_height is not None:
        check_height(start_height, now, f"{client.name}: --start-height")
    fork = find_fork_point(store, client, tip)
    step = max(1, batch_rows)
    losing = losing_branch(store, fork, tip) if fork is not None and store.count_headers_above(fork) else []
    if fork is not None and losing:
        _reorganise(store, client, report, progress, fork, tip, min(step, 1000), periods_only, now, losing, params)
    elif not periods_only:
        begin = start_height if start_height is not None else (fork + 1 if fork is not None else 0)
        _sync_runs(store, client, report, progress, begin, tip, step, now, params)
    else:
        _sync_period_starts(store, client, report, progress, start_height, tip, min(step, 1000), now, params)
    sync_fees(store, client, report, tip, fee_blocks)
    if on_blocks is not None and fee_blocks != 0:
        todo = unattributed(store, tip, fee_blocks)
        if todo:
            report.notes.extend(on_blocks(store, client, todo))
    return report


def unattributed(store: Store, tip: int, blocks: int | None) -> list[tuple[int, str]]:
    """(height, hash) of the stored headers among the last ``blocks`` below ``tip`` (None:
    all) without a stored coinbase of that block, oldest first."""
    lo = 0 if blocks is None else max(0, tip - blocks + 1)
    have = store.coinbase_hashes(lo, tip)
    return [(h, x) for h, x in sorted(store.header_hashes(lo, tip).items()) if have.get(h) != x]


def _sync_period_starts(
    store: Store,
    client: HeaderSource,
    report: SyncReport,
    progress: Progress,
    start_height: int | None,
    tip: int,
    step: int,
    now: int,
    params: ChainParams,
) -> None:
    """The first header of every period not stored yet, with the hash of the block below it."""
    first_period = max(1, ((start_height or 0) + N - 1) // N)
    have = store.header_heights()
    heights = [p * N for p in range(first_period, tip // N + 1) if p * N not in have]
    progress.start(f"sync {client.name}", len(heights))
    unchecked: Counter[str] = Counter()
    for start in range(0, len(heights), step):
        hs = heights[start : start + step]
        stored = StoredChain(store, hs[0] - 1, hs[-1])
        fresh, last_hashes = fetch_branch(client, Overlay(stored), stored, hs, True, step, now, unchecked, params)
        store.insert_period_start_headers(fresh, last_hashes, client.name, report.kind)
        trace(f"committed batch of {len(fresh)} headers up to height {hs[-1]}")
        report.added += len(fresh)
        progress.advance(len(hs))
    progress.done()
    report.notes.extend(unchecked_notes(unchecked))


def _check_named(run: HeaderRun, hashes: np.ndarray, where: str) -> None:
    """Every hash the source named must be the hash of the header it sent for that height."""
    for h, named in run.named:
        i = h - run.height0
        got = hashes[i][::-1].tobytes().hex()
        if got != named:
            raise HashlensError(
                f"{where} (height {h}): the header the node sent hashes to {got}, "
                f"not {named}, the hash it named for that height; refused"
            )


def _sync_runs(
    store: Store,
    client: HeaderSource,
    report: SyncReport,
    progress: Progress,
    begin: int,
    tip: int,
    step: int,
    now: int,
    params: ChainParams,
) -> None:
    """Heights ``begin`` … ``tip`` in runs of ``step``: fetch, check as one run, store as
    columns in one transaction each, as a pipeline of three stages: while run k is hashed and
    checked here, run k + 1 is fetched in one worker thread and run k - 1 written in another
    (DuckDB and the network release the GIL). The store is touched by one thread at a time:
    run k's stored facts are read only once run k - 1 is committed. A refused run stops the
    sync with every earlier run committed."""
    where = f"{client.name} block"
    runs = [(lo, min(step, tip - lo + 1)) for lo in range(begin, tip + 1, step)]
    progress.start(f"sync {client.name}", max(0, tip - begin + 1))
    # The store below the first run, read once; later runs see the sync's own headers first.
    below = StoredChain(store, begin, begin - 1)
    ctx = Overlay(below, keep=max(N, params.interval) + MEDIAN_TIME_SPAN)
    unchecked: Counter[str] = Counter()
    writing: tuple[Future[int], int, int] | None = None  # the write in flight: its run's start and size

    def settle() -> None:
        """Wait for the write in flight; its failure is the sync's."""
        nonlocal writing
        if writing is None:
            return
        done, lo, count = writing
        writing = None
        done.result()
        trace(f"committed batch of {count} headers up to height {lo + count - 1}")
        report.added += count
        progress.advance(count)

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashlens-fetch") as fetcher,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashlens-write") as writer,
    ):
        pending: Future[HeaderRun] | None = fetcher.submit(client.header_run, *runs[0]) if runs else None
        if runs:
            warm_hasher()  # in the background, while the first runs are fetched and checked
        try:
            for k, (lo, count) in enumerate(runs):
                assert pending is not None
                fetched = pending.result()
                pending = fetcher.submit(client.header_run, *runs[k + 1]) if k + 1 < len(runs) else None
                if len(fetched.raw) != 80 * count:
                    raise HashlensError(
                        f"{client.name}: {len(fetched.raw)} bytes for {count} headers from height {lo}; rerun the sync"
                    )
                hashes = hash_headers(fetched.raw)
                _check_named(fetched, hashes, where)
                run = check_header_run(ctx, lo, fetched.raw, where, now, params, hashes=hashes)
                settle()
                check_stored(below, lo, run.hash_bytes, run.headers["time"], where)
                cols = header_columns(run)
                writing = (writer.submit(store.insert_header_columns, cols, client.name, report.kind), lo, count)
                ctx.extend(lo, run.hash_bytes, run.headers["time"], run.headers["bits"])
                unchecked.update(run.unchecked)
            settle()
        finally:
            if writing is not None:  # a refusal or a failed fetch: the earlier run still commits whole
                with suppress(Exception):
                    writing[0].result()
            if pending is not None:
                pending.cancel()
    progress.done()
    report.notes.append(f"headers over {client.transport}")
    report.notes.extend(unchecked_notes(unchecked))


def _reorganise(
    store: Store,
    client: HeaderSource,
    report: SyncReport,
    progress: Progress,
    fork: int,
    tip: int,
    step: int,
    periods_only: bool,
    now: int,
    losing: list[StoredHeader],
    params: ChainParams = MAINNET,
) -> None:
    """Fetch and validate the node's branch above ``fork`` against the store below it, then
    let :func:`hashlens.chain.reorg.reorganise` choose between it and the stored branch."""
    if periods_only:
        heights: Sequence[int] = [p * N for p in range(fork // N + 1, tip // N + 1)]
    else:
        heights = range(fork + 1, tip + 1)
    progress.start(f"sync {client.name} (branch above {fork})", len(heights))
    # The node's branch is checked against everything stored but the branch it would replace.
    stored = StoredChain(store, fork + 1, tip, hide=abandoned_rows(store, fork, losing))
    unchecked: Counter[str] = Counter()
    fresh, last_hashes = fetch_branch(
        client, Overlay(stored), stored, heights, periods_only, step, now, unchecked, params
    )
    progress.advance(len(heights))
    progress.done()
    reorganise(store, report, fork, tip, fresh, last_hashes if periods_only else None, losing, stored, client.name)
    report.notes.extend(unchecked_notes(unchecked))


__all__ = [
    "DEFAULT_FEE_BLOCKS",
    "REMOTE_BATCH_ROWS",
    "BlocksSink",
    "fetch_branch",
    "find_fork_point",
    "sync_remote",
    "unattributed",
]
