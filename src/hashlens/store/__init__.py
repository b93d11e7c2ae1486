"""The embedded database (DuckDB): schema, migrations, typed queries, transactional writes.

No SQL is written outside this package: :class:`Store` offers typed reads and writes, one
mixin per concern.
"""

from hashlens.store.chain import ChainQueries, PeriodTable, RewardStats
from hashlens.store.market import MarketQueries
from hashlens.store.miners import MinerQueries
from hashlens.store.sync import SyncQueries


class Store(SyncQueries, ChainQueries, MarketQueries, MinerQueries):
    """A hashlens store: a DuckDB file (or ``:memory:``) with the schema applied."""

    def __enter__(self) -> "Store":
        return self


__all__ = ["PeriodTable", "RewardStats", "Store"]
