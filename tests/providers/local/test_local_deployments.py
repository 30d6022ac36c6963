"""LocalDeployments: recorded redeploys and a production pointer that rollback moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.errors import ProviderError, UsageError
from bbops.providers.base import DeploymentProvider, EnvVar
from bbops.providers.local.deployments import LocalDeployments
from bbops.providers.local.envstore import LocalEnv


def test_redeploy_records_and_rollback_moves_production(tmp_path: Path) -> None:
    env = LocalEnv(tmp_path)
    deployments = LocalDeployments(tmp_path, env)
    assert isinstance(deployments, DeploymentProvider)
    assert deployments.current_production() is None
    env.upsert_env([EnvVar("DATABASE_URL", "postgresql://a@h/db", targets=("production",))])
    first = deployments.redeploy(target="production")
    env.upsert_env([EnvVar("FEATURE", "on", targets=("production",))])
    second = deployments.redeploy(target="production")
    preview = deployments.redeploy(target="preview", git_branch="feat/x")
    assert len({first, second, preview}) == 3
    assert deployments.current_production() == second
    recorded = {d["id"]: d for d in deployments.list_deployments()}
    assert recorded[first]["env_keys"] == ["DATABASE_URL"]
    assert recorded[second]["env_keys"] == ["DATABASE_URL", "FEATURE"]
    assert recorded[preview]["git_branch"] == "feat/x"
    assert "postgresql://a@h/db" not in (tmp_path / "deployments.json").read_text()

    deployments.rollback(first)
    assert LocalDeployments(tmp_path).current_production() == first
    with pytest.raises(ProviderError, match="404"):
        deployments.rollback("dpl_missing")
    with pytest.raises(ProviderError, match="not production"):
        deployments.rollback(preview)
    with pytest.raises(UsageError):
        deployments.redeploy(target="staging")
