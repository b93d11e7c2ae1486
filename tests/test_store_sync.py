"""Importing the shared chain data: resumable, idempotent, and refusing bad input whole.

The tests that take ``stores``/``backend`` (directly or through ``full_store``/``store_copy``)
run on both backends: a DuckDB file and a PostgreSQL database on the suite's own server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashlens.chain.sync import sync, verify_retargets
from hashlens.consensus import BlockHeader, block_work
from hashlens.errors import HashlensError
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.store import Store
from hashlens.store.dump import DATA_TABLES
from hashlens.store.sync import KnownBlock, PeriodRow, TimedBlocks
from tests.facts import (
    SharedChain,
    bitcoinj_file_headers,
    blockstats_file_rows,
    chain_folder_counts,
    checkable_retargets,
    electrum_file_entries,
    sha256d_hex,
)
from tests.pg import Stores
from tests.replay import ReplayChain, ReplayServer

#: The chain tables a sync writes (every column, in key order: Store.table_contents).
TABLES = ("blocks", "periods", "block_stats", "stale_blocks")


def chain_tables(s: Store) -> dict[str, list[tuple[object, ...]]]:
    return {name: s.table_contents(name) for name in TABLES}


def snapshot(path: Path | str) -> dict[str, list[tuple[object, ...]]]:
    with Store(path, read_only=True) as s:
        return chain_tables(s)


@pytest.fixture(scope="module")
def full_store(stores: Stores, data_dir: Path) -> str:
    path = stores.new("full")
    with Store(path) as s:
        sync(s, str(data_dir / "chain"))
    return path


@pytest.mark.slow
def test_full_import_and_idempotent_rerun(full_store: str, data_dir: Path) -> None:
    # Every count is derived from the files (tests/facts.py); the literals are PROVENANCE.md's.
    counted = chain_folder_counts(data_dir)
    assert counted.block_stats == 80118 and counted.stale_blocks == 36 and counted.period_start_headers == 436
    with Store(full_store) as s:
        assert s.counts() == counted.table_counts()
        assert verify_retargets(s) == len(counted.retargets_checkable)
        before = chain_tables(s)
        again = sync(s, str(data_dir / "chain"))
        assert sum(r.added for r in again) == 0
        assert chain_tables(s) == before
        # Headers from bitcoinj and block rows from the stats file meet: the 2009 window holds a
        # full header at each of its period starts (2016 .. 14,112), with the stats file's hash.
        stats = blockstats_file_rows(data_dir)
        headers = s.header_hashes(0, 14_999)
        assert headers == {h: sha256d_hex(raw) for h, raw in bitcoinj_file_headers(data_dir).items() if h <= 14_999}
        assert len(headers) == 14_999 // 2016 and all(stats[h][0] == x for h, x in headers.items())
        # The stored period targets give exact chain work: bitcoinj's own figure at each checkpoint
        # (blocks 0 .. 2016k inclusive: 2016 blocks of every earlier period, one of period k).
        periods = s.table_contents("periods", ["period", "target_hex"])
        assert [p for p, _ in periods] == list(range(counted.periods))
        targets = [int(str(t), 16) for _, t in periods]
        work_before = [0]
        for t in targets:
            work_before.append(work_before[-1] + 2016 * block_work(t))
        for cp in read_bitcoinj(data_dir / "chain/bitcoinj-mainnet-checkpoints.txt"):
            k = cp.height // 2016
            assert work_before[k] + block_work(targets[k]) == cp.chainwork, cp.height


def _default_sigint() -> None:
    # A background job's children start with SIGINT ignored; a user's terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def hashlens(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hashlens", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=_default_sigint,
    )


@pytest.mark.slow
def test_killed_import_resumes_to_the_same_store(stores: Stores, data_dir: Path, full_store: str) -> None:
    db = stores.new("killed")
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
    assert 5 * 4000 <= partial < chain_folder_counts(data_dir).block_stats  # whole batches only, not finished
    rerun = hashlens("--db", str(db), "sync", str(data_dir / "chain"), "--json")
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert snapshot(db) == snapshot(full_store)
    print(f"\nkilled after {partial} block rows; rerun completed to an identical store")


def test_exception_midway_leaves_the_last_whole_batch(stores: Stores, data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hashlens.store import db as store_db

    calls = {"n": 0}
    real = store_db.Database._insert_arrow

    def flaky(self, table, data, columns, replace=True):  # type: ignore[no-untyped-def]
        if table == "block_stats":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk full (simulated)")
        return real(self, table, data, columns, replace)

    monkeypatch.setattr(store_db.Database, "_insert_arrow", flaky)
    with Store(stores.new()) as s:
        with pytest.raises(OSError):
            sync(s, str(data_dir / "chain/blockstats-btc-rpc-data.csv.gz"), batch_rows=10000)
        assert s.counts()["block_stats"] == 20000
        assert s.counts()["blocks"] == 20000  # the failed batch wrote nothing


# -- bad input: one-line errors naming the place, nothing stored changes ------------------
def stale_headers(data_dir: Path) -> dict[int, bytes]:
    rows = (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]
    return {int(r.split(",")[0]): bytes.fromhex(r.split(",")[2]) for r in rows}


def run_cli_fails(db: Path | str, *args: str) -> str:
    before = snapshot(db)
    proc = hashlens("--db", str(db), "sync", *args)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err  # bad input: one line, exit 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert snapshot(db) == before
    return err


@pytest.fixture
def store_copy(stores: Stores, full_store: str) -> str:
    return stores.clone(full_store)


def test_truncated_header_file(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "headers.bin"
    f.write_bytes(b"".join(st[h] for h in range(961632, 961636)) + st[961636][:50])
    err = run_cli_fails(store_copy, str(f), "--start-height", "961632")
    assert "header 5 is truncated" in err


@pytest.mark.slow
def test_wrong_prev_hash(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "gap.bin"
    f.write_bytes(st[961632] + st[961634])
    err = run_cli_fails(store_copy, str(f), "--start-height", "961632")
    assert "height 961633" in err and "prev hash" in err


def block_2016_header(data_dir: Path) -> bytes:
    """The real header of block 2016 (difficulty 1), from the bitcoinj checkpoints."""
    import base64

    cp = (data_dir / "chain/bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()[3]
    raw = base64.b64decode(cp)[16:]
    assert BlockHeader.parse(raw).check_proof_of_work()
    return raw


def test_bits_breaking_the_retarget_rule(stores: Stores, data_dir: Path, tmp_path: Path) -> None:
    # A store knowing only the stale blocks' periods (474-479) and no block of 2009: the real
    # header of block 2016 (difficulty 1) offered as the first block of period 480.
    db = stores.new("retarget")
    with Store(db) as s:
        sync(s, str(data_dir / "chain/stale-blocks-head-2026.csv"))
    f = tmp_path / "h.csv"
    f.write_text(f"height,header\n967680,{block_2016_header(data_dir).hex()}\n")
    err = run_cli_fails(db, str(f))
    assert "height 967680" in err and "more than 4x" in err


def test_a_real_header_at_a_wrong_height_is_refused(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    # On the shared chain's store the same header is stored at 2016 (bitcoinj's checkpoint), and
    # the parent it names is Electrum's last block of period 0 (2015): it is block 2016.
    raw = block_2016_header(data_dir)
    assert BlockHeader.parse(raw).prev_hash_hex == electrum_last_hashes(data_dir)[0]
    f = tmp_path / "h.csv"
    f.write_text(f"height,header\n967680,{raw.hex()}\n")
    err = run_cli_fails(store_copy, str(f))
    assert f"height 967680): block {BlockHeader.parse(raw).hash_hex} is stored at height 2016" in err


def test_stored_bits_that_break_the_exact_rule_are_named(store_copy: str) -> None:
    with Store(store_copy) as s:
        # Period 463's row rewritten through the store's own writer with its bits one higher.
        fact = s.period_facts()[463]
        s.insert_periods([PeriodRow(463, 463 * 2016, fact.bits + 1, fact.last_block_hash, fact.source)], "test", "test")
        with pytest.raises(
            HashlensError, match="height 933408: stored bits 0x1701fca2 but the retarget rule gives 0x1701fca1"
        ):
            verify_retargets(s)


def test_csv_missing_column(store_copy: str, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("height,version,prev_hash,time,bits\n1,1,00,0,1d00ffff\n")
    err = run_cli_fails(store_copy, str(f))
    assert "missing column(s) merkle_root, nonce" in err


def test_csv_bad_row_names_the_line(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    st = stale_headers(data_dir)
    f = tmp_path / "bad_row.csv"
    f.write_text(f"height,header\n961632,{st[961632].hex()}\n961633,{st[961633].hex()[:-4]}\n")
    err = run_cli_fails(store_copy, str(f))
    assert "line 3" in err and "80 bytes" in err


def test_unknown_file(store_copy: str, tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    assert "not a chain data format" in run_cli_fails(store_copy, str(f))


def test_migrations_upgrade_and_refuse_newer(stores: Stores, data_dir: Path) -> None:
    from hashlens.store import db as store_db

    p = stores.new("m")
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
        # 5 dropped the derived period_work table; 6 lets a block row hold a time without a hash
        # (block 1's time from the stats file, stored with no hash, read back as such).
        assert s.table_columns("period_work") == [] and "hash" in s.table_columns("blocks")
        t1 = blockstats_file_rows(data_dir)[1][1]
        s.insert_block_times(TimedBlocks(np.array([1]), [None], np.array([t1])), "test", "test", "test")
        assert s.known_blocks(1, 1) == [KnownBlock(1, None, t1, None)]
        s._execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(HashlensError, match="newer than this hashlens"):
        Store(p)


def test_migration_8_keeps_every_hash(stores: Stores, data_dir: Path) -> None:
    """A store written before hashes were bytes (schema 7: 64 hex characters) is upgraded with
    every hash, previous hash and merkle root intact, and a NULL hash stays NULL."""
    import csv

    from hashlens.store import db as store_db

    with open(data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv", newline="") as fh:
        verified = list(csv.DictReader(fh))
    stats = sorted(blockstats_file_rows(data_dir).items())[-50:]
    p = stores.new("m8")
    real = store_db.MIGRATIONS
    store_db.MIGRATIONS = real[:7]
    try:
        with Store(p) as s, s.transaction():
            for r in verified:
                raw = bytes.fromhex(r["header_hex"])
                merkle = raw[36:68][::-1].hex()  # display order, as schema 7 kept it
                s._execute(
                    "INSERT INTO blocks (height, hash, prev_hash, version, merkle_root, time, bits, nonce, source) "
                    "VALUES (?, ?, ?, 1, ?, ?, ?, 0, 'v7')",
                    [int(r["height"]), r["hash"], r["prev_hash"], merkle, int(r["time"]), int(r["bits"], 16)],
                )
            for h, (x, t) in stats:
                s._execute("INSERT INTO blocks (height, hash, time, source) VALUES (?, ?, ?, 'v7')", [h, x, t])
            s._execute("INSERT INTO blocks (height, time, source) VALUES (1, 1231469665, 'v7')")
    finally:
        store_db.MIGRATIONS = real
    with Store(p) as s:
        assert s.schema_version() == len(real) >= 8
        stored = s.table_contents("blocks", ["height", "hash", "prev_hash", "merkle_root"])
        for r in verified:
            raw = bytes.fromhex(r["header_hex"])
            got = [row[1:] for row in stored if row[0] == int(r["height"])]
            assert [tuple(bytes(v) for v in row) for row in got] == [
                (bytes.fromhex(r["hash"]), bytes.fromhex(r["prev_hash"]), raw[36:68][::-1])
            ]
            assert s.block_hash(int(r["height"])) == r["hash"]
        for h, (x, _) in stats:
            assert s.block_hash(h) == x
        assert s.known_blocks(1, 1) == [KnownBlock(1, None, 1231469665, None)]
        # The upgraded rows are the ones a sync of the same file would write: nothing conflicts.
        assert sync(s, str(data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv"))[0].added == 0


def test_parquet_and_csv_header_files(tmp_path: Path, data_dir: Path, new_store: Callable[[], Store]) -> None:
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
    with new_store() as a, new_store() as b:
        assert sync(a, str(tmp_path / "h.parquet"))[0].added == 8
        (tmp_path / "h.csv").write_text(
            "height,header\n" + "".join(f"{h},{st[h].hex()}\n" for h in range(961632, 961640))
        )
        assert sync(b, str(tmp_path / "h.csv"))[0].added == 8
        cols = ["height", "hash", "prev_hash", "merkle_root", "time", "bits", "nonce"]
        assert a.table_contents("blocks", cols) == b.table_contents("blocks", cols)


def test_bundled_snapshot_matches_the_shared_data(
    full_store: str, stores: Stores, tmp_path: Path, data_dir: Path
) -> None:
    """The snapshot shipped in the package is the shared chain's period facts, exactly."""
    from hashlens.report.build import build_report

    with Store(stores.new("snap")) as snap, Store(full_store, read_only=True) as full:
        sync(snap, "snapshot")
        # Electrum's periods (0 .. one per entry); the stale-inferred ones above are not bundled.
        electrum = len(electrum_file_entries(data_dir)) + 1
        cols = ["period", "start_height", "bits", "target_hex", "last_block_hash"]
        assert [r for r in snap.table_contents("periods", cols) if r[0] < electrum] == [
            r for r in full.table_contents("periods", cols) if r[0] < electrum
        ]
        cols = ["height", "hash", "prev_hash", "merkle_root", "time", "bits", "nonce"]
        assert [r for r in snap.table_contents("blocks", cols) if r[2] is not None] == [
            r for r in full.table_contents("blocks", cols) if r[2] is not None
        ]
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


