"""PostgreSQL as the store: a whole-store copy both ways, the follower's election surviving a
kill -9, commit notices and the data version across processes, and one-line errors for a bad
server, password, database, role or schema version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from hashlens.chain.sync import sync
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.store.dump import DATA_TABLES
from tests.conftest import free_port
from tests.facts import chain_folder_counts
from tests.pg import PgServer

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hashlens", *args], capture_output=True, text=True, timeout=300)


def digests(target: str | Path) -> dict[str, tuple[int, str]]:
    with Store(target, read_only=True) as s:
        return {t: (d.rows, d.sha256) for t in DATA_TABLES for d in [s.table_digest(t)]}


# -- store copy: DuckDB -> PostgreSQL -> DuckDB ---------------------------------------------------
def test_store_copy_round_trips_the_full_shared_data(
    full_db: Path, pg_server: PgServer, tmp_path: Path, data_dir: Path
) -> None:
    pg = pg_server.url(pg_server.new_db())
    back = tmp_path / "back.duckdb"
    t0 = time.monotonic()
    proc = cli("store", "copy", str(full_db), pg, "--json")
    to_pg_s = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    there = json.loads(proc.stdout)
    proc = cli("store", "copy", pg, str(back), "--json")
    assert proc.returncode == 0, proc.stderr
    home = json.loads(proc.stdout)
    assert there["equal"] and home["equal"] and [t["table"] for t in there["tables"]] == list(DATA_TABLES)
    # Every table, hashed on each side after each copy: DuckDB == PostgreSQL == DuckDB again.
    for a, b in zip(there["tables"], home["tables"], strict=True):
        assert a["source_sha256"] == a["dest_sha256"] == b["source_sha256"] == b["dest_sha256"], a["table"]
        assert a["source_rows"] == b["dest_rows"] > 0, a["table"]
    rows = {t["table"]: t["source_rows"] for t in there["tables"]}
    counted = chain_folder_counts(data_dir)  # the shared chain folder, counted from its files
    assert rows["blocks"] == counted.blocks and rows["block_stats"] == counted.block_stats == 80118
    # The analytics give the same figures on either engine (arrays from both, computed once).
    from hashlens.economics.daily import hashprice_series, latest_day
    from hashlens.weekly.asof import summary_on

    def figures(store: Store) -> str:
        summary = summary_on(store, paths=200).to_json()
        day = latest_day(store)
        series = hashprice_series(store, day - timedelta(days=60), day).to_json()
        return json.dumps([summary, series], default=str, sort_keys=True)

    with Store(pg, read_only=True) as p, Store(full_db, read_only=True) as d:
        assert figures(p) == figures(d)
    print(f"\nstore copy of the full shared data DuckDB -> PostgreSQL: {to_pg_s:.1f} s (CLI, verified)")
    # A destination with data is refused in one line; --replace overwrites it whole.
    proc = cli("store", "copy", str(full_db), pg)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "already holds" in proc.stderr and "--replace" in proc.stderr and "Traceback" not in proc.stderr
    small = tmp_path / "small.duckdb"
    with Store(small) as s:
        sync(s, str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
    proc = cli("store", "copy", str(small), pg, "--replace", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["equal"], proc.stderr
    assert digests(pg) == digests(small)


# -- the follower: elected by an advisory lock, replaced when killed ------------------------------
FOLLOWER = """
import sys
from hashlens.chain.sync import sync
from hashlens.store import Store

