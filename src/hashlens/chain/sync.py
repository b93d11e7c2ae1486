"""Sync chain data into the store: files, folders, Bitcoin Core RPC and Esplora.

Each source is read, validated with :mod:`hashlens.consensus`, and written in batches, one
transaction per batch. Rows already stored are skipped, so a rerun after an interruption
resumes where the last whole batch ended, and a second run of the same source adds nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_LIMIT_BITS,
    BlockHeader,
    calculate_next_work_required,
    permitted_difficulty_transition,
    target_to_bits,
)
from hashlens.consensus.compact import decode_compact
from hashlens.errors import HashlensError
from hashlens.sources import detect
from hashlens.sources.blockstats import read_blockstats
from hashlens.sources.checkpoints import read_bitcoinj, read_electrum
from hashlens.sources.headerfiles import (
    HeaderRow,
    read_headers_csv,
    read_headers_parquet,
    read_raw_headers,
)
from hashlens.sources.remote import HeaderSource, open_remote
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL
ZERO_HASH = "00" * 32
BLOCK_COLUMNS = ("height", "hash", "prev_hash", "version", "merkle_root", "time", "bits", "nonce", "source")


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


def _trace(message: str) -> None:
    # Lets a test (or a curious user) watch batches commit: HASHLENS_SYNC_TRACE=1.
    if os.environ.get("HASHLENS_SYNC_TRACE"):
        print(f"trace: {message}", file=sys.stderr, flush=True)


# -- validation of full headers -----------------------------------------------------------
class ChainView:
    """What is known at each height: this batch's headers, then the store, loaded in bulk
    for the batch's height range (one query each, not one per header)."""

    def __init__(self, store: Store, lo: int | None = None, hi: int | None = None) -> None:
        self.hashes: dict[int, str] = {}
        self.times: dict[int, int] = {}
        self.bits: dict[int, int] = {}
        where, args = ("", []) if lo is None or hi is None else ("WHERE height BETWEEN ? AND ?", [lo - N, hi])
        for h, x, t, b in store.rows(f"SELECT height, hash, time, bits FROM blocks {where}", args):
            self.hashes[int(h)] = str(x)
            if t is not None:
                self.times[int(h)] = int(t)
            if b is not None:
                self.bits[int(h)] = int(b)
        self._period_bits: dict[int, int] = {}
        for p, b, last in store.rows("SELECT period, bits, last_block_hash FROM periods"):
            self._period_bits[int(p)] = int(b)
            if last is not None:
                self.hashes.setdefault(int(p) * N + N - 1, str(last))

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


