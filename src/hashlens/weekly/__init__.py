"""The week's figures as one composition that every face renders (pvlib's ModelChain is the model).

``WeeklyFigures`` loads on first use: a command that reads one day's picture
(:mod:`hashlens.weekly.asof`) does not pay for the pools', miners' and fleet models the week's
composition imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hashlens.weekly.figures import WeeklyFigures

__all__ = ["WeeklyFigures"]


def __getattr__(name: str) -> Any:
    if name == "WeeklyFigures":
        from hashlens.weekly.figures import WeeklyFigures

        return WeeklyFigures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
