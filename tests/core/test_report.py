"""bbops.core.report: one reporter per format, every one scrubbed of secrets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from bbops.core import redact, report
from bbops.core.report import Annotation, LinesText, TextOut
from tests.fakes.github_fixtures import make_runner

SECRET = "hunter2-" + "x" * 12


@dataclass
class Result:
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": f"postgresql://app:{SECRET}@db/app"}

    def write_text(self, out: TextOut) -> None:
        out.line(f"result {self.name} at postgresql://app:{SECRET}@db/app")
        out.table(["k", "v"], [["a", 1], ["b", None]])

    def markdown(self) -> str:
        return f"### {self.name}\n\n`{SECRET}`"


def test_each_format_goes_through_its_reporter_and_no_secret_gets_out(capsys):
    redact.register(SECRET)
    for fmt in ("text", "json", "markdown"):
        report.emit_rich(Result("r1"), fmt)
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "result r1 at" in out and "### r1" in out
    first_json = out[out.index("{") : out.index("}") + 1]
    assert json.loads(first_json)["name"] == "r1"


def test_text_without_a_terminal_is_lines_and_tab_separated_rows():
    assert report.as_text(Result("r2")).splitlines()[1:] == ["k\tv", "a\t1", "b\t"]


def test_plain_reports_take_text_and_json(capsys):
    report.emit(Result("r3"), "json")
    assert json.loads(capsys.readouterr().out)["name"] == "r3"
    report.emit(Result("r3"), "text")
    assert capsys.readouterr().out.startswith("result r3")


@dataclass(frozen=True)
class Found:
    """A report with one finding in every form."""

    def as_dict(self) -> dict[str, Any]:
        return {"findings": 1}

    def write_text(self, out: TextOut) -> None:
        out.table(["file", "line"], [("a.sql", 3)], title="findings")
        out.line("1 finding")

    def markdown(self) -> str:
        return "| file | line |\n| --- | --- |\n| a.sql | 3 |"

    def annotations(self) -> list[Annotation]:
        return [Annotation("error", "bad: 50%\nfix it", file="a,b.sql", line=3, col=1, title="rule")]

    def summary(self) -> str:
        return "1 finding"

    def job_summary(self) -> str:
        return "### Found\n\n" + self.markdown()


def test_lines_text_puts_a_table_title_above_its_header():
    out = LinesText()
    Found().write_text(out)
    assert out.lines == ["findings", "file\tline", "a.sql\t3", "1 finding"]
    assert report.as_text(Found()) == "findings\nfile\tline\na.sql\t3\n1 finding"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_each_format_has_its_reporter(fmt: str, capsys: pytest.CaptureFixture[str]):
    report.emit_annotated(Found(), fmt)
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out) == {"findings": 1}
    elif fmt == "markdown":
        assert out == Found().markdown() + "\n"
    else:
        assert "findings" in out and "a.sql" in out and out.endswith("1 finding\n")


def test_github_prints_annotations_then_the_summary_and_fills_the_job_summary(
    tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]
):
    runner = make_runner(tmp_path, monkeypatch)
    report.emit_annotated(Found(), "github")
    out = capsys.readouterr().out
    assert out == "::error file=a%2Cb.sql,line=3,col=1,title=rule::bad: 50%25%0Afix it\n1 finding\n"
    assert runner.summary.read_text() == Found().job_summary() + "\n"


def test_annotate_writes_workflow_commands_to_stderr_only_inside_actions(
    tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    report.annotate(Found())
    assert capsys.readouterr().err == ""
    make_runner(tmp_path, monkeypatch)
    report.annotate(Found())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == Found().annotations()[0].command() + "\n"


def test_bytes_for_people_up_to_the_largest_unit_asked_for():
    assert [report.human_bytes(n) for n in (512, 1536, 3 * 1024**2, 2 * 1024**4)] == [
        "512 B",
        "1.5 kB",
        "3.0 MB",
        "2.0 TB",
    ]
    assert report.human_bytes(2 * 1024**4, largest="GB") == "2048.0 GB"
