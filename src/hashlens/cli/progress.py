"""A Rich progress bar on stderr, so --json output on stdout stays clean."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class RichProgress:
    def __init__(self, quiet: bool = False) -> None:
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            # Only on a terminal: piped stderr should carry errors, not bar snapshots.
            disable=quiet or not console.is_terminal,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, description: str, total: int | None) -> None:
        if self._task is None:
            self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)

    def done(self) -> None:
        pass

    def close(self, failed: bool = False) -> None:
        if self._task is not None:
            if failed:  # leave the one-line error alone on the screen
                for task in list(self._progress.task_ids):
                    self._progress.remove_task(task)
            self._progress.stop()
