"""Fork choice and reorganisation: a node's branch above the fork against the stored one.

Core's rule: the branch with the most work wins; equal work keeps what was seen first (the
stored branch). The losing branch's rows go and the winner's are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from hashlens.chain.headers import StoredChain
from hashlens.chain.progress import SyncReport
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, BlockHeader, block_work
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def branch_work(lo: int, hi: int, bits_of: Callable[[int], int | None]) -> int:
    """Exact work of the blocks at heights ``lo`` … ``hi`` [hashes]: per period, its blocks
    times ``block_work`` of its bits (every block of a mainnet period shares them).
    ``bits_of(period)`` gives a period's bits; a period without known bits counts nothing."""
    total = 0
    h = lo
    while h <= hi:
        p = h // N
        end = min(hi, p * N + N - 1)
        bits = bits_of(p)
        if bits is not None:
            total += (end - h + 1) * block_work(bits)
        h = end + 1
    return total


def stored_branch_work(store: Store, fork: int) -> tuple[int, int]:
    """The stored branch above ``fork``: its top height and its work [hashes]."""
    stored_view = StoredChain(store)
    stored_top = store.header_top()
    assert stored_top is not None  # there are headers above the fork
    stored_bits = {h // N: b for h, b in stored_view.bits.items() if h > fork}
    return stored_top, branch_work(fork + 1, stored_top, lambda p: stored_bits.get(p, stored_view.period_bits(p)))


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
    node_bits = {h // N: hdr.bits for h, hdr, _ in fresh}
    node_work = branch_work(fork + 1, tip, lambda p: node_bits.get(p, context.period_bits(p)))
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
