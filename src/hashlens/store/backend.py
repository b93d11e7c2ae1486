"""Where the store's SQL runs: a DuckDB file (embedded, the default) or a PostgreSQL server.

The typed queries (:mod:`hashlens.store.chain`, …) write one SQL dialect, with ``?``
placeholders; each backend here runs it and differs only where the engines do:

=================  ===========================================  ==========================================
                   DuckDB                                       PostgreSQL (psycopg 3)
=================  ===========================================  ==========================================
placeholders       ``?``                                        ``?`` rewritten to ``%s``
bulk insert        an Arrow table registered and selected       ``COPY … FROM STDIN`` of the Arrow table
                                                                written as CSV by Arrow (C speed)
insert-or-replace  ``INSERT OR REPLACE``                        COPY into a temporary table, then
                                                                ``INSERT … ON CONFLICT (key) DO UPDATE``
columns as numpy   ``fetchnumpy`` (masked where NULL)           rows turned into the same arrays
schema types       UINTEGER, UBIGINT, HUGEINT, DOUBLE, ``//``   BIGINT, BIGINT, NUMERIC(39), DOUBLE
                                                                PRECISION, ``/`` (see :func:`pg_ddl`)
one writer         a lock file beside the store (locks.py)      the server; a follower is elected by an
                                                                advisory lock
=================  ===========================================  ==========================================

Both backends take an Arrow table for bulk writes and give Python rows or numpy columns back,
so the analytics are computed once, by the library, from arrays both return.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from hashlens.errors import HashlensError
from hashlens.store.locks import READER_WAIT_S, WRITER_WAIT_S, StoreLocked, WriterLock, command_line, holder_text

POSTGRES_SCHEMES = ("postgresql", "postgres")

#: pg_advisory_lock keys (64-bit, per database): the follower's election and schema migration.
FOLLOWER_LOCK_KEY = 0x68617368_6C656E73  # "hashlens"
MIGRATION_LOCK_KEY = FOLLOWER_LOCK_KEY + 1
#: The channel a PostgreSQL writer notifies on each commit (payload: the new data version).
COMMIT_CHANNEL = "hashlens_commit"


def normalise_target(path: str | Path) -> str:
    """The store's location as text; a PostgreSQL URL that went through ``Path`` (``--db`` is
    parsed as a path, which folds ``//`` into ``/``) gets its two slashes back."""
    text = str(path)
    for scheme in POSTGRES_SCHEMES:
        head = scheme + ":/"
        if text.startswith(head) and not text.startswith(head + "/"):
            return scheme + "://" + text[len(head) :]
    return text


