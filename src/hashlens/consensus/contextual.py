"""Contextual checks of one block header against the chain before it, as Bitcoin Core does.

Core checks a header in two steps: ``CheckBlockHeader`` (the header alone: proof of work for
its own bits) and ``ContextualCheckBlockHeader`` (the header against its parent: the bits
``GetNextWorkRequired`` demands, a time above the median of the previous 11 blocks and not
more than two hours ahead of the node's clock, the version floors of BIP34/66/65); the genesis
block is mainnet's, by hash. hashlens often holds only part of the chain (one header per
period, the first and last block times of some periods), so each rule is applied as far as
the known context allows, never guessed where it does not, and a rule the context could not
decide is named in :attr:`HeaderCheck.unchecked`:

- proof of work for the header's own bits, always (``CheckProofOfWork``, ``high-hash``);
- height 0: the hash is mainnet's genesis (``bad-genesis``);
- the prev hash equals the stored hash of the block below, where that hash is known
  (``bad-prevblk``);
- the bits equal the period's stored bits, and do not change off a retarget height; at a
  retarget, the exact ``CalculateNextWorkRequired`` when the previous period's first and last
  block times are both known, else Core's headers-sync bound ``PermittedDifficultyTransition``
  (at most 4x either way) (``bad-diffbits``);
- the time is strictly above the median time past of the previous 11 blocks, where all their
  times are known (``time-too-old``), and at most two hours past the reference time, the sync's
  wall clock (``time-too-new``);
- version at least 2 from BIP34's height, 3 from BIP66's, 4 from BIP65's (``bad-version``).

Pure: the context is any object with the four lookups of :class:`ChainContext`; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hashlens.consensus.header import BlockHeader, check_proof_of_work
from hashlens.consensus.params import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.retarget import calculate_next_work_required, permitted_difficulty_transition
from hashlens.errors import HashlensError

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: The genesis block's prev hash: 32 zero bytes, display hex.
ZERO_HASH = "00" * 32
#: Mainnet's genesis block hash (Core's ``consensus.hashGenesisBlock``), display hex.
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
#: Core's ``MAX_FUTURE_BLOCK_TIME``: how far past the reference time a header may be [s].
MAX_FUTURE_BLOCK_TIME_S = 2 * 60 * 60
#: Blocks in Core's median time past (``CBlockIndex::nMedianTimeSpan``).
MEDIAN_TIME_SPAN = 11
#: Mainnet activation heights (Core's ``consensus.BIP34Height`` etc.) and the version floor each sets.
BIP34_HEIGHT = 227_931
BIP66_HEIGHT = 363_725
BIP65_HEIGHT = 388_381
VERSION_FLOORS = ((BIP65_HEIGHT, 4, "BIP65"), (BIP66_HEIGHT, 3, "BIP66"), (BIP34_HEIGHT, 2, "BIP34"))

# Core's reject reasons, used as the rule names of refusals.
HIGH_HASH = "high-hash"
BAD_GENESIS = "bad-genesis"
BAD_PREVBLK = "bad-prevblk"
BAD_DIFFBITS = "bad-diffbits"
TIME_TOO_OLD = "time-too-old"
TIME_TOO_NEW = "time-too-new"
BAD_VERSION = "bad-version"


class HeaderRefused(HashlensError):
    """A header that breaks a consensus rule; names the place, height, hash and rule."""

    def __init__(self, where: str, height: int, block_hash: str, rule: str, detail: str) -> None:
        super().__init__(f"{where} (height {height}): {detail} (block {block_hash}, rule {rule})")
        self.height, self.block_hash, self.rule = height, block_hash, rule


@dataclass(frozen=True)
class HeaderCheck:
    """A header that passed: its hash (display hex) and the rules its context could not decide."""

    hash: str
    unchecked: tuple[str, ...] = ()


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


def _hex(hdr: BlockHeader) -> str:
    return hdr.hash_hex


def check_header_pow(height: int, hdr: BlockHeader, block_hash: bytes, where: str) -> None:
    """Core's ``CheckBlockHeader``: the hash must meet the target the header's own bits set.

    Checked first and without any context, so that a header nobody did the work for is
    refused before it can say anything about the chain.
    """
    if not check_proof_of_work(block_hash, hdr.bits):
        raise HeaderRefused(
            where, height, block_hash[::-1].hex(), HIGH_HASH, f"fails proof of work for its bits 0x{hdr.bits:08x}"
        )


def check_genesis(height: int, hdr: BlockHeader, where: str) -> None:
    """Height 0 holds mainnet's genesis block and nothing else."""
    if height == 0 and hdr.hash_hex != GENESIS_HASH:
        raise HeaderRefused(where, 0, hdr.hash_hex, BAD_GENESIS, f"is not mainnet's genesis block {GENESIS_HASH}")


