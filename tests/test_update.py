"""`hashlens update` against loopback servers replaying the shared real data as a mempool
instance's and an Esplora instance's REST API (tests/mempool_replay.py): what each record
proves is what is stored, a source on another chain or answering garbage is refused on one
line with nothing stored lost, and an interrupted run resumes.

Expected values are read from the shared files here (Electrum's targets through the replay's
own compact encoder, bitcoinj's headers, the block-stats rows, the pool labels), never from
hashlens."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hashlens.chain.update import update, update_chain
from hashlens.chain.update_models import DEFAULT_CHAIN_SOURCE, DEFAULT_PRICE_SOURCE, MinedBy, UpdateRequest
from hashlens.errors import HashlensError
from hashlens.sources.mempool_api import bits_of_difficulty
from hashlens.store import Store
from tests.helpers import free_port, run_cli
from tests.mempool_replay import ChainFiles, MempoolReplay, compact, core_difficulty, serve_mempool

#: The columns compared between two stores (all but the sources' names), by table.
TABLES: dict[str, list[str] | None] = {
    "blocks": ["height", "hash", "prev_hash", "version", "merkle_root", "time", "bits", "nonce"],
    "periods": ["period", "start_height", "bits", "last_block_hash"],
    "block_stats": None,  # every column
    "prices": ["day", "currency", "price"],
}


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with Store(path, read_only=True) as s:
        return {name: s.table_contents(name, cols) for name, cols in TABLES.items()}


@pytest.fixture(scope="module")
def files(data_dir: Path) -> ChainFiles:
    return ChainFiles(data_dir)


@pytest.fixture
def replay(files: ChainFiles) -> Iterator[tuple[MempoolReplay, str]]:
    """The replay as of block 942,199 (its last day 2026-03-25) and its API root URL."""
    rp = MempoolReplay(files)
    with serve_mempool(rp) as url:
        yield rp, url


def cli_update(db: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", f"mempool+{url}", *args)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def bitcoinj(data_dir: Path) -> dict[int, bytes]:
    lines = (data_dir / "chain/bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()[3:]
    raws = [base64.b64decode(x) for x in lines if x]
    return {int.from_bytes(r[12:16], "big"): r[16:] for r in raws}


def sha256d_hex(raw: bytes) -> str:
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()


# -- done when: a fresh store, one command, a report of the replay's last day -----------------
@pytest.mark.slow
def test_a_fresh_store_is_brought_to_the_replays_present_and_reported(
    replay: tuple[MempoolReplay, str], data_dir: Path, tmp_path: Path
) -> None:
    _, url = replay
    rows = (data_dir / "chain-2026/block-times-934576-942199.csv").read_text().splitlines()
    tip, tip_time = (int(x) for x in rows[-1].split(","))
    last_day = datetime.fromtimestamp(tip_time, UTC).date()
    db = tmp_path / "fresh.duckdb"
    proc = cli_update(db, url, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["chain"]["tip_height"] == tip
    assert out["chain"]["periods_added"] == tip // 2016 + 1
    assert out["prices"]["last_day"] == last_day.isoformat()
    # Two periods of per-block times below the tip, the last 4,032 rows of the file.
    with Store(db, read_only=True) as s:
        h, t = s.block_times()
        want = {int(a): int(b) for a, b in (r.split(",") for r in rows[-4032:])}
        assert {k: v for k, v in zip(h.tolist(), t.tolist(), strict=True) if k > tip - 4032} == want
    report = run_cli(db, "report", "--out", str(tmp_path / "report"), "--paths", "500", "--json")
    assert report.returncode == 0, report.stderr
    # The report's day is the last whole day the replay reaches: its figures are taken at
    # 24:00 UTC of it, with the price the replay gives for the tip's day at 00:00.
    assert json.loads(report.stdout)["as_of"] == (last_day - timedelta(days=1)).isoformat()
    text = (tmp_path / "report/report.md").read_text()
    assert "No estimate" not in text and "hashlens expects" in text
    # A second run finds nothing new.
    again = json.loads(cli_update(db, url, "--json").stdout)
    assert again["chain"]["blocks_added"] == again["chain"]["periods_added"] == again["prices"]["days_added"] == 0


# -- what each record proves is what is stored ------------------------------------------------
@pytest.mark.slow
def test_full_headers_and_hashes_of_2021_with_exact_retargets(
    files: ChainFiles, data_dir: Path, new_store: Callable[[], Store]
) -> None:
    """The replay as of 699,998 (2021-09-11): every block of the block-stats window
    679,999 … 699,998 with its fees; bitcoinj's period starts inside it come with all header
    fields and are stored as full headers, each retarget recomputed from the window's times."""
    rp = MempoolReplay(files, tip=699_998)
    cps = bitcoinj(data_dir)
    inside = sorted(h for h in cps if 679_999 <= h <= 699_998)
    assert len(inside) == 10
    with serve_mempool(rp) as url, new_store() as s:
        done = update_chain(s, f"mempool+{url}", recent_blocks=20_000).result
        assert done.headers_added == len(inside)
        assert done.blocks_added == 20_000 - len(inside)
        assert done.block_stats_added == 20_000
        assert done.requests <= 20_000 // 15 + 10  # pages of 15, not a request a header
        headers = s.header_hashes(0, 2**31 - 1)
        assert sorted(headers.items()) == [(h, sha256d_hex(cps[h])) for h in inside]
        electrum = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
        bits = [0x1D00FFFF] + [compact(int(t)) for _, t in electrum]
        facts = s.period_facts()
        assert sorted(facts) == list(range(699_998 // 2016 + 1))
        assert [facts[p].bits for p in sorted(facts)] == bits[: 699_998 // 2016 + 1]
        # The July 2021 drop, -27.94 %, from the replay's difficulties alone.
        d = core_difficulty(bits[689_472 // 2016]) / core_difficulty(bits[689_472 // 2016 - 1]) - 1
        assert round(100 * d, 2) == -27.94
        fees = {}
        with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt", newline="") as fh:
            for row in csv.DictReader(fh):
                if 679_999 <= int(row["height"]) <= 699_998:
                    fees[int(row["height"])] = int(float(row["totalfee"]))
        stored = dict(s.table_contents("block_stats", ["height", "totalfee_sat"]))
        assert stored == fees


@pytest.mark.slow
def test_pool_tags_are_handed_over_batch_by_batch(files: ChainFiles, data_dir: Path) -> None:
    """Blocks 499,999 … 509,998 carry the pool the per-block label file names, where
    mempool's pools list has it; each committed batch hands its tags to ``on_extras``."""
    names = {p["name"].lower(): p["name"] for p in json.loads((data_dir / "pools/mempool-pools-v2.json").read_text())}
    want: Counter[str] = Counter()
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        for row in csv.DictReader(fh):
            if 499_999 <= int(row["blockid"]) <= 509_998 and row["miningpool"].lower() in names:
                want[names[row["miningpool"].lower()]] += 1
    batches: list[list[MinedBy]] = []
    rp = MempoolReplay(files, tip=509_998)
    with serve_mempool(rp) as url, Store(":memory:") as s:
        done = update_chain(s, f"mempool+{url}", recent_blocks=10_000, batch_blocks=2016, on_extras=batches.append)
    assert len(batches) >= 5
    got = Counter(m.pool.name for b in batches for m in b if m.pool is not None)
    assert got == want
    assert done.result.pool_tags == sum(want.values()) == len(done.mined_by)


def labelled_blocks(data_dir: Path, lo: int, hi: int) -> Counter[str]:
    """Blocks lo … hi per pool by the per-block label file, for the pools mempool's list names
    (what the replay serves as extras.pool), counted by hand."""
    names = {p["name"].lower(): p["name"] for p in json.loads((data_dir / "pools/mempool-pools-v2.json").read_text())}
    want: Counter[str] = Counter()
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        for row in csv.DictReader(fh):
            if lo <= int(row["blockid"]) <= hi and row["miningpool"].lower() in names:
                want[names[row["miningpool"].lower()]] += 1
    return want


@pytest.mark.slow
def test_the_cli_stores_who_mined_as_the_api_source_of_the_pools(
    files: ChainFiles, data_dir: Path, tmp_path: Path
) -> None:
    """`hashlens update` hands each batch's extras.pool to the pools package: afterwards the
    store's `mempool-api` pool source holds, per pool, the blocks the label file gives it (the
    same hand count as above), and `hashlens pools --source mempool-api` reads them."""
    want = labelled_blocks(data_dir, 507_998, 509_998)
    db = tmp_path / "u.duckdb"
    rp = MempoolReplay(files, tip=509_998)
    with serve_mempool(rp) as url:
        r = run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", "none", "--blocks", "2001", "--json")
    assert r.returncode == 0, r.stderr
    with Store(db, read_only=True) as s:
        heights, labels = s.pool_block_labels("mempool-api")
    got = Counter(str(x) for x in labels)
    assert got == want and len(heights) == sum(want.values())


def test_the_server_follows_a_chain_api_with_updates_code(files: ChainFiles, data_dir: Path) -> None:
    """`serve --follow mempool+…` polls through update's code: the first poll brings the
    store to the replay's tip with its recent blocks' pools and the prices to its last day, an
    unchanged source writes nothing, and a later tip adds only the new blocks."""
    from contextlib import contextmanager

    from hashlens.chain.follow import Follower
    from hashlens.pools.attribution import store_mined_by

    rp = MempoolReplay(files, tip=509_900)
    with serve_mempool(rp) as url, Store(":memory:") as s:

        @contextmanager
        def writing() -> Iterator[Store]:
            yield s

        f = Follower(writing, lambda read: read(s), f"mempool+{url}", f"mempool+{url}", on_extras=store_mined_by)
        assert f.poll_once() and not any(st.last_error for st in f.states.values())
        assert s.tip_height() == 509_900 and s.last_price_day("USD") == rp.last_day
        _, labels = s.pool_block_labels("mempool-api")
        # update's default: the last two periods' heights get per-block records
        assert Counter(str(x) for x in labels) == labelled_blocks(data_dir, 509_900 - 4031, 509_900)
        f.poke()
        assert not f.poll_once()  # the same tip and hash: nothing opened for writing
        rp.tip = 509_998
        f.poke()
        assert f.poll_once() and s.tip_height() == 509_998
        _, labels = s.pool_block_labels("mempool-api")
        assert Counter(str(x) for x in labels) == labelled_blocks(data_dir, 509_900 - 4031, 509_998)


def test_an_esplora_api_gives_periods_from_pages_and_no_fees(files: ChainFiles, data_dir: Path) -> None:
    """Esplora has no list of adjustments: each period's bits come from the page holding its
    first block (2009: heights 0 … 14,999 of the block-stats file, bitcoinj's headers)."""
    rp = MempoolReplay(files, tip=14_999, esplora=True)
    cps = bitcoinj(data_dir)
    with serve_mempool(rp) as url, Store(":memory:") as s:
        done = update_chain(s, f"esplora+{url}", recent_blocks=1000).result
        assert done.periods_added == 14_999 // 2016 + 1
        assert done.block_stats_added == 0 and any("no fees" in n for n in done.notes)
        assert s.header_hashes(0, 2**31 - 1) == {h: sha256d_hex(cps[h]) for h in cps if h <= 14_999}
        assert s.counts()["periods"] == 8


def test_every_difficulty_in_the_record_maps_back_to_its_bits(files: ChainFiles) -> None:
    for p, bits in files.bits.items():
        assert bits_of_difficulty(core_difficulty(bits)) == bits, p


def test_the_defaults_are_documented_once(tmp_path: Path) -> None:
    """The CLI writes its defaults out (its --help imports no chain code): each must be the
    request's own, option by option."""
    import typer.main

    from hashlens.cli import update_cmds
    from hashlens.cli.app import app

    assert update_cmds.CHAIN_DEFAULT == DEFAULT_CHAIN_SOURCE
    assert update_cmds.PRICES_DEFAULT == DEFAULT_PRICE_SOURCE
    assert UpdateRequest().chain == DEFAULT_CHAIN_SOURCE
    command = typer.main.get_command(app).commands["update"]  # type: ignore[attr-defined]
    cli = {p.name: p.default for p in command.params}
    field_of = {"chain": "chain", "prices": "prices", "currency": "currency", "blocks": "recent_blocks"}
    field_of["batch_blocks"] = "batch_blocks"
    request = UpdateRequest()
    assert {o: cli[o] for o in field_of} == {o: getattr(request, f) for o, f in field_of.items()}


# -- resumable ------------------------------------------------------------------------------
def test_a_later_tip_adds_only_the_new_blocks(files: ChainFiles) -> None:
    rp = MempoolReplay(files, tip=928_000)  # 928,000 and 928,500: one period (from 927,360)
    with serve_mempool(rp) as url, Store(":memory:") as s:
        update_chain(s, f"mempool+{url}", recent_blocks=2016)
        rp.tip = 928_500
        before = rp.requests
        done = update_chain(s, f"mempool+{url}", recent_blocks=2016).result
        assert done.block_stats_added == 500 and done.periods_added == 0
        assert rp.requests - before <= 500 // 15 + 8
        assert s.counts()["block_stats"] == 2016 + 500


@pytest.mark.slow
def test_a_killed_update_resumes_to_the_same_store(files: ChainFiles, tmp_path: Path) -> None:
    rp = MempoolReplay(files, tip=930_000)
    whole, killed = tmp_path / "whole.duckdb", tmp_path / "killed.duckdb"
    with serve_mempool(rp) as url:
        args = ["update", "--chain", f"mempool+{url}", "--prices", "none", "--batch-blocks", "150"]
        assert run_cli(whole, *args).returncode == 0
        full_requests = rp.requests
        rp.delay_s = 0.01  # slow enough that the kill lands mid-run
        proc = subprocess.Popen(
            [sys.executable, "-m", "hashlens", "--db", str(killed), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HASHLENS_SYNC_TRACE": "1"},
        )
        assert proc.stderr is not None
        batches = 0
        for line in proc.stderr:
            if "committed batch" in line:
                batches += 1
                if batches == 4:
                    proc.send_signal(signal.SIGKILL)
                    break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        with Store(killed, read_only=True) as s:
            kept_heights = sorted(s.stats_heights())
        kept = len(kept_heights)
        # Whole batches only, lowest first: a run of heights from the window's bottom that ends
        # at the top of a page (pages are laid from the tip down, 15 heights each).
        assert kept_heights == list(range(930_000 - 4031, 930_000 - 4031 + kept))
        assert (930_000 - kept_heights[-1]) % 15 == 0 and 4 * 150 - 15 <= kept < 4032
        rp.delay_s = 0.0
        start = rp.requests
        assert run_cli(killed, *args).returncode == 0
        # The rerun fetches what was missing, not the committed batches again.
        assert rp.requests - start <= full_requests - kept // 15 + 2
    assert snapshot(killed) == snapshot(whole)


# -- bad input: one error line, exit 2, nothing stored lost -----------------------------------
@pytest.mark.slow
def test_an_unreachable_source(tmp_path: Path, replay: tuple[MempoolReplay, str]) -> None:
    _, url = replay
    dead = f"http://127.0.0.1:{free_port()}/api"
    db = tmp_path / "s.duckdb"
    err = one_error_line(run_cli(db, "update", "--chain", f"mempool+{dead}", "--prices", "none"))
    assert "connection failed" in err and "rerun" in err
    err = one_error_line(run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", f"mempool+{dead}"))
    assert "connection failed" in err
    assert all(not rows for rows in snapshot(db).values())


@pytest.fixture(scope="module")
def updated_once(files: ChainFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rp = MempoolReplay(files)
    db = tmp_path_factory.mktemp("updated") / "updated.duckdb"
    with serve_mempool(rp) as url, Store(db) as s:
        update(s, UpdateRequest(chain=f"mempool+{url}", prices=f"mempool+{url}"))
    return db


@pytest.fixture
def updated(updated_once: Path, tmp_path: Path) -> Path:
    """A store brought to the replay's present by one update (a copy for each test)."""
    db = tmp_path / "updated.duckdb"
    db.write_bytes(updated_once.read_bytes())
    return db


@pytest.mark.parametrize(
    ("genesis", "named"),
    [
        ("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206", "regtest"),
        ("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943", "testnet3"),
    ],
)
def test_a_source_on_another_chain_by_its_genesis(
    replay: tuple[MempoolReplay, str], updated: Path, genesis: str, named: str
) -> None:
    rp, url = replay
    rp.genesis = genesis
    before = snapshot(updated)
    err = one_error_line(cli_update(updated, url))
    assert "not Bitcoin mainnet's genesis" in err and named in err
    assert snapshot(updated) == before


@pytest.mark.slow
def test_a_source_whose_hashes_differ_from_the_stored_ones(files: ChainFiles, tmp_path: Path) -> None:
    rp = MempoolReplay(files, tip=930_000)
    db = tmp_path / "s.duckdb"
    with serve_mempool(rp) as url:
        assert run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", "none").returncode == 0
        before = snapshot(db)
        rp.tip = 930_100
        other = files.blocks[930_000]["id"][::-1]  # another hash at the highest height the store holds
        rp.tamper[930_000] = {"id": other}
        err = one_error_line(run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", "none"))
        assert "height 930000" in err and "another chain" in err and "no header to prove" in err
    assert snapshot(db) == before


@pytest.mark.slow
def test_a_header_that_does_not_hash_to_its_id(files: ChainFiles, tmp_path: Path) -> None:
    rp = MempoolReplay(files, tip=699_998)
    rp.tamper[697_536] = {"nonce": files.blocks[697_536]["nonce"] ^ 1}
    db = tmp_path / "s.duckdb"
    with serve_mempool(rp) as url:
        err = one_error_line(run_cli(db, "update", "--chain", f"mempool+{url}", "--prices", "none"))
    assert "block 697536" in err and "not its id" in err


@pytest.mark.slow
def test_adjustments_that_no_bits_give_or_that_disagree_with_the_store(
    replay: tuple[MempoolReplay, str], updated: Path
) -> None:
    rp, url = replay
    before = snapshot(updated)
    t, h, d, r = next(a for a in rp.adjustments() if a[1] == 937_440)
    rp.adjust_tamper[937_440] = [t, h, d * 1.0000001, r]
    err = one_error_line(cli_update(updated, url))
    assert "height 937440" in err and "not one that compact bits give" in err
    # The last entry with the difficulty of the one before: real bits, not the stored ones.
    rp.adjust_tamper.clear()
    t1, h1, _, _ = next(a for a in rp.adjustments() if a[1] == 941_472)
    _, _, d0, _ = next(a for a in rp.adjustments() if a[1] == 939_456)
    rp.adjust_tamper[941_472] = [t1, h1, d0, 1.0]
    err = one_error_line(cli_update(updated, url))
    assert "period 467" in err and "another chain" in err
    assert snapshot(updated) == before


@pytest.mark.slow
def test_a_price_api_answering_garbage(replay: tuple[MempoolReplay, str], tmp_path: Path) -> None:
    rp, url = replay
    db = tmp_path / "s.duckdb"
    request = UpdateRequest(chain=f"mempool+{url}", prices=f"mempool+{url}")
    with Store(db) as s:
        rp.price_body = b"<html><body>502 Bad Gateway</body></html>"
        with pytest.raises(HashlensError, match=r"historical-price.*not JSON"):
            update(s, request)
        rp.price_body = b'{"prices": [{"time": 1774396800, "USD": "lots"}]}'
        with pytest.raises(HashlensError, match="'lots' is not a number"):
            update(s, request)
    rp.price_body = None
    rp.price_factor[rp.last_day - timedelta(days=3)] = 20.0
    err = one_error_line(cli_update(db, url))
    assert "10x off their neighbours" in err
    # The price API is read before the chain: nothing at all was stored.
    assert all(not rows for rows in snapshot(db).values())


def test_a_source_file_inconsistency_is_caught(files: ChainFiles) -> None:
    """The block-stats file's row 931,524 gives mediantime 1767945938, but the median of the
    eleven times it gives for 931,514 … 931,524 is 1767945933: the replay serves it as it is,
    and the update refuses the block rather than store one of two contradicting values."""
    times = [files.stats[h]["timestamp"] for h in range(931_514, 931_525)]
    assert sorted(times)[5] == 1767945933 != files.stats[931_524]["mediantime"] == 1767945938
    rp = MempoolReplay(files, tip=931_600)
    with (
        serve_mempool(rp) as url,
        Store(":memory:") as s,
        pytest.raises(HashlensError, match="block 931524: mediantime 1767945938 but the 11 blocks"),
    ):
        update_chain(s, f"mempool+{url}", recent_blocks=500)


def test_the_request_bounds(tmp_path: Path) -> None:
    err = one_error_line(run_cli(tmp_path / "s.duckdb", "update", "--blocks", "-1"))
    assert "recent_blocks must be at least 0" in err
    with pytest.raises(HashlensError, match="a chain API is mempool\\+http\\(s\\)://host/api"):
        UpdateRequest.build(chain="ftp://x")
    with pytest.raises(HashlensError, match="a price API is"):
        UpdateRequest.build(prices="bitstamp://x")


def test_update_as_a_library_call(replay: tuple[MempoolReplay, str]) -> None:
    rp, url = replay
    with Store(":memory:") as s:
        r = update(s, UpdateRequest(chain=f"mempool+{url}", prices="none", recent_blocks=100))
        assert r.prices is None and r.chain is not None and r.chain.tip_height == rp.tip
        data: dict[str, Any] = r.to_json()
        assert data["chain"]["blocks_added"] >= 98


@pytest.mark.slow
def test_prices_from_an_exchanges_ohlc_api(data_dir: Path, replay: tuple[MempoolReplay, str]) -> None:
    """``--prices kraken+…``: the daily opening prices of the shared USD series, as the
    exchange's OHLC API pages them (720 candles a request), cut at the replay's last day."""
    from tests.price_replay import PriceData, serve_prices

    rp, _ = replay
    data = PriceData(data_dir)
    data.daily = [(d, r) for d, r in data.daily if d <= rp.last_day]
    with serve_prices(data) as url, Store(":memory:") as s:
        r = update(s, UpdateRequest(chain="none", prices=f"kraken+{url}"))
        assert r.chain is None and r.prices is not None
        # The last candle is the running day (not closed): every day but the last is taken.
        assert r.prices.days_added == len(data.daily) - 1
        stored = s.prices_between(data.daily[0][0], rp.last_day)
        assert stored == {d: float(row["BTC_USD"]) for d, row in data.daily[:-1]}
        again = update(s, UpdateRequest(chain="none", prices=f"kraken+{url}"))
        assert again.prices is not None and again.prices.days_added == 0
