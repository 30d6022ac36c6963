"""The preview lifecycle on the embedded local backend, against a real Postgres."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from bbops import preview
from bbops.cli import main
from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.providers.base import EnvVar
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

ROOT = REPO_ROOT
PLAN = ROOT / "plans" / "bb-prodx.yaml"


@pytest.fixture
def plan():
    return load_plan(PLAN)


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    yield be
    be.close()


def rows(backend, plan, branch: str, query: str) -> list[tuple]:
    url = backend.branches.connection(branch, database=plan.neon.database, role=plan.neon.role, pooled=False).url
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_create_migrates_seeds_scrubs_and_hands_out_env(backend, plan):
    report = preview.create(backend, plan, preview.PullRequest(7, "feature/login", "abc123", "acme/app"))
    assert report.created and report.branch == "preview/pr-7" and report.parent == "development"
    assert set(report.env) == {"DATABASE_URL", "DATABASE_URL_UNPOOLED"}
    branch = backend.branches.get_branch("preview/pr-7")
    assert branch.annotations["pr"] == "7" and branch.annotations["git_branch"] == "feature/login"
    assert timedelta(days=6.9) < branch.expires_at - datetime.now(UTC) <= timedelta(days=7)
    # The app's tables are there, with the seed data, and drizzle-kit's history says all applied.
    tags = rows(backend, plan, "preview/pr-7", "select count(*) from drizzle.__drizzle_migrations")
    journal = json.loads((plan.base_dir / "bb-prodx" / "drizzle" / "meta" / "_journal.json").read_text())
    assert tags[0][0] == len(journal["entries"]) == 4
    assert rows(backend, plan, "preview/pr-7", "select count(*) from products")[0][0] > 0
    # Env vars scoped to the git branch, pointing at the preview's own database.
    env = backend.env.list_env(target="preview", git_branch="feature/login")
    assert {v.key for v in env} == {"DATABASE_URL", "DATABASE_URL_UNPOOLED"}
    db = backend.branches.connection("preview/pr-7", database="neondb", role="neondb_owner").database
    assert all(db in v.value and v.git_branch == "feature/login" for v in env)
    assert backend.env.list_env(target="preview", git_branch="other") == []


def test_no_original_personal_data_survives_in_a_preview(backend, plan):
    preview.ensure_long_lived(backend, plan)
    originals = rows(backend, plan, "development", "select email, name, phone from users")
    tokens = rows(backend, plan, "development", "select access_token from accounts where access_token is not null")
    assert originals and tokens
    preview.create(backend, plan, preview.PullRequest(8, "f/scrub"))
    scrubbed = rows(backend, plan, "preview/pr-8", "select email, name, phone from users")
    assert len(scrubbed) == len(originals)
    leaked = {v for row in originals for v in row if v} & {v for row in scrubbed for v in row if v}
    assert not leaked, leaked
    assert all(email.endswith("@example.invalid") for email, _, _ in scrubbed)
    assert (
        rows(backend, plan, "preview/pr-8", "select count(*) from accounts where access_token is not null")[0][0] == 0
    )
    # Deterministic: the same original gives the same fake in another preview.
    preview.create(backend, plan, preview.PullRequest(9, "f/scrub2"))
    again = rows(backend, plan, "preview/pr-9", "select email, name, phone from users")
    assert sorted(again) == sorted(scrubbed)
    # The parent still has its data.
    assert rows(backend, plan, "development", "select email, name, phone from users") == originals


def test_recreate_reuses_the_branch_and_refreshes_expiry(backend, plan):
    first_time = datetime.now(UTC) - timedelta(days=3)
    preview.create(backend, plan, preview.PullRequest(11, "f/a"), now=first_time)
    url = backend.branches.connection("preview/pr-11", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into categories (name, slug) values ('Kept', 'kept-by-refresh')")
    again = preview.create(backend, plan, preview.PullRequest(11, "f/a"))
    assert not again.created and again.migrations == [] and again.seeds == []
    branch = backend.branches.get_branch("preview/pr-11")
    assert branch.expires_at - datetime.now(UTC) > timedelta(days=6.9)
    assert (
        rows(backend, plan, "preview/pr-11", "select count(*) from categories where slug = 'kept-by-refresh'")[0][0]
        == 1
    )
    assert [b.name for b in preview.list_previews(backend, plan)] == ["preview/pr-11"]


def test_new_migrations_in_the_pr_are_applied_to_its_preview(backend, plan, tmp_path):
    import shutil

    preview.ensure_long_lived(backend, plan)  # main and development as they are on the base branch
    folder = tmp_path / "drizzle"
    shutil.copytree(plan.preview.migrations, folder)
    journal = json.loads((folder / "meta/_journal.json").read_text())
    last = journal["entries"][-1]
    journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 1000, "tag": "0003_pr_column"})
    (folder / "meta/_journal.json").write_text(json.dumps(journal))
    (folder / "0003_pr_column.sql").write_text('ALTER TABLE "products" ADD COLUMN "badge" text;')
    from dataclasses import replace

    pr_plan = replace(plan, preview=replace(plan.preview, migrations=folder))
    report = preview.create(backend, pr_plan, preview.PullRequest(12, "f/badge"))
    assert report.migrations == ["0003_pr_column"]
    assert (
        rows(
            backend,
            plan,
            "preview/pr-12",
            "select count(*) from information_schema.columns where column_name = 'badge'",
        )[0][0]
        == 1
    )
    assert (
        rows(
            backend, plan, "development", "select count(*) from information_schema.columns where column_name = 'badge'"
        )[0][0]
        == 0
    )


def test_reset_goes_back_to_the_parent_and_prepares_again(backend, plan):
    preview.create(backend, plan, preview.PullRequest(13, "f/r"))
    url = backend.branches.connection("preview/pr-13", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from review_votes; delete from reviews")
    report = preview.reset(backend, plan, 13)
    assert rows(backend, plan, "preview/pr-13", "select count(*) from reviews")[0][0] > 0
    assert report.scrubbed, "a reset preview is scrubbed again"
    assert all(
        e.endswith("@example.invalid") for (e,) in rows(backend, plan, "preview/pr-13", "select email from users")
    )
    with pytest.raises(UsageError):
        preview.reset(backend, plan, 999)


def test_delete_removes_branch_and_env_and_is_idempotent(backend, plan):
    preview.create(backend, plan, preview.PullRequest(14, "f/d"))
    preview.create(backend, plan, preview.PullRequest(15, "f/keep"))
    report = preview.delete(backend, plan, 14)
    assert report.branch_deleted and report.env_deleted == 2
    assert backend.branches.get_branch("preview/pr-14") is None
    assert backend.env.list_env(git_branch="f/d") == []
    assert len(backend.env.list_env(git_branch="f/keep")) == 2
    again = preview.delete(backend, plan, 14, git_branch="f/d")
    assert not again.branch_deleted and again.env_deleted == 0


def test_gc_removes_expired_and_orphans_on_both_sides(backend, plan):
    now = datetime.now(UTC)
    preview.create(backend, plan, preview.PullRequest(21, "f/old"), now=now - timedelta(days=8))
    preview.create(backend, plan, preview.PullRequest(22, "f/alive"))
    preview.create(backend, plan, preview.PullRequest(23, "f/lost-env"))
    backend.env.delete_env(backend.env.list_env(git_branch="f/lost-env"))
    # Env vars whose branch is gone, and an unrelated variable gc must not touch.
    backend.env.upsert_env(
        [
            EnvVar("DATABASE_URL", "postgresql://x@h/db", "encrypted", ("preview",), "f/branch-gone"),
            EnvVar("FEATURE_FLAG", "on", "plain", ("preview",), "f/branch-gone"),
        ]
    )
    later = now + preview.ORPHAN_GRACE + timedelta(minutes=1)
    dry = preview.gc(backend, plan, dry_run=True, now=later)
    assert dry.expired == ["preview/pr-21"] and dry.orphan_branches == ["preview/pr-23"]
    assert dry.orphan_env == ["f/branch-gone: DATABASE_URL"]
    assert backend.branches.get_branch("preview/pr-21") is not None, "dry run deletes nothing"
    report = preview.gc(backend, plan, now=later)
    assert report == preview.GcReport(["preview/pr-21"], ["preview/pr-23"], ["f/branch-gone: DATABASE_URL"])
    assert [b.name for b in preview.list_previews(backend, plan)] == ["preview/pr-22"]
    assert {v.key for v in backend.env.list_env(git_branch="f/branch-gone")} == {"FEATURE_FLAG"}
    assert backend.env.list_env(git_branch="f/old") == []


def test_fresh_branch_without_env_is_not_an_orphan_yet(backend, plan):
    preview.create(backend, plan, preview.PullRequest(24, "f/new"))
    backend.env.delete_env(backend.env.list_env(git_branch="f/new"))
    assert preview.gc(backend, plan).orphan_branches == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pr", "0"], "invalid pull request number"),
        (["--pr", "-3"], "invalid pull request number"),
        (["--pr", "99999999999"], "invalid pull request number"),
        (["--pr", "5", "--git-branch", "bad..name"], "invalid git branch name"),
        (["--pr", "5", "--git-branch", "has space"], "invalid git branch name"),
        (["--pr", "5", "--parent", "nope"], "is not a branch of the plan"),
        ([], "pass --pr"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(local_env, args, message):
    result = CliRunner().invoke(main, ["preview", "create", "--plan", str(PLAN), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_cli_lifecycle_json_and_no_password_in_output(local_env, monkeypatch):
    runner = CliRunner()
    created = runner.invoke(
        main, ["preview", "create", "--plan", str(PLAN), "--pr", "31", "--git-branch", "f/cli", "--format", "json"]
    )
    assert created.exit_code == 0, created.output
    doc = json.loads(created.stdout)  # progress lines go to stderr
    assert doc["branch"] == "preview/pr-31" and doc["created"] is True
    listed = json.loads(runner.invoke(main, ["preview", "list", "--plan", str(PLAN), "--format", "json"]).output)
    assert [p["pr"] for p in listed] == [31]
    text = runner.invoke(main, ["preview", "list", "--plan", str(PLAN)])
    assert "preview/pr-31" in text.output and "f/cli" in text.output
    deleted = runner.invoke(main, ["preview", "delete", "--plan", str(PLAN), "--pr", "31"])
    assert deleted.exit_code == 0 and "branch deleted; 2 env var(s) deleted" in deleted.output
    assert runner.invoke(main, ["preview", "delete", "--plan", str(PLAN), "--pr", "31"]).exit_code == 0
    for result in (created, deleted):
        assert "password=" not in result.output and "postgresql://" not in result.output


def test_two_creates_for_one_pr_at_once_end_with_one_branch(local_env, plan):
    boot = open_local_backend()
    preview.ensure_long_lived(boot, plan)
    boot.close()
    results, errors = [], []

    def run():
        be = open_local_backend()
        try:
            results.append(preview.create(be, plan, preview.PullRequest(41, "f/race")))
        except Exception as exc:
            errors.append(exc)
        finally:
            be.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    assert sorted(r.created for r in results) == [False, True]
    be = open_local_backend()
    try:
        assert [b.name for b in preview.list_previews(be, plan)] == ["preview/pr-41"]
        assert len(be.env.list_env(git_branch="f/race")) == 2
    finally:
        be.close()


def test_delete_during_create_leaves_nothing_behind(local_env, plan):
    boot = open_local_backend()
    preview.ensure_long_lived(boot, plan)
    boot.close()
    started = threading.Event()
    errors = []

    def create():
        be = open_local_backend()
        try:
            preview.create(be, plan, preview.PullRequest(42, "f/gone"), log=lambda line: started.set())
        except Exception as exc:
            errors.append(exc)
        finally:
            be.close()

    t = threading.Thread(target=create)
    t.start()
    started.wait(30)
    be = open_local_backend()
    try:
        preview.delete(be, plan, 42, git_branch="f/gone")  # waits for the create's lock, then deletes
        t.join()
        assert not errors, errors
        assert be.branches.get_branch("preview/pr-42") is None
        assert be.env.list_env(git_branch="f/gone") == []
    finally:
        be.close()


def test_a_redeploy_that_failed_after_the_env_upsert_is_retried(backend, plan, monkeypatch):
    from bbops.errors import ProviderError

    preview.ensure_long_lived(backend, plan)
    calls = []
    real = backend.deployments.deploy_preview

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ProviderError("deployment service unavailable", method="POST", path="/v13/deployments", status=503)
        return real(**kwargs)

    monkeypatch.setattr(backend.deployments, "deploy_preview", flaky)
    with pytest.raises(ProviderError):
        preview.create(backend, plan, preview.PullRequest(51, "f/redeploy", "a" * 40))
    assert len(backend.env.list_env(git_branch="f/redeploy")) == 2  # the env vars did land
    again = preview.create(backend, plan, preview.PullRequest(51, "f/redeploy", "a" * 40))
    assert len(calls) == 2 and again.deployment is not None and again.env_changed == []  # env unchanged, redeployed
    third = preview.create(backend, plan, preview.PullRequest(51, "f/redeploy", "a" * 40))
    assert len(calls) == 2 and third.deployment == again.deployment  # nothing new: nothing done
    pushed = preview.create(backend, plan, preview.PullRequest(51, "f/redeploy", "b" * 40))
    assert len(calls) == 3 and pushed.deployment != again.deployment  # a new head commit gets its deployment


def test_preview_template_never_takes_over_a_long_lived_or_foreign_branch(backend, plan):
    """A plan whose template gives PR #2 the name of its long-lived `release-2` (the model is built past
    validation, as an old plan or a PR's plan could be): create, reset and delete refuse it, gc and list skip it."""
    from dataclasses import replace

    from bbops.plan.model import BranchSpec

    hostile = replace(
        plan,
        neon=replace(plan.neon, branches=(*plan.neon.branches, BranchSpec("release-2", parent="main"))),
        preview=replace(plan.preview, branch_name="release-{pr}"),
    )
    preview.ensure_long_lived(backend, hostile)
    backend.branches.create_branch("release-3", parent="main", protected=True)
    backend.branches.create_branch("release-4", parent="development", annotations={"pr": "9", "git_branch": "f/x"})
    marker = "kept-by-guard"
    for name in ("release-2", "release-3", "release-4"):
        url = backend.branches.connection(name, database="neondb", role="neondb_owner", pooled=False).url
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("insert into categories (name, slug) values ('Kept', %s)", (marker,))
    before = {b.name: b for b in backend.branches.list_branches()}
    for number, why in ((2, "long-lived"), (3, "protected"), (4, "belongs to PR #9")):
        for action in (
            lambda n=number: preview.create(backend, hostile, preview.PullRequest(n, "f/takeover")),
            lambda n=number: preview.reset(backend, hostile, n),
            lambda n=number: preview.delete(backend, hostile, n, git_branch="f/takeover"),
        ):
            with pytest.raises(UsageError, match=why):
                action()
    assert preview.list_previews(backend, hostile) == []
    far = datetime.now(UTC) + timedelta(days=365)
    assert preview.gc(backend, hostile, now=far) == preview.GcReport()
    after = {b.name: b for b in backend.branches.list_branches()}
    for name in ("release-2", "release-3", "release-4"):
        assert after[name].expires_at == before[name].expires_at is None
        assert after[name].annotations == before[name].annotations
        count = rows(backend, hostile, name, f"select count(*) from categories where slug = '{marker}'")
        assert count[0][0] == 1, f"{name} was reset or scrubbed"


