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

The rules are those of a :class:`ChainParams`: :data:`MAINNET` everywhere unless a caller
asks for another set (:data:`REGTEST`, Core's regression-test chain, used by the benchmark).

:func:`check_header` checks one header; :func:`check_header_run` checks a whole buffer of
consecutive headers with numpy (each header hashed once) and, where anything fails, replays
:func:`check_header` over the run, so a refusal names the same header, rule and words.

Pure: the context is any object with the four lookups of :class:`ChainContext`; no I/O.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hashlens.consensus.header import (
    BlockHeader,
    check_proof_of_work,
    check_proof_of_work_bulk,
    display_bytes,
    hash_headers,
    parse_headers,
)
from hashlens.consensus.params import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_LIMIT,
    POW_LIMIT_BITS,
    POW_TARGET_SPACING,
)
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


@dataclass(frozen=True)
class ChainParams:
    """The consensus parameters the header checks depend on (Core's ``Consensus::Params``)."""

    name: str
    pow_limit: int  # the easiest target allowed
    pow_limit_bits: int  # its compact form (``nProofOfWorkLimit``)
    genesis_hash: str  # display hex
    interval: int  # blocks per difficulty period (``DifficultyAdjustmentInterval``)
    spacing_s: int  # ``nPowTargetSpacing`` [s]
    bip34_height: int
    bip66_height: int
    bip65_height: int
    allow_min_difficulty: bool  # ``fPowAllowMinDifficultyBlocks``
    no_retargeting: bool  # ``fPowNoRetargeting``

    @property
    def version_floors(self) -> tuple[tuple[int, int, str], ...]:
        return ((self.bip65_height, 4, "BIP65"), (self.bip66_height, 3, "BIP66"), (self.bip34_height, 2, "BIP34"))


#: Bitcoin mainnet (Core's ``CMainParams``): the default of every check.
MAINNET = ChainParams(
    "main",
    POW_LIMIT,
    POW_LIMIT_BITS,
    GENESIS_HASH,
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_TARGET_SPACING,
    BIP34_HEIGHT,
    BIP66_HEIGHT,
    BIP65_HEIGHT,
    allow_min_difficulty=False,
    no_retargeting=False,
)
#: Core's regression-test chain (``CRegTestParams``): powLimit 2^255 - 1 (bits 0x207fffff),
#: one-day periods of 144 blocks, no retargeting, minimum-difficulty blocks allowed, the
#: BIP34/65/66 floors from height 1. Only where a caller asks for it (the sync benchmark).
REGTEST = ChainParams(
    "regtest",
    (1 << 255) - 1,
    0x207FFFFF,
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    24 * 60 * 60 // (10 * 60),
    10 * 60,
    1,
    1,
    1,
    allow_min_difficulty=True,
    no_retargeting=True,
)

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
        self.height, self.block_hash, self.rule, self.detail = height, block_hash, rule, detail


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


def check_header_pow(
    height: int, hdr: BlockHeader, block_hash: bytes, where: str, params: ChainParams = MAINNET
) -> None:
    """Core's ``CheckBlockHeader``: the hash must meet the target the header's own bits set.

    Checked first and without any context, so that a header nobody did the work for is
    refused before it can say anything about the chain.
    """
    if not check_proof_of_work(block_hash, hdr.bits, params.pow_limit):
        raise HeaderRefused(
            where, height, block_hash[::-1].hex(), HIGH_HASH, f"fails proof of work for its bits 0x{hdr.bits:08x}"
        )


def check_genesis(height: int, hdr: BlockHeader, where: str, params: ChainParams = MAINNET) -> None:
    """Height 0 holds the chain's genesis block (mainnet's by default) and nothing else."""
    if height == 0 and hdr.hash_hex != params.genesis_hash:
        what = "mainnet's" if params is MAINNET else f"{params.name}'s"
        raise HeaderRefused(where, 0, hdr.hash_hex, BAD_GENESIS, f"is not {what} genesis block {params.genesis_hash}")


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


