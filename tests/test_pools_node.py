"""Pool attribution of a node's new blocks during `sync` and `serve --follow`: the replay node
serves the real whole blocks 501,726 and 501,728 (tests/pool_fixtures.py, proven against the
block-stats file's hashes in test_pools_coinbase.py) over Core's REST and JSON-RPC, and
answers as a pruned node for a block it holds only the header of.

The expected pools are derived by hand from the coinbases, the rules file and the per-block
label file: block 501,728 pays P2PKH 76a914 eb181d60731cc7521db83a8f93beba8da692a229 88ac, which
is 1NS4gbx1G2D5rc9PnvVsPys12nKxGiQg72 (version byte 0, Base58Check), an address listed under
AntPool in mempool-pools-v2.json (its scriptSig also says "Mined by AntPool", but the address
decides first); block 501,726's coinbase pays no address and its scriptSig holds no text, so no
rule names it. The label file (canhui) says AntPool and unknown for the two.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hashlens.chain.sync import sync
from hashlens.errors import HashlensError
from hashlens.pools.attribution import attribute_node_blocks
from hashlens.pools.dataset import import_pool_file
from hashlens.sources.pool_files import read_rules
from hashlens.store import Store
from tests import pool_fixtures as fx
from tests.replay import ReplayChain, ReplayServer

NOW = 1_900_000_000  # a reference time after every header used here [Unix s]
RULES = "pools/mempool-pools-v2.json"
#: Pool and method of each block, derived by hand (module docstring).
EXPECTED = {501726: ("unknown", "none"), 501728: ("AntPool", "address")}


def _hash(raw: bytes) -> str:
    sha = hashlib.sha256
    return sha(sha(raw[:80]).digest()).digest()[::-1].hex()


RAW = {501726: bytes.fromhex(fx.BLOCK_501726), 501728: bytes.fromhex(fx.BLOCK_501728)}
HASH = {h: _hash(raw) for h, raw in RAW.items()}


def replay_chain(heights: list[int], with_blocks: bool = True) -> ReplayChain:
    """A node whose best chain holds the fixture blocks at ``heights`` (headers from the whole
    blocks), its tip the highest; with ``with_blocks`` it serves the whole blocks too."""
    return ReplayChain(
        hashes={h: HASH[h] for h in heights},
        headers={HASH[h]: RAW[h][:80] for h in heights},
        tip=max(heights),
        blocks={HASH[h]: RAW[h] for h in heights} if with_blocks else {},
    )


def grow(chain: ReplayChain, height: int) -> None:
    """The node's tip rises to the fixture block at ``height``."""
    chain.hashes[height] = HASH[height]
    chain.headers[HASH[height]] = RAW[height][:80]
    chain.blocks[HASH[height]] = RAW[height]
    chain.tip = height


@pytest.fixture(scope="module")
def canhui(data_dir: Path) -> dict[int, str]:
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        return {int(r["blockid"]): r["miningpool"] for r in csv.DictReader(fh) if int(r["blockid"]) in RAW}


def test_the_hand_derivation_agrees_with_the_label_file(canhui: dict[int, str]) -> None:
    assert canhui == {h: pool for h, (pool, _) in EXPECTED.items()}


def _url(srv: ReplayServer, how: str) -> str:
    return f"bitcoind+rest://127.0.0.1:{srv.port}" if how == "rest-only" else srv.rpc_url


