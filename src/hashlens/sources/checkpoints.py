"""Readers for sparse per-period chain files: Electrum and bitcoinj checkpoints.

Electrum (``electrum/chains/mainnet/checkpoints.json``): entry i is
``[hash of block 2016*i + 2015, target of period i + 1]`` -- the target of the NEXT period.
bitcoinj (``org.bitcoin.production.checkpoints.txt``): three header lines, then one base64
line per checkpoint of 96 bytes: 12-byte big-endian chainwork, 4-byte big-endian height,
the 80-byte block header.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from hashlens.consensus.compact import MAX_TARGET
from hashlens.consensus.header import BlockHeader
from hashlens.consensus.params import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.errors import HashlensError


@dataclass(frozen=True)
class PeriodTarget:
    """One difficulty period as the Electrum file lets us know it."""

    period: int
    start_height: int
    target: int
    last_block_hash: str | None  # hash of block 2016*period + 2015, display order


def parse_electrum(text: str, source: str = "electrum checkpoints") -> list[PeriodTarget]:
    """Per-period targets and last-block hashes, period 0 first.

    Period 0's target is not in the file (it is difficulty 1); period p >= 1 takes the
    target stored in entry p - 1.
    """
    from hashlens.sources.reader import parse_json

    entries = parse_json(text, source)
    if not isinstance(entries, list):
        raise HashlensError(f"{source}: expected a JSON list of [hash, target] pairs")
    out: list[PeriodTarget] = []
    prev_target = MAX_TARGET
    for i, entry in enumerate(entries):
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or not isinstance(entry[1], int)
            or len(entry[0]) != 64
        ):
            raise HashlensError(f"{source}: entry {i} is not a [64-hex hash, integer target] pair")
        out.append(PeriodTarget(i, DIFFICULTY_ADJUSTMENT_INTERVAL * i, prev_target, entry[0]))
        prev_target = entry[1]
    n = len(entries)
    out.append(PeriodTarget(n, DIFFICULTY_ADJUSTMENT_INTERVAL * n, prev_target, None))
    return out


def read_electrum(path: str | Path) -> list[PeriodTarget]:
    from hashlens.sources.reader import read_text

    p = Path(path)
    return parse_electrum(read_text(p, "checkpoint file"), str(p))


@dataclass(frozen=True)
class Checkpoint:
    """A bitcoinj checkpoint: the first block of a period, with its chainwork."""

    height: int
    chainwork: int
    header: BlockHeader
    raw_header: bytes


def parse_bitcoinj(text: str, source: str = "bitcoinj checkpoints") -> list[Checkpoint]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3 or lines[0] != "TXT CHECKPOINTS 1":
        raise HashlensError(f"{source}: line 1 must be 'TXT CHECKPOINTS 1'")
    try:
        n_sigs = int(lines[1])
        count = int(lines[2 + n_sigs])
    except (ValueError, IndexError):
        raise HashlensError(f"{source}: lines 2-3 must hold the signature and entry counts") from None
    body = lines[3 + n_sigs :]
    if len(body) != count:
        raise HashlensError(f"{source}: header says {count} entries, file has {len(body)}")
    out: list[Checkpoint] = []
    for i, line in enumerate(body):
        lineno = 4 + n_sigs + i
        try:
            blob = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise HashlensError(f"{source}: line {lineno} is not base64") from None
        if len(blob) != 96:
            raise HashlensError(f"{source}: line {lineno} decodes to {len(blob)} bytes, expected 96")
        out.append(
            Checkpoint(
                height=int.from_bytes(blob[12:16], "big"),
                chainwork=int.from_bytes(blob[0:12], "big"),
                header=BlockHeader.parse(blob[16:]),
                raw_header=blob[16:],
            )
        )
    return out


def read_bitcoinj(path: str | Path) -> list[Checkpoint]:
    p = Path(path)
    return parse_bitcoinj(p.read_text(), str(p))
