"""Typed reads and writes that chain sync needs: headers, period rows, block stats, stale
blocks, fork finding and the removal of an abandoned branch's rows.

Two kinds of row share ``blocks``: full headers (``prev_hash`` set) and block facts from
files without headers (hash and time from block stats, a snapshot or boundary times; the
hash may be NULL when a file gives only the time). Every write method here is one
transaction that also writes its ``sync_log`` row, so a batch commits whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa
else:

    class _Pyarrow:
        """pyarrow, imported when a write first needs it (reading commands never do: ~25 ms)."""

        def __getattr__(self, name: str) -> Any:
            import pyarrow

            return getattr(pyarrow, name)

    pa = _Pyarrow()

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_LIMIT_BITS, BlockHeader
from hashlens.consensus.compact import decode_compact
from hashlens.store.db import Database, hash_bytes, hash_hex

N = DIFFICULTY_ADJUSTMENT_INTERVAL
HEADER_COLUMNS = ("height", "hash", "prev_hash", "version", "merkle_root", "time", "bits", "nonce", "source")
PERIOD_COLUMNS = ("period", "start_height", "bits", "target_hex", "last_block_hash", "source")
STATS_COLUMNS = ("height", "mediantime", "subsidy_sat", "totalfee_sat", "txs", "total_weight")
GENESIS_PERIOD_SOURCE = "consensus (genesis bits)"


class KnownBlock(NamedTuple):
    """What the store holds at one height; hash, time and bits may each be unknown."""

    height: int
    hash: str | None  # display hex; None for a row that has only a time
    time: int | None  # [Unix s]
    bits: int | None  # compact nBits; None unless the row is a full header


class PeriodFact(NamedTuple):
    """A stored period's bits and, where known, the hash of its last block (2016p + 2015), and
    the source that wrote the row."""

    bits: int
    last_block_hash: str | None
    source: str = ""


class StoredHeader(NamedTuple):
    """A stored full header as fork choice sees it."""

    height: int
    hash: str  # display hex
    prev_hash: str  # display hex
    bits: int  # compact nBits
    source: str


@dataclass(frozen=True)
class BranchRows:
    """The rows of a branch of stored headers that a reorganisation abandoning it removes:
    the headers (with their block statistics), the period rows those headers proved (a
    period-start header's row written by the same source), and the periods whose last-block
    hash is the branch's claim. Nothing else: rows without headers, periods and last-block
    hashes from other sources stay."""

    fork: int  # the height below the branch
    heights: tuple[int, ...] = ()  # its full headers
    periods: tuple[int, ...] = ()  # period rows its headers proved
    last_hashes: tuple[int, ...] = ()  # periods whose last-block hash it claims
    # heights whose stored row names one of the branch's blocks by hash without its header (a
    # block-stats or API row): the replaced block's row and statistics go with the branch
    hashed: tuple[int, ...] = ()


@dataclass(frozen=True)
class PeriodRow:
    """A period row to write; its target is derived from ``bits``."""

    period: int
    start_height: int
    bits: int
    last_block_hash: str | None
    source: str


@dataclass(frozen=True)
class StaleRow:
    """A stale (orphaned) block: not part of the main chain."""

    hash: str
    height: int
    header_hex: str


@dataclass(frozen=True)
class TimedBlocks:
    """Block rows without headers: height, hash (None = not known) and time [Unix s]."""

    height: np.ndarray  # int64
    hash: list[str | None]
    time: np.ndarray  # int64 [Unix s]

    def __len__(self) -> int:
        return int(self.height.size)


@dataclass(frozen=True)
class StatsRows:
    """Per-block statistics (Core's ``getblockstats``) to write, column by column."""

    height: np.ndarray  # int64
    mediantime: np.ndarray  # int64 [Unix s]
    subsidy_sat: np.ndarray  # int64 [sat]
    totalfee_sat: np.ndarray  # int64 [sat]
    txs: np.ndarray  # int64 [-]
    total_weight: np.ndarray  # int64 [WU]

    def __len__(self) -> int:
        return int(self.height.size)


@dataclass(frozen=True)
class HeaderColumns:
    """Consecutive validated full headers, column by column (the bulk write of a node sync).

    Hashes are ``n * 32`` bytes each (one block's hash after another, display order), so the
    store takes them without a Python object per row.
    """

    height0: int  # height of the first header
    hash_bytes: bytes  # 32 bytes a header, display order
    prev_hash_bytes: bytes
    merkle_root_bytes: bytes
    version: np.ndarray  # int32
    time: np.ndarray  # [Unix s]
    bits: np.ndarray  # uint32, compact
    nonce: np.ndarray  # uint32
    # each header's height where the headers are runs with gaps between; None: consecutive
    # from height0
    heights: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.version.size)


def _hash_column(buf: bytes, n: int) -> pa.Array:
    """n hashes of 32 bytes from one buffer, without copying or a Python object per row."""
    if len(buf) != 32 * n:
        raise ValueError(f"hash column of {len(buf)} bytes for {n} rows")
    offsets = np.arange(0, 32 * (n + 1), 32, dtype=np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def _hashes(values: Iterable[str | None]) -> pa.Array:
    """Display-hex hashes (None where unknown) as the store's bytes."""
    return pa.array([None if v is None else hash_bytes(v) for v in values], pa.binary())


def _numeric_column(values: np.ndarray, dtype: type[np.generic], typ: pa.DataType) -> pa.Array:
    """A numpy column as an Arrow array over the same bytes (``pa.array`` on numpy would
    import pandas, half a second, to ask whether it was given a pandas object)."""
    arr = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(typ, arr.size, [None, pa.py_buffer(arr)])


def _one_string(text: str) -> pa.Array:
    """A string array of one value, built from its bytes (``pa.array`` imports pandas, 0.2 s,
    to ask whether a list is a pandas object)."""
    data = text.encode()
    return pa.StringArray.from_buffers(1, pa.py_buffer(np.array([0, len(data)], dtype=np.int32)), pa.py_buffer(data))


def _heights(cols: HeaderColumns) -> np.ndarray:
    if cols.heights is not None:
        return np.asarray(cols.heights, dtype=np.int64)
    return np.arange(cols.height0, cols.height0 + len(cols), dtype=np.int64)


def _run_heights(runs: Sequence[HeaderColumns]) -> np.ndarray:
    """The heights of the headers, run after run [-]."""
    return _heights(runs[0]) if len(runs) == 1 else np.concatenate([_heights(r) for r in runs])


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _header_columns_table(runs: Sequence[HeaderColumns], source: str) -> pa.Table:
    """Runs of headers as one Arrow table (over the runs' own buffers when there is one run)."""
    n = sum(len(r) for r in runs)
    return pa.table(
        {
            "height": _numeric_column(_run_heights(runs), np.int32, pa.int32()),
            "hash": _hash_column(b"".join(r.hash_bytes for r in runs), n),
            "prev_hash": _hash_column(b"".join(r.prev_hash_bytes for r in runs), n),
            "version": _numeric_column(_joined([r.version for r in runs]), np.int32, pa.int32()),
            "merkle_root": _hash_column(b"".join(r.merkle_root_bytes for r in runs), n),
            "time": _numeric_column(_joined([r.time for r in runs]), np.int64, pa.int64()),
            "bits": _numeric_column(_joined([r.bits for r in runs]), np.uint32, pa.uint32()),
            "nonce": _numeric_column(_joined([r.nonce for r in runs]), np.uint64, pa.uint64()),
            # One dictionary entry, not n copies of the name.
            "source": pa.DictionaryArray.from_arrays(
                _numeric_column(np.zeros(n), np.int32, pa.int32()), _one_string(source)
            ),
        }
    )


class RetargetCheck(NamedTuple):
    """A retarget whose previous period's first and last block times are both stored."""

    period: int
    start_height: int
    old_bits: int
    new_bits: int
    first_time: int  # time of block start_height - 2016 [Unix s]
    last_time: int  # time of block start_height - 1 [Unix s]


def _header_table(rows: Sequence[tuple[int, BlockHeader, str]], source: str) -> pa.Table:
    return pa.table(
        {
            "height": pa.array([h for h, _, _ in rows], pa.int32()),
            "hash": _hashes(b for _, _, b in rows),
            "prev_hash": pa.array([x.prev_hash[::-1] for _, x, _ in rows], pa.binary()),
            "version": pa.array([x.version for _, x, _ in rows], pa.int32()),
            "merkle_root": pa.array([x.merkle_root[::-1] for _, x, _ in rows], pa.binary()),
            "time": pa.array([x.time for _, x, _ in rows], pa.int64()),
            "bits": pa.array([x.bits for _, x, _ in rows], pa.uint32()),
            "nonce": pa.array([x.nonce for _, x, _ in rows], pa.uint64()),
            "source": [source] * len(rows),
        }
    )


def _period_table(rows: Sequence[PeriodRow]) -> pa.Table:
    return pa.table(
        {
            "period": pa.array([r.period for r in rows], pa.int32()),
            "start_height": pa.array([r.start_height for r in rows], pa.int32()),
            "bits": pa.array([r.bits for r in rows], pa.uint32()),
            "target_hex": [f"{decode_compact(r.bits)[0]:064x}" for r in rows],
            "last_block_hash": pa.array([r.last_block_hash for r in rows], pa.string()),
            "source": [r.source for r in rows],
        }
    )


def _timed_table(blocks: TimedBlocks, source: str) -> pa.Table:
    return pa.table(
        {
            "height": pa.array(blocks.height, pa.int32()),
            "hash": _hashes(blocks.hash),
            "time": pa.array(blocks.time, pa.int64()),
            "source": [source] * len(blocks),
        }
    )


class SyncQueries(Database):
    """Reads and writes of :mod:`hashlens.chain.sync`."""

    # -- reads --------------------------------------------------------------------------
    def known_blocks(self, lo: int | None = None, hi: int | None = None) -> list[KnownBlock]:
        """Every stored block row with ``lo <= height <= hi`` (all rows if either is None)."""
        where, args = ("", []) if lo is None or hi is None else ("WHERE height BETWEEN ? AND ?", [lo, hi])
        return [
            KnownBlock(int(h), hash_hex(x), None if t is None else int(t), None if b is None else int(b))
            for h, x, t, b in self._rows(f"SELECT height, hash, time, bits FROM blocks {where} ORDER BY height", args)
        ]

    def period_facts(self) -> dict[int, PeriodFact]:
        """Bits and last-block hash of every stored period, by period number."""
        return {
            int(p): PeriodFact(int(b), None if last is None else str(last), str(src))
            for p, b, last, src in self._rows("SELECT period, bits, last_block_hash, source FROM periods")
        }

    def header_hashes(self, lo: int, hi: int) -> dict[int, str]:
        """Hashes of the stored full headers with ``lo <= height <= hi``."""
        got = self._rows(
            "SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ? AND prev_hash IS NOT NULL", [lo, hi]
        )
        return {int(h): bytes(x).hex() for h, x in got}

    def header_heights(self) -> set[int]:
        """Heights of every stored full header."""
        return {int(h) for (h,) in self._rows("SELECT height FROM blocks WHERE prev_hash IS NOT NULL")}

    def block_heights(self) -> set[int]:
        """Heights of every stored block row (header or not)."""
        return {int(h) for (h,) in self._rows("SELECT height FROM blocks")}

    def height_of_hash(self, block_hash: str) -> int | None:
        """Height of the stored block with this hash, if any."""
        h = self._scalar("SELECT height FROM blocks WHERE hash = ?", [hash_bytes(block_hash)])
        return None if h is None else int(h)

    def hashes_at(self, heights: Iterable[int]) -> dict[int, str]:
        """Stored (non-NULL) block hashes at the given heights, in one query."""
        hs = [int(h) for h in heights]
        if not hs:
            return {}
        got = self._rows(
            "SELECT height, hash FROM blocks WHERE hash IS NOT NULL AND height IN (SELECT unnest(?::INTEGER[]))",
            [hs],
        )
        return {int(h): bytes(x).hex() for h, x in got}

    def times_at(self, heights: Iterable[int]) -> dict[int, int | None]:
        """Every stored block row at the given heights: its time [Unix s] (None if it has none)."""
        hs = [int(h) for h in heights]
        if not hs:
            return {}
        got = self._rows("SELECT height, time FROM blocks WHERE height IN (SELECT unnest(?::INTEGER[]))", [hs])
        return {int(h): None if t is None else int(t) for h, t in got}

    def stale_hashes(self) -> set[str]:
        """Hashes of every stored stale block."""
        return {str(x) for (x,) in self._rows("SELECT hash FROM stale_blocks")}

    def stats_heights(self) -> set[int]:
        """Heights that already have block statistics."""
        return {int(h) for (h,) in self._rows("SELECT height FROM block_stats")}

    def stats_between(self, lo: int, hi: int) -> dict[int, tuple[int, int, int, int, int, str | None, int | None]]:
        """Stored block statistics with ``lo <= height <= hi``: (mediantime, subsidy_sat,
        totalfee_sat, txs, total_weight, block hash, block time) by height."""
        rows = self._rows(
            "SELECT s.height, s.mediantime, s.subsidy_sat, s.totalfee_sat, s.txs, s.total_weight, b.hash, b.time "
            "FROM block_stats s LEFT JOIN blocks b ON b.height = s.height WHERE s.height BETWEEN ? AND ?",
            [lo, hi],
        )
        return {
            int(r[0]): (
                *(int(v) if v is not None else -1 for v in r[1:6]),
                hash_hex(r[6]),
                None if r[7] is None else int(r[7]),
            )  # type: ignore[misc]
            for r in rows
        }

    def retarget_checks(self) -> list[RetargetCheck]:
        """Every stored retarget whose previous period's first and last block times are stored."""
        rows = self._rows(
            """
            SELECT p.period, p.start_height, q.bits, p.bits, f.time, l.time
            FROM periods p
            JOIN periods q ON q.period = p.period - 1
            JOIN blocks f ON f.height = q.start_height
            JOIN blocks l ON l.height = p.start_height - 1
            WHERE f.time IS NOT NULL AND l.time IS NOT NULL
            ORDER BY p.period
            """
        )
        return [RetargetCheck(*(int(v) for v in r)) for r in rows]

    def headers_at_or_below(self, height: int, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` stored full headers at or below ``height``, highest first: (height, hash)."""
        got = self._rows(
            "SELECT height, hash FROM blocks WHERE prev_hash IS NOT NULL AND height <= ? ORDER BY height DESC LIMIT ?",
            [height, limit],
        )
        return [(int(h), bytes(x).hex()) for h, x in got]

    def count_headers_above(self, height: int) -> int:
        """How many full headers are stored above ``height``."""
        return int(self._scalar("SELECT count(*) FROM blocks WHERE prev_hash IS NOT NULL AND height > ?", [height]))

    def blocks_by_hash(self, hashes: Iterable[str]) -> list[tuple[int, str | None, str | None]]:
        """Stored block rows whose hash, or whose parent hash, is one of ``hashes`` (display
        hex): (height, hash, prev_hash) each, hex or None."""
        values = sorted({hash_bytes(x) for x in hashes})
        # An empty table answers nothing: asked first, since binding the lists costs ~5 ms for a
        # checkpoint file's 872 hashes (a first sync's files meet an empty table).
        if not values or not self._rows("SELECT 1 FROM blocks LIMIT 1"):
            return []
        rows = self._rows(
            "SELECT height, hash, prev_hash FROM blocks "
            "WHERE hash IN (SELECT unnest(?)) OR prev_hash IN (SELECT unnest(?))",
            [values, values],
        )
        return [(int(h), hash_hex(x), hash_hex(p)) for h, x, p in rows]

    def headers_above(self, height: int) -> list[StoredHeader]:
        """Every stored full header above ``height``, lowest first."""
        rows = self._rows(
            "SELECT height, hash, prev_hash, bits, source FROM blocks WHERE prev_hash IS NOT NULL AND height > ? "
            "ORDER BY height",
            [height],
        )
        return [StoredHeader(int(h), bytes(x).hex(), bytes(p).hex(), int(b), str(s)) for h, x, p, b, s in rows]

    # -- writes (each one transaction with its log row) -----------------------------------
    def insert_headers(self, rows: Sequence[tuple[int, BlockHeader, str]], source: str, kind: str) -> None:
        """Store validated full headers, (height, header, hash) each; replaces rows without headers."""
        with self.transaction():
            self._write_headers(rows, source, kind)

    def _write_headers(self, rows: Sequence[tuple[int, BlockHeader, str]], source: str, kind: str) -> None:
        self._insert_arrow("blocks", _header_table(rows, source), HEADER_COLUMNS)
        self.log(source, kind, len(rows))

    def insert_header_columns(self, cols: HeaderColumns | Sequence[HeaderColumns], source: str, kind: str) -> int:
        """Store runs of consecutive validated headers in one transaction (the bulk path of a
        node sync and of header files). Rows without headers at their heights (block stats,
        boundary times) are replaced, as :meth:`insert_headers` does; a full header already
        stored there (the caller checked it is the same block) is kept as it is. Returns how
        many headers were written.

        The runs go in as one table and one statement, whatever their number: a checkpoint
        file's hundreds of one-header runs cost one insert, not one each."""
        runs = [cols] if isinstance(cols, HeaderColumns) else [c for c in cols if len(c)]
        if not runs:
            return 0
        with self.transaction():
            written = self._write_header_columns(runs, source)
            self.log(source, kind, written)
        return written

    def stage_header_columns(self, cols: HeaderColumns | Sequence[HeaderColumns], source: str, kind: str) -> int:
        """:meth:`insert_header_columns` without its commit: a transaction is begun on this handle
        and the runs written in it, to be ended by :meth:`commit_staged` or :meth:`rollback_staged`
        (so headers can be written on one handle while another thread still checks them; nothing
        is seen by any other handle until the commit). Returns how many headers were written."""
        runs = [cols] if isinstance(cols, HeaderColumns) else [c for c in cols if len(c)]
        self._db.begin()
        try:
            written = self._write_header_columns(runs, source) if runs else 0
            self.log(source, kind, written)
        except BaseException:
            self._rollback_quietly()
            raise
        return written

    def commit_staged(self) -> None:
        """Commit what :meth:`stage_header_columns` wrote (with the data version's bump)."""
        self._commit_bumped()

    def rollback_staged(self) -> None:
        """Drop what :meth:`stage_header_columns` wrote."""
        self._rollback_quietly()

    def _write_header_columns(self, runs: Sequence[HeaderColumns], source: str) -> int:
        # The rows already at the headers' heights: a range for each run of consecutive heights
        # while they are few, else a list of heights (a checkpoint file's one-header runs).
        heights = _run_heights(runs)
        first = np.flatnonzero(np.r_[True, np.diff(heights) != 1])
        last = np.r_[first[1:], heights.size] - 1
        args: list[Any]
        if first.size <= 64:
            where = "(" + " OR ".join(["height BETWEEN ? AND ?"] * first.size) + ")"
            args = [int(h) for pair in zip(heights[first], heights[last], strict=True) for h in pair]
        else:
            where = "height IN (SELECT unnest(?::INTEGER[]))"
            args = [heights.tolist()]
        occupied, headers = self._rows(
            f"SELECT count(*), count(*) FILTER (WHERE prev_hash IS NOT NULL) FROM blocks WHERE {where}", args
        )[0]
        table = _header_columns_table(runs, source)
        if headers:
            # Headers already stored among the runs (a checkpoint file's): the caller checked
            # they are these very blocks (chain.headers.check_stored); they keep their rows.
            have = np.asarray(
                [
                    int(h)
                    for (h,) in self._rows(f"SELECT height FROM blocks WHERE {where} AND prev_hash IS NOT NULL", args)
                ],
                dtype=np.int64,
            )
            keep = ~np.isin(heights, have)
            mask = pa.BooleanArray.from_buffers(
                pa.bool_(), keep.size, [None, pa.py_buffer(np.packbits(keep, bitorder="little"))]
            )
            table = table.filter(mask)
        # A plain INSERT keeps the primary-key check cheap; replace only where rows exist.
        if table.num_rows:
            self._insert_arrow("blocks", table, HEADER_COLUMNS, replace=int(occupied) > int(headers))
        return int(table.num_rows)

    def insert_period_start_headers(
        self, rows: Sequence[tuple[int, BlockHeader, str]], last_hashes: Mapping[int, str], source: str, kind: str
    ) -> None:
        """Store period-start headers and the period facts they prove.

        A header at 2016p gives period p's bits (a new row, marked with ``source``), and the hash
        of block 2016p - 1 (``last_hashes``) gives period p - 1's last-block hash where unknown.
        Period 0 is fixed by consensus: the genesis bits, difficulty 1.
        """
        with self.transaction():
            self._write_period_start_headers(rows, last_hashes, source, kind)

    def _write_period_start_headers(
        self, rows: Sequence[tuple[int, BlockHeader, str]], last_hashes: Mapping[int, str], source: str, kind: str
    ) -> None:
        self._insert_arrow("blocks", _header_table(rows, source), HEADER_COLUMNS)
        known = set(self.period_facts())
        new: dict[int, PeriodRow] = {}
        if 0 not in known:
            new[0] = PeriodRow(0, 0, POW_LIMIT_BITS, None, GENESIS_PERIOD_SOURCE)
        for h, hdr, _ in rows:
            p = h // N
            if p not in known and p not in new:
                new[p] = PeriodRow(p, h, hdr.bits, None, source)
        if new:
            self._insert_arrow("periods", _period_table(list(new.values())), PERIOD_COLUMNS, replace=False)
        for h, _, _ in rows:
            if h // N > 0:
                self._execute(
                    "UPDATE periods SET last_block_hash = ? WHERE period = ? AND last_block_hash IS NULL",
                    [last_hashes[h - 1], h // N - 1],
                )
        self.log(source, kind, len(rows))

    def replace_branch(
        self,
        branch: BranchRows,
        rows: Sequence[tuple[int, BlockHeader, str]],
        last_hashes: Mapping[int, str] | None,
        source: str,
        kind: str,
    ) -> int:
        """A reorganisation in one transaction: remove the abandoned ``branch``'s rows
        (:meth:`drop_branch`) and store the winning branch's headers (period-start headers if
        ``last_hashes`` is given). Returns the number of headers removed."""
        with self.transaction():
            dropped = self._drop_branch(branch, source)
            if rows:
                if last_hashes is None:
                    self._write_headers(rows, source, kind)
                else:
                    self._write_period_start_headers(rows, last_hashes, source, kind)
        return dropped

    def insert_periods(self, rows: Sequence[PeriodRow], log_source: str, kind: str, note: str | None = None) -> None:
        """Store period rows (replacing a stored row of the same period)."""
        with self.transaction():
            self._insert_arrow("periods", _period_table(rows), PERIOD_COLUMNS)
            self.log(log_source, kind, len(rows), note)

    def insert_stale_blocks(
        self, rows: Sequence[StaleRow], periods: Sequence[PeriodRow], source: str, log_source: str, kind: str
    ) -> None:
        """Store stale blocks and the period rows inferred from them, with one log row."""
        with self.transaction():
            if rows:
                tbl = pa.table(
                    {
                        "hash": [r.hash for r in rows],
                        "height": pa.array([r.height for r in rows], pa.int32()),
                        "header": [r.header_hex for r in rows],
                        "source": [source] * len(rows),
                    }
                )
                self._insert_arrow("stale_blocks", tbl, ("hash", "height", "header", "source"))
            if periods:
                self._insert_arrow("periods", _period_table(periods), PERIOD_COLUMNS)
            self.log(log_source, kind, len(rows))

    def insert_block_times(self, blocks: TimedBlocks, source: str, log_source: str, kind: str) -> None:
        """Store block rows without headers (hash may be None); replaces rows at those heights."""
        with self.transaction():
            if len(blocks):
                self._insert_arrow("blocks", _timed_table(blocks, source), ("height", "hash", "time", "source"))
            self.log(log_source, kind, len(blocks))

    def insert_block_stats(
        self, stats: StatsRows, blocks: TimedBlocks, source: str, log_source: str, kind: str
    ) -> None:
        """Store one batch of block statistics and the block rows (hash, time) new to the store."""
        with self.transaction():
            if len(blocks):
                self._insert_arrow("blocks", _timed_table(blocks, source), ("height", "hash", "time", "source"))
            tbl = pa.table(
                {
                    "height": pa.array(stats.height, pa.int32()),
                    "mediantime": pa.array(stats.mediantime, pa.int64()),
                    "subsidy_sat": pa.array(stats.subsidy_sat, pa.int64()),
                    "totalfee_sat": pa.array(stats.totalfee_sat, pa.int64()),
                    "txs": pa.array(stats.txs, pa.int32()),
                    "total_weight": pa.array(stats.total_weight, pa.int64()),
                }
            )
            self._insert_arrow("block_stats", tbl, STATS_COLUMNS)
            self.log(log_source, kind, len(stats))

    def drop_branch(self, branch: BranchRows, source: str) -> int:
        """Remove exactly the rows of ``branch`` (see :class:`BranchRows`), logged as a
        roll-back, in one transaction. Returns the number of headers removed."""
        with self.transaction():
            return self._drop_branch(branch, source)

    def _drop_branch(self, branch: BranchRows, source: str) -> int:
        heights = [int(h) for h in branch.heights]
        if heights:
            self._execute("DELETE FROM block_stats WHERE height IN (SELECT unnest(?::INTEGER[]))", [heights])
            self._execute(
                "DELETE FROM blocks WHERE prev_hash IS NOT NULL AND height IN (SELECT unnest(?::INTEGER[]))", [heights]
            )
        if branch.hashed:
            hashed = [int(h) for h in branch.hashed]
            self._execute("DELETE FROM block_stats WHERE height IN (SELECT unnest(?::INTEGER[]))", [hashed])
            self._execute(
                "DELETE FROM blocks WHERE hash IS NOT NULL AND height IN (SELECT unnest(?::INTEGER[]))", [hashed]
            )
        if branch.periods:
            self._execute("DELETE FROM periods WHERE period IN (SELECT unnest(?::INTEGER[]))", [list(branch.periods)])
        if branch.last_hashes:
            self._execute(
                "UPDATE periods SET last_block_hash = NULL WHERE period IN (SELECT unnest(?::INTEGER[]))",
                [list(branch.last_hashes)],
            )
        self.log(
            source,
            "reorg",
            len(heights),
            f"rolled back to height {branch.fork}: {len(heights)} header(s), {len(branch.hashed)} hashed row(s), "
            f"{len(branch.periods)} period row(s) "
            f"they proved, {len(branch.last_hashes)} last-block hash(es) they claimed",
        )
        return len(heights) + len(branch.hashed)

    def header_top(self) -> int | None:
        """Height of the highest stored full header."""
        h = self._scalar("SELECT max(height) FROM blocks WHERE prev_hash IS NOT NULL")
        return None if h is None else int(h)


__all__ = [
    "BranchRows",
    "HeaderColumns",
    "KnownBlock",
    "PeriodFact",
    "PeriodRow",
    "RetargetCheck",
    "StaleRow",
    "StatsRows",
    "StoredHeader",
    "SyncQueries",
    "TimedBlocks",
]
