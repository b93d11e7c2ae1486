"""Bring the store to the present from public APIs: ``hashlens update``, and the chain part of
``hashlens serve --follow`` for a mempool-style or Esplora API.

One run, in this order (nothing is written until every step before it has passed):

1. the price API is read and screened (:func:`hashlens.chain.prices.fetch_prices`; no write yet);
2. the chain API's tip, and its genesis block, which must be mainnet's;
3. the highest block hash the store holds at or below the tip is compared with the API's:
   a disagreement is another chain, refused, unless the API's block there is a full header
   within :data:`MAX_REORG_DEPTH` of its tip and its branch carries more work (Core's rule),
   when the store rolls back to the fork (:meth:`hashlens.store.Store.rollback_above`);
4. the periods: from mempool's list of difficulty adjustments (one request for the whole
   history), else (Esplora) from the first block of each period the store lacks; every
   period's bits must equal the stored ones, move at most 4× at a retarget and, where the
   previous period's first and last block times are known, equal Core's retarget exactly;
   new periods are stored, then the adjustments' block times;
5. the blocks of the last ``recent_blocks`` heights the store lacks, in pages (15 blocks a
   request from mempool, 10 from Esplora), checked and stored one batch of pages per
   transaction, lowest first: an interrupted run keeps every batch it committed and a rerun
   fetches only what is still missing;
6. the new days of prices (one transaction).

What a block record proves decides what is stored (see :mod:`hashlens.sources.mempool_api`):

- ``id`` and all six header fields: the 80-byte header is rebuilt, must hash to ``id`` (and
  equal ``extras.header`` where given) and passes :func:`hashlens.consensus.check_header`
  in its context (proof of work, link to the block below, the period's bits, the exact
  retarget where both times are known, median time past, not after now + 2 h, version
  floors); stored as a full header.
- ``id`` without all header fields: hash and time only, no proof of work can be checked; the
  link (``previousblockhash`` against the block below), the period's bits, the median time
  past and ``mediantime`` are checked where known; stored as a block row without a header,
  as the block-stats files are.
- no ``id``: the time alone, with the same time checks; stored as the boundary-times files are.

Fees (``extras.totalFees``) are stored as block statistics beside the block's hash; the
subsidy stored is the consensus subsidy, and a coinbase claiming more than subsidy plus fees
(``extras.reward``) is refused. The pool mempool attributes each block to
(``extras.pool``, the coinbase) is returned as :class:`MinedBy` records and handed, batch by
batch, to ``on_extras``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hashlens.chain.prices import fetch_prices, store_price_news
from hashlens.chain.progress import NullProgress
from hashlens.chain.reorg import abandoned_rows, branch_work, losing_branch
from hashlens.chain.update_models import (
    DEFAULT_BATCH_BLOCKS,
    DEFAULT_RECENT_BLOCKS,
    ChainUpdate,
    ChainUpdateResult,
    ExtrasSink,
    MinedBy,
    UpdateRequest,
    UpdateResult,
)
from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_LIMIT_BITS,
    BlockHeader,
    block_subsidy_sat,
    calculate_next_work_required,
    check_header,
    difficulty_from_bits,
    permitted_difficulty_transition,
)
from hashlens.consensus.contextual import (
    BAD_DIFFBITS,
    GENESIS_HASH,
    MAX_FUTURE_BLOCK_TIME_S,
    TIME_TOO_OLD,
    median_time_past,
)
from hashlens.errors import HashlensError
from hashlens.sources.blockstats import BlockStats, check_block_stats
from hashlens.sources.mempool_api import (
    OTHER_GENESIS,
    Adjustment,
    BlockRecord,
    ChainApi,
    bits_of_difficulty,
    open_chain_api,
)
from hashlens.units import iso_utc

if TYPE_CHECKING:
    from hashlens.chain.progress import Progress
    from hashlens.store import Store
    from hashlens.store.sync import KnownBlock, StatsRows

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: The deepest reorganisation an update follows; deeper disagreement is another chain
#: (mempool's own indexer re-reads the last 10 blocks after a reorganisation).
MAX_REORG_DEPTH = 100
#: Stored hashes tried, highest first, when looking for one the API can be compared with.
ANCHOR_TRIES = 12


def _trace(message: str) -> None:
    # As the sync does: HASHLENS_SYNC_TRACE=1 prints each committed batch (tests watch it).
    if os.environ.get("HASHLENS_SYNC_TRACE"):
        print(f"trace: {message}", file=sys.stderr, flush=True)


class _Context:
    """What the update knows at each height (its own records, then the store's rows) and each
    period's bits: the :class:`hashlens.consensus.contextual.ChainContext` of its checks."""

    def __init__(self, store: Store, lo: int, hi: int, period_bits: dict[int, int]) -> None:
        self.hashes: dict[int, str] = {}
        self.times: dict[int, int] = {}
        self.bits: dict[int, int] = {}
        self._period_bits = period_bits
        for b in store.known_blocks(max(0, lo), hi):
            self.add(b.height, b.hash, b.time, b.bits)

    def add(self, height: int, block_hash: str | None, t: int | None, bits: int | None) -> None:
        if block_hash is not None:
            self.hashes[height] = block_hash
        if t is not None:
            self.times[height] = t
        if bits is not None:
            self.bits[height] = bits

    def hash_at(self, height: int) -> str | None:
        return self.hashes.get(height)

    def time_at(self, height: int) -> int | None:
        return self.times.get(height)

    def bits_at(self, height: int) -> int | None:
        b = self.bits.get(height)
        return b if b is not None else self._period_bits.get(height // N)

    def period_bits(self, period: int) -> int | None:
        return self._period_bits.get(period)


class _ChainRun:
    """One chain update (see the module's docstring for the steps)."""

    def __init__(
        self,
        store: Store,
        client: ChainApi,
        progress: Progress,
        recent_blocks: int,
        batch_blocks: int,
        now: int,
        on_extras: ExtrasSink | None,
    ) -> None:
        self.store, self.client, self.progress = store, client, progress
        self.recent_blocks, self.batch_blocks, self.now = recent_blocks, batch_blocks, now
        self.on_extras = on_extras
        self.name = client.name
        self.notes: list[str] = []
        self.pages: dict[int, list[BlockRecord]] = {}  # page top -> records (this run's cache)
        self.period_bits: dict[int, int] = {}
        self.counts: Counter[str] = Counter()
        self.unchecked: Counter[str] = Counter()
        self.mined_by: list[MinedBy] = []
        self.refill_from: int | None = None  # after a roll-back: the first height to fetch again

    # -- pages -------------------------------------------------------------------------------
    def top_of(self, height: int, tip: int) -> int:
        """The page that holds ``height``: pages are laid from the tip down."""
        size = self.client.page_size
        return tip - ((tip - height) // size) * size

    def page(self, top: int) -> list[BlockRecord]:
        if top not in self.pages:
            self.pages[top] = self.client.page(top)
        return self.pages[top]

    def record_at(self, height: int, tip: int) -> BlockRecord | None:
        return next((r for r in self.page(self.top_of(height, tip)) if r.height == height), None)

    # -- the steps ---------------------------------------------------------------------------
    def run(self) -> ChainUpdate:
        tip = self.client.tip_height()
        self.check_genesis()
        tip_rec = self.record_at(tip, tip)
        if tip_rec is None:
            raise HashlensError(f"{self.name}: its tip {tip} is not in its own list of blocks; try again later")
        if tip_rec.time > self.now + MAX_FUTURE_BLOCK_TIME_S:
            raise HashlensError(
                f"{self.name}: its tip {tip} is dated {iso_utc(tip_rec.time)}, more than 2 h after now; "
                "the source or this machine's clock is wrong"
            )
        adjustments = self.client.adjustments()
        self.check_anchor(tip)
        self.update_periods(tip, adjustments)
        self.update_blocks(tip)
        top = self.store.tip_height()
        if top is not None and top > tip:
            self.notes.append(f"the store holds blocks above the source's tip {tip} (to {top}): the source is behind")
        if self.counts["no header"]:
            self.notes.append(
                f"{self.counts['no header']:,} block(s) came without all header fields: hash and time stored, "
                "no proof of work checkable (a full mempool or Esplora record has them)"
            )
        if self.counts["time only"]:
            self.notes.append(
                f"{self.counts['time only']:,} block(s) came without an id: their time stored alone, no hash"
            )
        self.notes.extend(
            {
                TIME_TOO_OLD: f"median time past not checkable for {n} block(s) (fewer than 11 times below)",
                BAD_DIFFBITS: f"retarget not checkable for {n} header(s) (the parent's bits unknown)",
            }.get(rule, f"{rule} not checkable for {n} block(s)")
            for rule, n in sorted(self.unchecked.items())
        )
        result = ChainUpdateResult(
            source=self.name,
            tip_height=tip,
            tip_time_utc=iso_utc(tip_rec.time),
            periods_added=self.counts["periods"],
            period_start_times_added=self.counts["period_times"],
            headers_added=self.counts["headers"],
            blocks_added=self.counts["blocks"],
            block_stats_added=self.counts["stats"],
            pool_tags=len(self.mined_by),
            requests=self.client.requests,
            notes=self.notes,
        )
        return ChainUpdate(result, self.mined_by)

    def check_genesis(self) -> None:
        genesis = self.client.block_hash(0)
        if genesis != GENESIS_HASH:
            chain = OTHER_GENESIS.get(genesis or "", "another chain")
            raise HashlensError(
                f"{self.name}: its block 0 is {genesis or 'not given'}, not Bitcoin mainnet's genesis "
                f"{GENESIS_HASH} ({chain}); point --chain at a mainnet API"
            )

    def check_anchor(self, tip: int) -> None:
        """The highest stored block hash at or below the tip that the API also names must be
        the API's; otherwise a reorganisation (full headers, more work) or another chain."""
        stored: dict[int, str] = {}
        for p, fact in self.store.period_facts().items():
            if fact.last_block_hash is not None and p * N + N - 1 <= tip:
                stored[p * N + N - 1] = fact.last_block_hash
        for b in self.store.known_blocks(max(0, tip - self.recent_blocks - N), tip):
            if b.hash is not None:
                stored[b.height] = b.hash
        for tried, h in enumerate(sorted(stored, reverse=True)):
            if tried >= ANCHOR_TRIES:
                break
            rec = self.record_at(h, tip)
            if rec is None or rec.hash is None:
                continue  # the API names no hash here; try a lower one
            if rec.hash == stored[h]:
                return
            self.reorganise(tip, h, rec, stored)
            return
        if stored:
            self.notes.append("no stored block hash could be compared with the source's (it names none near them)")

    def reorganise(self, tip: int, h: int, rec: BlockRecord, stored: dict[int, str]) -> None:
        """The API's block at ``h`` differs from the stored one. Follow it only where its
        headers prove their work and the fork is shallow; else refuse as another chain."""
        refuse = (
            f"{self.name}: its block at height {h} is {rec.hash}, the store has {stored[h]}; "
            "the source follows another chain"
        )
        if not rec.has_header or h <= tip - MAX_REORG_DEPTH:
            why = (
                "its blocks carry no header to prove their work"
                if not rec.has_header
                else f"the fork is deeper than {MAX_REORG_DEPTH} blocks"
            )
            raise HashlensError(f"{refuse} ({why}); nothing stored")
        fork = None
        for g in sorted((x for x in stored if tip - MAX_REORG_DEPTH < x < h), reverse=True):
            other = self.record_at(g, tip)
            if other is not None and other.hash == stored[g]:
                fork = g
                break
        if fork is None:
            raise HashlensError(f"{refuse} (no agreement within {MAX_REORG_DEPTH} blocks of its tip); nothing stored")
        # The branch must prove itself before anything is rolled back: every header rebuilt
        # from its fields hashes to its id, meets its own target and links to the one below.
        fresh_bits: dict[int, int] = {}
        below = stored[fork]
        for x in range(fork + 1, tip + 1):
            r = self.record_at(x, tip)
            hdr = None if r is None else r.header()
            if r is None or hdr is None or hdr.hash_hex != (r.hash or hdr.hash_hex):
                raise HashlensError(f"{refuse} (its block {x} is not a full header with its id); nothing stored")
            if not hdr.check_proof_of_work() or hdr.prev_hash_hex != below:
                raise HashlensError(
                    f"{refuse} (its block {x} fails proof of work or does not link to {below}); nothing stored"
                )
            fresh_bits[x] = hdr.bits
            below = hdr.hash_hex
        # Fork choice is the sync's (chain.reorg: Core's work summed from each block's target).
        facts = self.store.period_facts()

        def period_bits(p: int) -> int | None:
            f = facts.get(p)
            return None if f is None else f.bits

        top = self.store.tip_height() or fork
        losing = losing_branch(self.store, fork, top)
        stored_work = branch_work(fork + 1, top, {x.height: x.bits for x in losing}, period_bits)
        source_work = branch_work(fork + 1, tip, fresh_bits, period_bits)
        if source_work <= stored_work:
            raise HashlensError(
                f"{refuse}: its branch above {fork} has work {source_work:#x}, not more than the stored "
                f"{stored_work:#x}; the store keeps the branch with the most work"
            )
        rows = abandoned_rows(self.store, fork, losing)
        hashed = tuple(sorted(x for x in stored if x > fork and x not in rows.heights))
        dropped = self.store.drop_branch(replace(rows, hashed=hashed), self.name)
        self.refill_from = fork + 1
        self.notes.append(
            f"reorganisation: removed {dropped} block row(s) of the replaced branch above height {fork}; the source's branch "
            f"has more work ({source_work:#x} against {stored_work:#x})"
        )

    # -- periods -----------------------------------------------------------------------------
    def update_periods(self, tip: int, adjustments: list[Adjustment] | None) -> None:
        last = tip // N
        stored = self.store.period_facts()
        derived: dict[int, int] = {}
        times: dict[int, int] = {}
        tops: list[int] = []
        where = f"{self.name} difficulty adjustments"
        if adjustments is not None:
            listed = self.check_adjustments(adjustments, tip, where)
            for a in adjustments:
                if a.height in listed:
                    times[a.height] = a.time
            derived[0] = POW_LIMIT_BITS  # fixed by consensus: the genesis bits
            for p in range(1, last + 1):
                if p * N in listed:
                    derived[p] = listed[p * N]
                elif derived[p - 1] == POW_LIMIT_BITS:
                    # Unlisted means unchanged; at the pow limit a slow period keeps it (clamped).
                    derived[p] = POW_LIMIT_BITS
                else:
                    bits = self.bits_from_blocks(p, tip)
                    if bits is None:
                        self.notes.append(
                            f"period {p} (from height {p * N}) is not in the source's adjustments and none of its "
                            "blocks was read: periods stored up to the one before"
                        )
                        break
                    derived[p] = bits
        else:
            derived, tops = self.periods_from_blocks(tip, stored)
        for p, bits in derived.items():
            old = stored.get(p)
            if old is not None and old.bits != bits:
                raise HashlensError(
                    f"{self.name}: period {p} (from height {p * N}) has bits 0x{bits:08x} at the source, "
                    f"0x{old.bits:08x} in the store; the source follows another chain; nothing stored"
                )
        self.period_bits = {p: f.bits for p, f in stored.items()} | derived
        for p, bits in derived.items():
            before = self.period_bits.get(p - 1)
            if p >= 1 and before is not None and not permitted_difficulty_transition(p * N, before, bits):
                raise HashlensError(
                    f"{self.name}: period {p} (from height {p * N}) has bits 0x{bits:08x}, more than 4x from "
                    f"0x{before:08x}; not a valid retarget; nothing stored"
                )
        self.check_retargets(derived, times)
        from hashlens.store.sync import PeriodRow, TimedBlocks

        new = [PeriodRow(p, p * N, b, None, self.name) for p, b in sorted(derived.items()) if p not in stored]
        if new:
            self.store.insert_periods(new, self.name, "update-periods")
            self.counts["periods"] += len(new)
        have = self.store.times_at(times)
        for h, t in sorted(times.items()):
            if have.get(h) is not None and have[h] != t:
                raise HashlensError(
                    f"{where} (height {h}): time {t} but the store has {have[h]}; one of the sources is wrong"
                )
        fresh = sorted(h for h in times if h not in have and h // N in self.period_bits)
        if fresh:
            self.store.insert_block_times(
                TimedBlocks(
                    np.asarray(fresh, dtype=np.int64), [None] * len(fresh), np.asarray([times[h] for h in fresh])
                ),
                self.name,
                self.name,
                "update-period-times",
            )
            self.counts["period_times"] += len(fresh)
        # Esplora: the pages that gave the new periods' first blocks, stored as any block is.
        per_batch = max(1, self.batch_blocks // self.client.page_size)
        for i in range(0, len(tops), per_batch):
            group = tops[i : i + per_batch]
            records = sorted((r for top in group for r in self.pages.pop(top, [])), key=lambda r: r.height)
            self.store_batch(
                records, set(self.store.stats_between(records[0].height, records[-1].height)) if records else set()
            )

    def check_adjustments(self, adjustments: list[Adjustment], tip: int, where: str) -> dict[int, int]:
        """Each listed change: at a retarget height at or below the tip, a difficulty that
        compact bits give exactly, its ratio to the previous one as the API rounds it, at
        most 4× (Core's ``PermittedDifficultyTransition``), dated no later than now + 2 h.
        Returns the bits by height."""
        out: dict[int, int] = {}
        prev: Adjustment | None = None
        prev_bits = POW_LIMIT_BITS
        for a in adjustments:
            at = f"{where} (height {a.height})"
            if a.height % N:
                raise HashlensError(f"{at}: not a retarget height (a multiple of {N})")
            if a.height > tip:
                continue  # a block found since the tip was read: the next update takes it
            bits = bits_of_difficulty(a.difficulty)
            if bits is None:
                raise HashlensError(f"{at}: difficulty {a.difficulty!r} is not one that compact bits give")
            if a.time > self.now + MAX_FUTURE_BLOCK_TIME_S:
                raise HashlensError(f"{at}: dated {iso_utc(a.time)}, more than 2 h after now")
            if a.height == 0:
                if bits != POW_LIMIT_BITS:
                    raise HashlensError(f"{at}: the genesis difficulty is 1, not {a.difficulty!r}")
            else:
                if prev is not None:
                    # The API rounds new/old to 6 decimals (mempool's indexer); allow that rounding.
                    ratio = a.difficulty / prev.difficulty
                    if abs(ratio - a.ratio) > 6e-7:
                        raise HashlensError(
                            f"{at}: adjustment {a.ratio!r} but the difficulties give {ratio:.6f}; not the API's data"
                        )
                if not permitted_difficulty_transition(a.height, prev_bits, bits):
                    raise HashlensError(
                        f"{at}: bits 0x{bits:08x} move more than 4x from 0x{prev_bits:08x}; not a valid retarget"
                    )
            out[a.height] = bits
            prev, prev_bits = a, bits
        return out

    def bits_from_blocks(self, p: int, tip: int) -> int | None:
        """A period's bits from one of its blocks the API lists (its first, else the tip's)."""
        for h in (p * N, tip) if p == tip // N else (p * N,):
            rec = self.record_at(h, tip)
            if rec is not None and rec.bits is not None:
                return rec.bits
        return None

    def periods_from_blocks(self, tip: int, stored: dict[int, Any]) -> tuple[dict[int, int], list[int]]:
        """Without a list of adjustments (Esplora): each period the store lacks from the page
        that holds its first block and its predecessor's last one (one request a period).
        Returns the bits by period and the pages read (stored once the periods are)."""
        derived: dict[int, int] = {}
        tops: list[int] = []
        missing = [p for p in range(tip // N + 1) if p not in stored]
        if not missing:
            return derived, tops
        self.progress.start(f"update: {len(missing)} period(s) from {self.name}", len(missing))
        for p in missing:
            top = min(tip, p * N + self.client.page_size - 2)
            rec = next((r for r in self.page(top) if r.height == p * N), None)
            if rec is None or rec.bits is None:
                self.notes.append(f"period {p} (from height {p * N}): the source lists no bits; periods stop before it")
                break
            derived[p] = rec.bits
            tops.append(top)
            self.progress.advance(1)
        self.progress.done()
        return derived, tops

    def check_retargets(self, derived: dict[int, int], times: dict[int, int]) -> None:
        """Each new period's bits against Core's retarget where the previous period's first
        and last block times are known (the API's adjustment times and the store's rows)."""
        wanted = [p for p in derived if p >= 1]
        lasts = self.store.times_at(p * N - 1 for p in wanted)
        firsts = self.store.times_at((p - 1) * N for p in wanted)
        for p in wanted:
            first = times.get((p - 1) * N, firsts.get((p - 1) * N))
            last = lasts.get(p * N - 1)
            old = self.period_bits.get(p - 1)
            if first is None or last is None or old is None:
                continue
            want = calculate_next_work_required(old, first, last)
            if want != derived[p]:
                raise HashlensError(
                    f"{self.name}: period {p} (from height {p * N}) has bits 0x{derived[p]:08x}, but the retarget rule "
                    f"gives 0x{want:08x} from the times of blocks {(p - 1) * N} and {p * N - 1}; nothing stored"
                )

    # -- blocks ------------------------------------------------------------------------------
    def update_blocks(self, tip: int) -> None:
        lo = max(0, tip - self.recent_blocks + 1)
        if self.refill_from is not None:
            lo = min(lo, self.refill_from)
        elif self.recent_blocks == 0:
            return
        known = {b.height: b for b in self.store.known_blocks(lo, tip)}
        with_stats = set(self.store.stats_between(lo, tip))
        fees = self.client.kind == "mempool"

        def done(h: int) -> bool:
            b = known.get(h)
            return b is not None and b.time is not None and b.hash is not None and (h in with_stats or not fees)

        todo = [h for h in range(lo, tip + 1) if not done(h)]
        if not todo:
            return
        tops = sorted({self.top_of(h, tip) for h in todo})
        batches: list[list[int]] = [[]]
        for top in tops:
            if batches[-1] and (top - batches[-1][0] + self.client.page_size) > self.batch_blocks:
                batches.append([])
            batches[-1].append(top)
        self.progress.start(f"update: blocks {lo:,} … {tip:,} from {self.name}", len(todo))
        missing: list[int] = []
        for pages in batches:
            size = self.client.page_size
            b_lo, b_hi = max(lo, pages[0] - size + 1), pages[-1]
            records = [r for top in pages for r in self.page(top) if lo <= r.height <= tip]
            records.sort(key=lambda r: r.height)
            got = {r.height for r in records}
            missing += [h for h in range(b_lo, b_hi + 1) if h not in got]
            self.store_batch(records, with_stats)
            for top in pages:
                self.pages.pop(top, None)
            self.progress.advance(sum(1 for h in todo if b_lo <= h <= b_hi))
        self.progress.done()
        if missing:
            self.notes.append(
                f"the source listed no block at {len(missing)} height(s) of {lo:,} … {tip:,} (first {missing[0]:,})"
            )
        if not fees:
            self.notes.append("no fees: an Esplora API gives none (a mempool instance's extras do)")

    def store_batch(self, records: list[BlockRecord], with_stats: set[int]) -> None:
        """Check one batch of records in their context and store it (at most two transactions:
        full headers, then rows without headers and the fees)."""
        from hashlens.store.sync import TimedBlocks

        if not records:
            return
        lo, hi = records[0].height, records[-1].height
        ctx = _Context(self.store, lo - N, hi, self.period_bits)
        stored = {b.height: b for b in self.store.known_blocks(lo, hi)}
        headers: list[tuple[int, BlockHeader, str]] = []
        rows: list[tuple[int, str | None, int]] = []
        stats: list[tuple[BlockRecord, str]] = []
        mined: list[MinedBy] = []
        counts: Counter[str] = Counter()
        for r in records:
            h = r.height
            where = f"{self.name} block {h}"
            block_hash = self.check_record(r, ctx, stored.get(h), where)
            s = stored.get(h)
            if r.has_header:
                if s is None or s.bits is None:  # no full header stored here yet
                    hdr = r.header()
                    assert hdr is not None and block_hash is not None
                    headers.append((h, hdr, block_hash))
            elif s is None or (s.hash is None and block_hash is not None):
                rows.append((h, block_hash, r.time))
            if block_hash is None:
                counts["time only"] += 1
            elif not r.has_header:
                counts["no header"] += 1
            ex = r.extras
            if ex is not None and block_hash is not None:
                if ex.total_fees_sat is not None and h not in with_stats:
                    stats.append((r, block_hash))
                if ex.pool is not None or ex.coinbase_raw_hex is not None:
                    mined.append(
                        MinedBy(
                            h,
                            block_hash,
                            ex.pool,
                            ex.coinbase_raw_hex,
                            ex.coinbase_address,
                            ex.coinbase_signature_ascii,
                            self.name,
                        )
                    )
        stat_rows = self.check_stats(stats)
        if headers:
            self.store.insert_headers(headers, self.name, "update-headers")
            self.counts["headers"] += len(headers)
        if rows or len(stat_rows):
            timed = TimedBlocks(
                np.asarray([h for h, _, _ in rows], dtype=np.int64),
                [x for _, x, _ in rows],
                np.asarray([t for _, _, t in rows], dtype=np.int64),
            )
            if len(stat_rows):
                self.store.insert_block_stats(stat_rows, timed, self.name, self.name, "update-blocks")
            else:
                self.store.insert_block_times(timed, self.name, self.name, "update-blocks")
            self.counts["blocks"] += len(rows)
            self.counts["stats"] += len(stat_rows)
            with_stats.update(int(h) for h in stat_rows.height)
        _trace(f"committed batch of {len(records)} blocks up to height {hi}")
        self.counts.update(counts)
        self.mined_by += mined
        if mined and self.on_extras is not None:
            self.on_extras(mined)

    def check_record(self, r: BlockRecord, ctx: _Context, s: KnownBlock | None, where: str) -> str | None:
        """Every check the record's fields allow; adds it to the context; returns its hash."""
        h = r.height
        if s is not None and s.time is not None and s.time != r.time:
            raise HashlensError(f"{where}: time {r.time} but the store has {s.time}; one of the sources is wrong")
        pbits = self.period_bits.get(h // N)
        if r.bits is not None and pbits is not None and r.bits != pbits:
            raise HashlensError(f"{where}: bits 0x{r.bits:08x} but period {h // N} has 0x{pbits:08x}; refused")
        if r.bits is not None and r.difficulty is not None and difficulty_from_bits(r.bits) != r.difficulty:
            raise HashlensError(f"{where}: difficulty {r.difficulty!r} is not that of its bits 0x{r.bits:08x}")
        if r.time > self.now + MAX_FUTURE_BLOCK_TIME_S:
            raise HashlensError(f"{where}: time {r.time} is more than 2 h after now (rule time-too-new)")
        hdr = r.header()
        block_hash = r.hash
        if hdr is not None:
            rebuilt = hdr.hash_hex
            if block_hash is not None and rebuilt != block_hash:
                raise HashlensError(f"{where}: its header fields hash to {rebuilt}, not its id {block_hash}; refused")
            if (
                r.extras is not None
                and r.extras.header_hex is not None
                and r.extras.header_hex != hdr.serialize().hex()
            ):
                raise HashlensError(f"{where}: extras.header is not the header its fields make; refused")
            block_hash = rebuilt
        if s is not None and s.hash is not None and block_hash is not None and s.hash != block_hash:
            raise HashlensError(
                f"{where}: block {block_hash} differs from stored {s.hash}; the source follows another chain"
            )
        if hdr is not None:
            checked = check_header(ctx, h, hdr, where, self.now)
            self.unchecked.update(checked.unchecked)
            ctx.add(h, checked.hash, hdr.time, hdr.bits)
        else:
            prev = ctx.hash_at(h - 1)
            if r.prev_hash is not None and prev is not None and r.prev_hash != prev:
                raise HashlensError(
                    f"{where}: previousblockhash {r.prev_hash} is not block {h - 1} ({prev}); "
                    "the blocks are out of order or belong to another chain"
                )
            mtp = median_time_past(ctx, h)
            if mtp is None:
                self.unchecked[TIME_TOO_OLD] += 1
            elif r.time <= mtp:
                raise HashlensError(
                    f"{where}: time {r.time} is not above {mtp}, the median time of the previous 11 blocks "
                    "(rule time-too-old)"
                )
            ctx.add(h, block_hash, r.time, None)
        if r.mediantime is not None:
            own = median_time_past(ctx, h + 1)
            if own is not None and own != r.mediantime:
                raise HashlensError(
                    f"{where}: mediantime {r.mediantime} but the 11 blocks ending at it give {own}; refused"
                )
        if (h + 1) % N == 0 or (h % N == 0 and h > 0):
            # A period's last or first block: with the other end's time the retarget is known.
            self.check_retarget((h + 1) // N, ctx, where)
        return block_hash

    def check_retarget(self, p: int, ctx: _Context, where: str) -> None:
        """Period p's bits against Core's retarget from the times of blocks 2016(p-1) and
        2016p - 1, where both are known (headers were checked so by :func:`check_header`)."""
        first, last = ctx.time_at((p - 1) * N), ctx.time_at(p * N - 1)
        old, new = self.period_bits.get(p - 1), self.period_bits.get(p)
        if first is None or last is None or old is None or new is None:
            return
        want = calculate_next_work_required(old, first, last)
        if want != new:
            raise HashlensError(
                f"{where}: the times of blocks {(p - 1) * N} and {p * N - 1} give the retarget 0x{want:08x}, "
                f"but period {p} has 0x{new:08x}; refused"
            )

    def check_stats(self, stats: list[tuple[BlockRecord, str]]) -> StatsRows:
        """Fees as block statistics, with the checks a block-stats file gets (consensus subsidy,
        fees not negative, what a block can hold) and the coinbase's claim within subsidy + fees."""
        from hashlens.store.sync import StatsRows

        def col(values: list[int]) -> np.ndarray:
            return np.asarray(values, dtype=np.int64)

        rows = []
        for r, block_hash in stats:
            assert r.extras is not None and r.extras.total_fees_sat is not None
            subsidy = block_subsidy_sat(r.height)
            if r.extras.reward_sat is not None and r.extras.reward_sat > subsidy + r.extras.total_fees_sat:
                raise HashlensError(
                    f"{self.name} block {r.height}: the coinbase claims {r.extras.reward_sat} sat, more than the "
                    f"subsidy {subsidy} plus fees {r.extras.total_fees_sat}; refused"
                )
            rows.append((r.height, block_hash, r.time, r.mediantime or 0, subsidy, r.extras.total_fees_sat, r))
        height = col([x[0] for x in rows])
        mediantime = col([x[3] for x in rows])
        subsidy_sat = col([x[4] for x in rows])
        fee_sat = col([x[5] for x in rows])
        txs = col([x[6].tx_count or 0 for x in rows])
        weight = col([x[6].weight_wu or 0 for x in rows])
        if rows:
            check_block_stats(
                BlockStats(
                    height,
                    col([x[2] for x in rows]),
                    [x[1] for x in rows],
                    subsidy_sat,
                    fee_sat,
                    mediantime,
                    txs,
                    weight,
                ),
                self.name,
            )
        return StatsRows(height, mediantime, subsidy_sat, fee_sat, txs, weight)


def update_chain(
    store: Store,
    source: str | ChainApi,
    progress: Progress | None = None,
    recent_blocks: int = DEFAULT_RECENT_BLOCKS,
    batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    now: int | None = None,
    on_extras: ExtrasSink | None = None,
) -> ChainUpdate:
    """Bring the store's chain to the tip of a mempool-style or Esplora API (the steps in
    the module's docstring). ``now`` is the reference of ``time-too-new`` [Unix s] (the wall
    clock unless given); ``on_extras`` receives each committed batch's pool attributions."""
    client = source if isinstance(source, ChainApi) else open_chain_api(source)
    run = _ChainRun(
        store,
        client,
        progress or NullProgress(),
        recent_blocks,
        max(1, batch_blocks),
        int(time.time()) if now is None else now,
        on_extras,
    )
    return run.run()


def update(
    store: Store,
    request: UpdateRequest,
    progress: Progress | None = None,
    now: int | None = None,
    on_extras: ExtrasSink | None = None,
) -> UpdateResult:
    """``hashlens update``: prices read first (a failing price API writes nothing), then the
    chain, then the new prices."""
    news = None if request.prices.lower() == "none" else fetch_prices(store, request.prices, request.currency, now)
    chain = None
    if request.chain.lower() != "none":
        chain = update_chain(
            store, request.chain, progress, request.recent_blocks, request.batch_blocks, now, on_extras
        )
    prices = None if news is None else store_price_news(store, news)
    return UpdateResult(store=str(store.path), chain=None if chain is None else chain.result, prices=prices)


__all__ = ["MAX_REORG_DEPTH", "update", "update_chain"]
