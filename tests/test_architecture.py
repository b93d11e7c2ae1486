"""ARCHITECTURE.md's owner table is true: every function or class it names exists where it says,
and production code (src/hashlens, outside the owner's own definition) calls or uses it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src/hashlens"


def _is_module(dotted: str) -> bool:
    """Whether ``hashlens.<dotted>`` is a module or package (not a member of one)."""
    path = SRC / Path(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def owners() -> list[tuple[str, str]]:
    """(module, name) for every function, class or constant the table's second column names."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    table = text[text.index("## Where each number is computed") :].split("\n## ")[0]
    found: list[tuple[str, str]] = []
    for line in table.splitlines():
        cells = line.split("|")
        if len(cells) < 4 or cells[1].strip() in ("quantity", "---"):
            continue
        module = ""
        # `pkg.mod`: `a`, `b` names a module, then its members; `pkg.mod.f` one member
        for token in re.findall(r"`([A-Za-z_][\w.]*)`", cells[2]):
            if "." not in token:
                if module:
                    found.append((module, token))
                continue
            if _is_module(token):
                module = token
                continue
            mod, attr = token.rsplit(".", 1)
            if mod[:1].isupper():  # `ChainClock.height_at`: a class's member
                continue
            module = mod
            found.append((mod, attr))
    return found


def _defined_in(module: str) -> Path:
    path = SRC / Path(*module.split(".")[1:])
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def test_every_owner_exists_and_production_code_uses_it() -> None:
    table = owners()
    assert len(table) > 60  # the table was read
    sources = {p: p.read_text() for p in SRC.rglob("*.py")}
    missing, unused = [], []
    for module, name in table:
        mod = importlib.import_module("hashlens." + module)
        if not hasattr(mod, name):
            missing.append(f"{module}.{name}")
            continue
        home = _defined_in(mod.__name__)
        word = re.compile(rf"\b{re.escape(name)}\b")
        uses = 0
        for path, text in sources.items():
            for line in text.splitlines():
                stripped = line.strip()
                if not word.search(line) or stripped.startswith(("#", '"', "'")):
                    continue
                if path == home and re.match(rf"(def|class) {re.escape(name)}\b|{re.escape(name)}\s*[:=]", stripped):
                    continue  # its own definition
                if stripped.startswith(f'"{name}"'):  # an __all__ entry
                    continue
                uses += 1
        if uses == 0:
            unused.append(f"{module}.{name}")
    assert not missing, missing
    assert not unused, unused
