"""Bitcoin Core RPC and Esplora clients against a loopback server replaying real headers,
syncing into both store backends (DuckDB, and PostgreSQL on the suite's own server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hashlens.chain.sync import sync
from hashlens.consensus import BlockHeader, target_to_bits
from hashlens.errors import HashlensError
from hashlens.store import Store
from tests.facts import SharedChain
from tests.replay import ReplayChain, ReplayServer


def stale_run(data_dir: Path) -> dict[int, BlockHeader]:
    """The real 8-block stale chain at heights 961,632-961,639 (linked, real proof of work)."""
    out = {}
    for row in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]:
        h, _, hdr = row.split(",")
        if 961632 <= int(h) <= 961639:
            out[int(h)] = BlockHeader.from_hex(hdr)
    assert len(out) == 8
    return out


def run_chain(data_dir: Path, tip: int = 961639) -> ReplayChain:
    run = stale_run(data_dir)
    return ReplayChain(
        hashes={h: x.hash_hex for h, x in run.items()},
        headers={x.hash_hex: x.serialize() for x in run.values()},
        tip=tip,
    )


def periods_chain(shared: SharedChain) -> ReplayChain:
    hashes: dict[int, str] = {}
    headers: dict[str, bytes] = {}
    for cp in shared.checkpoints:
        hashes[cp.height] = cp.header.hash_hex
        headers[cp.header.hash_hex] = cp.raw_header
    for p in shared.electrum:
        if p.last_block_hash:
            hashes[p.start_height + 2015] = p.last_block_hash
    return ReplayChain(hashes=hashes, headers=headers, tip=shared.checkpoints[-1].height)


def table(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store._rows(sql)


BLOCKS = "SELECT height, hash, prev_hash, version, merkle_root, time, bits, nonce FROM blocks ORDER BY height"


def test_rpc_periods_only_replays_real_history(shared_chain: SharedChain, new_store: Callable[[], Store]) -> None:
    chain = periods_chain(shared_chain)
    with ReplayServer(chain) as srv, new_store() as store:
        reports = sync(store, srv.rpc_url, periods_only=True, batch_rows=50)
        assert reports[0].added == 436
        bits = dict(store._rows("SELECT period, bits FROM periods"))
        for p in shared_chain.electrum[1:437]:
            assert bits[p.period] == target_to_bits(p.target)
        last = dict(store._rows("SELECT period, last_block_hash FROM periods WHERE last_block_hash IS NOT NULL"))
        assert all(last[p.period] == p.last_block_hash for p in shared_chain.electrum[:436])
        # A second run asks for nothing new.
        assert sync(store, srv.rpc_url, periods_only=True)[0].added == 0
        print(f"\nreplayed {reports[0].added} real period-start headers over JSON-RPC in {chain.requests} requests")


def test_esplora_full_sync_and_rpc_agree(data_dir: Path, new_store: Callable[[], Store]) -> None:
    with ReplayServer(run_chain(data_dir)) as srv, new_store() as a, new_store() as b:
        sync(a, srv.esplora_url, start_height=961632, batch_rows=3)
        sync(b, srv.rpc_url, start_height=961632, batch_rows=3)
        assert table(a, BLOCKS) == table(b, BLOCKS)
        assert [r[0] for r in table(a, BLOCKS)] == list(range(961632, 961640))


def test_a_branch_with_less_work_is_refused(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    with ReplayServer(chain) as srv, new_store() as store:
        sync(store, srv.rpc_url, start_height=961632)
        before = table(store, BLOCKS)
        # The node invalidates the top four blocks (as `invalidateblock` would): tip 961,635.
        chain.tip = 961635
        with pytest.raises(HashlensError, match=r"reorganisation refused.*above height 961635"):
            sync(store, srv.rpc_url)
        # A node on another branch: the stored hash at 961,635 no longer matches -> fork at 961,634.
        chain.hashes = {h: x for h, x in chain.hashes.items() if h <= 961634}
        chain.tip = 961634
        with pytest.raises(HashlensError, match=r"reorganisation refused.*above height 961634"):
            sync(store, srv.rpc_url)
        assert table(store, BLOCKS) == before


def test_a_branch_with_more_work_replaces_the_stored_one(data_dir: Path, new_store: Callable[[], Store]) -> None:
    run = stale_run(data_dir)
    chain = run_chain(data_dir)
    # The store's branch: the run up to 961,635, then one other real header stored at 961,636
    # (the stale block of 961,324 standing in for a competing tip).
    other = next(
        BlockHeader.from_hex(r.split(",")[2])
        for r in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]
        if r.startswith("961324,")
    )
    with ReplayServer(chain) as srv, new_store() as store, new_store() as fresh:
        chain.tip = 961635
        sync(store, srv.rpc_url, start_height=961632)
        store.insert_headers([(961636, other, other.hash_hex)], "a competing tip", "test")
        chain.tip = 961639
        report = sync(store, srv.rpc_url)[0]
        assert any("rolled back 1 block(s) above height 961635" in n for n in report.notes)
        assert report.added == 961639 - 961635
        sync(fresh, srv.rpc_url, start_height=961632)
        assert table(store, BLOCKS) == table(fresh, BLOCKS)
        assert store.block_hash(961636) == run[961636].hash_hex


@pytest.mark.parametrize("rest", [False, True])
def test_a_header_must_hash_to_the_hash_the_node_named(
    data_dir: Path, rest: bool, new_store: Callable[[], Store]
) -> None:
    chain = run_chain(data_dir)
    chain.rest = rest
    run = stale_run(data_dir)
    # The node names 961,633's hash but serves 961,634's header under it.
    chain.headers[run[961633].hash_hex] = run[961634].serialize()
    # Over JSON-RPC the node names every hash; over REST only the first, and the swapped
    # header then breaks the chain's linkage at the same height.
    refusal = (
        "height 961633.*prev hash.*rule bad-prevblk"
        if rest
        else f"height 961633.*hashes to {run[961634].hash_hex}.*not {run[961633].hash_hex}"
    )
    with ReplayServer(chain) as srv, new_store() as store:
        with pytest.raises(HashlensError, match=refusal):
            sync(store, srv.rpc_url, start_height=961632)
        assert store.counts()["blocks"] == 0


@pytest.mark.parametrize("tip", [-5, 10**12, 2**62])
def test_an_absurd_tip_height_is_one_error(data_dir: Path, tip: int, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    chain.tip = tip
    with ReplayServer(chain) as srv, new_store() as store:
        for url in (srv.rpc_url, srv.esplora_url):
            with pytest.raises(HashlensError, match=f"height.*{tip}|{tip}.*height"):
                sync(store, url)
        assert store.counts()["blocks"] == 0


def test_dropped_connections_are_retried(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    chain.drop_requests = {2, 3, 5}
    with ReplayServer(chain) as srv, new_store() as store:
        sync(store, srv.esplora_url, start_height=961632, batch_rows=2)
        assert store.tip_height() == 961639 and store.counts()["blocks"] == 8


def test_server_dying_mid_sync_keeps_whole_batches_and_resumes(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    chain.rest = False  # a node without -rest: batched JSON-RPC
    chain.dead_after = 2 + 2 * 3  # tip, the REST probe, then three runs of (hashes, headers) requests
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        with pytest.raises(HashlensError, match="rerun the sync to resume"):
            sync(store, srv.rpc_url, start_height=961632, batch_rows=2)
        heights = [r[0] for r in table(store, BLOCKS)]
        assert heights == list(range(961632, 961632 + len(heights))) and len(heights) % 2 == 0
        assert 0 < len(heights) < 8
        chain.dead_after = None
        sync(store, srv.rpc_url, batch_rows=2)
        sync(whole, srv.rpc_url, start_height=961632, batch_rows=2)
        assert table(store, BLOCKS) == table(whole, BLOCKS)


def test_rpc_auth_and_cookie(data_dir: Path, tmp_path: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    with ReplayServer(chain) as srv, new_store() as store:
        with pytest.raises(HashlensError, match="authentication failed"):
            sync(store, f"bitcoind://hashlens:wrong@127.0.0.1:{srv.port}", start_height=961632)
        cookie = tmp_path / ".cookie"
        cookie.write_text("hashlens:replay")
        sync(store, f"bitcoind://127.0.0.1:{srv.port}", start_height=961632, cookie_file=str(cookie))
        assert store.counts()["blocks"] == 8


def test_rollback_forgets_periods_only_a_header_above_proved(
    shared_chain: SharedChain, new_store: Callable[[], Store]
) -> None:
    chain = periods_chain(shared_chain)
    fork = 100 * 2016 + 5  # inside period 100
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        sync(store, srv.rpc_url, periods_only=True, batch_rows=50)
        client = f"bitcoind://127.0.0.1:{srv.port}"  # the name the periods-only rows carry
        assert store.rollback_above(fork, client) == 436 - 100  # period-start headers 2016 .. 878,976 above it
        periods = dict(table(store, "SELECT period, last_block_hash FROM periods"))
        # Periods 101.. were proved only by their first header, above the fork: gone.
        assert sorted(periods) == list(range(101))
        # Period 100's last block (203,615) is above the fork: its hash is forgotten; earlier ones stay.
        assert periods[100] is None
        assert all(periods[p.period] == p.last_block_hash for p in shared_chain.electrum[:100])
        assert store.tip_height() == 100 * 2016
        # The next sync fetches them again, to the same store as one uninterrupted sync.
        assert sync(store, srv.rpc_url, periods_only=True)[0].added == 436 - 100
        sync(whole, srv.rpc_url, periods_only=True, batch_rows=50)
        assert table(store, BLOCKS) == table(whole, BLOCKS)
        q = "SELECT period, start_height, bits, target_hex, last_block_hash, source FROM periods ORDER BY period"
        assert table(store, q) == table(whole, q)


def test_a_periods_only_store_rolled_back_across_retargets_resyncs_from_another_node(
    shared_chain: SharedChain, new_store: Callable[[], Store]
) -> None:
    chain = periods_chain(shared_chain)
    fork = 300 * 2016 + 7  # inside period 300; the retargets of periods 301 .. are above it
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        sync(store, srv.rpc_url, periods_only=True, batch_rows=100)
        store.rollback_above(fork, "a node on another branch")
        assert max(int(str(p)) for p, _ in table(store, "SELECT period, bits FROM periods")) == 300
        # The rows of the rolled-back periods were written under the RPC node's name; Esplora resyncs them.
        assert sync(store, srv.esplora_url, periods_only=True)[0].added == 436 - 300
        sync(whole, srv.esplora_url, periods_only=True, batch_rows=100)
        assert table(store, BLOCKS) == table(whole, BLOCKS)
        q = "SELECT period, start_height, bits, target_hex, last_block_hash FROM periods ORDER BY period"
        assert table(store, q) == table(whole, q)
