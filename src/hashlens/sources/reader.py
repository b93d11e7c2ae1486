"""The one reader of YAML, JSON and CSV input files: bounded, and one set of messages.

Every file a user hands hashlens as a tree (a scenario, a fleet, miners' reports, prices as
JSON) or as rows (a CSV) is read here, so that no file can cost more than a stated bound or
end in a traceback, and every refusal reads the same way: ``<file>: <what is wrong>``, a
:class:`~hashlens.errors.HashlensError` (the CLI's one ``error:`` line and exit 2).

Bounds, checked before or while parsing (never after a parser has recursed or allocated):

- size: at most :data:`MAX_FILE_BYTES` (checked from the file's size before it is read);
- nesting: at most :data:`MAX_DEPTH` levels of lists and mappings (hashlens' files need five);
  YAML is composed by a loader that stops at the limit, JSON by the C decoder whose recursion
  guard is turned into the same message, then checked by an iterative walk;
- YAML aliases: the tree they expand to has at most :data:`MAX_NODES` nodes, and none may
  contain itself;
- numbers: an integer of more digits than Python converts (4,300) is refused, not raised;
- text: UTF-8, with or without a byte-order mark (a spreadsheet's export), no NUL bytes;
- CSV: column names trimmed of spaces (``height, txs`` is ``txs``); a column without a name,
  a name given twice, or one the caller does not know (``power_price`` beside
  ``power_price_usd_per_kwh``) refused by name with the nearest known one; a row with more
  cells than the header refused by line; blank cells read as missing (``""``).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError

#: Largest file read as a tree or as rows [bytes].
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Deepest nesting of lists and mappings in a YAML or JSON file.
MAX_DEPTH = 32
#: Most nodes a YAML file may expand to through its aliases.
MAX_NODES = 1_000_000
#: Longest CSV cell [characters].
MAX_CELL_CHARS = 1024 * 1024

TREE_SUFFIXES = (".yaml", ".yml", ".json")


def input_path(path: str | Path, what: str = "file") -> Path:
    """``path`` as a Path, refused when empty (an empty argument is not "the current folder")."""
    if str(path).strip() in ("", "."):
        raise HashlensError(f"the {what} path is empty: give a file")
    return Path(path)


def read_bytes(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, refused (naming the file) when missing, a folder, unreadable or larger
    than ``max_bytes``."""
    p = input_path(path, what)
    try:
        if p.is_dir():
            raise HashlensError(f"{p}: is a folder; give a {what}")
        size = p.stat().st_size
        if size > max_bytes:
            raise HashlensError(f"{p}: {size:,} bytes; a {what} is read up to {max_bytes:,} bytes")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise HashlensError(f"{p}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew while read (a pipe or a file being written)
        raise HashlensError(f"{p}: more than {max_bytes:,} bytes; a {what} is read up to that")
    return data


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark dropped), refused with the offset of the first bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HashlensError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start:,}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise HashlensError(f"{source}: holds NUL bytes at offset {text.index(chr(0)):,}: not a text file")
    return text


