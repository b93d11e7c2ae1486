"""Test scaffolding: the shared chain files read once, and per-period facts assembled from
them by the tests themselves (the product reads them through `hashlens.chain.sync`)."""

from __future__ import annotations

import base64
import csv
import functools
import gzip
import hashlib
import json
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


# -- counts read from the shared chain files by hand (standard library only) -----------------
# The golden numbers of the store tests (rows per table, retargets recomputable, period-start
# headers) are derived here from the files themselves, with csv/json/base64 and no hashlens
# reader, so a reader bug cannot make a test agree with itself. PROVENANCE.md says what each
# file holds; the rules below are the ones it states.

BLOCKS_PER_PERIOD = 2016  # Bitcoin's difficulty period [blocks]


@functools.cache
def blockstats_file_rows(data_dir: Path) -> dict[int, tuple[str, int]]:
    """height -> (blockhash, time [Unix s]) of every row of chain/blockstats-btc-rpc-data.csv.gz."""
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt", newline="") as fh:
        return {int(r["height"]): (r["blockhash"], int(r["time"])) for r in csv.DictReader(fh)}


@functools.cache
def bitcoinj_file_headers(data_dir: Path) -> dict[int, bytes]:
    """height -> 80-byte header of every entry of chain/bitcoinj-mainnet-checkpoints.txt: after
    three header lines, one base64 line of 96 bytes each (12 bytes of chainwork, 4 of big-endian
    height, the header)."""
    lines = (data_dir / "chain/bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()
    declared = int(lines[2])
    raws = [base64.b64decode(x) for x in lines[3:] if x.strip()]
    assert len(raws) == declared, "the file's entry count disagrees with its entries"
    return {int.from_bytes(r[12:16], "big"): r[16:96] for r in raws}


@functools.cache
def electrum_file_entries(data_dir: Path) -> list[tuple[str, int]]:
    """Entry i of chain/electrum-mainnet-checkpoints.json: (hash of block 2016 i + 2015, target
    of period i + 1)."""
    return [(str(h), int(t)) for h, t in json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())]


@functools.cache
def stale_file_rows(data_dir: Path) -> list[tuple[int, str]]:
    """(height, hash) of every row of chain/stale-blocks-head-2026.csv (``height,hash,header``)."""
    with open(data_dir / "chain/stale-blocks-head-2026.csv", newline="") as fh:
        return [(int(r["height"]), r["hash"]) for r in csv.DictReader(fh)]


def sha256d_hex(raw: bytes) -> str:
    """A header's block hash in display order: double SHA-256, bytes reversed."""
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()


def checkable_retargets(timed: set[int], periods: set[int]) -> set[int]:
    """Retarget heights P = 2016 p (periods p - 1 and p both known) whose previous period's
    first (P - 2016) and last (P - 1) block times are both known: the ones recomputable exactly."""
    n = BLOCKS_PER_PERIOD
    return {p * n for p in periods if p - 1 in periods and p * n - n in timed and p * n - 1 in timed}


@dataclass(frozen=True)
class ChainFolderCounts:
    """What a store holds after a sync of the shared ``chain/`` folder, counted from its files.

    - block rows: one per distinct height over the block-stats rows and bitcoinj's headers
      (stale blocks are not main-chain rows; Electrum names hashes, not rows);
    - periods: 0 … len(Electrum) (entry i gives period i + 1's target, period 0 is the maximum
      target), and every period a stale block lies in (its bits are the main chain's there);
    - block stats and stale blocks: one per row of their files;
    - retargets recomputable: periods p whose period p - 1 has both its first and last block
      timed (block-stats rows and bitcoinj headers carry times).
    """

    block_stats_heights: frozenset[int]
    header_heights: frozenset[int]
    periods_set: frozenset[int]
    stale_blocks: int
    retargets_checkable: frozenset[int]

    @property
    def blocks(self) -> int:
        return len(self.block_stats_heights | self.header_heights)

    @property
    def periods(self) -> int:
        return len(self.periods_set)

    @property
    def block_stats(self) -> int:
        return len(self.block_stats_heights)

    @property
    def period_start_headers(self) -> int:
        """bitcoinj's headers: the first block of every period from height 2016 on."""
        return len(self.header_heights)

    def table_counts(self) -> dict[str, int]:
        """The store's :meth:`counts` after the sync (no prices in ``chain/``)."""
        return {
            "blocks": self.blocks,
            "periods": self.periods,
            "block_stats": self.block_stats,
            "stale_blocks": self.stale_blocks,
            "prices": 0,
        }


@functools.cache
def chain_folder_counts(data_dir: Path) -> ChainFolderCounts:
    stats = set(blockstats_file_rows(data_dir))
    headers = set(bitcoinj_file_headers(data_dir))
    stale = stale_file_rows(data_dir)
    periods = set(range(len(electrum_file_entries(data_dir)) + 1)) | {h // BLOCKS_PER_PERIOD for h, _ in stale}
    return ChainFolderCounts(
        block_stats_heights=frozenset(stats),
        header_heights=frozenset(headers),
        periods_set=frozenset(periods),
        stale_blocks=len({x for _, x in stale}),
        retargets_checkable=frozenset(checkable_retargets(stats | headers, periods)),
    )


def extra_folder_heights(data_dir: Path) -> set[int]:
    """Every height the automatic fill's other folders name (chain-extra's boundary times and
    verified headers, chain-2026's block times and headers): block rows, never new periods
    when each lies in a period the chain folder already gives."""
    heights: set[int] = set()
    for name, cols in (
        ("chain-extra/period-boundary-times-2025-2026.csv", ("period_start", "last_height")),
        ("chain-extra/verified-mainnet-headers-2025-2026.csv", ("height",)),
        ("chain-2026/block-times-934576-942199.csv", ("height",)),
        ("chain-2026/mainnet-headers-2026-09.csv", ("height",)),
    ):
        with open(data_dir / name, newline="") as fh:
            heights |= {int(r[c]) for r in csv.DictReader(fh) for c in cols if r[c]}
    return heights
