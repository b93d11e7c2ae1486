"""80-byte block headers: parse, serialise, hash and check proof of work, one at a time
(:class:`BlockHeader`) or a whole buffer of concatenated headers at once (columnar, numpy)."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

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


def check_proof_of_work(block_hash: bytes, bits: int, pow_limit: int = POW_LIMIT) -> bool:
    """Core's ``CheckProofOfWork``: the hash, read as a little-endian 256-bit number, must
    not exceed the target the header's own bits commit to, and that target must be valid
    (positive, no overflow, at most ``pow_limit``, mainnet's unless given)."""
    target = pow_target(bits, pow_limit)
    return target is not None and int.from_bytes(block_hash, "little") <= target


def pow_target(bits: int, pow_limit: int = POW_LIMIT) -> int | None:
    """The target compact ``bits`` commit to, or None where Core's ``CheckProofOfWork``
    refuses the bits themselves (negative, overflowing, zero or above ``pow_limit``)."""
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0 or target > pow_limit:
        return None
    return target


# -- columnar: a buffer of concatenated headers ---------------------------------------------
#: One wire header as a numpy record: the same little-endian layout as on the wire.
HEADER_DTYPE = np.dtype(
    [("version", "<i4"), ("prev", "u1", 32), ("merkle", "u1", 32), ("time", "<u4"), ("bits", "<u4"), ("nonce", "<u4")]
)
assert HEADER_DTYPE.itemsize == HEADER_SIZE
#: Below this many headers the per-call hashlib loop is cheaper than compiling the native loop.
_NATIVE_MIN_HEADERS = 4096
#: From this many headers the native loop hashes two halves in two threads.
_SPLIT_MIN_HEADERS = 65_536


def parse_headers(raw: bytes) -> np.ndarray:
    """A buffer of concatenated 80-byte headers as a record array (no copy), fields
    ``version, prev, merkle, time, bits, nonce`` as on the wire; raises on a partial header."""
    if len(raw) % HEADER_SIZE:
        raise HashlensError(
            f"header buffer of {len(raw)} bytes is not a whole number of 80-byte headers "
            f"(truncated after header {len(raw) // HEADER_SIZE})"
        )
    return np.frombuffer(raw, dtype=HEADER_DTYPE)


# The loop over a buffer of headers, in LLVM's own language: two SHA-256 passes per header
# through OpenSSL's functions, which are arguments (their addresses change per process).
_SHA256D_IR = r"""
define void @sha256d_all(ptr %buf, ptr %out, i64 %n, ptr %ctx, ptr %mid, ptr %init, ptr %update, ptr %final) {
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  %off = mul i64 %i, 80
  %src = getelementptr i8, ptr %buf, i64 %off
  %o = mul i64 %i, 32
  %dst = getelementptr i8, ptr %out, i64 %o
  %r1 = call i32 %init(ptr %ctx)
  %r2 = call i32 %update(ptr %ctx, ptr %src, i64 80)
  %r3 = call i32 %final(ptr %mid, ptr %ctx)
  %r4 = call i32 %init(ptr %ctx)
  %r5 = call i32 %update(ptr %ctx, ptr %mid, i64 32)
  %r6 = call i32 %final(ptr %dst, ptr %ctx)
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}
"""


@cache
def _native_hasher() -> Callable[[np.ndarray, np.ndarray], None] | None:
    """A compiled loop calling OpenSSL's SHA-256 (the library hashlib itself uses) twice per
    header, or None where that library or llvmlite is not available.

    Python's per-call overhead, not SHA-256, limits a hashlib loop to well under a million
    headers a second; one compiled loop over the buffer removes it. The loop is compiled here
    by LLVM (llvmlite, numba's own back end) in ~0.02 s; importing and loading a numba function
    took ~0.5 s. It is called through ctypes, which releases the interpreter lock meanwhile.
    """
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        import llvmlite.binding as llvm

        lib = ctypes.CDLL(name)
        funcs = [
            ctypes.cast(getattr(lib, f), ctypes.c_void_p).value
            for f in ("SHA256_Init", "SHA256_Update", "SHA256_Final")
        ]
    except (ImportError, OSError, AttributeError):
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        module = llvm.parse_assembly(_SHA256D_IR)
        module.verify()
        engine = llvm.create_mcjit_compiler(module, llvm.Target.from_default_triple().create_target_machine(opt=2))
        engine.finalize_object()
        loop = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, *[ctypes.c_void_p] * 5)(
            engine.get_function_address("sha256d_all")
        )
    except Exception:  # an LLVM that cannot compile for this machine: hashlib does the work
        return None

    def sha256d_all(buf: np.ndarray, out: np.ndarray) -> None:
        n = buf.size // HEADER_SIZE
        if out.size < 32 * n:
            raise ValueError(f"room for {out.size // 32} hashes, not {n}")
        ctx = np.empty(256, np.uint8)  # SHA256_CTX is 112 bytes; room to spare
        mid = np.empty(32, np.uint8)
        loop(buf.ctypes.data, out.ctypes.data, n, ctx.ctypes.data, mid.ctypes.data, *funcs)

    sha256d_all.engine = engine  # type: ignore[attr-defined]  # the compiled code lives as long as the loop
    return sha256d_all


