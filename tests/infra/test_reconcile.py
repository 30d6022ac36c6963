"""The pure diff: desired vs observed, in memory, no provider involved."""

from __future__ import annotations

from dataclasses import replace

from bbops.infra.diff import (
    MASK,
    Desired,
    DesiredBranch,
    DesiredEnv,
    Observed,
    ObservedEnv,
    Replicas,
    diff,
)
from bbops.providers.base import Branch, Endpoint, ProjectSettings, fingerprint

MAIN_URL = "postgresql://owner:npg_" + "m" * 12 + "@ep-main-1.aws.neon.tech/neondb"

DESIRED = Desired(
    settings={
        "name": "bb",
        "region": "aws-eu-central-1",
        "pg_version": 17,
        "autoscaling_max_cu": 4.0,
        "allowed_ips": ("10.0.0.0/8", "1.2.3.4"),
    },
    branches=(
        DesiredBranch("main", None, True, True, Replicas(1, 0.25, 2.0)),
        DesiredBranch("development", "main", False, False, Replicas(0)),
    ),
    env=(
        DesiredEnv("production", "DATABASE_URL", "sensitive", branch="main", pooled=True),
        DesiredEnv("production", "FEATURE", "plain", value="on"),
    ),
)


def observed(**kw) -> Observed:
    base = Observed(
        settings=ProjectSettings(
            name="bb",
            region="aws-eu-central-1",
            pg_version=17,
            autoscaling_max_cu=4,
            allowed_ips=("1.2.3.4", "10.0.0.0/8"),
        ),
        branches={
            "main": Branch("main", "br-1", protected=True, default=True),
            "development": Branch("development", "br-2", parent="main"),
        },
        endpoints=(
            Endpoint("ep-1", "main", "read_write", None, 4.0),
            Endpoint("ep-2", "main", "read_only", 0.25, 2.0),
        ),
        env=(
            ObservedEnv("production", "DATABASE_URL", "sensitive", "env_1", None, fingerprint(MAIN_URL)),
            ObservedEnv("production", "FEATURE", "plain", "env_2", "on"),
        ),
        connections={("main", True, False): MAIN_URL},
    )
    return replace(base, **kw)


def pending(actions):
    return {a.address: a for a in actions if a.pending}


def test_matching_state_is_all_no_ops():
    actions = diff(DESIRED, observed())
    assert not pending(actions)
    assert {a.address for a in actions} == {
        "neon.project",
        "neon.branch.main",
        "neon.branch.development",
        "neon.branch.main.read_replica[0]",
        "neon.branch.main.compute",
        "vercel.env.production.DATABASE_URL",
        "vercel.env.production.FEATURE",
    }


def test_an_existing_compute_that_kept_old_settings_is_updated():
    # Neon's project defaults reach only computes created later: each existing one is compared.
    seen = observed(
        endpoints=(
            Endpoint("ep-1", "main", "read_write", 0.25, 1.0, 0),
            Endpoint("ep-3", "development", "read_write", 0.25, 4.0),
            Endpoint("ep-2", "main", "read_only", 0.25, 2.0),
        )
    )
    found = pending(diff(DESIRED, seen))
    action = found["neon.branch.main.compute"]
    assert [(c.field, c.before, c.after) for c in action.changes] == [("autoscaling_max_cu", 1.0, 4.0)]
    assert action.data == {"id": "ep-1", "fields": {"autoscaling_max_cu": 4.0}}
    assert "neon.branch.development.compute" not in found  # already right


def test_settings_changes_are_field_level_and_immutable_ones_are_blocked():
    seen = observed(
        settings=ProjectSettings(
            name="old", region="aws-us-east-2", pg_version=17, autoscaling_max_cu=1, allowed_ips=("1.2.3.4",)
        )
    )
    action = pending(diff(DESIRED, seen))["neon.project"]
    assert {(c.field, str(c.before), str(c.after)) for c in action.changes} == {
        ("name", "old", "bb"),
        ("region", "aws-us-east-2", "aws-eu-central-1"),
        ("autoscaling_max_cu", "1", "4.0"),
        ("allowed_ips", "['1.2.3.4']", "['10.0.0.0/8', '1.2.3.4']"),
    }
    assert "region" in action.blocked
    assert action.data["fields"]["name"] == "bb"