@pytest.mark.parametrize("how", ["rpc+rest", "rest-only", "rpc getblock 2"])
def test_sync_attributes_each_new_block_from_its_coinbase(data_dir: Path, how: str) -> None:
    chain = replay_chain([501726])
    chain.rest = how != "rpc getblock 2"  # a node without -rest: coinbases over getblock <hash> 2
    rules = read_rules(data_dir / RULES)
    with ReplayServer(chain) as srv, Store() as store:
        import_pool_file(store, data_dir / RULES)  # records the rules file: no coinbase stored yet
        url = _url(srv, how)
        first = sync(store, url, start_height=501726, now=NOW, on_blocks=attribute_node_blocks)[0]
        assert (
            f"pools: 1 block(s) attributed from their coinbases with {rules.rules_id} (address-first): "
            "0 by address, 0 by tag, 1 unknown"
        ) in first.notes
        grow(chain, 501728)
        second = sync(store, url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)[0]
        assert any("1 by address, 0 by tag, 0 unknown" in n for n in second.notes)
        rows = store.pool_block_rows("coinbase", 501700, 501800)
        assert rows == [(h, HASH[h], *EXPECTED[h], rules.rules_id) for h in (501726, 501728)]
        origin = f"bitcoind+rest://127.0.0.1:{srv.port}" if how == "rest-only" else f"bitcoind://127.0.0.1:{srv.port}"
        assert store._rows("SELECT DISTINCT origin FROM block_coinbases") == [(origin,)]
        # Nothing new: no block is asked for again and no pools note is written.
        before = chain.requests
        again = sync(store, url, now=NOW, on_blocks=attribute_node_blocks)[0]
        assert not any(n.startswith("pools:") for n in again.notes)
        assert chain.requests - before <= 6  # tip, fork check, hashes: no block fetched


