"""Shared fixtures: the real data in ../shared/data, read where it lies."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashlens.chain.facts import SharedChain, load_shared_chain
from hashlens.sources.datadir import find_data_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = find_data_dir(ROOT / "../shared/data") if (ROOT / "../shared/data").exists() else find_data_dir()
    # The real-data proofs are the point of the suite: a missing folder is a failure, not a skip.
    assert found is not None, "../shared/data (or $HASHLENS_DATA) is required for the test suite"
    return found


@pytest.fixture(scope="session")
def shared_chain(data_dir: Path) -> SharedChain:
    return load_shared_chain(data_dir)


@pytest.fixture(scope="session")
def full_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A store with the shared chain, the USD price series and the bundled miners sample."""
    from hashlens.chain.sync import sync
    from hashlens.economics.daily import import_prices
    from hashlens.miners.storeio import ensure_sample
    from hashlens.sources.prices import read_prices
    from hashlens.store import Store

    path = tmp_path_factory.mktemp("full") / "full.duckdb"
    with Store(path) as s:
        sync(s, str(data_dir / "chain"))
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(full_db: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`hashlens serve` on a loopback port, as a user starts it; stopped after the session."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    db = tmp_path_factory.mktemp("serve") / "serve.duckdb"
    db.write_bytes(full_db.read_bytes())
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("the server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))
    yield url
    proc.terminate()
    proc.wait(timeout=20)
