"""How the commands open the store: readers read-only beside a running server, writers alone.

A command that only reads (``difficulty``, ``summary``, ``hashprice``, ``report``, …) opens the
store read-only, so it works while ``hashlens serve`` (or another reader) has it open, and
waits briefly while the server's follower commits a batch. Only on first use — an empty store,
an older schema, no prices or miners' data yet — does it open the store for writing to fill it.
Writers (``sync``, imports) take the store's one writer lock and name the holder when refused.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from hashlens.cli.app import state
from hashlens.errors import HashlensError

if TYPE_CHECKING:
    from hashlens.store import Store


def writer_store() -> Store:
    """The store opened for writing (created and migrated if new)."""
    from hashlens.store import Store

    return Store(state.db_path)


def reader_store() -> Store:
    """The store opened read-only (created first if it does not exist yet)."""
    from hashlens.store import Store

    if not state.db_path.exists():
        Store(state.db_path).close()
    store = Store(state.db_path, read_only=True)
    if store.needs_migration():
        store.close()
        Store(state.db_path).close()
        store = Store(state.db_path, read_only=True)
    return store


def _ready(store: Store, prices: bool, miners: bool) -> bool:
    from hashlens.sources.datadir import find_data_dir

    if store.needs_migration():
        return False
    counts = store.counts()
    if counts["periods"] == 0:
        return False
    if miners and store.miner_report_count() == 0:
        return False
    if prices and counts["prices"] == 0:
        try:
            return find_data_dir(state.data_dir) is None  # nothing to fill from: figures that need a price say so
        except HashlensError:
            return True
    return True


def ready_store(quiet: bool, prices: bool = True, miners: bool = False, write: bool = False) -> Store:
    """The store for a command, filled on first use from the shared data (chain, USD prices;
    the bundled snapshot when offline) and, with ``miners``, the bundled miners' sample.

    Returns a read-only store when it is already filled, else (or with ``write``) the writer.
    """
    from hashlens.store import Store

    if state.db_path.exists() and not write:
        store = Store(state.db_path, read_only=True)
        if _ready(store, prices, miners):
            return store
        store.close()
    store = writer_store()
    try:
        _fill(store, quiet, prices, miners)
    except BaseException:
        store.close()
        raise
    return store


def _fill(store: Store, quiet: bool, prices: bool, miners: bool) -> None:
    from hashlens.chain.prices import import_prices
    from hashlens.chain.sync import sync, sync_shared_data
    from hashlens.cli.progress import RichProgress
    from hashlens.sources.datadir import find_data_dir
    from hashlens.sources.prices import read_prices

    counts = store.counts()
    try:
        data_dir = find_data_dir(state.data_dir)
    except HashlensError:
        if counts["periods"] == 0:
            raise
        data_dir = None  # the chain is there; figures that need a price say so
    if counts["periods"] == 0:
        progress = RichProgress(quiet=quiet)
        try:
            if data_dir is None:
                # Offline and no shared data: the bundled snapshot of public chain facts.
                print(
                    "hashlens: no shared data found; starting from the bundled chain snapshot "
                    "(sync a node or an Esplora API for per-block data)",
                    file=sys.stderr,
                )
                sync(store, "snapshot", progress)
            else:
                sync_shared_data(store, data_dir, progress)
        finally:
            progress.close()
    if prices and counts["prices"] == 0 and data_dir is not None:
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        if f.exists():
            import_prices(store, read_prices(f), f.name)
    if miners:
        from hashlens.miners.storeio import ensure_sample

        ensure_sample(store)
