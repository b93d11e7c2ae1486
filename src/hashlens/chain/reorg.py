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
from hashlens.store.sync import BranchRows, StoredHeader

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


def losing_branch(store: Store, fork: int, tip: int) -> list[StoredHeader]:
    """The stored branch a node's branch above ``fork`` (up to ``tip``) competes with.

    Every stored full header in (``fork``, ``tip``]: the node named another block at each of
    those heights (``fork`` is the highest stored header it agrees with). Above ``tip``, the
    stored headers that continue that branch: each naming the one below as parent (or, one a
    period as a periods-only sync stores them, the first header of the period below being the
    branch's and no stored last block of that period naming another parent). A header linked to nothing below it (one a file placed
    by its height alone) is no part of any branch: it neither weighs in nor is removed.
    """
    above = store.headers_above(fork)
    branch: dict[int, str] = {x.height: x.hash for x in above if x.height <= tip}
    fork_hash = store.header_hashes(fork, fork).get(fork) if fork >= 0 else None
    if fork_hash is not None:
        branch[fork] = fork_hash
    ends = {p * N + N - 1: f.last_block_hash for p, f in store.period_facts().items() if f.last_block_hash}
    out = [x for x in above if x.height <= tip]
    for x in above:
        if x.height <= tip:
            continue
        dense = branch.get(x.height - 1) == x.prev_hash
        sparse = x.height % N == 0 and x.height - N in branch and ends.get(x.height - 1) in (None, x.prev_hash)
        if dense or sparse:
            branch[x.height] = x.hash
            out.append(x)
    return out


def abandoned_rows(
    store: Store, fork: int, headers: Sequence[StoredHeader], winner: Mapping[int, str] | None = None
) -> BranchRows:
    """The rows a reorganisation that abandons ``headers`` (stored full headers above ``fork``)
    removes: those headers (and their block statistics), the period rows they proved (a
    period-start header's row written by the same source), and the periods' last-block hashes
    that are the branch's claim (a header's own hash, or the parent hash a header names)
    unless ``winner`` (height -> hash of the branch that replaces it) claims the same block.
    Period rows and hashes from other sources (checkpoints, stale blocks, boundary times) and
    rows without headers are no part of the branch: they stay."""
    facts = store.period_facts()
    by_height = {x.height: x for x in headers}
    claims: dict[int, str] = {}
    for x in headers:
        claims[x.height] = x.hash
        if x.height - 1 > fork:
            claims.setdefault(x.height - 1, x.prev_hash)
    won = winner or {}
    periods = [
        p for p, f in facts.items() if p * N > fork and p * N in by_height and by_height[p * N].source == f.source
    ]
    ends = [
        p
        for p, f in facts.items()
        if f.last_block_hash is not None
        and p * N + N - 1 > fork
        and claims.get(p * N + N - 1) == f.last_block_hash
        and won.get(p * N + N - 1) != f.last_block_hash
    ]
    return BranchRows(fork, tuple(sorted(by_height)), tuple(sorted(periods)), tuple(sorted(ends)))


def reorganise(
    store: Store,
    report: SyncReport,
    fork: int,
    tip: int,
    fresh: Sequence[tuple[int, BlockHeader, str]],
    last_hashes: Mapping[int, str] | None,
    losing: Sequence[StoredHeader],
    context: StoredChain,
    source: str,
) -> None:
    """Replace the stored branch above ``fork`` (``losing``) by the node's (``fresh``,
    validated against ``context``: the store without the losing branch's rows; up to
    ``tip``; ``last_hashes``: the hashes of period ends a periods-only branch names) if the
    node's has more work, removing only the losing branch's rows (:func:`abandoned_rows`);
    else refuse naming both work figures. Each branch weighs the sum of its blocks' work; a
    periods-only branch's header weighs for every block of its period up to the next header."""
    stored_top = losing[-1].height if losing else fork
    if losing and all(x.height % N == 0 for x in losing):
        # A periods-only branch: each header stands for its period's blocks up to the next.
        stored_work = branch_work(fork + 1, stored_top, {x.height: x.bits for x in losing}, context.period_bits)
    else:
        stored_work = chain_work([x.bits for x in losing])
    node_work = branch_work(fork + 1, tip, {h: hdr.bits for h, hdr, _ in fresh}, context.period_bits)
    if node_work <= stored_work:
        raise HashlensError(
            f"{source}: reorganisation refused: the node's branch above height {fork} (to {tip}) has work "
            f"{node_work:#x}, not more than the stored branch's {stored_work:#x} (to {stored_top}); "
            "the store keeps the branch with the most work"
        )
    winner: dict[int, str] = dict(last_hashes or {})
    for h, hdr, block_hash in fresh:
        winner[h] = block_hash
        winner.setdefault(h - 1, hdr.prev_hash_hex)
    rows = abandoned_rows(store, fork, losing, winner)
    stats = len(store.stats_between(fork + 1, stored_top).keys() & set(rows.heights)) if rows.heights else 0
    dropped = store.replace_branch(rows, fresh, last_hashes, source, report.kind)
    report.added = len(fresh)
    report.notes.append(
        f"reorganisation: rolled back {dropped} block(s) above height {fork}: the node's branch has more work "
        f"({node_work:#x} against {stored_work:#x})"
    )
    if stats or rows.periods or rows.last_hashes:
        report.notes.append(
            f"dropped with the old branch: {stats} block-stats row(s) of its blocks, {len(rows.periods)} period "
            f"row(s) its headers proved, {len(rows.last_hashes)} last-block hash(es) it claimed"
        )


__all__ = ["abandoned_rows", "branch_work", "losing_branch", "reorganise"]
