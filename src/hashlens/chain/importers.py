"""File importers: checkpoints, block statistics, stale blocks, boundary times, header files
and the bundled snapshot, each read by its reader in :mod:`hashlens.sources`, checked, and
written through :class:`hashlens.store.sync.SyncQueries` one transaction per batch.

Rows already stored are skipped, so a rerun after an interruption resumes where the last
whole batch ended, and a second run of the same source adds nothing. Files of full headers take
the node sync's bulk path (:func:`import_headers`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.chain.headers import (
    StoredChain,
    check_height,
    check_placement,
    check_stored,
    header_columns,
)
from hashlens.chain.progress import Progress, SyncReport, trace, unchecked_notes
from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    MAX_BLOCK_HEIGHT,
    BlockHeader,
    calculate_next_work_required,
    permitted_difficulty_transition,
    target_to_bits,
)
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.contextual import (
    MAINNET,
    MAX_FUTURE_BLOCK_TIME_S,
    MEDIAN_TIME_SPAN,
    ZERO_HASH,
    ChainContext,
    ChainParams,
    HeaderRefused,
    Overlay,
    RunCheck,
    check_header_runs,
)
from hashlens.consensus.header import display_bytes, hash_headers, parse_headers, warm_hasher
from hashlens.errors import HashlensError
from hashlens.sources import detect
from hashlens.sources.block_times import read_block_times
from hashlens.sources.blockstats import check_block_stats, read_blockstats
from hashlens.sources.boundary_times import read_period_boundary_times
from hashlens.sources.checkpoints import read_bitcoinj, read_electrum
from hashlens.sources.headerfiles import HeaderFile
from hashlens.sources.snapshot import SOURCE as SNAPSHOT_SOURCE
from hashlens.sources.snapshot import read_snapshot
from hashlens.sources.stale import read_stale_blocks
from hashlens.store import Store
from hashlens.store.sync import HeaderColumns, PeriodRow, StaleRow, StatsRows, TimedBlocks

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: From this many headers, a file written in one transaction is written on a second handle in a
#: second thread while it is checked; below, after the checks, on this one. Measured interleaved
#: (medians, end to end into a store, machine at load 2): 436 checkpoint headers 37.9 ms inline
#: against 39.7 with the thread; 16,384 headers 63.9 against 65.3; 30,000 77.3 against 77.8;
#: 200,000 even at that load (261 ms), and 235 against 249 ms at best, with a core to spare.
OVERLAP_MIN_HEADERS = 32_768


def import_headers(
    store: Store,
    headers: HeaderFile,
    heights: np.ndarray,
    kind: str,
    progress: Progress,
    batch_rows: int,
    now: int | None = None,
    params: ChainParams = MAINNET,
) -> SyncReport:
    """Validate and store a file's full headers at ``heights``, each only where it belongs
    (:func:`hashlens.chain.headers.check_placement`), through the node sync's bulk path: every
    header hashed once (:func:`hashlens.consensus.header.hash_headers`), each batch's runs of
    consecutive heights checked in one pass (:func:`hashlens.consensus.contextual.check_header_runs`,
    which replays the header-by-header rules to word a refusal), and written as columns, at most
    ``batch_rows`` headers a transaction. Headers already stored are kept and counted skipped.

    ``now`` is the reference time of ``time-too-new`` [Unix s]; default the wall clock.
    ``params``: the chain's consensus parameters (mainnet's unless given).
    """
    now = int(time.time()) if now is None else now
    report = SyncReport(str(headers.path), kind)
    n = len(headers)
    progress.start(f"{kind}: {headers.path.name}", n)
    if n == 0:
        progress.done()
        return report
    heights = np.asarray(heights, dtype=np.int64)
    for i in (int(np.argmin(heights)), int(np.argmax(heights))):
        check_height(int(heights[i]), now, headers.where(i))
    wire = parse_headers(headers.raw)
    if n > 1 and not (np.diff(heights) > 0).all():  # files out of height order, or repeating one
        order = np.argsort(heights, kind="stable")
        wire, hs = wire[order], heights[order]
        repeated = np.flatnonzero(hs[1:] == hs[:-1]) + 1
        differ = repeated[(wire[repeated].view("V80") != wire[repeated - 1].view("V80")).ravel()]
        if differ.size:
            k = int(differ[0])
            raise HashlensError(
                f"{headers.where(int(order[k]))} (height {int(hs[k])}): a second header for this height "
                f"(the first: {headers.where(int(order[k - 1]))}); a height holds one block: fix the file"
            )
        keep = np.ones(hs.size, dtype=bool)
        keep[repeated] = False  # the same header twice: once is enough
        wire, hs, order = wire[keep], hs[keep], order[keep]
        raw = wire.tobytes()
    else:
        hs, order, raw = heights, np.arange(n), headers.raw
    warm_hasher()
    hashes = hash_headers(raw)

    def where(i: int) -> str:
        return headers.where(int(order[i]))

    m = hs.size
    unchecked: Counter[str] = Counter()

    def check(stored: StoredChain, ctx: ChainContext, r0: int, r1: int) -> RunCheck:
        """Rows r0 .. r1 - 1 (runs of consecutive heights) checked in one pass, and against
        what the store holds at their heights."""
        try:
            run = check_header_runs(
                ctx, hs[r0:r1], raw[80 * r0 : 80 * r1], str(headers.path), now, params, hashes[r0:r1]
            )
        except HeaderRefused as exc:  # named by its row, as the file numbers them
            row = r0 + int(np.searchsorted(hs[r0:r1], exc.height))
            raise HeaderRefused(where(row), exc.height, exc.block_hash, exc.rule, exc.detail) from None
        check_stored(stored, int(hs[r0]), run.hash_bytes, run.headers["time"], _placer(where, hs, r0), hs[r0:r1])
        unchecked.update(run.unchecked)
        return run

    batches = _batches(hs, max(1, batch_rows))
    if len(batches) == 1:
        # One transaction, committed only once every check has passed (a refusal rolls it back:
        # nothing of the file is stored). From OVERLAP_MIN_HEADERS it is written on a second
        # handle while this thread checks the headers (DuckDB releases the GIL): the write is
        # half the import's time.
        cols = HeaderColumns(
            int(hs[0]),
            display_bytes(hashes),
            display_bytes(wire["prev"]),
            display_bytes(wire["merkle"]),
            wire["version"],
            wire["time"],
            wire["bits"],
            wire["nonce"],
            None if hs[-1] - hs[0] == m - 1 else hs,
        )
        overlap = m >= OVERLAP_MIN_HEADERS
        writer_store = store.cursor() if overlap else store
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashlens-write") if overlap else None
        staged = (
            None if writer is None else writer.submit(writer_store.stage_header_columns, cols, str(headers.path), kind)
        )
        try:
            alone = check_placement(store, hs, hashes, wire["prev"], wire["time"], where)
            stored = StoredChain(store, int(hs[0]), int(hs[-1]))
            check(stored, stored, 0, m)  # one batch: nothing accepted above the store before it
            if staged is None:
                written = writer_store.stage_header_columns(cols, str(headers.path), kind)
            else:
                written = staged.result()
            writer_store.commit_staged()
        except BaseException:
            if staged is not None:
                with suppress(BaseException):
                    staged.result()
            writer_store.rollback_staged()
            raise
        finally:
            if writer is not None:
                writer.shutdown()
                writer_store.close()
        report.added += written
        report.skipped += m - written
        trace(f"committed batch of {written} headers up to height {int(hs[-1])}")
        progress.advance(m)
    else:
        alone = check_placement(store, hs, hashes, wire["prev"], wire["time"], where)
        _import_batches(store, str(headers.path), hs, batches, check, report, progress, kind)
    progress.done()
    if alone:
        report.notes.append(
            f"{alone} header(s) placed by the file's heights alone: no stored parent, child, hash or time "
            "at their heights confirms them"
        )
    report.notes.extend(unchecked_notes(unchecked))
    return report


def _import_batches(
    store: Store,
    source: str,
    hs: np.ndarray,
    batches: list[list[tuple[int, int]]],
    check: Callable[[StoredChain, ChainContext, int, int], RunCheck],
    report: SyncReport,
    progress: Progress,
    kind: str,
) -> None:
    """:func:`import_headers`' rows (at heights ``hs``) in batches, one transaction each:
    batch k is written while batch k + 1 is checked (DuckDB releases the GIL); a refusal
    leaves every earlier batch committed whole."""
    # What the store knows over the file's heights, read once: batches are checked against it
    # and the headers accepted before them while the previous batch is written.
    stored = StoredChain(store, int(hs[0]), int(hs[-1]))
    ctx = Overlay(stored)
    writing: tuple[Future[int], int, int] | None = None  # the write in flight: rows, top height

    def settle() -> None:
        nonlocal writing
        if writing is None:
            return
        done, count, top = writing
        writing = None
        written = done.result()
        report.added += written
        report.skipped += count - written
        trace(f"committed batch of {written} headers up to height {top}")
        progress.advance(count)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashlens-write") as writer:
        try:
            for batch in batches:
                r0, r1 = batch[0][0], batch[-1][1]  # the batch's rows: runs of consecutive heights
                run = check(stored, ctx, r0, r1)
                for a, b in batch:
                    ctx.extend(
                        int(hs[a]),
                        run.hash_bytes[32 * (a - r0) : 32 * (b - r0)],
                        run.headers["time"][a - r0 : b - r0],
                        run.headers["bits"][a - r0 : b - r0],
                    )
                settle()
                cols = header_columns(run)
                writing = (writer.submit(store.insert_header_columns, cols, source, kind), r1 - r0, int(hs[r1 - 1]))
            settle()
        finally:
            if writing is not None:  # a refusal: the batch before it still commits whole
                with suppress(Exception):
                    writing[0].result()


def _placer(where: Callable[[int], str], heights: np.ndarray, row0: int) -> Callable[[int], str]:
    """The place of a height among the rows from ``row0`` on (``heights``: every row's, ascending)."""
    return lambda h: where(row0 + int(np.searchsorted(heights[row0:], h)))


def _batches(heights: np.ndarray, batch_rows: int) -> list[list[tuple[int, int]]]:
    """Rows (ascending heights) in runs of consecutive heights, ``(start, end)`` each, grouped
    into batches of at most ``batch_rows`` rows (a long run split across batches)."""
    starts = np.flatnonzero(np.r_[True, np.diff(heights) != 1]).tolist()
    ends = [*starts[1:], heights.size]
    batches: list[list[tuple[int, int]]] = [[]]
    room = batch_rows
    for a, b in zip(starts, ends, strict=True):
        while a < b:
            if room == 0:
                batches.append([])
                room = batch_rows
            take = min(b - a, room)
            batches[-1].append((a, a + take))
            a += take
            room -= take
    return batches


def place_headers(store: Store, headers: HeaderFile, start_height: int | None) -> np.ndarray:
    """Each header's height: the file's own column, else --start-height, else one above its
    parent in the store (the first header's; the rest follow it)."""
    if start_height is not None and start_height < 0:
        raise HashlensError(f"--start-height {start_height} is negative; heights start at 0 (genesis)")
    if start_height is not None and start_height > MAX_BLOCK_HEIGHT:
        raise HashlensError(
            f"--start-height {start_height} is above {MAX_BLOCK_HEIGHT}, the highest height the store keeps"
        )
    if headers.heights is not None:
        return headers.heights
    n = len(headers)
    if start_height is None and n:
        first = BlockHeader.parse(headers.raw[:80])
        if first.prev_hash_hex == ZERO_HASH:
            start_height = 0
        else:
            parent = store.height_of_hash(first.prev_hash_hex)
            if parent is None:
                raise HashlensError(
                    f"{headers.path}: the first header's parent {first.prev_hash_hex} is not in the store; "
                    "pass --start-height"
                )
            start_height = parent + 1
    return np.arange(int(start_height or 0), int(start_height or 0) + n, dtype=np.int64)


# -- sparse sources ------------------------------------------------------------------------
def import_electrum(store: Store, path: Path, progress: Progress) -> SyncReport:
    periods = read_electrum(path)
    report = SyncReport(str(path), detect.ELECTRUM)
    stored = store.period_facts()
    stored_last = store.hashes_at(p.start_height + N - 1 for p in periods if p.last_block_hash)
    progress.start(f"periods: {path.name}", len(periods))
    new_rows: list[PeriodRow] = []
    for p in periods:
        bits = target_to_bits(p.target)
        if decode_compact(bits)[0] != p.target:
            raise HashlensError(f"{path}: entry {p.period - 1}: target is not compact-representable")
        if p.period > 0:
            prev_bits = target_to_bits(periods[p.period - 1].target)
            if not permitted_difficulty_transition(p.start_height, prev_bits, bits):
                raise HashlensError(
                    f"{path}: entry {p.period - 1}: target moves more than 4x (height {p.start_height})"
                )
        old = stored.get(p.period)
        if old is not None:
            if old.bits != bits or (
                old.last_block_hash and p.last_block_hash and old.last_block_hash != p.last_block_hash
            ):
                raise HashlensError(
                    f"{path}: period {p.period} (height {p.start_height}) conflicts with the stored period"
                )
            if old.last_block_hash or not p.last_block_hash:
                report.skipped += 1
                continue
        last = stored_last.get(p.start_height + N - 1)
        if last is not None and p.last_block_hash and last != p.last_block_hash:
            raise HashlensError(
                f"{path}: block {p.start_height + N - 1} is {p.last_block_hash} here but {last} in the store"
            )
        new_rows.append(PeriodRow(p.period, p.start_height, bits, p.last_block_hash, path.name))
    if new_rows:
        store.insert_periods(new_rows, str(path), detect.ELECTRUM)
    progress.advance(len(periods))
    progress.done()
    report.added = len(new_rows)
    return report


def import_stale(store: Store, path: Path, progress: Progress) -> SyncReport:
    """Stale (orphaned) blocks go to their own table; a stale block forked inside a period
    carries that period's main-chain bits, so unknown periods are filled from them (marked)."""
    report = SyncReport(str(path), detect.STALE)
    blocks = read_stale_blocks(path)
    known = store.stale_hashes()
    facts = store.period_facts()
    rows: list[StaleRow] = []
    periods_new: dict[int, int] = {}
    for b in blocks:
        p = b.height // N
        pbits = facts[p].bits if p in facts else None
        if pbits is not None and pbits != b.header.bits:
            report.notes.append(f"stale block {b.height} has bits 0x{b.header.bits:08x}, period has 0x{pbits:08x}")
        elif pbits is None:
            periods_new.setdefault(p, b.header.bits)
        if b.hash in known:
            report.skipped += 1
            continue
        rows.append(StaleRow(b.hash, b.height, b.header_hex))
    inferred = [
        PeriodRow(p, p * N, bits, None, f"{path.name} (inferred from stale blocks)")
        for p, bits in sorted(periods_new.items())
    ]
    store.insert_stale_blocks(rows, inferred, path.name, str(path), detect.STALE)
    if inferred:
        report.notes.append(f"{len(inferred)} periods' bits inferred from stale blocks: {sorted(periods_new)}")
    report.added = len(rows)
    progress.start(f"stale: {path.name}", len(blocks))
    progress.advance(len(blocks))
    progress.done()
    return report


def import_bitcoinj(
    store: Store, path: Path, progress: Progress, batch_rows: int, now: int | None = None
) -> SyncReport:
    cps = read_bitcoinj(path)
    headers = HeaderFile.from_rows(
        path, [(cp.height, cp.header, f"{path}: checkpoint {i + 1}") for i, cp in enumerate(cps)]
    )
    assert headers.heights is not None or not cps
    heights = headers.heights if headers.heights is not None else np.zeros(0, dtype=np.int64)
    return import_headers(store, headers, heights, detect.BITCOINJ, progress, batch_rows, now)


def import_blockstats(store: Store, path: Path, progress: Progress, batch_rows: int) -> SyncReport:
    """Per-block stats: hash and time of every block in the file, plus fees and subsidy.

    There are no headers here, so the checks are those the data allows
    (:func:`hashlens.sources.blockstats.check_block_stats`), plus agreement with the store:
    hashes and times equal any stored block's, and period-end hashes equal the periods'.
    Retargets recompute exactly where a period's first and last block times are both
    present (:func:`verify_retargets`, after the sync).
    """
    stats = read_blockstats(path)
    check_block_stats(stats, path)
    report = SyncReport(str(path), detect.BLOCKSTATS)
    done = store.stats_heights()
    heights, hashes = stats.height, stats.blockhash
    todo = [i for i, h in enumerate(heights.tolist()) if h not in done]
    report.skipped = len(heights) - len(todo)
    if report.skipped:
        _check_stored_stats(store, stats, [i for i, h in enumerate(heights.tolist()) if h in done], path)
    progress.start(f"blocks: {path.name}", len(heights))
    progress.advance(report.skipped)
    last_hashes = {p: f.last_block_hash for p, f in store.period_facts().items() if f.last_block_hash is not None}
    for start in range(0, len(todo), batch_rows):
        sel = np.asarray(todo[start : start + batch_rows], dtype=np.int64)
        hs = heights[sel]
        lo, hi = int(hs[0]), int(hs[-1])
        stored = {b.height: b for b in store.known_blocks(lo, hi)}
        keep = np.ones(len(sel), dtype=bool)
        for k, (i, h) in enumerate(zip(sel.tolist(), hs.tolist(), strict=True)):
            s = stored.get(h)
            if s is not None:
                if s.hash is not None and s.hash != hashes[i]:
                    raise HashlensError(f"{path}: height {h}: blockhash {hashes[i]} but the store has {s.hash}")
                if s.time is not None and s.time != int(stats.time[i]):
                    raise HashlensError(f"{path}: height {h}: time {int(stats.time[i])} but the store has {s.time}")
                # A stored row with a time but no hash (boundary times) gets its hash now.
                keep[k] = s.hash is None
            if (h + 1) % N == 0 and last_hashes.get(h // N, hashes[i]) != hashes[i]:
                raise HashlensError(
                    f"{path}: height {h}: blockhash {hashes[i]} but period {h // N} ends with {last_hashes[h // N]}"
                )
        nb = sel[keep]
        store.insert_block_stats(
            StatsRows(
                height=hs,
                mediantime=stats.mediantime[sel],
                subsidy_sat=stats.subsidy_sat[sel],
                totalfee_sat=stats.totalfee_sat[sel],
                txs=stats.txs[sel],
                total_weight=stats.total_weight[sel],
            ),
            TimedBlocks(heights[nb], [hashes[i] for i in nb.tolist()], stats.time[nb]),
            path.name,
            str(path),
            detect.BLOCKSTATS,
        )
        trace(f"committed batch of {len(sel)} block rows up to height {hi}")
        report.added += len(sel)
        progress.advance(len(sel))
    progress.done()
    return report


def _check_stored_stats(store: Store, stats: Any, rows: list[int], path: Path) -> None:
    """Rows of a block-stats file at heights whose statistics are already stored must agree with
    them (hash, time and each statistic the file gives); otherwise the file is refused whole,
    naming how many heights differ and the first, and the stored rows stay."""
    hs = stats.height[rows]
    stored = store.stats_between(int(hs.min()), int(hs.max()))
    differ: list[tuple[int, str]] = []
    for i in rows:
        h = int(stats.height[i])
        s = stored.get(h)
        if s is None:
            continue
        mediantime, subsidy, totalfee, txs, weight, block_hash, block_time = s
        mine = {
            "blockhash": (stats.blockhash[i], block_hash, True),
            "time": (int(stats.time[i]), block_time, True),
            "mediantime": (int(stats.mediantime[i]), mediantime, int(stats.mediantime[i]) != 0),
            "subsidy": (int(stats.subsidy_sat[i]), subsidy, int(stats.subsidy_sat[i]) != -1),
            "totalfee": (int(stats.totalfee_sat[i]), totalfee, int(stats.totalfee_sat[i]) != -1),
            "txs": (int(stats.txs[i]), txs, int(stats.txs[i]) != 0),
            "total_weight": (int(stats.total_weight[i]), weight, int(stats.total_weight[i]) != 0),
        }
        for name, (new, old, given) in mine.items():
            if given and old is not None and old != -1 and new != old:
                differ.append((h, f"{name} {new} but the store has {old}"))
                break
    if differ:
        h, what = differ[0]
        raise HashlensError(
            f"{path}: {len(differ)} height(s) already stored with different block stats (first {h}: {what}); "
            "nothing imported from this file, the stored rows stay"
        )


def import_boundary_times(store: Store, path: Path, progress: Progress) -> SyncReport:
    """The first and last block time of each period in a boundary-times file.

    Stored as block rows with a time and no hash (the file has none). A time that differs
    from one already stored at the height is refused; a period's bits, where the file gives
    them, must equal the stored period's. The retargets these times make checkable are
    recomputed by :func:`verify_retargets` after the sync.
    """
    rows = read_period_boundary_times(path)
    report = SyncReport(str(path), detect.BOUNDARY_TIMES)
    progress.start(f"period times: {path.name}", len(rows))
    facts = store.period_facts()
    wanted: dict[int, tuple[int, str]] = {}  # height -> (time, where)
    for r in rows:
        fact = facts.get(r.period_start // N)
        if r.bits is not None and fact is not None and fact.bits != r.bits:
            raise HashlensError(
                f"{r.where} (height {r.period_start}): bits 0x{r.bits:08x} but the store has 0x{fact.bits:08x} "
                f"for period {r.period_start // N}"
            )
        for h, t in ((r.period_start, r.start_time), (r.last_height, r.last_time)):
            if t is not None:
                wanted[h] = (t, r.where)
    stored = store.times_at(wanted)
    new_heights = []
    for h, (t, where) in sorted(wanted.items()):
        if h not in stored:
            new_heights.append(h)
        elif stored[h] is not None and stored[h] != t:
            raise HashlensError(
                f"{where} (height {h}): time {t} but the store has {stored[h]}; one of the sources is wrong"
            )
        else:
            report.skipped += 1
    if new_heights:
        hs = np.asarray(new_heights, dtype=np.int64)
        times = np.asarray([wanted[h][0] for h in new_heights], dtype=np.int64)
        store.insert_block_times(TimedBlocks(hs, [None] * len(hs), times), path.name, str(path), detect.BOUNDARY_TIMES)
    report.added = len(new_heights)
    report.notes.append(f"{len(wanted)} first/last block times of {len(rows)} periods, {len(new_heights)} new")
    progress.advance(len(rows))
    progress.done()
    return report


def import_block_times(store: Store, path: Path, progress: Progress, now: int) -> SyncReport:
    """Per-block header times (``height,time``; no hashes), stored as block rows with a time
    only where the store has no row.

    What each row proves is checked first, and the file is refused whole on the first row that
    fails: a time stored at its height (block stats, boundary times, a header) must be the
    row's; every time must be above the median time past of the 11 blocks below it wherever
    those are known (the file's rows and the store's), as consensus demands, and at most 2 h
    past the sync's clock. The retargets these times make checkable are recomputed against the
    stored periods' bits by :func:`verify_retargets` after the sync.
    """
    times = read_block_times(path)
    report = SyncReport(str(path), detect.BLOCK_TIMES)
    progress.start(f"block times: {path.name}", len(times))
    if not len(times):
        progress.done()
        return report
    for i in (0, len(times) - 1):
        check_height(int(times.height[i]), now, times.where(i))
    late = np.flatnonzero(times.time > now + MAX_FUTURE_BLOCK_TIME_S)
    if late.size:
        i = int(late[0])
        raise HashlensError(
            f"{times.where(i)} (height {int(times.height[i])}): time {int(times.time[i])} is more than "
            f"{MAX_FUTURE_BLOCK_TIME_S} s past the sync's clock {now}; rule time-too-new"
        )
    stored_h, stored_t = store.block_times()
    rows_at = store.times_at(times.height.tolist())  # every stored row at these heights: its time or None
    held = np.fromiter((int(h) in rows_at for h in times.height), dtype=bool, count=len(times))
    for i in np.flatnonzero(held).tolist():
        t = rows_at[int(times.height[i])]
        if t is not None and t != int(times.time[i]):
            raise HashlensError(
                f"{times.where(i)} (height {int(times.height[i])}): time {int(times.time[i])} but the store has "
                f"{t}; one of the sources is wrong"
            )
    # The median time past of every row whose 11 blocks below are known (stored or in the file).
    all_h = np.concatenate([stored_h[~np.isin(stored_h, times.height)], times.height])
    all_t = np.concatenate([stored_t[~np.isin(stored_h, times.height)], times.time])
    order = np.argsort(all_h, kind="stable")
    all_h, all_t = all_h[order], all_t[order]
    at = np.searchsorted(all_h, times.height)
    span = MEDIAN_TIME_SPAN
    known = (at >= span) & (all_h[np.maximum(at - span, 0)] == times.height - span)
    rows = np.flatnonzero(known)
    if rows.size:
        windows = np.lib.stride_tricks.sliding_window_view(all_t, span)[at[rows] - span]
        mtp = np.partition(windows, span // 2, axis=1)[:, span // 2]
        bad = rows[times.time[rows] <= mtp]
        if bad.size:
            i = int(bad[0])
            m = int(mtp[np.searchsorted(rows, i)])
            raise HashlensError(
                f"{times.where(i)} (height {int(times.height[i])}): time {int(times.time[i])} is not above {m}, "
                f"the median time of the previous {span} blocks; rule time-too-old"
            )
    new = ~held
    if new.any():
        store.insert_block_times(
            TimedBlocks(times.height[new], [None] * int(new.sum()), times.time[new]),
            path.name,
            str(path),
            detect.BLOCK_TIMES,
        )
    report.added = int(new.sum())
    report.skipped = int(held.sum())
    report.notes.append(
        f"{len(times)} block times ({int(times.height[0])} … {int(times.height[-1])}), {report.added} new; "
        f"{rows.size} checked against the median time past"
    )
    progress.advance(len(times))
    progress.done()
    return report


def verify_retargets(store: Store) -> int:
    """Recompute every retarget whose previous period's first and last block times are
    stored; raise naming the first that disagrees. Returns how many were checked."""
    checks = store.retarget_checks()
    for c in checks:
        want = calculate_next_work_required(c.old_bits, c.first_time, c.last_time)
        if want != c.new_bits:
            raise HashlensError(
                f"height {c.start_height}: stored bits 0x{c.new_bits:08x} but the retarget rule gives 0x{want:08x} "
                f"from the times of blocks {c.start_height - N} and {c.start_height - 1}"
            )
    return len(checks)


def import_snapshot(store: Store, progress: Progress, batch_rows: int, now: int | None = None) -> SyncReport:
    """The bundled snapshot of public chain facts (``hashlens/data/chain_snapshot.csv``, built by
    scripts/build_chain_snapshot.py): period bits and last-block hashes, and period-start blocks
    (full headers where known, validated like any other; else hash and time)."""
    source = SNAPSHOT_SOURCE
    rows = read_snapshot()
    report = SyncReport(source, "snapshot")
    stored = store.period_facts()
    new_periods = []
    for r in rows:
        if r.period in stored:
            if stored[r.period].bits != r.bits:
                raise HashlensError(
                    f"snapshot period {r.period}: bits 0x{r.bits:08x} but the store has 0x{stored[r.period].bits:08x}"
                )
            continue
        new_periods.append(PeriodRow(r.period, r.start_height, r.bits, r.last_block_hash, source))
    if new_periods:
        store.insert_periods(new_periods, source, "snapshot-periods")
    starts = [(r.start_height, r.start_header, f"snapshot period {r.period}") for r in rows if r.start_header]
    headers = HeaderFile.from_rows(Path(source), starts)
    heights = headers.heights if headers.heights is not None else np.zeros(0, dtype=np.int64)
    hr = import_headers(store, headers, heights, "snapshot-headers", progress, batch_rows, now)
    have = store.block_heights()
    times = [r for r in rows if r.start_time is not None and r.start_header is None and r.start_height not in have]
    if times:
        store.insert_block_times(
            TimedBlocks(
                np.asarray([r.start_height for r in times], dtype=np.int64),
                [r.start_hash for r in times],
                np.asarray([r.start_time for r in times], dtype=np.int64),
            ),
            source,
            source,
            "snapshot-times",
        )
    report.added = len(new_periods) + hr.added + len(times)
    report.skipped = len(rows) - len(new_periods) + hr.skipped
    report.notes.append(f"{len(new_periods)} periods, {hr.added} period-start headers, {len(times)} start times")
    return report


__all__ = [
    "import_bitcoinj",
    "import_block_times",
    "import_blockstats",
    "import_boundary_times",
    "import_electrum",
    "import_headers",
    "import_snapshot",
    "import_stale",
    "place_headers",
    "verify_retargets",
]
