"""Full headers against what the store knows: the store as a chain context, the heights a
header can have, and the one check that a header agrees with the facts stored at its height.

Every path that stores headers (files, a node's runs, a reorganisation) checks them here and
with :mod:`hashlens.consensus.contextual`, so a refusal reads the same whichever path met it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, MAX_BLOCK_HEIGHT, BlockHeader
from hashlens.consensus.contextual import (
    MAINNET,
    MAX_FUTURE_BLOCK_TIME_S,
    ChainParams,
    Overlay,
    RunCheck,
    check_header,
)
from hashlens.consensus.header import display_bytes
from hashlens.consensus.params import GENESIS_TIME
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.store.sync import BranchRows, HeaderColumns, KnownBlock

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def height_ceiling(now: int) -> int:
    """The highest height a header can have by ``now`` [Unix s]: consensus makes the median
    time past of 11 blocks rise at least 1 s every 6 blocks (``time-too-old``) and no header
    is more than 2 h ahead (``time-too-new``), so by ``now`` at most
    6·(now + 2 h - genesis time) + 11 blocks can exist; capped at what the store can hold."""
    return max(0, min(6 * (now + MAX_FUTURE_BLOCK_TIME_S - GENESIS_TIME) + 11, MAX_BLOCK_HEIGHT))


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
        self._fact_heights: np.ndarray | None = None  # sorted heights with a stored hash or time
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
        self._fact_heights = None
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
        if self._fact_heights is None:
            self._fact_heights = np.asarray(sorted(self.hashes.keys() | self.times.keys()), dtype=np.int64)
        known = self._fact_heights
        return known[np.searchsorted(known, lo) : np.searchsorted(known, hi, side="right")].tolist()

    def note_hash(self, height: int, block_hash: str) -> None:
        """A hash a source named for a height (a node's hash of a period's last block)."""
        self.hashes[height] = block_hash
        self._fact_heights = None

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


def check_stored(
    stored: StoredChain,
    height0: int,
    hash_bytes: bytes,
    times: np.ndarray,
    where: str | Callable[[int], str],
    heights: np.ndarray | None = None,
) -> None:
    """Headers (hashes as 32 bytes each, display order; times [Unix s]) must agree with every
    hash and time the store holds at their heights: stored headers, rows without headers
    (block stats, boundary times), periods' last blocks. The headers are consecutive from
    ``height0``, or at ``heights`` (ascending) where given. ``where``: the place for messages,
    or the place of a height."""
    n = len(times)
    if n == 0:
        return
    top = height0 + n - 1 if heights is None else int(heights[-1])
    for h in stored.facts_in(height0, top):
        if heights is None:
            i = h - height0
        else:
            i = int(np.searchsorted(heights, h))
            if i == n or heights[i] != h:
                continue  # a gap between the runs
        place = where if isinstance(where, str) else where(h)
        got = hash_bytes[32 * i : 32 * i + 32].hex()
        known = stored.hashes.get(h)
        if known is not None and known != got:
            raise differs_from_stored(place, h, got, known)
        t, known_time = int(times[i]), stored.times.get(h)
        if known_time is not None and known_time != t:
            raise HashlensError(
                f"{place} (height {h}): header time {t} but the store has {known_time}; one of the sources is wrong"
            )


def header_columns(run: RunCheck) -> HeaderColumns:
    """A checked run of headers as the store's columns."""
    return HeaderColumns(
        run.height0,
        run.hash_bytes,
        display_bytes(run.headers["prev"]),
        display_bytes(run.headers["merkle"]),
        run.headers["version"],
        run.headers["time"],
        run.headers["bits"],
        run.headers["nonce"],
        run.heights,
    )


