"""The package as a user installs it: a wheel built from this checkout carries every file the
program reads (the data folder, the dashboard's pages), depends on the runtime set alone and
states the one version."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import hashlens

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_its_files_and_the_runtime_set_alone(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("hashlens-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    src = ROOT / "src"
    shipped = {
        p.relative_to(src).as_posix()
        for p in (src / "hashlens").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped - names == set()  # every source file, the data and the static pages too
    (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(zipfile.ZipFile(wheel).read(meta_name).decode())
    assert meta["Version"] == hashlens.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [d for d in meta.get_all("Requires-Dist") or [] if "extra ==" not in d]
    assert len(runtime) == len(project["dependencies"])
    tools = ("pytest", "hypothesis", "mypy", "ruff", "playwright", "schemathesis", "pandas", "polars")
    assert not [d for d in runtime if d.split(">")[0].split("=")[0].split("[")[0].strip() in tools]
    # the runtime lock pins the runtime set: none of the tools either
    pinned = {
        line.split("==")[0].lower() for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line
    }
    assert not pinned & set(tools)
