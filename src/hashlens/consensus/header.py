"""80-byte block headers: parse, serialise, hash and check proof of work."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from hashlens.consensus.compact import decode_compact
from hashlens.consensus.params import POW_LIMIT
from hashlens.errors import HashlensError

HEADER_SIZE = 80
_HEADER = struct.Struct("<i32s32sIII")


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass(frozen=True)
class BlockHeader:
    """A block header as on the wire; hashes kept in internal (little-endian) byte order."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    @classmethod
    def parse(cls, raw: bytes) -> BlockHeader:
        if len(raw) != HEADER_SIZE:
            raise HashlensError(f"a block header is 80 bytes, got {len(raw)}")
        return cls(*_HEADER.unpack(raw))

    @classmethod
    def from_hex(cls, hex_str: str) -> BlockHeader:
        try:
            raw = bytes.fromhex(hex_str.strip())
        except ValueError as exc:
            raise HashlensError(f"header is not hex: {exc}") from None
        return cls.parse(raw)

    def serialize(self) -> bytes:
        return _HEADER.pack(self.version, self.prev_hash, self.merkle_root, self.time, self.bits, self.nonce)

    def hash(self) -> bytes:
        """Double SHA-256 of the serialised header, internal byte order."""
        return _sha256d(self.serialize())

    @property
    def hash_hex(self) -> str:
        """Block hash as shown by explorers and RPC (byte-reversed hex)."""
        return self.hash()[::-1].hex()

    @property
    def prev_hash_hex(self) -> str:
        return self.prev_hash[::-1].hex()

    def check_proof_of_work(self) -> bool:
        return check_proof_of_work(self.hash(), self.bits)


def check_proof_of_work(block_hash: bytes, bits: int) -> bool:
    """Core's ``CheckProofOfWork``: the hash, read as a little-endian 256-bit number, must
    not exceed the target the header's own bits commit to, and that target must be valid
    (positive, no overflow, at most powLimit)."""
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0 or target > POW_LIMIT:
        return False
    return int.from_bytes(block_hash, "little") <= target


def check_raw_headers(raw: bytes) -> list[tuple[str, bool]]:
    """Hash and PoW-check a buffer of concatenated 80-byte headers: (hash hex, ok) each.

    The fast path for bulk work: one slice, two C-level SHA-256 calls and one integer
    comparison per header, no per-header object.
    """
    if len(raw) % HEADER_SIZE:
        raise HashlensError(
            f"header buffer of {len(raw)} bytes is not a whole number of 80-byte headers "
            f"(truncated after header {len(raw) // HEADER_SIZE})"
        )
    out: list[tuple[str, bool]] = []
    sha = hashlib.sha256
    targets: dict[int, int | None] = {}
    for off in range(0, len(raw), HEADER_SIZE):
        chunk = raw[off : off + HEADER_SIZE]
        digest = sha(sha(chunk).digest()).digest()
        bits = int.from_bytes(chunk[72:76], "little")
        target = targets.get(bits, -1)
        if target == -1:
            value, negative, overflow = decode_compact(bits)
            target = None if negative or overflow or value == 0 or value > POW_LIMIT else value
            targets[bits] = target
        ok = target is not None and int.from_bytes(digest, "little") <= target
        out.append((digest[::-1].hex(), ok))
    return out
