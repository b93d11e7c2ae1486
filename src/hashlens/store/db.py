"""DuckDB store of headers, per-period facts and block statistics.

Every write goes through :meth:`Store.transaction`; a batch is committed whole or not at
all, so an import killed midway leaves the store as it was after its last whole batch,
and a rerun resumes from there (imports skip heights already stored from the same data).
"""

from __future__ import annotations

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
]


class Store:
    """A DuckDB file (or ``:memory:``) with the hashlens schema applied."""

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise HashlensError(
                    f"the store {self.path} is in use by another process (a running `hashlens serve`?); "
                    "stop it or use another --db"
                ) from None
            raise HashlensError(f"cannot open store {self.path}: {exc}") from None
        if not read_only:
            self.migrate()

    # -- schema -----------------------------------------------------------------------
    def schema_version(self) -> int:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
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
                self.con.execute(MIGRATIONS[version - 1])
                self.con.execute("INSERT INTO schema_version VALUES (?)", [version])

    # -- writes -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def insert_arrow(self, table: str, data: Any, columns: Sequence[str]) -> None:
        """Insert an Arrow table whose column names match ``columns`` (inside a transaction)."""
        cols = ", ".join(columns)
        self.con.register("_batch", data)
        try:
            self.con.execute(f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {cols} FROM _batch")
        finally:
            self.con.unregister("_batch")

    def refresh_period_work(self) -> int:
        """Recompute ``period_work`` from ``periods`` (call inside a transaction).

        Work per block is floor(2**256 / (target + 1)) (Core's GetBlockProof); the chain work
        before a period is the sum over all earlier periods of 2016 blocks each. Only the
        unbroken run of periods from 0 gets rows: a gap makes later cumulative work unknown.
        """
        from hashlens.consensus import block_work

        rows = self.rows("SELECT period, target_hex FROM periods ORDER BY period")
        out, total = [], 0
        for i, (p, target_hex) in enumerate(rows):
            if int(p) != i:
                break
            w = block_work(int(target_hex, 16))
            out.append((int(p), str(w), str(total)))
            total += 2016 * w
        self.con.execute("DELETE FROM period_work")
        if out:
            self.con.executemany("INSERT INTO period_work VALUES (?, CAST(? AS HUGEINT), CAST(? AS HUGEINT))", out)
        return len(out)

    def log(self, source: str, kind: str, rows: int, note: str | None = None) -> None:
        self.con.execute(
            "INSERT INTO sync_log (source, kind, rows, note) VALUES (?, ?, ?, ?)",
            [source, kind, rows, note],
        )

    # -- reads ------------------------------------------------------------------------
    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def block_hash(self, height: int) -> str | None:
        h = self.scalar("SELECT hash FROM blocks WHERE height = ?", [height])
        if h is None and (height + 1) % 2016 == 0:
            h = self.scalar("SELECT last_block_hash FROM periods WHERE period = ?", [(height + 1) // 2016 - 1])
        return None if h is None else str(h)

    def block_time(self, height: int) -> int | None:
        t = self.scalar("SELECT time FROM blocks WHERE height = ?", [height])
        return None if t is None else int(t)

    def period_bits(self, period: int) -> int | None:
        b = self.scalar("SELECT bits FROM periods WHERE period = ?", [period])
        return None if b is None else int(b)

    def tip_height(self) -> int | None:
        h = self.scalar("SELECT max(height) FROM blocks")
        return None if h is None else int(h)

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.scalar(f"SELECT count(*) FROM {t}"))
            for t in ("blocks", "periods", "block_stats", "stale_blocks", "prices")
        }

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
