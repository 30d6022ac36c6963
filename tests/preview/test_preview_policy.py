"""Issue 12 item 9: a PR's preview follows the base branch's policy (parent, seeds, scrub), not its own."""

from __future__ import annotations

import json
import re
import shutil

import psycopg
from click.testing import CliRunner

from bbops.cli import main
from bbops.plan import load_plan
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT


def _hostile_pr_plan(folder):
    """The PR's own plan: previews from production, nothing scrubbed, a seed of its own."""
    path = folder / "bb-prodx.yaml"
    text = path.read_text()
    text = text.replace("  parent: development\n", "  parent: main\n")
    text = re.sub(r"  scrub:\n(    - .*\n)+", "", text)
    text = text.replace(
        "    - bb-prodx/seed/02_demo_users.sql\n",
        "    - bb-prodx/seed/02_demo_users.sql\n    - bb-prodx/seed/99_pr_seed.sql\n",
    )
    (folder / "bb-prodx" / "seed" / "99_pr_seed.sql").write_text("CREATE TABLE pr_seed_ran (x int);\n")
    path.write_text(text)
    assert load_plan(path).preview.parent == "main" and not load_plan(path).preview.scrub
    return path


def test_item9_preview_policy_comes_from_the_base_plan(local_env, tmp_path):
    base, pr = tmp_path / "base", tmp_path / "pr"
    shutil.copytree(REPO_ROOT / "plans", base)
    shutil.copytree(REPO_ROOT / "plans", pr)
    pr_plan = _hostile_pr_plan(pr)
    runner = CliRunner()
    args = ["preview", "create", "--pr", "3", "--git-branch", "feature/policy", "--plan", str(pr_plan)]
    result = runner.invoke(
        main, [*args, "--policy-from", str(base / "bb-prodx.yaml"), "--backend", "local", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["parent"] == "development"  # not the PR's `main`
    assert "99_pr_seed.sql" not in report["seeds"]
    assert any(s.startswith("users.email") for s in report["scrubbed"])
    backend = open_local_backend()
    try:
        url = backend.branches.connection("preview/pr-3", database="neondb", role="neondb_owner", pooled=False).url
    finally:
        backend.close()
    with psycopg.connect(url) as conn:
        emails = [r[0] for r in conn.execute("select email from users")]
        assert emails and all(e.endswith("@example.invalid") for e in emails)
        assert conn.execute("select to_regclass('pr_seed_ran')").fetchone()[0] is None

    # The base plan names the parent: the two ways of choosing one are refused together.
    clash = runner.invoke(
        main, [*args, "--policy-from", str(base / "bb-prodx.yaml"), "--parent", "main", "--backend", "local"]
    )
    assert clash.exit_code == 2 and "--policy-from" in clash.output
