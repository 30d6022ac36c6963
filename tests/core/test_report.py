"""bbops.core.report: one reporter per format, every one scrubbed of secrets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bbops.core import redact, report
from bbops.core.report import TextOut

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
