"""The online cutover as production steps: `copy` with `follow`, then `switch` with `reverse`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bbops.online.reverse import reverse_caught_up
from bbops.plan import load_plan, validate_file
from bbops.production.history import RunInfo
from bbops.production.rollback import RollbackFailed, rollback
from bbops.production.run import apply_production
from bbops.providers.local import open_local_backend
from tests.online.conftest import drop_replication
from tests.production.test_production_local import PLAN, write_migration

STEPS = """\
    - {id: schema, kind: migrations, dir: drizzle}
    - {id: copy-old, kind: copy, source: "${OLD_DATABASE_URL}", follow: true}
    - {id: cutover, kind: switch, source: "${OLD_DATABASE_URL}", stream: copy_old, reverse: true}
"""


@pytest.fixture
def shop(tmp_path: Path, make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    folder = tmp_path / "app"
    write_migration(folder / "drizzle", 0, "0000_users", "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);")
    old = make_database("old")
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 300) g")
    monkeypatch.setenv("OLD_DATABASE_URL", old)
    (folder / "shop.yaml").write_text(PLAN.format(steps=STEPS))
    return folder, old


@pytest.fixture
def backend(local_env: Path) -> Iterator[object]:
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    yield be
    main = be.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    drop_replication(main)  # a subscription keeps its database from being dropped by the clean-up
    be.close()


def test_follow_copy_and_switch_steps_hand_writes_over_and_stream_them_back(backend, shop) -> None:
    folder, old = shop
    plan = load_plan(folder / "shop.yaml")
    report = apply_production(backend, plan, run=RunInfo("1", "a" * 40, "ci"))
    assert [(s.id, s.status) for s in report.steps] == [
        ("schema", "applied"),
        ("copy-old", "applied"),
        ("cutover", "applied"),
    ]
    assert "freeze to writable branch" in (report.steps[-1].detail or "")
    new = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(new, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (300,)
        conn.execute("INSERT INTO users VALUES (301, 'written after the cutover')")
    with psycopg.connect(old, autocommit=True) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO users VALUES (999, 'the old database is frozen')")
    assert reverse_caught_up(old, new, name="copy_old") is True
    back = rollback(backend, plan, "latest", run=RunInfo("2", "a" * 40, "ci"))
    (stream,) = [p for p in back.parts if p.name == "stream"]
    assert stream.status == "done" and "caught up" in stream.actions[0]
    with psycopg.connect(old, autocommit=True) as conn:
        assert conn.execute("SELECT name FROM users WHERE id = 301").fetchone() == ("written after the cutover",)
        conn.execute("INSERT INTO users VALUES (302, 'the old database takes writes again')")
    drop_replication(old)


def test_a_switch_must_name_a_follow_copys_stream(tmp_path: Path) -> None:
    steps = (
        '    - {id: copy-old, kind: copy, source: "${OLD_DATABASE_URL}"}\n'
        '    - {id: cutover, kind: switch, source: "${OLD_DATABASE_URL}", stream: copy_old}\n'
    )
    path = tmp_path / "shop.yaml"
    path.write_text(PLAN.format(steps=steps))
    problems = validate_file(path)
    assert any("no earlier `copy` step with `follow: true` streams `copy_old`" in str(p) for p in problems)
    assert any(":" in str(p) and "shop.yaml" in str(p) for p in problems)


def test_rollback_of_a_switch_without_reverse_is_refused_unless_loss_is_accepted(backend, shop) -> None:  # type: ignore[no-untyped-def]
    folder, old = shop
    (folder / "shop.yaml").write_text(PLAN.format(steps=STEPS.replace(", reverse: true", "")))
    plan = load_plan(folder / "shop.yaml")
    apply_production(backend, plan, run=RunInfo("1", "a" * 40, "ci"))
    with pytest.raises(RollbackFailed, match="accept-data-loss"):
        rollback(backend, plan, "latest", parts=("stream",), run=RunInfo("2", "a" * 40, "ci"))
    with psycopg.connect(old, autocommit=True) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO users VALUES (999, 'still frozen: nothing was rolled back')")
    done = rollback(backend, plan, "latest", parts=("stream",), run=RunInfo("3", "a" * 40, "ci"), accept_data_loss=True)
    assert [p.status for p in done.parts] == ["done"]
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (999, 'writable again')")
    drop_replication(old)


def test_production_status_lists_the_streams_replication_objects(backend, shop) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from bbops.cli import main

    folder, old = shop
    (folder / "shop.yaml").write_text(PLAN.format(steps=STEPS.splitlines(keepends=True)[0] + STEPS.splitlines()[1]))
    plan = load_plan(folder / "shop.yaml")
    apply_production(backend, plan, run=RunInfo("1", "a" * 40, "ci"))  # streaming, not switched yet
    result = CliRunner().invoke(
        main, ["production", "status", "--plan", str(folder / "shop.yaml"), "--backend", "local", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (stream,) = json.loads(result.output)["streams"]
    assert stream["step"] == "copy-old" and stream["phase"] == "streaming"
    kinds = {(o["database"], o["kind"], o["name"]) for o in stream["objects"]}
    assert kinds == {
        ("source", "slot", "bbops_fwd_copy_old"),
        ("source", "publication", "bbops_fwd_copy_old"),
        ("target", "subscription", "bbops_fwd_copy_old"),
    }
    new = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    from bbops.online.follow import abort

    abort(old, new, "copy_old")


def test_gc_ends_reverse_streams_past_their_validation_period(backend, shop) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from bbops.preview.cleanup import gc

    folder, old = shop
    with (folder / "shop.yaml").open("a") as plan_file:
        plan_file.write("preview:\n  parent: main\n")
    plan = load_plan(folder / "shop.yaml")
    apply_production(backend, plan, run=RunInfo("1", "a" * 40, "ci"))
    assert gc(backend, plan).streams_ended == []  # inside the 7 days
    later = datetime.now(UTC) + timedelta(days=8)
    assert gc(backend, plan, now=later, dry_run=True).streams_ended == [
        "stream bbops_rev_copy_old (validation period over)"
    ]
    ended = gc(backend, plan, now=later).streams_ended
    assert ended == ["subscription bbops_rev_copy_old", "slot bbops_rev_copy_old", "publication bbops_rev_copy_old"]
    with psycopg.connect(old, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription WHERE subname LIKE 'bbops%%'").fetchone() == (0,)
