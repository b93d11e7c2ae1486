"""Bulk node sync: Core's REST headers (with fallback to batched JSON-RPC), the columnar
check of a run against the header-by-header rules, and per-block fees from the node."""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from hashlens.chain import importers
from hashlens.chain.sync import sync
from hashlens.consensus import BlockHeader, HeaderRefused, check_header
from hashlens.consensus.contextual import MAINNET, REGTEST, ChainParams, check_header_run
from hashlens.errors import HashlensError
from hashlens.store import Store
from tests.facts import SharedChain
from tests.replay import ReplayServer, mine_regtest_chain, read_stats_rows
from tests.test_remote_sync import blocks, periods_chain, run_chain

NOW = 1_900_000_000  # a reference time after every header used here [Unix s]


def test_rest_and_rpc_batches_store_identical_rows(data_dir: Path) -> None:
    rest_chain, rpc_chain = run_chain(data_dir), run_chain(data_dir)
    rpc_chain.rest = False  # a node started without -rest
    with ReplayServer(rest_chain) as a_srv, ReplayServer(rpc_chain) as b_srv, Store() as a, Store() as b:
        ra = sync(a, a_srv.rpc_url, start_height=961632, batch_rows=3)[0]
        rb = sync(b, b_srv.rpc_url, start_height=961632, batch_rows=3)[0]
        assert blocks(a) == blocks(b)
        assert [r[0] for r in blocks(a)] == list(range(961632, 961640))
        assert "headers over REST /rest/headers (2,000 a request)" in ra.notes
        assert "headers over batched JSON-RPC (the node has no -rest)" in rb.notes
        # The REST-only URL form reaches the same rows.
        with Store() as c:
            sync(c, f"bitcoind+rest://127.0.0.1:{a_srv.port}", start_height=961632, batch_rows=5)
            assert blocks(c) == blocks(a)
        with Store() as d, pytest.raises(HashlensError, match="runs without -rest"):
            sync(d, f"bitcoind+rest://127.0.0.1:{b_srv.port}", start_height=961632)


def test_rest_headers_both_url_forms(data_dir: Path) -> None:
    chain = run_chain(data_dir)
    import urllib.request

    with ReplayServer(chain) as srv:
        first = chain.hashes[961632]
        base = f"http://127.0.0.1:{srv.port}/rest"
        new = urllib.request.urlopen(f"{base}/headers/{first}.bin?count=8").read()
        old = urllib.request.urlopen(f"{base}/headers/8/{first}.bin").read()
        assert new == old == b"".join(chain.headers[chain.hashes[h]] for h in range(961632, 961640))
        assert urllib.request.urlopen(f"{base}/blockhashbyheight/961635.bin").read()[::-1].hex() == chain.hashes[961635]


@pytest.mark.parametrize("body", [b"\x00" * 100, b"\x00" * 79])
def test_a_malformed_rest_body_is_one_line(data_dir: Path, body: bytes) -> None:
    chain = run_chain(data_dir)
    chain.rest_body = body
    with ReplayServer(chain) as srv, Store() as store:
        with pytest.raises(HashlensError, match="not a whole number of 80-byte headers") as err:
            sync(store, srv.rpc_url, start_height=961632)
        assert "\n" not in str(err.value)
        assert store.counts()["blocks"] == 0


def test_a_short_rest_reply_is_refused(data_dir: Path) -> None:
    chain = run_chain(data_dir)
    chain.rest_body = chain.headers[chain.hashes[961632]]  # one whole header where eight were asked
    with (
        ReplayServer(chain) as srv,
        Store() as store,
        pytest.raises(HashlensError, match=r"1 header.*where 8 were asked.*rerun"),
    ):
        sync(store, srv.rpc_url, start_height=961632)


