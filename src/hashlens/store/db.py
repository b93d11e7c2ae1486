"""DuckDB store of headers, per-period facts and block statistics.

Every write goes through :meth:`Store.transaction`; a batch is committed whole or not at
all, so an import killed midway leaves the store as it was after its last whole batch,
and a rerun resumes from there (imports skip heights already stored from the same data).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from hashlens.errors import HashlensError

# Each migration moves the schema one version up; never edit a released one.
MIGRATIONS: list[str] = [
    # 1: headers, periods, block stats, stale blocks, sync log
    """
    CREATE TABLE blocks (
        height      INTEGER PRIMARY KEY,
        hash        VARCHAR NOT NULL,
        prev_hash   VARCHAR,
        version     INTEGER,
        merkle_root VARCHAR,
        time        BIGINT,
        bits        UINTEGER,
        nonce       UBIGINT,
        source      VARCHAR NOT NULL
    );
    CREATE TABLE periods (
        period          INTEGER PRIMARY KEY,
        start_height    INTEGER NOT NULL,
        bits            UINTEGER NOT NULL,
        target_hex      VARCHAR NOT NULL,
        last_block_hash VARCHAR,
        source          VARCHAR NOT NULL
    );
    CREATE TABLE block_stats (
        height       INTEGER PRIMARY KEY,
        mediantime   BIGINT,
        subsidy_sat  BIGINT,
        totalfee_sat BIGINT,
        txs          INTEGER,
        total_weight BIGINT
    );
    CREATE TABLE stale_blocks (
        hash      VARCHAR PRIMARY KEY,
        height    INTEGER NOT NULL,
        header    VARCHAR NOT NULL,
        source    VARCHAR NOT NULL
    );
    CREATE TABLE sync_log (
        logged_at TIMESTAMP DEFAULT current_timestamp,
        source   VARCHAR NOT NULL,
        kind     VARCHAR NOT NULL,
        rows     BIGINT NOT NULL,
        note     VARCHAR
    );
    """,
    # 2: exact chain work per period, so every stored block's chainwork is a join away
    """
    CREATE TABLE period_work (
        period           INTEGER PRIMARY KEY,
        work_per_block   HUGEINT NOT NULL,
        chainwork_before HUGEINT NOT NULL
    );
    CREATE VIEW block_chainwork AS
        SELECT b.height, b.hash,
               w.chainwork_before + (b.height - w.period * 2016 + 1) * w.work_per_block AS chainwork
        FROM blocks b JOIN period_work w ON w.period = b.height // 2016;
    """,
    # 3: daily BTC prices in any fiat currency
    """
    CREATE TABLE prices (
        day       DATE NOT NULL,
        currency  VARCHAR NOT NULL,
        price     DOUBLE NOT NULL,
        source    VARCHAR NOT NULL,
        PRIMARY KEY (day, currency)
    );
    """,
    # 4: listed miners' monthly reports, treasury snapshots and single press facts
    """
    CREATE TABLE miner_reports (
        ticker                 VARCHAR NOT NULL,
        month                  DATE NOT NULL,
        company                VARCHAR NOT NULL,
        exchange               VARCHAR,
        btc_mined              DOUBLE,
        btc_self_mined         DOUBLE,
        btc_hosted_mined       DOUBLE,
        btc_cloud_mined        DOUBLE,
        hashrate_avg_ehs       DOUBLE,
        hashrate_month_end_ehs DOUBLE,
        hashrate_deployed_ehs  DOUBLE,
        btc_sold               DOUBLE,
        treasury_btc           DOUBLE,
        other_holdings         VARCHAR,
        note                   VARCHAR,
        source_title           VARCHAR NOT NULL,
        source_publisher       VARCHAR,
        source_date            VARCHAR,
        source_url             VARCHAR,
        PRIMARY KEY (ticker, month)
    );
    CREATE TABLE miner_treasuries (
        ticker       VARCHAR NOT NULL,
        as_of        DATE NOT NULL,
        company      VARCHAR NOT NULL,
        treasury_btc DOUBLE NOT NULL,
        note         VARCHAR,
        source_title VARCHAR NOT NULL,
        PRIMARY KEY (ticker, as_of)
    );
    CREATE TABLE miner_facts (
        ticker     VARCHAR NOT NULL,
        month      DATE NOT NULL,
        company    VARCHAR NOT NULL,
        metric     VARCHAR NOT NULL,
        value      DOUBLE NOT NULL,
        unit       VARCHAR,
        source_url VARCHAR NOT NULL,
        note       VARCHAR,
        PRIMARY KEY (ticker, month, metric, source_url)
    );
    """,
    # 5: per-period chain work is computed from the periods when needed (chain.hashrate);
    # the derived table was rebuilt on every sync and read by nothing.
    """
    DROP VIEW IF EXISTS block_chainwork;
    DROP TABLE IF EXISTS period_work;
    """,
    # 6: a block row may hold a time without a hash (period boundary times name no hashes)
    """
    ALTER TABLE blocks ALTER COLUMN hash DROP NOT NULL;
    """,
]


class StoreLocked(HashlensError):
    """The store file is held by another process (named, where its lock-info files say)."""


# One writer, many readers. DuckDB lets several processes open a file read-only at once, or
# one process read-write, never both. hashlens adds, beside the store:
#   <store>.holder       the writer's lock: an exclusive flock held for the writer's whole life
#                        (a `serve --follow` holds it even while its connection is read-only),
#                        with the writer's pid and command in it;
#   <store>.reader-<pid> one per process that has the store open read-only, so that a writer
#                        refused by DuckDB can name who is reading.
# A reader waits (up to ``wait_s``) while a writer's batch holds the file; the server's follower
# takes the file for one batch at a time, so readers in other shells get through between batches.

#: How long a reader waits for a writer's batch, and a writer for readers, before naming the
#: holder [s] (a batch may take seconds; a reader's query far less).
READER_WAIT_S = 10.0
WRITER_WAIT_S = 3.0


def holder_path(db_path: str) -> Path:
    """The writer's lock-info file beside a store."""
    return Path(db_path + ".holder")


