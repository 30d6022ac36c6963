"""The BB-PRODX cutover end to end on the local backend, against an old database built by other DDL
than the migrations, while a writer process (the app) writes to it during `bbops apply`.

1. Health answers 200: the writes after the freeze fail with the server's read-only error, every
   write that succeeded is on the new database, copy/verify/cutover/probes/health pass, and the
   row counts of both sides are equal.
2. Health answers 500: the automatic rollback puts the env vars, the deployment and the old
   database's writability back, and apply exits 5 with both reports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import yaml
from click.testing import CliRunner

from bbops.cli import main
from bbops.core import freeze
from bbops.providers.base import EnvVar
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT
from tests.production.test_production_bbprodx import counts, old_database

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"

# The app: a separate process inserting a category every few milliseconds, reconnecting after any
# error as a connection pool would, logging each outcome (ok, or the server's SQLSTATE and message).
WRITER = r"""
import os, sys, time
import psycopg
url, log_path, stop_path = sys.argv[1:4]
conn, n = None, 0
with open(log_path, "a", buffering=1) as log:
    while not os.path.exists(stop_path):
        n += 1
        slug = f"writer-{n}"
        try:
            if conn is None:
                conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            conn.execute("INSERT INTO categories (name, slug) VALUES (%s, %s)", (slug, slug))
            log.write(f"ok {slug}\n")
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.write(f"err {slug} {exc.sqlstate} {first}\n")
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(0.02)
"""


class Writer:
    def __init__(self, url: str, folder: Path) -> None:
        self.log, self.stop_file = folder / "writer.log", folder / "writer.stop"
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, url, str(self.log), str(self.stop_file)])

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_for(self, predicate, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.lines()):
            assert time.monotonic() < deadline, f"writer: {what} not seen in time: {self.lines()[-5:]}"
            time.sleep(0.05)

    def stop(self) -> list[str]:
        self.stop_file.touch()
        self.proc.wait(timeout=30)
        return self.lines()


class App:
    """The app's health URL on a local HTTP server: 200 while the deployment serving production is
    a healthy one, 500 while it is the cutover's (when ``broken``)."""

    def __init__(self, home: Path, broken: bool) -> None:
        self.home, self.broken, self.healthy_ids = home, broken, set()
        self.calls: list[int] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                serving = json.loads((app.home / "deployments.json").read_text())["production"]
                status = 500 if app.broken and serving not in app.healthy_ids else 200
                app.calls.append(status)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cutover(local_env, make_database, monkeypatch, tmp_path) -> Iterator[dict]:
    """The old database (drizzle-kit push DDL, seed rows), production pointing at it, the BB-PRODX plan
    (its health check's budget cut to seconds so a 500 fails fast), and the writer running."""
    old = old_database(make_database)
    old_unpooled = old + ("&" if "?" in old else "?") + "application_name=unpooled"
    monkeypatch.setenv("OLD_DATABASE_URL_POOLED", old)
    monkeypatch.setenv("OLD_DATABASE_URL", old_unpooled)
    plan = yaml.safe_load(PLAN.read_text())
    for step in plan["production"]["steps"]:
        if step["id"] == "cutover-health":
            step["timeout_seconds"] = 3
    (tmp_path / "bb-prodx").symlink_to(PLAN.parent / "bb-prodx")
    plan_file = tmp_path / "bb-prodx.yaml"
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))

    backend = open_local_backend()
    try:
        backend.branches.create_root("main", protected=True)
        backend.env.upsert_env(
            [
                EnvVar("DATABASE_URL", old, "sensitive", ("production",)),
                EnvVar("DATABASE_URL_UNPOOLED", old_unpooled, "sensitive", ("production",)),
            ]
        )
        first = backend.deployments.redeploy(target="production")
    finally:
        backend.close()
    writer = Writer(old, tmp_path)
    writer.wait_for(lambda lines: sum(line.startswith("ok ") for line in lines) >= 3, "writes before apply")
    state = {"old": old, "old_unpooled": old_unpooled, "plan": plan_file, "first": first, "writer": writer}
    try:
        yield state
    finally:
        if writer.proc.poll() is None:
            writer.stop()


