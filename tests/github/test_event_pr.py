"""The one PR resolver: ``--pr`` or the event's, and the event only when it is about that PR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbops.errors import UsageError
from bbops.github.event import pull_request_for
from tests.fakes.github_fixtures import pull_request_payload


def _env(tmp_path: Path, number: int) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(pull_request_payload("opened", number=number, head_ref="feature/x")))
    return {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(path)}


def test_the_event_gives_the_number_and_itself(tmp_path: Path) -> None:
    number, event = pull_request_for(None, _env(tmp_path, 12))
    assert number == 12 and event is not None and event.head_ref == "feature/x"


def test_another_pr_than_the_events_gets_no_event_details(tmp_path: Path) -> None:
    number, event = pull_request_for(7, _env(tmp_path, 12))
    assert (number, event) == (7, None)


def test_no_pr_and_no_event_is_bad_usage() -> None:
    with pytest.raises(UsageError, match="pass --pr N"):
        pull_request_for(None, {})
