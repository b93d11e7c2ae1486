"""Coinbases, addresses and pool attribution on real mainnet blocks (tests/pool_fixtures.py) and
on the rules files' own entries; each fixture is first proven against the shared data."""

from __future__ import annotations

import csv
import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from hashlens.errors import HashlensError
from hashlens.pools.attribution import attribute, attribute_blocks, attribute_loop, reattribute, store_api_pools
from hashlens.pools.rules import compile_rules, fold
from hashlens.sources.addresses import (
    address_to_script,
    b58check_decode,
    script_to_address,
    segwit_decode,
    segwit_encode,
    sha256d,
)
from hashlens.sources.checkpoints import read_bitcoinj
from hashlens.sources.coinbase import (
    Coinbase,
    api_pools_from_blocks,
    coinbase_from_block,
    coinbase_from_getblock,
    coinbase_from_rest,
    coinbase_from_rpc,
    coinbase_from_tx,
    fetch_api_pools,
)
from hashlens.sources.pool_files import read_rules
from hashlens.store import Store
from tests import pool_fixtures as fx

RULES = ("known-mining-pools.json", "mempool-pools-v2.json")


@pytest.fixture(scope="module")
def rules(data_dir: Path) -> dict[str, object]:
    return {name: compile_rules(read_rules(data_dir / "pools" / name)) for name in RULES}


@pytest.fixture(scope="module")
def stats_hashes(data_dir: Path) -> dict[int, str]:
    """Block hashes of the block-stats file at the heights the fixtures name."""
    want = {501726, 501728, 779832}
    out = {}
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        for row in csv.DictReader(fh):
            h = int(row["height"])
            if h in want:
                out[h] = row["blockhash"]
    return out


@pytest.fixture(scope="module")
def canhui(data_dir: Path) -> dict[int, str]:
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        return {int(r["blockid"]): r["miningpool"] for r in csv.DictReader(fh)}


def _merkle_root(txid_hex: str, branch_hex: str) -> bytes:
    """The merkle root reached from the first transaction along its branch (Core's
    ``ComputeMerkleRootFromBranch`` for index 0: the node is always the left child)."""
    node = bytes.fromhex(txid_hex)[::-1]
    branch = bytes.fromhex(branch_hex)
    for i in range(0, len(branch), 32):
        node = sha256d(node + branch[i : i + 32])
    return node


# -- the fixtures are what they claim ------------------------------------------------------------------
def test_whole_blocks_hash_to_the_block_stats_hashes(stats_hashes: dict[int, str]) -> None:
    for raw_hex, height in ((fx.BLOCK_501728, 501728), (fx.BLOCK_501726, 501726)):
        raw = bytes.fromhex(raw_hex)
        cb = coinbase_from_block(raw)
        assert cb.block_hash == stats_hashes[height]
        assert cb.height == height  # BIP 34's height in the scriptSig
        # one transaction: the coinbase's txid is the header's merkle root
        assert raw[80] == 1 and bytes.fromhex(str(cb.txid))[::-1] == raw[36:68]


def test_coinbase_481824_is_in_the_bitcoinj_checkpoint_block(data_dir: Path) -> None:
    header = bytes.fromhex(fx.HEADER_481824)
    cps = read_bitcoinj(data_dir / "chain/bitcoinj-mainnet-checkpoints.txt")
    at = next(c for c in cps if c.height == 481824)
    assert at.raw_header == header
    cb = coinbase_from_tx(fx.COINBASE_481824)
    assert cb.height == 481824
    assert _merkle_root(str(cb.txid), fx.BRANCH_481824) == header[36:68]


def test_coinbase_779832_is_in_the_block_stats_block(stats_hashes: dict[int, str]) -> None:
    header = bytes.fromhex(fx.HEADER_779832)
    assert sha256d(header)[::-1].hex() == stats_hashes[779832]
    cb = coinbase_from_tx(fx.COINBASE_779832)
    assert cb.height == 779832
    assert _merkle_root(str(cb.txid), fx.BRANCH_779832) == header[36:68]


def test_block_334720_and_the_mempool_message_hash_to_their_ids() -> None:
    assert coinbase_from_block(bytes.fromhex(fx.BLOCK_334720)).block_hash == fx.BLOCK_334720_HASH
    header = bytes.fromhex(fx.MEMPOOL_BLOCK_810613["extras"]["header"])  # type: ignore[index]
    assert sha256d(header)[::-1].hex() == fx.MEMPOOL_BLOCK_810613["id"]


