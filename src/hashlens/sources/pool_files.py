"""Readers of pool data files, each detected by its content:

- **rules**: a JSON array of ``{id, name, addresses[], tags[], link}`` — the pool-identification
  rules of mempool's ``pools-v2.json`` and bitcoin-data's ``pool-list.json``
  (:func:`read_rules`); its SHA-256 names the version every attribution records;
- **labels**: one pool label per block, ``blockid,miningpool`` (or ``height,pool``)
  (:func:`read_labels`);
- **daily**: blocks per entity per UTC day in the wide layout ``Entity,DD/MM/YYYY,…``
  (:func:`read_daily_counts`).

A malformed file is refused whole with one line naming the place and the fix; nothing is
returned half read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.consensus import MAX_BLOCK_HEIGHT
from hashlens.errors import HashlensError

MAX_FILE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class RulePool:
    """One pool of a rules file, in file order (the order mempool tries them)."""

    id: int
    name: str
    addresses: tuple[str, ...]
    tags: tuple[str, ...]
    link: str


@dataclass(frozen=True)
class RulesFile:
    """A rules file: its pools in order, its name and the SHA-256 of its bytes."""

    name: str
    sha256: str
    pools: tuple[RulePool, ...]
    text: str  # the file itself (stored with the attributions, so they can be redone)

    @property
    def rules_id(self) -> str:
        """``<file name>@<first 16 hex digits of its SHA-256>``: what each block's attribution records."""
        return f"{self.name}@{self.sha256[:16]}"


@dataclass(frozen=True)
class LabelFile:
    """Per-block pool labels, by height."""

    name: str
    sha256: str
    heights: np.ndarray  # int64, ascending, unique
    labels: list[str]  # the source's own spelling, one per height


@dataclass(frozen=True)
class DailyCounts:
    """Blocks per entity per UTC day (wide layout)."""

    name: str
    sha256: str
    days: np.ndarray  # datetime64[D], ascending
    entities: list[str]
    counts: np.ndarray  # int64, entities × days
    notes: list[str] = field(default_factory=list)


def _read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise HashlensError(f"{p}: {exc.strerror or exc}") from None
    if not p.is_file():
        raise HashlensError(f"{p}: not a file; give a rules JSON, a label CSV or a daily CSV")
    if size > MAX_FILE_BYTES:
        raise HashlensError(f"{p}: {size:,} bytes, more than a pool file may hold ({MAX_FILE_BYTES:,})")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise HashlensError(f"{p}: {exc.strerror or exc}") from None


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HashlensError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def detect_pool_file(path: str | Path) -> str:
    """``"rules"``, ``"labels"`` or ``"daily"`` from the file's first bytes, or a refusal naming
    the three layouts hashlens reads."""
    p = Path(path)
    head = _read_bytes(p)[:4096]
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("["):
        return "rules"
    first = text.splitlines()[0] if text else ""
    cols = [c.strip().lower() for c in first.split(",")]
    if len(cols) == 2 and cols[0] in ("blockid", "height") and cols[1] in ("miningpool", "pool"):
        return "labels"
    if len(cols) > 1 and cols[0] == "entity":
        return "daily"
    raise HashlensError(
        f"{p.name}: not a pool file hashlens reads: expected a rules JSON array ({{id, name, addresses, tags, link}}), "
        "a label CSV (blockid,miningpool) or a daily CSV (Entity,DD/MM/YYYY,…)"
    )


def _rules_from_json(data: Any, name: str) -> tuple[RulePool, ...]:
    if not isinstance(data, list) or not data:
        raise HashlensError(f"{name}: expected a non-empty JSON array of pools")
    pools, ids, names = [], set(), set()
    for i, p in enumerate(data):
        where = f"{name}: entry {i}"
        if not isinstance(p, dict):
            raise HashlensError(f"{where}: expected an object {{id, name, addresses, tags, link}}")
        missing = [k for k in ("id", "name", "addresses", "tags") if k not in p]
        if missing:
            raise HashlensError(f"{where}: missing {', '.join(missing)}")
        if not isinstance(p["id"], int) or isinstance(p["id"], bool):
            raise HashlensError(f"{where}: id must be a whole number (got {p['id']!r})")
        if not isinstance(p["name"], str) or not p["name"].strip():
            raise HashlensError(f"{where}: name must be non-empty text")
        for key in ("addresses", "tags"):
            v = p[key]
            if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
                raise HashlensError(f"{where} ({p['name']}): {key} must be a list of non-empty strings")
        if p["id"] in ids:
            raise HashlensError(f"{where} ({p['name']}): id {p['id']} appears twice")
        if p["name"] in names:
            raise HashlensError(f"{where}: the name {p['name']!r} appears twice")
        ids.add(p["id"])
        names.add(p["name"])
        pools.append(
            RulePool(int(p["id"]), p["name"].strip(), tuple(p["addresses"]), tuple(p["tags"]), str(p.get("link") or ""))
        )
    return tuple(pools)


