"""The one poll/backoff loop (``bbops.core.poll``): pauses, budget, clocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bbops.core.poll import poll


class Clock:
    """A clock that only moves when someone sleeps, recording each pause."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ready_after(n: int) -> tuple[Callable[[], str | None], list[int]]:
    calls: list[int] = []

    def check() -> str | None:
        calls.append(len(calls) + 1)
        return "ready" if len(calls) >= n else None

    return check, calls


def test_returns_the_first_answer_without_waiting() -> None:
    clock = Clock()
    check, calls = ready_after(1)
    assert poll(check, timeout=10, delay=1, sleep=clock.sleep, clock=lambda: clock.now) == "ready"
    assert calls == [1] and clock.sleeps == []


def test_pauses_grow_by_the_factor_up_to_the_ceiling() -> None:
    clock = Clock()
    check, calls = ready_after(6)
    found = poll(check, timeout=100, delay=0.5, max_delay=2.0, factor=2, sleep=clock.sleep, clock=lambda: clock.now)
    assert found == "ready" and len(calls) == 6
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_the_last_pause_is_cut_to_the_budget_and_one_more_check_follows() -> None:
    clock = Clock()
    check, calls = ready_after(100)
    assert poll(check, timeout=20, delay=1, max_delay=15, sleep=clock.sleep, clock=lambda: clock.now) is None
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 5.0] and sum(clock.sleeps) == 20
    assert len(calls) == 6  # once at the start and once after every pause


def test_without_a_clock_the_time_spent_is_what_was_slept() -> None:
    sleeps: list[float] = []
    check, _ = ready_after(100)
    # A recorder that does not sleep at all: the budget still runs out, after the same pauses.
    assert poll(check, timeout=3, delay=0.5, max_delay=5, factor=1.6, sleep=sleeps.append) is None
    assert sum(sleeps) == pytest.approx(3) and sleeps[:3] == pytest.approx([0.5, 0.8, 1.28])


def test_a_steady_pause_with_factor_one() -> None:
    clock = Clock()
    check, _ = ready_after(4)
    assert poll(check, timeout=1, delay=0.05, factor=1.0, sleep=clock.sleep, clock=lambda: clock.now) == "ready"
    assert clock.sleeps == [0.05, 0.05, 0.05]


def test_a_zero_budget_still_checks_once() -> None:
    check, calls = ready_after(2)
    assert poll(check, timeout=0, delay=1, sleep=lambda _: None) is None and calls == [1]


def test_an_exception_from_the_check_ends_the_wait() -> None:
    sleeps: list[float] = []

    def check() -> None:
        raise RuntimeError("the operation failed")

    with pytest.raises(RuntimeError, match="the operation failed"):
        poll(check, timeout=10, delay=1, sleep=sleeps.append)
    assert sleeps == []
