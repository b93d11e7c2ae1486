"""Full headers against what the store knows: the store as a chain context, the heights a
header can have, and the one check that a header agrees with the facts stored at its height.

Every path that stores headers (files, a node's runs, a reorganisation) checks them here and
with :mod:`hashlens.consensus.contextual`, so a refusal reads the same whichever path met it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, BlockHeader
from hashlens.consensus.contextual import MAINNET, MAX_FUTURE_BLOCK_TIME_S, ChainParams, Overlay, check_header
from hashlens.consensus.params import GENESIS_TIME
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.store.sync import BranchRows, KnownBlock

N = DIFFICULTY_ADJUSTMENT_INTERVAL

#: Heights are stored as 32-bit integers.
STORE_MAX_HEIGHT = 2**31 - 1


def height_ceiling(now: int) -> int:
    """The highest height a header can have by ``now`` [Unix s]: consensus makes the median
    time past of 11 blocks rise at least 1 s every 6 blocks (``time-too-old``) and no header
    is more than 2 h ahead (``time-too-new``), so by ``now`` at most
    6·(now + 2 h - genesis time) + 11 blocks can exist; capped at what the store can hold."""
    return max(0, min(6 * (now + MAX_FUTURE_BLOCK_TIME_S - GENESIS_TIME) + 11, STORE_MAX_HEIGHT))


def check_height(height: int, now: int, where: str) -> None:
    """A height must lie in 0 … :func:`height_ceiling`."""
    if height < 0:
        raise HashlensError(f"{where}: height {height} is negative; heights start at 0 (genesis)")
    ceiling = height_ceiling(now)
    if height > ceiling:
        raise HashlensError(
            f"{where}: height {height} is above {ceiling}, the most blocks consensus allows by now; "
            "the source is wrong or not Bitcoin mainnet"
        )


class StoredChain:
    """What the store knows at each height (hashes, times, bits) and each period's bits,
    loaded in bulk for a height range (one query, not one per header). The base of a sync's
    :class:`hashlens.consensus.contextual.Overlay`; implements
    :class:`hashlens.consensus.contextual.ChainContext`.

    ``lo``, ``hi``: the heights to load (with the 2016 below ``lo`` a retarget looks back
    at); all heights if either is None. ``below``: see only what the store holds at or below
    this height. ``hide``: a branch of stored headers a reorganisation may abandon; its rows
    (:class:`hashlens.store.sync.BranchRows`) are not seen, everything else is.
    """

    def __init__(
        self,
        store: Store,
        lo: int | None = None,
        hi: int | None = None,
        below: int | None = None,
        hide: BranchRows | None = None,
    ) -> None:
        self.store = store
        self._hidden = frozenset(hide.heights) if hide is not None else frozenset()
        self.hashes: dict[int, str] = {}
        self.times: dict[int, int] = {}
        self.bits: dict[int, int] = {}  # full headers only
        self._loaded: tuple[int, int] | None = None  # the heights loaded; None: every height
        self._below = below
        if below is not None:
            hi = below if hi is None else min(hi, below)
        if lo is not None and hi is not None:
            self._loaded = (lo - N, hi)
        self._take(store.known_blocks(None if lo is None else lo - N, hi))
        self._period_bits: dict[int, int] = {}
        self._period_ends: list[int] = []
        hidden_periods = frozenset(hide.periods) if hide is not None else frozenset()
        hidden_ends = frozenset(hide.last_hashes) if hide is not None else frozenset()
        for p, fact in store.period_facts().items():
            if (below is not None and p * N > below) or p in hidden_periods:
                continue
            self._period_bits[p] = fact.bits
            if fact.last_block_hash is not None and (below is None or p * N + N - 1 <= below) and p not in hidden_ends:
                self.hashes.setdefault(p * N + N - 1, fact.last_block_hash)
                self._period_ends.append(p * N + N - 1)

    def _take(self, rows: list[KnownBlock]) -> None:
        for b in rows:
            if b.bits is not None and b.height in self._hidden:
                continue
            if b.hash is not None:  # a row with a time but no hash says nothing of linkage
                self.hashes[b.height] = b.hash
            if b.time is not None:
                self.times[b.height] = b.time
            if b.bits is not None:
                self.bits[b.height] = b.bits

    def facts_in(self, lo: int, hi: int) -> list[int]:
        """Heights in ``lo`` … ``hi`` where the store holds a hash or a time (block rows and
        periods' last-block hashes), loading them if they were not loaded (never above ``below``)."""
        top = hi if self._below is None else min(hi, self._below)
        loaded = self._loaded
        if lo <= top and loaded is not None and not (loaded[0] <= lo and top <= loaded[1]):
            rows = self.store.known_blocks(lo, top)
            self._take(rows)
            heights = {
                b.height
                for b in rows
                if (b.hash is not None or b.time is not None) and not (b.bits is not None and b.height in self._hidden)
            }
            heights.update(h for h in self._period_ends if lo <= h <= top)
            return sorted(heights)
        return [h for h in range(lo, hi + 1) if h in self.hashes or h in self.times]

    def note_hash(self, height: int, block_hash: str) -> None:
        """A hash a source named for a height (a node's hash of a period's last block)."""
        self.hashes[height] = block_hash

    def hash_at(self, h: int) -> str | None:
        return self.hashes.get(h)

    def time_at(self, h: int) -> int | None:
        return self.times.get(h)

    def period_bits(self, p: int) -> int | None:
        return self._period_bits.get(p)

    def bits_at(self, h: int) -> int | None:
        b = self.bits.get(h)
        return b if b is not None else self.period_bits(h // N)


def differs_from_stored(where: str, height: int, got: str, known: str) -> HashlensError:
    """The refusal of a block whose hash is not the one stored at its height."""
    return HashlensError(
        f"{where} (height {height}): block {got} differs from stored {known}; "
        "a different chain: sync from a node to resolve the reorganisation"
    )


def check_stored(stored: StoredChain, height0: int, hash_bytes: bytes, times: np.ndarray, where: str) -> None:
    """Consecutive headers from ``height0`` (hashes as 32 bytes each, display order; times
    [Unix s]) must agree with every hash and time the store holds at their heights: stored
    headers, rows without headers (block stats, boundary times), periods' last blocks."""
    for h in stored.facts_in(height0, height0 + len(times) - 1):
        i = h - height0
        got = hash_bytes[32 * i : 32 * i + 32].hex()
        known = stored.hashes.get(h)
        if known is not None and known != got:
            raise differs_from_stored(where, h, got, known)
        t, known_time = int(times[i]), stored.times.get(h)
        if known_time is not None and known_time != t:
            raise HashlensError(
                f"{where} (height {h}): header time {t} but the store has {known_time}; one of the sources is wrong"
            )


def validate_header(
    ctx: Overlay,
    height: int,
    hdr: BlockHeader,
    where: str,
    unchecked: Counter[str],
    now: int | None = None,
    params: ChainParams = MAINNET,
) -> str:
    """Check one header in its chain context (:func:`hashlens.consensus.contextual.check_header`,
    ``now`` the reference time), accept it into ``ctx`` so the next header sees it, count the
    rules the context could not decide, and return its hash. Raises naming the height and rule."""
    checked = check_header(ctx, height, hdr, where, now, params)
    unchecked.update(checked.unchecked)
    ctx.add(height, hdr, checked.hash)
    return checked.hash


__all__ = [
    "STORE_MAX_HEIGHT",
    "StoredChain",
    "check_height",
    "check_stored",
    "differs_from_stored",
    "height_ceiling",
    "validate_header",
]
