"""`Store.table_contents`: a data table whole, in a fixed order, through the store's public
reads (the tests compare stores with it instead of writing SQL). Runs on both backends.
Expected rows are read from the shared stale-blocks file here, with the csv module."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hashlens.chain.sync import sync
from hashlens.store import Store
from hashlens.store.dump import DATA_TABLES


def stale_file(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "chain/stale-blocks-head-2026.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_table_contents_is_the_whole_table_in_key_order(data_dir: Path, new_store: Callable[[], Store]) -> None:
    rows = stale_file(data_dir)
    with new_store() as s:
        sync(s, str(data_dir / "chain/stale-blocks-head-2026.csv"))
        # Every row of the file, sorted by the table's key (its first column, the hash).
        got = s.table_contents("stale_blocks", ["hash", "height", "header"])
        assert got == sorted((r["hash"], int(r["height"]), r["header"]) for r in rows)
        # All columns by default, in schema order.
        whole = s.table_contents("stale_blocks")
        assert [r[:3] for r in whole] == got and len(whole[0]) == len(s.table_columns("stale_blocks"))
        # The periods inferred from the stale blocks: one per period the file reaches, each with
        # the bits of its blocks' headers (bytes 72-75, little-endian), lowest period first.
        bits = {int(r["height"]) // 2016: int.from_bytes(bytes.fromhex(r["header"])[72:76], "little") for r in rows}
        assert s.table_contents("periods", ["period", "bits"]) == sorted(bits.items())
        # Columns in the order asked for, sorted by them left to right.
        assert s.table_contents("periods", ["bits", "period"]) == sorted((b, p) for p, b in bits.items())


def test_table_contents_refuses_what_the_schema_does_not_have(new_store: Callable[[], Store]) -> None:
    with new_store() as s:
        with pytest.raises(ValueError, match="not a data table"):
            s.table_contents("blocks; DROP TABLE blocks")
        with pytest.raises(ValueError, match=r"no column.*nope"):
            s.table_contents("blocks", ["height", "nope"])
        with pytest.raises(ValueError, match="none named"):
            s.table_contents("blocks", [])
        assert s.table_contents("blocks") == []


def test_the_data_tables_are_every_table_the_migrations_leave() -> None:
    """DATA_TABLES (what table_contents, table_digest and `store copy` cover) names every table
    the migrations create and do not drop, but the store's own version table: read from the
    migrations' SQL text, so a new table left out of the list fails here."""
    from hashlens.store.db import MIGRATIONS

    tables: list[str] = []
    for step in MIGRATIONS:
        sql = step if isinstance(step, str) else step["duckdb"]
        for verb, a, b in re.findall(
            r"(CREATE TABLE|DROP TABLE(?: IF EXISTS)?|ALTER TABLE)\s+(\w+)(?:\s+RENAME TO\s+(\w+))?", sql
        ):
            if verb == "CREATE TABLE":
                tables.append(a)
            elif verb.startswith("DROP"):
                tables = [t for t in tables if t != a]
            elif b:
                tables = [b if t == a else t for t in tables]
    assert sorted(set(tables) - {"store_version"}) == sorted(DATA_TABLES)
