"""The store: schema, migrations, typed queries, transactional writes, on DuckDB (an embedded
file, the default) or PostgreSQL (``postgresql://…``, for several processes on one store).

No SQL is written outside this package: :class:`Store` offers typed reads and writes, one
mixin per concern; :mod:`hashlens.store.backend` runs them on either engine.
"""

from hashlens.store.chain import ChainQueries, PeriodTable, RewardStats
from hashlens.store.dump import DumpQueries
from hashlens.store.market import MarketQueries
from hashlens.store.miners import MinerQueries
from hashlens.store.pools import PoolQueries
from hashlens.store.sync import SyncQueries


class Store(SyncQueries, ChainQueries, MarketQueries, MinerQueries, PoolQueries, DumpQueries):
    """A hashlens store with the schema applied: a DuckDB file (or ``:memory:``), or a
    PostgreSQL database named by a ``postgresql://`` URL."""

    def __enter__(self) -> "Store":
        return self


__all__ = ["PeriodTable", "RewardStats", "Store"]
