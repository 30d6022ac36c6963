"""Secrets are masked wherever they appear, in every form bbops meets them."""

from __future__ import annotations

from bbops.core import redact


def test_registered_values_and_their_url_encoding_are_scrubbed():
    password = "p@ss/w:rd" + "x" * 8
    redact.register(password)
    from urllib.parse import quote

    text = f"a {password} b {quote(password, safe='')} c"
    assert redact.scrub(text) == "a *** b *** c"


def test_url_passwords_are_scrubbed_even_unregistered():
    text = "connect to postgresql://neondb_owner:" + "abc" * 5 + "@ep-x.neon.tech/neondb failed"
    assert "abc" * 5 not in redact.scrub(text)
    assert "postgresql://neondb_owner:" + redact.MASK + "@ep-x.neon.tech/neondb" in redact.scrub(text)


def test_register_url_covers_urls_and_key_value_strings():
    redact.register_url("postgresql://u:" + "q" * 12 + "@h:5432/db?sslmode=require")
    redact.register_url("host=h dbname=d user=u password=" + "z" * 12)
    assert redact.scrub("x" + "q" * 12 + "y " + "z" * 12) == "x***y ***"
    assert redact.redact_url("host=h password=" + "z" * 12) == "host=h password=***"
    assert redact.redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_listeners_hear_existing_and_new_secrets_once():
    heard: list[str] = []
    redact.register("first-secret")
    redact.on_register(heard.append)
    redact.on_register(heard.append)
    redact.register("second-secret")
    redact.register("second-secret")
    assert heard.count("first-secret") == 1 and heard.count("second-secret") == 1


def test_short_values_are_not_treated_as_secrets():
    redact.register("ab")
    assert redact.scrub("ab cd") == "ab cd"
