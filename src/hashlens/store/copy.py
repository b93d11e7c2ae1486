"""Moving a whole store between backends (DuckDB <-> PostgreSQL, or file to file), verified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hashlens.errors import HashlensError
from hashlens.store.backend import normalise_target
from hashlens.store.dump import DATA_TABLES


@dataclass(frozen=True)
class TableCopy:
    """One table copied: rows and content hash (:class:`~hashlens.store.dump.TableDigest`) on
    each side, both computed after the copy committed."""

    table: str
    source_rows: int
    dest_rows: int
    source_sha256: str
    dest_sha256: str

    @property
    def equal(self) -> bool:
        return self.source_rows == self.dest_rows and self.source_sha256 == self.dest_sha256


@dataclass(frozen=True)
class StoreCopy:
    source: str  # display form (no password)
    dest: str
    tables: list[TableCopy]
    seconds: float  # copy and verification [s]

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


def copy_store(
    src: str | Path,
    dst: str | Path,
    replace: bool = False,
    batch_rows: int = 50_000,
    progress: Callable[[str, int], None] | None = None,
) -> StoreCopy:
    """Copy every data table of ``src`` into ``dst`` in one transaction, then compare row
    counts and content hashes table by table.

    ``dst`` is created and migrated if new; a ``dst`` holding data is refused unless
    ``replace`` (its rows are then deleted in the same transaction). ``progress(table, rows)``
    is called after each batch. The source must have this hashlens's schema version.
    """
    import time

    from hashlens.store import Store
    from hashlens.store.db import MIGRATIONS

    if batch_rows < 1:
        raise HashlensError(f"--batch-rows {batch_rows} must be at least 1")
    if normalise_target(src) == normalise_target(dst):
        raise HashlensError(f"store copy: source and destination are the same store ({src}); name another DST")
    if not normalise_target(src).startswith("postgres") and not Path(normalise_target(src)).exists():
        raise HashlensError(f"store copy: the source store {src} does not exist; name an existing store as SRC")
    start = time.monotonic()
    with Store(src, read_only=True) as s:
        version = s.schema_version()
        if version != len(MIGRATIONS):
            raise HashlensError(
                f"store copy: the source store {s.path} has schema version {version}, this hashlens "
                f"{len(MIGRATIONS)}: open it once with this hashlens (any writing command migrates it), then copy"
            )
        with Store(dst) as d:
            held = d.data_rows()
            if held and not replace:
                raise HashlensError(
                    f"store copy: the destination {d.path} already holds {held} rows; "
                    "pass --replace to overwrite it, or name an empty store"
                )
            with d.transaction():
                if held:
                    d.clear_data()
                for table in DATA_TABLES:
                    done = 0
                    for batch in s.table_batches(table, batch_rows):
                        d.append_batch(table, batch)
                        done += batch.num_rows
                        if progress is not None:
                            progress(table, done)
            tables = []
            for table in DATA_TABLES:
                a, b = s.table_digest(table), d.table_digest(table)
                tables.append(TableCopy(table, a.rows, b.rows, a.sha256, b.sha256))
            return StoreCopy(s.path, d.path, tables, time.monotonic() - start)


__all__ = ["StoreCopy", "TableCopy", "copy_store"]
