"""Sync chain data into the store: one entry point for files, folders, Bitcoin Core RPC and
REST, Esplora, and the bundled snapshot.

Dispatch only: a file's format is detected from its content and the file handed to its
importer (:mod:`hashlens.chain.importers`), a node to :mod:`hashlens.chain.remote` (with
fork choice in :mod:`hashlens.chain.reorg` and fees in :mod:`hashlens.chain.fees`). Every
header is checked with :mod:`hashlens.consensus` and written through the typed queries of
:class:`hashlens.store.sync.SyncQueries`, one transaction per batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from hashlens.chain.headers import height_ceiling
from hashlens.chain.importers import (
    import_bitcoinj,
    import_block_times,
    import_blockstats,
    import_boundary_times,
    import_electrum,
    import_headers,
    import_snapshot,
    import_stale,
    place_headers,
    verify_retargets,
)
from hashlens.chain.progress import NullProgress, Progress, SyncReport, default_batch_rows
from hashlens.chain.remote import DEFAULT_FEE_BLOCKS, REMOTE_BATCH_ROWS, BlocksSink, find_fork_point, sync_remote
from hashlens.consensus.contextual import MAINNET, ChainParams
from hashlens.errors import HashlensError
from hashlens.sources import detect
from hashlens.sources.headerfiles import read_headers_csv, read_headers_parquet, read_raw_headers
from hashlens.sources.remote import open_remote
from hashlens.sources.verified_headers import read_verified_headers
from hashlens.store import Store

#: The order files of one folder are read in: periods first (they bind every header's bits),
#: then the blocks and headers they check.
FILE_ORDER = (
    detect.ELECTRUM,
    detect.STALE,
    detect.BITCOINJ,
    detect.BLOCKSTATS,
    detect.BOUNDARY_TIMES,
    detect.BLOCK_TIMES,
    detect.VERIFIED_HEADERS,
    detect.HEADERS_CSV,
    detect.HEADERS_PARQUET,
    detect.RAW_HEADERS,
)


#: Headers per transaction of a header file unless told otherwise: eight DuckDB row groups,
#: about the whole mainnet chain. A file is read, hashed and placed whole before its first
#: write, so writing it in batches of one row group overlaps only the run checks (a tenth of
#: the work) with the writes, and each further INSERT costs DuckDB more than that overlap saves
#: (interleaved, end to end into a store: 200,000 headers in 482 ms whole, 569 ms in row groups
#: beside a writer thread; 600,000 in 982 ms and 1,246 ms). A node sync keeps one row group a
#: run: there the fetch and the checks of each run overlap its write.
FILE_HEADER_BATCH_ROWS = 8 * REMOTE_BATCH_ROWS

#: The shared data folder's chain folders, in the order they are read: each one's rows are
#: checked against what the ones before it stored.
SHARED_CHAIN_FOLDERS = ("chain", "chain-extra", "chain-2026")


def sync_shared_data(store: Store, data_dir: Path, progress: Progress | None = None) -> list[SyncReport]:
    """The shared data folder's chain files: ``chain/`` (checkpoints, block stats, stale
    blocks), then where present ``chain-extra/`` (period boundary times, verified headers) and
    ``chain-2026/`` (per-block times to 2026-03-25, main-chain headers to 2026-09-18)."""
    reports = sync(store, str(data_dir / "chain"), progress)
    for folder in SHARED_CHAIN_FOLDERS[1:]:
        if (data_dir / folder).is_dir():
            reports += sync(store, str(data_dir / folder), progress)
    return reports


def sync(
    store: Store,
    source: str,
    progress: Progress | None = None,
    batch_rows: int | None = None,
    start_height: int | None = None,
    periods_only: bool = False,
    cookie_file: str | None = None,
    now: int | None = None,
    params: ChainParams = MAINNET,
    fee_blocks: int | None = DEFAULT_FEE_BLOCKS,
    on_blocks: BlocksSink | None = None,
) -> list[SyncReport]:
    """Sync one source (path, folder, ``bitcoind://…``, ``bitcoind+rest://…`` or
    ``esplora+http(s)://…``).

    ``now`` is the reference time of Core's ``time-too-new`` rule [Unix s]: the wall clock
    when the sync starts, unless given (tests). ``params``: the chain's consensus parameters
    for a node's or a header file's headers (mainnet's unless given); ``fee_blocks`` and
    ``on_blocks`` (a node's recent blocks for pool attribution): see :func:`sync_remote`."""
    progress = progress or NullProgress()
    now = int(time.time()) if now is None else now
    batch = batch_rows or default_batch_rows()
    if source == "snapshot":
        return [import_snapshot(store, progress, batch, now)]
    if "://" in source:
        client = open_remote(source, cookie_file)
        # A node's runs are written as columns: large transactions cost DuckDB far less per row.
        remote_batch = batch_rows or int(os.environ.get("HASHLENS_BATCH_ROWS", str(REMOTE_BATCH_ROWS)))
        return [
            sync_remote(
                store, client, progress, remote_batch, start_height, periods_only, now, params, fee_blocks, on_blocks
            )
        ]
    path = Path(source)
    if not path.exists():
        raise HashlensError(f"{source}: no such file or folder")
    files: list[tuple[str, Path]] = []
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    skipped: list[str] = []
    for f in candidates:
        kind = detect.detect_format(f)
        if kind is None:
            if path.is_file():
                raise HashlensError(f"{f}: not a chain data format hashlens knows (see `hashlens sync --help`)")
            skipped.append(f.name)
        else:
            files.append((kind, f))
    files.sort(key=lambda kf: FILE_ORDER.index(kf[0]))
    reports = []
    # Header files take the node sync's bulk path, written whole up to FILE_HEADER_BATCH_ROWS.
    header_batch = batch_rows or int(os.environ.get("HASHLENS_BATCH_ROWS", str(FILE_HEADER_BATCH_ROWS)))
    for kind, f in files:
        reports.append(_import_file(store, kind, f, progress, batch, header_batch, start_height, now, params))
    checked = verify_retargets(store)
    if reports:
        reports[-1].notes.append(f"{checked} retargets recomputed exactly from stored block times")
        if skipped:
            reports[-1].notes.append(f"not chain data, left alone: {', '.join(skipped)}")
    return reports


def _import_file(
    store: Store,
    kind: str,
    f: Path,
    progress: Progress,
    batch: int,
    header_batch: int,
    start_height: int | None,
    now: int,
    params: ChainParams,
) -> SyncReport:
    importers: dict[str, Callable[[], SyncReport]] = {
        detect.ELECTRUM: lambda: import_electrum(store, f, progress),
        detect.BITCOINJ: lambda: import_bitcoinj(store, f, progress, batch, now),
        detect.BLOCKSTATS: lambda: import_blockstats(store, f, progress, batch),
        detect.STALE: lambda: import_stale(store, f, progress),
        detect.BOUNDARY_TIMES: lambda: import_boundary_times(store, f, progress),
        detect.BLOCK_TIMES: lambda: import_block_times(store, f, progress, now),
    }
    if kind != detect.BLOCKSTATS:
        with open(f, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                raise HashlensError(
                    f"{f}: a gzip-compressed {kind} file; only block stats are read compressed (gunzip it)"
                )
    if kind in importers:
        return importers[kind]()
    reader = {
        detect.HEADERS_CSV: read_headers_csv,
        detect.HEADERS_PARQUET: read_headers_parquet,
        detect.RAW_HEADERS: read_raw_headers,
        detect.VERIFIED_HEADERS: read_verified_headers,
    }[kind]
    headers = reader(f)
    heights = place_headers(store, headers, start_height)
    return import_headers(store, headers, heights, kind, progress, header_batch, now, params)


# The names the CLI, the API, the follower, the benchmarks and the tests import from here.
__all__ = [
    "DEFAULT_FEE_BLOCKS",
    "FILE_HEADER_BATCH_ROWS",
    "FILE_ORDER",
    "REMOTE_BATCH_ROWS",
    "SHARED_CHAIN_FOLDERS",
    "NullProgress",
    "Progress",
    "SyncReport",
    "default_batch_rows",
    "find_fork_point",
    "height_ceiling",
    "import_headers",
    "sync",
    "sync_remote",
    "sync_shared_data",
    "verify_retargets",
]
