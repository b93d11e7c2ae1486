"""Running the CLI as a user does: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hashlens", "--db", str(db), *args], capture_output=True, text=True, timeout=300
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(db: Path, *args: str, timeout_s: float = 60) -> tuple[subprocess.Popen[bytes], str]:
    """`hashlens serve` on ``db`` at a free loopback port, as a user starts it, returned once
    ``/v1/health`` answers: the process and its URL (the caller stops it)."""
    port = free_port()
    # A file, not a pipe (a server that talks could fill a pipe and stall); it lives as long as the server.
    log = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", str(db), "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    proc.wait()
    log.seek(0)
    raise RuntimeError("the server did not start: " + log.read().decode(errors="replace"))
