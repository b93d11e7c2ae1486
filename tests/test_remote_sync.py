"""Bitcoin Core RPC and Esplora clients against a loopback server replaying real headers,
syncing into both store backends (DuckDB, and PostgreSQL on the suite's own server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hashlens.chain.sync import sync
from hashlens.consensus import BlockHeader, target_to_bits
from hashlens.errors import HashlensError
from hashlens.store import Store
from tests.facts import SharedChain, chain_folder_counts
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


#: Every column of a block row but the name of its source.
BLOCK_COLUMNS = ["height", "hash", "prev_hash", "version", "merkle_root", "time", "bits", "nonce"]


def blocks(store: Store) -> list[tuple[Any, ...]]:
    """Every stored block row (all but its source), by height."""
    return store.table_contents("blocks", BLOCK_COLUMNS)


def roll_back(store: Store, fork: int, source: str) -> int:
    """Abandon every stored header above ``fork`` with its rows, as a won reorganisation to a
    branch that confirms none of them does."""
    from hashlens.chain.reorg import abandoned_rows

    return store.drop_branch(abandoned_rows(store, fork, store.headers_above(fork)), source)


def test_rpc_periods_only_replays_real_history(
    shared_chain: SharedChain, data_dir: Path, new_store: Callable[[], Store]
) -> None:
    chain = periods_chain(shared_chain)
    starts = chain_folder_counts(data_dir).period_start_headers  # bitcoinj's headers, 2016 .. 878,976
    with ReplayServer(chain) as srv, new_store() as store:
        reports = sync(store, srv.rpc_url, periods_only=True, batch_rows=50)
        assert reports[0].added == starts
        facts = store.period_facts()
        for p in shared_chain.electrum[1 : starts + 1]:
            assert facts[p.period].bits == target_to_bits(p.target)
        last = {p: f.last_block_hash for p, f in facts.items() if f.last_block_hash is not None}
        assert all(last[p.period] == p.last_block_hash for p in shared_chain.electrum[:starts])
        # A second run asks for nothing new.
        assert sync(store, srv.rpc_url, periods_only=True)[0].added == 0
        print(f"\nreplayed {reports[0].added} real period-start headers over JSON-RPC in {chain.requests} requests")


def test_esplora_full_sync_and_rpc_agree(data_dir: Path, new_store: Callable[[], Store]) -> None:
    with ReplayServer(run_chain(data_dir)) as srv, new_store() as a, new_store() as b:
        sync(a, srv.esplora_url, start_height=961632, batch_rows=3)
        sync(b, srv.rpc_url, start_height=961632, batch_rows=3)
        assert blocks(a) == blocks(b)
        assert [r[0] for r in blocks(a)] == list(range(961632, 961640))


def test_a_branch_with_less_work_is_refused(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    with ReplayServer(chain) as srv, new_store() as store:
        sync(store, srv.rpc_url, start_height=961632)
        before = blocks(store)
        # The node invalidates the top four blocks (as `invalidateblock` would): tip 961,635.
        chain.tip = 961635
        with pytest.raises(HashlensError, match=r"reorganisation refused.*above height 961635"):
            sync(store, srv.rpc_url)
        # A node on another branch: the stored hash at 961,635 no longer matches -> fork at 961,634.
        chain.hashes = {h: x for h, x in chain.hashes.items() if h <= 961634}
        chain.tip = 961634
        with pytest.raises(HashlensError, match=r"reorganisation refused.*above height 961634"):
            sync(store, srv.rpc_url)
        assert blocks(store) == before


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
        assert blocks(store) == blocks(fresh)
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


@pytest.mark.slow
def test_dropped_connections_are_retried(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    chain.drop_requests = {2, 3, 5}
    with ReplayServer(chain) as srv, new_store() as store:
        sync(store, srv.esplora_url, start_height=961632, batch_rows=2)
        assert store.tip_height() == 961639 and store.counts()["blocks"] == 8


@pytest.mark.slow
def test_server_dying_mid_sync_keeps_whole_batches_and_resumes(data_dir: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    chain.rest = False  # a node without -rest: batched JSON-RPC
    chain.dead_after = 2 + 2 * 3  # tip, the REST probe, then three runs of (hashes, headers) requests
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        with pytest.raises(HashlensError, match="rerun the sync to resume"):
            sync(store, srv.rpc_url, start_height=961632, batch_rows=2)
        heights = [r[0] for r in blocks(store)]
        assert heights == list(range(961632, 961632 + len(heights))) and len(heights) % 2 == 0
        assert 0 < len(heights) < 8
        chain.dead_after = None
        sync(store, srv.rpc_url, batch_rows=2)
        sync(whole, srv.rpc_url, start_height=961632, batch_rows=2)
        assert blocks(store) == blocks(whole)


def test_rpc_auth_and_cookie(data_dir: Path, tmp_path: Path, new_store: Callable[[], Store]) -> None:
    chain = run_chain(data_dir)
    with ReplayServer(chain) as srv, new_store() as store:
        with pytest.raises(HashlensError, match="authentication failed"):
            sync(store, f"bitcoind://hashlens:wrong@127.0.0.1:{srv.port}", start_height=961632)
        cookie = tmp_path / ".cookie"
        cookie.write_text("hashlens:replay")
        sync(store, f"bitcoind://127.0.0.1:{srv.port}", start_height=961632, cookie_file=str(cookie))
        assert store.counts()["blocks"] == 8


@pytest.mark.slow
def test_rollback_forgets_periods_only_a_header_above_proved(
    shared_chain: SharedChain, data_dir: Path, new_store: Callable[[], Store]
) -> None:
    chain = periods_chain(shared_chain)
    fork = 100 * 2016 + 5  # inside period 100
    # bitcoinj's period-start headers above the fork: all but the 100 at 2016 .. 100 * 2016
    counted = chain_folder_counts(data_dir)
    above = len([h for h in counted.header_heights if h > fork])
    assert above == counted.period_start_headers - 100
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        sync(store, srv.rpc_url, periods_only=True, batch_rows=50)
        client = f"bitcoind://127.0.0.1:{srv.port}"  # the name the periods-only rows carry
        assert roll_back(store, fork, client) == above
        periods = {p: f.last_block_hash for p, f in store.period_facts().items()}
        # Periods 101.. were proved only by their first header, above the fork: gone.
        assert sorted(periods) == list(range(101))
        # Period 100's last block (203,615) is above the fork: its hash is forgotten; earlier ones stay.
        assert periods[100] is None
        assert all(periods[p.period] == p.last_block_hash for p in shared_chain.electrum[:100])
        assert store.tip_height() == 100 * 2016
        # The next sync fetches them again, to the same store as one uninterrupted sync.
        assert sync(store, srv.rpc_url, periods_only=True)[0].added == above
        sync(whole, srv.rpc_url, periods_only=True, batch_rows=50)
        assert blocks(store) == blocks(whole)
        assert store.table_contents("periods") == whole.table_contents("periods")


@pytest.mark.slow
def test_a_periods_only_store_rolled_back_across_retargets_resyncs_from_another_node(
    shared_chain: SharedChain, data_dir: Path, new_store: Callable[[], Store]
) -> None:
    chain = periods_chain(shared_chain)
    fork = 300 * 2016 + 7  # inside period 300; the retargets of periods 301 .. are above it
    above = len([h for h in chain_folder_counts(data_dir).header_heights if h > fork])  # 301 * 2016 ..
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        sync(store, srv.rpc_url, periods_only=True, batch_rows=100)
        roll_back(store, fork, "a node on another branch")
        assert max(store.period_facts()) == 300
        # The rows of the rolled-back periods were written under the RPC node's name; Esplora resyncs them.
        assert sync(store, srv.esplora_url, periods_only=True)[0].added == above
        sync(whole, srv.esplora_url, periods_only=True, batch_rows=100)
        assert blocks(store) == blocks(whole)
        cols = ["period", "start_height", "bits", "target_hex", "last_block_hash"]
        assert store.table_contents("periods", cols) == whole.table_contents("periods", cols)


# -- fork choice: the most work wins (Core's GetBlockProof summed), not the most blocks ---------
def work_of(bits: int) -> int:
    """A block's work from its bits, by hand: 2^256 // (target + 1), the target decoded here."""
    exponent, mantissa = bits >> 24, bits & 0x7FFFFF
    return (1 << 256) // ((mantissa << (8 * (exponent - 3))) + 1)