def check_period_bits(
    ctx: ChainContext, height: int, hdr: BlockHeader, where: str, params: ChainParams = MAINNET
) -> None:
    """Every block of a period carries the same bits (mainnet has no min-difficulty blocks),
    so a stored period's bits bind each header in it."""
    if params.allow_min_difficulty:
        return  # a min-difficulty block may differ from its period's bits
    period = height // params.interval
    pbits = ctx.period_bits(period)
    if pbits is not None and hdr.bits != pbits:
        raise HeaderRefused(
            where, height, _hex(hdr), BAD_DIFFBITS, f"bits 0x{hdr.bits:08x} but period {period} has bits 0x{pbits:08x}"
        )


def _min_difficulty_bits(ctx: ChainContext, height: int, hdr: BlockHeader, params: ChainParams) -> int | None:
    """Core's ``GetNextWorkRequired`` off a retarget where minimum-difficulty blocks are allowed:
    the pow limit if the block comes more than two spacings after its parent, else the bits
    of the last block below that is a period start or not at the pow limit; None if unknown."""
    t_prev = ctx.time_at(height - 1)
    if t_prev is None:
        return None
    if hdr.time > t_prev + 2 * params.spacing_s:
        return params.pow_limit_bits
    return _walk_back_bits(ctx, height - 1, params)


def check_next_work(
    ctx: ChainContext, height: int, hdr: BlockHeader, where: str, params: ChainParams = MAINNET
) -> bool:
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
    interval = params.interval
    if height % interval and params.allow_min_difficulty:
        want_min = _min_difficulty_bits(ctx, height, hdr, params)
        if want_min is None:
            return False
        if want_min != hdr.bits:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_DIFFBITS,
                f"bits 0x{hdr.bits:08x} but the minimum-difficulty rule gives 0x{want_min:08x}",
            )
        return True
    if height % interval or params.no_retargeting:
        if old != hdr.bits:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_DIFFBITS,
                f"bits change from 0x{old:08x} to 0x{hdr.bits:08x} off a retarget height"
                if height % interval
                else f"bits change from 0x{old:08x} to 0x{hdr.bits:08x} on a chain without retargeting",
            )
        return True
    t_first, t_last = ctx.time_at(height - interval), ctx.time_at(height - 1)
    if t_first is not None and t_last is not None:
        want = calculate_next_work_required(old, t_first, t_last)
        if want != hdr.bits:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_DIFFBITS,
                f"bits 0x{hdr.bits:08x} break the retarget rule, which gives 0x{want:08x} "
                f"from blocks {height - interval} and {height - 1}",
            )
    elif not params.allow_min_difficulty and not permitted_difficulty_transition(height, old, hdr.bits):
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


def check_version(height: int, hdr: BlockHeader, where: str, params: ChainParams = MAINNET) -> None:
    """``bad-version``: the version floors of BIP34 (2), BIP66 (3) and BIP65 (4) from their heights."""
    for activation, floor, bip in params.version_floors:
        if height >= activation and hdr.version < floor:
            raise HeaderRefused(
                where,
                height,
                _hex(hdr),
                BAD_VERSION,
                f"version 0x{hdr.version & 0xFFFFFFFF:08x} is below {floor}, required from {bip}'s height {activation}",
            )


def check_header(
    ctx: ChainContext,
    height: int,
    hdr: BlockHeader,
    where: str,
    now: int | None = None,
    params: ChainParams = MAINNET,
) -> HeaderCheck:
    """Check one header at ``height`` against what ``ctx`` knows, in Core's order.

    Parameters
    ----------
    ctx : the known chain below (and at) ``height``; unknown facts are skipped, not guessed.
    height : the header's height [-].
    hdr : the 80-byte header, parsed.
    where : the place for error messages ("file.csv: line 7"); " (height h)" is appended.
    now : the reference time for ``time-too-new`` [Unix s] (a sync's wall clock); None skips it.
    params : the chain's consensus parameters; mainnet's unless given.

    Raises
    ------
    HeaderRefused
        One line naming the place, the height, the block hash and the rule broken.
    """
    if height < 0:
        raise HashlensError(f"{where}: height {height} is negative")
    block_hash = hdr.hash()
    check_header_pow(height, hdr, block_hash, where, params)
    check_genesis(height, hdr, where, params)
    check_prev_hash(ctx, height, hdr, where)
    check_period_bits(ctx, height, hdr, where, params)
    unchecked = []
    if not check_next_work(ctx, height, hdr, where, params):
        unchecked.append(BAD_DIFFBITS)
    if not check_time_past(ctx, height, hdr, where):
        unchecked.append(TIME_TOO_OLD)
    if not check_time_future(height, hdr, now, where):
        unchecked.append(TIME_TOO_NEW)
    check_version(height, hdr, where, params)
    return HeaderCheck(block_hash[::-1].hex(), tuple(unchecked))


