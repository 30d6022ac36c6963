"""Progress of a copy: rich bars on a terminal, plain log lines in CI.

Workers call the sink from their own threads, so both sinks lock.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Protocol, TextIO

from bbops.core import console, redact

if TYPE_CHECKING:
    from rich.progress import TaskID


class ProgressSink(Protocol):
    def table_started(self, table: str, rows_estimate: int) -> None: ...
    def advance(self, table: str, rows: int, nbytes: int) -> None: ...
    def table_done(self, table: str) -> None: ...
    def step(self, message: str) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    def table_started(self, table: str, rows_estimate: int) -> None:
        pass

    def advance(self, table: str, rows: int, nbytes: int) -> None:
        pass

    def table_done(self, table: str) -> None:
        pass

    def step(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


def _mb(n: float) -> str:
    return f"{n / 1_000_000:.1f} MB"


class LogProgress:
    """One line per table start/finish and at most one line per table every ``every`` seconds."""

    def __init__(self, every: float = 10.0, stream: TextIO | None = None) -> None:
        self._every = every
        self._lock = threading.Lock()
        self._state: dict[str, list[float]] = {}  # rows, bytes, estimate, started, last_print
        self._stream = stream

    def _say(self, text: str) -> None:
        console.say(text, stderr=self._stream is None)

    def table_started(self, table: str, rows_estimate: int) -> None:
        with self._lock:
            if table in self._state:
                return
            now = time.monotonic()
            self._state[table] = [0, 0, float(rows_estimate), now, now]
        self._say(f"copy {table}: started (~{rows_estimate:,} rows)")

    def advance(self, table: str, rows: int, nbytes: int) -> None:
        line = None
        with self._lock:
            st = self._state.setdefault(table, [0, 0, 0.0, time.monotonic(), time.monotonic()])
            st[0] += rows
            st[1] += nbytes
            now = time.monotonic()
            if now - st[4] >= self._every:
                st[4] = now
                rate = st[0] / max(now - st[3], 1e-6)
                pct = f" ({100 * st[0] / st[2]:.0f}%)" if st[2] > 0 else ""
                eta = f", eta {max(st[2] - st[0], 0) / rate:.0f}s" if st[2] > 0 and rate > 0 else ""
                line = f"copy {table}: {int(st[0]):,} rows{pct}, {_mb(st[1])}, {rate:,.0f} rows/s{eta}"
        if line:
            self._say(line)

    def table_done(self, table: str) -> None:
        with self._lock:
            st = self._state.get(table, [0, 0, 0.0, time.monotonic(), 0])
            took = time.monotonic() - st[3]
        self._say(f"copy {table}: done, {int(st[0]):,} rows, {_mb(st[1])} in {took:.1f}s")

    def step(self, message: str) -> None:
        self._say(message)

    def close(self) -> None:
        pass


class RichProgress:
    """A bar per table (rows, bytes, rate, ETA) on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows {task.fields[mb]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._bytes: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._progress.start()

    def table_started(self, table: str, rows_estimate: int) -> None:
        with self._lock:
            if table not in self._tasks:
                self._tasks[table] = self._progress.add_task(table, total=max(rows_estimate, 1), mb="", rate="")
                self._bytes[table] = 0
                self._started[table] = time.monotonic()

    def advance(self, table: str, rows: int, nbytes: int) -> None:
        with self._lock:
            if table not in self._tasks:
                self._tasks[table] = self._progress.add_task(table, total=None, mb="", rate="")
                self._bytes[table] = 0
                self._started[table] = time.monotonic()
            self._bytes[table] += nbytes
            task = self._progress.tasks[self._tasks[table]]
            done = task.completed + rows
            elapsed = max(time.monotonic() - self._started[table], 1e-6)
            total = task.total if task.total and task.total >= done else done
            self._progress.update(
                self._tasks[table],
                completed=done,
                total=total,
                mb=_mb(self._bytes[table]),
                rate=f"{done / elapsed:,.0f}/s",
            )

    def table_done(self, table: str) -> None:
        with self._lock:
            if table in self._tasks:
                task = self._progress.tasks[self._tasks[table]]
                self._progress.update(
                    self._tasks[table], total=max(task.completed, 1), completed=max(task.completed, 1)
                )

    def step(self, message: str) -> None:
        self._progress.console.print(redact.scrub(message), markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()


def default_sink() -> ProgressSink:
    """Bars when stderr is a terminal (and not CI), log lines otherwise."""
    import os

    if sys.stderr.isatty() and not os.environ.get("CI"):
        return RichProgress()
    return LogProgress()
