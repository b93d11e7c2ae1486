"""Readers for files of full block headers: raw 80-byte concatenations, CSV and Parquet."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from hashlens.consensus import HEADER_SIZE, BlockHeader
from hashlens.errors import HashlensError

FIELD_COLUMNS = ("version", "prev_hash", "merkle_root", "time", "bits", "nonce")


@dataclass(frozen=True)
class HeaderRow:
    height: int | None
    header: BlockHeader
    where: str  # "line 7", "header 12": for error messages


def read_raw_headers(path: Path) -> list[HeaderRow]:
    """Concatenated 80-byte headers (Bitcoin Core's and Electrum's header file format)."""
    data = path.read_bytes()
    whole, rest = divmod(len(data), HEADER_SIZE)
    if rest:
        raise HashlensError(
            f"{path}: {len(data)} bytes is not a whole number of 80-byte headers; "
            f"header {whole + 1} is truncated ({rest} bytes)"
        )
    return [
        HeaderRow(None, BlockHeader.parse(data[i * HEADER_SIZE : (i + 1) * HEADER_SIZE]), f"header {i + 1}")
        for i in range(whole)
    ]


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


def read_headers_csv(path: Path) -> list[HeaderRow]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip().lower() for c in reader.fieldnames or []]
        _check_columns(cols, path)
        out = []
        for lineno, row in enumerate(reader, start=2):
            rec = {k.strip().lower(): v for k, v in row.items() if k is not None}
            out.append(header_from_record(rec, f"{path}: line {lineno}"))
    return out


def read_headers_parquet(path: Path) -> list[HeaderRow]:
    import duckdb

    con = duckdb.connect()
    try:
        rel = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        cols = [d[0].lower() for d in rel.description]
        _check_columns(cols, path)
        rows = rel.fetchall()
    except duckdb.Error as exc:
        raise HashlensError(f"{path}: not a readable Parquet file: {' '.join(str(exc).split())}") from None
    finally:
        con.close()
    return [header_from_record(dict(zip(cols, r, strict=True)), f"{path}: row {i + 1}") for i, r in enumerate(rows)]
