"""Typer's exception for a command group called without arguments, reached through Typer's
public API.

Typer (0.26 and later) carries its own copy of click in the private ``typer._click``; the
separately installed ``click`` package defines different classes, so catching its
``NoArgsIsHelpError`` would never match. Typer raises ``NoArgsIsHelpError`` after printing the
help and recognises it by its class name itself; here it is found the same way, among the
subclasses of the public :class:`typer.TyperException`.
"""

from __future__ import annotations

import typer


def _subclass_named(base: type[BaseException], name: str) -> type[BaseException]:
    seen: list[type[BaseException]] = [base]
    while seen:
        cls = seen.pop()
        if cls.__name__ == name:
            return cls
        seen.extend(cls.__subclasses__())
    raise ImportError(f"typer defines no {name} under TyperException (a new typer release?)")


#: Raised (after the help is printed) by ``hashlens`` or a group run without a command.
NoArgsIsHelpError = _subclass_named(typer.TyperException, "NoArgsIsHelpError")

__all__ = ["NoArgsIsHelpError"]
