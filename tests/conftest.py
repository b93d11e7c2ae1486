"""Shared fixtures: the real data in ../shared/data, read where it lies."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hashlens.sources.datadir import find_data_dir
from hashlens.store import Store
from tests.facts import SharedChain, load_shared_chain
from tests.helpers import free_port, start_serve
from tests.pg import PgServer, Stores, pg_bindir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = find_data_dir(ROOT / "../shared/data") if (ROOT / "../shared/data").exists() else find_data_dir()
    # The real-data proofs are the point of the suite: a missing folder is a failure, not a skip.
    assert found is not None, "../shared/data (or $HASHLENS_DATA) is required for the test suite"
    return found


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Computed backtest points (hashlens.sim.backtest.track_record) go to the session's own
    folder, for this process and the CLI processes the tests start."""
    import os

    before = os.environ.get("HASHLENS_CACHE_DIR")
    os.environ["HASHLENS_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("HASHLENS_CACHE_DIR", None)
    else:
        os.environ["HASHLENS_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def shared_chain(data_dir: Path) -> SharedChain:
    return load_shared_chain(data_dir)


def copy_db(src: Path, factory: pytest.TempPathFactory, name: str) -> Path:
    """A module's own copy of a session store file (a file copy, not a second sync)."""
    dst = factory.mktemp(name) / src.name
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture(scope="session")
def chain_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The session's one store of the shared chain folder (synced once; modules copy it)."""
    from hashlens.chain.sync import sync

    path = tmp_path_factory.mktemp("chain") / "chain.duckdb"
    with Store(path) as s:
        sync(s, str(data_dir / "chain"))
    return path


@pytest.fixture(scope="session")
def chain_prices_db(chain_db: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The shared chain folder and the USD price series."""
    from hashlens.chain.prices import import_prices
    from hashlens.sources.prices import read_prices

    path = copy_db(chain_db, tmp_path_factory, "chain-prices")
    with Store(path) as s:
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
    return path


@pytest.fixture(scope="session")
def shared_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The whole automatic fill (chain, chain-extra, chain-2026), the USD prices and the
    bundled miners sample: synced once per session; modules copy it."""
    from hashlens.chain.prices import import_prices
    from hashlens.chain.sync import sync_shared_data
    from hashlens.miners.storeio import ensure_sample
    from hashlens.sources.prices import read_prices

    path = tmp_path_factory.mktemp("shared") / "shared.duckdb"
    with Store(path) as s:
        sync_shared_data(s, data_dir)
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    return path


@pytest.fixture(scope="session")
def full_db(chain_prices_db: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A store with the shared chain, the USD price series, the bundled miners sample and the
    pool datasets (a copy of the chain-and-prices store, not a second sync)."""
    from hashlens.miners.storeio import ensure_sample

    path = copy_db(chain_prices_db, tmp_path_factory, "full")
    with Store(path) as s:
        ensure_sample(s)
        _with_pools(s, data_dir)
    return path


def _with_pools(s: Store, data_dir: Path) -> None:
    """The shared pool datasets and hashlens' own attribution of the real fixture coinbases."""
    from hashlens.pools.attribution import attribute_blocks
    from hashlens.pools.dataset import import_shared
    from hashlens.sources.pool_files import read_rules
    from tests.pool_fixtures import coinbases

    import_shared(s, data_dir)
    rules = read_rules(data_dir / "pools/mempool-pools-v2.json")
    attribute_blocks(s, coinbases(), rules, origin="tests/pool_fixtures.py")  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def live_server(full_db: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`hashlens serve` on a loopback port, as a user starts it; stopped after the session."""
    db = tmp_path_factory.mktemp("serve") / "serve.duckdb"
    db.write_bytes(full_db.read_bytes())
    proc, url = start_serve(db)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


# -- the two store backends: a DuckDB file, and a real PostgreSQL server started here -----------
BACKENDS = ["duckdb", "postgresql"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL cluster in a temporary folder for the whole session (Debian's binaries)."""
    bindir = pg_bindir()
    # Like the shared data, the server is part of the suite: missing binaries fail, not skip.
    assert bindir is not None, (
        "the store tests need PostgreSQL's server binaries (Debian: apt-get install postgresql; "
        "`sh scripts/test` installs it when run as root)"
    )
    server = PgServer(bindir, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend a module's store tests run on (each test runs on both)."""
    return str(request.param)


@pytest.fixture(scope="module")
def stores(backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Stores:
    server = request.getfixturevalue("pg_server") if backend == "postgresql" else None
    return Stores(backend, tmp_path_factory.mktemp(backend), server)


@pytest.fixture
def new_store(stores: Stores) -> Callable[[], Store]:
    """A fresh empty store on the module's backend (DuckDB: in memory)."""

    def make() -> Store:
        return Store(":memory:" if stores.backend == "duckdb" else stores.new())

    return make
