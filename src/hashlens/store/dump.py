"""A store's tables as data: read in batches, appended, and summed up by a content hash that
both backends compute the same way (for ``hashlens store copy``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hashlens.store.db import Database

#: Every table of data in the schema (schema_version and store_version belong to the store itself).
DATA_TABLES = (
    "blocks",
    "periods",
    "block_stats",
    "stale_blocks",
    "prices",
    "miner_reports",
    "miner_treasuries",
    "miner_facts",
    "miner_results",
    "sync_log",
    "pool_sources",
    "pool_blocks",
    "pool_days",
    "block_coinbases",
    "pool_rules",
)


@dataclass(frozen=True)
class TableDigest:
    """A table's row count and the SHA-256 of its rows in canonical text (:func:`canonical_row`),
    sorted as text so that neither engine's collation nor row order matters."""

    table: str
    rows: int
    sha256: str


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def canonical_value(value: Any) -> str:
    """One value as text that is the same whichever engine returned it: integers in decimal
    (an integral NUMERIC too), floats by Python's shortest round-trip repr, dates and times in
    ISO 8601, bytes in hex, NULL as ``\\N``; tabs, newlines and backslashes in text escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value).translate(_ESCAPES)


#: Fast paths of :func:`canonical_value` for a column whose values all have one type.
_BY_TYPE: dict[type, Any] = {int: str, float: repr, str: lambda v: v.translate(_ESCAPES), bytes: bytes.hex}


def canonical_column(values: Sequence[Any]) -> list[str]:
    """:func:`canonical_value` of every value of one column (one type per column: a fast path)."""
    kinds = {type(v) for v in values if v is not None}
    f = _BY_TYPE.get(kinds.pop(), canonical_value) if len(kinds) == 1 else canonical_value
    return ["\\N" if v is None else f(v) for v in values]


def canonical_row(row: tuple[Any, ...]) -> str:
    return "\t".join(canonical_value(v) for v in row)


def canonical_lines(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """:func:`canonical_row` of every row, computed column by column, sorted as text."""
    if not rows:
        return []
    cols = [canonical_column(c) for c in zip(*rows, strict=True)]
    return sorted("\t".join(r) for r in zip(*cols, strict=True))


class DumpQueries(Database):
    """Whole tables, for moving a store between backends and for comparing two stores."""

    def table_columns(self, table: str) -> list[str]:
        """The table's columns in schema order."""
        got = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return [str(c) for (c,) in got]

    def table_rows(self, table: str) -> int:
        """How many rows the table holds."""
        return int(self._scalar(f"SELECT count(*) FROM {table}"))

    def table_contents(self, table: str, columns: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        """Every row of one data table, whole, in a fixed order: for comparing two stores (a
        resumed import against an uninterrupted one, a store before and after a refused write,
        DuckDB against PostgreSQL) and for exporting a small table.

        Parameters
        ----------
        table : one of :data:`DATA_TABLES`
        columns : the columns to return, in this order (default: all, in schema order)

        Returns
        -------
        One tuple per row, values as the engine returns them (block hashes as their 32 bytes),
        sorted by the returned columns left to right, NULL last (so the tables whose key leads,
        such as blocks, periods, block_stats, stale_blocks and prices, come in key order). Text
        sorts by the engine's collation. The whole table is read into memory;
        :meth:`table_batches` streams a large one.

        Raises
        ------
        ValueError : a table or column the schema does not have (a caller's bug)
        """
        if table not in DATA_TABLES:
            raise ValueError(f"{table!r} is not a data table of the store ({', '.join(DATA_TABLES)})")
        known = self.table_columns(table)
        cols = list(known if columns is None else columns)
        unknown = [c for c in cols if c not in known]
        if unknown or not cols:
            raise ValueError(
                f"table {table} has no column(s) {', '.join(unknown) or '(none named)'}: it has {', '.join(known)}"
            )
        order = ", ".join(f"{i} NULLS LAST" for i in range(1, len(cols) + 1))
        return self._rows(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}")

    def data_rows(self) -> int:
        """Rows in all data tables (0: an empty store)."""
        return sum(self.table_rows(t) for t in DATA_TABLES)

    def table_batches(self, table: str, batch_rows: int) -> Iterator[Any]:
        """The table as Arrow tables of up to ``batch_rows`` rows, columns in schema order."""
        cols = ", ".join(self.table_columns(table))
        yield from self._db.arrow_batches(f"SELECT {cols} FROM {table}", batch_rows)

    def append_batch(self, table: str, batch: Any) -> None:
        """Insert an Arrow batch read by :meth:`table_batches` (inside the caller's transaction)."""
        self._insert_arrow(table, batch, batch.column_names, replace=False)

    def clear_data(self) -> None:
        """Delete every data row (inside the caller's transaction)."""
        for t in DATA_TABLES:
            self._execute(f"DELETE FROM {t}")

    def table_digest(self, table: str) -> TableDigest:
        """Row count and content hash of one table (:class:`TableDigest`)."""
        cols = ", ".join(self.table_columns(table))
        lines = canonical_lines(self._rows(f"SELECT {cols} FROM {table}"))
        h = hashlib.sha256()
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
        return TableDigest(table, len(lines), h.hexdigest())


__all__ = [
    "DATA_TABLES",
    "DumpQueries",
    "TableDigest",
    "canonical_column",
    "canonical_lines",
    "canonical_row",
    "canonical_value",
]
