"""Header parsing, hashing and proof-of-work edge cases."""

from __future__ import annotations

import pytest

from hashlens.consensus import BlockHeader, check_proof_of_work
from hashlens.consensus.header import check_raw_headers
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
        check_raw_headers(bytes.fromhex(BLOCK1) + bytes(10))
    assert (
        check_raw_headers(bytes.fromhex(BLOCK1) * 2)
        == [("00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048", True)] * 2
    )
