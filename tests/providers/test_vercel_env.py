"""The Vercel client against the stateful fake: env vars in one batch, redeploys, rollback."""

from __future__ import annotations

import pytest

from bbops.core import redact
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import DeploymentProvider, EnvProvider, EnvVar, env_value_matches, fingerprint
from bbops.providers.vercel import VercelProject
from tests.fakes.plugin import CloudFakes

ENV = r"/v10/projects/[^/]+/env"


def url(n: int) -> str:
    return f"postgresql://neondb_owner:npg_{'s' * 10}{n}@ep-x-{n}.aws.neon.tech/neondb"


@pytest.fixture
def vercel(cloud_fakes: CloudFakes) -> VercelProject:
    client = VercelProject.from_env(cloud_fakes.env, transport=cloud_fakes.vercel.transport(), sleep=cloud_fakes.sleep)
    yield client
    client.close()


def preview_vars(branch: str, n: int = 1) -> list[EnvVar]:
    return [
        EnvVar("DATABASE_URL", url(n), "encrypted", ("preview",), branch),
        EnvVar("DATABASE_URL_UNPOOLED", url(n + 100), "encrypted", ("preview",), branch),
    ]


def test_implements_the_protocols(vercel):
    assert isinstance(vercel, EnvProvider) and isinstance(vercel, DeploymentProvider)


def test_upsert_is_one_batched_request_and_idempotent(vercel, cloud_fakes):
    saved = vercel.upsert_env(preview_vars("feat/a"))
    assert all(v.id for v in saved)
    assert cloud_fakes.vercel.count("POST", ENV) == 1
    sent = cloud_fakes.vercel.requests[-1]
    assert sent.params == {"upsert": "true", "teamId": cloud_fakes.vercel.team_id}
    assert isinstance(sent.body, list) and len(sent.body) == 2
    assert sent.body[0]["gitBranch"] == "feat/a" and sent.body[0]["target"] == ["preview"]
    vercel.upsert_env(preview_vars("feat/a", n=2))
    assert len(cloud_fakes.vercel.envs) == 2  # replaced, not added
    assert cloud_fakes.vercel.scoped("DATABASE_URL")[0]["value"] == url(2)
    assert cloud_fakes.vercel.scoped("DATABASE_URL")[0]["comment"] == fingerprint(url(2))


def test_list_filters_by_target_and_git_branch_and_never_reads_values(vercel, cloud_fakes):
    vercel.upsert_env(preview_vars("feat/a") + preview_vars("feat/b", n=3))
    cloud_fakes.vercel.add_env("SENTRY_DSN", "https://dsn.example/1", type="plain", target=["production"])
    listed = vercel.list_env(git_branch="feat/a")
    assert {(v.key, v.git_branch) for v in listed} == {("DATABASE_URL", "feat/a"), ("DATABASE_URL_UNPOOLED", "feat/a")}
    assert "decrypt" not in cloud_fakes.vercel.requests[-1].params
    # The listing's ciphertext is neither a value nor a secret; the fingerprint in the comment says what it holds.
    assert all(v.value is None for v in listed)
    by_key = {v.key: v for v in vercel.list_env(git_branch="feat/b")}
    assert by_key["DATABASE_URL"].fingerprint == fingerprint(url(3))
    ciphertext = cloud_fakes.vercel._shown(cloud_fakes.vercel.envs[by_key["DATABASE_URL"].id])["value"]
    assert redact.scrub(ciphertext) == ciphertext
    assert [v.key for v in vercel.list_env(target="production")] == ["SENTRY_DSN"]
    # Vercel never returns a sensitive value: it is None, and the fingerprint bbops wrote decides.
    vercel.upsert_env([EnvVar("TOKEN", url(9), "sensitive", ("production",))])
    (token,) = [v for v in vercel.list_env(target="production") if v.key == "TOKEN"]
    assert token.value is None and token.fingerprint == fingerprint(url(9))
    assert env_value_matches(token, url(9)) and not env_value_matches(token, url(8))


def test_values_are_read_by_id_decrypted_and_sensitive_ones_never(vercel, cloud_fakes):
    saved = vercel.upsert_env(preview_vars("feat/r", n=7))
    assert vercel.read_value(saved[0]) == url(7)
    assert cloud_fakes.vercel.requests[-1].path == f"/v1/projects/bb-prodx/env/{saved[0].id}"
    hidden = cloud_fakes.vercel.add_env("TOKEN", "t" * 20, type="sensitive", target=["production"])
    listed = next(v for v in vercel.list_env(target="production") if v.key == "TOKEN")
    assert listed.id == hidden["id"] and vercel.read_value(listed) is None