def _hand_made_env(backend, key: str, value: str, git_branch: str) -> None:
    """A variable made outside bbops (on Vercel: in the dashboard), without bbops' fingerprint comment."""
    path = backend.env.path
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {"version": 1, "variables": []}
    data["variables"].append(
        {
            "id": "env_by_hand",
            "key": key,
            "value": value,
            "type": "encrypted",
            "targets": ["preview"],
            "git_branch": git_branch,
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        }
    )
    path.write_text(json.dumps(data))


def test_gc_deletes_only_env_vars_carrying_bbops_marker(backend, plan):
    preview.ensure_long_lived(backend, plan)
    _hand_made_env(backend, "DATABASE_URL", "postgresql://staging@db.example/app", "staging")
    backend.env.upsert_env([EnvVar("DATABASE_URL", "postgresql://x@h/db", "encrypted", ("preview",), "f/gone")])
    later = datetime.now(UTC) + preview.ORPHAN_GRACE + timedelta(minutes=1)
    report = preview.gc(backend, plan, now=later)
    assert report.orphan_env == ["f/gone: DATABASE_URL"]
    assert [v.value for v in backend.env.list_env(git_branch="staging")] == ["postgresql://staging@db.example/app"]
    assert backend.env.list_env(git_branch="f/gone") == []


