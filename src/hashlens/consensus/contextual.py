"""Contextual checks of one block header against the chain before it.

Bitcoin Core checks a header in two steps: ``CheckBlockHeader`` (the header alone: proof of
work for its own bits) and ``ContextualCheckBlockHeader`` (the header against its parent:
the bits ``GetNextWorkRequired`` demands). hashlens often holds only part of the chain (one
header per period, the first and last block times of some periods), so each rule here is
applied as far as the known context allows, and never guessed where it does not:

- proof of work for the header's own bits, always (``CheckProofOfWork``);
- the prev hash equals the stored hash of the block below, where that hash is known;
- the bits equal the period's stored bits, and do not change off a retarget height;
- at a retarget, the exact ``CalculateNextWorkRequired`` when the previous period's first
  and last block times are both known, else Core's headers-sync bound
  ``PermittedDifficultyTransition`` (at most 4x either way).

Pure: the context is any object with the four lookups of :class:`ChainContext`; no I/O.
Median time past, future-time and version rules are not checked here (yet).
"""

from __future__ import annotations

from typing import Protocol

from hashlens.consensus.header import BlockHeader, check_proof_of_work
from hashlens.consensus.params import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.retarget import calculate_next_work_required, permitted_difficulty_transition
from hashlens.errors import HashlensError

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: The genesis block's prev hash: 32 zero bytes, display hex.
ZERO_HASH = "00" * 32


class ChainContext(Protocol):
    """What is known of the chain below a header; None wherever it is not known."""

    def hash_at(self, height: int) -> str | None:
        """Block hash at ``height`` (display hex)."""
        ...

    def time_at(self, height: int) -> int | None:
        """Header time of the block at ``height`` [Unix s]."""
        ...

    def bits_at(self, height: int) -> int | None:
        """Compact nBits of the block at ``height`` (its own, else its period's)."""
        ...

    def period_bits(self, period: int) -> int | None:
        """Compact nBits shared by every block of difficulty period ``period``."""
        ...


def _at(where: str, height: int) -> str:
    return f"{where} (height {height})"


def check_header_pow(height: int, hdr: BlockHeader, block_hash: bytes, where: str) -> None:
    """Core's ``CheckBlockHeader``: the hash must meet the target the header's own bits set.

    Checked first and without any context, so that a header nobody did the work for is
    refused before it can say anything about the chain.
    """
    if not check_proof_of_work(block_hash, hdr.bits):
        raise HashlensError(
            f"{_at(where, height)}: block {block_hash[::-1].hex()} fails proof of work for its bits 0x{hdr.bits:08x}"
        )


def check_prev_hash(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> None:
    """The header must commit to the block below it (or to nothing, for genesis).

    This linkage is what makes a header sequence a chain: a mismatch means the file is out
    of order, has a gap, or the header belongs to another branch.
    """
    if height == 0:
        if hdr.prev_hash_hex != ZERO_HASH:
            raise HashlensError(f"{_at(where, height)}: the genesis block must have a zero prev hash")
        return
    prev = ctx.hash_at(height - 1)
    if prev is not None and hdr.prev_hash_hex != prev:
        raise HashlensError(
            f"{_at(where, height)}: prev hash {hdr.prev_hash_hex} is not block {height - 1} ({prev}); "
            "the headers are out of order, have a gap, or belong to another chain"
        )


def check_period_bits(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> None:
    """Every block of a period carries the same bits (mainnet has no min-difficulty blocks),
    so a stored period's bits bind each header in it."""
    period = height // N
    pbits = ctx.period_bits(period)
    if pbits is not None and hdr.bits != pbits:
        raise HashlensError(f"{_at(where, height)}: bits 0x{hdr.bits:08x} but period {period} has bits 0x{pbits:08x}")


def check_next_work(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> None:
    """Core's ``GetNextWorkRequired`` as far as the context allows.

    Off a retarget height the bits carry over from the parent. At a retarget the exact rule
    needs the previous period's first (height - 2016) and last (height - 1) block times; Core
    measures the span between them, 2015 intervals, not 2016. Without both times only the
    4x bound of ``PermittedDifficultyTransition`` can be checked, which is what Core's
    headers pre-sync relies on too.
    """
    if height == 0:
        return  # genesis has no parent: its bits are fixed by the chain parameters
    at = _at(where, height)
    old = ctx.bits_at(height - 1)
    if old is None:
        return
    if height % N:
        if old != hdr.bits:
            raise HashlensError(f"{at}: bits change from 0x{old:08x} to 0x{hdr.bits:08x} off a retarget height")
        return
    t_first, t_last = ctx.time_at(height - N), ctx.time_at(height - 1)
    if t_first is not None and t_last is not None:
        want = calculate_next_work_required(old, t_first, t_last)
        if want != hdr.bits:
            raise HashlensError(
                f"{at}: bits 0x{hdr.bits:08x} break the retarget rule, which gives 0x{want:08x} "
                f"from blocks {height - N} and {height - 1}"
            )
    elif not permitted_difficulty_transition(height, old, hdr.bits):
        raise HashlensError(f"{at}: bits 0x{hdr.bits:08x} move more than 4x from 0x{old:08x} at a retarget")


def contextual_check_header(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> str:
    """Check one header at ``height`` against what ``ctx`` knows; return its hash (display hex).

    Parameters
    ----------
    ctx : the known chain below (and at) ``height``; unknown facts are skipped, not guessed.
    height : the header's height [-].
    hdr : the 80-byte header, parsed.
    where : the place for error messages ("file.csv: line 7"); " (height h)" is appended.

    Raises
    ------
    HashlensError
        One line naming the place, the height and the rule broken.

    The header is hashed once here; the hash serves both the proof of work and the result.
    """
    block_hash = hdr.hash()
    check_header_pow(height, hdr, block_hash, where)
    check_prev_hash(ctx, height, hdr, where)
    check_period_bits(ctx, height, hdr, where)
    check_next_work(ctx, height, hdr, where)
    return block_hash[::-1].hex()


__all__ = [
    "ZERO_HASH",
    "ChainContext",
    "check_header_pow",
    "check_next_work",
    "check_period_bits",
    "check_prev_hash",
    "contextual_check_header",
]
