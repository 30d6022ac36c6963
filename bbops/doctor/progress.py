"""Progress of the checks: a rich bar on a terminal (stderr), nothing otherwise (CI logs stay clean)."""

from __future__ import annotations

import sys
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class CheckProgress(Protocol):
    def start(self, total: int) -> None: ...
    def step(self, name: str) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def step(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """A transient bar naming the running check; gone once the report prints."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("doctor"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} {task.description}"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._task: TaskID | None = None
        self._done = 0

    def start(self, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("", total=total)

    def step(self, name: str) -> None:
        if self._task is not None:  # the previous check is done, this one starts
            self._bar.update(self._task, description=name, completed=self._done)
            self._done += 1

    def close(self) -> None:
        self._bar.stop()


def default_progress() -> CheckProgress:
    return RichProgress() if sys.stderr.isatty() else NoProgress()
