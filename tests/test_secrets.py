"""Secrets are masked wherever they appear, in every form bbops meets them."""

from __future__ import annotations

from bbops import secrets


def test_registered_values_and_their_url_encoding_are_scrubbed():
    password = "p@ss/w:rd" + "x" * 8
    secrets.register(password)
    from urllib.parse import quote

    text = f"a {password} b {quote(password, safe='')} c"
    assert secrets.scrub(text) == "a *** b *** c"


def test_url_passwords_are_scrubbed_even_unregistered():
    text = "connect to postgresql://neondb_owner:" + "abc" * 5 + "@ep-x.neon.tech/neondb failed"
    assert "abc" * 5 not in secrets.scrub(text)
    assert "postgresql://neondb_owner:" + secrets.MASK + "@ep-x.neon.tech/neondb" in secrets.scrub(text)


def test_register_url_covers_urls_and_key_value_strings():
    secrets.register_url("postgresql://u:" + "q" * 12 + "@h:5432/db?sslmode=require")
    secrets.register_url("host=h dbname=d user=u password=" + "z" * 12)
    assert secrets.scrub("x" + "q" * 12 + "y " + "z" * 12) == "x***y ***"
    assert secrets.redact_url("host=h password=" + "z" * 12) == "host=h password=***"
    assert secrets.redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_listeners_hear_existing_and_new_secrets_once():
    heard: list[str] = []
    secrets.register("first-secret")
    secrets.on_register(heard.append)
    secrets.on_register(heard.append)
    secrets.register("second-secret")
    secrets.register("second-secret")
    assert heard.count("first-secret") == 1 and heard.count("second-secret") == 1


def test_short_values_are_not_treated_as_secrets():
    secrets.register("ab")
    assert secrets.scrub("ab cd") == "ab cd"
