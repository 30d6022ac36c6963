"""Waiting for Neon operations: a change is done only when its operations finished.

Neon answers a mutating request at once with a list of ``operations``
(create timeline, start compute, ...). Until they finish, the branch is not
usable and further changes to the project answer 423 Locked. Polling backs off
from half a second to a few seconds (``core.poll``).

``failed`` is not the end: Neon's control plane retries a failed operation (``failures_count``
counts its failures and retries) and its status moves on, to ``finished`` or at last to
``error``. So a failed operation is waited for like a running one (within the same timeout, its
error said if it never recovers); ``error`` and ``cancelled`` become a ``ProviderError``
carrying the operation's own error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from bbops.core.http import ApiClient
from bbops.core.poll import poll
from bbops.errors import ProviderError

DONE = frozenset({"finished", "skipped"})
FAILED = frozenset({"error", "cancelled"})  # final; `failed` is retried, `cancelling` becomes `cancelled`


class OperationWaiter:
    def __init__(
        self,
        api: ApiClient,
        base: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        first_delay: float = 0.5,
        max_delay: float = 5.0,
        timeout: float = 600.0,
    ) -> None:
        self.api = api
        self.base = base
        self.sleep = sleep
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.timeout = timeout

    def wait(self, operations: Iterable[dict[str, Any]]) -> None:
        """Return when every operation finished; raise on the first that failed.

        Several at once (a new branch's timeline and compute) are polled together, one
        ``GET /operations`` per round (newest first: ours were just made); one that the
        listing does not show is then polled on its own.
        """
        ops = list(operations)
        delay, waited = self.first_delay, 0.0
        while len(ops) > 1 and any(op.get("status") not in DONE for op in ops) and waited < self.timeout:
            for op in ops:
                if op.get("status") in FAILED:
                    self._wait_one(op)  # raises with the operation's own error
            self.sleep(delay)
            waited += delay
            delay = min(self.max_delay, delay * 1.6)
            listed = self.api.get(f"{self.base}/operations", params={"limit": 100}).json().get("operations") or []
            by_id: dict[str, dict[str, Any]] = {str(o.get("id")): o for o in listed}
            if not all(str(op.get("id")) in by_id for op in ops):
                break  # not all in the newest page: poll one by one
            ops = [by_id[str(op["id"])] for op in ops]
        for op in ops:
            self._wait_one(op)

    def _wait_one(self, op: dict[str, Any]) -> None:
        current, first = op, True

        def finished() -> bool | None:
            nonlocal current, first
            if not first:  # the first look is at the operation as the change's reply gave it
                current = self.api.get(f"{self.base}/operations/{op['id']}").json().get("operation") or {}
            first = False
            status = current.get("status")
            if status in FAILED:
                raise ProviderError(
                    f"neon: operation {op.get('action', '?')} {op.get('id')} {status}: "
                    f"{current.get('error') or 'no error message given'}",
                    path=f"{self.base}/operations/{op.get('id')}",
                )
            return True if status in DONE else None

        # Time is what was slept: tests' sleeps are instant, and Neon's own clock is not ours to read.
        done = poll(
            finished,
            timeout=self.timeout,
            delay=self.first_delay,
            max_delay=self.max_delay,
            factor=1.6,
            sleep=self.sleep,
        )
        if done is None:
            failing = (
                f" ({current.get('failures_count')} failure(s): {current.get('error')})" if current.get("error") else ""
            )
            raise ProviderError(
                f"neon: operation {op.get('action', '?')} {op.get('id')} still {current.get('status')} "
                f"after {self.timeout:.0f}s{failing}",
                path=f"{self.base}/operations/{op.get('id')}",
            )

    def wait_branch_ready(self, branch_id: str) -> None:
        """Wait until a branch we did not see being created has no running operations.

        Used after an uncertain create: the operations list of the lost reply is
        unknown, so the branch's own operations are listed instead.
        """
        # The list has no branch filter; the newest 100 operations cover a create just made.
        body = self.api.get(f"{self.base}/operations", params={"limit": 100}).json()
        pending = [
            op
            for op in body.get("operations") or []
            if op.get("branch_id") == branch_id and op.get("status") not in DONE
        ]
        self.wait(pending)
