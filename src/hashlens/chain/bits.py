"""Compact nBits decoded for people (``hashlens bits``, ``GET /v1/bits``): the consensus
functions of :mod:`hashlens.consensus.compact`, typed."""

from __future__ import annotations

from pydantic import Field

from hashlens.consensus.compact import bits_to_target, block_work, difficulty_exact, difficulty_from_bits
from hashlens.contracts import Result


class BitsDecoded(Result):
    """What one compact nBits value encodes."""

    bits: str = Field(..., description="The nBits, 8 hex digits.")
    target: str = Field(..., description="The 256-bit target, 64 hex digits.")
    difficulty: float = Field(..., description="Bitcoin Core's GetDifficulty (a double) [-].")
    difficulty_exact: str = Field(..., description="The exact difficulty as a fraction (max target / target) [-].")
    work_per_block_hashes: str = Field(
        ..., description="Expected hashes per block, floor(2^256 / (target + 1)), as a decimal integer [hashes]."
    )


def decode_bits(bits: int) -> BitsDecoded:
    """Target, difficulty and work per block of compact ``bits``; a negative or overflowing
    encoding is refused by :func:`hashlens.consensus.compact.bits_to_target`."""
    target = bits_to_target(bits)
    exact = difficulty_exact(bits)
    return BitsDecoded(
        bits=f"{bits:08x}",
        target=f"{target:064x}",
        difficulty=difficulty_from_bits(bits),
        difficulty_exact=f"{exact.numerator}/{exact.denominator}",
        work_per_block_hashes=str(block_work(target)),
    )
