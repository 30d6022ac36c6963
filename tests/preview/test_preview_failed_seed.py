"""Issue 12 item 15: a seed failing half-way leaves nothing unscrubbed behind, and no half-seeded root."""

from __future__ import annotations

import shutil
from functools import partial

import psycopg
import pytest

from bbops import preview
from bbops.errors import MigrationError
from bbops.plan import load_plan
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

BROKEN = (
    "INSERT INTO users (id, name, email) VALUES (gen_random_uuid(), 'Real Person', 'real.person@gmail.com');\n"
    "SELECT 1/0;\n"
)


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    yield be
    be.close()


@pytest.fixture
def plan_dir(tmp_path):
    folder = tmp_path / "plans"
    shutil.copytree(REPO_ROOT / "plans", folder)
    return folder


def _with_broken_seed(plan_dir, name: str = "03_broken.sql"):
    (plan_dir / "bb-prodx" / "seed" / name).write_text(BROKEN)
    path = plan_dir / "bb-prodx.yaml"
    if name == "03_broken.sql":
        text = path.read_text().replace(
            "    - bb-prodx/seed/02_demo_users.sql\n",
            "    - bb-prodx/seed/02_demo_users.sql\n    - bb-prodx/seed/03_broken.sql\n",
        )
        path.write_text(text)
    return load_plan(path)


def _emails(backend, plan, branch: str) -> set[str]:
    url = backend.branches.connection(branch, database=plan.neon.database, role=plan.neon.role, pooled=False).url
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("select email from users")}


def test_item15_failed_seed_of_a_new_preview_leaves_no_unscrubbed_branch(backend, plan_dir):
    good = load_plan(plan_dir / "bb-prodx.yaml")
    preview.ensure_long_lived(backend, good)
    originals = _emails(backend, good, "development")
    broken = _with_broken_seed(plan_dir)
    with pytest.raises(MigrationError, match=r"seed 03_broken\.sql failed.*deleted so no unscrubbed data is left"):
        preview.create(backend, broken, preview.PullRequest(21, "feature/broken-seed"))
    assert backend.branches.get_branch("preview/pr-21") is None
    assert backend.env.list_env(target="preview", git_branch="feature/broken-seed") == []
    assert originals  # the parent keeps its data


@pytest.mark.parametrize("how", ["refresh", "reset"])
def test_item15_failed_seed_of_an_existing_preview_leaves_it_scrubbed(backend, plan_dir, how):
    good = load_plan(plan_dir / "bb-prodx.yaml")
    preview.create(backend, good, preview.PullRequest(22, "feature/seed"))
    originals = _emails(backend, good, "development")
    broken = _with_broken_seed(plan_dir)
    if how == "refresh":
        run = partial(preview.create, backend, broken, preview.PullRequest(22, "feature/seed"))
    else:
        run = partial(preview.reset, backend, broken, 22)  # the parent's unscrubbed data comes back first
    with pytest.raises(MigrationError, match=r"seed 03_broken\.sql failed"):
        run()
    if backend.branches.get_branch("preview/pr-22") is not None:
        left = _emails(backend, good, "preview/pr-22")
        assert not (left & originals), "original emails survived in the preview"
        assert all(e.endswith("@example.invalid") for e in left)


def test_item15_failed_root_seed_is_finished_by_the_next_run(backend, plan_dir):
    # 02_demo_users.sql fails half-way the first time the roots are made...
    good_seed = (plan_dir / "bb-prodx" / "seed" / "02_demo_users.sql").read_text()
    broken = _with_broken_seed(plan_dir, "02_demo_users.sql")
    with pytest.raises(MigrationError, match=r"seed 02_demo_users\.sql failed"):
        preview.ensure_long_lived(backend, broken)
    assert backend.branches.get_branch("main") is not None  # a default root cannot be deleted
    # ...then it is fixed: the next run finishes the root before making anything from it.
    (plan_dir / "bb-prodx" / "seed" / "02_demo_users.sql").write_text(good_seed)
    good = load_plan(plan_dir / "bb-prodx.yaml")
    preview.ensure_long_lived(backend, good)
    assert _emails(backend, good, "main") and _emails(backend, good, "development")
    assert backend.branches.get_branch("main").annotations.get(preview.lifecycle.ROOT_READY) == "true"