def is_postgres(target: str | Path) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database (``postgresql://…``)."""
    return normalise_target(target).split(":", 1)[0] in POSTGRES_SCHEMES and "://" in normalise_target(target)


class PgPlace:
    """Host, port, database and role of a PostgreSQL URL, for messages (never the password)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
        self.user = unquote(parts.username or query.get("user", "") or os.environ.get("PGUSER", "")) or None
        self.host = unquote(parts.hostname or query.get("host", "") or os.environ.get("PGHOST", "")) or "localhost"
        self.port = parts.port or int(query.get("port", 0) or os.environ.get("PGPORT", 0) or 5432)
        self.db = unquote(parts.path.lstrip("/")) or self.user or "postgres"
        netloc = f"{self.user}@" if self.user else ""
        host = "" if self.host.startswith("/") else self.host
        port = f":{parts.port}" if parts.port else ""
        q = f"?host={self.host}" if self.host.startswith("/") else ""
        if q and "port" in query:
            q += f"&port={self.port}"
        self.display = f"postgresql://{netloc}{host}{port}/{self.db}{q}"

    @property
    def server(self) -> str:
        where = f"the socket in {self.host}" if self.host.startswith("/") else f"{self.host}:{self.port}"
        return f"PostgreSQL at {where}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split()) if text else type(exc).__name__


def connection_error(place: PgPlace, exc: BaseException) -> HashlensError:
    """psycopg's connection failure as one line naming the server, the database and the fix."""
    text = " ".join(str(exc).split())
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return HashlensError(
            f"{place.server} refused the password of role {place.user or '(default)'} for database {place.db}: "
            "fix the password in --db / HASHLENS_DB (postgresql://user:password@host/db) or in ~/.pgpass"
        )
    if re.search(r'database "[^"]*" does not exist', low):
        return HashlensError(
            f"{place.server} has no database {place.db}: create it (createdb {place.db}) or fix the name in --db"
        )
    if re.search(r'role "[^"]*" does not exist', low):
        return HashlensError(
            f"{place.server} has no role {place.user}: create it (createuser {place.user}) or fix the user in --db"
        )
    if "no pg_hba.conf entry" in low:
        return HashlensError(
            f"{place.server} does not let role {place.user} connect to database {place.db} (pg_hba.conf): "
            "ask its administrator for access or use another --db"
        )
    if any(k in low for k in ("connection refused", "no such file or directory", "could not translate host")):
        return HashlensError(
            f"cannot reach {place.server} (database {place.db}): is the server running there? "
            "start it or fix the host/port in --db"
        )
    if "timeout" in low or "timed out" in low:
        return HashlensError(
            f"{place.server} did not answer within the connect timeout (database {place.db}): "
            "check the host, the port and the firewall"
        )
    return HashlensError(f"cannot connect to {place.server}, database {place.db}: {text}")


class StoreConnectionLost(HashlensError):
    """The database connection broke (server restarted, network dropped): a new connection may
    well work; the store keeps its last whole batch."""


class StoreReadOnly(HashlensError):
    """The store may not be written by this role or connection."""


# -- DuckDB -----------------------------------------------------------------------------------
#: DuckDB's words for a file held by another process (never "block", which a damaged file's
#: checksum message names).
_LOCK_CONFLICT = ("could not set lock on file", "conflicting lock is held")
#: DuckDB's words for a damaged or foreign store file.
_DAMAGED = (
    "corrupt database file",
    "not a valid duckdb database file",
    "could not read enough bytes",
    "checksum",
)


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(k in text for k in _LOCK_CONFLICT)


def damaged_store(path: str, exc: BaseException) -> HashlensError | None:
    """A damaged DuckDB store file, named, with what to do; None if ``exc`` is something else."""
    text = " ".join(str(exc).split())
    if not any(k in text.lower() for k in _DAMAGED):
        return None
    detail = text.split(": ", 1)[-1] if text.lower().startswith("io error") else text
    return HashlensError(
        f"the store file {path} is damaged or not a hashlens store ({detail[:200]}): restore it from a backup, "
        "or move it away and rebuild it (`hashlens sync …`); use another --db meanwhile"
    )


@contextmanager
def _interruptible(path: str | None = None) -> Iterator[None]:
    """Ctrl-C during a DuckDB call stays Ctrl-C: DuckDB turns it into its own errors ("Query
    interrupted", or a failed Arrow scan naming KeyboardInterrupt). A damaged store file found
    by a query is said so, naming the file."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        if "KeyboardInterrupt" in text or "interrupted" in text.lower():
            raise KeyboardInterrupt from exc
        damaged = damaged_store(path, exc) if path not in (None, ":memory:") else None
        if damaged is not None:
            raise damaged from None
        raise


class DuckDBBackend:
    """A DuckDB file (or ``:memory:``), with the writer's lock file and reader files beside it."""

    kind = "duckdb"

    def __init__(
        self, path: str, read_only: bool, wait_s: float | None = None, writer: WriterLock | None = None
    ) -> None:
        import duckdb

        self.path = self.display = path
        self.read_only = read_only
        self.lock: WriterLock | None = None
        self._reader_file: Path | None = None
        if path.strip() in ("", "."):
            raise HashlensError("the store path is empty: give a DuckDB file or a postgresql://… URL")
        if path != ":memory:":
            if Path(path).is_dir():
                raise HashlensError(
                    f"the store {path} is a folder: give a DuckDB file (e.g. {Path(path) / 'hashlens.duckdb'})"
                )
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if not read_only and writer is None:
                self.lock = WriterLock(path)
        deadline = time.monotonic() + (wait_s if wait_s is not None else READER_WAIT_S if read_only else WRITER_WAIT_S)
        while True:
            try:
                self.con = duckdb.connect(path, read_only=read_only)
                break
            except duckdb.Error as exc:
                locked = _is_lock_conflict(exc)
                if locked and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                if self.lock is not None:
                    self.lock.release()
                if locked:
                    raise StoreLocked(
                        f"the store {path} is in use by {holder_text(path)}; "
                        "wait for it to finish, stop it, or use another --db"
                    ) from None
                damaged = damaged_store(path, exc)
                if damaged is not None:
                    raise damaged from None
                raise HashlensError(f"cannot open store {path}: {' '.join(str(exc).split())}") from None
        if read_only and path != ":memory:":
            self._reader_file = Path(f"{path}.reader-{os.getpid()}")
            try:
                self._reader_file.write_text(json.dumps({"pid": os.getpid(), "command": command_line()}))
            except OSError:
                self._reader_file = None

    def child(self) -> DuckDBBackend:
        """Another handle on the same connection, for one more thread."""
        other = object.__new__(DuckDBBackend)
        other.path = other.display = self.path
        other.read_only = self.read_only
        other.lock = None
        other._reader_file = None
        other.con = self.con.cursor()
        return other

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with _interruptible(self.path):
            self.con.execute(sql, list(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with _interruptible(self.path):
            return self.con.execute(sql, list(params)).fetchall()

    def numpy(self, sql: str, params: Sequence[Any] = (), bulk: bool = False) -> dict[str, Any]:
        """Columns as numpy arrays, masked where NULL. ``bulk`` (a read of a whole table): run
        as a relation, which DuckDB converts to numpy as it streams, about three times faster
        than a prepared statement's finished result at 80,000 rows (0.6 against 1.7 ms); a
        result of a few hundred rows costs ~0.15 ms more that way, so only bulk reads ask."""
        with _interruptible(self.path):
            if bulk:
                return self.con.sql(sql, params=list(params) or None).fetchnumpy()
            return self.con.execute(sql, list(params)).fetchnumpy()

    def arrow_batches(self, sql: str, batch_rows: int) -> Iterator[Any]:
        """A query's result as Arrow tables of up to ``batch_rows`` rows (DuckDB's own Arrow export)."""
        import pyarrow as pa

        cur = self.con.cursor()
        try:
            reader = cur.sql(sql).to_arrow_reader(batch_rows)
            for batch in reader:
                yield pa.Table.from_batches([batch])
        finally:
            cur.close()

    def ddl(self, sql: str) -> str:
        return sql

    def table_exists(self, name: str) -> bool:
        # Binding the name, not a query of information_schema.tables or duckdb_tables(): on a
        # connection just opened those load every table's catalog entry (6-15 ms, asked on every
        # open of the store), this one name's (0.3 ms). A failed binding leaves an open
        # transaction usable, unlike a failed statement.
        import duckdb

        try:
            self.con.table(name)
        except duckdb.CatalogException:
            return False
        return True

    def insert_arrow(self, table: str, data: Any, columns: Sequence[str], replace: bool) -> None:
        cols = ", ".join(columns)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with _interruptible(self.path):
            self.con.register("_batch", data)
            try:
                self.con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _batch")
            except BaseException:
                # An interrupted insert leaves an aborted transaction, in which unregistering
                # fails too: the first failure is the one to report.
                with suppress(Exception):
                    self.con.unregister("_batch")
                raise
            self.con.unregister("_batch")

    def begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def after_write(self, version: int) -> None:
        """Nothing to announce: DuckDB readers cannot be open beside a writer's batch."""

    def migration_lock(self) -> None:
        """DuckDB has one writer already (its file lock)."""

    def checkpoint(self) -> None:
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        self.con.close()
        if self._reader_file is not None:
            with suppress(OSError):
                self._reader_file.unlink()
            self._reader_file = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None


# -- PostgreSQL -------------------------------------------------------------------------------
def pg_ddl(sql: str) -> str:
    """A migration written for DuckDB in PostgreSQL's types (the only per-backend schema
    difference): no unsigned integers (bits fit BIGINT; the header nonce is 32-bit, so UBIGINT
    fits BIGINT too), NUMERIC for HUGEINT, DOUBLE PRECISION, and ``/`` for integer division."""
    sql = re.sub(r"\bUINTEGER\b", "BIGINT", sql)
    sql = re.sub(r"\bUBIGINT\b", "BIGINT", sql)
    sql = re.sub(r"\bHUGEINT\b", "NUMERIC(39)", sql)
    sql = re.sub(r"\bDOUBLE\b(?!\s+PRECISION)", "DOUBLE PRECISION", sql)
    return sql.replace("//", "/")


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _bytea_as_text(data: Any) -> Any:
    """An Arrow table with its binary columns as PostgreSQL's hex input for BYTEA (``\\x`` and
    two hex digits a byte): Arrow's CSV writer would write the raw bytes."""
    import pyarrow as pa

    for i, field in enumerate(data.schema):
        t = field.type
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            chunks = [_bytea_chunk(c) for c in data.column(i).chunks]
            data = data.set_column(i, field.name, pa.chunked_array(chunks, pa.string()))
    return data


def _bytea_chunk(arr: Any) -> Any:
    """One binary Arrow array as ``\\x…`` strings: with numpy where every value has the same
    length and none is NULL (a run of block hashes), else value by value."""
    import pyarrow as pa

    n = len(arr)
    if n and arr.null_count == 0 and pa.types.is_binary(arr.type):
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
        width = int(offsets[1] - offsets[0])
        if width and bool((np.diff(offsets) == width).all()):
            raw = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[0] + n * width].reshape(n, width)
            text = np.empty((n, 2 + 2 * width), dtype=np.uint8)
            text[:, 0], text[:, 1] = ord("\\"), ord("x")
            text[:, 2::2] = _HEX_DIGITS[raw >> 4]
            text[:, 3::2] = _HEX_DIGITS[raw & 15]
            starts = np.arange(0, (n + 1) * (2 + 2 * width), 2 + 2 * width, dtype=np.int32)
            return pa.StringArray.from_buffers(n, pa.py_buffer(starts), pa.py_buffer(text))
    return pa.array([None if v is None else "\\x" + v.hex() for v in arr.to_pylist()], pa.string())


def _pg_params(sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
    if not params:
        return sql, None
    return sql.replace("%", "%%").replace("?", "%s"), list(params)


def _column(values: Sequence[Any]) -> Any:
    """One result column as DuckDB's ``fetchnumpy`` gives it: an array, masked where NULL."""
    if not values:
        return np.array([], dtype=np.float64)
    if None in values:  # a C-speed scan
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        fill = next((v for v in values if v is not None), 0.0)  # all NULL: zeros, all masked
        return np.ma.masked_array(np.array([fill if v is None else v for v in values]), mask=mask)
    return np.array(values)


_stage_numbers = itertools.count()


class PostgresBackend:
    """One PostgreSQL database through psycopg 3: a session connection (autocommit, explicit
    transactions) and, for more threads, connections from a psycopg_pool pool."""

    kind = "postgresql"

    def __init__(self, url: str, read_only: bool, con: Any = None, pool: Any = None) -> None:
        import psycopg

        self.url = url
        self.place = PgPlace(url)
        self.path = self.display = self.place.display
        self.read_only = read_only
        self._keys: dict[str, list[str]] = {}
        self._pool = pool  # set on a child: its connection goes back to this pool
        self._children_pool: Any = None
        self._follower: Any = None
        self._listener: Any = None
        if con is None:
            try:
                con = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name=command_line())
            except psycopg.OperationalError as exc:
                raise connection_error(self.place, exc) from None
            except psycopg.ProgrammingError as exc:  # a malformed URL
                raise HashlensError(
                    f"--db {self.display}: not a PostgreSQL URL psycopg accepts: {_one_line(exc)}"
                ) from None
        self.con = con
        if read_only:
            self.execute("SET default_transaction_read_only = on")

    # -- errors: every statement goes through here ----------------------------------------
    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        import psycopg
        from psycopg import errors

        q, p = _pg_params(sql, params)
        try:
            return self.con.execute(q, p)
        except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction) as exc:
            if self.read_only and isinstance(exc, errors.ReadOnlySqlTransaction):
                raise StoreReadOnly(f"the store {self.display} is open read-only here: {_one_line(exc)}") from None
            raise StoreReadOnly(
                f"role {self.place.user or '(default)'} may not write to database {self.place.db} on "
                f"{self.place.server} ({_one_line(exc)}): it is a read-only role; write (sync, imports, "
                "migrations) with a role that owns the store, read with this one"
            ) from None
        except psycopg.OperationalError as exc:
            if self.con.closed or self.con.broken:
                raise StoreConnectionLost(
                    f"lost the connection to {self.place.server} (database {self.place.db}): {_one_line(exc)}; "
                    "rerun when the server is back (the store keeps its last whole batch)"
                ) from None
            raise HashlensError(f"{self.place.server}, database {self.place.db}: {_one_line(exc)}") from None
        except psycopg.Error as exc:
            raise HashlensError(f"{self.place.server}, database {self.place.db}: {_one_line(exc)}") from None

    def child(self) -> PostgresBackend:
        """Another connection to the same database (from this store's pool), for one more thread."""
        from psycopg_pool import ConnectionPool

        if self._children_pool is None:
            # Each connection is checked as it is handed out: after a database restart the idle
            # ones are broken, and a reader must get a live one.
            self._children_pool = ConnectionPool(
                self.url,
                min_size=0,
                max_size=16,
                kwargs={"autocommit": True},
                open=True,
                name="hashlens",
                check=ConnectionPool.check_connection,
            )
        return PostgresBackend(self.url, self.read_only, con=self._children_pool.getconn(), pool=self._children_pool)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._run(sql, params).fetchall()
        return rows

    def numpy(self, sql: str, params: Sequence[Any] = (), bulk: bool = False) -> dict[str, Any]:
        """Columns as numpy arrays, masked where NULL, from the fetched rows (``bulk`` changes
        nothing here). (``COPY … TO STDOUT`` parsed by Arrow was measured slower: psycopg
        hands it over one row per message.)"""
        cur = self._run(sql, params)
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return {n: _column(c) for n, c in zip(names, cols, strict=True)}

    def arrow_batches(self, sql: str, batch_rows: int) -> Iterator[Any]:
        """A query's result as Arrow tables of up to ``batch_rows`` rows, streamed from a
        server-side cursor."""
        import psycopg
        import pyarrow as pa

        try:
            with self.con.cursor(name=f"dump_{next(_stage_numbers)}", withhold=True) as cur:
                cur.execute(sql)
                names = [d.name for d in cur.description]
                while rows := cur.fetchmany(batch_rows):
                    cols = zip(*rows, strict=True)
                    yield pa.table({n: pa.array(list(c)) for n, c in zip(names, cols, strict=True)})
        except psycopg.Error as exc:
            raise HashlensError(f"{self.place.server}, database {self.place.db}: {_one_line(exc)}") from None

    def ddl(self, sql: str) -> str:
        return pg_ddl(sql)

    def table_exists(self, name: str) -> bool:
        return bool(self.rows("SELECT to_regclass(?) IS NOT NULL", [name])[0][0])

    def primary_key(self, table: str) -> list[str]:
        if table not in self._keys:
            got = self.rows(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                [table],
            )
            self._keys[table] = [str(c) for (c,) in got]
        return self._keys[table]

    def _copy(self, table: str, data: Any, columns: Sequence[str]) -> None:
        """``COPY table (columns) FROM STDIN``: the Arrow table written as CSV by Arrow's C++
        writer (NULL is an empty unquoted field; strings are quoted, so '' stays '')."""
        import psycopg
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(
            _bytea_as_text(data.select(list(columns))),
            buf,
            pacsv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        cols = ", ".join(columns)
        try:
            with self.con.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
                cp.write(buf.getbuffer())
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreReadOnly(
                f"role {self.place.user or '(default)'} may not write to database {self.place.db} on "
                f"{self.place.server} ({_one_line(exc)}): it is a read-only role; write with a role that owns "
                "the store"
            ) from None
        except psycopg.Error as exc:
            raise HashlensError(f"{self.place.server}, database {self.place.db}: {_one_line(exc)}") from None

    def insert_arrow(self, table: str, data: Any, columns: Sequence[str], replace: bool) -> None:
        keys = self.primary_key(table) if replace else []
        if not keys:
            self._copy(table, data, columns)
            return
        # Insert-or-replace: COPY into a temporary table, then one upsert by the primary key
        # (only the given columns are replaced, as DuckDB's INSERT OR REPLACE does).
        stage = f"_stage_{next(_stage_numbers)}"
        cols = ", ".join(columns)
        self.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA")
        self._copy(stage, data, columns)
        rest = [c for c in columns if c not in keys]
        action = "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in rest) if rest else "DO NOTHING"
        self.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({', '.join(keys)}) {action}"
        )

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if not (self.con.closed or self.con.broken):
            self.execute("ROLLBACK")

    def after_write(self, version: int) -> None:
        """Tell listeners (other API processes) that a write is about to commit; delivered at commit."""
        self.execute("SELECT pg_notify(?, ?)", [COMMIT_CHANNEL, str(version)])

    def migration_lock(self) -> None:
        """One migrating process at a time (N server processes may start on a new database)."""
        self.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK_KEY])

    def checkpoint(self) -> None:
        """Nothing to do: the server owns its write-ahead log."""

    # -- the follower's election and commit notices ------------------------------------------
    def _session(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name=command_line())
        except psycopg.OperationalError as exc:
            raise connection_error(self.place, exc) from None

    def try_follower_lock(self) -> bool:
        if self._follower is not None:
            # Still ours only while its session lives: a dropped connection lost the lock.
            try:
                self._follower.execute("SELECT 1").fetchone()
                return True
            except Exception:
                self.release_follower_lock()
        con = self._session()
        got = bool(con.execute("SELECT pg_try_advisory_lock(%s)", [FOLLOWER_LOCK_KEY]).fetchone()[0])
        if got:
            self._follower = con  # held while this connection lives: the server frees it when we die
        else:
            con.close()
        return got

    def release_follower_lock(self) -> None:
        if self._follower is not None:
            with suppress(Exception):
                self._follower.close()
            self._follower = None

    def wait_for_commit(self, timeout_s: float) -> bool:
        if self._listener is None:
            self._listener = self._session()
            self._listener.execute(f"LISTEN {COMMIT_CHANNEL}")
        return any(True for _ in self._listener.notifies(timeout=timeout_s, stop_after=1))

    def close(self) -> None:
        self.release_follower_lock()
        if self._listener is not None:
            with suppress(Exception):
                self._listener.close()
            self._listener = None
        if self._children_pool is not None:
            self._children_pool.close()
            self._children_pool = None
        if self._pool is not None:
            with suppress(Exception):
                self._pool.putconn(self.con)
            self._pool = None
            return
        with suppress(Exception):
            self.con.close()


Backend = DuckDBBackend | PostgresBackend


def open_backend(
    path: str | Path, read_only: bool, wait_s: float | None = None, writer: WriterLock | None = None
) -> Backend:
    """The backend a ``--db`` value names: ``postgresql://…`` a server, anything else a DuckDB file."""
    target = normalise_target(path)
    if is_postgres(target):
        return PostgresBackend(target, read_only)
    return DuckDBBackend(target, read_only, wait_s, writer)
