"""Fork choice and reorganisation: a node's branch above the fork against the stored one.

Core's rule: the branch with the most work wins, work being the sum of ``GetBlockProof``
over its blocks (:func:`hashlens.consensus.chain_work`, from each block's target); equal work
keeps what was seen first (the stored branch). The losing branch's rows go and the winner's are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from hashlens.chain.headers import StoredChain
from hashlens.chain.progress import SyncReport
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, BlockHeader, chain_work
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def branch_work(lo: int, hi: int, header_bits: Mapping[int, int], period_bits: Callable[[int], int | None]) -> int:
    """Exact work of a branch's blocks at heights ``lo`` … ``hi`` [hashes]: Core's
    ``GetBlockProof`` summed over them (:func:`hashlens.consensus.chain_work`).

    A height where the branch has a header counts that header's own bits (``header_bits``).
    A height it holds no header for (a periods-only branch: one header a period) counts the
    bits every block of its period shares: those of a header of the branch in that period,
    else ``period_bits(period)``; a period without known bits counts nothing.
    """
    if hi < lo:
        return 0
    own = sorted((h, b) for h, b in header_bits.items() if lo <= h <= hi)
    bits: list[int] = [b for _, b in own]
    counts: list[int] = [1] * len(own)
    in_period: dict[int, tuple[int, int]] = {}  # period -> (headers of the branch in it, their bits)
    for h, b in own:
        n, _ = in_period.get(h // N, (0, b))
        in_period[h // N] = (n + 1, b)
    for p in range(lo // N, hi // N + 1):
        blocks = min(hi, p * N + N - 1) - max(lo, p * N) + 1
        headers, pbits = in_period.get(p, (0, None))
        rest = blocks - headers
        if not rest:
            continue
        shared = pbits if pbits is not None else period_bits(p)
        if shared is not None:
            bits.append(shared)
            counts.append(rest)
    return chain_work(bits, counts)


def stored_branch_work(store: Store, fork: int) -> tuple[int, int]:
    """The stored branch above ``fork``: its top height and its work [hashes]."""
    stored = StoredChain(store)
    stored_top = store.header_top()
    assert stored_top is not None  # there are headers above the fork
    return stored_top, branch_work(fork + 1, stored_top, stored.bits, stored.period_bits)


def reorganise(
    store: Store,
    report: SyncReport,
    fork: int,
    tip: int,
    fresh: Sequence[tuple[int, BlockHeader, str]],
    last_hashes: Mapping[int, str] | None,
    context: StoredChain,
    source: str,
) -> SyncReport:
    """Replace the stored branch above ``fork`` by the node's (``fresh``, validated, up to
    ``tip``; ``last_hashes``: the hashes of period ends a periods-only branch names) if the
    node's has more work; else refuse naming both work figures."""
    stored_top, stored_work = stored_branch_work(store, fork)
    node_work = branch_work(fork + 1, tip, {h: hdr.bits for h, hdr, _ in fresh}, context.period_bits)
    if node_work <= stored_work:
        raise HashlensError(
            f"{source}: reorganisation refused: the node's branch above height {fork} (to {tip}) has work "
            f"{node_work:#x}, not more than the stored branch's {stored_work:#x} (to {stored_top}); "
            "the store keeps the branch with the most work"
        )
    above = store.rows_above(fork)
    dropped = store.replace_branch(fork, fresh, last_hashes, source, report.kind)
    report.added = len(fresh)
    report.notes.append(
        f"reorganisation: rolled back {dropped} block(s) above height {fork}: the node's branch has more work "
        f"({node_work:#x} against {stored_work:#x})"
    )
    if above.bare_blocks or above.stats or above.periods:
        report.notes.append(
            f"dropped with the old branch: {above.bare_blocks} block row(s) without headers"
            + (f" (from {above.bare_sources})" if above.bare_sources else "")
            + f", {above.stats} block-stats row(s), {above.periods} period row(s)"
        )
    return report


__all__ = ["branch_work", "reorganise", "stored_branch_work"]
