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
from contextlib import contextmanager
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
    """The store file is held by another process (named, where its lock-info file says)."""


def holder_path(db_path: str) -> Path:
    """The small lock-info file beside a store: which process holds it, and for what."""
    return Path(db_path + ".holder")


def _holder_text(db_path: str) -> str:
    """'process 123 (`hashlens sync …`)' from the lock-info file, or a plain phrase."""
    try:
        info = json.loads(holder_path(db_path).read_text())
        pid, command = int(info["pid"]), str(info["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"another process (the lock-info file names process {pid}, `{command}`, which has ended)"
    except PermissionError:
        pass
    return f"process {pid} (`{command}`)"


def _command_line() -> str:
    args = [a for a in sys.argv[1:] if not a.startswith("-")][:2]
    return " ".join(["hashlens", *args]) if args else os.path.basename(sys.argv[0] or "python")


class Database:
    """A DuckDB file (or ``:memory:``) with the hashlens schema applied.

    The connection is private: the rest of hashlens calls the typed queries of the mixins in
    this package (:mod:`hashlens.store.chain`, :mod:`~hashlens.store.sync`,
    :mod:`~hashlens.store.market`, :mod:`~hashlens.store.miners`), never SQL.
    """

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(
                    f"the store {self.path} is in use by {_holder_text(self.path)}; "
                    "wait for it to finish, stop it, or use another --db"
                ) from None
            raise HashlensError(f"cannot open store {self.path}: {' '.join(str(exc).split())}") from None
        self._holder: Path | None = None
        if self.path != ":memory:":
            self._holder = holder_path(self.path)
            try:
                self._holder.write_text(json.dumps({"pid": os.getpid(), "command": _command_line()}))
            except OSError:
                self._holder = None  # a read-only folder or a full disk: the lock still holds
        if not read_only:
            self.migrate()

    # -- schema -----------------------------------------------------------------------
    def schema_version(self) -> int:
        self._con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

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
        if getattr(self, "_holder", None) is not None:
            try:
                assert self._holder is not None
                if json.loads(self._holder.read_text()).get("pid") == os.getpid():
                    self._holder.unlink()
            except (OSError, ValueError):
                pass
            self._holder = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