def check_placement(
    store: Store,
    heights: np.ndarray,
    hashes: np.ndarray,
    prevs: np.ndarray,
    times: np.ndarray,
    where: Callable[[int], str],
) -> int:
    """A header stored only where it belongs: the heights a file states for its headers are
    checked against everything that links a block to its height, and refused on one line where
    anything disagrees:

    - a block has one height: its hash must not be stored (or listed in the file) at another;
    - its parent (the hash it names) stored, or listed, at height h makes it block h + 1;
    - a stored header naming it as parent at height c makes it block c - 1;
    - a header's time bounds its height from the stored median time past (:func:`mtp_ceilings`).

    Parameters
    ----------
    heights : the headers' heights, ascending, one header each [-].
    hashes, prevs : their hashes and the parent hashes they name, (n, 32) bytes in internal
        (wire) order, as :func:`hashlens.consensus.header.hash_headers` gives them.
    times : their header times [Unix s].
    where : the place of row i for messages.

    Returns how many headers nothing confirms: no parent, child, hash or time stored at their
    heights (a checkpoint-style file's far-apart headers); they are placed by the file alone.
    """
    n = heights.size
    if n == 0:
        return 0

    # A short file's rows are all asked about, one hex string each: from bytes, not numpy rows.
    wire_bytes = {id(hashes): hashes.tobytes(), id(prevs): np.ascontiguousarray(prevs).tobytes()} if n <= 65_536 else {}

    def hx(arr: np.ndarray, i: int) -> str:  # display hex
        b = wire_bytes.get(id(arr))
        return arr[i][::-1].tobytes().hex() if b is None else b[32 * i : 32 * i + 32][::-1].hex()

    # Hashes keyed by their first 8 internal bytes (the low-order bytes, effectively random; the
    # high-order ones are proof of work's zeros), every key match then compared in full.
    keys = np.ascontiguousarray(hashes[:, :8]).view("<u8").ravel()
    parent_keys = np.ascontiguousarray(prevs[:, :8]).view("<u8").ravel()
    # Sorted keys find equal hashes and listed parents; the rows behind them (a stable argsort,
    # 20x the sort) are looked up only where there is a match to name.
    ordered = np.sort(keys)
    order: np.ndarray | None = None
    if (ordered[1:] == ordered[:-1]).any():
        order = np.argsort(keys, kind="stable")
        for k in np.flatnonzero(ordered[1:] == ordered[:-1]).tolist():
            i, j = sorted((int(order[k]), int(order[k + 1])))
            if (hashes[i] == hashes[j]).all():
                raise HashlensError(
                    f"{where(j)} (height {int(heights[j])}): block {hx(hashes, j)} is also given at height "
                    f"{int(heights[i])} ({where(i)}); a block has one height: fix the file"
                )
    linked = np.zeros(n, dtype=bool)
    linked[1:] = (heights[1:] == heights[:-1] + 1) & (prevs[1:] == hashes[:-1]).all(axis=1)
    starts = np.flatnonzero(~linked)
    # A header in a run names the one below it; a run's first header may name one listed elsewhere.
    at = np.minimum(np.searchsorted(ordered, parent_keys[starts]), n - 1)
    for i in starts[ordered[at] == parent_keys[starts]].tolist():
        if order is None:
            order = np.argsort(keys, kind="stable")
        pos = int(np.searchsorted(ordered, parent_keys[i]))
        while pos < n and ordered[pos] == parent_keys[i]:
            j = int(order[pos])
            if (hashes[j] == prevs[i]).all() and heights[j] != heights[i] - 1:
                raise HashlensError(
                    f"{where(i)} (height {int(heights[i])}): its parent {hx(prevs, i)} is at height "
                    f"{int(heights[j])} ({where(j)}), so it is block {int(heights[j]) + 1}, not {int(heights[i])}: "
                    "fix the file's heights"
                )
            pos += 1
    # Runs: consecutive heights, each header naming the one before. A run's headers follow its
    # first one, so the store is asked about each run's ends (about every header of a short run).
    ends = np.r_[starts[1:], n]
    ask = np.zeros(n, dtype=bool)
    ask[starts] = True
    ask[ends - 1] = True
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b - a <= 1000:
            ask[a:b] = True
    asked_rows = np.flatnonzero(ask).tolist()
    asked = {hx(hashes, i) for i in asked_rows} | {hx(prevs, i) for i in starts.tolist()}
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
    run_start = set(starts.tolist())
    for i in asked_rows:
        h, x = int(heights[i]), hx(hashes, i)
        elsewhere = sorted(stored_at.get(x, set()) - {h})
        if elsewhere:
            raise HashlensError(
                f"{where(i)} (height {h}): block {x} is stored at height {elsewhere[0]}; a block has one height: "
                "fix the file's height (or, if the store is wrong, rebuild it)"
            )
        if i in run_start:
            parent_at = stored_at.get(hx(prevs, i), set())
            if parent_at and h - 1 not in parent_at:
                raise HashlensError(
                    f"{where(i)} (height {h}): its parent {hx(prevs, i)} is stored as block {min(parent_at)}, "
                    f"so it is block {min(parent_at) + 1}, not {h}: fix the file's height"
                )
        kids = sorted(children.get(x, set()))
        if kids and h + 1 not in kids:
            raise HashlensError(
                f"{where(i)} (height {h}): the stored block at height {kids[0]} names it as parent, "
                f"so it is block {kids[0] - 1}, not {h}: fix the file's height"
            )
    stored_heights, stored_times = store.block_times()
    ceilings = mtp_ceilings(stored_heights, stored_times, heights, times)
    over = np.flatnonzero(heights > ceilings)
    if over.size:
        i = int(over[0])
        raise HashlensError(
            f"{where(i)} (height {int(heights[i])}): a header with time {int(times[i])} can be at most block "
            f"{int(ceilings[i])}: the stored block times below it put the median time past too close (it rises "
            "at least 1 s every 6 blocks); the height is wrong or the header is another chain's"
        )
    # Confirmed: linked to a stored parent (or genesis), or a stored hash, time or child at its
    # height (a stored time there must then be the header's: check_stored).
    timed = np.isin(heights, stored_heights)
    alone = 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        h0 = int(heights[a])
        if h0 == 0 or h0 - 1 in stored_at.get(hx(prevs, a), set()):
            continue
        for i in range(a, b):
            if timed[i]:
                continue
            if ask[i]:
                x, h = hx(hashes, i), int(heights[i])
                if h in stored_at.get(x, set()) or h + 1 in children.get(x, set()):
                    continue
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
    "StoredChain",
    "check_height",
    "check_placement",
    "check_stored",
    "differs_from_stored",
    "header_columns",
    "height_ceiling",
    "mtp_ceilings",
    "validate_header",
]