def read_text(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """A text file (:func:`read_bytes` then :func:`decode_text`)."""
    return decode_text(read_bytes(path, what, max_bytes), str(input_path(path, what)))


# -- trees: JSON and YAML -----------------------------------------------------------------------
def _too_deep(source: str) -> HashlensError:
    return HashlensError(f"{source}: nested more than {MAX_DEPTH} levels deep; hashlens' files need a few")


def _check_depth(value: Any, source: str) -> None:
    """Iteratively: no list or mapping deeper than MAX_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Iterable[Any] = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > MAX_DEPTH:
            raise _too_deep(source)
        stack.extend((c, d + 1) for c in children)


def parse_json(text: str, source: str) -> Any:
    """JSON text as Python values, within the bounds above."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HashlensError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise _too_deep(source) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise HashlensError(f"{source}: not valid JSON: {' '.join(str(exc).split())}") from None
    _check_depth(value, source)
    return value


def _yaml_loader() -> Any:
    import yaml

    class TooDeep(yaml.YAMLError):
        pass

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader composing at most MAX_DEPTH levels deep (its composer recurses
        once per level)."""

        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise TooDeep()
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def _expanded_nodes(root: Any, source: str) -> int:
    """How many nodes a composed YAML document expands to, aliases followed (counted once per
    use, computed once per node); a node inside itself is refused."""
    import yaml

    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            if isinstance(node, yaml.SequenceNode):
                kids = node.value
            else:
                kids = [x for pair in node.value for x in pair]
            sizes[key] = min(MAX_NODES + 1, 1 + sum(sizes[id(k)] for k in kids))
            continue
        if key in sizes:
            continue
        if not isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            sizes[key] = 1
            continue
        if key in open_:
            raise HashlensError(f"{source}: a YAML alias refers to a list or mapping that contains it")
        open_.add(key)
        stack.append((node, True))
        kids = node.value if isinstance(node, yaml.SequenceNode) else [x for pair in node.value for x in pair]
        for k in kids:
            if id(k) in open_:
                raise HashlensError(f"{source}: a YAML alias refers to a list or mapping that contains it")
            if id(k) not in sizes:
                stack.append((k, False))
    return sizes.get(id(root), 1)


def parse_yaml(text: str, source: str) -> Any:
    """YAML text (safe types only) as Python values, within the bounds above."""
    import yaml

    loader_class = _yaml_loader()
    loader = None
    try:
        loader = loader_class(text)  # its reader refuses control characters here (a ReaderError)
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node, source) > MAX_NODES:
            raise HashlensError(f"{source}: its aliases expand to more than {MAX_NODES:,} values")
        value = loader.construct_document(node)
    except yaml.YAMLError as exc:
        if type(exc).__name__ == "TooDeep":
            raise _too_deep(source) from None
        if not isinstance(exc, yaml.MarkedYAMLError):
            raise HashlensError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark is not None else ""
        raise HashlensError(f"{source}: not valid YAML: {exc.problem or exc.context}{where}") from None
    except RecursionError:
        raise _too_deep(source) from None
    except (ValueError, OverflowError, TypeError) as exc:
        # A value PyYAML recognised but could not build: a date like 2024-02-30, an integer of
        # more digits than Python converts.
        raise HashlensError(
            f"{source}: not valid YAML: a value cannot be read ({' '.join(str(exc).split())})"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_depth(value, source)
    return value


def read_tree(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> Any:
    """A YAML or JSON file as Python values: ``.json`` as JSON, anything else as YAML (JSON is
    YAML too, so a JSON file named otherwise reads the same)."""
    p = input_path(path, what)
    text = read_text(p, what, max_bytes)
    return parse_json(text, str(p)) if p.suffix.lower() == ".json" else parse_yaml(text, str(p))


def check_keys(keys: Iterable[Any], known: Collection[str], where: str, what: str = "field") -> None:
    """Refuse keys (or columns) not in ``known`` (compared without case or surrounding spaces),
    naming each and the nearest known one: an unknown key is usually a misspelt known one, whose
    value would otherwise be ignored without a word."""
    lower = {k.lower() for k in known}
    unknown = [str(k) for k in keys if str(k).strip().lower() not in lower]
    if not unknown:
        return
    parts = []
    for k in unknown:
        key = k.strip().lower()
        # A known name the unknown one begins (power_price -> power_price_usd_per_kwh), else
        # the closest spelling.
        near = sorted(n for n in lower if key and n.startswith(key)) or difflib.get_close_matches(
            key, sorted(lower), n=1, cutoff=0.5
        )
        parts.append(f"{k!r} (did you mean {near[0]}?)" if near else repr(k))
    raise HashlensError(
        f"{where}: unknown {what}{'s' if len(unknown) > 1 else ''} {', '.join(parts)}; "
        f"known: {', '.join(sorted(known))}"
    )


# -- rows: CSV ------------------------------------------------------------------------------------
def parse_csv(text: str, source: str, known: Collection[str] | None = None) -> list[dict[str, str]]:
    """CSV text with a header line as one dict a row (line ``i + 2`` of the file for row
    ``i``), within the rules above; ``known``: the columns the caller reads (others refused)."""
    old = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            if header is None:
                return []
            names = [h.strip() for h in header]
            for i, n in enumerate(names, start=1):
                if not n:
                    raise HashlensError(f"{source}: line 1: column {i} has no name")
            seen: set[str] = set()
            for n in names:
                if n.lower() in seen:
                    raise HashlensError(f"{source}: line 1: column {n!r} appears twice")
                seen.add(n.lower())
            if known is not None:
                check_keys(names, known, f"{source}: line 1", "column")
            rows: list[dict[str, str]] = []
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                if len(cells) > len(names):
                    raise HashlensError(
                        f"{source}: line {reader.line_num}: {len(cells)} cells, but the header names {len(names)} columns"
                    )
                row = dict.fromkeys(names, "")
                row.update(zip(names, (c.strip() for c in cells), strict=False))
                rows.append(row)
        except csv.Error as exc:
            raise HashlensError(f"{source}: line {reader.line_num}: not readable CSV: {exc}") from None
    finally:
        csv.field_size_limit(old)
    return rows


def read_csv(
    path: str | Path, known: Collection[str] | None = None, what: str = "CSV file", max_bytes: int = MAX_FILE_BYTES
) -> list[dict[str, str]]:
    """A CSV file's rows (:func:`parse_csv`)."""
    p = input_path(path, what)
    return parse_csv(read_text(p, what, max_bytes), str(p), known)


__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "TREE_SUFFIXES",
    "check_keys",
    "decode_text",
    "input_path",
    "parse_csv",
    "parse_json",
    "parse_yaml",
    "read_bytes",
    "read_csv",
    "read_text",
    "read_tree",
]
