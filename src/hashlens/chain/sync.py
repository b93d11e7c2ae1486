"""Sync chain data into the store: files, folders, Bitcoin Core RPC and Esplora.

Orchestration only: each source is read by a reader in :mod:`hashlens.sources`, checked
with :mod:`hashlens.consensus` (headers in their chain context by
:mod:`hashlens.consensus.contextual`), and written through the typed queries of
:class:`hashlens.store.sync.SyncQueries`, one transaction per batch. Rows already stored are
skipped, so a rerun after an interruption resumes where the last whole batch ended, and a
second run of the same source adds nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    BlockHeader,
    block_work,
    calculate_next_work_required,
    permitted_difficulty_transition,
    target_to_bits,
)
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.contextual import (
    BAD_DIFFBITS,
    MAINNET,
    MAX_FUTURE_BLOCK_TIME_S,
    MEDIAN_TIME_SPAN,
    TIME_TOO_NEW,
    TIME_TOO_OLD,
    ZERO_HASH,
    ChainContext,
    ChainParams,
    RunCheck,
    check_header,
    check_header_run,
)
from hashlens.consensus.header import display_bytes, hash_headers, warm_hasher
from hashlens.consensus.params import GENESIS_TIME
from hashlens.errors import HashlensError
from hashlens.sources import detect
from hashlens.sources.blockstats import BlockStats, check_block_stats, read_blockstats
from hashlens.sources.boundary_times import read_period_boundary_times
from hashlens.sources.checkpoints import read_bitcoinj, read_electrum
from hashlens.sources.headerfiles import (
    HeaderRow,
    read_headers_csv,
    read_headers_parquet,
    read_raw_headers,
)
from hashlens.sources.remote import HeaderRun, HeaderSource, open_remote
from hashlens.sources.snapshot import SOURCE as SNAPSHOT_SOURCE
from hashlens.sources.snapshot import read_snapshot
from hashlens.sources.stale import read_stale_blocks
from hashlens.sources.verified_headers import read_verified_headers
from hashlens.store import Store
from hashlens.store.sync import HeaderColumns, PeriodRow, StaleRow, StatsRows, TimedBlocks

N = DIFFICULTY_ADJUSTMENT_INTERVAL


class Progress(Protocol):
    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...

    def done(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass
class SyncReport:
    source: str
    kind: str
    added: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "added": self.added,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def default_batch_rows() -> int:
    return int(os.environ.get("HASHLENS_BATCH_ROWS", "10000"))


#: Heights are stored as 32-bit integers.
STORE_MAX_HEIGHT = 2**31 - 1


def height_ceiling(now: int) -> int:
    """The highest height a header can have by ``now`` [Unix s]: consensus makes the median
    time past of 11 blocks rise at least 1 s every 6 blocks (``time-too-old``) and no header
    is more than 2 h ahead (``time-too-new``), so by ``now`` at most
    6·(now + 2 h - genesis time) + 11 blocks can exist; capped at what the store can hold."""
    return max(0, min(6 * (now + MAX_FUTURE_BLOCK_TIME_S - GENESIS_TIME) + 11, STORE_MAX_HEIGHT))


def check_height(height: int, now: int, where: str) -> None:
    """A height must lie in 0 … :func:`height_ceiling`."""
    if height < 0:
        raise HashlensError(f"{where}: height {height} is negative; heights start at 0 (genesis)")
    ceiling = height_ceiling(now)
    if height > ceiling:
        raise HashlensError(
            f"{where}: height {height} is above {ceiling}, the most blocks consensus allows by now; "
            "the source is wrong or not Bitcoin mainnet"
        )


_UNCHECKED_WHY = {
    TIME_TOO_OLD: "time-too-old (median time past) not checkable: the store lacks the previous 11 block times",
    BAD_DIFFBITS: "bad-diffbits not checkable: the store lacks the parent's bits",
    TIME_TOO_NEW: "time-too-new not checked: no reference time",
}


def unchecked_notes(counts: Counter[str]) -> list[str]:
    """Report lines for the rules that could not be decided, with how many headers each."""
    return [f"{_UNCHECKED_WHY[r]} ({n} header(s))" for r, n in sorted(counts.items())]


def _trace(message: str) -> None:
    # Lets a test (or a curious user) watch batches commit: HASHLENS_SYNC_TRACE=1.
    if os.environ.get("HASHLENS_SYNC_TRACE"):
        print(f"trace: {message}", file=sys.stderr, flush=True)


# -- validation of full headers -----------------------------------------------------------
class ChainView:
    """What is known at each height: this batch's headers, then the store, loaded in bulk
    for the batch's height range (one query each, not one per header). Implements
    :class:`hashlens.consensus.contextual.ChainContext`."""

    def __init__(self, store: Store, lo: int | None = None, hi: int | None = None, below: int | None = None) -> None:
        """``below``: see only what the store holds at or below this height (a fork point)."""
        self.hashes: dict[int, str] = {}
        self.times: dict[int, int] = {}
        self.bits: dict[int, int] = {}
        self.unchecked: Counter[str] = Counter()
        if below is not None:
            hi = below if hi is None else min(hi, below)
        for b in store.known_blocks(None if lo is None else lo - N, hi):
            if b.hash is not None:  # a row with a time but no hash says nothing of linkage
                self.hashes[b.height] = b.hash
            if b.time is not None:
                self.times[b.height] = b.time
            if b.bits is not None:
                self.bits[b.height] = b.bits
        self._period_bits: dict[int, int] = {}
        for p, fact in store.period_facts().items():
            if below is not None and p * N > below:
                continue
            self._period_bits[p] = fact.bits
            if fact.last_block_hash is not None and (below is None or p * N + N - 1 <= below):
                self.hashes.setdefault(p * N + N - 1, fact.last_block_hash)

    def hash_at(self, h: int) -> str | None:
        return self.hashes.get(h)

    def time_at(self, h: int) -> int | None:
        return self.times.get(h)

    def period_bits(self, p: int) -> int | None:
        return self._period_bits.get(p)

    def bits_at(self, h: int) -> int | None:
        b = self.bits.get(h)
        return b if b is not None else self.period_bits(h // N)

    def add(self, h: int, hdr: BlockHeader, block_hash: str) -> None:
        self.hashes[h], self.times[h], self.bits[h] = block_hash, hdr.time, hdr.bits


def validate_header(
    view: ChainView, height: int, hdr: BlockHeader, where: str, now: int | None = None, params: ChainParams = MAINNET
) -> str:
    """Check one header in its chain context (:func:`hashlens.consensus.contextual.check_header`,
    ``now`` the reference time), add it to the view so the next header sees it, count the rules
    the context could not decide, and return its hash. Raises naming the height and rule."""
    checked = check_header(view, height, hdr, where, now, params)
    view.unchecked.update(checked.unchecked)
    view.add(height, hdr, checked.hash)
    return checked.hash


def _check_stored_facts(view: ChainView, height: int, hdr: BlockHeader, where: str) -> None:
    """A new header must agree with a hash or time already stored at its height without a
    header (block stats, boundary times, a period's last-block hash)."""
    known = view.hash_at(height)
    if known is not None and known != hdr.hash_hex:
        raise HashlensError(
            f"{where} (height {height}): block {hdr.hash_hex} differs from stored {known}; "
            "a different chain: sync from a node to resolve the reorganisation"
        )
    t = view.time_at(height)
    if t is not None and t != hdr.time:
        raise HashlensError(
            f"{where} (height {height}): header time {hdr.time} but the store has {t}; one of the sources is wrong"
        )


def import_headers(
    store: Store,
    rows: Sequence[tuple[int, BlockHeader, str]],
    source: str,
    kind: str,
    progress: Progress,
    batch_rows: int,
    now: int | None = None,
) -> SyncReport:
    """Validate and store full headers (height, header, where) in order, batch by batch.

    ``now`` is the reference time of ``time-too-new`` [Unix s]; default the wall clock."""
    now = int(time.time()) if now is None else now
    report = SyncReport(source, kind)
    for h, _, where in rows:
        check_height(h, now, where)
    unchecked: Counter[str] = Counter()
    progress.start(f"{kind}: {Path(source).name}", len(rows))
    for start in range(0, len(rows), batch_rows):
        batch = rows[start : start + batch_rows]
        lo, hi = min(h for h, _, _ in batch), max(h for h, _, _ in batch)
        have = store.header_hashes(lo, hi)
        view = ChainView(store, lo, hi)
        fresh = []
        for h, hdr, where in batch:
            if h in have:
                if have[h] != hdr.hash_hex:
                    raise HashlensError(
                        f"{where} (height {h}): block {hdr.hash_hex} differs from stored {have[h]}; "
                        "a different chain: sync from a node to resolve the reorganisation"
                    )
                report.skipped += 1
                view.add(h, hdr, have[h])
                continue
            _check_stored_facts(view, h, hdr, where)
            fresh.append((h, hdr, validate_header(view, h, hdr, where, now)))
        unchecked.update(view.unchecked)
        if fresh:
            store.insert_headers(fresh, source, kind)
            _trace(f"committed batch of {len(fresh)} headers up to height {fresh[-1][0]}")
        report.added += len(fresh)
        progress.advance(len(batch))
    progress.done()
    report.notes.extend(unchecked_notes(unchecked))
    return report


def place_headers(
    store: Store, rows: list[HeaderRow], start_height: int | None, path: Path
) -> list[tuple[int, BlockHeader, str]]:
    """Give each header a height: its own column, --start-height, or its parent in the store."""
    if start_height is not None and start_height < 0:
        raise HashlensError(f"--start-height {start_height} is negative; heights start at 0 (genesis)")
    if rows and rows[0].height is not None:
        out = []
        for r in rows:
            if r.height is None:
                raise HashlensError(f"{r.where}: height is empty")
            out.append((r.height, r.header, r.where))
        return out
    if start_height is None and rows:
        first = rows[0].header
        if first.prev_hash_hex == ZERO_HASH:
            start_height = 0
        else:
            parent = store.height_of_hash(first.prev_hash_hex)
            if parent is None:
                raise HashlensError(
                    f"{path}: the first header's parent {first.prev_hash_hex} is not in the store; pass --start-height"
                )
            start_height = parent + 1
    return [(int(start_height or 0) + i, r.header, r.where) for i, r in enumerate(rows)]


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
    rows = [(cp.height, cp.header, f"{path}: checkpoint {i + 1}") for i, cp in enumerate(cps)]
    return import_headers(store, rows, str(path), detect.BITCOINJ, progress, batch_rows, now)


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
        _trace(f"committed batch of {len(sel)} block rows up to height {hi}")
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


# -- remote sources ------------------------------------------------------------------------
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


def branch_work(lo: int, hi: int, bits_of: Callable[[int], int | None]) -> int:
    """Exact work of the blocks at heights ``lo`` … ``hi`` [hashes]: per period, its blocks
    times ``block_work`` of its bits (every block of a mainnet period shares them).
    ``bits_of(period)`` gives a period's bits; a period without known bits counts nothing."""
    total = 0
    h = lo
    while h <= hi:
        p = h // N
        end = min(hi, p * N + N - 1)
        bits = bits_of(p)
        if bits is not None:
            total += (end - h + 1) * block_work(bits)
        h = end + 1
    return total


def _fetch_branch(
    client: HeaderSource,
    view: ChainView,
    heights: Sequence[int],
    periods_only: bool,
    step: int,
    now: int,
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
                known = view.hash_at(h - 1)
                if known is not None and known != named[h - 1]:
                    raise HashlensError(
                        f"{where} (height {h - 1}): remote hash {named[h - 1]} differs from stored {known}"
                    )
                view.hashes[h - 1] = named[h - 1]
                last_hashes[h - 1] = named[h - 1]
            _check_stored_facts(view, h, hdr, where)
            fresh.append((h, hdr, validate_header(view, h, hdr, where, now, params)))
    return fresh, last_hashes


#: Headers per run (one transaction) of a node sync unless told otherwise: one DuckDB row
#: group (122,880 rows). A transaction adding whole row groups has them written straight to
#: the file; a part of one is copied through the write-ahead log at commit (runs of 100,000
#: committed 3x slower than runs of 122,880: `sh scripts/bench node_sync`).
REMOTE_BATCH_ROWS = 122_880
#: Blocks below a node's tip whose fees a remote sync fetches by default: two periods, enough
#: for the trailing 144-block fees and the hashprice of the recent days.
DEFAULT_FEE_BLOCKS = 2 * N


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
    bulk: bool = True,
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
    ``bulk=False`` keeps the header-by-header path (the benchmark's baseline).

    ``fee_blocks``: the stored headers among the last ``fee_blocks`` below the tip without
    block statistics get them from the node (Core's ``getblockstats``, a mempool-style
    Esplora's ``extras.totalFees``); None: every stored header; 0: no fees.
    """
    now = int(time.time()) if now is None else now
    report = SyncReport(client.name, "periods" if periods_only else "headers")
    tip = client.tip_height()
    check_height(tip, now, f"{client.name}: tip")
    if start_height is not None:
        check_height(start_height, now, f"{client.name}: --start-height")
    fork = find_fork_point(store, client, tip)
    step = max(1, batch_rows)
    if fork is not None and store.count_headers_above(fork):
        report = _reorganise(store, client, report, progress, fork, tip, min(step, 1000), periods_only, now)
        _sync_fees(store, client, report, tip, fee_blocks)
        return report
    if not periods_only and bulk:
        begin = start_height if start_height is not None else (fork + 1 if fork is not None else 0)
        _sync_runs(store, client, report, progress, begin, tip, step, now, params)
        _sync_fees(store, client, report, tip, fee_blocks)
        return report
    step = min(step, 1000)
    heights: Sequence[int]
    if periods_only:
        first_period = max(1, ((start_height or 0) + N - 1) // N)
        have = store.header_heights()
        heights = [p * N for p in range(first_period, tip // N + 1) if p * N not in have]
    else:
        begin = start_height if start_height is not None else (fork + 1 if fork is not None else 0)
        heights = range(begin, tip + 1)
    progress.start(f"sync {client.name}", len(heights))
    unchecked: Counter[str] = Counter()
    for start in range(0, len(heights), step):
        hs = heights[start : start + step]
        view = ChainView(store, hs[0] - 1, hs[-1])
        fresh, last_hashes = _fetch_branch(client, view, hs, periods_only, step, now, params)
        unchecked.update(view.unchecked)
        if periods_only:
            store.insert_period_start_headers(fresh, last_hashes, client.name, report.kind)
        else:
            store.insert_headers(fresh, client.name, report.kind)
        _trace(f"committed batch of {len(fresh)} headers up to height {hs[-1]}")
        report.added += len(fresh)
        progress.advance(len(hs))
    progress.done()
    report.notes.extend(unchecked_notes(unchecked))
    _sync_fees(store, client, report, tip, fee_blocks)
    return report


class _TailContext:
    """The context of the next run of a bulk sync: the last headers already accepted in this
    sync (enough for the retarget's 2016 blocks back and the median of 11), then ``below``,
    the store as it was when the sync began."""

    def __init__(self, below: ChainView, keep: int) -> None:
        self.below, self.keep = below, keep
        self.height0 = 0
        self.hash_bytes = b""
        self.times = np.zeros(0, dtype=np.int64)
        self.bits = np.zeros(0, dtype=np.int64)

    def extend(self, run: RunCheck) -> None:
        if self.times.size and run.height0 != self.height0 + self.times.size:
            raise AssertionError("runs must be consecutive")
        if not self.times.size:
            self.height0 = run.height0
        hash_bytes = self.hash_bytes + run.hash_bytes
        times = np.concatenate([self.times, run.headers["time"].astype(np.int64)])
        bits = np.concatenate([self.bits, run.headers["bits"].astype(np.int64)])
        drop = max(0, times.size - self.keep)
        self.height0 += drop
        self.hash_bytes, self.times, self.bits = hash_bytes[32 * drop :], times[drop:], bits[drop:]

    def _index(self, height: int) -> int | None:
        i = height - self.height0
        return i if 0 <= i < self.times.size else None

    def hash_at(self, height: int) -> str | None:
        i = self._index(height)
        return self.below.hash_at(height) if i is None else self.hash_bytes[32 * i : 32 * i + 32].hex()

    def time_at(self, height: int) -> int | None:
        i = self._index(height)
        return self.below.time_at(height) if i is None else int(self.times[i])

    def bits_at(self, height: int) -> int | None:
        i = self._index(height)
        return self.below.bits_at(height) if i is None else int(self.bits[i])

    def period_bits(self, period: int) -> int | None:
        return self.below.period_bits(period)


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


def _check_stored_run(store: Store, view: ChainView, run: RunCheck, where: str) -> None:
    """:func:`_check_stored_facts` for a whole run: hashes and times stored without headers at
    its heights (block stats, boundary times, periods' last blocks) must agree."""
    lo, n = run.height0, len(run)
    facts: dict[int, tuple[str | None, int | None]] = {}
    for p_end in range((lo // N) * N + N - 1, lo + n, N):
        if p_end >= lo and view.hashes.get(p_end) is not None:
            facts[p_end] = (view.hashes[p_end], None)
    for b in store.known_blocks(lo, lo + n - 1):
        facts[b.height] = (b.hash if b.hash is not None else facts.get(b.height, (None, None))[0], b.time)
    for h, (known_hash, known_time) in sorted(facts.items()):
        i = h - lo
        got = run.hash_at(i)
        if known_hash is not None and known_hash != got:
            raise HashlensError(
                f"{where} (height {h}): block {got} differs from stored {known_hash}; "
                "a different chain: sync from a node to resolve the reorganisation"
            )
        t = int(run.headers["time"][i])
        if known_time is not None and known_time != t:
            raise HashlensError(
                f"{where} (height {h}): header time {t} but the store has {known_time}; one of the sources is wrong"
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
    below = ChainView(store, begin, begin - 1)
    ctx = _TailContext(below, keep=max(N, params.interval) + MEDIAN_TIME_SPAN)
    unchecked: Counter[str] = Counter()
    writing: tuple[Future[None], int, int] | None = None  # the write in flight: its run's start and size

    def settle() -> None:
        """Wait for the write in flight; its failure is the sync's."""
        nonlocal writing
        if writing is None:
            return
        done, lo, count = writing
        writing = None
        done.result()
        _trace(f"committed batch of {count} headers up to height {lo + count - 1}")
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
                run = _check_run(ctx, lo, fetched.raw, hashes, where, now, params)
                settle()
                _check_stored_run(store, below, run, where)
                cols = HeaderColumns(
                    lo,
                    run.hash_bytes,
                    display_bytes(run.headers["prev"]),
                    display_bytes(run.headers["merkle"]),
                    run.headers["version"],
                    run.headers["time"],
                    run.headers["bits"],
                    run.headers["nonce"],
                )
                writing = (writer.submit(store.insert_header_columns, cols, client.name, report.kind), lo, count)
                ctx.extend(run)
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


def _check_run(
    ctx: ChainContext, lo: int, raw: bytes, hashes: np.ndarray, where: str, now: int, params: ChainParams
) -> RunCheck:
    return check_header_run(ctx, lo, raw, where, now, params, hashes=hashes)


def _sync_fees(store: Store, client: HeaderSource, report: SyncReport, tip: int, fee_blocks: int | None) -> None:
    """Block statistics (fees) for the stored headers among the last ``fee_blocks`` below the
    tip that have none, through the block-stats write path; each must name the stored hash."""
    if fee_blocks == 0:
        return
    lo = 0 if fee_blocks is None else max(0, tip - fee_blocks + 1)
    have = store.header_hashes(lo, tip)
    done = store.stats_between(lo, tip)
    todo = sorted(h for h in have if h not in done)
    if not todo:
        return
    fees, note = client.block_fees(todo)
    for f in fees:
        if have.get(f.height) != f.blockhash:
            raise HashlensError(
                f"{client.name}: the block stats for height {f.height} are of block {f.blockhash}, "
                f"but the store has {have.get(f.height)}; the node's chain moved: rerun the sync"
            )
    if fees:
        col = lambda name: np.asarray([getattr(f, name) for f in fees], dtype=np.int64)  # noqa: E731
        # The node's statistics meet the same checks as a file's (consensus subsidy, fees not
        # negative, what a block can hold): a node that lies is refused on one line.
        order = np.argsort(col("height"), kind="stable")
        check_block_stats(
            BlockStats(
                height=col("height")[order],
                time=col("time")[order],
                blockhash=[fees[i].blockhash for i in order.tolist()],
                subsidy_sat=col("subsidy_sat")[order],
                totalfee_sat=col("totalfee_sat")[order],
                mediantime=np.zeros(len(fees), dtype=np.int64),  # parents may be missing: no MTP check here
                txs=col("txs")[order],
                total_weight=col("total_weight")[order],
            ),
            client.name,
        )
        store.insert_block_stats(
            StatsRows(
                col("height"),
                col("mediantime"),
                col("subsidy_sat"),
                col("totalfee_sat"),
                col("txs"),
                col("total_weight"),
            ),
            TimedBlocks(np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)),
            client.name,
            client.name,
            "block-fees",
        )
        report.notes.append(f"fees of {len(fees)} block(s) stored")
    if note:
        report.notes.append(note)


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
) -> SyncReport:
    """The node's branch above ``fork`` against the stored one: most work wins (Core's rule;
    equal work keeps what is stored)."""
    stored_view = ChainView(store)
    stored_top = store.header_top()
    assert stored_top is not None  # there are headers above the fork
    stored_bits = {h // N: b for h, b in stored_view.bits.items() if h > fork}
    stored_work = branch_work(fork + 1, stored_top, lambda p: stored_bits.get(p, stored_view.period_bits(p)))
    if periods_only:
        heights: Sequence[int] = [p * N for p in range(fork // N + 1, tip // N + 1)]
    else:
        heights = range(fork + 1, tip + 1)
    progress.start(f"sync {client.name} (branch above {fork})", len(heights))
    view = ChainView(store, fork + 1, fork, below=fork)
    fresh, last_hashes = _fetch_branch(client, view, heights, periods_only, step, now)
    progress.advance(len(heights))
    progress.done()
    node_bits = {h // N: hdr.bits for h, hdr, _ in fresh}
    node_work = branch_work(fork + 1, tip, lambda p: node_bits.get(p, view.period_bits(p)))
    if node_work <= stored_work:
        raise HashlensError(
            f"{client.name}: reorganisation refused: the node's branch above height {fork} (to {tip}) has work "
            f"{node_work:#x}, not more than the stored branch's {stored_work:#x} (to {stored_top}); "
            "the store keeps the branch with the most work"
        )
    above = store.rows_above(fork)
    dropped = store.replace_branch(fork, fresh, last_hashes if periods_only else None, client.name, report.kind)
    report.added = len(fresh)
    report.notes.append(
        f"reorganisation: rolled back {dropped} block(s) above height {fork}: the node's branch has more work "
        f"({node_work:#x} against {stored_work:#x})"
    )
    if above.bare_blocks or above.stats or above.periods:
        report.notes.append(
            f"dropped with the old branch: {above.bare_blocks} block row(s) without headers"
            + (f" (from {above.bare_sources})" if above.bare_sources else "")
            + f", {above.stats} block-stats row(s), {above.periods} period row(s)"
        )
    report.notes.extend(unchecked_notes(view.unchecked))
    return report


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
    headers = [(r.start_height, r.start_header, f"snapshot period {r.period}") for r in rows if r.start_header]
    hr = import_headers(store, headers, source, "snapshot-headers", progress, batch_rows, now)
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


# -- entry point -------------------------------------------------------------------------
FILE_ORDER = (
    detect.ELECTRUM,
    detect.STALE,
    detect.BITCOINJ,
    detect.BLOCKSTATS,
    detect.BOUNDARY_TIMES,
    detect.VERIFIED_HEADERS,
    detect.HEADERS_CSV,
    detect.HEADERS_PARQUET,
    detect.RAW_HEADERS,
)


def sync_shared_data(store: Store, data_dir: Path, progress: Progress | None = None) -> list[SyncReport]:
    """The shared data folder's chain files: ``chain/`` (checkpoints, block stats, stale
    blocks), then ``chain-extra/`` where present (period boundary times, verified headers)."""
    reports = sync(store, str(data_dir / "chain"), progress)
    if (data_dir / "chain-extra").is_dir():
        reports += sync(store, str(data_dir / "chain-extra"), progress)
    return reports


def sync(
    store: Store,
    source: str,
    progress: Progress | None = None,
    batch_rows: int | None = None,
    start_height: int | None = None,
    periods_only: bool = False,
    cookie_file: str | None = None,
    now: int | None = None,
    params: ChainParams = MAINNET,
    fee_blocks: int | None = DEFAULT_FEE_BLOCKS,
) -> list[SyncReport]:
    """Sync one source (path, folder, ``bitcoind://…``, ``bitcoind+rest://…`` or
    ``esplora+http(s)://…``).

    ``now`` is the reference time of Core's ``time-too-new`` rule [Unix s]: the wall clock
    when the sync starts, unless given (tests). ``params``: the chain's consensus parameters
    for a node's headers (mainnet's unless given); ``fee_blocks``: see :func:`sync_remote`."""
    progress = progress or NullProgress()
    now = int(time.time()) if now is None else now
    batch = batch_rows or default_batch_rows()
    if source == "snapshot":
        return [import_snapshot(store, progress, batch, now)]
    if "://" in source:
        client = open_remote(source, cookie_file)
        # A node's runs are written as columns: large transactions cost DuckDB far less per row.
        remote_batch = batch_rows or int(os.environ.get("HASHLENS_BATCH_ROWS", str(REMOTE_BATCH_ROWS)))
        return [sync_remote(store, client, progress, remote_batch, start_height, periods_only, now, params, fee_blocks)]
    path = Path(source)
    if not path.exists():
        raise HashlensError(f"{source}: no such file or folder")
    files: list[tuple[str, Path]] = []
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    skipped: list[str] = []
    for f in candidates:
        kind = detect.detect_format(f)
        if kind is None:
            if path.is_file():
                raise HashlensError(f"{f}: not a chain data format hashlens knows (see `hashlens sync --help`)")
            skipped.append(f.name)
        else:
            files.append((kind, f))
    files.sort(key=lambda kf: FILE_ORDER.index(kf[0]))
    reports = []
    for kind, f in files:
        reports.append(_import_file(store, kind, f, progress, batch, start_height, now))
    checked = verify_retargets(store)
    if reports:
        reports[-1].notes.append(f"{checked} retargets recomputed exactly from stored block times")
        if skipped:
            reports[-1].notes.append(f"not chain data, left alone: {', '.join(skipped)}")
    return reports


def _import_file(
    store: Store, kind: str, f: Path, progress: Progress, batch: int, start_height: int | None, now: int
) -> SyncReport:
    importers: dict[str, Callable[[], SyncReport]] = {
        detect.ELECTRUM: lambda: import_electrum(store, f, progress),
        detect.BITCOINJ: lambda: import_bitcoinj(store, f, progress, batch, now),
        detect.BLOCKSTATS: lambda: import_blockstats(store, f, progress, batch),
        detect.STALE: lambda: import_stale(store, f, progress),
        detect.BOUNDARY_TIMES: lambda: import_boundary_times(store, f, progress),
    }
    if kind != detect.BLOCKSTATS:
        with open(f, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                raise HashlensError(
                    f"{f}: a gzip-compressed {kind} file; only block stats are read compressed (gunzip it)"
                )
    if kind in importers:
        return importers[kind]()
    reader = {
        detect.HEADERS_CSV: read_headers_csv,
        detect.HEADERS_PARQUET: read_headers_parquet,
        detect.RAW_HEADERS: read_raw_headers,
        detect.VERIFIED_HEADERS: read_verified_headers,
    }[kind]
    rows = place_headers(store, reader(f), start_height, f)
    return import_headers(store, rows, str(f), kind, progress, batch, now)


__all__ = [
    "DEFAULT_FEE_BLOCKS",
    "NullProgress",
    "Progress",
    "SyncReport",
    "branch_work",
    "default_batch_rows",
    "find_fork_point",
    "height_ceiling",
    "import_headers",
    "sync",
    "sync_remote",
    "validate_header",
    "verify_retargets",
]