def check_prev_hash(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> None:
    """The header must commit to the block below it (or to nothing, for genesis).

    This linkage is what makes a header sequence a chain: a mismatch means the file is out
    of order, has a gap, or the header belongs to another branch.
    """
    if height == 0:
        if hdr.prev_hash_hex != ZERO_HASH:
            raise HeaderRefused(where, height, _hex(hdr), BAD_PREVBLK, "the genesis block must have a zero prev hash")
        return
    prev = ctx.hash_at(height - 1)
    if prev is not None and hdr.prev_hash_hex != prev:
        raise HeaderRefused(
            where,
            height,
            _hex(hdr),
            BAD_PREVBLK,
            f"prev hash {hdr.prev_hash_hex} is not block {height - 1} ({prev}); "
            "the headers are out of order, have a gap, or belong to another chain",
        )


def check_period_bits(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> None:
    """Every block of a period carries the same bits (mainnet has no min-difficulty blocks),
    so a stored period's bits bind each header in it."""
    period = height // N
    pbits = ctx.period_bits(period)
    if pbits is not None and hdr.bits != pbits:
        raise HeaderRefused(
            where, height, _hex(hdr), BAD_DIFFBITS, f"bits 0x{hdr.bits:08x} but period {period} has bits 0x{pbits:08x}"
        )


def check_next_work(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> bool:
    """Core's ``GetNextWorkRequired`` as far as the context allows; False if nothing was known.

    Off a retarget height the bits carry over from the parent. At a retarget the exact rule
    needs the previous period's first (height - 2016) and last (height - 1) block times; Core
    measures the span between them, 2015 intervals, not 2016. Without both times only the
    4x bound of ``PermittedDifficultyTransition`` can be checked, which is what Core's
    headers pre-sync relies on too.
    """
    if height == 0:
        return True  # genesis has no parent: its bits are fixed by the chain parameters
    old = ctx.bits_at(height - 1)
    if old is None:
        return False
    if height % N:
        if old != hdr.bits:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_DIFFBITS,
                f"bits change from 0x{old:08x} to 0x{hdr.bits:08x} off a retarget height",
            )
        return True
    t_first, t_last = ctx.time_at(height - N), ctx.time_at(height - 1)
    if t_first is not None and t_last is not None:
        want = calculate_next_work_required(old, t_first, t_last)
        if want != hdr.bits:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_DIFFBITS,
                f"bits 0x{hdr.bits:08x} break the retarget rule, which gives 0x{want:08x} "
                f"from blocks {height - N} and {height - 1}",
            )
    elif not permitted_difficulty_transition(height, old, hdr.bits):
        raise HeaderRefused(
            where,
            height,
            _hex(hdr),
            BAD_DIFFBITS,
            f"bits 0x{hdr.bits:08x} move more than 4x from 0x{old:08x} at a retarget",
        )
    return True


def median_time_past(ctx: ChainContext, height: int) -> int | None:
    """Core's ``GetMedianTimePast`` of block ``height - 1``: the median time of the (up to) 11
    blocks below ``height`` [Unix s]; None unless every one of their times is known."""
    n = min(MEDIAN_TIME_SPAN, height)
    times = [ctx.time_at(h) for h in range(height - n, height)]
    if n == 0 or any(t is None for t in times):
        return None
    ordered = sorted(t for t in times if t is not None)
    return ordered[n // 2]


def check_time_past(ctx: ChainContext, height: int, hdr: BlockHeader, where: str) -> bool:
    """``time-too-old``: the time must exceed the median time past; False if not checkable."""
    if height == 0:
        return True
    mtp = median_time_past(ctx, height)
    if mtp is None:
        return False
    if hdr.time <= mtp:
        raise HeaderRefused(
            where,
            height,
            _hex(hdr),
            TIME_TOO_OLD,
            f"time {hdr.time} is not above {mtp}, the median time of the previous {min(MEDIAN_TIME_SPAN, height)} blocks",
        )
    return True


def check_time_future(height: int, hdr: BlockHeader, now: int | None, where: str) -> bool:
    """``time-too-new``: at most two hours past the reference time ``now``; False without one."""
    if now is None:
        return False
    if hdr.time > now + MAX_FUTURE_BLOCK_TIME_S:
        raise HeaderRefused(
            where,
            height,
            _hex(hdr),
            TIME_TOO_NEW,
            f"time {hdr.time} is more than {MAX_FUTURE_BLOCK_TIME_S} s past the reference time {now}",
        )
    return True


def check_version(height: int, hdr: BlockHeader, where: str) -> None:
    """``bad-version``: the version floors of BIP34 (2), BIP66 (3) and BIP65 (4) from their heights."""
    for activation, floor, bip in VERSION_FLOORS:
        if height >= activation and hdr.version < floor:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_VERSION,
                f"version 0x{hdr.version & 0xFFFFFFFF:08x} is below {floor}, required from {bip}'s height {activation}",
            )


def check_header(ctx: ChainContext, height: int, hdr: BlockHeader, where: str, now: int | None = None) -> HeaderCheck:
    """Check one header at ``height`` against what ``ctx`` knows, in Core's order.

    Parameters
    ----------
    ctx : the known chain below (and at) ``height``; unknown facts are skipped, not guessed.
    height : the header's height [-].
    hdr : the 80-byte header, parsed.
    where : the place for error messages ("file.csv: line 7"); " (height h)" is appended.
    now : the reference time for ``time-too-new`` [Unix s] (a sync's wall clock); None skips it.

    Raises
    ------
    HeaderRefused
        One line naming the place, the height, the block hash and the rule broken.
    """
    if height < 0:
        raise HashlensError(f"{where}: height {height} is negative")
    block_hash = hdr.hash()
    check_header_pow(height, hdr, block_hash, where)
    check_genesis(height, hdr, where)
    check_prev_hash(ctx, height, hdr, where)
    check_period_bits(ctx, height, hdr, where)
    unchecked = []
    if not check_next_work(ctx, height, hdr, where):
        unchecked.append(BAD_DIFFBITS)
    if not check_time_past(ctx, height, hdr, where):
        unchecked.append(TIME_TOO_OLD)
    if not check_time_future(height, hdr, now, where):
        unchecked.append(TIME_TOO_NEW)
    check_version(height, hdr, where)
    return HeaderCheck(block_hash[::-1].hex(), tuple(unchecked))


def contextual_check_header(
    ctx: ChainContext, height: int, hdr: BlockHeader, where: str, now: int | None = None
) -> str:
    """:func:`check_header`, returning only the header's hash (display hex)."""
    return check_header(ctx, height, hdr, where, now).hash


__all__ = [
    "BIP34_HEIGHT",
    "BIP65_HEIGHT",
    "BIP66_HEIGHT",
    "GENESIS_HASH",
    "MAX_FUTURE_BLOCK_TIME_S",
    "MEDIAN_TIME_SPAN",
    "ZERO_HASH",
    "ChainContext",
    "HeaderCheck",
    "HeaderRefused",
    "check_genesis",
    "check_header",
    "check_header_pow",
    "check_next_work",
    "check_period_bits",
    "check_prev_hash",
    "check_time_future",
    "check_time_past",
    "check_version",
    "contextual_check_header",
    "median_time_past",
]