def test_gc_rechecks_under_the_lock_and_never_deletes_what_a_running_create_made(local_env, plan):
    """gc lists previews, then env vars: a create finishing in between made its branch after the first
    listing and its env vars before the second. The decision is taken again under the lock create holds."""
    boot = open_local_backend()
    preview.ensure_long_lived(boot, plan)
    boot.close()
    be = open_local_backend()
    try:
        real_list = be.branches.list_branches
        calls = {"n": 0}

        def list_then_create():
            seen = real_list()
            calls["n"] += 1
            if calls["n"] == 1:  # gc's first listing is done: another job's create runs to the end now
                other = open_local_backend()
                try:
                    preview.create(other, plan, preview.PullRequest(61, "f/racing"))
                finally:
                    other.close()
            return seen

        be.branches.list_branches = list_then_create
        report = preview.gc(be, plan)
        assert report.orphan_env == []
        assert {v.key for v in be.env.list_env(git_branch="f/racing")} == {"DATABASE_URL", "DATABASE_URL_UNPOOLED"}
    finally:
        be.close()


def test_two_open_prs_from_one_git_branch_keep_the_env_vars(backend, plan):
    first = preview.create(backend, plan, preview.PullRequest(71, "f/shared"))
    second = preview.create(backend, plan, preview.PullRequest(72, "f/shared"))
    db_of = {
        n: backend.branches.connection(f"preview/pr-{n}", database="neondb", role="neondb_owner").database
        for n in (71, 72)
    }
    report = preview.delete(backend, plan, 72)
    env = backend.env.list_env(git_branch="f/shared")
    assert {v.key for v in env} == {"DATABASE_URL", "DATABASE_URL_UNPOOLED"}, "PR 71's preview lost its env vars"
    # The variables now point at the preview that is still open, not at the deleted one.
    assert all(db_of[71] in v.value and db_of[72] not in v.value for v in env)
    assert report.branch_deleted and report.env_deleted == 0 and report.env_kept_for == [71]
    assert first.git_branch_shared_with == [] and second.git_branch_shared_with == [71]
    last = preview.delete(backend, plan, 71)
    assert last.env_deleted == 2 and last.env_kept_for == []
    assert backend.env.list_env(git_branch="f/shared") == []