# -- parsing ---------------------------------------------------------------------------------------------
def test_a_segwit_coinbase_parses_the_same_from_its_json_and_its_hex() -> None:
    tx = fx.GETBLOCK_905349_TX0
    from_hex = coinbase_from_tx(str(tx["hex"]))
    from_json = coinbase_from_getblock({"hash": fx.HASH_905349, "height": 905349, "tx": [tx]})
    assert from_hex.txid == tx["txid"]  # the txid skips the witness
    assert from_json.script_sig == from_hex.script_sig and from_json.output_scripts == from_hex.output_scripts
    assert from_json.height == from_hex.height == 905349
    assert from_json.block_hash == fx.HASH_905349


def test_truncated_and_non_coinbase_input_is_refused() -> None:
    raw = bytes.fromhex(fx.BLOCK_501728)
    with pytest.raises(HashlensError, match="truncated"):
        coinbase_from_block(raw[:150])
    with pytest.raises(HashlensError, match="verbosity 2"):
        coinbase_from_getblock({"tx": ["d236a5a45ddcc90e5f04bd27375f0fe88c4924179b6992a4ce7004393a169f91"]})


# -- addresses -------------------------------------------------------------------------------------------
def test_addresses_of_real_outputs() -> None:
    cb = coinbase_from_tx(fx.COINBASE_779832)
    assert script_to_address(cb.output_scripts[0]) == fx.MEMPOOL_BLOCK_810613["extras"]["coinbaseAddress"]  # type: ignore[index]
    assert script_to_address(cb.output_scripts[1]) is None  # the witness commitment (OP_RETURN)
    vout = fx.GETBLOCK_905349_TX0["vout"][0]["scriptPubKey"]  # type: ignore[index]
    assert script_to_address(bytes.fromhex(vout["hex"])) == vout["address"]  # P2WSH
    assert script_to_address(coinbase_from_block(bytes.fromhex(fx.BLOCK_501728)).output_scripts[0]) == (
        "1NS4gbx1G2D5rc9PnvVsPys12nKxGiQg72"
    )


def test_every_rules_address_round_trips(data_dir: Path) -> None:
    n = 0
    for name in RULES:
        for p in read_rules(data_dir / "pools" / name).pools:
            for a in p.addresses:
                if a[0] in "13" or a.startswith("bc1"):
                    assert script_to_address(address_to_script(a)) == a.lower() if a.startswith("bc1") else a
                    n += 1
    assert n > 400  # 153 + 38 + 9 and 164 + 34 + 12


def test_bech32m_taproot_from_the_rules_file_and_bip350() -> None:
    # mempool-pools-v2.json's one taproot address; BIP 350's P2TR test vector.
    for a in (
        "bc1p8k4v4xuz55dv49svzjg43qjxq2whur7ync9tm0xgl5t4wjl9ca9snxgmlt",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ):
        script = address_to_script(a)
        assert script[0] == 0x51 and script[1] == 32 and segwit_encode(1, script[2:]) == a
    # BIP 350: a version-1 program in bech32 (not bech32m) is invalid
    with pytest.raises(HashlensError):
        segwit_decode("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd")
    with pytest.raises(HashlensError, match="checksum"):
        b58check_decode("1NS4gbx1G2D5rc9PnvVsPys12nKxGiQg73")


# -- attribution on real blocks ---------------------------------------------------------------------------
def test_real_blocks_are_attributed_as_canhui_labels_them(rules: dict[str, object], canhui: dict[int, str]) -> None:
    cbs = [coinbase_from_block(bytes.fromhex(fx.BLOCK_501728)), coinbase_from_tx(fx.COINBASE_481824)]
    for compiled in rules.values():
        for order in ("address-first", "mempool"):
            att = attribute(cbs, compiled, order)  # type: ignore[arg-type]
            assert att.pools() == [canhui[501728], canhui[481824]] == ["AntPool", "BTCC"]
            assert att.methods() == ["address", "address"]
    unknown = attribute([coinbase_from_block(bytes.fromhex(fx.BLOCK_501726))], rules[RULES[1]])  # type: ignore[arg-type]
    assert unknown.pools() == [canhui[501726]] == ["unknown"]