def _apply(plan: Path) -> object:
    return CliRunner().invoke(main, ["apply", "--plan", str(plan), "--auto-approve"])


def _production() -> tuple[dict[str, str], str, str]:
    backend = open_local_backend()
    try:
        env = {v.key: v.value for v in backend.env.list_env(target="production")}
        main_url = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
        return env, backend.deployments.current_production(), main_url
    finally:
        backend.close()


def _slugs(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT slug FROM categories WHERE slug LIKE 'writer-%'").fetchall()}


def test_cutover_with_a_writer_during_apply(cutover, local_env, monkeypatch):
    app = App(local_env, broken=False)
    monkeypatch.setenv("APP_HEALTH_URL", app.url)
    try:
        result = _apply(cutover["plan"])
    finally:
        app.close()
    lines = cutover["writer"].stop()
    assert result.exit_code == 0, result.output

    env, serving, main_url = _production()
    assert env["DATABASE_URL"] == main_url and serving != cutover["first"]
    assert app.calls == [200]
    # Writes during the freeze failed loudly with the server's read-only error; none succeeded after it.
    refused = [line for line in lines if line.startswith("err ") and " 25006 " in line]
    assert refused and all("cannot execute INSERT in a read-only transaction" in line for line in refused)
    first_refused = lines.index(refused[0])
    assert not any(line.startswith("ok ") for line in lines[first_refused:])
    # Every write that succeeded is on both sides; both sides hold the same rows.
    written = {line.split()[1] for line in lines if line.startswith("ok ")}
    assert written and _slugs(cutover["old"]) == written == _slugs(main_url)
    assert counts(main_url) == counts(cutover["old"])
    assert freeze.is_frozen(cutover["old"])
    status = CliRunner().invoke(main, ["production", "status", "--plan", str(cutover["plan"]), "--format", "json"])
    assert {s["id"]: s["state"] for s in json.loads(status.stdout)["steps"]} == {
        step["id"]: "applied" for step in yaml.safe_load(cutover["plan"].read_text())["production"]["steps"]
    }
    assert "data and schema match" in result.stdout and "1 open session(s) ended" in result.stdout
    for probe in ("products-by-category", "order-history", "product-search"):  # measured, within budget
        assert re.search(probe + r": p50 \d+\.\d ms, p95 \d+\.\d ms \(within 100 ms, 30 runs\)", result.stdout)


def test_a_failing_health_check_rolls_the_cutover_back(cutover, local_env, monkeypatch):
    app = App(local_env, broken=True)
    app.healthy_ids.add(cutover["first"])
    monkeypatch.setenv("APP_HEALTH_URL", app.url)
    try:
        result = _apply(cutover["plan"])
        # The app is back on the old database, which takes writes again.
        cutover["writer"].wait_for(
            lambda lines: lines[-1].startswith("ok ") and any(" 25006 " in line for line in lines),
            "a write after the rollback",
        )
    finally:
        app.close()
    lines = cutover["writer"].stop()
    assert result.exit_code == 5, result.output
    assert "cutover-health" in result.output and "rolled back automatically" in result.output
    assert "Automatic rollback to" in result.stdout
    assert "freeze: done" in result.stdout and "env: done" in result.stdout and "deployment: done" in result.stdout
    assert "health: done" in result.stdout

    env, serving, _ = _production()
    # Every variable of the cutover points back at the old database, its reads too; the shadow
    # database (development's, set outside the cutover) stays.
    backend = open_local_backend()
    try:
        development = backend.branches.connection("development", database="neondb", role="neondb_owner").url
    finally:
        backend.close()
    assert env.pop("SHADOW_DATABASE_URL") == development
    assert env == {
        "DATABASE_URL": cutover["old"],
        "DATABASE_URL_UNPOOLED": cutover["old_unpooled"],
        "DATABASE_READ_URL": cutover["old"],
    }
    assert serving == cutover["first"]
    assert not freeze.is_frozen(cutover["old"])
    assert 500 in app.calls and app.calls[-1] == 200  # the rollback's own health check passed
    written = {line.split()[1] for line in lines if line.startswith("ok ")}
    assert _slugs(cutover["old"]) == written  # nothing written to the old database was lost
    assert cutover["old"] not in result.output  # secrets never printed
