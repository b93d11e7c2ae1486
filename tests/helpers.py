"""Running the CLI as a user does: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hashlens", "--db", str(db), *args], capture_output=True, text=True, timeout=300
    )
