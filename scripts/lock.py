"""Write the lock files from the packages installed in .venv: `python scripts/lock.py`.

Each lock pins one set and nothing below it: ``requirements.lock`` the runtime dependencies of
``[project].dependencies`` and everything they need (what `sh scripts/main` installs);
``requirements-test.lock``, ``requirements-bench.lock`` and ``requirements-dev.lock`` the closure
of each optional extra beyond the runtime set (each starts with ``-r requirements.lock``). The
closure is read from the installed packages' own metadata (``Requires-Dist`` with its
environment markers), so run it in a .venv that holds every extra.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXTRA_LOCKS = {"test": "requirements-test.lock", "bench": "requirements-bench.lock", "dev": "requirements-dev.lock"}


def closure(roots: list[str]) -> dict[str, str]:
    """Every installed distribution the requirement strings need (name -> version)."""
    env = default_environment()
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(r), "") for r in roots]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name == "hashlens":  # an extra naming another (dev = test + ...): the project itself
            project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
            todo += [(Requirement(r), "") for e in req.extras for r in project["optional-dependencies"][e]]
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"error: {req.name} is not installed in this environment: install every extra first")
        found[name] = dist.version
        key = (name, frozenset(req.extras))
        if key not in seen:
            seen.add(key)
            wanted = ["", *sorted(req.extras)]
            for text in dist.requires or []:
                dep = Requirement(text)
                for e in wanted:
                    if dep.marker is None or dep.marker.evaluate({**env, "extra": e}):
                        todo.append((dep, e))
                        break
    return found


def pins(found: dict[str, str], header: str) -> str:
    return header + "".join(f"{n}=={v}\n" for n, v in sorted(found.items()))


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = closure(project["dependencies"])
    head = "# Written by scripts/lock.py from pyproject.toml; do not edit by hand.\n"
    (ROOT / "requirements.lock").write_text(
        pins(runtime, head + "# The runtime set: what `sh scripts/main` installs.\n")
    )
    print(f"requirements.lock: {len(runtime)} packages")
    for extra, name in EXTRA_LOCKS.items():
        extra_set = closure(project["optional-dependencies"][extra])
        beyond = {n: v for n, v in extra_set.items() if n not in runtime}
        text = pins(beyond, head + f"# The '{extra}' extra beyond the runtime set.\n-r requirements.lock\n")
        (ROOT / name).write_text(text)
        print(f"{name}: {len(beyond)} packages beyond the runtime set")


if __name__ == "__main__":
    main()
