"""What the report's sections write into: Markdown lines, footnotes, chart files, and the
number formats every section shares."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Notes", "Page", "fmt", "source_suffix"]


@dataclass
class Notes:
    """The page's footnotes, numbered as they are cited."""

    items: list[str] = field(default_factory=list)

    def cite(self, text: str) -> str:
        self.items.append(text)
        return f"[^{len(self.items)}]"

    def markdown(self) -> str:
        return "\n".join(f"[^{i}]: {t}" for i, t in enumerate(self.items, start=1))


@dataclass
class Page:
    """What the section functions write into: Markdown lines, footnotes and chart files."""

    chart_dir: Path
    notes: Notes = field(default_factory=Notes)
    md: list[str] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)

    def chart(self, path: Path, alt: str) -> None:
        self.charts.append(path)
        self.md += ["", f"![{alt}](charts/{path.name})", ""]


def fmt(x: float | None, digits: int = 2, unit: str = "") -> str:
    """``x`` with thousands separators and ``digits`` decimals, then ``unit``; "n/a" for none or
    not finite."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:,.{digits}f}{unit}"


def source_suffix(source: str | None) -> str:
    """ " (source)" after a figure, unless it is stored (the default)."""
    return "" if source in (None, "stored") else f" ({source})"
