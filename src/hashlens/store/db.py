"""The store of headers, per-period facts and block statistics: a DuckDB file or a
PostgreSQL database (:mod:`hashlens.store.backend`), with one schema and one set of migrations.

Every write goes through :meth:`Store.transaction`; a batch is committed whole or not at
all, so an import killed midway leaves the store as it was after its last whole batch,
and a rerun resumes from there (imports skip heights already stored from the same data).
Every committed write also bumps the store's data version (:meth:`Database.data_version`),
which readers in other processes poll to drop cached results.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError
from hashlens.store.backend import Backend, StoreReadOnly, open_backend
from hashlens.store.locks import READER_WAIT_S, WRITER_WAIT_S, StoreLocked, WriterLock, holder_path

# Each migration moves the schema one version up; never edit a released one. A migration is
# DuckDB's SQL (translated for PostgreSQL by ``backend.pg_ddl``), or SQL per backend.
MIGRATIONS: list[str | dict[str, str]] = [
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
    # 7: the data version, bumped by every committed write; readers in other processes poll it
    # (or, on PostgreSQL, listen for its notice) to drop cached results
    """
    CREATE TABLE store_version (version BIGINT NOT NULL);
    INSERT INTO store_version VALUES (0);
    """,
    # 8: block hashes as their 32 bytes (display order: the hex of the bytes is the hash as
    # shown), not 64 characters of text. On DuckDB stored uncompressed, which a column takes
    # only when created, so the table is rebuilt: compressing three columns of random text was
    # most of a bulk header write (900,000 rows: 2.0 s of a 3 s sync), and random bytes do not
    # compress anyway. On PostgreSQL the columns change type in place (grants kept).
    {
        "duckdb": """
    CREATE TABLE blocks_v8 (
        height      INTEGER PRIMARY KEY,
        hash        BLOB USING COMPRESSION uncompressed,
        prev_hash   BLOB USING COMPRESSION uncompressed,
        version     INTEGER,
        merkle_root BLOB USING COMPRESSION uncompressed,
        time        BIGINT,
        bits        UINTEGER,
        nonce       UBIGINT,
        source      VARCHAR NOT NULL
    );
    INSERT INTO blocks_v8
        SELECT height, unhex(hash), unhex(prev_hash), version, unhex(merkle_root), time, bits, nonce, source
        FROM blocks;
    DROP TABLE blocks;
    ALTER TABLE blocks_v8 RENAME TO blocks;
    """,
        "postgresql": """
    ALTER TABLE blocks
        ALTER COLUMN hash TYPE BYTEA USING decode(hash, 'hex'),
        ALTER COLUMN prev_hash TYPE BYTEA USING decode(prev_hash, 'hex'),
        ALTER COLUMN merkle_root TYPE BYTEA USING decode(merkle_root, 'hex');
    """,
    },
    # 9: listed miners' quarterly (and monthly) results, one published number per row
    # (hashlens.miners.models.QuarterFact): the metric of hashlens.miners.vocabulary in its unit,
    # the fiscal period by its label and days, where it came from and, where known, when it was
    # published. One value per company, period and metric.
    """
    CREATE TABLE miner_results (
        ticker       VARCHAR NOT NULL,
        company      VARCHAR,
        period       VARCHAR NOT NULL,
        period_start DATE NOT NULL,
        period_end   DATE NOT NULL,
        metric       VARCHAR NOT NULL,
        value        DOUBLE NOT NULL,
        unit         VARCHAR NOT NULL,
        source_url   VARCHAR,
        source_kind  VARCHAR,
        note         VARCHAR,
        published    DATE,
        PRIMARY KEY (ticker, period_start, period_end, metric)
    );
    """,
    # 10: pools: each source of pool attribution kept apart (store/pools.py). pool_sources names
    # every source and where it came from; pool_blocks holds per-block pools (hashlens' own
    # attribution from coinbases, with the rules file used; a mempool-style API's extras.pool;
    # imported labels); pool_days blocks per entity per UTC day; block_coinbases the coinbases
    # attributed, so they can be attributed again when the rules change; pool_rules each rules
    # file used (its text, by name@sha256). pool_days has no key: a name may be a list of
    # payout addresses thousands of characters long (beyond PostgreSQL's index row), and each
    # import replaces its source's rows whole, one row per name and day.
    {
        "duckdb": """
    CREATE TABLE pool_sources (
        source      VARCHAR PRIMARY KEY,
        kind        VARCHAR NOT NULL,
        origin      VARCHAR NOT NULL,
        sha256      VARCHAR,
        rows        BIGINT NOT NULL,
        imported_at TIMESTAMP DEFAULT current_timestamp
    );
    CREATE TABLE pool_blocks (
        source   VARCHAR NOT NULL,
        height   INTEGER NOT NULL,
        hash     BLOB,
        pool     VARCHAR NOT NULL,
        method   VARCHAR NOT NULL,
        rules_id VARCHAR,
        PRIMARY KEY (source, height)
    );
    CREATE TABLE pool_days (
        source VARCHAR NOT NULL,
        day    DATE NOT NULL,
        pool   VARCHAR NOT NULL,
        blocks INTEGER NOT NULL
    );
    CREATE TABLE block_coinbases (
        height     INTEGER PRIMARY KEY,
        hash       BLOB NOT NULL,
        script_sig BLOB NOT NULL,
        outputs    BLOB NOT NULL,
        txid       VARCHAR,
        origin     VARCHAR NOT NULL
    );
    CREATE TABLE pool_rules (
        rules_id  VARCHAR PRIMARY KEY,
        name      VARCHAR NOT NULL,
        sha256    VARCHAR NOT NULL,
        body      VARCHAR NOT NULL,
        used_at   TIMESTAMP DEFAULT current_timestamp
    );
    """,
        "postgresql": """
    CREATE TABLE pool_sources (
        source      VARCHAR PRIMARY KEY,
        kind        VARCHAR NOT NULL,
        origin      VARCHAR NOT NULL,
        sha256      VARCHAR,
        rows        BIGINT NOT NULL,
        imported_at TIMESTAMP DEFAULT current_timestamp
    );
    CREATE TABLE pool_blocks (
        source   VARCHAR NOT NULL,
        height   INTEGER NOT NULL,
        hash     BYTEA,
        pool     VARCHAR NOT NULL,
        method   VARCHAR NOT NULL,
        rules_id VARCHAR,
        PRIMARY KEY (source, height)
    );
    CREATE TABLE pool_days (
        source VARCHAR NOT NULL,
        day    DATE NOT NULL,
        pool   VARCHAR NOT NULL,
        blocks INTEGER NOT NULL
    );
    CREATE TABLE block_coinbases (
        height     INTEGER PRIMARY KEY,
        hash       BYTEA NOT NULL,
        script_sig BYTEA NOT NULL,
        outputs    BYTEA NOT NULL,
        txid       VARCHAR,
        origin     VARCHAR NOT NULL
    );
    CREATE TABLE pool_rules (
        rules_id  VARCHAR PRIMARY KEY,
        name      VARCHAR NOT NULL,
        sha256    VARCHAR NOT NULL,
        body      VARCHAR NOT NULL,
        used_at   TIMESTAMP DEFAULT current_timestamp
    );
    """,
    },
]


def hash_bytes(block_hash: str) -> bytes:
    """A block hash as the store keeps it, from its display hex."""
    return bytes.fromhex(block_hash)


def hash_hex(stored: Any) -> str | None:
    """A stored block hash (bytes from either engine, or NULL) as display hex."""
    return None if stored is None else bytes(stored).hex()


# The DuckDB lock files live in locks.py; their names stay importable from here.
__all__ = [
    "MIGRATIONS",
    "READER_WAIT_S",
    "WRITER_WAIT_S",
    "Database",
    "StoreLocked",
    "StoreReadOnly",
    "WriterLock",
    "hash_bytes",
    "hash_hex",
    "holder_path",
]


class Database:
    """A store with the hashlens schema applied: a DuckDB file (or ``:memory:``), or a
    PostgreSQL database named by a ``postgresql://user[:password]@host[:port]/db`` URL.

    The connection is private: the rest of hashlens calls the typed queries of the mixins in
    this package (:mod:`hashlens.store.chain`, :mod:`~hashlens.store.sync`,
    :mod:`~hashlens.store.market`, :mod:`~hashlens.store.miners`), never SQL.

    Parameters
    ----------
    path : the DuckDB file, ``:memory:``, or a PostgreSQL URL
    read_only : open for reading; several processes may read at once (on DuckDB never beside
        a writer's open batch, for which a reader waits up to ``wait_s``)
    wait_s : DuckDB: how long to wait for a file another process has open [s] (default
        ``READER_WAIT_S`` or ``WRITER_WAIT_S``)
    writer : DuckDB: a :class:`WriterLock` this process already holds (the server's follower
        opens the file read-write for each batch under its one lock); by default a writer
        takes its own
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        read_only: bool = False,
        wait_s: float | None = None,
        writer: WriterLock | None = None,
    ) -> None:
        self._db: Backend = open_backend(path, read_only, wait_s, writer)
        self.path = self._db.display
        self.backend = self._db.kind
        self._follower_lock: WriterLock | None = None
        self._versioned = False  # whether the schema has the data-version row (migration 7)
        try:
            if not read_only:
                self.migrate()
            else:
                self._versioned = self._db.table_exists("store_version")
        except BaseException:
            self._db.close()
            raise

    @property
    def _con(self) -> Any:
        """The DuckDB connection (DuckDB only; for tests that inspect the file)."""
        return getattr(self._db, "con", None)

    def cursor(self) -> Any:
        """Another handle on the same store, for one more thread (a DuckDB cursor on the same
        connection; on PostgreSQL another connection from this store's pool)."""
        other = object.__new__(type(self))
        other._db = self._db.child()
        other.path = self.path
        other.backend = self.backend
        other._follower_lock = None
        other._versioned = self._versioned
        return other

    # -- schema -----------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self._db.table_exists("schema_version"):
            if self._db.read_only:
                return 0
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._scalar("SELECT max(version) FROM schema_version")
        return 0 if row is None else int(row)

    def needs_migration(self) -> bool:
        """Whether the schema is older than this hashlens (read-only safe)."""
        try:
            return self.schema_version() < len(MIGRATIONS)
        except HashlensError:
            return True

    def migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise HashlensError(
                f"store {self.path} has schema version {current}, newer than this hashlens "
                f"({len(MIGRATIONS)}): upgrade hashlens"
            )
        try:
            for version in range(current + 1, len(MIGRATIONS) + 1):
                with self.transaction():
                    self._db.migration_lock()
                    if self.schema_version() >= version:
                        continue  # another process (a PostgreSQL server's sibling) got here first
                    step = MIGRATIONS[version - 1]
                    self._execute(self._db.ddl(step if isinstance(step, str) else step[self._db.kind]))
                    self._execute("INSERT INTO schema_version VALUES (?)", [version])
        except StoreReadOnly as exc:
            raise StoreReadOnly(
                f"store {self.path} has schema version {current}, older than this hashlens ({len(MIGRATIONS)}), "
                f"and cannot be upgraded here ({exc}); open it once with a role that may write, "
                "or use the hashlens that wrote it"
            ) from None
        self._versioned = len(MIGRATIONS) >= 7

    # -- writes -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside commits together or not at all, with the data version
        bumped (and, on PostgreSQL, a notice sent to listeners at commit)."""
        self._db.begin()
        try:
            yield None
        except BaseException:
            self._rollback_quietly()
            raise
        self._commit_bumped()

    def _commit_bumped(self) -> None:
        """The end of every transaction: the data version's bump, then the commit; a bump that
        fails rolls the whole transaction back."""
        try:
            self._bump_version()
        except BaseException:
            self._rollback_quietly()
            raise
        self._db.commit()

    def _rollback_quietly(self) -> None:
        """Roll back the open transaction; a rollback that fails (the connection gone) has
        nothing left to undo."""
        with suppress(Exception):
            self._db.rollback()

    def _bump_version(self) -> None:
        """The data version's bump, the last write of every transaction (see :meth:`transaction`)."""
        if self._versioned:
            self._execute("UPDATE store_version SET version = version + 1")
            self._db.after_write(int(self._scalar("SELECT version FROM store_version")))

    def data_version(self) -> int:
        """The store's data version: bumped by every committed write (any process) [-]; a
        reader whose cached results were computed at another version drops them."""
        if not self._versioned:
            return 0
        return int(self._scalar("SELECT version FROM store_version"))

    def _insert_arrow(self, table: str, data: Any, columns: Sequence[str], replace: bool = True) -> None:
        """Insert an Arrow table whose column names match ``columns`` (inside a transaction):
        DuckDB selects it; PostgreSQL receives it by COPY."""
        self._db.insert_arrow(table, data, columns, replace)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    def log(self, source: str, kind: str, rows: int, note: str | None = None) -> None:
        """Record an import or a roll-back in ``sync_log`` (inside the batch's transaction)."""
        self._execute(
            "INSERT INTO sync_log (source, kind, rows, note) VALUES (?, ?, ?, ?)",
            [source, kind, rows, note],
        )

    # -- raw reads (for this package's queries, and for tests that inspect the tables) -----
    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._db.rows(sql, params)
        return None if not rows else rows[0][0]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.rows(sql, params)

    def _numpy(self, sql: str, params: Sequence[Any] = (), bulk: bool = False) -> dict[str, Any]:
        """Columns of a result as numpy arrays, masked where NULL (DuckDB: no Python object
        per row); ``bulk`` for a read of a whole table (DuckDB streams it, faster at that size)."""
        return self._db.numpy(sql, params, bulk)

    def counts(self) -> dict[str, int]:
        return {
            t: int(self._scalar(f"SELECT count(*) FROM {t}"))
            for t in ("blocks", "periods", "block_stats", "stale_blocks", "prices")
        }

    def checkpoint(self) -> None:
        """Write the write-ahead log into the file (DuckDB, before copying it)."""
        self._db.checkpoint()

    # -- the server's one follower ------------------------------------------------------
    def try_follower_lock(self) -> bool:
        """Become the store's one writer-follower if no other process is: True when this process
        holds the election until it closes the store or dies (PostgreSQL: an advisory lock on a
        dedicated session connection, freed by the server when the process dies; DuckDB: the
        writer's lock file, freed by the kernel)."""
        if self._db.kind == "postgresql":
            return bool(self._db.try_follower_lock())  # type: ignore[union-attr]
        if self._db.lock is not None or self._follower_lock is not None or self.path == ":memory:":  # type: ignore[union-attr]
            return True
        try:
            self._follower_lock = WriterLock(self.path)
        except StoreLocked:
            return False
        return True

    def release_follower_lock(self) -> None:
        if self._db.kind == "postgresql":
            self._db.release_follower_lock()  # type: ignore[union-attr]
        elif self._follower_lock is not None:
            self._follower_lock.release()
            self._follower_lock = None

    def wait_for_commit(self, timeout_s: float) -> bool:
        """Block until another process commits a write, or ``timeout_s`` passes [s]; True if one
        did (PostgreSQL: LISTEN on a dedicated connection; DuckDB: the data version polled)."""
        if self._db.kind == "postgresql":
            return bool(self._db.wait_for_commit(timeout_s))  # type: ignore[union-attr]
        start, deadline = self.data_version(), time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if self.data_version() != start:
                return True
        return False

    def close(self) -> None:
        self.release_follower_lock()
        self._db.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
