"""The latest known block and the recent block rate, from whatever data is at hand."""

from __future__ import annotations

from dataclasses import dataclass

from hashlens.errors import HashlensError
from hashlens.sources.blockstats import read_blockstats
from hashlens.sources.datadir import require_data_dir
from hashlens.store import Store


@dataclass(frozen=True)
class Tip:
    height: int
    time: int
    recent_interval_s: float
    source: str


def store_tip(store: Store) -> Tip | None:
    """Tip from the store: the latest block with 2016 stored predecessors' times."""
    from hashlens.chain.status import block_times, per_block_tip

    try:
        heights, times = block_times(store)
        h, t = per_block_tip(heights, times)
    except HashlensError:
        return None
    before = store.block_time(h - 2016)
    assert before is not None
    return Tip(h, t, (t - before) / 2016, f"store {store.path} (latest block with a full period of times)")


def latest_tip(data_dir: str | None) -> Tip:
    """Tip from the per-block stats file: its last block, and the mean interval of the
    last 2016 blocks (time difference over 2016 intervals)."""
    d = require_data_dir(data_dir)
    path = d / "chain" / "blockstats-btc-rpc-data.csv.gz"
    if not path.exists():
        raise HashlensError(f"{path} is missing; pass --height, --tip-time and --interval")
    stats = read_blockstats(path)
    n = 2016
    if len(stats.height) <= n or stats.height[-1] - stats.height[-1 - n] != n:
        raise HashlensError(f"{path}: fewer than 2017 contiguous blocks at its end")
    span = int(stats.time[-1] - stats.time[-1 - n])
    return Tip(int(stats.height[-1]), int(stats.time[-1]), span / n, f"{path.name} (last block)")
