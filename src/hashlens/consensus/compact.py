"""Compact "nBits" encoding of 256-bit targets, difficulty and chain work.

Bit-for-bit the semantics of Bitcoin Core's ``arith_uint256::SetCompact`` /
``GetCompact`` (``src/arith_uint256.cpp``), ``GetDifficulty`` (``src/rpc/blockchain.cpp``)
and ``GetBlockProof`` (``src/chain.cpp``).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from hashlens.consensus.params import POW_LIMIT, POW_LIMIT_BITS
from hashlens.errors import HashlensError

_MASK256 = (1 << 256) - 1


def decode_compact(compact: int) -> tuple[int, bool, bool]:
    """Decode a compact value exactly as ``arith_uint256::SetCompact``.

    Returns ``(value, negative, overflow)``. The value is what Core's 256-bit integer
    holds afterwards (shifts past 256 bits wrap to zero, as in ``operator<<=``).
    """
    if not 0 <= compact <= 0xFFFFFFFF:
        raise HashlensError(f"compact bits {compact!r} is not a 32-bit unsigned value")
    size = compact >> 24
    word = compact & 0x007FFFFF
    if size <= 3:
        # Core shifts the word itself here, so the sign and overflow tests below see the
        # shifted word: 0x01803456 decodes to +0, not -0.
        word >>= 8 * (3 - size)
        value = word
    else:
        value = (word << (8 * (size - 3))) & _MASK256
    # The sign bit only counts when the mantissa is non-zero.
    negative = word != 0 and bool(compact & 0x00800000)
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return value, negative, overflow


def encode_compact(value: int, negative: bool = False) -> int:
    """Encode a 256-bit value exactly as ``arith_uint256::GetCompact``.

    Keeps the top three significant bytes (truncating, never rounding). If the mantissa's
    top bit would be set it would read as a sign, so the mantissa is shifted right a byte and
    the size grows by one.
    """
    if not 0 <= value <= _MASK256:
        raise HashlensError(f"value {value!r} does not fit an unsigned 256-bit integer")
    size = (value.bit_length() + 7) // 8
    if size <= 3:
        mantissa = (value << (8 * (3 - size))) & 0xFFFFFFFF
    else:
        mantissa = (value >> (8 * (size - 3))) & 0xFFFFFFFF
    if mantissa & 0x00800000:
        mantissa >>= 8
        size += 1
    compact = mantissa | (size << 24)
    if negative and (mantissa & 0x007FFFFF):
        compact |= 0x00800000
    return compact


def bits_to_target(bits: int) -> int:
    """The 256-bit target a header's nBits commits to [integer hash value].

    Rejects, as Core's ``DeriveTarget`` does, a negative, zero, overflowing or
    above-powLimit target: no valid mainnet header can carry one.
    """
    target, negative, overflow = decode_compact(bits)
    if negative:
        raise HashlensError(f"bits 0x{bits:08x} encode a negative target (sign bit 0x00800000 set)")
    if overflow:
        raise HashlensError(f"bits 0x{bits:08x} overflow 256 bits")
    if target == 0:
        raise HashlensError(f"bits 0x{bits:08x} encode a zero target")
    if target > POW_LIMIT:
        raise HashlensError(f"bits 0x{bits:08x} encode a target above mainnet's powLimit")
    return target


def target_to_bits(target: int) -> int:
    """Compact encoding of a non-negative target (``GetCompact(false)``)."""
    return encode_compact(target)


#: Target of difficulty 1: the decoded genesis bits 0x1d00ffff (0xffff * 2**208).
MAX_TARGET = decode_compact(POW_LIMIT_BITS)[0]


def difficulty_from_bits(bits: int) -> float:
    """Difficulty as Bitcoin Core's ``GetDifficulty`` computes it, in double precision.

    .. math:: D = \\frac{\\mathtt{0xffff}}{\\mathrm{bits} \\mathbin{\\&} \\mathtt{0xffffff}}
              \\cdot 256^{29 - \\mathrm{exponent}}

    The same float operations in the same order as Core, so the result is identical to
    the ``difficulty`` field of ``getblockheader``. Dimensionless.
    """
    shift = (bits >> 24) & 0xFF
    diff = float(0x0000FFFF) / float(bits & 0x00FFFFFF)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def difficulty_exact(bits: int) -> Fraction:
    """Exact rational difficulty: target(0x1d00ffff) / target(bits)."""
    return Fraction(MAX_TARGET, bits_to_target(bits))


def block_work(target: int) -> int:
    """Work a block at this target proves: the expected number of hashes to find it [hashes].

    .. math:: w = \\left\\lfloor \\frac{2^{256}}{T + 1} \\right\\rfloor

    Written as Core's ``GetBlockProof`` (``src/chain.cpp``) writes it, ``~T / (T + 1) + 1``,
    because 2**256 itself does not fit Core's 256-bit integer; the two are equal for every
    target 0 < T < 2**256. Takes a decoded *target*, never compact bits (see
    :func:`block_proof`). 0 for a target that is not positive.
    """
    if target <= 0:
        return 0
    return ((~target & _MASK256) // (target + 1)) + 1


def block_proof(bits: int) -> int:
    """Core's ``GetBlockProof`` of a header: the work its compact ``bits`` prove [hashes].

    The bits are decoded as ``SetCompact`` decodes them; a negative, overflowing or zero target
    proves nothing (0), as in Core. Every fork choice in hashlens sums this per block.
    """
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0:
        return 0
    return block_work(target)


def chain_work(bits: Iterable[int] | np.ndarray, counts: Iterable[int] | np.ndarray | None = None) -> int:
    """Exact work of a branch: the sum of :func:`block_proof` over its blocks [hashes].

    .. math:: W = \\sum_i n_i \\, \\mathrm{GetBlockProof}(\\mathrm{bits}_i)

    Parameters
    ----------
    bits : compact nBits of each block, or of each group of blocks sharing them.
    counts : how many blocks carry ``bits[i]`` (a period's blocks share their bits); one each
        if None.

    The sum is over Python integers, so it is exact however long the branch (Core keeps
    ``nChainWork`` as a 256-bit integer). Equal bits are grouped first: a branch of 900,000
    headers costs one ``block_proof`` per distinct bits value.
    """
    b = np.asarray(bits if isinstance(bits, np.ndarray) else list(bits), dtype=np.int64).ravel()
    if counts is None:
        c = np.ones(b.size, dtype=np.int64)
    else:
        c = np.asarray(counts if isinstance(counts, np.ndarray) else list(counts), dtype=np.int64).ravel()
    if b.size != c.size:
        raise ValueError(f"{b.size} bits values but {c.size} counts")
    if (c < 0).any():
        raise ValueError("a count of blocks is negative")
    values, inverse = np.unique(b, return_inverse=True)
    per_value = np.zeros(values.size, dtype=np.int64)
    np.add.at(per_value, inverse, c)
    return sum(int(n) * block_proof(int(v)) for v, n in zip(values.tolist(), per_value.tolist(), strict=True))
