"""bbops.plan.validation: the result of `bbops validate`, called directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.core import report
from bbops.errors import UsageError
from bbops.plan.validation import validate_plans
from tests.plan_samples import MINIMAL


def test_valid_plans_say_ok_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "b.yaml").write_text(MINIMAL)
    (tmp_path / "plans" / "a.yml").write_text(MINIMAL)
    result = validate_plans([])
    assert result.valid and result.annotations() == []
    assert report.as_text(result) == "ok: plans/a.yml\nok: plans/b.yaml"
    assert result.as_dict() == {"valid": True, "files": ["plans/a.yml", "plans/b.yaml"], "problems": []}


def test_every_problem_of_every_file_is_data_and_an_annotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("ttl_days: 7", "ttl_days: 99"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result = validate_plans([bad, empty])
    assert not result.valid and report.as_text(result) == ""  # the problems are the CLI's error, on stderr
    assert [p.file for p in result.problems] == ["bad.yaml", "empty.yaml"]
    first, second = result.annotations()
    line = MINIMAL.splitlines().index("  ttl_days: 7") + 1
    assert (first.level, first.file, first.line) == ("error", "bad.yaml", line)
    assert first.message.startswith("preview.ttl_days: ")
    assert second.file == "empty.yaml" and "empty file" in second.message
    assert result.as_dict()["problems"][0]["field"] == "preview.ttl_days"


def test_no_plans_folder_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no plans/ folder"):
        validate_plans([])
