"""Readers for files of full block headers: raw 80-byte concatenations, CSV and Parquet.

Each gives a :class:`HeaderFile`: the headers as one buffer of wire bytes with their heights
as a column (no object per header), which the sync hashes and checks in bulk.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hashlens.consensus import HEADER_SIZE, MAX_BLOCK_HEIGHT, BlockHeader
from hashlens.consensus.header import HEADER_DTYPE
from hashlens.errors import HashlensError

FIELD_COLUMNS = ("version", "prev_hash", "merkle_root", "time", "bits", "nonce")


@dataclass(frozen=True)
class HeaderRow:
    height: int | None
    header: BlockHeader
    where: str  # "line 7", "header 12": for error messages


@dataclass(frozen=True)
class HeaderFile:
    """Full headers read from a file, in file order, as columns.

    ``raw`` holds the n headers' wire bytes back to back; ``heights`` their heights where the
    file states them (None where it states none: a raw header file). A row is named in
    messages as ``{path}: {row_word} {i + first_row}`` ("line 7" of a CSV, "header 12" of a
    raw file), or by ``places`` where a reader kept its own words.
    """

    path: Path
    raw: bytes
    heights: np.ndarray | None  # int64
    row_word: str = "header"
    first_row: int = 1
    places: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.raw) // HEADER_SIZE

    def where(self, i: int) -> str:
        """The place of row ``i`` (0-based, file order) for messages."""
        if self.places is not None:
            return self.places[i]
        return f"{self.path}: {self.row_word} {i + self.first_row}"

    @classmethod
    def from_rows(cls, path: Path, rows: Sequence[HeaderRow] | Sequence[tuple[int, BlockHeader, str]]) -> HeaderFile:
        """Headers given one by one (checkpoints, the snapshot, a reader's rows)."""
        items = [(r.height, r.header, r.where) if isinstance(r, HeaderRow) else r for r in rows]
        heights = [h for h, _, _ in items]
        if any(h is None for h in heights) and any(h is not None for h in heights):
            i = next(k for k, h in enumerate(heights) if h is None)
            raise HashlensError(f"{items[i][2]}: height is empty")
        return cls(
            path,
            b"".join(hdr.serialize() for _, hdr, _ in items),
            None if not items or heights[0] is None else np.asarray(heights, dtype=np.int64),
            places=tuple(where for _, _, where in items),
        )


def read_raw_headers(path: Path) -> HeaderFile:
    """Concatenated 80-byte headers (Bitcoin Core's and Electrum's header file format)."""
    data = path.read_bytes()
    whole, rest = divmod(len(data), HEADER_SIZE)
    if rest:
        raise HashlensError(
            f"{path}: {len(data)} bytes is not a whole number of 80-byte headers; "
            f"header {whole + 1} is truncated ({rest} bytes)"
        )
    return HeaderFile(path, data, None)


def _hash_field(value: str, where: str, name: str) -> bytes:
    v = value.strip().lower().removeprefix("0x")
    if len(v) != 64:
        raise HashlensError(f"{where}: {name} must be 64 hex digits")
    try:
        return bytes.fromhex(v)[::-1]  # display order in files, internal order in headers
    except ValueError:
        raise HashlensError(f"{where}: {name} is not hex") from None


def _int_field(value: object, where: str, name: str) -> int:
    """An integer cell; ``bits`` in text is hex as Bitcoin Core's RPC prints it (17023ad4)."""
    try:
        if isinstance(value, int):
            return value
        s = str(value).strip()
        return int(s.removeprefix("0x"), 16) if name == "bits" else int(s)
    except ValueError:
        raise HashlensError(f"{where}: {name} {value!r} is not an integer") from None


#: A header field's range: version is a signed 32-bit integer, the others unsigned.
_FIELD_RANGES = (
    ("version", -(2**31), 2**31 - 1),
    ("time", 0, 0xFFFF_FFFF),
    ("bits", 0, 0xFFFF_FFFF),
    ("nonce", 0, 0xFFFF_FFFF),
)


def header_from_record(rec: dict[str, object], where: str) -> HeaderRow:
    height = _int_field(rec["height"], where, "height") if rec.get("height") not in (None, "") else None
    if rec.get("header") not in (None, ""):
        try:
            return HeaderRow(height, BlockHeader.from_hex(str(rec["header"])), where)
        except HashlensError as exc:
            raise HashlensError(f"{where}: header: {exc}") from None
    missing = [c for c in FIELD_COLUMNS if rec.get(c) in (None, "")]
    if missing:
        raise HashlensError(f"{where}: missing {', '.join(missing)}")
    for name, lo, hi in _FIELD_RANGES:
        v = _int_field(rec[name], where, name)
        if not lo <= v <= hi:
            raise HashlensError(f"{where}: {name} {v} is outside a header's range {lo} … {hi}")
    hdr = BlockHeader(
        version=_int_field(rec["version"], where, "version"),
        prev_hash=_hash_field(str(rec["prev_hash"]), where, "prev_hash"),
        merkle_root=_hash_field(str(rec["merkle_root"]), where, "merkle_root"),
        time=_int_field(rec["time"], where, "time"),
        bits=_int_field(rec["bits"], where, "bits"),
        nonce=_int_field(rec["nonce"], where, "nonce"),
    )
    return HeaderRow(height, hdr, where)


def _check_columns(cols: list[str], path: Path) -> None:
    if "height" not in cols:
        raise HashlensError(f"{path}: missing column 'height'")
    if "header" not in cols:
        missing = [c for c in FIELD_COLUMNS if c not in cols]
        if missing:
            raise HashlensError(
                f"{path}: missing column(s) {', '.join(missing)} (or give one 'header' column of 160 hex)"
            )


def _heights(cells: Sequence[Any], where: Any) -> np.ndarray | None:
    """The height column: integers, or every cell empty (the headers are then placed by their
    parent or --start-height); a column with some cells empty names the first."""
    empty = [c in (None, "") for c in cells]
    if all(empty):
        return None
    if any(empty):
        raise HashlensError(f"{where(empty.index(True))}: height is empty")
    out = np.empty(len(cells), dtype=np.int64)
    for i, c in enumerate(cells):
        h = _int_field(c, where(i), "height")
        if not 0 <= h <= MAX_BLOCK_HEIGHT:
            raise HashlensError(
                f"{where(i)}: height {h} is "
                + (
                    "negative; heights start at 0 (genesis)"
                    if h < 0
                    else f"above {MAX_BLOCK_HEIGHT}, the highest a block can have"
                )
            )
        out[i] = h
    return out


def _header_hex(cells: Sequence[str], where: Any) -> bytes:
    """A column of 160-hex-digit headers as one buffer of wire bytes (one conversion, not one a row)."""
    for i, c in enumerate(cells):
        if len(c) != 2 * HEADER_SIZE:
            raise HashlensError(f"{where(i)}: header: a block header is 80 bytes, got {len(c) // 2}")
    try:
        return bytes.fromhex("".join(cells))
    except ValueError:
        for i, c in enumerate(cells):
            try:
                bytes.fromhex(c)
            except ValueError:
                raise HashlensError(f"{where(i)}: header: header is not hex") from None
        raise


def read_headers_csv(path: Path) -> HeaderFile:
    """A CSV with a ``height`` column and either a ``header`` column (160 hex digits) or the
    six header fields (``version, prev_hash, merkle_root, time, bits, nonce``; hashes in
    display order, bits in hex)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        first = next(reader, [])
        cols = [c.strip().lstrip("\ufeff").strip().lower() for c in first]
        _check_columns(cols, path)
        rows = [r for r in reader if r]
    at = {c: i for i, c in enumerate(cols)}

    def cell(r: list[str], name: str) -> str:
        i = at.get(name)
        return r[i].strip() if i is not None and i < len(r) else ""

    def where(i: int) -> str:
        return f"{path}: line {i + 2}"

    if "header" in at and all(cell(r, "header") for r in rows):
        heights = _heights([cell(r, "height") for r in rows], where)
        return HeaderFile(path, _header_hex([cell(r, "header") for r in rows], where), heights, "line", 2)
    recs = [header_from_record({c: cell(r, c) for c in cols}, where(i)) for i, r in enumerate(rows)]
    return HeaderFile.from_rows(path, recs)


def read_headers_parquet(path: Path) -> HeaderFile:
    """A Parquet file with the CSV's columns (a ``header`` column as hex or 80-byte binary, or
    the six fields as integers and display-order hex hashes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise HashlensError(f"{path}: not a readable Parquet file: {' '.join(str(exc).split())}") from None
    table = table.rename_columns([c.strip().lower() for c in table.column_names])
    cols = list(table.column_names)
    _check_columns(cols, path)

    def where(i: int) -> str:
        return f"{path}: row {i + 1}"

    data = {c: table.column(c).to_pylist() for c in cols if c in ("height", "header", *FIELD_COLUMNS)}
    n = table.num_rows
    if "header" in data and all(v not in (None, "", b"") for v in data["header"]):
        cells = data["header"]
        if all(isinstance(v, bytes) for v in cells):
            for i, v in enumerate(cells):
                if len(v) != HEADER_SIZE:
                    raise HashlensError(f"{where(i)}: header: a block header is 80 bytes, got {len(v)}")
            raw = b"".join(cells)
        else:
            raw = _header_hex([str(v).strip() for v in cells], where)
        return HeaderFile(path, raw, _heights(data["height"], where), "row", 1)
    fields = _fields_columns(data, n, where) if "header" not in data else None
    if fields is not None:
        return HeaderFile(path, fields, _heights(data["height"], where), "row", 1)
    recs = [header_from_record({c: data[c][i] for c in data}, where(i)) for i in range(n)]
    return HeaderFile.from_rows(path, recs)


def _fields_columns(data: dict[str, list[Any]], n: int, where: Any) -> bytes | None:
    """The six header fields as columns (integers, hex hashes) straight into wire bytes; None
    where a column is of another kind (then the rows are read one by one, with their messages)."""
    ints = {name: data[name] for name, _, _ in _FIELD_RANGES}
    if not all(all(isinstance(v, int) and not isinstance(v, bool) for v in col) for col in ints.values()):
        return None
    hashes = {name: data[name] for name in ("prev_hash", "merkle_root")}
    if not all(all(isinstance(v, str) and len(v.strip()) == 64 for v in col) for col in hashes.values()):
        return None
    out = np.zeros(n, dtype=HEADER_DTYPE)
    for name, lo, hi in _FIELD_RANGES:
        col = np.asarray(ints[name], dtype=np.int64)
        bad = np.flatnonzero((col < lo) | (col > hi))
        if bad.size:
            i = int(bad[0])
            raise HashlensError(f"{where(i)}: {name} {int(col[i])} is outside a header's range {lo} … {hi}")
        out[name] = col
    for name, field in (("prev_hash", "prev"), ("merkle_root", "merkle")):
        try:
            flat = bytes.fromhex("".join(v.strip() for v in hashes[name]))
        except ValueError:
            return None
        out[field] = np.frombuffer(flat, dtype=np.uint8).reshape(n, 32)[:, ::-1]  # display -> internal order
    return out.tobytes()


__all__ = [
    "FIELD_COLUMNS",
    "HeaderFile",
    "HeaderRow",
    "header_from_record",
    "read_headers_csv",
    "read_headers_parquet",
    "read_raw_headers",
]