def with_target_scaled(bits: int, num: int, den: int) -> int:
    """Bits whose target is about ``num/den`` times the target of ``bits`` (compact encoding
    keeps three bytes)."""
    from hashlens.consensus import decode_compact, encode_compact

    return encode_compact(decode_compact(bits)[0] * num // den)


def relinked(headers: list[BlockHeader], parent: str, **change: int) -> list[BlockHeader]:
    """Real headers with one field changed, each then linked to the one before (the first to
    ``parent``): a competing branch as a node on it would have served it."""
    import dataclasses

    out = []
    for hdr in headers:
        x = dataclasses.replace(hdr, prev_hash=bytes.fromhex(parent)[::-1], **change)
        out.append(x)
        parent = x.hash_hex
    return out


@pytest.mark.parametrize(
    ("case", "stored_blocks", "scale", "node_wins"),
    [
        ("the stored branch is longer but lighter: it loses", 6, (2, 1), True),
        ("the stored branch is shorter but heavier: it stays", 3, (1, 2), False),
        ("equal work: the branch seen first (the stored one) stays", 4, (1, 1), False),
    ],
)
def test_fork_choice_is_by_work_on_real_headers(
    data_dir: Path,
    new_store: Callable[[], Store],
    case: str,
    stored_blocks: int,
    scale: tuple[int, int],
    node_wins: bool,
) -> None:
    """The node serves the real run 961,632-961,637 (period 477's bits 0x1702353d). The store
    holds 961,632-961,633 from it and, above, a competing branch: the run's own real headers
    with their bits changed to a target twice (half) as large, relinked; the equal-work case
    changes their nonce instead (same bits)."""
    run = stale_run(data_dir)
    chain = run_chain(data_dir)
    bits = run[961634].bits
    assert bits == 0x1702353D
    with ReplayServer(chain) as srv, new_store() as store, new_store() as fresh:
        chain.tip = 961633
        sync(store, srv.rpc_url, start_height=961632, fee_blocks=0)
        others = [run[h] for h in range(961634, 961634 + stored_blocks)]
        change = {"bits": with_target_scaled(bits, *scale)} if scale != (1, 1) else {"nonce": 0}
        branch = relinked(others, run[961633].hash_hex, **change)
        store.insert_headers([(961634 + i, x, x.hash_hex) for i, x in enumerate(branch)], "another branch", "test")
        before = blocks(store)
        chain.tip = 961637  # the node's branch: four real blocks above the fork at 961,633
        node_work = 4 * work_of(bits)
        stored_work = stored_blocks * work_of(branch[0].bits)
        assert (node_work > stored_work) is node_wins, case
        if node_wins:
            report = sync(store, srv.rpc_url, fee_blocks=0)[0]
            assert any(
                f"rolled back {stored_blocks} block(s) above height 961633" in n
                and f"({node_work:#x} against {stored_work:#x})" in n
                for n in report.notes
            ), report.notes
            sync(fresh, srv.rpc_url, start_height=961632, fee_blocks=0)
            assert blocks(store) == blocks(fresh)
        else:
            with pytest.raises(HashlensError, match="reorganisation refused") as err:
                sync(store, srv.rpc_url, fee_blocks=0)
            assert f"has work {node_work:#x}, not more than the stored branch's {stored_work:#x}" in str(err.value)
            assert blocks(store) == before


@pytest.mark.parametrize(
    ("case", "stored_periods", "scale", "node_wins"),
    [
        ("longer but lighter (targets 4x): the stored branch loses", 20, (4, 1), True),
        ("shorter but heavier (targets 1/4): the stored branch stays", 5, (1, 4), False),
        ("equal work (nonce changed): the stored branch stays", 10, (1, 1), False),
    ],
)
def test_periods_only_fork_choice_across_retargets(
    shared_chain: SharedChain,
    new_store: Callable[[], Store],
    case: str,
    stored_periods: int,
    scale: tuple[int, int],
    node_wins: bool,
) -> None:
    """Periods-only branches cross a retarget at every header: the node serves the real
    period-start headers (bitcoinj's) up to period 400; the store holds them to period 390 and
    a competing branch above: real headers of periods 391 … with one field changed."""
    import dataclasses

    chain = periods_chain(shared_chain)
    by_height = {cp.height: cp.header for cp in shared_chain.checkpoints}
    fork = 390 * 2016
    with ReplayServer(chain) as srv, new_store() as store, new_store() as whole:
        chain.tip = fork
        sync(store, srv.rpc_url, periods_only=True, batch_rows=100, fee_blocks=0)
        competing = []
        for p in range(391, 391 + stored_periods):
            real = by_height[p * 2016]
            if scale == (1, 1):
                competing.append(dataclasses.replace(real, nonce=real.nonce ^ 1))
            else:
                competing.append(dataclasses.replace(real, bits=with_target_scaled(real.bits, *scale)))
        store.insert_headers([(p * 2016, x, x.hash_hex) for p, x in enumerate(competing, start=391)], "other", "t")
        before = blocks(store)
        chain.tip = 400 * 2016
        if node_wins:
            report = sync(store, srv.rpc_url, periods_only=True, fee_blocks=0)[0]
            assert any(f"above height {fork}: the node's branch has more work" in n for n in report.notes)
            sync(whole, srv.rpc_url, periods_only=True, batch_rows=100, fee_blocks=0)
            assert blocks(store) == blocks(whole)
        else:
            with pytest.raises(HashlensError, match=rf"reorganisation refused.*above height {fork}"):
                sync(store, srv.rpc_url, periods_only=True, fee_blocks=0)
            assert blocks(store) == before
