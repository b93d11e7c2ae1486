"""Compact "nBits" encoding of 256-bit targets, difficulty and chain work.

Bit-for-bit the semantics of Bitcoin Core's ``arith_uint256::SetCompact`` /
``GetCompact`` (``src/arith_uint256.cpp``), ``GetDifficulty`` (``src/rpc/blockchain.cpp``)
and ``GetBlockProof`` (``src/chain.cpp``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

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
    """Expected hashes to find a block at this target: floor(2**256 / (target + 1)).

    Core's ``GetBlockProof`` computes the same number as ``~target / (target + 1) + 1``
    because 2**256 itself does not fit 256 bits. [hashes]
    """
    if target <= 0:
        return 0
    return (1 << 256) // (target + 1)


def chainwork(bits_seq: Iterable[int], start: int = 0) -> Iterator[int]:
    """Running total of block work for consecutive headers' bits [hashes]."""
    total = start
    for bits in bits_seq:
        total += block_work(bits_to_target(bits))
        yield total
