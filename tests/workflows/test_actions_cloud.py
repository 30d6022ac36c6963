"""preview.yml's steps on the fake cloud (Neon branches backed by real databases, Vercel, GitHub).

The commands the composite actions run, in the order the workflow runs them,
with a runner-shaped environment: a real pull_request payload, the runner's
files, the Neon and Vercel tokens in env. Checks outputs, the env hand-over,
masks, the job summary, the PR comment, and that no token leaks anywhere.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.core.http import Transports
from tests.fakes.github import API, FakeGitHub
from tests.fakes.github_fixtures import BASE_REPO, make_runner, pull_request_payload
from tests.fakes.plugin import CloudFakes

GH_TOKEN = "ghs_" + "k" * 36


@pytest.fixture
def runner(tmp_path, monkeypatch, cloud_fakes_pg: CloudFakes):
    r = make_runner(tmp_path, monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", API)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return r


@pytest.fixture
def github():
    return FakeGitHub(token=GH_TOKEN)


def step(wired: Transports, *args: str):
    result = CliRunner().invoke(main, list(args), obj=wired)
    assert result.exit_code == 0, result.output
    return result


def test_preview_yml_on_the_cloud_backend(runner, github, cloud_fakes_pg: CloudFakes, tmp_path):
    neon, vercel = cloud_fakes_pg.neon, cloud_fakes_pg.vercel
    wired = dataclasses.replace(cloud_fakes_pg.transports, github=github.transport())
    runner.event(pull_request_payload("opened", number=12, head_ref="feature/cloud"))

    created = step(wired, "preview", "create", "--backend", "cloud", "--format", "json", "--export-env", "DATABASE_URL")
    # The runner masks every token before bbops prints anything else.
    first_lines = created.stderr.splitlines()[:4]
    for token in [*cloud_fakes_pg.tokens, GH_TOKEN]:
        assert f"::add-mask::{token}" in first_lines
    report_path = tmp_path / "preview.json"
    report_path.write_text(created.stdout)
    report = json.loads(created.stdout)
    assert report["branch"] == "preview/pr-12" and report["git_branch"] == "feature/cloud"
    outputs = runner.outputs()
    assert outputs["branch"] == "preview/pr-12" and outputs["created"] == "true"
    url = runner.exported()["DATABASE_URL"]
    assert url.startswith("postgresql://") and f"::add-mask::{url}" in created.stderr
    assert len(neon.named("preview/pr-12")) == 1
    annotations = neon.named("preview/pr-12")[0].get("annotation_value") or {}
    scoped = sorted(e["key"] for e in vercel.envs.values() if e.get("gitBranch") == "feature/cloud")
    assert scoped == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]

    step(wired, "comment", "preview", "--backend", "cloud", "--report", str(report_path))
    (comment,) = github.on(BASE_REPO, 12)
    body = comment["body"]
    assert "| Branch | `preview/pr-12` |" in body and "| Parent | `development` |" in body
    assert "Schema against the parent" in body and "_not computed" not in body
    assert runner.outputs()["comment-id"] == str(comment["id"])

    runner.event(pull_request_payload("closed", number=12, head_ref="feature/cloud"))
    step(wired, "preview", "delete", "--backend", "cloud")
    step(wired, "comment", "preview", "--backend", "cloud")
    (comment,) = github.on(BASE_REPO, 12)
    assert "deleted" in comment["body"]
    assert not neon.named("preview/pr-12")
    assert not [e for e in vercel.envs.values() if e.get("gitBranch") == "feature/cloud"]

    # ::add-mask:: lines are the runner's to read (it never shows them); everything else must be clean.
    printed = "\n".join(line for line in created.output.splitlines() if not line.startswith("::add-mask::"))
    written = (
        printed
        + runner.output.read_text()
        + runner.summary.read_text()
        + json.dumps(github.comments)
        + report_path.read_text()
        + json.dumps(annotations)
    )
    for token in [*cloud_fakes_pg.tokens, GH_TOKEN]:
        assert token not in written
