"""Header parsing, hashing and proof-of-work edge cases."""

from __future__ import annotations

import pytest

from hashlens.consensus import BlockHeader, check_proof_of_work
from hashlens.consensus.header import hash_headers, parse_headers
from hashlens.errors import HashlensError

# Block 1, the first mined after genesis.
BLOCK1 = (
    "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000"
    "982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299"
)


def test_block_one() -> None:
    h = BlockHeader.from_hex(BLOCK1)
    assert h.hash_hex == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    assert h.prev_hash_hex == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    assert (h.version, h.time, h.bits, h.nonce) == (1, 1231469665, 0x1D00FFFF, 2573394689)
    assert h.serialize().hex() == BLOCK1
    assert h.check_proof_of_work()


def test_pow_failures() -> None:
    h = BlockHeader.from_hex(BLOCK1)
    bumped = BlockHeader(h.version, h.prev_hash, h.merkle_root, h.time, h.bits, h.nonce + 1)
    assert not bumped.check_proof_of_work()
    assert not check_proof_of_work(h.hash(), 0x1E00FFFF)  # above powLimit
    assert not check_proof_of_work(h.hash(), 0x1D80FFFF)  # negative
    assert not check_proof_of_work(h.hash(), 0)  # zero target


def test_bad_headers_are_named() -> None:
    with pytest.raises(HashlensError, match="80 bytes, got 79"):
        BlockHeader.parse(bytes(79))
    with pytest.raises(HashlensError, match="not hex"):
        BlockHeader.from_hex("zz" * 80)
    with pytest.raises(HashlensError, match="truncated after header 1"):
        parse_headers(bytes.fromhex(BLOCK1) + bytes(10))
    hashes = hash_headers(bytes.fromhex(BLOCK1) * 2)
    assert [h[::-1].tobytes().hex() for h in hashes] == [
        "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    ] * 2


# -- Core's header rules on real headers, one field changed at a time ---------------------
import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from hashlens.consensus import POW_LIMIT, decode_compact, encode_compact  # noqa: E402
from hashlens.consensus.contextual import (  # noqa: E402
    BIP34_HEIGHT,
    BIP65_HEIGHT,
    BIP66_HEIGHT,
    GENESIS_HASH,
    HeaderRefused,
    check_header,
    check_time_past,
    check_version,
    median_time_past,
)
from hashlens.sources.blockstats import read_blockstats  # noqa: E402
from hashlens.sources.checkpoints import read_bitcoinj  # noqa: E402


class Known:
    """A chain context from the shared files: block-stats hashes and times, checkpoint headers."""

    def __init__(self, hashes: dict[int, str], times: dict[int, int], bits: dict[int, int]) -> None:
        self.hashes, self.times, self.bits = hashes, times, bits

    def hash_at(self, h: int) -> str | None:
        return self.hashes.get(h)

    def time_at(self, h: int) -> int | None:
        return self.times.get(h)

    def bits_at(self, h: int) -> int | None:
        return self.bits.get(h)

    def period_bits(self, p: int) -> int | None:
        return None


@pytest.fixture(scope="module")
def stats(data_dir: Path):  # type: ignore[no-untyped-def]
    return read_blockstats(data_dir / "chain/blockstats-btc-rpc-data.csv.gz")


@pytest.fixture(scope="module")
def context(stats) -> Known:  # type: ignore[no-untyped-def]
    heights = stats.height.tolist()
    return Known(
        dict(zip(heights, stats.blockhash, strict=True)), dict(zip(heights, stats.time.tolist(), strict=True)), {}
    )


@pytest.fixture(scope="module")
def checkpoints(data_dir: Path) -> dict[int, BlockHeader]:
    return {cp.height: cp.header for cp in read_bitcoinj(data_dir / "chain/bitcoinj-mainnet-checkpoints.txt")}


def with_(hdr: BlockHeader, **change: Any) -> BlockHeader:
    return dataclasses.replace(hdr, **change)


def test_median_time_past_equals_cores_mediantime_on_every_real_block(stats, context: Known) -> None:  # type: ignore[no-untyped-def]
    # getblockstats' mediantime of block h is GetMedianTimePast(h): the median of blocks h-10 .. h,
    # which is what a header at h + 1 is checked against.
    checked, differ = 0, []
    for h, mtp in zip(stats.height.tolist(), stats.mediantime.tolist(), strict=True):
        if all(x in context.times for x in range(max(0, h - 10), h + 1)):
            checked += 1
            if median_time_past(context, h + 1) != mtp:
                differ.append(h)
    assert checked > 79_000
    # One row of the file disagrees with its own times: mediantime 1767945938 at 931,524, where
    # the 11 times 931,514 .. 931,524 have median 1767945933 (block 931,519's time; 5 s apart).
    # The file's time or mediantime of that row is off; every other row agrees.
    assert differ == [931524]


def test_bulk_time_too_old_decides_as_the_median_time_past(stats, context: Known) -> None:  # type: ignore[no-untyped-def]
    """The run check's time-too-old (a count of smaller times, no median taken) against the
    median itself: real consecutive block times from the shared block stats, with every 7th
    set to the median of the 11 before it, one above or one below (so ties are met), judged
    against the 6th smallest of its 11 predecessors. The run starts 0 .. 12 blocks into the
    stretch, so the first windows reach into the context, or below it into unknown times."""
    import numpy as np

    from hashlens.consensus.contextual import _above_median_time_past

    hs = stats.height
    edges = np.r_[0, np.flatnonzero(np.diff(hs) != 1) + 1, hs.size]
    k = int(np.argmax(np.diff(edges)))
    lo = int(hs[edges[k]])
    assert edges[k + 1] - edges[k] > 3000 and lo - 1 not in context.times
    for skip in (0, 1, 5, 10, 11, 12):
        h0 = lo + skip
        ext = [context.times.get(h, -1) for h in range(h0 - 11, h0)]
        for i in range(2000):
            t = context.times[h0 + i]
            window = ext[-11:]
            if i % 7 == 3 and min(window) >= 0:
                t = sorted(window)[5] + (0, 1, -1)[(i // 7) % 3]
            ext.append(t)
        times = np.array(ext[11:], dtype=np.int64)
        want_known = np.array([min(ext[i : i + 11]) >= 0 for i in range(times.size)])
        want = np.array([ext[i + 11] > sorted(ext[i : i + 11])[5] for i in range(times.size)])
        above, known = _above_median_time_past(context, np.arange(h0, h0 + times.size), np.array([0]), times)
        assert (known == want_known).all()
        assert (above[known] == want[known]).all()
        assert want[known].any() and not want[known].all()
        assert known[0] == (median_time_past(context, h0) is not None)


def test_real_checkpoints_pass_every_rule_with_full_context(
    context: Known, checkpoints: dict[int, BlockHeader]
) -> None:
    inside = [h for h in checkpoints if all(x in context.times for x in range(h - 11, h))]
    assert len(inside) >= 10
    for h in inside:
        hdr = checkpoints[h]
        ctx = Known(context.hashes, context.times, {h - 1: hdr.bits} if h % 2016 else {})
        got = check_header(ctx, h, hdr, "bitcoinj", now=hdr.time)
        assert got.hash == hdr.hash_hex and "time-too-old" not in got.unchecked


def test_time_at_or_below_the_median_time_past_is_refused(context: Known, checkpoints: dict[int, BlockHeader]) -> None:
    h = next(h for h in sorted(checkpoints) if all(x in context.times for x in range(h - 11, h)))
    mtp = sorted(context.times[x] for x in range(h - 11, h))[5]
    hdr = checkpoints[h]
    assert check_time_past(context, h, with_(hdr, time=mtp + 1), "x")
    for t in (mtp, mtp - 1):
        with pytest.raises(HeaderRefused, match=rf"height {h}\).*rule time-too-old") as e:
            check_time_past(context, h, with_(hdr, time=t), "x")
        assert e.value.rule == "time-too-old" and e.value.height == h
    # Without all 11 previous times the rule is not decided, and says so.
    sparse = Known({}, {x: t for x, t in context.times.items() if x != h - 3}, {})
    assert not check_time_past(sparse, h, with_(hdr, time=mtp), "x")
    assert "time-too-old" in check_header(sparse, h, hdr, "x", now=hdr.time).unchecked


def test_time_more_than_two_hours_ahead_is_refused(checkpoints: dict[int, BlockHeader]) -> None:
    h = max(checkpoints)
    hdr = checkpoints[h]  # unchanged, so its proof of work holds: the reference time moves
    empty = Known({}, {}, {})
    assert check_header(empty, h, hdr, "x", now=hdr.time - 2 * 3600).hash == hdr.hash_hex
    with pytest.raises(HeaderRefused, match=rf"block {hdr.hash_hex}, rule time-too-new"):
        check_header(empty, h, hdr, "x", now=hdr.time - 2 * 3600 - 1)


@pytest.mark.parametrize(("activation", "floor"), [(BIP34_HEIGHT, 2), (BIP66_HEIGHT, 3), (BIP65_HEIGHT, 4)])
def test_versions_below_each_bip_floor_are_refused_from_its_height(
    checkpoints: dict[int, BlockHeader], activation: int, floor: int
) -> None:
    h = min(x for x in checkpoints if x >= activation)
    hdr = checkpoints[h]
    check_version(h, hdr, "x")  # the real header passes
    for v in range(-1, floor):
        with pytest.raises(HeaderRefused, match=rf"height {h}\).*rule bad-version"):
            check_version(h, with_(hdr, version=v), "x")
    check_version(h, with_(hdr, version=floor), "x")
    # Below the activation height the same version is fine (the real early headers are version 1).
    below = min(checkpoints)
    assert checkpoints[below].version == 1
    check_version(below, checkpoints[below], "x")


def test_only_mainnet_genesis_at_height_zero() -> None:
    block1 = BlockHeader.from_hex(BLOCK1)
    empty = Known({}, {}, {})
    # Mainnet genesis (Core's chainparams), whose hash block 1 commits to.
    genesis = BlockHeader(
        1,
        bytes(32),
        bytes.fromhex("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")[::-1],
        1231006505,
        0x1D00FFFF,
        2083236893,
    )
    assert genesis.hash_hex == block1.prev_hash_hex == GENESIS_HASH
    assert check_header(empty, 0, genesis, "x").hash == GENESIS_HASH
    # Testnet3's genesis: same block, another time and nonce; its proof of work is valid.
    testnet = with_(genesis, time=1296688602, nonce=414098458)
    assert testnet.check_proof_of_work()
    with pytest.raises(HeaderRefused, match="rule bad-genesis"):
        check_header(empty, 0, testnet, "x")
    # Block 1 is not a genesis either (its prev hash is not zero, and its hash is not mainnet's).
    with pytest.raises(HeaderRefused, match="height 0"):
        check_header(empty, 0, block1, "x")


def test_core_pow_tests_check_proof_of_work_vectors() -> None:
    # Core src/test/pow_tests.cpp: CheckProofOfWork_test_{negative,overflow,too_easy,bigger_hash,zero}_target.
    one = (1).to_bytes(32, "little")
    assert not check_proof_of_work(one, encode_compact(POW_LIMIT, negative=True))
    assert not check_proof_of_work(one, ~0x00800000 & 0xFFFFFFFF)
    assert not check_proof_of_work(one, encode_compact(POW_LIMIT * 2))
    target = POW_LIMIT >> 10
    assert not check_proof_of_work((target * 2).to_bytes(32, "little"), encode_compact(target))
    assert not check_proof_of_work(one, encode_compact(0))
    exact = decode_compact(encode_compact(target))[0]
    assert check_proof_of_work(exact.to_bytes(32, "little"), encode_compact(target))
    assert not check_proof_of_work((exact + 1).to_bytes(32, "little"), encode_compact(target))


def test_bulk_proof_of_work_decides_as_the_one_header_rule(checkpoints: dict[int, BlockHeader]) -> None:
    """check_proof_of_work_bulk against check_proof_of_work (the owner), header by header: the
    436 real checkpoint headers (their own hashes and bits, and each hash against the next
    checkpoint's harder or easier bits), and hashes placed at each target and one off it in each
    64-bit word, under valid and invalid bits (negative, overflowing, zero, above the limit)."""
    import numpy as np

    from hashlens.consensus.header import check_proof_of_work_bulk

    hdrs = [checkpoints[h] for h in sorted(checkpoints)]
    hashes = [h.hash() for h in hdrs]
    bits = [h.bits for h in hdrs]
    hashes += hashes[1:]  # each real hash against its neighbour's bits too
    bits += [h.bits for h in hdrs[:-1]]
    for b in (0x1D00FFFF, 0x1B0404CB, 0x1703A30C, 0x207FFFFF):
        target = decode_compact(b)[0]
        for d in (0, -1, 1, 1 << 64, -(1 << 64), 1 << 128, -(1 << 128), 1 << 192, -(1 << 192)):
            if 0 <= target + d < 1 << 256:
                hashes.append((target + d).to_bytes(32, "little"))
                bits.append(b)
    for b in (0x1D80FFFF, ~0x00800000 & 0xFFFFFFFF, 0, 0x1E00FFFF, 0x01003456):
        hashes += [(1).to_bytes(32, "little"), bytes(32)]
        bits += [b, b]
    h = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 32)
    b_arr = np.asarray(bits, dtype=np.uint32)
    for limit in (POW_LIMIT, (1 << 255) - 1):
        want = np.array([check_proof_of_work(x, b, limit) for x, b in zip(hashes, bits, strict=True)])
        assert 0 < want.sum() < want.size
        assert (check_proof_of_work_bulk(h, b_arr, limit) == want).all()
        for one in np.unique(b_arr).tolist():  # every header of one bits value: the one-target path
            sel = b_arr == one
            assert (check_proof_of_work_bulk(h[sel], b_arr[sel], limit) == want[sel]).all()


def test_a_hashing_loop_that_fails_to_load_leaves_hashlib(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled loop loads in the background; if loading fails, every later run is hashed
    with hashlib (the same digests), quietly, instead of stalling or crashing a sync."""
    import hashlib
    import threading

    import numpy as np

    from hashlens.consensus import header as hdr_mod

    def broken() -> None:
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(hdr_mod, "_native_hasher", broken)
    monkeypatch.setattr(hdr_mod, "_warming", None)
    monkeypatch.setattr(hdr_mod, "_native_ready", threading.Event())
    monkeypatch.setattr(hdr_mod, "_native_broken", False)
    # Real headers: the stale chain's, repeated past the size where the native loop is used.
    raws = [
        bytes.fromhex(line.split(",")[2])
        for line in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]
    ]
    raw = b"".join(raws * (5000 // len(raws) + 1))
    hdr_mod.warm_hasher()
    assert hdr_mod._native_ready.wait(10) and hdr_mod._native_broken
    got = hdr_mod.hash_headers(raw)
    sha = hashlib.sha256
    want = [sha(sha(raw[o : o + 80]).digest()).digest() for o in range(0, len(raw), 80)]
    assert len(got) >= 4096 and [bytes(g) for g in got] == want
    assert np.asarray(got).shape == (len(raw) // 80, 32)


def test_the_compiled_loop_hashes_as_hashlib_does(data_dir: Path) -> None:
    """The LLVM-compiled loop over OpenSSL gives every real header the double SHA-256 that
    hashlib gives it, and each header's hash is the one the shared files name."""
    import hashlib

    import numpy as np

    from hashlens.consensus import header as hdr_mod

    native = hdr_mod._native_hasher()
    assert native is not None  # Debian's OpenSSL and the locked llvmlite are here
    rows = [line.split(",") for line in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]]
    raw = b"".join(bytes.fromhex(r[2]) for r in rows) * 700  # past _NATIVE_MIN_HEADERS
    out = np.empty(len(raw) // 80 * 32, dtype=np.uint8)
    native(np.frombuffer(raw, dtype=np.uint8), out)
    sha = hashlib.sha256
    want = b"".join(sha(sha(raw[o : o + 80]).digest()).digest() for o in range(0, len(raw), 80))
    assert out.tobytes() == want
    assert [out[32 * i : 32 * i + 32][::-1].tobytes().hex() for i in range(len(rows))] == [r[1] for r in rows]
    empty = np.empty(0, dtype=np.uint8)
    native(empty, empty)  # no headers: nothing written, nothing read