def rules_from_text(text: str, name: str) -> RulesFile:
    """A :class:`RulesFile` from the JSON text of a rules file (as stored or read)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HashlensError(f"{name}: not valid JSON ({exc}); fix the file or take a fresh copy") from None
    except RecursionError:
        raise HashlensError(f"{name}: nested too deeply to be a rules file") from None
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RulesFile(name, sha, _rules_from_json(data, name), text)


def read_rules(path: str | Path) -> RulesFile:
    """A rules file (``known-mining-pools.json``, ``mempool-pools-v2.json``): validated, its
    pools in file order, named by its file name and SHA-256."""
    p = Path(path)
    data = _read_bytes(p)
    rf = rules_from_text(_text(data, p.name), p.name)
    return RulesFile(rf.name, hashlib.sha256(data).hexdigest(), rf.pools, rf.text)


def read_labels(path: str | Path) -> LabelFile:
    """Per-block labels: ``blockid,miningpool`` (or ``height,pool``) rows. A height given twice,
    a height that is not a whole number and an empty label are refused, naming the row."""
    p = Path(path)
    raw = _read_bytes(p)
    rows = csv.reader(io.StringIO(_text(raw, p.name)))
    header = next(rows, None)
    if header is None or [c.strip().lower() for c in header] not in (["blockid", "miningpool"], ["height", "pool"]):
        raise HashlensError(f"{p.name}: expected the header blockid,miningpool (or height,pool)")
    heights: list[int] = []
    labels: list[str] = []
    seen: dict[int, int] = {}
    for n, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            raise HashlensError(f"{p.name}: row {n}: expected 2 fields (height, pool), got {len(row)}")
        h_text, label = row[0].strip(), row[1].strip()
        try:
            h = int(h_text)
        except ValueError:
            raise HashlensError(f"{p.name}: row {n}: height {h_text!r} is not a whole number") from None
        if not 0 <= h <= MAX_BLOCK_HEIGHT:
            raise HashlensError(f"{p.name}: row {n}: height {h} is out of range (0 … {MAX_BLOCK_HEIGHT:,})")
        if not label:
            raise HashlensError(f"{p.name}: row {n}: height {h} has no pool label")
        if h in seen:
            raise HashlensError(
                f"{p.name}: row {n}: height {h:,} is labelled twice (rows {seen[h]} and {n}); keep one label per block"
            )
        seen[h] = n
        heights.append(h)
        labels.append(label)
    if not heights:
        raise HashlensError(f"{p.name}: no label rows")
    order = np.argsort(np.asarray(heights, dtype=np.int64), kind="stable")
    return LabelFile(
        p.name,
        hashlib.sha256(raw).hexdigest(),
        np.asarray(heights, dtype=np.int64)[order],
        [labels[i] for i in order],
    )


def _day(text: str, name: str, col: int) -> date:
    parts = text.strip().split("/")
    try:
        d, m, y = (int(x) for x in parts)
        return date(y, m, d)
    except (ValueError, TypeError):
        raise HashlensError(f"{name}: column {col + 1}: {text.strip()!r} is not a day as DD/MM/YYYY") from None


def read_daily_counts(path: str | Path) -> DailyCounts:
    """Blocks per entity per UTC day: the header ``Entity,DD/MM/YYYY,…``, one row per entity,
    whole non-negative counts. A day or an entity given twice, a short row or a count that is
    not a whole number is refused, naming it."""
    p = Path(path)
    raw = _read_bytes(p)
    rows = list(csv.reader(io.StringIO(_text(raw, p.name))))
    if not rows or not rows[0] or rows[0][0].strip().lower() != "entity":
        raise HashlensError(f"{p.name}: expected a header Entity,DD/MM/YYYY,…")
    header = rows[0]
    days = [_day(h, p.name, i) for i, h in enumerate(header[1:], start=1)]
    if len(set(days)) != len(days):
        dup = next(d for d in days if days.count(d) > 1)
        raise HashlensError(f"{p.name}: the day {dup:%d/%m/%Y} is a column twice")
    entities: list[str] = []
    body = [r for r in rows[1:] if r and any(c.strip() for c in r)]
    if not body or not days:
        raise HashlensError(f"{p.name}: no entity rows or no day columns; nothing to import")
    counts = np.zeros((len(body), len(days)), dtype=np.int64)
    for i, row in enumerate(body):
        n = i + 2
        if len(row) != len(header):
            raise HashlensError(f"{p.name}: row {n}: {len(row)} fields, the header has {len(header)}")
        name = row[0].strip()
        if not name:
            raise HashlensError(f"{p.name}: row {n}: no entity name")
        if name in entities:
            raise HashlensError(f"{p.name}: row {n}: the entity {name!r} appears twice")
        entities.append(name)
        try:
            vals = np.array([int(v) if v.strip() else 0 for v in row[1:]], dtype=np.int64)
        except ValueError:
            bad = next(j for j, v in enumerate(row[1:], start=1) if v.strip() and not v.strip().lstrip("-").isdigit())
            raise HashlensError(
                f"{p.name}: row {n} ({name}), {header[bad].strip()}: {row[bad]!r} is not a whole number of blocks"
            ) from None
        if (vals < 0).any():
            j = int(np.flatnonzero(vals < 0)[0]) + 1
            raise HashlensError(f"{p.name}: row {n} ({name}), {header[j].strip()}: a negative block count")
        counts[i] = vals
    if not counts.any():
        raise HashlensError(f"{p.name}: every count is zero; nothing to import")
    order = np.argsort(np.array(days, dtype="datetime64[D]"))
    return DailyCounts(
        p.name,
        hashlib.sha256(raw).hexdigest(),
        np.array(days, dtype="datetime64[D]")[order],
        entities,
        counts[:, order],
    )