_warming: threading.Thread | None = None
_native_ready = threading.Event()
_native_broken = False  # loading it in the background failed: hashlib from then on


def _load_native() -> None:
    global _native_broken
    try:
        native = _native_hasher()
        if native is not None:
            native(np.zeros(HEADER_SIZE, dtype=np.uint8), np.empty(32, dtype=np.uint8))
    except Exception:  # a compiler or cache failure costs speed, never the sync
        _native_broken = True
    finally:
        _native_ready.set()


def warm_hasher() -> None:
    """Start compiling the hashing loop in a background thread (importing llvmlite and
    compiling take ~0.1 s). Until it is ready, :func:`hash_headers` hashes with hashlib
    (the same digests), so a sync's first runs go on to be checked and written meanwhile."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_load_native, name="hashlens-hasher", daemon=True)
        _warming.start()


def hash_headers(raw: bytes) -> np.ndarray:
    """Double SHA-256 of every header in a buffer: an (n, 32) uint8 array, internal byte order.

    Each header is hashed once, straight from the wire bytes.
    """
    n = len(parse_headers(raw))
    out = np.empty(n * 32, dtype=np.uint8)
    # The native loop unless it is still loading in the background (then hashlib, not a wait).
    loading = _warming is not None and not _native_ready.is_set()
    native = _native_hasher() if n >= _NATIVE_MIN_HEADERS and not loading and not _native_broken else None
    if native is not None:
        buf = np.frombuffer(raw, dtype=np.uint8)
        if n >= _SPLIT_MIN_HEADERS:
            # Two halves at once: the compiled loop runs without the GIL (a ctypes call), so the
            # second core hashes the upper half meanwhile (200,000 headers: 22 ms -> 12 ms idle).
            half = n // 2
            upper = threading.Thread(target=native, args=(buf[HEADER_SIZE * half :], out[32 * half :]))
            upper.start()
            native(buf[: HEADER_SIZE * half], out[: 32 * half])
            upper.join()
        else:
            native(buf, out)
    else:
        sha = hashlib.sha256
        out[:] = np.frombuffer(
            b"".join([sha(sha(raw[o : o + HEADER_SIZE]).digest()).digest() for o in range(0, len(raw), HEADER_SIZE)]),
            dtype=np.uint8,
        )
    return out.reshape(n, 32)


def display_bytes(hashes: np.ndarray) -> bytes:
    """(n, 32) internal-order hashes as n*32 bytes in display order (each byte-reversed): the
    bytes whose hex is the form explorers and RPC show, and what the store keeps."""
    n = len(hashes)
    # Each hash's four 64-bit words in reverse order, each written big-endian: the bytes reversed,
    # 8 at a time (a byte-by-byte reversed copy is twice as slow).
    out = np.empty((n, 4), dtype=">u8")
    out[:] = hashes.view("<u8").reshape(n, 4)[:, ::-1]
    return out.tobytes()


def check_proof_of_work_bulk(hashes: np.ndarray, bits: np.ndarray, pow_limit: int = POW_LIMIT) -> np.ndarray:
    """:func:`check_proof_of_work` for many headers: a bool array, True where the hash meets
    the target of the header's own bits (and those bits are valid: :func:`pow_target`).

    Exact: the hash, a little-endian 256-bit number, is four little-endian 64-bit words
    (word 3 most significant), compared with the target's words from the most significant
    down; the first word that differs decides, and a hash equal in all four meets it."""
    n = len(bits)
    if n == 0:
        return np.zeros(0, dtype=bool)
    words = np.ascontiguousarray(hashes, dtype=np.uint8).view("<u8").reshape(n, 4)  # no copy
    if (bits == bits[0]).all():  # one period's headers: one target
        uniq, inv = np.asarray(bits[:1]), None
    else:
        uniq, inv = np.unique(bits, return_inverse=True)
    targets = [pow_target(int(b), pow_limit) for b in uniq.tolist()]
    valid = np.array([t is not None for t in targets])
    t_words = np.array(
        [[((t or 0) >> (64 * k)) & 0xFFFFFFFFFFFFFFFF for k in range(4)] for t in targets], dtype=np.uint64
    )
    t_rows = t_words[0] if inv is None else t_words[inv]  # one target's words, or each row's
    below = np.zeros(n, dtype=bool)
    tied = np.ones(n, dtype=bool)  # equal in every word compared so far
    for k in (3, 2, 1, 0):
        w, t = words[:, k], t_rows[..., k]
        below |= tied & (w < t)
        tied &= w == t
        if not tied.any():
            break
    ok: np.ndarray = (below | tied) & (valid[0] if inv is None else valid[inv])
    return ok
