"""`hashlens` command line.

Building the command tree imports no heavy library: each command imports what it needs
(numpy, DuckDB, Rich tables, the store) when it runs, so ``hashlens --help`` and the quick
queries do not pay for the others (``tests/test_cli_basics.py`` holds ``--help`` to that).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hashlens import __version__
from hashlens.cli.output import console, emit
from hashlens.cli.typer_compat import NoArgsIsHelpError
from hashlens.errors import HashlensError
from hashlens.units import iso_utc as iso

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(
    name="hashlens",
    help="Bitcoin mining economics computed from the chain itself.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("hashlens", appauthor=False)) / "hashlens.duckdb"


class State:
    """The root options, read by the commands (``state.db_path`` defaults to the user data dir)."""

    def __init__(self) -> None:
        self._db_path: Path | None = None
        self.data_dir: str | None = None
        self.use_server = True  # reading commands may ask a `hashlens serve` on the store
        self.debug = False  # a bug's traceback on stderr (--debug, HASHLENS_DEBUG=1)

    @property
    def db_path(self) -> Path:
        if self._db_path is None:
            self._db_path = default_db_path()
        return self._db_path

    @db_path.setter
    def db_path(self, value: Path) -> None:
        self._db_path = value


state = State()


def _version(value: bool) -> None:
    if value:
        print(f"hashlens {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="HASHLENS_DB", help="Database file (default: user data dir)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", envvar="HASHLENS_DATA", help="Shared data folder (holding chain/)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    no_server: Annotated[
        bool,
        typer.Option(
            "--no-server", help="Compute answers here even when `hashlens serve` runs on the store (it is asked first)."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="HASHLENS_DEBUG",
            help="On a bug (exit 1), print the whole traceback, for the report.",
        ),
    ] = False,
) -> None:
    state.db_path = db or default_db_path()
    state.data_dir = data
    state.use_server = not no_server
    state.debug = debug


def served(path: str, **params: Any) -> tuple[Any, str] | None:
    """The answer of a ``hashlens serve`` running on this store to ``GET path?params`` and its
    URL (:mod:`hashlens.cli.served`), or None: then the command computes it itself."""
    if not state.use_server:
        return None
    from hashlens.cli.served import served_answer

    return served_answer(state.db_path, path, params)


def kv_table(title: str, rows: dict[str, Any]) -> Table:
    from rich.table import Table

    t = Table(title=title, show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    for k, v in rows.items():
        t.add_row(k, "" if v is None else str(v))
    return t


def _register() -> None:
    # Command modules attach themselves to `app` on import.
    from hashlens.cli import (  # noqa: F401
        chain_cmds,
        consensus_cmds,
        economics_cmds,
        face_cmds,
        miners_cmds,
        outlook_cmds,
        pools_cmds,
        serve_cmds,
        sim_cmds,
        store_cmds,
        update_cmds,
    )


def _fail(message: str) -> None:
    """One line on stderr, whatever the terminal width."""
    print("error: " + " ".join(message.split()), file=sys.stderr)


#: Exit codes, one meaning each (the README's table): 0 done; 1 a bug in hashlens (a bug
#: report, never "bad input"); 2 bad input or a refused request (the message names the place
#: and the fix); 3 disk full; 4 the store or its folder is read-only; 5 the store is held by
#: another process (named); 130 interrupted (Ctrl-C).
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_DISK_FULL = 3
EXIT_READ_ONLY = 4
EXIT_LOCKED = 5
EXIT_INTERRUPTED = 130

#: Where a bug is reported; the line printed for one names it.
BUG_REPORTS = "the hashlens issue tracker"


def _environment_failure(exc: BaseException) -> tuple[str, int] | None:
    """A full disk or a read-only store, told apart from other failures: (message, exit code)."""
    import errno

    text = " ".join(str(exc).split())
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "no space left" in text.lower():
        return (
            f"disk full: {text}; free some space and rerun (the store keeps its last whole batch)",
            EXIT_DISK_FULL,
        )
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(
        k in text.lower() for k in ("read-only file system", "permission denied", "read-only")
    ):
        return (f"the store or its folder is read-only: {text}; use a writable --db", EXIT_READ_ONLY)
    return None


def _loaded(module: str, name: str, also: tuple[type[BaseException], ...] = ()) -> tuple[type[BaseException], ...]:
    """``also`` and the exception class ``module.name`` if that module is imported.

    An ``except`` clause evaluates its classes only when an exception is being matched, so
    ``main`` need not import DuckDB or the store up front: a command that raised one of their
    errors has imported them.
    """
    mod = sys.modules.get(module)
    return (*also, getattr(mod, name)) if mod is not None else also


def _bug(exc: BaseException) -> None:
    """An exception no input should cause: one line saying it is a bug and where to report it;
    the traceback only with ``--debug`` (or ``HASHLENS_DEBUG=1``)."""
    import os
    import traceback

    if state.debug or os.environ.get("HASHLENS_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        traceback.print_exception(exc, file=sys.stderr)
        how = "with the traceback above"
    else:
        how = "with the output of the same command run with --debug"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "hashlens" in f.filename]
    at = ""
    if frames:
        f = frames[-1]
        at = f" at {Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    _fail(
        f"bug in hashlens {__version__}: {' '.join(what.split())[:300]}{at}; this is not your input's fault: "
        f"please report it to {BUG_REPORTS} {how}"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors and a non-zero exit, never a traceback (but behind
    ``--debug`` for a bug).

    Exit codes (one meaning each; :data:`EXIT_BUG` …): 1 a bug in hashlens; 2 bad input or a
    refused operation; 3 disk full; 4 read-only store; 5 store locked by another process
    (named); 130 interrupted (Ctrl-C)."""
    from hashlens.cli.kept import answer_kept

    if answer_kept(sys.argv[1:] if argv is None else argv):
        return  # the answer kept for this store state (hashlens.cli.kept)
    _register()
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="hashlens", standalone_mode=False)
        # Outside standalone mode Typer returns an Exit's code instead of exiting; Ctrl-C
        # arrives here as Exit(130).
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            if rv == EXIT_INTERRUPTED:
                _fail("interrupted")
            sys.exit(rv)
    except _loaded("hashlens.store.db", "StoreLocked") as exc:
        _fail(str(exc))
        sys.exit(EXIT_LOCKED)
    except HashlensError as exc:
        env = _environment_failure(exc)
        if env is not None and ("no space" in str(exc).lower() or "read-only" in str(exc).lower()):
            _fail(env[0])
            sys.exit(env[1])
        _fail(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort as exc:
        # Click turns both Ctrl-C and an EOFError into Abort; only Ctrl-C is an interruption.
        if isinstance(exc.__context__, EOFError):
            _fail(f"an input ended early (a truncated or damaged file?): {exc.__context__ or 'end of file'}")
            sys.exit(EXIT_BAD_INPUT)
        _fail("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except NoArgsIsHelpError:
        sys.exit(0)
    except typer.TyperException as exc:
        _fail(exc.format_message())
        sys.exit(exc.exit_code or EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        _fail("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of our output left (`hashlens … | head`): nothing more to say to it.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except EOFError as exc:
        _fail(f"an input ended early (a truncated or damaged file?): {exc or 'end of file'}")
        sys.exit(EXIT_BAD_INPUT)
    except MemoryError:
        _fail("out of memory: ask for less work (fewer paths, months or rows) or free some memory")
        sys.exit(EXIT_BAD_INPUT)
    except UnicodeDecodeError as exc:
        _fail(f"an input is not text in the expected encoding (UTF-8): {exc}")
        sys.exit(EXIT_BAD_INPUT)
    except _loaded("duckdb", "Error", also=(OSError,)) as exc:
        # A full disk or a read-only store reach here from wherever the write failed; any
        # other system or database error is a bug (input errors are HashlensError where read).
        env = _environment_failure(exc)
        if env is not None:
            _fail(env[0])
            sys.exit(env[1])
        if type(exc).__name__ == "OutOfMemoryException":
            _fail(f"out of memory in the database: {exc}; ask for less work or free some memory")
            sys.exit(EXIT_BAD_INPUT)
        if type(exc).__name__ == "IOException":
            # Reading or writing the store file failed (the store names a damaged file itself).
            _fail(f"the store {state.db_path} could not be read or written: {exc}")
            sys.exit(EXIT_BAD_INPUT)
        _bug(exc)
        sys.exit(EXIT_BUG)
    except Exception as exc:
        _bug(exc)
        sys.exit(EXIT_BUG)


__all__ = ["app", "console", "emit", "iso", "kv_table", "main", "state"]