def validate_header(view: ChainView, height: int, hdr: BlockHeader, where: str) -> str:
    """Check one header in its chain context; return its hash. Raises naming the height."""
    at = f"{where} (height {height})"
    block_hash = hdr.hash_hex
    if not hdr.check_proof_of_work():
        raise HashlensError(f"{at}: block {block_hash} fails proof of work for its bits 0x{hdr.bits:08x}")
    if height == 0:
        if hdr.prev_hash_hex != ZERO_HASH:
            raise HashlensError(f"{at}: the genesis block must have a zero prev hash")
    else:
        prev = view.hash_at(height - 1)
        if prev is not None and hdr.prev_hash_hex != prev:
            raise HashlensError(
                f"{at}: prev hash {hdr.prev_hash_hex} is not block {height - 1} ({prev}); "
                "the headers are out of order, have a gap, or belong to another chain"
            )
    pbits = view.period_bits(height // N)
    if pbits is not None and hdr.bits != pbits:
        raise HashlensError(f"{at}: bits 0x{hdr.bits:08x} but period {height // N} has bits 0x{pbits:08x}")
    if height > 0:
        old = view.bits_at(height - 1)
        if height % N:
            if old is not None and old != hdr.bits:
                raise HashlensError(f"{at}: bits change from 0x{old:08x} to 0x{hdr.bits:08x} off a retarget height")
        elif old is not None:
            t_first, t_last = view.time_at(height - N), view.time_at(height - 1)
            if t_first is not None and t_last is not None:
                want = calculate_next_work_required(old, t_first, t_last)
                if want != hdr.bits:
                    raise HashlensError(
                        f"{at}: bits 0x{hdr.bits:08x} break the retarget rule, which gives 0x{want:08x} "
                        f"from blocks {height - N} and {height - 1}"
                    )
            elif not permitted_difficulty_transition(height, old, hdr.bits):
                raise HashlensError(f"{at}: bits 0x{hdr.bits:08x} move more than 4x from 0x{old:08x} at a retarget")
    view.add(height, hdr, block_hash)
    return block_hash


def _block_rows(rows: Sequence[tuple[int, BlockHeader, str]], source: str) -> pa.Table:
    return pa.table(
        {
            "height": pa.array([h for h, _, _ in rows], pa.int32()),
            "hash": [b for _, _, b in rows],
            "prev_hash": [x.prev_hash_hex for _, x, _ in rows],
            "version": pa.array([x.version for _, x, _ in rows], pa.int32()),
            "merkle_root": [x.merkle_root[::-1].hex() for _, x, _ in rows],
            "time": pa.array([x.time for _, x, _ in rows], pa.int64()),
            "bits": pa.array([x.bits for _, x, _ in rows], pa.uint32()),
            "nonce": pa.array([x.nonce for _, x, _ in rows], pa.uint64()),
            "source": [source] * len(rows),
        }
    )


def _existing_hashes(store: Store, heights: Iterable[int]) -> dict[int, str]:
    hs = list(heights)
    if not hs:
        return {}
    got = store.rows(
        "SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ? AND prev_hash IS NOT NULL",
        [min(hs), max(hs)],
    )
    return {int(h): str(x) for h, x in got}


def import_headers(
    store: Store,
    rows: Sequence[tuple[int, BlockHeader, str]],
    source: str,
    kind: str,
    progress: Progress,
    batch_rows: int,
) -> SyncReport:
    """Validate and store full headers (height, header, where) in order, batch by batch."""
    report = SyncReport(source, kind)
    progress.start(f"{kind}: {Path(source).name}", len(rows))
    for start in range(0, len(rows), batch_rows):
        batch = rows[start : start + batch_rows]
        have = _existing_hashes(store, (h for h, _, _ in batch))
        view = ChainView(store, min(h for h, _, _ in batch), max(h for h, _, _ in batch))
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
            fresh.append((h, hdr, validate_header(view, h, hdr, where)))
        if fresh:
            with store.transaction():
                store.insert_arrow("blocks", _block_rows(fresh, source), BLOCK_COLUMNS)
                store.log(source, kind, len(fresh))
            _trace(f"committed batch of {len(fresh)} headers up to height {fresh[-1][0]}")
        report.added += len(fresh)
        progress.advance(len(batch))
    progress.done()
    return report


def place_headers(
    store: Store, rows: list[HeaderRow], start_height: int | None, path: Path
) -> list[tuple[int, BlockHeader, str]]:
    """Give each header a height: its own column, --start-height, or its parent in the store."""
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
            parent = store.scalar("SELECT height FROM blocks WHERE hash = ?", [first.prev_hash_hex])
            if parent is None:
                raise HashlensError(
                    f"{path}: the first header's parent {first.prev_hash_hex} is not in the store; pass --start-height"
                )
            start_height = int(parent) + 1
    return [(int(start_height or 0) + i, r.header, r.where) for i, r in enumerate(rows)]


# -- sparse sources ------------------------------------------------------------------------
def import_electrum(store: Store, path: Path, progress: Progress) -> SyncReport:
    periods = read_electrum(path)
    report = SyncReport(str(path), detect.ELECTRUM)
    stored = {int(p): (int(b), h) for p, b, h in store.rows("SELECT period, bits, last_block_hash FROM periods")}
    progress.start(f"periods: {path.name}", len(periods))
    new_rows: list[dict[str, Any]] = []
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
            if old[0] != bits or (old[1] and p.last_block_hash and old[1] != p.last_block_hash):
                raise HashlensError(
                    f"{path}: period {p.period} (height {p.start_height}) conflicts with the stored period"
                )
            if old[1] or not p.last_block_hash:
                report.skipped += 1
                continue
        stored_last = store.scalar("SELECT hash FROM blocks WHERE height = ?", [p.start_height + N - 1])
        if stored_last is not None and p.last_block_hash and stored_last != p.last_block_hash:
            raise HashlensError(
                f"{path}: block {p.start_height + N - 1} is {p.last_block_hash} here but {stored_last} in the store"
            )
        new_rows.append(
            {
                "period": p.period,
                "start_height": p.start_height,
                "bits": bits,
                "target_hex": f"{p.target:064x}",
                "last_block_hash": p.last_block_hash,
                "source": path.name,
            }
        )
    if new_rows:
        with store.transaction():
            store.insert_arrow("periods", pa.Table.from_pylist(new_rows).cast(_PERIOD_SCHEMA), _PERIOD_COLS)
            store.log(str(path), detect.ELECTRUM, len(new_rows))
    progress.advance(len(periods))
    progress.done()
    report.added = len(new_rows)
    return report


_PERIOD_COLS = ("period", "start_height", "bits", "target_hex", "last_block_hash", "source")
_PERIOD_SCHEMA = pa.schema(
    [
        ("period", pa.int32()),
        ("start_height", pa.int32()),
        ("bits", pa.uint32()),
        ("target_hex", pa.string()),
        ("last_block_hash", pa.string()),
        ("source", pa.string()),
    ]
)


def import_stale(store: Store, path: Path, progress: Progress) -> SyncReport:
    """Stale (orphaned) blocks go to their own table; a stale block forked inside a period
    carries that period's main-chain bits, so unknown periods are filled from them (marked)."""
    report = SyncReport(str(path), detect.STALE)
    lines = path.read_text().splitlines()
    known = {str(x[0]) for x in store.rows("SELECT hash FROM stale_blocks")}
    rows: list[dict[str, Any]] = []
    periods_new: dict[int, int] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        parts = line.split(",")
        if len(parts) != 3:
            raise HashlensError(f"{path}: line {lineno}: expected height,hash,header")
        try:
            height = int(parts[0])
        except ValueError:
            raise HashlensError(f"{path}: line {lineno}: height {parts[0]!r} is not an integer") from None
        hdr = BlockHeader.from_hex(parts[2])
        if hdr.hash_hex != parts[1].strip():
            raise HashlensError(f"{path}: line {lineno}: header hashes to {hdr.hash_hex}, not {parts[1]}")
        if not hdr.check_proof_of_work():
            raise HashlensError(f"{path}: line {lineno}: header fails proof of work")
        p = height // N
        pbits = store.period_bits(p)
        if pbits is not None and pbits != hdr.bits:
            report.notes.append(f"stale block {height} has bits 0x{hdr.bits:08x}, period has 0x{pbits:08x}")
        elif pbits is None:
            periods_new.setdefault(p, hdr.bits)
        if hdr.hash_hex in known:
            report.skipped += 1
            continue
        rows.append({"hash": hdr.hash_hex, "height": height, "header": parts[2].strip(), "source": path.name})
    with store.transaction():
        if rows:
            store.insert_arrow("stale_blocks", pa.Table.from_pylist(rows), ("hash", "height", "header", "source"))
        prd = [
            {
                "period": p,
                "start_height": p * N,
                "bits": b,
                "target_hex": f"{decode_compact(b)[0]:064x}",
                "last_block_hash": None,
                "source": f"{path.name} (inferred from stale blocks)",
            }
            for p, b in sorted(periods_new.items())
        ]
        if prd:
            store.insert_arrow("periods", pa.Table.from_pylist(prd).cast(_PERIOD_SCHEMA), _PERIOD_COLS)
            report.notes.append(f"{len(prd)} periods' bits inferred from stale blocks: {sorted(periods_new)}")
        store.log(str(path), detect.STALE, len(rows))
    report.added = len(rows)
    progress.start(f"stale: {path.name}", len(lines) - 1)
    progress.advance(len(lines) - 1)
    progress.done()
    return report


def import_bitcoinj(store: Store, path: Path, progress: Progress, batch_rows: int) -> SyncReport:
    cps = read_bitcoinj(path)
    rows = [(cp.height, cp.header, f"{path}: checkpoint {i + 1}") for i, cp in enumerate(cps)]
    return import_headers(store, rows, str(path), detect.BITCOINJ, progress, batch_rows)


def import_blockstats(store: Store, path: Path, progress: Progress, batch_rows: int) -> SyncReport:
    """Per-block stats: hash and time of every block in the file, plus fees and subsidy.

    There are no headers here, so the checks are those the data allows: hashes agree with
    any stored header or period hash, the subsidy is the consensus subsidy, each block's time
    exceeds the median time past of its parent, and retargets recompute exactly where a
    period's first and last block times are both present.
    """
    stats = read_blockstats(path)
    report = SyncReport(str(path), detect.BLOCKSTATS)
    done = {int(r[0]) for r in store.rows("SELECT height FROM block_stats")}
    heights = stats.height
    hashes = stats.blockhash
    bad_len = [i for i, x in enumerate(hashes) if len(x) != 64]
    if bad_len or not set("".join(hashes)) <= set("0123456789abcdef"):
        i = bad_len[0] if bad_len else next(i for i, x in enumerate(hashes) if not set(x) <= set("0123456789abcdef"))
        raise HashlensError(f"{path}: height {int(heights[i])}: blockhash {hashes[i]!r} is not 64 lowercase hex digits")
    halvings = heights // 210_000
    expected_subsidy = np.where(halvings < 64, np.right_shift(5_000_000_000, np.minimum(halvings, 63)), 0)
    bad = np.flatnonzero(stats.subsidy_sat != expected_subsidy)
    if bad.size:
        i = int(bad[0])
        raise HashlensError(
            f"{path}: height {int(heights[i])}: subsidy {int(stats.subsidy_sat[i])} sat is not the "
            f"consensus {int(expected_subsidy[i])} sat"
        )
    bad = np.flatnonzero(stats.totalfee_sat < 0)
    if bad.size:
        raise HashlensError(f"{path}: height {int(heights[int(bad[0])])}: negative total fee")
    # Median-time-past rule (a block's time must exceed its parent's MTP) where the parent is
    # the previous row; vectorised over the whole file.
    if len(heights) > 1 and stats.mediantime.any():
        has_parent = np.diff(heights) == 1
        bad = np.flatnonzero(has_parent & (stats.time[1:] <= stats.mediantime[:-1]))
        if bad.size:
            i = int(bad[0]) + 1
            raise HashlensError(
                f"{path}: height {int(heights[i])}: time {int(stats.time[i])} is not after "
                f"the parent's median time past {int(stats.mediantime[i - 1])}"
            )
    todo = [i for i, h in enumerate(heights.tolist()) if h not in done]
    report.skipped = len(heights) - len(todo)
    progress.start(f"blocks: {path.name}", len(heights))
    progress.advance(report.skipped)
    last_hashes = dict(store.rows("SELECT period, last_block_hash FROM periods WHERE last_block_hash IS NOT NULL"))
    for start in range(0, len(todo), batch_rows):
        sel = np.asarray(todo[start : start + batch_rows], dtype=np.int64)
        hs = heights[sel]
        lo, hi = int(hs[0]), int(hs[-1])
        stored = dict(store.rows("SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ?", [lo, hi]))
        keep = np.ones(len(sel), dtype=bool)
        for k, (i, h) in enumerate(zip(sel.tolist(), hs.tolist(), strict=True)):
            s_hash = stored.get(h)
            if s_hash is not None:
                if s_hash != hashes[i]:
                    raise HashlensError(f"{path}: height {h}: blockhash {hashes[i]} but the store has {s_hash}")
                keep[k] = False
            if (h + 1) % N == 0 and last_hashes.get(h // N, hashes[i]) != hashes[i]:
                raise HashlensError(
                    f"{path}: height {h}: blockhash {hashes[i]} but period {h // N} ends with {last_hashes[h // N]}"
                )
        nb = sel[keep]
        blocks_tbl = pa.table(
            {
                "height": pa.array(heights[nb], pa.int32()),
                "hash": [hashes[i] for i in nb.tolist()],
                "time": pa.array(stats.time[nb], pa.int64()),
                "source": [path.name] * len(nb),
            }
        )
        stats_tbl = pa.table(
            {
                "height": pa.array(hs, pa.int32()),
                "mediantime": pa.array(stats.mediantime[sel], pa.int64()),
                "subsidy_sat": pa.array(stats.subsidy_sat[sel], pa.int64()),
                "totalfee_sat": pa.array(stats.totalfee_sat[sel], pa.int64()),
                "txs": pa.array(stats.txs[sel], pa.int32()),
                "total_weight": pa.array(stats.total_weight[sel], pa.int64()),
            }
        )
        new_blocks = nb
        with store.transaction():
            if len(new_blocks):
                store.insert_arrow("blocks", blocks_tbl, ("height", "hash", "time", "source"))
            store.insert_arrow(
                "block_stats",
                stats_tbl,
                ("height", "mediantime", "subsidy_sat", "totalfee_sat", "txs", "total_weight"),
            )
            store.log(str(path), detect.BLOCKSTATS, len(sel))
        _trace(f"committed batch of {len(sel)} block rows up to height {hi}")
        report.added += len(sel)
        progress.advance(len(sel))
    progress.done()
    return report


def verify_retargets(store: Store) -> int:
    """Recompute every retarget whose previous period's first and last block times are
    stored; raise naming the first that disagrees. Returns how many were checked."""
    rows = store.rows(
        """
        SELECT p.period, p.start_height, q.bits AS old_bits, p.bits AS new_bits,
               f.time AS t_first, l.time AS t_last
        FROM periods p
        JOIN periods q ON q.period = p.period - 1
        JOIN blocks f ON f.height = q.start_height
        JOIN blocks l ON l.height = p.start_height - 1
        WHERE f.time IS NOT NULL AND l.time IS NOT NULL
        ORDER BY p.period
        """
    )
    for _, start, old, new, t0, t1 in rows:
        want = calculate_next_work_required(int(old), int(t0), int(t1))
        if want != int(new):
            raise HashlensError(
                f"height {start}: stored bits 0x{int(new):08x} but the retarget rule gives 0x{want:08x} "
                f"from the times of blocks {start - N} and {start - 1}"
            )
    return len(rows)


# -- remote sources ------------------------------------------------------------------------
def find_fork_point(store: Store, client: HeaderSource, remote_tip: int) -> int | None:
    """Highest stored full-header height whose hash the remote agrees with (None: none stored)."""
    stored = store.rows(
        "SELECT height, hash FROM blocks WHERE prev_hash IS NOT NULL AND height <= ? ORDER BY height DESC LIMIT 1",
        [remote_tip],
    )
    above = store.scalar("SELECT count(*) FROM blocks WHERE prev_hash IS NOT NULL AND height > ?", [remote_tip])
    if not stored:
        return None
    top = int(stored[0][0])
    if client.block_hashes([top])[0] == stored[0][1] and not above:
        return top
    step = 64
    hi = top
    while hi >= 0:
        cand = store.rows(
            "SELECT height, hash FROM blocks WHERE prev_hash IS NOT NULL AND height <= ? ORDER BY height DESC LIMIT ?",
            [hi, step],
        )
        if not cand:
            return -1
        remote = client.block_hashes([int(h) for h, _ in cand])
        for (h, x), r in zip(cand, remote, strict=True):
            if x == r:
                return int(h)
        hi = int(cand[-1][0]) - 1
    return -1


def sync_remote(
    store: Store,
    client: HeaderSource,
    progress: Progress,
    batch_rows: int,
    start_height: int | None = None,
    periods_only: bool = False,
) -> SyncReport:
    report = SyncReport(client.name, "periods" if periods_only else "headers")
    tip = client.tip_height()
    fork = find_fork_point(store, client, tip)
    if fork is not None:
        dropped = int(store.scalar("SELECT count(*) FROM blocks WHERE prev_hash IS NOT NULL AND height > ?", [fork]))
        if dropped:
            with store.transaction():
                store.con.execute("DELETE FROM blocks WHERE height > ?", [fork])
                store.log(client.name, "reorg", dropped, f"rolled back to height {fork}")
            report.notes.append(f"reorganisation: rolled back {dropped} block(s) above height {fork}")
    if periods_only:
        first_period = max(1, ((start_height or 0) + N - 1) // N)
        have = {int(h) for (h,) in store.rows("SELECT height FROM blocks WHERE prev_hash IS NOT NULL")}
        heights = [p * N for p in range(first_period, tip // N + 1) if p * N not in have]
    else:
        begin = start_height if start_height is not None else (fork + 1 if fork is not None else 0)
        heights = list(range(begin, tip + 1))
    progress.start(f"sync {client.name}", len(heights))
    step = max(1, batch_rows)
    for start in range(0, len(heights), step):
        hs = heights[start : start + step]
        if periods_only:
            asked = [x for h in hs for x in (h - 1, h)]
            got = client.block_hashes(asked)
            prev_hash = dict(zip(asked, got, strict=True))
            raws = client.raw_headers([prev_hash[h] for h in hs])
        else:
            hashes = client.block_hashes(hs)
            raws = client.raw_headers(hashes)
        view = ChainView(store, hs[0] - 1, hs[-1])
        fresh = []
        for h, raw in zip(hs, raws, strict=True):
            hdr = BlockHeader.parse(raw)
            where = f"{client.name} block"
            if periods_only:
                known = view.hash_at(h - 1)
                if known is not None and known != prev_hash[h - 1]:
                    raise HashlensError(
                        f"{where} (height {h - 1}): remote hash {prev_hash[h - 1]} differs from stored {known}"
                    )
                view.hashes[h - 1] = prev_hash[h - 1]
            fresh.append((h, hdr, validate_header(view, h, hdr, where)))
        with store.transaction():
            store.insert_arrow("blocks", _block_rows(fresh, client.name), BLOCK_COLUMNS)
            if periods_only:
                _upsert_periods_from_headers(store, fresh, {h - 1: prev_hash[h - 1] for h in hs}, client.name)
            store.log(client.name, report.kind, len(fresh))
        _trace(f"committed batch of {len(fresh)} headers up to height {hs[-1]}")
        report.added += len(fresh)
        progress.advance(len(hs))
    progress.done()
    return report


def _upsert_periods_from_headers(
    store: Store, rows: Sequence[tuple[int, BlockHeader, str]], last_hashes: dict[int, str], source: str
) -> None:
    if store.period_bits(0) is None:
        # Period 0 is fixed by consensus: the genesis block's bits, difficulty 1.
        store.con.execute(
            "INSERT INTO periods VALUES (0, 0, ?, ?, NULL, 'consensus (genesis bits)')",
            [POW_LIMIT_BITS, f"{decode_compact(POW_LIMIT_BITS)[0]:064x}"],
        )
    for h, hdr, _ in rows:
        p = h // N
        if store.period_bits(p) is None:
            store.con.execute(
                "INSERT INTO periods VALUES (?, ?, ?, ?, NULL, ?)",
                [p, h, hdr.bits, f"{decode_compact(hdr.bits)[0]:064x}", source],
            )
        if p > 0:
            store.con.execute(
                "UPDATE periods SET last_block_hash = ? WHERE period = ? AND last_block_hash IS NULL",
                [last_hashes[h - 1], p - 1],
            )


def import_snapshot(store: Store, progress: Progress, batch_rows: int) -> SyncReport:
    """The bundled snapshot of public chain facts (``hashlens/data/chain_snapshot.csv``, built by
    scripts/build_chain_snapshot.py): period bits and last-block hashes, and period-start blocks
    (full headers where known, validated like any other; else hash and time)."""
    import csv
    import io
    from importlib import resources

    source = "hashlens snapshot"
    text = resources.files("hashlens.data").joinpath("chain_snapshot.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    report = SyncReport(source, "snapshot")
    stored = {int(p): int(b) for p, b in store.rows("SELECT period, bits FROM periods")}
    new_periods = []
    for r in rows:
        p, bits = int(r["period"]), int(r["bits"], 16)
        if p in stored:
            if stored[p] != bits:
                raise HashlensError(f"snapshot period {p}: bits 0x{bits:08x} but the store has 0x{stored[p]:08x}")
            continue
        new_periods.append(
            {
                "period": p,
                "start_height": int(r["start_height"]),
                "bits": bits,
                "target_hex": f"{decode_compact(bits)[0]:064x}",
                "last_block_hash": r["last_block_hash"] or None,
                "source": source,
            }
        )
    if new_periods:
        with store.transaction():
            store.insert_arrow("periods", pa.Table.from_pylist(new_periods).cast(_PERIOD_SCHEMA), _PERIOD_COLS)
            store.log(source, "snapshot-periods", len(new_periods))
    headers = [
        (int(r["start_height"]), BlockHeader.from_hex(r["start_header"]), f"snapshot period {r['period']}")
        for r in rows
        if r["start_header"]
    ]
    hr = import_headers(store, headers, source, "snapshot-headers", progress, batch_rows)
    have = {int(h) for (h,) in store.rows("SELECT height FROM blocks")}
    times = [
        {"height": int(r["start_height"]), "hash": r["start_hash"], "time": int(r["start_time"]), "source": source}
        for r in rows
        if r["start_time"] and not r["start_header"] and int(r["start_height"]) not in have
    ]
    if times:
        tbl = pa.table(
            {
                "height": pa.array([t["height"] for t in times], pa.int32()),
                "hash": [t["hash"] for t in times],
                "time": pa.array([t["time"] for t in times], pa.int64()),
                "source": [source] * len(times),
            }
        )
        with store.transaction():
            store.insert_arrow("blocks", tbl, ("height", "hash", "time", "source"))
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
    detect.HEADERS_CSV,
    detect.HEADERS_PARQUET,
    detect.RAW_HEADERS,
)


def sync(
    store: Store,
    source: str,
    progress: Progress | None = None,
    batch_rows: int | None = None,
    start_height: int | None = None,
    periods_only: bool = False,
    cookie_file: str | None = None,
) -> list[SyncReport]:
    """Sync one source (path, folder, ``bitcoind://…`` or ``esplora+http(s)://…``)."""
    progress = progress or NullProgress()
    batch = batch_rows or default_batch_rows()
    if source == "snapshot":
        report = import_snapshot(store, progress, batch)
        with store.transaction():
            store.refresh_period_work()
        return [report]
    if "://" in source:
        client = open_remote(source, cookie_file)
        report = sync_remote(store, client, progress, min(batch, 1000), start_height, periods_only)
        with store.transaction():
            store.refresh_period_work()
        return [report]
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
        reports.append(_import_file(store, kind, f, progress, batch, start_height))
    with store.transaction():
        store.refresh_period_work()
    checked = verify_retargets(store)
    if reports:
        reports[-1].notes.append(f"{checked} retargets recomputed exactly from stored block times")
        if skipped:
            reports[-1].notes.append(f"not chain data, left alone: {', '.join(skipped)}")
    return reports


def _import_file(
    store: Store, kind: str, f: Path, progress: Progress, batch: int, start_height: int | None
) -> SyncReport:
    importers: dict[str, Callable[[], SyncReport]] = {
        detect.ELECTRUM: lambda: import_electrum(store, f, progress),
        detect.BITCOINJ: lambda: import_bitcoinj(store, f, progress, batch),
        detect.BLOCKSTATS: lambda: import_blockstats(store, f, progress, batch),
        detect.STALE: lambda: import_stale(store, f, progress),
    }
    if kind in importers:
        return importers[kind]()
    reader = {
        detect.HEADERS_CSV: read_headers_csv,
        detect.HEADERS_PARQUET: read_headers_parquet,
        detect.RAW_HEADERS: read_raw_headers,
    }[kind]
    rows = place_headers(store, reader(f), start_height, f)
    return import_headers(store, rows, str(f), kind, progress, batch)


__all__ = ["NullProgress", "Progress", "SyncReport", "sync", "validate_header", "verify_retargets"]
