"""The runner protocol: masks, outputs, env, summaries, annotations, groups, event payloads."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bbops.core import redact
from bbops.errors import BBopsError, UsageError
from bbops.github import runner as gha
from tests.fakes.github_fixtures import BASE_REPO, make_runner, pull_request_payload


@pytest.fixture
def runner(tmp_path, monkeypatch):
    for name in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", *gha.SECRET_ENV, *gha.SECRET_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    return make_runner(tmp_path, monkeypatch)


# -- event payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize"])
def test_pull_request_from_env_reads_open_events(runner, action):
    runner.event(pull_request_payload(action, number=7, head_ref="feat/x", head_sha="a" * 40))
    pr = gha.pull_request_from_env()
    assert pr is not None
    assert (pr.number, pr.action, pr.head_ref, pr.head_sha) == (7, action, "feat/x", "a" * 40)
    assert pr.repo == BASE_REPO and pr.base_ref == "main"
    assert not pr.fork and not pr.closing
    assert pr.annotations() == {"pr": "7", "git_branch": "feat/x", "commit": "a" * 40, "repo": BASE_REPO}


def test_closed_and_merged(runner):
    runner.event(pull_request_payload("closed", merged=True))
    pr = gha.pull_request_from_env()
    assert pr.closing and pr.merged


def test_fork_pull_request_is_detected(runner):
    runner.event(pull_request_payload("opened", head_repo="someone/bb-prodx"))
    pr = gha.pull_request_from_env()
    assert pr.fork and pr.head_repo == "someone/bb-prodx"


def test_deleted_fork_counts_as_fork(runner):
    runner.event(pull_request_payload("synchronize", head_repo=None))
    assert gha.pull_request_from_env().fork


def test_branch_inside_a_forked_base_is_not_a_fork_pr():
    # head.repo.fork is true here (the base repo is itself a fork), yet head and base are the same repo.
    payload = pull_request_payload("opened")
    payload["pull_request"]["head"]["repo"]["fork"] = True
    assert not gha.parse_pull_request(payload).fork


def test_not_a_pull_request_event(runner):
    runner.event({"ref": "refs/heads/main", "after": "b" * 40}, name="push")
    assert gha.pull_request_from_env() is None


def test_outside_actions_there_is_no_pull_request(monkeypatch):
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    assert gha.pull_request_from_env() is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"action": "opened"}), "no pull_request"),
        (json.dumps({"pull_request": {"number": "x"}}), "valid number"),
        (json.dumps({"pull_request": {"number": 3, "base": {"repo": {"full_name": "a/b"}}}}), "head.ref"),
    ],
)
def test_bad_payloads_are_usage_errors(runner, content, needle):
    path = runner.root / "bad.json"
    path.write_text(content)
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(path)}
    with pytest.raises(UsageError, match=needle):
        gha.pull_request_from_env(env)


def test_missing_payload_file(runner):
    env = {"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_EVENT_PATH": str(runner.root / "nope.json")}
    with pytest.raises(UsageError, match="does not exist"):
        gha.pull_request_from_env(env)


# -- outputs, env, summary ------------------------------------------------------------------


def test_set_output_single_and_multi_line(runner):
    assert gha.set_output("branch", "preview/pr-42")
    assert gha.set_output("plan", "line one\nline two\n\nfour")
    assert gha.set_output("changed", True)
    # a value that tries to close the block and inject another output stays one value
    sneaky = "x\nEOF\ninjected=1"
    gha.set_output("sneaky", sneaky)
    assert runner.outputs() == {
        "branch": "preview/pr-42",
        "plan": "line one\nline two\n\nfour",
        "changed": "true",
        "sneaky": sneaky,
    }


def test_set_output_refuses_secrets(runner):
    password = "npg_" + "p" * 16
    redact.register(password)
    with pytest.raises(BBopsError, match="contains a secret"):
        gha.set_output("url", f"postgresql://app:{password}@host/db")
    # even an unregistered URL password is refused: scrub() recognises it
    with pytest.raises(BBopsError, match="contains a secret"):
        gha.set_output("url", "postgresql://app:" + "q" * 12 + "@host/db")
    assert runner.output.read_text() == ""


def test_set_output_rejects_bad_names(runner):
    with pytest.raises(UsageError):
        gha.set_output("bad name", "x")


def test_writers_are_no_ops_outside_actions(monkeypatch):
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    assert gha.set_output("a", "b") is False
    assert gha.append_summary("# hi") is False
    assert gha.export_env("A", "value-1234") is False
    assert gha.error_annotation("f", 1, 1, "m") is False


def test_export_env_masks_before_writing(runner, capsys):
    url = "postgresql://app:" + "s" * 20 + "@ep-1.neon.test/neondb"
    assert gha.export_env("DATABASE_URL", url)
    err = capsys.readouterr().err
    assert f"::add-mask::{url}" in err
    assert runner.exported() == {"DATABASE_URL": url}
    assert redact.scrub(url) == "***"  # registered: bbops will never print it either


def test_export_env_refuses_reserved_names(runner):
    for name in ("GITHUB_TOKEN", "NODE_OPTIONS", "1BAD", "A-B"):
        with pytest.raises(UsageError):
            gha.export_env(name, "value")


def test_summary_is_appended_and_scrubbed(runner):
    token = "ghp_" + "t" * 36
    redact.register(token)
    gha.append_summary("## Preview\n")
    gha.append_summary(f"token {token}")
    text = runner.summary.read_text()
    assert text == "## Preview\ntoken ***\n"


# -- workflow commands ----------------------------------------------------------------------


def test_error_annotation_escapes_properties_and_data(runner, capsys):
    assert gha.error_annotation("plans/a,b.yaml", 3, 5, "bad value: 50%\nsecond line", title="x:y")
    err = capsys.readouterr().err
    assert err == "::error file=plans/a%2Cb.yaml,line=3,col=5,title=x%3Ay::bad value: 50%25%0Asecond line\n"


def test_annotation_scrubs_secrets(runner, capsys):
    redact.register("napi_" + "k" * 20)
    gha.annotate("warning", "key napi_" + "k" * 20 + " rejected")
    assert capsys.readouterr().err == "::warning::key *** rejected\n"


def test_group_closes_on_error(runner, capsys):
    with pytest.raises(RuntimeError):
        with gha.group("Migrations"):
            raise RuntimeError("boom")
    assert capsys.readouterr().err == "::group::Migrations\n::endgroup::\n"


def test_group_outside_actions_prints_nothing(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    with gha.group("x"):
        pass
    assert capsys.readouterr() == ("", "")


def test_multiline_mask_is_masked_per_line(runner, capsys):
    gha.add_mask("-----BEGIN KEY-----\nabc%def\n")
    assert capsys.readouterr().err == "::add-mask::-----BEGIN KEY-----\n::add-mask::abc%25def\n"


# -- install ----------------------------------------------------------------------------------


def test_install_masks_known_and_future_secrets_once(runner, capsys, monkeypatch):
    token = "napi_" + "a" * 24
    monkeypatch.setenv("NEON_API_KEY", token)
    gha.install()
    gha.install()  # a second CLI invocation in the same process
    redact.register("npg_" + "b" * 16)
    err = capsys.readouterr().err
    assert err.count(f"::add-mask::{token}") == 1
    assert err.count("::add-mask::npg_" + "b" * 16) == 1


def test_install_survives_secrets_clear_between_invocations(runner, capsys):
    gha.install()
    redact.clear()  # what the autouse fixture does between tests
    gha.install()
    redact.register("npg_" + "c" * 16)
    assert capsys.readouterr().err.count("::add-mask::npg_" + "c" * 16) == 1


def test_install_outside_actions_adds_no_listener(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    gha.install()
    redact.register("npg_" + "d" * 16)
    assert "add-mask" not in capsys.readouterr().err


def test_cli_masks_env_secrets_before_any_output(runner, monkeypatch, tmp_path):
    from bbops.cli import main

    token = "ghp_" + "z" * 36
    monkeypatch.setenv("GITHUB_TOKEN", token)
    plan_md = tmp_path / "plan.md"
    plan_md.write_text(f"leaked {token}\n")
    args = ["comment", "plan", "--pr", "3", "--repo", "o/r", "--plan-output", str(plan_md), "--dry-run"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[0] == f"::add-mask::{token}"
    assert first.stderr.count(f"::add-mask::{token}") == 1
    assert token not in first.stdout and "leaked ***" in first.stdout
    # A second invocation in the same process: the runner knows the mask already, none is repeated.
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0 and "add-mask" not in second.stderr
    assert token not in second.stdout and "leaked ***" in second.stdout