def test_a_branch_deleted_by_hand_is_created_after_its_parent_and_before_env():
    seen = observed(
        branches={"main": Branch("main", "br-1", protected=True, default=True)},
        connections={("main", True, False): MAIN_URL},
    )
    actions = [a for a in diff(DESIRED, seen) if a.pending]
    assert [a.address for a in actions] == ["neon.branch.development"]
    assert actions[0].op == "create" and actions[0].data["parent"] == "main"
    desired = replace(DESIRED, env=(DesiredEnv("development", "DATABASE_URL", "encrypted", branch="development"),))
    ordered = [a.address for a in diff(desired, seen) if a.pending]
    assert ordered == ["neon.branch.development", "vercel.env.development.DATABASE_URL"]


def test_replicas_missing_extra_and_resized():
    seen = observed(
        endpoints=(
            Endpoint("ep-1", "main", "read_write"),
            Endpoint("ep-3", "main", "read_only", 0.25, 8.0),
            Endpoint("ep-4", "main", "read_only"),
            Endpoint("ep-5", "development", "read_only"),
        )
    )
    actions = diff(DESIRED, seen)
    found = pending(actions)
    assert found["neon.branch.main.read_replica[0]"].op == "update"
    assert found["neon.branch.main.read_replica[0]"].data == {"id": "ep-3", "fields": {"autoscaling_max_cu": 2.0}}
    assert found["neon.branch.main.read_replica[1]"].op == "delete"
    assert found["neon.branch.development.read_replica[0]"].data == {"id": "ep-5"}
    assert [a.op for a in actions if a.pending][-2:] == ["delete", "delete"]  # deletions last
    none = observed(endpoints=(Endpoint("ep-1", "main", "read_write"),))
    assert pending(diff(DESIRED, none))["neon.branch.main.read_replica[0]"].op == "create"


def test_env_values_are_compared_but_never_shown():
    stale = ObservedEnv("production", "DATABASE_URL", "sensitive", "env_1", None, fingerprint("postgresql://old"))
    seen = observed(env=(stale, ObservedEnv("production", "FEATURE", "encrypted", "env_2", "off")))
    found = pending(diff(DESIRED, seen))
    db = found["vercel.env.production.DATABASE_URL"]
    assert [(c.field, c.before, c.after) for c in db.changes] == [("value", MASK, "connection of main (pooled)")]
    feature = found["vercel.env.production.FEATURE"]
    assert {(c.field, c.before, c.after) for c in feature.changes} == {
        ("type", "encrypted", "plain"),
        ("value", MASK, "on"),
    }
    assert MAIN_URL not in repr(diff(DESIRED, seen))


def test_a_sensitive_var_without_our_fingerprint_counts_as_changed():
    unknown = ObservedEnv("production", "DATABASE_URL", "sensitive", "env_1", None, None)
    seen = observed(env=(unknown, ObservedEnv("production", "FEATURE", "plain", "env_2", "on")))
    assert list(pending(diff(DESIRED, seen))) == ["vercel.env.production.DATABASE_URL"]


def test_backends_without_settings_or_endpoints_skip_those_areas():
    seen = observed(settings=None, endpoints=None)
    addresses = {a.address for a in diff(DESIRED, seen)}
    assert "neon.project" not in addresses and not any("read_replica" in a for a in addresses)


def test_protection_removed_by_hand_and_an_unchangeable_parent():
    seen = observed(
        branches={
            "main": Branch("main", "br-1", protected=False, default=True),
            "development": Branch("development", "br-2", parent="other"),
        }
    )
    found = pending(diff(DESIRED, seen))
    assert found["neon.branch.main"].changes[0].field == "protected" and not found["neon.branch.main"].blocked
    assert "parent" in found["neon.branch.development"].blocked
