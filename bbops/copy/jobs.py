"""A small dependency-aware job runner: N worker threads, each with its own connections.

Jobs form a DAG (an index waits for its table's rows, a foreign key for the
indexes of both its tables...). Whenever a worker is free it takes the ready
job with the highest priority, so the largest tables start first and an index
build starts the moment its table is loaded, overlapping the other copies.

The first failure stops the scheduling of new jobs; running ones finish (or
are cancelled on Ctrl-C) and the error is raised in the caller's thread.
Threads are enough: the heavy lifting happens in the servers and in libpq,
and the copy stream releases the GIL whenever it waits.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bbops.errors import BBopsError, Interrupted, MigrationError

W = TypeVar("W")


@dataclass
class Job(Generic[W]):
    key: str
    run: Callable[[W], None]
    deps: set[str] = field(default_factory=set)
    priority: float = 0.0
    kind: str = ""
    table: str = ""


class JobRunner(Generic[W]):
    def __init__(
        self,
        jobs: Iterable[Job[W]],
        workers: int,
        make_worker: Callable[[int], W],
        close_worker: Callable[[W], None] = lambda w: None,
        cancel_worker: Callable[[W], None] = lambda w: None,
    ) -> None:
        self.jobs = {j.key: j for j in jobs}
        for job in self.jobs.values():
            # Dependencies on jobs not in this run (already done earlier) are satisfied.
            job.deps = {d for d in job.deps if d in self.jobs}
        self._check_acyclic()
        self.workers = max(1, min(workers, len(self.jobs) or 1))
        self._make, self._close, self._cancel = make_worker, close_worker, cancel_worker
        self._cond = threading.Condition()
        self._done: set[str] = set()
        self._running: set[str] = set()
        self._error: BaseException | None = None
        self._live: list[W] = []

    def _check_acyclic(self) -> None:
        seen: dict[str, int] = {}
        for start in self.jobs:
            stack = [(start, iter(sorted(self.jobs[start].deps)))]
            if seen.get(start) == 2:
                continue
            seen[start] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    seen[node] = 2
                    stack.pop()
                elif seen.get(nxt) == 1:
                    raise MigrationError(f"internal: job dependency cycle through {nxt}")
                elif nxt not in seen:
                    seen[nxt] = 1
                    stack.append((nxt, iter(sorted(self.jobs[nxt].deps))))

    def _next(self) -> Job[W] | None:
        """The best ready job, or None when everything is done or failed (called with the lock)."""
        while True:
            if self._error is not None:
                return None
            pending = [j for k, j in self.jobs.items() if k not in self._done and k not in self._running]
            if not pending:
                return None
            ready = [j for j in pending if j.deps <= self._done]
            if ready:
                best = max(ready, key=lambda j: j.priority)
                self._running.add(best.key)
                return best
            self._cond.wait()

    def _worker(self, index: int) -> None:
        try:
            worker = self._make(index)
        except BaseException as exc:
            with self._cond:
                self._error = self._error or exc
                self._cond.notify_all()
            return
        with self._cond:
            self._live.append(worker)
        try:
            while True:
                with self._cond:
                    job = self._next()
                if job is None:
                    return
                try:
                    job.run(worker)
                except BaseException as exc:
                    with self._cond:
                        if self._error is None:
                            self._error = exc if isinstance(exc, BBopsError) else MigrationError(f"{job.key}: {exc}")
                        self._cond.notify_all()
                    return
                with self._cond:
                    self._running.discard(job.key)
                    self._done.add(job.key)
                    self._cond.notify_all()
        finally:
            # Closing is best effort: a job's own error (recorded above) is what the user needs to see.
            with contextlib.suppress(Exception):
                self._close(worker)

    def run(self) -> None:
        if not self.jobs:
            return
        threads = [
            threading.Thread(target=self._worker, args=(i,), daemon=True, name=f"bbops-copy-{i}")
            for i in range(self.workers)
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            with self._cond:
                self._error = self._error or Interrupted("interrupted; run again with --resume to continue")
                live = list(self._live)
                self._cond.notify_all()
            for worker in live:
                # Cancelling is best effort: the interrupt is reported either way.
                with contextlib.suppress(Exception):
                    self._cancel(worker)
            for t in threads:
                t.join(10)
        if self._error is not None:
            raise self._error
