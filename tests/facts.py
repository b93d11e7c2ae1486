"""Test scaffolding: the shared chain files read once, and per-period facts assembled from
them by the tests themselves (the product reads them through `hashlens.chain.sync`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hashlens.consensus import difficulty_from_bits, target_to_bits
from hashlens.sources.blockstats import BlockStats, read_blockstats
from hashlens.sources.checkpoints import Checkpoint, PeriodTarget, read_bitcoinj, read_electrum


@dataclass(frozen=True)
class PeriodFact:
    period: int
    start_height: int
    bits: int
    target: int
    difficulty: float
    start_time: int | None  # time of block start_height [Unix s]
    last_time: int | None  # time of block start_height + 2015 [Unix s]
    last_block_hash: str | None


def assemble_periods(
    electrum: list[PeriodTarget],
    checkpoints: list[Checkpoint] | None = None,
    stats: BlockStats | None = None,
) -> list[PeriodFact]:
    """Join per-period targets with whatever block times the other sources give."""
    times: dict[int, int] = {}
    if stats is not None:
        times.update(stats.time_at())
    for cp in checkpoints or []:
        times[cp.height] = cp.header.time
    out = []
    for p in electrum:
        bits = target_to_bits(p.target)
        out.append(
            PeriodFact(
                period=p.period,
                start_height=p.start_height,
                bits=bits,
                target=p.target,
                difficulty=difficulty_from_bits(bits),
                start_time=times.get(p.start_height),
                last_time=times.get(p.start_height + 2015),
                last_block_hash=p.last_block_hash,
            )
        )
    return out


@dataclass(frozen=True)
class SharedChain:
    """The shared chain files, read once."""

    electrum: list[PeriodTarget]
    checkpoints: list[Checkpoint]
    stats: BlockStats | None

    @property
    def periods(self) -> list[PeriodFact]:
        return assemble_periods(self.electrum, self.checkpoints, self.stats)


def load_shared_chain(data_dir: Path, with_stats: bool = True) -> SharedChain:
    chain = data_dir / "chain"
    stats_path = chain / "blockstats-btc-rpc-data.csv.gz"
    return SharedChain(
        electrum=read_electrum(chain / "electrum-mainnet-checkpoints.json"),
        checkpoints=read_bitcoinj(chain / "bitcoinj-mainnet-checkpoints.txt"),
        stats=read_blockstats(stats_path) if with_stats and stats_path.exists() else None,
    )