# -- a run of consecutive headers at once ------------------------------------------------------
@dataclass(frozen=True)
class RunCheck:
    """Headers that passed every rule their context could decide: a run of consecutive
    heights, or (:func:`check_header_runs`) runs with gaps between."""

    height0: int  # height of the first header
    headers: np.ndarray  # records of :data:`hashlens.consensus.header.HEADER_DTYPE`
    hashes: np.ndarray  # (n, 32) uint8, internal byte order
    hash_bytes: bytes  # n * 32 bytes, each hash in display order (see ``display_bytes``)
    unchecked: Counter[str]  # rule -> how many headers it could not be decided for
    # each header's height, where the headers are runs with gaps between (check_header_runs);
    # None: consecutive from height0
    heights: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.headers)

    def hash_at(self, i: int) -> str:
        """Display hex of the i-th header's hash."""
        return self.hash_bytes[32 * i : 32 * i + 32].hex()


class Overlay:
    """Headers accepted above a context and not stored yet, answered before ``base``: what
    Core's block index holds once the headers before a header are accepted.

    The headers are kept as runs of consecutive heights (their hashes, times and bits as
    arrays, not an object per header), so a run of 100,000 headers costs a few array slices.
    ``keep``: answer only for the highest ``keep`` heights accepted so far (a sync needs the
    2016 blocks a retarget looks back and the 11 of the median time past); lower heights fall
    through to ``base``. Implements :class:`ChainContext`.
    """

    def __init__(self, base: ChainContext, keep: int | None = None) -> None:
        self.base, self.keep = base, keep
        self._starts: list[int] = []  # first height of each run, ascending
        self._runs: list[tuple[bytes, np.ndarray, np.ndarray]] = []  # display-order hashes, times, bits

    def extend(self, height0: int, hash_bytes: bytes, times: np.ndarray, bits: np.ndarray) -> None:
        """Accept the headers at ``height0`` … ``height0 + len(times) - 1`` (hashes as 32 bytes
        each, display order). Runs may come in any order but never overlap."""
        n = len(times)
        if n == 0:
            return
        k = bisect.bisect_right(self._starts, height0)
        below_end = self._starts[k - 1] + len(self._runs[k - 1][1]) if k else None
        if (below_end is not None and below_end > height0) or (k < len(self._starts) and self._starts[k] < height0 + n):
            raise ValueError(f"headers at {height0} … {height0 + n - 1} overlap headers already accepted")
        self._starts.insert(k, height0)
        self._runs.insert(k, (hash_bytes, np.asarray(times, dtype=np.int64), np.asarray(bits, dtype=np.int64)))
        if self.keep is not None:
            self._trim(self._starts[-1] + len(self._runs[-1][1]) - self.keep)

    def add(self, height: int, hdr: BlockHeader, block_hash: str) -> None:
        """Accept one header (its hash in display hex)."""
        self.extend(height, bytes.fromhex(block_hash), np.array([hdr.time]), np.array([hdr.bits]))

    def _trim(self, lowest: int) -> None:
        while self._starts and self._starts[0] + len(self._runs[0][1]) <= lowest:
            del self._starts[0], self._runs[0]
        if self._starts and self._starts[0] < lowest:
            cut = lowest - self._starts[0]
            hashes, times, bits = self._runs[0]
            # Copies, so that the buffer the run was read from can be freed.
            self._runs[0] = (hashes[32 * cut :], times[cut:].copy(), bits[cut:].copy())
            self._starts[0] = lowest

    def _find(self, height: int) -> tuple[int, int] | None:
        k = bisect.bisect_right(self._starts, height) - 1
        if k < 0:
            return None
        i = height - self._starts[k]
        return (k, i) if i < len(self._runs[k][1]) else None

    def hash_at(self, height: int) -> str | None:
        at = self._find(height)
        if at is None:
            return self.base.hash_at(height)
        k, i = at
        return self._runs[k][0][32 * i : 32 * i + 32].hex()

    def time_at(self, height: int) -> int | None:
        at = self._find(height)
        return self.base.time_at(height) if at is None else int(self._runs[at[0]][1][at[1]])

    def bits_at(self, height: int) -> int | None:
        at = self._find(height)
        return self.base.bits_at(height) if at is None else int(self._runs[at[0]][2][at[1]])

    def period_bits(self, period: int) -> int | None:
        return self.base.period_bits(period)