def test_a_raw_block_read_in_small_pieces_gives_the_same_coinbase(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The REST client reads a raw block piece by piece until its coinbase is whole: in 7-byte
    pieces the two real blocks (one transaction each, so read to their last byte) give what
    the whole bodies give, and the kept-alive connection carries the next requests."""
    from hashlens.sources import core_rest

    monkeypatch.setattr(core_rest, "PREFIX_READ_BYTES", 7)
    chain = replay_chain([501726])
    with ReplayServer(chain) as srv, Store() as store:
        import_pool_file(store, data_dir / RULES)
        url = f"bitcoind+rest://127.0.0.1:{srv.port}"
        sync(store, url, start_height=501726, now=NOW, on_blocks=attribute_node_blocks)
        grow(chain, 501728)
        sync(store, url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)
        got = [r[:4] for r in store.pool_block_rows("coinbase", 0, 10**7)]
        assert got == [(h, HASH[h], *EXPECTED[h]) for h in (501726, 501728)]
        rest = core_rest.CoreRest(f"http://127.0.0.1:{srv.port}")
        cb = rest.block_coinbase(HASH[501728], 501728)
        # A one-transaction block's merkle root (header bytes 36-68) is its coinbase's txid.
        assert (cb.block_hash, cb.txid) == (HASH[501728], RAW[501728][36:68][::-1].hex())
        assert rest.tip_height() == 501728  # the same connection, or a fresh one, answers on


def test_a_block_the_node_cannot_give_is_a_note_and_a_rerun_attributes_it(data_dir: Path) -> None:
    for rest in (True, False):
        chain = replay_chain([501728], with_blocks=False)  # a pruned node: headers only
        chain.rest = rest
        with ReplayServer(chain) as srv, Store() as store:
            import_pool_file(store, data_dir / RULES)
            report = sync(store, srv.rpc_url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)[0]
            [note] = [n for n in report.notes if n.startswith("pools:")]
            assert note.startswith(f"pools: bitcoind://127.0.0.1:{srv.port} gave no block for 1 height(s)")
            assert "first 501728:" in note and "not available (pruned data)" in note
            assert store.counts()["blocks"] == 1  # the header is stored all the same
            assert store.pool_block_rows("coinbase", 0, 10**7) == []
            chain.blocks[HASH[501728]] = RAW[501728]  # the block is back (a node re-synced)
            sync(store, srv.rpc_url, now=NOW, on_blocks=attribute_node_blocks)
            assert [r[:4] for r in store.pool_block_rows("coinbase", 0, 10**7)] == [
                (501728, HASH[501728], "AntPool", "address")
            ]


def test_a_store_without_rules_attributes_nothing_and_says_how(data_dir: Path) -> None:
    chain = replay_chain([501728])
    with ReplayServer(chain) as srv, Store() as store:
        report = sync(store, srv.rpc_url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)[0]
        assert (
            "pools: 1 new block(s) not attributed: the store has no rules file; run "
            "`hashlens pools import RULES_FILE` (e.g. mempool-pools-v2.json) first, then sync again from a node"
        ) in report.notes
        assert store.counts()["blocks"] == 1 and store.stored_coinbase_rows() == []


def test_a_node_serving_another_block_is_refused(data_dir: Path) -> None:
    chain = replay_chain([501728])
    chain.blocks = {HASH[501728]: RAW[501726]}  # the body of another block under this hash
    with ReplayServer(chain) as srv, Store() as store:
        import_pool_file(store, data_dir / RULES)
        with pytest.raises(HashlensError, match=f"asked for block {HASH[501728]}, got one hashing to {HASH[501726]}"):
            sync(store, srv.rpc_url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)
        assert store.stored_coinbase_rows() == []


def test_an_esplora_sync_says_it_reads_no_coinbases(data_dir: Path) -> None:
    chain = replay_chain([501728])
    with ReplayServer(chain) as srv, Store() as store:
        import_pool_file(store, data_dir / RULES)
        report = sync(store, srv.esplora_url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)[0]
        assert any("an Esplora sync reads no coinbases" in n for n in report.notes)


def test_the_follower_hands_new_blocks_to_the_pools_package(data_dir: Path) -> None:
    """`serve --follow bitcoind://…`: the server's Follower passes its ``on_blocks`` to the sync."""
    from hashlens.chain.follow import Follower

    chain = replay_chain([501726])
    with ReplayServer(chain) as srv, Store() as store:
        import_pool_file(store, data_dir / RULES)

        @contextmanager
        def writing() -> Iterator[Store]:
            yield store

        def follower(start_height: int) -> Follower:
            return Follower(
                writing,
                lambda read: read(store),
                srv.rpc_url,
                start_height=start_height,
                on_blocks=attribute_node_blocks,
            )

        f = follower(501726)
        assert f.poll_once() and f.states["chain"].last_error is None
        f.poke()
        assert not f.poll_once()  # nothing new: nothing written, no block asked for
        # The replay holds no block 501,727 (no fixture has it): a server restarted to start
        # above the gap, as it would on a store whose tip is below its --start-height.
        grow(chain, 501728)
        f = follower(501728)
        assert f.poll_once() and f.states["chain"].last_error is None
        assert any("1 by address" in n for n in f.states["chain"].notes)
        got = [r[:4] for r in store.pool_block_rows("coinbase", 0, 10**7)]
        assert got == [(h, HASH[h], *EXPECTED[h]) for h in (501726, 501728)]


@pytest.mark.slow
def test_hashlens_sync_attributes_a_node_s_blocks(data_dir: Path, tmp_path: Path) -> None:
    """The CLI, as a user runs it: `pools import` the rules, then `sync bitcoind://…`."""
    import json

    from tests.helpers import run_cli

    db = tmp_path / "cli.duckdb"
    chain = replay_chain([501728])
    with ReplayServer(chain) as srv:
        assert run_cli(db, "pools", "import", str(data_dir / RULES)).returncode == 0
        done = run_cli(db, "sync", srv.rpc_url, "--start-height", "501728", "--json")
        assert done.returncode == 0, done.stderr
    notes = json.loads(done.stdout)["imports"][0]["notes"]
    assert any(n.startswith("pools: 1 block(s) attributed") and "1 by address" in n for n in notes)
    with Store(db) as store:
        assert [r[:4] for r in store.pool_block_rows("coinbase", 0, 10**7)] == [
            (501728, HASH[501728], "AntPool", "address")
        ]


@pytest.mark.slow
def test_node_attribution_on_both_backends(new_store: Callable[[], Store], data_dir: Path) -> None:
    """The rules file recorded by an import, then a sync's attribution, on DuckDB and PostgreSQL."""
    chain = replay_chain([501728])
    rules = read_rules(data_dir / RULES)
    with ReplayServer(chain) as srv, new_store() as store:
        import_pool_file(store, data_dir / RULES)
        assert store.latest_pool_rules_id() == rules.rules_id
        sync(store, srv.rpc_url, start_height=501728, now=NOW, on_blocks=attribute_node_blocks)
        assert store.pool_block_rows("coinbase", 0, 10**7) == [
            (501728, HASH[501728], "AntPool", "address", rules.rules_id)
        ]
        assert store.pool_rules_ids("coinbase") == [rules.rules_id]
