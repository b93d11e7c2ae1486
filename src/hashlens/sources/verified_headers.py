"""Reader for self-proving header lists: ``height,hash,header_hex`` (more columns allowed).

Format of ``chain-extra/verified-mainnet-headers-2025-2026.csv``. Each header must hash to
the hash named beside it; proof of work and chain context are checked on import.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hashlens.consensus import BlockHeader
from hashlens.errors import HashlensError
from hashlens.sources.headerfiles import HeaderFile, HeaderRow

COLUMNS = ("height", "hash", "header_hex")


def read_verified_headers(path: Path) -> HeaderFile:
    """Headers with their heights, in file order; refuses a header that hashes to another hash."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in cols]
        if missing:
            raise HashlensError(f"{path}: missing column(s) {', '.join(missing)} in the header line")
        out: list[HeaderRow] = []
        for lineno, row in enumerate(reader, start=2):
            rec = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            where = f"{path}: line {lineno}"
            try:
                height = int(rec["height"])
            except ValueError:
                raise HashlensError(f"{where}: height {rec['height']!r} is not an integer") from None
            try:
                hdr = BlockHeader.from_hex(rec["header_hex"])
            except HashlensError as exc:
                raise HashlensError(f"{where} (height {height}): header_hex: {exc}") from None
            named = rec["hash"].lower()
            if hdr.hash_hex != named:
                raise HashlensError(
                    f"{where} (height {height}): header hashes to {hdr.hash_hex}, not the named {named}; "
                    "fix or drop the row"
                )
            out.append(HeaderRow(height, hdr, where))
    return HeaderFile.from_rows(path, out)
