"""Issue 12 item 16: scrub fakes are HMACs under a key previews never see, not unsalted md5."""

from __future__ import annotations

import hashlib
import hmac

import psycopg
import pytest

from bbops import preview
from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.plan.model import ScrubRule
from bbops.preview.anonymize import scrub
from bbops.preview.scrubkey import ENV_KEY, KEY_FILE, scrub_key
from tests import REPO_ROOT

EMAIL = "jane.doe@example.com"


def _rule(column: str, kind: str) -> ScrubRule:
    return ScrubRule(table="people", column=column, with_=kind)


@pytest.fixture
def people(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id int PRIMARY KEY, email text, token text, phone text)")
        conn.execute("INSERT INTO people VALUES (1, %s, 'tok-1', '+1 415 555 0101')", [EMAIL])
    return database_url


def _scrubbed(url: str, key: bytes) -> tuple:
    with psycopg.connect(url) as conn:
        scrub(conn, (_rule("email", "email"), _rule("token", "hash"), _rule("phone", "phone")), key)
        return conn.execute("SELECT email, token, phone FROM people").fetchone()


def test_item16_scrub_fake_is_an_hmac_under_the_key_not_a_plain_md5(people, make_database):
    key = b"k" * 20
    email, token, phone = _scrubbed(people, key)
    mac = hmac.new(key, EMAIL.encode(), hashlib.sha256).hexdigest()
    assert email == f"user-{mac[:12]}@example.invalid"
    assert token == hmac.new(key, b"tok-1", hashlib.sha256).hexdigest()
    # Nobody holding only the preview can recompute the fake from a guessed original.
    assert email != f"user-{hashlib.md5(EMAIL.encode()).hexdigest()[:12]}@example.invalid"
    assert token != hashlib.sha256(b"tok-1").hexdigest()
    assert phone.startswith("+1555") and len(phone) == 12
    # Deterministic per key (joins line up), different under another key; a second pass changes nothing.
    other = make_database("scrub")
    with psycopg.connect(other, autocommit=True) as dst:
        dst.execute("CREATE TABLE people (id int PRIMARY KEY, email text, token text, phone text)")
        dst.execute("INSERT INTO people VALUES (1, %s, 'tok-1', '+1 415 555 0101')", [EMAIL])
    assert _scrubbed(other, key)[0] == email
    with psycopg.connect(other) as conn:
        conn.execute("UPDATE people SET email = %s", [EMAIL])
        conn.commit()
    assert _scrubbed(other, b"z" * 20)[0] != email
    assert _scrubbed(people, key)[0] == email  # idempotent: a fake is left alone


def test_item16_scrub_key_comes_from_env_or_a_local_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(UsageError, match="BBOPS_SCRUB_KEY is not set"):
        scrub_key("cloud", tmp_path)
    first = scrub_key("local", tmp_path)
    assert scrub_key("local", tmp_path) == first and len(first) >= 16
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0
    monkeypatch.setenv(ENV_KEY, "short")
    with pytest.raises(UsageError, match="shorter than 16"):
        scrub_key("local", tmp_path)
    monkeypatch.setenv(ENV_KEY, "x" * 32)
    assert scrub_key("cloud", tmp_path) == b"x" * 32


def test_item16_cloud_preview_without_a_scrub_key_makes_nothing(cloud_backend, cloud_fakes, monkeypatch):
    monkeypatch.delenv(ENV_KEY)
    plan = load_plan(REPO_ROOT / "plans" / "bb-prodx.yaml")
    with pytest.raises(UsageError, match="BBOPS_SCRUB_KEY"):
        preview.create(cloud_backend, plan, preview.PullRequest(4, "feature/x"))
    assert not cloud_fakes.neon.named("preview/pr-4")