def test_foundry_by_payout_address_and_by_tag(rules: dict[str, object]) -> None:
    v2 = rules["mempool-pools-v2.json"]
    cb = coinbase_from_tx(fx.COINBASE_779832)
    att = attribute([cb, Coinbase(cb.height, None, cb.script_sig, ())], v2)  # type: ignore[arg-type]
    assert att.pools() == ["Foundry USA", "Foundry USA"] and att.methods() == ["address", "tag"]
    # The P2WSH payout of 905,349 is in known-mining-pools.json's Foundry entry.
    old = attribute([coinbase_from_getblock({"tx": [fx.GETBLOCK_905349_TX0]})], rules["known-mining-pools.json"])  # type: ignore[arg-type]
    assert old.pools() == ["Foundry USA"] and old.methods() == ["address"]


def test_a_tag_in_utf8_matches_where_latin1_text_cannot(rules: dict[str, object]) -> None:
    cb = coinbase_from_block(bytes.fromhex(fx.BLOCK_334720))
    tag_only = Coinbase(cb.height, None, cb.script_sig, ())
    assert "七彩神仙鱼" not in cb.tag_text  # mempool reads a byte per character
    for compiled in rules.values():
        att = attribute([cb, tag_only], compiled)  # type: ignore[arg-type]
        assert att.pools() == ["F2Pool", "F2Pool"] and att.methods() == ["address", "tag"]


def test_the_mempool_api_names_the_pool_the_rules_find(rules: dict[str, object]) -> None:
    [api] = api_pools_from_blocks([fx.MEMPOOL_BLOCK_810613])
    assert (api.height, api.pool, api.slug) == (810613, "Foundry USA", "foundryusa")
    assert api.coinbase is not None
    att = attribute([api.coinbase], rules["mempool-pools-v2.json"])  # type: ignore[arg-type]
    assert att.pools() == [api.pool]
    with pytest.raises(HashlensError, match=r"extras\.pool"):
        api_pools_from_blocks([{"id": "00", "height": 1, "extras": {}}])


# -- the rules files' own entries ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", RULES)
def test_each_tag_and_address_of_a_rules_file_finds_its_pool(data_dir: Path, name: str) -> None:
    rf = read_rules(data_dir / "pools" / name)
    compiled = compile_rules(rf)
    tag_cbs, tag_owner, addr_cbs, addr_owner = [], [], [], []
    for i, p in enumerate(rf.pools):
        for t in p.tags:
            tag_cbs.append(Coinbase(None, None, t.encode("utf-8"), ()))
            tag_owner.append(i)
        for a in p.addresses:
            if a[0] in "13" or a.startswith("bc1"):
                addr_cbs.append(Coinbase(None, None, b"\x03\x00\x00\x00", (address_to_script(a),)))
                addr_owner.append(i)
    for order in ("address-first", "mempool"):
        got = attribute(tag_cbs, compiled, order).pool_index
        assert (got == attribute_loop(tag_cbs, compiled, order).pool_index).all()
        for cb, own, won in zip(tag_cbs, tag_owner, got.tolist(), strict=True):
            # its own pool, or an earlier pool one of whose tags is inside it
            assert won == own or (won < own and any(t in fold(cb.script_sig) for t, j in compiled.tags if j == won)), (
                cb.script_sig,
                rf.pools[own].name,
                rf.pools[won].name,
            )
        addr = attribute(addr_cbs, compiled, order)
        assert addr.pool_index.tolist() == addr_owner and set(addr.methods()) == {"address"}


def test_vectorised_and_loop_agree_on_every_order(rules: dict[str, object]) -> None:
    cbs = [
        coinbase_from_block(bytes.fromhex(fx.BLOCK_501728)),
        coinbase_from_block(bytes.fromhex(fx.BLOCK_501726)),
        coinbase_from_block(bytes.fromhex(fx.BLOCK_334720)),
        coinbase_from_tx(fx.COINBASE_481824),
        coinbase_from_tx(fx.COINBASE_779832),
        coinbase_from_tx(str(fx.GETBLOCK_905349_TX0["hex"])),
    ]
    for compiled in rules.values():
        for order in ("address-first", "mempool"):
            a, b = attribute(cbs, compiled, order), attribute_loop(cbs, compiled, order)  # type: ignore[arg-type]
            assert a.pools() == b.pools() and a.methods() == b.methods()
    with pytest.raises(HashlensError, match="order"):
        attribute(cbs, rules[RULES[0]], "tags-first")  # type: ignore[arg-type]