def _process_text(path: Path) -> str | None:
    """'process 123 (`hashlens sync …`)' from a lock-info file, None if unreadable or ended."""
    try:
        info = json.loads(path.read_text())
        pid, command = int(info["pid"]), str(info["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return f"process {pid} (`{command}`)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _holder_text(db_path: str) -> str:
    """Who holds the store: its writer, else its readers, else a plain phrase."""
    writer = _process_text(holder_path(db_path))
    if writer is not None:
        return writer
    readers = [
        t for f in sorted(Path(db_path).parent.glob(Path(db_path).name + ".reader-*")) if (t := _process_text(f))
    ]
    if readers:
        return ", ".join(readers)
    return "another process"


def _command_line() -> str:
    args = [a for a in sys.argv[1:] if not a.startswith("-")][:2]
    return " ".join(["hashlens", *args]) if args else os.path.basename(sys.argv[0] or "python")


class WriterLock:
    """The store's one writer, for as long as this object is held (``release`` or process exit).

    Raises :class:`StoreLocked` naming the current writer when another process holds it. In a
    folder where the lock file cannot be written (read-only), DuckDB's own lock still holds and
    this lock is a no-op.
    """

    def __init__(self, db_path: str | Path, command: str | None = None) -> None:
        import fcntl

        self.path = holder_path(str(db_path))
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreLocked(
                f"the store {db_path} is in use by {_holder_text(str(db_path))}, its writer; "
                "wait for it to finish, stop it, or use another --db"
            ) from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command or _command_line()}).encode(), 0)
        except OSError:
            pass  # a full disk: the lock still holds, the holder just goes unnamed

    def release(self) -> None:
        if self._fd is None:
            return
        with suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None