def test_plain_and_short_env_values_are_never_masked_in_actions(local_env, tmp_path, monkeypatch):
    """A preview env with `FEATURE_ON: "true"` (plain) and a short encrypted `MODE: demo`: in Actions,
    create once registered them as secrets, printed ::add-mask::true and refused its `created` output."""
    import shutil

    from tests.fakes.github_fixtures import make_runner

    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", folder)
    path = folder / "bb-prodx.yaml"
    text = path.read_text()
    needle = "    preview:\n      env:\n"
    assert needle in text
    path.write_text(
        text.replace(
            needle,
            needle + "        FEATURE_ON: {value: 'true', type: plain}\n        MODE: {value: demo, type: encrypted}\n",
        )
    )
    runner = make_runner(tmp_path, monkeypatch)
    result = CliRunner().invoke(
        main, ["preview", "create", "--plan", str(path), "--pr", "81", "--git-branch", "f/flags"]
    )
    assert result.exit_code == 0, result.output
    assert "::add-mask::true" not in result.output and "::add-mask::demo" not in result.output
    assert runner.outputs()["created"] == "true" and runner.outputs()["branch"] == "preview/pr-81"
    env = {v.key: v.value for v in open_local_backend().env.list_env(git_branch="f/flags")}
    assert env["FEATURE_ON"] == "true" and env["MODE"] == "demo"
    # The connection strings are still masked.
    masks = [line for line in result.output.splitlines() if line.startswith("::add-mask::")]
    assert any("postgresql://" in line for line in masks)
    assert not any("postgresql://" in line for line in result.output.splitlines() if line not in masks)