@pytest.mark.slow
def test_rest_sync_resumes_after_the_node_dies(data_dir: Path) -> None:
    chain = run_chain(data_dir)
    chain.dead_after = 5  # tip, the REST probe, the first hash, two header runs
    with ReplayServer(chain) as srv, Store() as store, Store() as whole:
        with pytest.raises(HashlensError, match="rerun the sync to resume"):
            sync(store, srv.rpc_url, start_height=961632, batch_rows=2, fee_blocks=0)
        heights = [r[0] for r in blocks(store)]
        assert heights == list(range(961632, 961632 + len(heights))) and 0 < len(heights) < 8
        chain.dead_after = None
        sync(store, srv.rpc_url, batch_rows=2)
        sync(whole, srv.rpc_url, start_height=961632, batch_rows=2)
        assert blocks(store) == blocks(whole)


def shared_fees(data_dir: Path, heights: set[int]) -> dict[int, tuple[str, int]]:
    """(blockhash, totalfee) of the shared block-stats file, read here with the csv module."""
    out = {}
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if int(row["height"]) in heights:
                out[int(row["height"])] = (row["blockhash"], int(float(row["totalfee"])))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("via", ["rpc", "esplora"])
def test_node_fees_stored_equal_the_shared_file(data_dir: Path, shared_chain: SharedChain, via: str) -> None:
    chain = periods_chain(shared_chain)
    heights = {cp.height for cp in shared_chain.checkpoints}
    chain.stats = read_stats_rows(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", heights)
    expected = shared_fees(data_dir, heights)
    # Period starts the file covers, with their real block hashes (the checkpoints' own).
    expected = {h: fee for h, (x, fee) in expected.items() if chain.hashes.get(h) == x}
    assert len(expected) >= 20
    with ReplayServer(chain) as srv, Store() as store:
        url = srv.rpc_url if via == "rpc" else srv.esplora_url + "/api"
        report = sync(store, url, periods_only=True, batch_rows=100, fee_blocks=None)[0]
        got = dict(store.table_contents("block_stats", ["height", "totalfee_sat"]))
        assert got == expected
        assert f"fees of {len(expected)} block(s) stored" in report.notes
        if via == "rpc":
            assert any("gave no getblockstats for" in n for n in report.notes)  # heights the file lacks
        # A rerun asks for nothing new.
        again = sync(store, url, periods_only=True, fee_blocks=None)[0]
        assert not any(n.startswith("fees of") for n in again.notes)


# -- the columnar check against the header-by-header rules ---------------------------------
class Known:
    """A chain context from plain dicts."""

    def __init__(self, raws: dict[int, bytes], period_bits: dict[int, int] | None = None) -> None:
        self.h = {k: BlockHeader.parse(v) for k, v in raws.items()}
        self.pb = period_bits or {}

    def hash_at(self, height: int) -> str | None:
        return self.h[height].hash_hex if height in self.h else None

    def time_at(self, height: int) -> int | None:
        return self.h[height].time if height in self.h else None

    def bits_at(self, height: int) -> int | None:
        return self.h[height].bits if height in self.h else None

    def period_bits(self, period: int) -> int | None:
        return self.pb.get(period)


def one_by_one(ctx: Known, height0: int, raws: list[bytes], params: ChainParams) -> tuple[str, Counter[str]]:
    """check_header over the run, each header added to the context once it passes."""
    unchecked: Counter[str] = Counter()
    seen = dict(ctx.h)
    for i, raw in enumerate(raws):
        hdr = BlockHeader.parse(raw)
        view = Known({})
        view.h, view.pb = seen, ctx.pb
        try:
            unchecked.update(check_header(view, height0 + i, hdr, "t", NOW, params).unchecked)
        except HeaderRefused as exc:
            return str(exc), unchecked
        seen[height0 + i] = hdr
    return "ok", unchecked


def remine(raws: list[bytes], i: int, **change: int) -> list[bytes]:
    """Change header i's fields, then re-mine it and relink and re-mine every header above."""
    import hashlib
    import struct

    from hashlens.consensus.header import pow_target

    sha = hashlib.sha256
    fields = list(struct.unpack("<i32s32sIII", raws[i]))
    names = ["version", "prev", "merkle", "time", "bits", "nonce"]
    for k, v in change.items():
        fields[names.index(k)] = v
    out = raws[:i]
    prev = None
    for j in range(i, len(raws)):
        f = fields if j == i else list(struct.unpack("<i32s32sIII", raws[j]))
        if prev is not None:
            f[1] = prev
        target = pow_target(f[4], REGTEST.pow_limit) or pow_target(0x207FFFFF, REGTEST.pow_limit)
        assert target is not None
        f[5] = 0
        while True:
            raw = struct.pack("<i32s32sIII", *f)
            digest = sha(sha(raw).digest()).digest()
            if int.from_bytes(digest, "little") <= target:
                break
            f[5] += 1
        out.append(raw)
        prev = digest
    return out


def test_run_check_agrees_with_header_by_header_rules() -> None:
    raws = mine_regtest_chain(400)
    cases: list[tuple[str, list[bytes], str]] = [("valid", raws, "ok")]
    t = lambda i: int.from_bytes(raws[i][68:72], "little")  # noqa: E731
    cases += [
        ("time at the median of 11", remine(raws, 200, time=t(194)), r"height 200\).*rule time-too-old"),
        ("time too new", remine(raws, 300, time=NOW + 7201), r"height 300\).*rule time-too-new"),
        ("version below BIP34", remine(raws, 250, version=1), r"height 250\).*rule bad-version"),
        ("bits off the min-difficulty rule", remine(raws, 201, bits=0x1F7FFFFF), r"height 201\).*rule bad-diffbits"),
        ("late block keeps its bits", remine(raws, 202, time=t(201) + 1201), "ok"),
        ("prev hash broken", raws[:150] + raws[151:], r"height 150\).*rule bad-prevblk"),
    ]
    for name, run, rule in cases:
        for split in (0, 13, 144, 288):  # the run starting above a stored prefix
            ctx = Known(dict(enumerate(run[:split])))
            want, want_unchecked = one_by_one(ctx, split, run[split:], REGTEST)
            try:
                got_run = check_header_run(ctx, split, b"".join(run[split:]), "t", NOW, REGTEST)
                got, got_unchecked = "ok", Counter(got_run.unchecked)
            except HeaderRefused as exc:
                got, got_unchecked = str(exc), want_unchecked
            assert got == want, (name, split)
            at = int(m.group(1)) if (m := re.search(r"height (\d+)", rule)) else -1
            assert re.search(rule, got) if split <= at else got == "ok", (name, split, got)
            assert +got_unchecked == +want_unchecked, (name, split)
    # The genesis block is the chain's own: regtest's genesis is not mainnet's.
    # (under mainnet's rules its bits are above the pow limit: Core refuses the work first)
    with pytest.raises(HeaderRefused, match="rule high-hash"):
        check_header_run(Known({}), 0, raws[0], "t", NOW, MAINNET)
    assert check_header_run(Known({}), 0, raws[0], "t", NOW, REGTEST).hash_at(0) == REGTEST.genesis_hash


def test_runs_with_gaps_are_checked_as_header_by_header() -> None:
    """check_header_runs (a checkpoint file's path: runs of consecutive heights with gaps
    between, checked in one pass) against check_header over the same headers, lowest first,
    each added to the context once it passes; the gaps leave the rules that reach into them
    undecided, which both must count alike."""
    import numpy as np

    from hashlens.consensus.contextual import BAD_DIFFBITS, TIME_TOO_OLD, check_header_runs

    raws = mine_regtest_chain(400)
    t = lambda i: int.from_bytes(raws[i][68:72], "little")  # noqa: E731
    cases: list[tuple[str, list[bytes]]] = [
        ("valid", raws),
        ("time at the median of 11", remine(raws, 200, time=t(194))),
        # a run's first header above the context: its window is the context's
        ("time at the median, above the context", remine(raws, 13, time=sorted(t(i) for i in range(2, 13))[5])),
        ("bits off the min-difficulty rule", remine(raws, 201, bits=0x1F7FFFFF)),
        ("version below BIP34", remine(raws, 333, version=1)),
    ]
    gaps = [range(20, 23), range(125, 140), range(150, 151), range(260, 300), range(301, 302), range(303, 304)]
    skip = {h for g in gaps for h in g}
    for name, chain in cases:
        refused = 0
        # the context: nothing, the first 13 headers, or headers 105 .. 112 alone (a run above
        # it sees 8 known times below, then none)
        for lo, hi in ((0, 0), (0, 13), (105, 113)):
            ctx = Known({h: chain[h] for h in range(lo, hi)})
            heights = [h for h in range(hi, len(chain)) if h not in skip]
            unchecked: Counter[str] = Counter()
            seen = dict(ctx.h)
            want = "ok"
            for h in heights:
                view = Known({})
                view.h, view.pb = seen, ctx.pb
                try:
                    unchecked.update(check_header(view, h, BlockHeader.parse(chain[h]), "t", NOW, REGTEST).unchecked)
                except HeaderRefused as exc:
                    want = str(exc)
                    break
                seen[h] = BlockHeader.parse(chain[h])
            try:
                run = check_header_runs(
                    ctx, np.asarray(heights), b"".join(chain[h] for h in heights), "t", NOW, REGTEST
                )
                got, got_unchecked = "ok", Counter(run.unchecked)
            except HeaderRefused as exc:
                got, got_unchecked = str(exc), unchecked
            assert got == want, (name, lo, hi)
            assert +got_unchecked == +unchecked, (name, lo, hi)
            refused += want != "ok"
        assert (refused == 0) == (name == "valid"), name
        if name == "valid":
            assert unchecked[TIME_TOO_OLD] > 0 and unchecked[BAD_DIFFBITS] > 0  # the gaps leave rules undecided


def test_run_check_of_real_mainnet_headers(data_dir: Path) -> None:
    run = run_chain(data_dir)
    raws = [run.headers[run.hashes[h]] for h in range(961632, 961640)]
    for pb in ({}, {961632 // 2016: 0x1702353D}, {961632 // 2016: 0x17023CC1}):
        for split in range(0, 8, 3):
            ctx = Known({961632 + i: raws[i] for i in range(split)}, pb)
            want, want_unchecked = one_by_one(ctx, 961632 + split, raws[split:], MAINNET)
            try:
                got_run = check_header_run(ctx, 961632 + split, b"".join(raws[split:]), "t", NOW)
                assert want == "ok" and +Counter(got_run.unchecked) == +want_unchecked
            except HeaderRefused as exc:
                assert str(exc) == want


def test_a_refused_run_leaves_every_earlier_run_committed(new_store: Callable[[], Store]) -> None:
    # Runs of 100: while run 200-299 is checked, run 100-199 is still being written; the
    # refusal at height 250 must come after that write commits whole, and nothing of its own run.
    from tests.replay import chain_of

    raws = remine(mine_regtest_chain(400), 250, version=1)
    with ReplayServer(chain_of(raws)) as srv, new_store() as store:
        with pytest.raises(HeaderRefused, match=r"height 250\).*rule bad-version"):
            sync(store, srv.rpc_url, batch_rows=100, now=NOW, params=REGTEST, fee_blocks=0)
        assert [r[0] for r in blocks(store)] == list(range(200))
        # The rows are the node's own headers: the first 200 hashes as chain_of named them.
        assert store.header_hashes(0, 199) == {h: chain_of(raws).hashes[h] for h in range(200)}


@pytest.mark.parametrize(("field", "value", "words"), [("subsidy", 625_000_001, "subsidy"), ("txs", 2**31, "txs")])
def test_a_node_whose_block_stats_break_consensus_is_refused(
    data_dir: Path, shared_chain: SharedChain, field: str, value: int, words: str
) -> None:
    """The node's getblockstats meet the file's checks: a subsidy that is not the height's, or a
    transaction count no block can hold, is refused on one line and nothing is stored."""
    chain = periods_chain(shared_chain)
    heights = {cp.height for cp in shared_chain.checkpoints}
    chain.stats = read_stats_rows(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", heights)
    lied = max(h for h in chain.stats if chain.hashes.get(h) == chain.stats[h]["blockhash"])
    chain.stats[lied] = {**chain.stats[lied], field: value}
    with ReplayServer(chain) as srv, Store() as store:
        with pytest.raises(HashlensError, match=rf"height {lied}: {words}"):
            sync(store, srv.rpc_url, periods_only=True, batch_rows=100, fee_blocks=None)
        assert store.counts()["block_stats"] == 0


# -- fork choice on regtest-rule chains: every block proves 2, so the longer branch wins ---------
def mine_on(raws: list[bytes], k: int, salt: int) -> list[bytes]:
    """``raws`` and ``k`` more regtest-rule headers mined on top (times 1 s apart; ``salt``
    makes their merkle roots differ from another branch's)."""
    import hashlib
    import struct

    from hashlens.consensus.header import pow_target

    sha = hashlib.sha256
    target = pow_target(0x207FFFFF, REGTEST.pow_limit)
    assert target is not None
    out = list(raws)
    prev = sha(sha(out[-1]).digest()).digest()
    t = int.from_bytes(out[-1][68:72], "little")
    for i in range(k):
        merkle = sha(f"{salt}:{len(out)}".encode()).digest()
        nonce = 0
        while True:
            raw = struct.pack("<i32s32sIII", 0x20000000, prev, merkle, t + 1 + i, 0x207FFFFF, nonce)
            digest = sha(sha(raw).digest()).digest()
            if int.from_bytes(digest, "little") <= target:
                break
            nonce += 1
        out.append(raw)
        prev = digest
    return out


@pytest.mark.parametrize(("node_len", "node_wins"), [(170, True), (160, False), (150, False)])
def test_regtest_fork_choice_across_a_retarget_height(
    new_store: Callable[[], Store], node_len: int, node_wins: bool
) -> None:
    """Regtest's rules (Core's chainparams: pow limit 0x207fffff, periods of 144 blocks and no
    retargeting) make every block prove the same work, 2 hashes (Core's chainwork of regtest's
    genesis is 0x02). Two branches forking at 139 cross the period boundary at 144: the stored
    one holds 160 blocks above the fork; the node's 170 wins, 160 (equal work) and 150 lose."""
    from tests.replay import chain_of

    base = mine_regtest_chain(140)  # heights 0 … 139: the common part
    stored_branch = mine_on(base, 160, salt=1)
    node_branch = mine_on(base, node_len, salt=2)
    chain = chain_of(stored_branch)
    with ReplayServer(chain) as srv, new_store() as store, new_store() as fresh:
        sync(store, srv.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)
        assert store.tip_height() == 299
        before = blocks(store)
        other = chain_of(node_branch)
        chain.hashes, chain.headers, chain.tip = other.hashes, other.headers, other.tip
        node_work, stored_work = 2 * node_len, 2 * 160  # by hand: 2 per block above the fork
        if node_wins:
            report = sync(store, srv.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)[0]
            assert (
                f"reorganisation: rolled back 160 block(s) above height 139: the node's branch has more work ({node_work:#x} against {stored_work:#x})"
                in report.notes
            )
            sync(fresh, srv.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)
            assert blocks(store) == blocks(fresh)
            assert store.header_hashes(0, 139 + node_len) == other.hashes
        else:
            with pytest.raises(HashlensError, match="reorganisation refused") as err:
                sync(store, srv.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)
            assert (
                f"above height 139 (to {139 + node_len}) has work {node_work:#x}, not more than the stored branch's {stored_work:#x} (to 299)"
                in str(err.value)
            )
            assert blocks(store) == before


# -- header files through the node's bulk path ---------------------------------------------------
def test_header_files_store_what_a_node_sync_stores(
    tmp_path: Path, new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A raw header file, a `height,header` CSV and a Parquet file of the same regtest-rule chain
    go through the bulk path (hashed in bulk, checked in runs, written as columns) and store
    exactly the rows a node sync of that chain stores; a second import adds nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.replay import chain_of

    raws = mine_regtest_chain(3000)
    (tmp_path / "headers.bin").write_bytes(b"".join(raws))
    (tmp_path / "headers.csv").write_text("height,header\n" + "".join(f"{h},{r.hex()}\n" for h, r in enumerate(raws)))
    pq.write_table(
        pa.table({"height": list(range(len(raws))), "header": [r.hex() for r in raws]}), tmp_path / "headers.parquet"
    )
    with ReplayServer(chain_of(raws)) as node, new_store() as by_node:
        sync(by_node, node.rpc_url, now=NOW, params=REGTEST, fee_blocks=0)
        want = blocks(by_node)
    for name in ("headers.bin", "headers.csv", "headers.parquet"):
        # batches of 1000, each written while the next is checked; and the whole file in one
        # transaction, written after the checks or (a file this size and up) while they run
        for batch_rows, overlap_from in ((1000, None), (None, None), (None, 3000)):
            if overlap_from is not None:
                monkeypatch.setattr(importers, "OVERLAP_MIN_HEADERS", overlap_from)
            with new_store() as s:
                report = sync(s, str(tmp_path / name), now=NOW, params=REGTEST, batch_rows=batch_rows)[0]
                assert (report.added, report.skipped) == (3000, 0), name
                assert blocks(s) == want, name
        with new_store() as s:
            sync(s, str(tmp_path / name), now=NOW, params=REGTEST, batch_rows=1000)
            again = sync(s, str(tmp_path / name), now=NOW, params=REGTEST)[0]
            assert (again.added, again.skipped) == (0, 3000), name


def test_a_refusal_in_a_header_file_names_its_row(
    tmp_path: Path, new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's header breaking a rule is refused on one line naming its place in the file, as
    the header-by-header rules word it; the batches below it are stored whole, nothing of its own."""
    raws = remine(mine_regtest_chain(400), 250, version=1)
    f = tmp_path / "headers.bin"
    f.write_bytes(b"".join(raws))
    with new_store() as s:
        with pytest.raises(HeaderRefused, match=rf"{f}: header 251 \(height 250\): .*rule bad-version"):
            sync(s, str(f), now=NOW, params=REGTEST, batch_rows=100)
        assert [r[0] for r in blocks(s)] == list(range(200))
    csv_file = tmp_path / "headers.csv"
    csv_file.write_text("height,header\n" + "".join(f"{h},{r.hex()}\n" for h, r in enumerate(raws)))
    ok = tmp_path / "below.csv"
    ok.write_text("height,header\n" + "".join(f"{h},{r.hex()}\n" for h, r in enumerate(raws[:250])))
    for overlap_from in (10**9, 0):  # written after the checks, or while they run
        monkeypatch.setattr(importers, "OVERLAP_MIN_HEADERS", overlap_from)
        with new_store() as s:
            # one transaction for the file: rolled back, nothing stored
            with pytest.raises(HeaderRefused, match=rf"{csv_file}: line 252 \(height 250\): .*bad-version"):
                sync(s, str(csv_file), now=NOW, params=REGTEST)
            assert blocks(s) == []
            assert s._rows("SELECT count(*) FROM sync_log WHERE kind = 'headers-csv'") == [(0,)]
            # the file's headers below the refused one, alone, are then stored whole
            assert sync(s, str(ok), now=NOW, params=REGTEST)[0].added == 250
            assert [r[0] for r in blocks(s)] == list(range(250))


@pytest.mark.slow
def test_the_header_file_benchmark_runs() -> None:
    """`benchmarks/bench_headers.py --smoke`: a seconds-long run of the real benchmark."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_headers", "--smoke"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio hashlens / bitcoin-utils:" in proc.stdout and "median" in proc.stdout
