"""Importing the shared chain data: resumable, idempotent, and refusing bad input whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hashlens.chain.sync import sync, verify_retargets
from hashlens.consensus import BlockHeader
from hashlens.errors import HashlensError
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.store import Store

TABLES = {
    "blocks": "SELECT * FROM blocks ORDER BY height",
    "periods": "SELECT * FROM periods ORDER BY period",
    "block_stats": "SELECT * FROM block_stats ORDER BY height",
    "stale_blocks": "SELECT * FROM stale_blocks ORDER BY hash",
}


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with Store(path, read_only=True) as s:
        return {name: s.rows(sql) for name, sql in TABLES.items()}


@pytest.fixture(scope="module")
def full_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("store") / "full.duckdb"
    with Store(path) as s:
        sync(s, str(data_dir / "chain"))
    return path


def test_full_import_and_idempotent_rerun(full_store: Path, data_dir: Path) -> None:
    with Store(full_store) as s:
        assert s.counts() == {"blocks": 80528, "periods": 480, "block_stats": 80118, "stale_blocks": 36, "prices": 0}
        assert verify_retargets(s) == 37
        before = {n: s.rows(q) for n, q in TABLES.items()}
        again = sync(s, str(data_dir / "chain"))
        assert sum(r.added for r in again) == 0
        assert {n: s.rows(q) for n, q in TABLES.items()} == before
        # Headers from bitcoinj and block rows from the stats file meet: same hash where both exist.
        both = s.scalar("SELECT count(*) FROM blocks WHERE prev_hash IS NOT NULL AND height < 15000")
        assert both == 7
        # Chain work of every stored block is exact: it matches bitcoinj's own figure at each checkpoint.
        cw = dict(s.rows("SELECT height, chainwork FROM block_chainwork"))
        for cp in read_bitcoinj(data_dir / "chain/bitcoinj-mainnet-checkpoints.txt"):
            assert int(cw[cp.height]) == cp.chainwork, cp.height
        assert s.counts()["blocks"] == len(cw)


def hashlens(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hashlens", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_killed_import_resumes_to_the_same_store(tmp_path: Path, data_dir: Path, full_store: Path) -> None:
    db = tmp_path / "killed.duckdb"
    proc = hashlens(
        "--db",
        str(db),
        "sync",
        str(data_dir / "chain"),
        "--batch-rows",
        "4000",
        "--json",
        env={"HASHLENS_SYNC_TRACE": "1"},
    )
    assert proc.stderr is not None
    committed = 0
    for line in proc.stderr:
        if "block rows" in line:
            committed += 1
            if committed == 5:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with Store(db, read_only=True) as s:
        partial = s.counts()["block_stats"]
    assert 5 * 4000 <= partial < 80118  # whole batches only, and not finished
    rerun = hashlens("--db", str(db), "sync", str(data_dir / "chain"), "--json")
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert snapshot(db) == snapshot(full_store)
    print(f"\nkilled after {partial} block rows; rerun completed to an identical store")


def test_exception_midway_leaves_the_last_whole_batch(tmp_path: Path, data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hashlens.store import db as store_db

    calls = {"n": 0}
    real = store_db.Store.insert_arrow

    def flaky(self, table, data, columns):  # type: ignore[no-untyped-def]
        if table == "block_stats":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk full (simulated)")
        return real(self, table, data, columns)

    monkeypatch.setattr(store_db.Store, "insert_arrow", flaky)
    with Store(tmp_path / "x.duckdb") as s:
        with pytest.raises(OSError):
            sync(s, str(data_dir / "chain/blockstats-btc-rpc-data.csv.gz"), batch_rows=10000)
        assert s.counts()["block_stats"] == 20000
        assert s.scalar("SELECT count(*) FROM blocks") == 20000  # the failed batch wrote nothing


# -- bad input: one-line errors naming the place, nothing stored changes ------------------
def stale_headers(data_dir: Path) -> dict[int, bytes]:
    rows = (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]
    return {int(r.split(",")[0]): bytes.fromhex(r.split(",")[2]) for r in rows}


def run_cli_fails(db: Path, *args: str) -> str:
    before = snapshot(db)
    proc = hashlens("--db", str(db), "sync", *args)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert snapshot(db) == before
    return err


@pytest.fixture
def store_copy(tmp_path: Path, full_store: Path) -> Path:
    dst = tmp_path / "copy.duckdb"
    dst.write_bytes(full_store.read_bytes())
    return dst


def test_truncated_header_file(store_copy: Path, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "headers.bin"
    f.write_bytes(b"".join(st[h] for h in range(961632, 961636)) + st[961636][:50])
    err = run_cli_fails(store_copy, str(f), "--start-height", "961632")
    assert "header 5 is truncated" in err


def test_wrong_prev_hash(store_copy: Path, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "gap.bin"
    f.write_bytes(st[961632] + st[961634])
    err = run_cli_fails(store_copy, str(f), "--start-height", "961632")
    assert "height 961633" in err and "prev hash" in err


def test_bits_breaking_the_retarget_rule(store_copy: Path, data_dir: Path, tmp_path: Path) -> None:
    # The real header of block 2016 (difficulty 1) offered as the first block of period 480.
    cp = (data_dir / "chain/bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()[3]
    import base64

    raw = base64.b64decode(cp)[16:]
    assert BlockHeader.parse(raw).check_proof_of_work()
    f = tmp_path / "h.csv"
    f.write_text(f"height,header\n967680,{raw.hex()}\n")
    err = run_cli_fails(store_copy, str(f))
    assert "height 967680" in err and "more than 4x" in err


def test_stored_bits_that_break_the_exact_rule_are_named(store_copy: Path) -> None:
    with Store(store_copy) as s:
        s.con.execute("UPDATE periods SET bits = bits + 1 WHERE period = 463")
        with pytest.raises(
            HashlensError, match="height 933408: stored bits 0x1701fca2 but the retarget rule gives 0x1701fca1"
        ):
            verify_retargets(s)


def test_csv_missing_column(store_copy: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("height,version,prev_hash,time,bits\n1,1,00,0,1d00ffff\n")
    err = run_cli_fails(store_copy, str(f))
    assert "missing column(s) merkle_root, nonce" in err


def test_csv_bad_row_names_the_line(store_copy: Path, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "bad_row.csv"
    f.write_text(f"height,header\n961632,{st[961632].hex()}\n961633,{st[961633].hex()[:-4]}\n")
    err = run_cli_fails(store_copy, str(f))
    assert "line 3" in err and "80 bytes" in err


def test_unknown_file(store_copy: Path, tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    assert "not a chain data format" in run_cli_fails(store_copy, str(f))


def test_migrations_upgrade_and_refuse_newer(tmp_path: Path) -> None:
    from hashlens.store import db as store_db

    p = tmp_path / "m.duckdb"
    first_only = store_db.MIGRATIONS[:1]
    real = store_db.MIGRATIONS
    store_db.MIGRATIONS = first_only
    try:
        with Store(p) as s:
            assert s.schema_version() == 1
    finally:
        store_db.MIGRATIONS = real
    with Store(p) as s:
        assert s.schema_version() == len(real)
        assert s.scalar("SELECT count(*) FROM period_work") == 0
        s.con.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(HashlensError, match="newer than this hashlens"):
        Store(p)


def test_parquet_and_csv_header_files(tmp_path: Path, data_dir: Path) -> None:
    """Real stale-chain headers as Parquet (fields) and CSV (hex), placed by their height column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    st = stale_headers(data_dir)
    hs = [BlockHeader.parse(st[h]) for h in range(961632, 961640)]
    pq.write_table(
        pa.table(
            {
                "height": list(range(961632, 961640)),
                "version": [h.version for h in hs],
                "prev_hash": [h.prev_hash_hex for h in hs],
                "merkle_root": [h.merkle_root[::-1].hex() for h in hs],
                "time": [h.time for h in hs],
                "bits": [h.bits for h in hs],
                "nonce": [h.nonce for h in hs],
            }
        ),
        tmp_path / "h.parquet",
    )
    with Store() as a, Store() as b:
        assert sync(a, str(tmp_path / "h.parquet"))[0].added == 8
        (tmp_path / "h.csv").write_text(
            "height,header\n" + "".join(f"{h},{st[h].hex()}\n" for h in range(961632, 961640))
        )
        assert sync(b, str(tmp_path / "h.csv"))[0].added == 8
        q = "SELECT height, hash, prev_hash, merkle_root, time, bits, nonce FROM blocks ORDER BY height"
        assert a.rows(q) == b.rows(q)