def _header_at(headers: np.ndarray, i: int) -> BlockHeader:
    return BlockHeader.parse(headers[i : i + 1].tobytes())


def _walk_back_bits(ctx: ChainContext, height: int, params: ChainParams) -> int | None:
    """The minimum-difficulty walk-back from ``height`` down through ``ctx`` (Core's loop in
    ``GetNextWorkRequired``): the bits of the first block that is a period start, genesis or
    not at the pow limit; None where a block's bits are unknown."""
    while True:
        b = ctx.bits_at(height)
        if b is None:
            return None
        if height == 0 or height % params.interval == 0 or b != params.pow_limit_bits:
            return b
        height -= 1


def _next_work_required(
    ctx: ChainContext, heights: np.ndarray, starts: np.ndarray, headers: np.ndarray, params: ChainParams
) -> tuple[np.ndarray, np.ndarray]:
    """For headers off a retarget height: the bits ``GetNextWorkRequired`` demands and whether
    the context decides it. Retarget heights are left to the scalar rule (few per run).

    ``starts``: the rows that begin a run of consecutive heights (row 0 among them); a run's
    other rows follow the row before, its first row the context below it."""
    n = len(headers)
    bits = headers["bits"].astype(np.int64)
    first = starts.tolist()
    below = [ctx.bits_at(int(heights[a]) - 1) if heights[a] > 0 else None for a in first]
    prev_bits = np.empty(n, dtype=np.int64)
    prev_bits[1:] = bits[:-1]
    prev_bits[starts] = [-1 if b is None else b for b in below]
    known = np.ones(n, dtype=bool)
    known[starts] = [b is not None for b in below]
    if not params.allow_min_difficulty:
        return prev_bits, known
    times = headers["time"].astype(np.int64)
    t_below = [ctx.time_at(int(heights[a]) - 1) if heights[a] > 0 else None for a in first]
    prev_times = np.empty(n, dtype=np.int64)
    prev_times[1:] = times[:-1]
    prev_times[starts] = [-1 if t is None else t for t in t_below]
    known[starts] &= [t is not None for t in t_below]
    late = times > prev_times + 2 * params.spacing_s
    # The walk-back stops at a period start, genesis or a block not at the pow limit; from a
    # run's first rows without a stop above the run's start, it goes on in the context below.
    stops = (heights % params.interval == 0) | (bits != params.pow_limit_bits)
    last_stop = np.maximum.accumulate(np.where(stops, np.arange(n), -1))
    walk_from = np.empty(n, dtype=np.int64)
    walk_from[1:] = last_stop[:-1]
    is_start = np.zeros(n, dtype=bool)
    is_start[starts] = True
    run_start = np.maximum.accumulate(np.where(is_start, np.arange(n), 0))  # each row's run's first row
    walk_from[walk_from < run_start] = -1
    walk_from[starts] = -1
    base = np.array(
        [
            -1 if b is None else b
            for b in (_walk_back_bits(ctx, int(heights[a]) - 1, params) if heights[a] > 0 else None for a in first)
        ],
        dtype=np.int64,
    )
    run_of = np.cumsum(is_start) - 1
    walked = np.where(walk_from >= 0, bits[np.maximum(walk_from, 0)], base[run_of])
    known &= late | (walked >= 0)
    return np.where(late, params.pow_limit_bits, walked), known


