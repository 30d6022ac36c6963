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


def _pw() -> str:
    return "Qp" + "9z" * 6


def test_password_in_query_string_is_redacted():
    password = _pw()
    url = f"postgresql://app@db.example.com/app?sslmode=require&password={password}"
    shown = redact.redact_url(url)
    assert password not in shown and "password=***" in shown and "sslmode=require" in shown
    assert redact.scrub(f"cannot connect: {password}") == "cannot connect: ***"


def test_sslpassword_in_query_string_and_key_value_is_redacted():
    password = _pw()
    for conninfo, secret in (
        (f"postgresql://app@db.example.com/app?sslpassword={password}", password),
        (f"host=db.example.com sslpassword={password} dbname=app", password),
        (f"host=db.example.com password='{password} x' dbname=app", f"{password} x"),
    ):
        redact.clear()
        shown = redact.redact_url(conninfo)
        assert password not in shown, shown
        assert "db.example.com" in shown
        assert password not in redact.scrub(f"error near {secret} in {conninfo}")


def test_percent_encoded_query_password_is_registered_decoded():
    # libpq decodes the query string: the password that reaches the server (and its error texts) is decoded.
    url = "postgresql://app@h/db?password=" + "ab%20cd" * 3
    redact.register_url(url)
    assert redact.scrub("auth failed for " + "ab cd" * 3) == "auth failed for ***"


def test_unregistered_password_parameters_are_scrubbed_from_text():
    password = _pw()
    text = f"psql 'host=h password={password}' and https://x/db?user=u&sslpassword={password}&a=b"
    scrubbed = redact.scrub(text)
    assert password not in scrubbed and "&a=b" in scrubbed


def test_repeated_query_password_hides_every_occurrence():
    first, last = _pw(), _pw()[::-1]
    shown = redact.redact_url(f"postgresql://u@h/db?password={first}&password={last}")
    assert first not in shown and last not in shown


def test_plain_and_short_env_values_are_not_registered_as_secrets():
    heard: list[str] = []
    redact.on_register(heard.append)
    redact.register_env_value("true", "encrypted")  # short: would mask the word everywhere
    redact.register_env_value("feature-flags-v2", "plain")  # plain: not secret by type
    assert heard == [] and redact.scrub("created=true flags=feature-flags-v2") == "created=true flags=feature-flags-v2"
    token = "tok_" + "k8" * 8
    redact.register_env_value(token, "encrypted")
    password = _pw()
    redact.register_env_value(f"postgresql://app:{password}@h/db", "plain")  # a password is a password
    assert redact.scrub(f"{token} {password}") == "*** ***"
