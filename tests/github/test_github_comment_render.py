"""The PR comment's markdown and the schema diff it shows (the diff against a real Postgres)."""

from __future__ import annotations

import psycopg

from bbops.core import redact
from bbops.github.comment import (
    MAX_BODY,
    PLAN_MARKER,
    PREVIEW_MARKER,
    PreviewComment,
    render_closed,
    render_plan,
    render_preview,
    run_url,
)
from bbops.github.schemadiff import SchemaChange, SchemaSnapshot, diff_schemas, render_markdown, snapshot

REPORT = {
    "pr": 42,
    "branch": "preview/pr-42",
    "parent": "development",
    "created": True,
    "host": "127.0.0.1",
    "database": "bb_preview_pr_42",
    "expires_at": "2026-12-03T07:00:00+00:00",
    "git_branch": "feature/login",
    "migrations": ["0000_init", "0001_indexes"],
    "seeds": ["seed/catalogue.sql"],
    "scrubbed": ["users.email"],
    "env": ["DATABASE_URL", "DATABASE_URL_UNPOOLED"],
    "deployment": None,
    "seconds": 1.2,
    "something_new": "ignored",
}


def test_preview_comment_shows_branch_migrations_diff_and_plan():
    changes = [SchemaChange("added", "column", "public.users.nickname", after="text")]
    body = render_preview(
        PreviewComment.from_report(
            REPORT,
            schema_changes=changes,
            plan_output="+ create branch x",
            run_url="https://github.test/o/r/actions/runs/1",
        )
    )
    assert body.startswith(PREVIEW_MARKER + "\n")
    assert "### Preview database created for #42" in body
    assert "| Branch | `preview/pr-42` |" in body and "| Parent | `development` |" in body
    assert "**Migrations run** (2)" in body and "- `0000_init`\n- `0001_indexes`" in body
    assert "+ column public.users.nickname: text" in body
    assert "+ create branch x" in body
    assert "[this run](https://github.test/o/r/actions/runs/1)" in body


def test_refreshed_preview_without_migrations_or_diff():
    report = dict(REPORT, created=False, migrations=[])
    body = render_preview(PreviewComment.from_report(report, schema_note="parent unreachable"))
    assert "refreshed" in body and "_none: the branch was already up to date_" in body
    assert "_not computed: parent unreachable_" in body
    assert "bbops plan" not in body


def test_comment_is_scrubbed_and_cut_to_githubs_limit():
    password = "npg_" + "s" * 16
    redact.register(password)
    body = render_plan(f"url postgresql://u:{password}@h/db\n" + "x" * 100_000, changes=True)
    assert password not in body and body.startswith(PLAN_MARKER)
    assert len(body) <= MAX_BODY and "(cut:" in body


def test_closed_comment():
    body = render_closed(42, "preview/pr-42", merged=True)
    assert body.startswith(PREVIEW_MARKER) and "merged" in body and "`preview/pr-42`" in body


def test_run_url():
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9"}
    assert run_url(env) == "https://github.com/o/r/actions/runs/9"
    assert run_url({}) is None


def test_diff_in_memory():
    parent = SchemaSnapshot(
        tables=frozenset({"public.users", "public.old"}),
        columns={"public.users.id": "uuid not null", "public.users.email": "text", "public.old.id": "integer"},
        indexes={"public.users_pkey": "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)"},
        constraints={"public.old.old_pkey": "PRIMARY KEY (id)"},
    )
    child = SchemaSnapshot(
        tables=frozenset({"public.users", "public.orders"}),
        columns={
            "public.users.id": "uuid not null",
            "public.users.email": "text not null",
            "public.orders.id": "integer",
        },
        indexes=dict(parent.indexes),
        constraints={},
    )
    rendered = [c.render() for c in diff_schemas(parent, child)]
    assert rendered == [
        "+ table public.orders",
        "- table public.old",
        "~ column public.users.email: text -> text not null",
    ]
    assert render_markdown([]) == "No schema changes against the parent."
    assert "! column public.users.email" in render_markdown(diff_schemas(parent, child))


def test_diff_of_real_databases(make_database, pg_server_url):
    parent = make_database("sd")
    with psycopg.connect(parent, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text)")
        conn.execute("CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id serial, hash text)")
    name = psycopg.conninfo.conninfo_to_dict(parent)["dbname"]
    child = make_database("sd", template=name)
    with psycopg.connect(child, autocommit=True) as conn:
        conn.execute("ALTER TABLE users ALTER COLUMN email SET NOT NULL, ADD COLUMN phone varchar(20)")
        conn.execute("CREATE INDEX users_email_idx ON users (email)")
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users(id))")
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash) VALUES ('x')")
    changes = diff_schemas(snapshot(parent), snapshot(child))
    rendered = {c.render() for c in changes}
    assert "+ table public.orders" in rendered
    assert "~ column public.users.email: text -> text not null" in rendered
    assert "+ column public.users.phone: character varying(20)" in rendered
    assert any(r.startswith("+ index public.users_email_idx: CREATE INDEX") for r in rendered)
    assert not any("drizzle" in r for r in rendered)
    # the orders table's own columns and constraints are implied by "+ table", not repeated
    assert not any(r.startswith("+ column public.orders.") for r in rendered)
    assert diff_schemas(snapshot(child), snapshot(child)) == []