# -- storing, re-attributing, clients ------------------------------------------------------------------------
def test_attribution_is_stored_with_its_rules_and_redone_when_they_change(data_dir: Path, tmp_path: Path) -> None:
    cbs = [coinbase_from_block(bytes.fromhex(b)) for b in (fx.BLOCK_501726, fx.BLOCK_501728)]
    cbs.append(coinbase_from_tx(fx.COINBASE_481824, block_hash=sha256d(bytes.fromhex(fx.HEADER_481824))[::-1].hex()))
    old = read_rules(data_dir / "pools/known-mining-pools.json")
    new = read_rules(data_dir / "pools/mempool-pools-v2.json")
    with Store(tmp_path / "p.duckdb") as s:
        first = attribute_blocks(s, cbs, old, origin="fixtures")
        assert (first.blocks, first.by_address, first.unknown) == (3, 2, 1)
        rows = s.pool_block_rows("coinbase", 0, 10**7)
        assert [(h, p, r) for h, _, p, _, r in rows] == [
            (481824, "BTCC", old.rules_id),
            (501726, "unknown", old.rules_id),
            (501728, "AntPool", old.rules_id),
        ]
        again = reattribute(s, new)
        assert again.blocks == 3 and again.replaced == 0
        assert {r for *_, r in s.pool_block_rows("coinbase", 0, 10**7)} == {new.rules_id}
        assert s.pool_rules_text(old.rules_id) == old.text
        # the API's pools stay apart from hashlens' own
        [api] = api_pools_from_blocks([fx.MEMPOOL_BLOCK_810613])
        assert store_api_pools(s, [api]) == 1
        assert {x["source"] for x in s.pool_sources()} == {"coinbase", "mempool-api"}


class _Replay(http.server.BaseHTTPRequestHandler):
    """Serves recorded answers by path (a loopback stand-in for a node or an API)."""

    answers: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.answers.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replay() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:
        return bytes(r.read())


def test_rest_rpc_and_mempool_api_clients(replay: str) -> None:
    raw = bytes.fromhex(fx.BLOCK_501728)
    good = coinbase_from_block(raw).block_hash
    _Replay.answers = {
        f"/rest/block/{good}.bin": raw,
        "/rest/block/" + "00" * 32 + ".bin": raw,  # a node answering for another block
        "/api/v1/blocks/810613": json.dumps([fx.MEMPOOL_BLOCK_810613]).encode(),
    }
    cb = coinbase_from_rest(_fetch, replay, str(good))
    assert cb.height == 501728 and cb.output_scripts[0].hex().startswith("76a914")
    with pytest.raises(HashlensError, match="asked for block"):
        coinbase_from_rest(_fetch, replay, "00" * 32)
    [api] = fetch_api_pools(_fetch, replay + "/api", [810613])
    assert api.pool == "Foundry USA"
    block = {"hash": fx.HASH_905349, "height": 905349, "tx": [fx.GETBLOCK_905349_TX0]}
    got = coinbase_from_rpc(
        lambda method, params: block if (method, params) == ("getblock", [fx.HASH_905349, 2]) else None, fx.HASH_905349
    )
    assert got.txid == fx.GETBLOCK_905349_TX0["txid"]


def test_attribution_keeps_pace_with_a_large_batch(rules: dict[str, object]) -> None:
    """The automaton over a long batch gives what each block alone gives (state never leaks
    from one row to the next)."""
    cbs = [
        coinbase_from_block(bytes.fromhex(fx.BLOCK_334720)),
        coinbase_from_block(bytes.fromhex(fx.BLOCK_501726)),
        coinbase_from_tx(fx.COINBASE_779832),
    ] * 500
    compiled = rules["mempool-pools-v2.json"]
    whole = attribute(cbs, compiled).pool_index  # type: ignore[arg-type]
    single = np.array([attribute([c], compiled).pool_index[0] for c in cbs[:3]])  # type: ignore[arg-type]
    assert (whole.reshape(-1, 3) == single).all()


def test_new_blocks_with_new_rules_bring_the_stored_ones_along(data_dir: Path, tmp_path: Path) -> None:
    from tests.pool_fixtures import coinbases

    cbs = coinbases()
    old = read_rules(data_dir / "pools/known-mining-pools.json")
    new = read_rules(data_dir / "pools/mempool-pools-v2.json")
    with Store(tmp_path / "q.duckdb") as s:
        attribute_blocks(s, cbs[:3], old, origin="fixtures")  # type: ignore[arg-type]
        attribute_blocks(s, cbs[3:], new, origin="fixtures")  # type: ignore[arg-type]
        rows = s.pool_block_rows("coinbase", 0, 10**7)
        assert len(rows) == 6 and {r for *_, r in rows} == {new.rules_id}
        assert s.pool_rules_ids("coinbase") == [new.rules_id]