def test_bundled_snapshot_matches_the_shared_data(full_store: Path, tmp_path: Path) -> None:
    """The snapshot shipped in the package is the shared chain's period facts, exactly."""
    from hashlens.report.build import build_report

    with Store(tmp_path / "snap.duckdb") as snap, Store(full_store, read_only=True) as full:
        sync(snap, "snapshot")
        q = "SELECT period, start_height, bits, target_hex, last_block_hash FROM periods WHERE period < 474 ORDER BY period"
        assert snap.rows(q) == full.rows(q)
        q = (
            "SELECT height, hash, prev_hash, merkle_root, time, bits, nonce FROM blocks "
            "WHERE prev_hash IS NOT NULL ORDER BY height"
        )
        assert snap.rows(q) == full.rows(q)
        assert verify_retargets(snap) == 0  # no consecutive first/last times: nothing to recompute
        # Offline, the report still covers the chain-only sections (USD figures need --price).
        r = build_report(snap, tmp_path / "report", price=90000.0, paths=300)
        md = r.markdown_path.read_text()
        assert "no per-block data" in md
        for section in (
            "## Difficulty",
            "## Hashrate",
            "## Hashprice",
            "## Cost to mine",
            "## Which machines",
            "## Halving countdown",
        ):
            assert section in md
