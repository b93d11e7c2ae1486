"""One table of pool names: every spelling a source uses → the pool and the owner cluster.

Sources name the same pool differently (canhui's ``BW.COM`` is btl's ``BWPool``), rename pools
(``SlushPool`` → ``Braiins Pool``) and group pools by owner (btl's ``Bitmain`` holds AntPool
and BTC.com). ``hashlens/data/pool_names.csv`` (``name,pool,cluster,note``) is the one table
that maps them; figures are computed per source and compared at the ``pool`` or ``cluster``
level through it, never merged. A name the table does not hold is its own pool and cluster;
a name made of payout addresses (btl's unattributed blocks) is its own pool in the cluster
``unknown``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

UNKNOWN = "unknown"
LEVELS = ("pool", "cluster")
_ADDRESS = re.compile(r"^(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71})(?:/|$)")


@dataclass(frozen=True)
class NameRow:
    name: str
    pool: str
    cluster: str
    note: str


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@lru_cache(maxsize=1)
def table() -> dict[str, NameRow]:
    """The table, keyed by the case- and space-folded spelling."""
    text = resources.files("hashlens.data").joinpath("pool_names.csv").read_text(encoding="utf-8")
    rows = {}
    for r in csv.DictReader(text.splitlines()):
        row = NameRow(r["name"].strip(), r["pool"].strip(), r["cluster"].strip(), (r.get("note") or "").strip())
        rows[_key(row.name)] = row
    return rows


def is_address_name(name: str) -> bool:
    """True for a name made of payout addresses (``1AM2…/3G7y…``), as btl names unattributed blocks."""
    return bool(_ADDRESS.match(name.strip()))


def pool_of(name: str) -> str:
    """The pool a source's name stands for."""
    row = table().get(_key(name))
    if row:
        return row.pool
    return UNKNOWN if is_address_name(name) else " ".join(name.split())


def cluster_of(name: str) -> str:
    """The owner cluster of a source's name (btl's level for Bitmain)."""
    row = table().get(_key(name))
    if row:
        return row.cluster
    return UNKNOWN if is_address_name(name) else " ".join(name.split())


def canonical(names: list[str], level: str) -> list[str]:
    """Each name at ``level`` (``pool`` or ``cluster``)."""
    if level not in LEVELS:
        raise ValueError(level)
    fn = pool_of if level == "pool" else cluster_of
    return [fn(n) for n in names]
