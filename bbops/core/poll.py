"""Asking again until something is ready, with a growing pause and a time budget: one loop for all of bbops.

Neon operations, the health check, advisory locks and the local backend's
wait for a template database to be free all need the same thing: try, and if
it is not there yet, wait a little longer each time (``delay``, times
``factor``, at most ``max_delay``), never past the budget. The caller says
what "ready" means and what to say when the budget runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    delay: float,
    max_delay: float | None = None,
    factor: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] | None = None,
) -> T | None:
    """``check()`` until it returns something other than None, which is returned; None once ``timeout`` is spent.

    ``check`` runs at least once, and once more after the last pause. Pauses
    start at ``delay`` and grow by ``factor`` up to ``max_delay``; the last one
    is cut to what is left of the budget. Time is read from ``clock``; without
    one, the time spent is what was slept (for callers whose ``sleep`` is a
    test's recorder, so that a budget of minutes passes at once).
    """
    ceiling = delay if max_delay is None else max_delay
    start = clock() if clock else 0.0
    slept = 0.0
    while True:
        found = check()
        if found is not None:
            return found
        spent = (clock() - start) if clock else slept
        remaining = timeout - spent
        if remaining <= 0:
            return None
        pause = min(delay, remaining)
        sleep(pause)
        slept += pause
        delay = min(delay * factor, ceiling)