s = Store(sys.argv[1])
print("leader" if s.try_follower_lock() else "not leader", flush=True)
sync(s, sys.argv[2], batch_rows=4000)
print("done", flush=True)
"""


def test_a_killed_follower_is_replaced_and_the_store_stays_whole(
    pg_server: PgServer, data_dir: Path, tmp_path: Path
) -> None:
    url = pg_server.url(pg_server.new_db())
    stats = str(data_dir / "chain/blockstats-btc-rpc-data.csv.gz")
    follower = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, url, stats],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HASHLENS_SYNC_TRACE": "1"},
    )
    assert follower.stdout is not None and follower.stderr is not None
    assert follower.stdout.readline().strip() == "leader"
    with Store(url, read_only=True) as reader:
        version0 = reader.data_version()
        with Store(url) as standby:
            assert not standby.try_follower_lock()  # one follower at a time
            committed = 0
            for line in follower.stderr:
                if line.startswith("trace: committed"):
                    committed += 1
                    if committed == 3:
                        follower.send_signal(signal.SIGKILL)
                        break
            follower.wait(timeout=60)
            assert follower.returncode == -signal.SIGKILL
            # The server frees a dead session's advisory lock: the standby takes over.
            deadline = time.monotonic() + 10
            while not standby.try_follower_lock():
                assert time.monotonic() < deadline, "the dead follower's lock was not released"
                time.sleep(0.1)
            partial = standby.counts()["block_stats"]
            # whole batches only, not all of the file's rows
            assert partial % 4000 == 0 and 3 * 4000 <= partial < chain_folder_counts(data_dir).block_stats
            assert reader.data_version() > version0  # every committed batch moved the version
            sync(standby, stats, batch_rows=4000)
            # The same store as one uninterrupted import into DuckDB.
            with Store() as whole:
                sync(whole, stats, batch_rows=4000)
                for table, cols in (("blocks", ["height", "hash", "time"]), ("block_stats", None)):
                    assert standby.table_contents(table, cols) == whole.table_contents(table, cols)


def test_commits_reach_listeners_in_other_processes(pg_server: PgServer, data_dir: Path) -> None:
    url = pg_server.url(pg_server.new_db())
    with Store(url) as s, Store(url, read_only=True) as reader:
        before = reader.data_version()
        assert not reader.wait_for_commit(0.2)  # nothing written yet (and the LISTEN is set up)
        writer = subprocess.run(
            [sys.executable, "-m", "hashlens", "--db", url, "sync", str(data_dir / "chain/stale-blocks-head-2026.csv")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert writer.returncode == 0, writer.stderr
        assert reader.wait_for_commit(5.0)
        assert reader.data_version() > before
        assert s.counts()["stale_blocks"] == reader.counts()["stale_blocks"] > 0


# -- bad input: one line naming the server, the database or the role, and the fix ----------------
def one_line(url: str, *args: str) -> tuple[int, str]:
    proc = cli("--db", url, *args)
    err = proc.stderr
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return proc.returncode, err


def test_unreachable_wrong_password_and_missing_database(pg_server: PgServer, data_dir: Path) -> None:
    f = str(data_dir / "chain/electrum-mainnet-checkpoints.json")
    port = free_port()
    code, err = one_line(f"postgresql://postgres@127.0.0.1:{port}/hashlens", "sync", f)
    assert code == 2 and f"cannot reach PostgreSQL at 127.0.0.1:{port}" in err and "start it" in err
    db = pg_server.new_db()
    code, err = one_line(pg_server.tcp_url(db, password="not-the-password"), "sync", f)
    assert code == 2 and "refused the password of role postgres" in err and db in err
    assert "not-the-password" not in err  # a password is never echoed
    code, err = one_line(pg_server.url("no_such_db"), "sync", f)
    assert code == 2 and "has no database no_such_db" in err and "createdb no_such_db" in err
    # The right password over TCP works.
    with Store(pg_server.tcp_url(db)) as s:
        assert s.counts()["periods"] == 0


def test_a_read_only_role_reads_but_cannot_write(pg_server: PgServer, data_dir: Path) -> None:
    from hashlens.store import db as store_db

    db = pg_server.new_db()
    with Store(pg_server.url(db)) as s:
        sync(s, str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
        periods = s.counts()["periods"]
    pg_server.sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN CREATE ROLE reader LOGIN; END IF; END $$"
    )
    pg_server.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader", db=db)
    reader = pg_server.url(db, user="reader")
    with Store(reader) as r:  # the schema is current: nothing to write on opening
        assert r.counts()["periods"] == periods
        with pytest.raises(HashlensError, match=f"role reader may not write to database {db}"):
            sync(r, str(data_dir / "chain/stale-blocks-head-2026.csv"))
        assert r.counts()["stale_blocks"] == 0
    code, err = one_line(reader, "sync", str(data_dir / "chain/stale-blocks-head-2026.csv"))
    assert code in (2, 4) and "role reader may not write" in err and "read-only role" in err
    # A store of an older schema cannot be upgraded by that role: said so, in one line.
    old = pg_server.new_db()
    real = store_db.MIGRATIONS
    store_db.MIGRATIONS = real[:5]
    try:
        Store(pg_server.url(old)).close()
    finally:
        store_db.MIGRATIONS = real
    pg_server.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader", db=old)
    code, err = one_line(pg_server.url(old, user="reader"), "sync", str(data_dir / "chain/stale-blocks-head-2026.csv"))
    assert f"schema version 5, older than this hashlens ({len(real)})" in err and "cannot be upgraded" in err


def test_migration_8_keeps_a_reader_s_grants(pg_server: PgServer, data_dir: Path) -> None:
    """Block hashes become bytes in place on PostgreSQL: a role granted SELECT on the tables
    before the upgrade still reads them after it, hashes as the file names them."""
    from hashlens.store import db as store_db

    db = pg_server.new_db()
    real = store_db.MIGRATIONS
    store_db.MIGRATIONS = real[:7]
    try:
        with Store(pg_server.url(db)) as s:
            s._execute(
                "INSERT INTO blocks (height, hash, time, source) VALUES (?, ?, ?, 'v7')",
                [880000, "000000000000000000010b17283c3c400507969a9c2afd1dcf2082ec5cca2880", 1737337343],
            )
    finally:
        store_db.MIGRATIONS = real
    pg_server.sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN CREATE ROLE reader LOGIN; END IF; END $$"
    )
    pg_server.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader", db=db)
    with Store(pg_server.url(db)) as owner:  # the owner upgrades
        assert owner.schema_version() == len(real)
    with Store(pg_server.url(db, user="reader")) as r:
        assert r.block_hash(880000) == "000000000000000000010b17283c3c400507969a9c2afd1dcf2082ec5cca2880"


def test_a_newer_schema_is_refused(pg_server: PgServer, data_dir: Path) -> None:
    url = pg_server.url(pg_server.new_db())
    with Store(url) as s:
        s._execute("INSERT INTO schema_version VALUES (99)")
    code, err = one_line(url, "sync", str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
    assert code == 2 and "schema version 99, newer than this hashlens" in err and "upgrade hashlens" in err


def test_the_server_reads_on_after_the_database_restarts(full_db: Path) -> None:
    """The pool's idle connections break when PostgreSQL restarts; the server checks each as it
    takes it and answers, instead of failing reads until it is restarted itself."""
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app
    from tests.pg import own_server_with

    with own_server_with(full_db, "restart") as (server, url):
        client = TestClient(create_app(url))
        first = client.get("/v1/hashprice", params={"date": "2025-06-01"})
        assert first.status_code == 200
        for d in range(1, 5):  # the pool keeps the connections these reads used
            assert (
                client.get("/v1/hashprice", params={"date": f"2025-05-{d:02d}", "btc_price_usd": 50_000}).status_code
                == 200
            )
        server.stop_only()
        server.start_again()
        # Uncached reads (a store read each): the pool's old connections are broken and replaced.
        for d in range(1, 7):
            r = client.get("/v1/hashprice", params={"date": f"2025-07-{d:02d}", "btc_price_usd": 50_000})
            assert r.status_code == 200, r.text
        assert client.get("/v1/hashprice", params={"date": "2025-06-01"}).json() == first.json()
        client.app.state.holder.close()  # type: ignore[attr-defined]


def test_hashes_go_to_copy_as_postgresql_hex(data_dir: Path) -> None:
    """COPY's text for BYTEA: the fast path for a run of equal-length hashes (as the sync writes
    them, here sliced) gives what each value's own ``\\x`` + hex gives; NULLs and odd lengths
    take the value-by-value path."""
    import pyarrow as pa

    from hashlens.store.backend import _bytea_as_text

    rows = [line.split(",") for line in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]]
    hashes = pa.array([bytes.fromhex(r[1]) for r in rows] * 50, pa.binary()).slice(3, 300)
    mixed = pa.array([bytes.fromhex(rows[0][1]), None, b"", b"\x00\xff"], pa.binary())
    out = _bytea_as_text(pa.table({"h": hashes}))
    assert out.column("h").to_pylist() == ["\\x" + v.hex() for v in hashes.to_pylist()]
    out = _bytea_as_text(pa.table({"m": pa.chunked_array([mixed, hashes.slice(0, 4)])}))
    assert out.column("m").to_pylist() == [
        "\\x" + rows[0][1],
        None,
        "\\x",
        "\\x00ff",
        *("\\x" + v.hex() for v in hashes.slice(0, 4).to_pylist()),
    ]
