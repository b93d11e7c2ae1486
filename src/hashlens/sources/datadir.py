"""Where the shared real data lies: ``$HASHLENS_DATA`` or ``../shared/data`` if present."""

from __future__ import annotations

import os
from pathlib import Path

from hashlens.errors import HashlensError


def find_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The data folder to read chain and market files from, or None if there is none."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("HASHLENS_DATA"):
        candidates.append(Path(os.environ["HASHLENS_DATA"]))
    else:
        here = Path.cwd()
        candidates += [here / "../shared/data", here / "shared/data"]
        # The project checkout sits beside shared/ as well.
        candidates.append(Path(__file__).resolve().parents[3] / "../shared/data")
    for c in candidates:
        if (c / "chain").is_dir():
            return c.resolve()
    if explicit:
        raise HashlensError(f"no chain/ folder under data directory {explicit}; pass the shared data folder")
    return None


def require_data_dir(explicit: str | Path | None = None) -> Path:
    found = find_data_dir(explicit)
    if found is None:
        raise HashlensError(
            "no chain data found: set HASHLENS_DATA to the shared data folder "
            "(the one holding chain/), or run from the project root beside ../shared"
        )
    return found