def test_a_201_with_failed_entries_is_an_error_naming_the_keys(vercel, cloud_fakes):
    cloud_fakes.vercel.fail_keys = {"DATABASE_URL_UNPOOLED": "value is too long"}
    with pytest.raises(ProviderError) as err:
        vercel.upsert_env(preview_vars("feat/c"))
    assert "DATABASE_URL_UNPOOLED" in str(err.value) and "value is too long" in str(err.value)
    assert err.value.status == 201
    # Re-running completes the rest without duplicating what did save.
    vercel.upsert_env(preview_vars("feat/c"))
    assert sorted(e["key"] for e in cloud_fakes.vercel.envs.values()) == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]


def test_a_dropped_upsert_is_repeated_safely_without_duplicates(vercel, cloud_fakes):
    cloud_fakes.vercel.fail("POST", ENV, kind="drop_after")
    cloud_fakes.vercel.fail("POST", ENV, status=429, headers={"X-RateLimit-Reset": "0"})
    vercel.upsert_env(preview_vars("feat/d"))
    assert cloud_fakes.vercel.count("POST", ENV) == 3
    assert len(cloud_fakes.vercel.envs) == 2


def test_delete_by_id_or_scope_and_already_gone_is_fine(vercel, cloud_fakes):
    saved = vercel.upsert_env(preview_vars("feat/e") + preview_vars("feat/f"))
    assert vercel.delete_env([saved[0]]) == 1
    assert vercel.delete_env([saved[0]]) == 0  # already gone
    by_scope = EnvVar("DATABASE_URL_UNPOOLED", "", "encrypted", ("preview",), "feat/e")
    assert vercel.delete_env([by_scope]) == 1
    assert {(e["key"], e["gitBranch"]) for e in cloud_fakes.vercel.envs.values()} == {
        ("DATABASE_URL", "feat/f"),
        ("DATABASE_URL_UNPOOLED", "feat/f"),
    }


def test_edit_changes_a_variable_in_place(vercel, cloud_fakes):
    saved = vercel.upsert_env([EnvVar("FLAG", "one", "plain", ("development",))])[0]
    vercel.edit_env(EnvVar("FLAG", "two", "plain", ("development", "preview"), id=saved.id))
    env = cloud_fakes.vercel.envs[saved.id]
    assert env["value"] == "two" and env["target"] == ["development", "preview"]


def test_values_become_secrets_and_errors_never_show_the_token(vercel, cloud_fakes):
    vercel.upsert_env(preview_vars("feat/g"))
    assert redact.scrub(url(1)) == "***"
    cloud_fakes.vercel.fail("GET", ENV, status=403)
    with pytest.raises(ProviderError) as err:
        vercel.list_env()
    assert cloud_fakes.vercel.token not in str(err.value) and err.value.hint


def test_redeploy_of_a_branch_preview_and_of_production(vercel, cloud_fakes):
    assert vercel.redeploy(target="preview", git_branch="feat/none") is None
    old = cloud_fakes.vercel.add_deployment(target=None, branch="feat/h")
    new_id = vercel.redeploy(target="preview", git_branch="feat/h")
    body = cloud_fakes.vercel.requests[-1].body
    assert body["deploymentId"] == old["uid"] and "target" not in body
    assert new_id and new_id != old["uid"]
    before = vercel.current_production()
    prod = vercel.redeploy(target="production")
    posted = [r for r in cloud_fakes.vercel.requests if r.method == "POST"]
    assert posted[-1].body["target"] == "production"
    # Production moves once the new build is READY; the redeploy waited for it.
    assert vercel.current_production() == prod != before


def test_rollback_points_production_back(vercel, cloud_fakes):
    first = vercel.current_production()
    vercel.redeploy(target="production")
    assert vercel.current_production() != first
    vercel.rollback(first)
    assert vercel.current_production() == first
    with pytest.raises(ProviderError, match="Deployment not found"):
        vercel.rollback("dpl_missing")


def test_missing_token_or_project_are_usage_errors():
    with pytest.raises(UsageError, match="VERCEL_TOKEN"):
        VercelProject.from_env({})
    with pytest.raises(UsageError, match="project"):
        VercelProject.from_env({"VERCEL_TOKEN": "t" * 10})


def test_a_lost_redeploy_reply_is_looked_up_not_repeated(vercel, cloud_fakes):
    cloud_fakes.vercel.add_deployment(target=None, branch="feat/i")
    cloud_fakes.vercel.fail("POST", "/v13/deployments", kind="drop_after")
    new_id = vercel.redeploy(target="preview", git_branch="feat/i")
    made = [d for d in cloud_fakes.vercel.deployments if d["meta"]["githubCommitRef"] == "feat/i"]
    assert len(made) == 2 and new_id == made[-1]["uid"]
    assert cloud_fakes.vercel.count("POST", "/v13/deployments") == 1
    # Refused before it was sent: one more attempt, still exactly one new deployment.
    cloud_fakes.sleep(3)  # the first redeploy is built
    cloud_fakes.vercel.fail("POST", "/v13/deployments", kind="timeout")
    vercel.redeploy(target="preview", git_branch="feat/i")
    assert len([d for d in cloud_fakes.vercel.deployments if d["meta"]["githubCommitRef"] == "feat/i"]) == 3