# -- roll-back, boundary times, verified headers: expected values read from the files -------
def electrum_last_hashes(data_dir: Path) -> list[str]:
    """Entry i of the Electrum file: hash of block 2016 i + 2015."""
    return [h for h, _ in electrum_file_entries(data_dir)]


def boundary_times(data_dir: Path) -> dict[int, int]:
    """height -> time of every first and last block the boundary-times file gives."""
    import csv

    out = {}
    with open(data_dir / "chain-extra/period-boundary-times-2025-2026.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["start_time"]:
                out[int(r["period_start"])] = int(r["start_time"])
            if r["last_time"]:
                out[int(r["last_height"])] = int(r["last_time"])
    return out


def every_table(s: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table of the store (DATA_TABLES, checked against the migrations
    in test_store_contents), in a fixed order."""
    return {t: s.table_contents(t) for t in DATA_TABLES}


@pytest.mark.parametrize("mode", ["headers", "periods"])
def test_a_reorganisation_changes_no_row_outside_the_replaced_blocks(
    store_copy: str, data_dir: Path, shared_chain: SharedChain, mode: str
) -> None:
    """On the shared chain's store, a competing branch is stored above a fork; a node on the
    real chain then offers less work (lost: every table unchanged), then more (won: only the
    replaced blocks' rows differ, and the log gains its two rows). ``headers``: the real run
    961,632-961,637 against three relinked copies of its headers (nonce changed) above
    961,633; the stale-inferred periods 478 and 479 lie above the node's tip. ``periods``:
    the real period-start headers of periods 431-436 against the same headers with 4x easier
    targets, inside Electrum's periods, the block stats' rows and the stale-inferred periods,
    all above the fork."""
    import dataclasses

    from tests.test_remote_sync import periods_chain, relinked, stale_run, with_target_scaled

    known = periods_chain(shared_chain)
    run = stale_run(data_dir)
    chain = ReplayChain(
        hashes={**known.hashes, **{h: x.hash_hex for h, x in run.items()}},
        headers={**known.headers, **{x.hash_hex: x.serialize() for x in run.values()}},
        tip=961633,
    )
    with ReplayServer(chain) as node, Store(store_copy) as s:
        if mode == "headers":
            sync(s, node.rpc_url, start_height=961632, fee_blocks=0)
            fork, replaced, lost_tip, won_tip = 961633, range(961634, 961637), 961635, 961637
            branch = relinked([run[h] for h in replaced], run[961633].hash_hex, nonce=0)
        else:
            by_height = {cp.height: cp.header for cp in shared_chain.checkpoints}
            fork, replaced = 430 * 2016, range(431 * 2016, 437 * 2016, 2016)
            lost_tip, won_tip = 431 * 2016 + 5, 436 * 2016
            branch = [
                dataclasses.replace(by_height[h], bits=with_target_scaled(by_height[h].bits, 4, 1)) for h in replaced
            ]
        s.insert_headers([(h, x, x.hash_hex) for h, x in zip(replaced, branch, strict=True)], "another branch", "t")
        before = every_table(s)
        # Electrum's periods, the stale-inferred ones, per-block rows
        assert len(before["periods"]) == chain_folder_counts(data_dir).periods and before["block_stats"]
        kw = {"periods_only": mode == "periods", "fee_blocks": 0}

        chain.tip = lost_tip
        with pytest.raises(HashlensError, match=f"reorganisation refused.*above height {fork}"):
            sync(s, node.rpc_url, **kw)  # type: ignore[arg-type]
        assert every_table(s) == before

        chain.tip = won_tip
        report = sync(s, node.rpc_url, **kw)[0]  # type: ignore[arg-type]
        assert any(f"rolled back {len(replaced)} block(s) above height {fork}" in n for n in report.notes)
        after = every_table(s)
        new_heights = set(range(fork + 1, won_tip + 1)) if mode == "headers" else set(replaced)
        for name, rows in before.items():
            if name == "blocks":
                # Rows at other heights are the same rows; at the replaced heights, the node's blocks.
                keep = lambda rs: [r for r in rs if r[0] not in set(replaced) | new_heights]  # noqa: E731
                assert keep(after["blocks"]) == keep(rows)
                got = {int(r[0]): bytes(r[1]).hex() for r in after["blocks"] if r[0] in new_heights}
                assert got == {h: chain.hashes[h] for h in new_heights}
            elif name == "sync_log":
                assert [r for r in after[name] if r not in rows] and all(r in after[name] for r in rows)
                assert len(after[name]) == len(rows) + 2  # the roll-back and the node's headers
            else:
                assert after[name] == rows, name
        print(f"\n{mode}: a won reorganisation at {fork} changed {len(new_heights)} block rows and nothing else")


def test_boundary_times_make_more_retargets_checkable(store_copy: str, data_dir: Path) -> None:
    times = boundary_times(data_dir)
    counted = chain_folder_counts(data_dir)
    timed_before = set(counted.block_stats_heights | counted.header_heights)
    with Store(store_copy) as s:
        before = checkable_retargets(timed_before, set(counted.periods_set))
        after = checkable_retargets(timed_before | set(times), set(counted.periods_set))
        assert verify_retargets(s) == len(before)
        reports = sync(s, str(data_dir / "chain-extra"))
        assert reports[0].added == len(set(times) - timed_before)
        for h, t in times.items():
            assert s.block_time(h) == t, h
        # Every newly checkable retarget recomputes to the stored (Electrum) bits, or this raises.
        assert verify_retargets(s) == len(after)
        assert len(after - before) == len(after) - len(before) > 0
        print(f"\n{len(after - before)} retargets newly checkable from the boundary times, {len(after)} in all")
        # A time-only row has no hash; hash readers fall back to the period's last-block hash.
        assert s.known_blocks(939455, 939455) == [KnownBlock(939455, None, times[939455], None)]
        assert s.block_hash(939455) == electrum_last_hashes(data_dir)[939455 // 2016]
        again = sync(s, str(data_dir / "chain-extra"))
        assert sum(r.added for r in again) == 0


def test_boundary_time_disagreeing_with_the_store_is_refused(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    text = (data_dir / "chain-extra/period-boundary-times-2025-2026.csv").read_text()
    stats = blockstats_file_rows(data_dir)
    t = stats[911232][1]
    assert f"911232,{t}," in text  # the file agrees with the block stats here ...
    f = tmp_path / "times.csv"
    f.write_text(text.replace(f"911232,{t},", f"911232,{t + 1},"))  # ... the copy does not
    err = run_cli_fails(store_copy, str(f))
    assert "height 911232" in err and str(t) in err


@pytest.mark.slow
def test_verified_headers_import(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    import csv
    import hashlib

    src = data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv"
    with open(src, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # the file's own claim, checked without hashlens
        raw = bytes.fromhex(r["header_hex"])
        assert hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex() == r["hash"]
    # A header that does not hash to the named hash is refused, naming its height.
    bad = tmp_path / "verified.csv"
    victim = rows[2]
    wrong = victim["hash"][:-1] + ("0" if victim["hash"][-1] != "0" else "1")
    bad.write_text(src.read_text().replace(victim["hash"], wrong, 1))
    err = run_cli_fails(store_copy, str(bad))
    assert f"height {victim['height']}" in err and "hashes to" in err
    stats = blockstats_file_rows(data_dir)
    with Store(store_copy) as s:
        assert sync(s, str(src))[0].added == len(rows)
        headers = s.header_heights()
        for r in rows:
            h = int(r["height"])
            # a full header at h, with the file's hash (display hex), time and bits
            assert h in headers
            assert s.known_blocks(h, h) == [KnownBlock(h, r["hash"], int(r["time"]), int(r["bits"], 16))]
            if h in stats:  # where the block stats know the block, they agree (same hash, same time)
                assert stats[h] == (r["hash"], int(r["time"]))


def test_contextual_check_is_pure(data_dir: Path) -> None:
    """The header rules need only four lookups: a plain object, no store."""
    from hashlens.consensus.contextual import check_header

    st = {h: BlockHeader.parse(raw) for h, raw in stale_headers(data_dir).items()}

    class Known:
        def __init__(self, hashes: dict[int, str], bits: int) -> None:
            self.hashes, self.bits = hashes, bits

        def hash_at(self, h: int) -> str | None:
            return self.hashes.get(h)

        def time_at(self, h: int) -> int | None:
            return None

        def bits_at(self, h: int) -> int | None:
            return self.bits

        def period_bits(self, p: int) -> int | None:
            return self.bits

    a, b = st[961632], st[961633]
    ctx = Known({961632: a.hash_hex}, a.bits)
    assert check_header(ctx, 961633, b, "here").hash == b.hash_hex
    with pytest.raises(HashlensError, match=r"here \(height 961633\): prev hash"):
        check_header(Known({961632: b.hash_hex}, a.bits), 961633, b, "here")
    # A context whose period bits differ: proof of work passes (own bits), the period rule does not.
    with pytest.raises(HashlensError, match=f"bits 0x{b.bits:08x} but period {961633 // 2016} has bits"):
        check_header(Known({961632: a.hash_hex}, b.bits + 1), 961633, b, "here")


# -- Core's rules through sync; bounds; environment failures ----------------------------------
def test_negative_start_height_is_one_error(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "one.bin"
    f.write_bytes(stale_headers(data_dir)[961632])
    err = run_cli_fails(store_copy, str(f), "--start-height", "-100")
    assert "--start-height -100 is negative" in err


@pytest.mark.slow
def test_absurd_height_column_is_one_error(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    raw = stale_headers(data_dir)[961632]
    f = tmp_path / "far.csv"
    f.write_text(f"height,header\n{10**15},{raw.hex()}\n")
    err = run_cli_fails(store_copy, str(f))
    assert f"height {10**15} is above" in err
    # Past any 64-bit integer, in a height column or as --start-height (the fuzzer's cases).
    f.write_text(f"height,header\n{10**30},{raw.hex()}\n")
    assert f"line 2: height {10**30} is above 2147483647" in run_cli_fails(store_copy, str(f))
    one = tmp_path / "one.bin"
    one.write_bytes(raw)
    assert f"--start-height {2**70} is above 2147483647" in run_cli_fails(
        store_copy, str(one), "--start-height", str(2**70)
    )


def verified_row(data_dir: Path, height: int) -> dict[str, str]:
    import csv

    with open(data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv", newline="") as fh:
        return next(r for r in csv.DictReader(fh) if int(r["height"]) == height)


@pytest.mark.slow
def test_one_block_is_never_stored_at_two_heights(
    stores: Stores, full_store: str, data_dir: Path, tmp_path: Path
) -> None:
    """The review's reproducer: a `height,header` CSV naming real block 944,183 at 944,190."""
    row = verified_row(data_dir, 944183)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"height,header\n944190,{row['header_hex']}\n")
    verified = data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv"
    # The store as hashlens fills it (the shared chain, its extras): the block is at 944,183.
    filled = stores.clone(full_store)
    with Store(filled) as s:
        sync(s, str(data_dir / "chain-extra"))
        assert s.block_hash(944183) == row["hash"]
    err = run_cli_fails(filled, str(wrong))
    assert f"(height 944190): block {row['hash']} is stored at height 944183; a block has one height" in err
    # The other order, on the chain folder's store alone: nothing there places 944,183 (no
    # parent, child or time of 2026-04 is stored), so the file's height stands alone and is
    # noted; the checkpoint file's own placement at 944,183 is then refused, never stored twice.
    alone = stores.clone(full_store)
    with Store(alone) as s:
        report = sync(s, str(wrong))[0]
        assert report.added == 1 and any("1 header(s) placed by the file's heights alone" in n for n in report.notes)
    err = run_cli_fails(alone, str(verified))
    assert f"(height 944183): block {row['hash']} is stored at height 944190" in err
    with Store(alone, read_only=True) as s:
        assert [(h, x) for h, x, _ in s.blocks_by_hash([row["hash"]]) if x == row["hash"]] == [(944190, row["hash"])]


def test_a_height_far_above_the_stored_times_is_refused(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    """Block 944,183 claimed at height 2^31 - 1: the shared chain's block stats give the median
    time past at 934,576; by the header's own time the chain can be at most this much higher
    (the median rises at least 1 s every 6 blocks), computed here from the file."""
    import gzip

    row = verified_row(data_dir, 944183)
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        import csv as _csv

        times = {int(r["height"]): int(r["time"]) for r in _csv.DictReader(fh) if int(r["height"]) >= 934565}
    mtp = sorted(times[h] for h in range(934565, 934576))[5]  # median of the 11 blocks below 934,576
    ceiling = 934576 + 6 * (int(row["time"]) - 1 - mtp) + 5
    assert 944183 < ceiling < 2**31 - 1
    f = tmp_path / "far.csv"
    f.write_text(f"height,header\n{2**31 - 1},{row['header_hex']}\n")
    err = run_cli_fails(store_copy, str(f))
    assert f"(height {2**31 - 1}): a header with time {row['time']} can be at most block {ceiling}" in err


def test_a_header_placed_alone_far_up_does_not_block_node_syncs(
    data_dir: Path, tmp_path: Path, new_store: Callable[[], Store]
) -> None:
    """On a store without block times nothing bounds a lone header's height: block 944,183
    at 2^31 - 1 is stored as the file says. It links to nothing, so it is no branch: node syncs
    below it go on (it used to refuse every later sync as a reorganisation with less work)."""
    from tests.test_remote_sync import run_chain

    row = verified_row(data_dir, 944183)
    f = tmp_path / "far.csv"
    f.write_text(f"height,header\n{2**31 - 1},{row['header_hex']}\n")
    chain = run_chain(data_dir)
    with new_store() as s, ReplayServer(chain) as node:
        # The stale blocks' periods (to 479, height 967,679) as the store knows them: above a
        # fork they made a branch reaching 2^31 - 1 weigh thousands of blocks.
        sync(s, str(data_dir / "chain/stale-blocks-head-2026.csv"))
        assert sync(s, str(f))[0].added == 1
        chain.tip = 961637
        assert sync(s, node.rpc_url, start_height=961632, fee_blocks=0)[0].added == 6
        chain.tip = 961639
        assert sync(s, node.rpc_url, fee_blocks=0)[0].added == 2
        assert s.header_hashes(961632, 961639) == {h: chain.hashes[h] for h in range(961632, 961640)}


def test_links_place_a_header(data_dir: Path, tmp_path: Path, new_store: Callable[[], Store]) -> None:
    """A stored parent or child fixes a header's height; a file naming one height twice is refused."""
    st = stale_headers(data_dir)
    with new_store() as s:
        one = tmp_path / "one.csv"
        one.write_text(f"height,header\n961633,{st[961633].hex()}\n")
        sync(s, str(one))
        child = tmp_path / "child.csv"  # 961,632's header, which 961,633 (stored) names as parent
        child.write_text(f"height,header\n961630,{st[961632].hex()}\n")
        with pytest.raises(
            HashlensError,
            match="the stored block at height 961633 names it as parent, so it is block 961632, not 961630",
        ):
            sync(s, str(child))
        parent = tmp_path / "parent.csv"  # 961,634's header, whose parent 961,633 is stored
        parent.write_text(f"height,header\n961640,{st[961634].hex()}\n")
        with pytest.raises(
            HashlensError, match=r"its parent .* is stored as block 961633, so it is block 961634, not 961640"
        ):
            sync(s, str(parent))
        twice = tmp_path / "twice.csv"
        twice.write_text(f"height,header\n961636,{st[961636].hex()}\n961636,{st[961637].hex()}\n")
        with pytest.raises(
            HashlensError, match=r"line 3 \(height 961636\): a second header for this height \(the first: .*line 2\)"
        ):
            sync(s, str(twice))
        inside = tmp_path / "inside.csv"  # within one file: 961,635 names 961,634, given at 961,620
        inside.write_text(f"height,header\n961620,{st[961634].hex()}\n961635,{st[961635].hex()}\n")
        with pytest.raises(
            HashlensError, match=r"its parent .* is at height 961620 .*so it is block 961621, not 961635"
        ):
            sync(s, str(inside))
        assert s.counts()["blocks"] == 1


def test_time_too_new_against_the_sync_clock(data_dir: Path, new_store: Callable[[], Store]) -> None:
    src = data_dir / "chain-extra/verified-mainnet-headers-2025-2026.csv"
    import csv

    rows = list(csv.DictReader(src.open(newline="")))
    newest = max(rows, key=lambda r: int(r["time"]))
    with new_store() as s:
        with pytest.raises(HashlensError, match=rf"height {newest['height']}.*rule time-too-new"):
            sync(s, str(src), now=int(newest["time"]) - 2 * 3600 - 1)
        assert s.counts()["blocks"] == 0
        report = sync(s, str(src), now=int(newest["time"]) - 2 * 3600)[0]
        # These five headers lie far apart: no 11 previous times are stored for any of them.
        assert any(
            "time-too-old (median time past) not checkable" in n and f"({len(rows)} header(s))" in n
            for n in report.notes
        )


def test_block_stats_disagreeing_with_stored_stats_are_refused(
    tmp_path: Path, data_dir: Path, new_store: Callable[[], Store]
) -> None:
    import gzip

    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        lines = [next(fh) for _ in range(31)]
    first = tmp_path / "a.csv"
    first.write_text("".join(lines))
    cols = lines[0].strip().split(",")
    fee = cols.index("totalfee")
    cells = lines[20].strip().split(",")
    cells[fee] = str(int(cells[fee]) + 1)
    other = tmp_path / "b.csv"
    other.write_text("".join(lines[:20]) + ",".join(cells) + "\n" + "".join(lines[21:]))
    height = cells[cols.index("height")]
    with new_store() as s:
        sync(s, str(first))
        before = chain_tables(s)
        with pytest.raises(
            HashlensError, match=rf"1 height\(s\) already stored with different block stats \(first {height}: totalfee"
        ):
            sync(s, str(other))
        assert chain_tables(s) == before
        assert sync(s, str(first))[0].skipped == 30  # the same rows again: agree, skipped


def test_truncated_gzip_is_one_error_not_an_abort(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    whole = (data_dir / "chain/blockstats-btc-rpc-data.csv.gz").read_bytes()
    for cut in (30, 200_000):
        f = tmp_path / f"cut{cut}.csv.gz"
        f.write_bytes(whole[:cut])
        proc = hashlens("--db", str(store_copy), "sync", str(f))
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and err.count("\n") == 1 and "truncated" in err, err


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a small tmpfs")
def test_disk_full_and_read_only_store_have_their_own_exit(tmp_path: Path, data_dir: Path) -> None:
    full = tmp_path / "full"
    if not _mount_tmpfs(full, "3m"):
        pytest.skip("cannot mount tmpfs here")
    try:
        proc = hashlens("--db", str(full / "s.duckdb"), "sync", str(data_dir / "chain/blockstats-btc-rpc-data.csv.gz"))
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 3 and err.count("\n") == 1 and err.startswith("error: disk full"), err
    finally:
        subprocess.run(["umount", "-l", str(full)], check=False)
    ro = tmp_path / "ro"
    if not _mount_tmpfs(ro, "20m"):
        pytest.skip("cannot mount tmpfs here")
    try:
        proc = hashlens("--db", str(ro / "s.duckdb"), "sync", str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
        assert proc.wait(timeout=120) == 0
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        proc = hashlens("--db", str(ro / "s.duckdb"), "sync", str(data_dir / "chain/stale-blocks-head-2026.csv"))
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 4 and err.count("\n") == 1 and "read-only" in err, err
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_disk_full_injected_has_its_own_exit(tmp_path: Path, data_dir: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import errno

    from hashlens.cli.app import main
    from hashlens.store.db import Database

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Database, "_insert_arrow", full)
    db = tmp_path / "s.duckdb"
    with pytest.raises(SystemExit) as e:
        main(["--db", str(db), "sync", str(data_dir / "chain/electrum-mainnet-checkpoints.json")])
    err = capsys.readouterr().err
    assert e.value.code == 3 and err.count("\n") == 1 and err.startswith("error: disk full"), err
    monkeypatch.undo()
    with Store(db) as s:
        assert s.counts()["periods"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("holder", ["sync", "serve"])
def test_a_locked_store_names_its_holder(tmp_path: Path, data_dir: Path, holder: str) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).close()
    code = (
        f"import sys, time; sys.argv = ['hashlens', {holder!r}, 'x']\n"
        "from hashlens.store import Store\n"
        f"s = Store({str(db)!r}, read_only={holder == 'serve'})\n"
        "print('open', flush=True); time.sleep(60)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        proc = hashlens("--db", str(db), "sync", str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 5 and err.count("\n") == 1, err
        assert f"in use by process {other.pid} (`hashlens {holder} x`)" in err
    finally:
        other.kill()
        other.wait()


def test_ctrl_c_has_its_own_exit(tmp_path: Path, data_dir: Path) -> None:

    proc = hashlens(
        "--db",
        str(tmp_path / "s.duckdb"),
        "sync",
        str(data_dir / "chain/blockstats-btc-rpc-data.csv.gz"),
        "--batch-rows",
        "2000",
        env={"HASHLENS_SYNC_TRACE": "1"},
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("trace: committed"):
            break
    proc.send_signal(signal.SIGINT)
    _out, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "error: interrupted"


@pytest.mark.parametrize(("column", "value"), [("txs", "3000000000"), ("total_weight", "4000001")])
def test_block_stats_beyond_what_a_block_holds_are_one_line(
    tmp_path: Path, data_dir: Path, column: str, value: str
) -> None:
    """A transaction count or weight no block can have (found by the large fuzz run: a count past
    32 bits was an exit 1 with no place named)."""
    import csv
    import gzip

    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt", newline="") as fh:
        rows = [row for _, row in zip(range(4), csv.reader(fh), strict=False)]
    rows[2][rows[0].index(column)] = value
    f = tmp_path / "stats.csv"
    with f.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    proc = hashlens("--db", str(tmp_path / "s.duckdb"), "sync", str(f))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert f"height 1: {column} {int(value):,} is outside 0 … " in err and str(f) in err


# -- the 2026 folder: per-block times of February-March 2026, headers of September 2026 ----------
def compact_truncated(target: int) -> int:
    """A target as compact encoding keeps it, by hand: its three most significant bytes (one
    byte fewer where the third would read as a sign)."""
    size = (target.bit_length() + 7) // 8
    shift = 8 * max(size - 3, 0)
    if (target >> shift) & 0x800000:
        shift += 8
    return (target >> shift) << shift


@pytest.mark.slow
def test_chain_2026_joins_the_automatic_fill(store_copy: str, data_dir: Path) -> None:
    """`sync_shared_data` reads chain/, chain-extra/ and chain-2026/: every block time of the
    file is stored (as the file gives it), so the storm week's periods (935,424 and 937,440)
    have per-block times; the retargets at 937,440, 939,456 and 941,472 recompute, by hand here,
    from these times to Electrum's targets; the four September headers are stored."""
    import csv
    import json

    from hashlens.chain.sync import sync_shared_data
    from hashlens.sources.detect import BLOCK_TIMES, VERIFIED_HEADERS, detect_format

    folder = data_dir / "chain-2026"
    times_file = folder / "block-times-934576-942199.csv"
    headers_file = folder / "mainnet-headers-2026-09.csv"
    assert detect_format(times_file) == BLOCK_TIMES and detect_format(headers_file) == VERIFIED_HEADERS
    with open(times_file, newline="") as fh:
        file_times = {int(r["height"]): int(r["time"]) for r in csv.DictReader(fh)}
    assert len(file_times) == 7624 and min(file_times) == 934576 and max(file_times) == 942199
    electrum = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
    target_of = lambda p: int(electrum[p - 1][1])  # noqa: E731  (entry p-1 holds period p's target)
    for start in (937440, 939456, 941472):
        span = file_times[start - 1] - file_times[start - 2016]
        span = min(max(span, 1209600 // 4), 1209600 * 4)
        want = compact_truncated(target_of(start // 2016 - 1) * span // 1209600)
        assert want == target_of(start // 2016), start
    with open(headers_file, newline="") as fh:
        september = {int(r["height"]): r["hash"] for r in csv.DictReader(fh)}
    with Store(store_copy) as s:
        reports = sync_shared_data(s, data_dir)
        kinds = [r.kind for r in reports]
        assert kinds.index("period-boundary-times-csv") < kinds.index(BLOCK_TIMES)
        stored = s.times_at(file_times)
        assert stored == file_times
        for start in (935424, 937440):  # the storm week's two periods, block by block
            assert all(stored[h] is not None for h in range(start, start + 2016))
        for start in (937440, 939456, 941472):
            assert s.period_bits(start // 2016) is not None
            assert decode_bits(s.period_bits(start // 2016)) == target_of(start // 2016)
        assert verify_retargets(s) >= 3
        assert s.header_hashes(965004, 967571) == september
        again = sync(s, str(folder))
        assert sum(r.added for r in again) == 0


def decode_bits(bits: int | None) -> int:
    assert bits is not None
    return (bits & 0x7FFFFF) << (8 * ((bits >> 24) - 3))


@pytest.mark.slow
def test_block_times_are_checked_before_anything_is_stored(store_copy: str, data_dir: Path, tmp_path: Path) -> None:
    """A time at or below the median of the 11 before it (consensus refuses such a block), or one
    differing from the boundary-times file's, refuses the file whole on one line."""
    lines = (data_dir / "chain-2026/block-times-934576-942199.csv").read_text().splitlines()
    times = {int(h): int(t) for h, t in (line.split(",") for line in lines[1:])}
    with Store(store_copy) as s:
        sync(s, str(data_dir / "chain-extra"))
    # Height 936,000 (line 1,426): its time set to the median of the 11 blocks below it.
    h = 936000
    mtp = sorted(times[x] for x in range(h - 11, h))[5]
    i = lines.index(f"{h},{times[h]}")
    bad = tmp_path / "too-old.csv"
    bad.write_text("\n".join([*lines[:i], f"{h},{mtp}", *lines[i + 1 :]]) + "\n")
    err = run_cli_fails(store_copy, str(bad))
    assert f"line {i + 1} (height {h}): time {mtp} is not above {mtp}" in err and "time-too-old" in err
    # 937,440 starts a period: the boundary-times file has its time.
    h = 937440
    i = lines.index(f"{h},{times[h]}")
    other = tmp_path / "other.csv"
    other.write_text("\n".join([*lines[:i], f"{h},{times[h] + 1}", *lines[i + 1 :]]) + "\n")
    err = run_cli_fails(store_copy, str(other))
    assert f"(height {h}): time {times[h] + 1} but the store has {times[h]}" in err
