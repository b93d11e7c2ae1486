"""Fees of recent blocks from a node: its block statistics for stored headers that have none,
checked like a file's and written through the block-stats path."""

from __future__ import annotations

import numpy as np

from hashlens.chain.progress import SyncReport
from hashlens.errors import HashlensError
from hashlens.sources.blockstats import BlockStats, check_block_stats
from hashlens.sources.remote import HeaderSource
from hashlens.store import Store
from hashlens.store.sync import StatsRows, TimedBlocks


def sync_fees(store: Store, client: HeaderSource, report: SyncReport, tip: int, fee_blocks: int | None) -> None:
    """Block statistics (fees) for the stored headers among the last ``fee_blocks`` below the
    tip that have none, through the block-stats write path; each must name the stored hash."""
    if fee_blocks == 0:
        return
    lo = 0 if fee_blocks is None else max(0, tip - fee_blocks + 1)
    have = store.header_hashes(lo, tip)
    done = store.stats_between(lo, tip)
    todo = sorted(h for h in have if h not in done)
    if not todo:
        return
    fees, note = client.block_fees(todo)
    for f in fees:
        if have.get(f.height) != f.blockhash:
            raise HashlensError(
                f"{client.name}: the block stats for height {f.height} are of block {f.blockhash}, "
                f"but the store has {have.get(f.height)}; the node's chain moved: rerun the sync"
            )
    if fees:
        col = lambda name: np.asarray([getattr(f, name) for f in fees], dtype=np.int64)  # noqa: E731
        # The node's statistics meet the same checks as a file's (consensus subsidy, fees not
        # negative, what a block can hold): a node that lies is refused on one line.
        order = np.argsort(col("height"), kind="stable")
        check_block_stats(
            BlockStats(
                height=col("height")[order],
                time=col("time")[order],
                blockhash=[fees[i].blockhash for i in order.tolist()],
                subsidy_sat=col("subsidy_sat")[order],
                totalfee_sat=col("totalfee_sat")[order],
                mediantime=np.zeros(len(fees), dtype=np.int64),  # parents may be missing: no MTP check here
                txs=col("txs")[order],
                total_weight=col("total_weight")[order],
            ),
            client.name,
        )
        store.insert_block_stats(
            StatsRows(
                col("height"),
                col("mediantime"),
                col("subsidy_sat"),
                col("totalfee_sat"),
                col("txs"),
                col("total_weight"),
            ),
            TimedBlocks(np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)),
            client.name,
            client.name,
            "block-fees",
        )
        report.notes.append(f"fees of {len(fees)} block(s) stored")
    if note:
        report.notes.append(note)


__all__ = ["sync_fees"]
