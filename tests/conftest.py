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
