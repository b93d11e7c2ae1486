"""Printing helpers: JSON alone on stdout with --json, Rich tables otherwise."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A Rich console made on first use: ``--json`` output and ``--help`` never import
    Rich's console (the commands print through it as if it were one)."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return getattr(self._console, name)


console: Any = _LazyConsole()
err_console: Any = _LazyConsole(stderr=True)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def json_text(data: Any) -> str:
    """What ``--json`` prints for ``data``: indented JSON and a newline."""
    return json.dumps(_clean(data), indent=2, default=str) + "\n"


def emit(data: Any, as_json: bool, render: Callable[[Any], None], via: str | None = None) -> None:
    """Print ``data``: as JSON alone, or through ``render``; ``via``: the URL of the
    ``hashlens serve`` that answered, said under the rendering (never in JSON)."""
    if as_json:
        sys.stdout.write(json_text(data))
    else:
        render(data)
        if via is not None:
            console.print(f"[dim]answered by `hashlens serve` at {via} (--no-server: compute here)[/dim]")


def fmt_quantity(value: float | None, unit: str = "", digits: int = 2) -> str:
    """A number rounded to its meaning, with thousands separators and its unit.

    ``fmt_quantity(1234.5678, "USD/day")`` → ``"1,234.57 USD/day"``. A unit of ``"%"``
    expects a share [0-1] and prints it as a percentage (``fmt_quantity(0.123, "%", 1)`` →
    ``"12.3 %"``). None, NaN and infinities print as ``"n/a"``; "-0.00" prints as "0.00".

    Parameters
    ----------
    value : the number, in the unit given [unit]
    unit : appended after a space ("" for none)
    digits : decimals kept
    """
    if value is None or isinstance(value, bool):
        return "n/a" if value is None else str(value)
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if unit == "%":
        x *= 100
    text = f"{x:,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0.00"
    return f"{text} {unit}" if unit else text
