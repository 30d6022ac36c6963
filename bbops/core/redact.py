"""Keeping credentials out of everything bbops prints or writes.

Every value that is a secret (a password, an API token, a full connection
string) is registered here as soon as bbops learns it. ``scrub`` replaces any
registered value in a text with ``***``; the console and every file writer
pass their text through it. Listeners (the GitHub runner protocol adds one that
prints ``::add-mask::``) hear of each new secret before anything else is printed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_listeners: list[Callable[[str], None]] = []

# Short values would mask ordinary words; nothing real that bbops handles is this short.
_MIN_SECRET_LEN = 4


def register(value: str | None) -> None:
    """Remember ``value`` (and its URL-encoded form) as a secret to mask everywhere."""
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    forms = {value, quote(value, safe=""), unquote(value)}
    new: list[str] = []
    with _lock:
        for form in forms:
            if len(form) >= _MIN_SECRET_LEN and form not in _secrets:
                _secrets.add(form)
                new.append(form)
        listeners = list(_listeners)
    for form in new:
        for listener in listeners:
            listener(form)


def register_url(url: str | None) -> None:
    """Register the password of a connection URL, and the URL itself, as secrets."""
    if not url:
        return
    password = url_password(url)
    if password:
        register(password)
        register(url)


def on_register(listener: Callable[[str], None]) -> None:
    """Call ``listener`` for every secret registered from now on (and every one so far).

    Registering the same listener twice is a no-op, so callers may do it on every CLI run.
    """
    with _lock:
        if listener in _listeners:
            return
        _listeners.append(listener)
        known = sorted(_secrets)
    for value in known:
        listener(value)


def scrub(text: str) -> str:
    """``text`` with every registered secret and every URL password replaced by ``***``."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)


def clear() -> None:
    """Forget every secret and listener (tests use this between runs)."""
    with _lock:
        _secrets.clear()
        _listeners.clear()


# scheme://user:password@  -- the password part is whatever lies between ':' and '@'.
# The lookbehind starts a scheme only where a run of letters begins: without it a long
# run of letters (a base64 blob in a plan output) is rescanned from every position, O(n^2).
_URL_PASSWORD = re.compile(r"(?<![a-zA-Z])([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?!\*\*\*@)[^@\s/]+@")


def url_password(url: str) -> str | None:
    """The password of a connection URL or of a ``key=value`` connection string."""
    if "://" not in url:
        return _dsn_params(url).get("password") or None
    try:
        parts = urlsplit(url)
        return unquote(parts.password) if parts.password else None
    except ValueError:
        return None


def _dsn_params(dsn: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict

        return {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except Exception:
        return {}


def redact_url(url: str) -> str:
    """The URL (or ``key=value`` string) with its password replaced by ``***``; safe to print.

    The password it hides is registered too, so it is masked wherever else it turns up.
    """
    register_url(url)
    if "://" not in url:
        password = url_password(url)
        return url.replace(password, MASK) if password else url
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:{MASK}@{netloc[1]}"))