def _above_median_time_past(
    ctx: ChainContext, heights: np.ndarray, starts: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each header's time is above the median of the 11 block times below it (Core's
    ``GetMedianTimePast`` of its parent) and whether all 11 are known; rows below height 11
    are left to the scalar rule. ``starts``: the rows that begin a run of consecutive heights.

    The median of 11 times is the 6th smallest, so a time is above it exactly when at least 6
    of the 11 are smaller: 11 comparisons a header, no sort (:func:`median_time_past` owns
    the median itself). A run's first 11 rows reach below it, into the context, which is asked
    downwards from the run and only until a time is unknown."""
    span = MEDIAN_TIME_SPAN
    n = len(times)
    smaller = np.zeros(n, dtype=np.int8)
    for k in range(1, span + 1) if n > span else ():  # rows 11 and above, if inside their run
        smaller[span:] += times[span - k : n - k] < times[span:]
    known = np.ones(n, dtype=bool)
    ends = np.r_[starts[1:], n].tolist()
    for a, b in zip(starts.tolist(), ends, strict=True):
        h = int(heights[a])
        below: list[int] = []  # the times at h - 1, h - 2, ... while known
        while len(below) < span and h - len(below) - 1 >= 0:
            t = ctx.time_at(h - len(below) - 1)
            if t is None:
                break
            below.append(t)
        m = min(span, b - a)  # the run's rows whose windows reach below it
        if len(below) < span - m + 1:  # none of them has all 11
            known[a : a + m] = False
            continue
        ext = np.concatenate([np.array(below[::-1], dtype=np.int64), times[a : a + m]])
        for j in range(m):
            have = span - j <= len(below)
            known[a + j] = have
            if have:
                window = ext[len(below) - (span - j) : len(below) + j]
                smaller[a + j] = int((window < times[a + j]).sum())
    return smaller > span // 2, known


def check_header_run(
    ctx: ChainContext,
    height0: int,
    raw: bytes,
    where: str,
    now: int | None = None,
    params: ChainParams = MAINNET,
    hashes: np.ndarray | None = None,
) -> RunCheck:
    """Check consecutive headers (``raw``: concatenated 80-byte headers, the first at
    ``height0``) as :func:`check_header` checks each in turn, with numpy over the whole run.

    Each header is hashed once from its wire bytes. Every rule is decided for every header
    exactly as :func:`check_header` decides it, with the same context (``ctx`` below the run,
    the run itself above). If any header fails, :func:`check_header` is replayed over the run
    so that the refusal is Core's first failing rule of the first failing header, worded the
    same as a header checked alone. ``hashes``: the run's hashes where the caller has them
    (:func:`hashlens.consensus.header.hash_headers`), so nothing is hashed twice.

    Raises
    ------
    HeaderRefused
        As :func:`check_header`; HashlensError for a buffer that is not whole headers.
    """
    if height0 < 0:
        raise HashlensError(f"{where}: height {height0} is negative")
    n = len(parse_headers(raw))
    run = check_header_runs(ctx, np.arange(height0, height0 + n, dtype=np.int64), raw, where, now, params, hashes)
    return RunCheck(height0, run.headers, run.hashes, run.hash_bytes, run.unchecked)


def check_header_runs(
    ctx: ChainContext,
    heights: np.ndarray,
    raw: bytes,
    where: str,
    now: int | None = None,
    params: ChainParams = MAINNET,
    hashes: np.ndarray | None = None,
) -> RunCheck:
    """:func:`check_header_run` for headers at ascending ``heights`` with gaps between: runs
    of consecutive heights (a checkpoint file's headers, one a period, are runs of one), all
    checked in one pass, each as if the runs below it had been accepted into ``ctx`` first.

    A run's first header is checked against ``ctx`` below it, with the runs below it in the
    context too; a refusal replays :func:`check_header` over every header, lowest first."""
    heights = np.asarray(heights, dtype=np.int64)
    headers = parse_headers(raw)
    n = len(headers)
    if heights.shape != (n,):
        raise ValueError(f"{heights.size} heights for {n} headers")
    if n and int(heights[0]) < 0:
        raise HashlensError(f"{where}: height {int(heights[0])} is negative")
    if n > 1 and not (heights[1:] > heights[:-1]).all():
        raise ValueError("heights must ascend")
    hashes = hash_headers(raw) if hashes is None else hashes
    shown = display_bytes(hashes)
    unchecked: Counter[str] = Counter()
    height0 = int(heights[0]) if n else 0
    if n == 0:
        return RunCheck(height0, headers, hashes, shown, unchecked, heights)
    follows = np.zeros(n, dtype=bool)  # the row's height is one above the row before
    follows[1:] = heights[1:] == heights[:-1] + 1
    starts = np.flatnonzero(~follows)
    ends = np.r_[starts[1:], n]
    bits = headers["bits"]
    times = headers["time"].astype(np.int64)
    # The headers accepted above ctx: a run's rules look only below its headers, so every run
    # may be in the context at once.
    run = Overlay(ctx)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        run.extend(int(heights[a]), shown[32 * a : 32 * b], times[a:b], bits[a:b])

    bad = ~check_proof_of_work_bulk(hashes, bits, params.pow_limit)
    prev = headers["prev"]
    if n > 1:
        bad[1:] |= follows[1:] & (prev[1:] != hashes[:-1]).any(axis=1)
    for a in starts.tolist():
        h = int(heights[a])
        if h == 0:
            bad[a] |= shown[32 * a : 32 * a + 32].hex() != params.genesis_hash or bool(prev[a].any())
        else:
            below_hash = run.hash_at(h - 1)
            if below_hash is not None:
                bad[a] |= prev[a][::-1].tobytes().hex() != below_hash
    if not params.allow_min_difficulty:
        periods = heights // params.interval
        uniq, inv = np.unique(periods, return_inverse=True)
        pbits = [run.period_bits(int(p)) for p in uniq.tolist()]
        want = np.array([-1 if b is None else b for b in pbits], dtype=np.int64)[inv]
        bad |= (want >= 0) & (bits != want)

    required, decided = _next_work_required(run, heights, starts, headers, params)
    off = (heights % params.interval != 0) & (heights > 0)
    bad |= off & decided & (bits != required)
    unchecked[BAD_DIFFBITS] += int((off & ~decided).sum())
    for i in np.flatnonzero((heights % params.interval == 0) & (heights > 0)).tolist():
        try:
            if not check_next_work(run, int(heights[i]), _header_at(headers, i), where, params):
                unchecked[BAD_DIFFBITS] += 1
        except HeaderRefused:
            bad[i] = True

    above_mtp, mtp_known = _above_median_time_past(run, heights, starts, times)
    young = heights < MEDIAN_TIME_SPAN
    bad |= ~young & mtp_known & ~above_mtp
    unchecked[TIME_TOO_OLD] += int((~young & ~mtp_known).sum())
    for i in np.flatnonzero(young & (heights > 0)).tolist():
        young_mtp = median_time_past(run, int(heights[i]))
        if young_mtp is None:
            unchecked[TIME_TOO_OLD] += 1
        elif times[i] <= young_mtp:
            bad[i] = True
    if now is None:
        unchecked[TIME_TOO_NEW] += n
    else:
        bad |= times > now + MAX_FUTURE_BLOCK_TIME_S
    for activation, floor, _ in params.version_floors:
        bad |= (heights >= activation) & (headers["version"] < floor)

    if bad.any():
        # The scalar rules decide, in Core's order: the first failing header raises as it would alone.
        unchecked = Counter()
        for i in range(n):
            checked = check_header(run, int(heights[i]), _header_at(headers, i), where, now, params)
            unchecked.update(checked.unchecked)
    return RunCheck(height0, headers, hashes, shown, +unchecked, heights)


__all__ = [
    "BIP34_HEIGHT",
    "BIP65_HEIGHT",
    "BIP66_HEIGHT",
    "GENESIS_HASH",
    "MAINNET",
    "MAX_FUTURE_BLOCK_TIME_S",
    "MEDIAN_TIME_SPAN",
    "REGTEST",
    "ZERO_HASH",
    "ChainContext",
    "ChainParams",
    "HeaderCheck",
    "HeaderRefused",
    "Overlay",
    "RunCheck",
    "check_genesis",
    "check_header",
    "check_header_pow",
    "check_header_run",
    "check_header_runs",
    "check_next_work",
    "check_period_bits",
    "check_prev_hash",
    "check_time_future",
    "check_time_past",
    "check_version",
    "median_time_past",
]