class Database:
    """A DuckDB file (or ``:memory:``) with the hashlens schema applied.

    The connection is private: the rest of hashlens calls the typed queries of the mixins in
    this package (:mod:`hashlens.store.chain`, :mod:`~hashlens.store.sync`,
    :mod:`~hashlens.store.market`, :mod:`~hashlens.store.miners`), never SQL.

    Parameters
    ----------
    path : the DuckDB file, or ``:memory:``
    read_only : open for reading; several processes may read at once (never beside a writer's
        open batch, for which a reader waits up to ``wait_s``)
    wait_s : how long to wait for a file another process has open [s] (default
        ``READER_WAIT_S`` or ``WRITER_WAIT_S``)
    writer : a :class:`WriterLock` this process already holds (the server's follower opens the
        file read-write for each batch under its one lock); by default a writer takes its own
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        read_only: bool = False,
        wait_s: float | None = None,
        writer: WriterLock | None = None,
    ) -> None:
        import time

        self.path = str(path)
        self._lock: WriterLock | None = None
        self._reader_file: Path | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if not read_only and writer is None:
                self._lock = WriterLock(self.path)
        deadline = time.monotonic() + (wait_s if wait_s is not None else READER_WAIT_S if read_only else WRITER_WAIT_S)
        while True:
            try:
                self._con = duckdb.connect(self.path, read_only=read_only)
                break
            except duckdb.Error as exc:
                locked = "lock" in str(exc).lower()
                if locked and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                if self._lock is not None:
                    self._lock.release()
                if locked:
                    raise StoreLocked(
                        f"the store {self.path} is in use by {_holder_text(self.path)}; "
                        "wait for it to finish, stop it, or use another --db"
                    ) from None
                raise HashlensError(f"cannot open store {self.path}: {' '.join(str(exc).split())}") from None
        if read_only and self.path != ":memory:":
            self._reader_file = Path(f"{self.path}.reader-{os.getpid()}")
            try:
                self._reader_file.write_text(json.dumps({"pid": os.getpid(), "command": _command_line()}))
            except OSError:
                self._reader_file = None
        if not read_only:
            self.migrate()

    def cursor(self) -> Any:
        """Another handle on the same connection, for one more thread (DuckDB connections
        are not shared between threads; their cursors are)."""
        other = object.__new__(type(self))
        other.path = self.path
        other._lock = None
        other._reader_file = None
        other._con = self._con.cursor()
        return other

    # -- schema -----------------------------------------------------------------------
    def schema_version(self) -> int:
        self._con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def needs_migration(self) -> bool:
        """Whether the schema is older than this hashlens (read-only safe)."""
        try:
            row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        except duckdb.Error:
            return True
        return not row or row[0] is None or int(row[0]) < len(MIGRATIONS)

    def migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise HashlensError(
                f"store {self.path} has schema version {current}, newer than this hashlens "
                f"({len(MIGRATIONS)}): upgrade hashlens"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            with self.transaction():
                self._con.execute(MIGRATIONS[version - 1])
                self._con.execute("INSERT INTO schema_version VALUES (?)", [version])

    # -- writes -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside commits together or not at all."""
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield None
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _insert_arrow(self, table: str, data: Any, columns: Sequence[str], replace: bool = True) -> None:
        """Insert an Arrow table whose column names match ``columns`` (inside a transaction)."""
        cols = ", ".join(columns)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self._con.register("_batch", data)
        try:
            self._con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _batch")
        finally:
            self._con.unregister("_batch")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params))

    def log(self, source: str, kind: str, rows: int, note: str | None = None) -> None:
        """Record an import or a roll-back in ``sync_log`` (inside the batch's transaction)."""
        self._execute(
            "INSERT INTO sync_log (source, kind, rows, note) VALUES (?, ?, ?, ?)",
            [source, kind, rows, note],
        )

    # -- raw reads (for this package's queries, and for tests that inspect the tables) -----
    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._con.execute(sql, list(params)).fetchone()
        return None if row is None else row[0]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params)).fetchall()

    def _numpy(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any]:
        """Columns of a result as numpy arrays (no Python object per row)."""
        return self._con.execute(sql, list(params)).fetchnumpy()

    def counts(self) -> dict[str, int]:
        return {
            t: int(self._scalar(f"SELECT count(*) FROM {t}"))
            for t in ("blocks", "periods", "block_stats", "stale_blocks", "prices")
        }

    def checkpoint(self) -> None:
        """Write the write-ahead log into the file (before copying it)."""
        self._con.execute("CHECKPOINT")

    def close(self) -> None:
        self._con.close()
        if self._reader_file is not None:
            with suppress(OSError):
                self._reader_file.unlink()
            self._reader_file = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
