"""Full headers against what the store knows: the store as a chain context, the heights a
header can have, and the one check that a header agrees with the facts stored at its height.

Every path that stores headers (files, a node's runs, a reorganisation) checks them here and
with :mod:`hashlens.consensus.contextual`, so a refusal reads the same whichever path met it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

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


def mtp_ceilings(
    stored_heights: np.ndarray, stored_times: np.ndarray, heights: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """The highest height consensus allows each header (at ``heights``, with header ``times``
    [Unix s]) given the stored block times (``stored_heights``, ascending, ``stored_times``
    [Unix s]); the largest int64 where no median time past is stored below a header.

    The median time past (MTP) of 11 blocks never falls, and rises at least 1 s every 6
    blocks (6 new blocks, each above the median, make up more than half the window), and a
    header's time exceeds the MTP at its height. So from the highest height h₁ ≤ H whose 11
    previous times are stored, with MTP m₁ there:

    .. math:: H \\le h_1 + 6 (t_H - 1 - m_1) + 5
    """
    out = np.full(heights.size, np.iinfo(np.int64).max, dtype=np.int64)
    span = 11
    if stored_heights.size < span or heights.size == 0:
        return out
    whole = stored_heights[span - 1 :] - stored_heights[: 1 - span] == span - 1  # 11 consecutive heights
    first = np.flatnonzero(whole)  # window start indices
    anchor = stored_heights[first + span - 1] + 1  # the height whose MTP the window gives, ascending
    k = np.searchsorted(anchor, heights, side="right") - 1
    known = k >= 0
    if known.any():
        windows = np.lib.stride_tricks.sliding_window_view(stored_times, span)[first[k[known]]]
        mtp = np.partition(windows, span // 2, axis=1)[:, span // 2]
        out[known] = anchor[k[known]] + 6 * (times[known].astype(np.int64) - 1 - mtp) + 5
    return out


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


def check_placement(store: Store, rows: Sequence[tuple[int, BlockHeader, str]]) -> int:
    """A header stored only where it belongs: heights a file states for its headers (``rows``,
    ascending heights, one header each) are checked against everything that links a block to
    its height, and refused on one line where anything disagrees:

    - a block has one height: its hash must not be stored (or listed in the file) at another;
    - its parent (the hash it names) stored, or listed, at height h means it is block h + 1;
    - a stored header naming it as parent at height c means it is block c - 1;
    - a header's time bounds its height from the stored median time past (:func:`mtp_ceilings`).

    Returns how many headers nothing confirms: no parent, child, hash or time stored at their
    heights (a checkpoint-style file's far-apart headers); they are placed by the file alone.
    """
    by_hash: dict[str, tuple[int, str]] = {}
    for h, hdr, where in rows:
        x = hdr.hash_hex
        if x in by_hash and by_hash[x][0] != h:
            raise HashlensError(
                f"{where} (height {h}): block {x} is also given at height {by_hash[x][0]} ({by_hash[x][1]}); "
                "a block has one height: fix the file"
            )
        by_hash[x] = (h, where)
    for h, hdr, where in rows:
        parent = by_hash.get(hdr.prev_hash_hex)
        if parent is not None and parent[0] != h - 1:
            raise HashlensError(
                f"{where} (height {h}): its parent {hdr.prev_hash_hex} is at height {parent[0]} ({parent[1]}), "
                f"so it is block {parent[0] + 1}, not {h}: fix the file's heights"
            )
    # Runs: consecutive heights, each header naming the one before. A run's headers follow its
    # first one, so the store is asked about each run's ends (every header of a short run).
    runs: list[list[tuple[int, BlockHeader, str]]] = []
    for row in rows:
        if runs and runs[-1][-1][0] == row[0] - 1 and row[1].prev_hash_hex == runs[-1][-1][1].hash_hex:
            runs[-1].append(row)
        else:
            runs.append([row])
    asked: set[str] = set()
    for run in runs:
        asked.update({run[0][1].hash_hex, run[0][1].prev_hash_hex, run[-1][1].hash_hex})
        if len(run) <= 1000:
            asked.update(hdr.hash_hex for _, hdr, _ in run)
    stored_at: dict[str, set[int]] = {}
    children: dict[str, set[int]] = {}
    for height, found, prev in store.blocks_by_hash(asked):
        if found is not None:
            stored_at.setdefault(found, set()).add(height)
        if prev is not None:
            children.setdefault(prev, set()).add(height)
    for p, fact in store.period_facts().items():
        if fact.last_block_hash is not None and fact.last_block_hash in asked:
            stored_at.setdefault(fact.last_block_hash, set()).add(p * N + N - 1)
    for h, hdr, where in rows:
        x = hdr.hash_hex
        elsewhere = sorted(stored_at.get(x, set()) - {h})
        if elsewhere:
            raise HashlensError(
                f"{where} (height {h}): block {x} is stored at height {elsewhere[0]}; a block has one height: "
                "fix the file's height (or, if the store is wrong, rebuild it)"
            )
        parents = stored_at.get(hdr.prev_hash_hex, set())
        if parents and h - 1 not in parents:
            raise HashlensError(
                f"{where} (height {h}): its parent {hdr.prev_hash_hex} is stored as block {min(parents)}, "
                f"so it is block {min(parents) + 1}, not {h}: fix the file's height"
            )
        kids = sorted(children.get(x, set()))
        if kids and h + 1 not in kids:
            raise HashlensError(
                f"{where} (height {h}): the stored block at height {kids[0]} names it as parent, "
                f"so it is block {kids[0] - 1}, not {h}: fix the file's height"
            )
    heights = np.asarray([h for h, _, _ in rows], dtype=np.int64)
    times = np.asarray([hdr.time for _, hdr, _ in rows], dtype=np.int64)
    stored_heights, stored_times = store.block_times()
    ceilings = mtp_ceilings(stored_heights, stored_times, heights, times)
    over = np.flatnonzero(heights > ceilings)
    if over.size:
        h, hdr, where = rows[int(over[0])]
        raise HashlensError(
            f"{where} (height {h}): a header with time {hdr.time} can be at most block {int(ceilings[over[0]])}: "
            "the stored block times below it put the median time past too close (it rises at least 1 s "
            "every 6 blocks); the height is wrong or the header is another chain's"
        )
    # Confirmed: linked to a stored parent (or genesis), or a stored hash, time or child at its
    # height (a stored time there must then be the header's: chain.headers.check_stored).
    timed = set(stored_heights[np.isin(stored_heights, heights)].tolist())
    alone = 0
    for run in runs:
        h0, first, _ = run[0]
        if h0 == 0 or h0 - 1 in stored_at.get(first.prev_hash_hex, set()):
            continue
        for h, hdr, _ in run:
            x = hdr.hash_hex
            if h not in stored_at.get(x, set()) and h + 1 not in children.get(x, set()) and h not in timed:
                alone += 1
    return alone


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
