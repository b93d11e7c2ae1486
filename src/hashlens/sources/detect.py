"""Recognise a chain data file by its content, not its name."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from hashlens.consensus import HEADER_SIZE
from hashlens.errors import HashlensError

ELECTRUM = "electrum-checkpoints"
BITCOINJ = "bitcoinj-checkpoints"
BLOCKSTATS = "block-stats-csv"
STALE = "stale-blocks-csv"
HEADERS_CSV = "headers-csv"
HEADERS_PARQUET = "headers-parquet"
RAW_HEADERS = "raw-headers"
BOUNDARY_TIMES = "period-boundary-times-csv"
VERIFIED_HEADERS = "verified-headers-csv"
BLOCK_TIMES = "block-times-csv"


def _first_line(data: bytes) -> str:
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").strip().lower()


def detect_format(path: Path) -> str | None:
    """One of the format names above, or None if the file is not chain data we know."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(4096)
        except (OSError, EOFError, zlib.error) as exc:
            raise HashlensError(f"{path}: a damaged or truncated gzip file ({exc or 'it ends early'})") from None
    if head[:4] == b"PAR1":
        return HEADERS_PARQUET
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        return ELECTRUM
    if stripped.startswith(b"TXT CHECKPOINTS"):
        return BITCOINJ
    try:
        head.decode("utf-8")
        is_text = b"\x00" not in head
    except UnicodeDecodeError:
        is_text = False
    if is_text:
        cols = [c.strip() for c in _first_line(head).split(",")]
        if {"height", "blockhash", "time"} <= set(cols):
            return BLOCKSTATS
        if cols[:3] == ["height", "hash", "header"]:
            return STALE
        if cols[:2] == ["period_start", "start_time"] and {"last_height", "last_time"} <= set(cols):
            return BOUNDARY_TIMES
        if {"height", "hash", "header_hex"} <= set(cols):
            return VERIFIED_HEADERS
        if cols == ["height", "time"]:
            return BLOCK_TIMES
        if "height" in cols and ("header" in cols or "prev_hash" in cols or "bits" in cols):
            return HEADERS_CSV
        return None
    if path.stat().st_size % HEADER_SIZE == 0 or len(head) >= HEADER_SIZE:
        return RAW_HEADERS
    return None
