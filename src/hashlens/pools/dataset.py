"""Imports of pool data into the store, each file kept under its source name.

``hashlens pools import FILE [--source NAME]`` detects the file's kind from its content
(:func:`hashlens.sources.pool_files.detect_pool_file`):

- per-block labels (``blockid,miningpool``) → ``pool_blocks`` under the source (``canhui`` for
  the shared file, else the file's stem, or ``--source``);
- per-day counts (``Entity,DD/MM/YYYY,…``) → ``pool_days`` (``btl`` for the shared file);
- a rules file → recorded (``pool_rules``) and, when the store holds coinbases, every one of them
  attributed again with it (:func:`hashlens.pools.attribution.reattribute`).

An import replaces its source's rows in one transaction: a file refused half-way leaves the
store as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hashlens.errors import HashlensError
from hashlens.pools.models import SOURCE_RE, ImportResult
from hashlens.sources.pool_files import detect_pool_file, read_daily_counts, read_labels, read_rules
from hashlens.store import Store

#: The shared data's pool files and the source names they are kept under.
SHARED_FILES = {
    "canhui-pool-label-per-block-400000-546235.csv": "canhui",
    "btl-blocks-per-entity-daily-2018-2023.csv": "btl",
}
#: Source names hashlens writes itself (an import may not take them).
RESERVED = ("coinbase",)


def default_source(path: Path) -> str:
    """The source name of a file: the shared files' (``canhui``, ``btl``), else its stem."""
    if path.name in SHARED_FILES:
        return SHARED_FILES[path.name]
    for prefix in ("canhui", "btl"):
        if path.name.lower().startswith(prefix):
            return prefix
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem)[:40].strip("-.") or "imported"
    return stem


def _check_source(name: str) -> str:
    if not re.match(SOURCE_RE, name):
        raise HashlensError(f"--source {name!r}: use letters, digits, '.', '_' or '-' (up to 40 characters)")
    if name in RESERVED:
        raise HashlensError(f"--source {name!r} is hashlens' own attribution from coinbases; choose another name")
    return name


def import_pool_file(store: Store, path: str | Path, source: str | None = None) -> ImportResult:
    """Import one pool file into the store (the kind detected from its content)."""
    p = Path(path)
    kind = detect_pool_file(p)
    if kind == "rules":
        from hashlens.pools.attribution import reattribute
        from hashlens.pools.rules import compile_rules

        rules = read_rules(p)
        compiled = compile_rules(rules)
        notes = [f"{len(rules.pools)} pools; rules id {rules.rules_id}"]
        if compiled.ignored:
            notes.append(f"{len(compiled.ignored)} addresses of other networks ignored (e.g. {compiled.ignored[0]})")
        if store.stored_coinbase_rows():
            summary = reattribute(store, compiled)
            notes.append(
                f"{summary.blocks} stored blocks attributed again: {summary.by_address} by address, {summary.by_tag} by tag, "
                f"{summary.unknown} unknown; {summary.replaced} changed pool"
            )
        else:
            store.record_pool_rules(rules.rules_id, rules.name, rules.sha256, rules.text)
            notes.append("no stored coinbases to attribute (blocks synced from a node are attributed with these rules)")
        return ImportResult(
            file=p.name,
            kind="rules",
            source=None,
            rows=len(rules.pools),
            first=rules.pools[0].name,
            last=rules.pools[-1].name,
            sha256=rules.sha256,
            notes=notes,
        )
    name = _check_source(source or default_source(p))
    if kind == "labels":
        lf = read_labels(p)
        store.write_pool_blocks(
            name,
            "blocks",
            p.name,
            lf.sha256,
            lf.heights.tolist(),
            [None] * len(lf.labels),
            lf.labels,
            ["label"] * len(lf.labels),
        )
        span = int(lf.heights[-1] - lf.heights[0] + 1)
        notes = [
            f"heights {int(lf.heights[0]):,} … {int(lf.heights[-1]):,}; {span - lf.heights.size} heights without a label"
        ]
        return ImportResult(
            file=p.name,
            kind="labels",
            source=name,
            rows=int(lf.heights.size),
            first=str(int(lf.heights[0])),
            last=str(int(lf.heights[-1])),
            sha256=lf.sha256,
            notes=notes,
        )
    dc = read_daily_counts(p)
    r, c = np.nonzero(dc.counts)
    store.write_pool_days(
        name,
        p.name,
        dc.sha256,
        dc.days[c].astype("datetime64[D]").astype(object).tolist(),
        [dc.entities[i] for i in r.tolist()],
        dc.counts[r, c].tolist(),
    )
    return ImportResult(
        file=p.name,
        kind="daily",
        source=name,
        rows=int(r.size),
        first=str(dc.days[0]),
        last=str(dc.days[-1]),
        sha256=dc.sha256,
        notes=[f"{len(dc.entities)} entities × {dc.days.size} days; {int(dc.counts.sum()):,} blocks"],
    )


def import_shared(store: Store, data_dir: str | Path) -> list[ImportResult]:
    """Import the shared data's pool datasets (``pools/`` beside ``chain/``), each under its name."""
    folder = Path(data_dir) / "pools"
    found = [folder / f for f in SHARED_FILES if (folder / f).exists()]
    if not found:
        raise HashlensError(f"{folder}: none of the shared pool files ({', '.join(SHARED_FILES)}) is there")
    return [import_pool_file(store, f) for f in found]
