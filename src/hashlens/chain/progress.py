"""What a sync reports: its result per source, its progress, and the rules it could not decide."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from hashlens.consensus.contextual import BAD_DIFFBITS, TIME_TOO_NEW, TIME_TOO_OLD


class Progress(Protocol):
    """A progress display (the CLI's Rich bar); :class:`NullProgress` shows nothing."""

    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...

    def done(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass
class SyncReport:
    """One source's import: rows added, rows already stored, and notes for the user."""

    source: str
    kind: str
    added: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "added": self.added,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def default_batch_rows() -> int:
    """Rows per committed batch of a file import (``HASHLENS_BATCH_ROWS``, default 10,000)."""
    return int(os.environ.get("HASHLENS_BATCH_ROWS", "10000"))


_UNCHECKED_WHY = {
    TIME_TOO_OLD: "time-too-old (median time past) not checkable: the store lacks the previous 11 block times",
    BAD_DIFFBITS: "bad-diffbits not checkable: the store lacks the parent's bits",
    TIME_TOO_NEW: "time-too-new not checked: no reference time",
}


def unchecked_notes(counts: Counter[str]) -> list[str]:
    """Report lines for the rules that could not be decided, with how many headers each."""
    return [f"{_UNCHECKED_WHY[r]} ({n} header(s))" for r, n in sorted(counts.items()) if n]


def trace(message: str) -> None:
    """Lets a test (or a curious user) watch batches commit: ``HASHLENS_SYNC_TRACE=1``."""
    if os.environ.get("HASHLENS_SYNC_TRACE"):
        print(f"trace: {message}", file=sys.stderr, flush=True)


__all__ = ["NullProgress", "Progress", "SyncReport", "default_batch_rows", "trace", "unchecked_notes"]
