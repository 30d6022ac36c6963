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
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from bbops.core.rowvalues import strip_row_values

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
    """Register every password in a connection string (URL or ``key=value``), and the string itself."""
    if not url:
        return
    passwords = connection_passwords(url)
    for password in passwords:
        register(password)
    if passwords:
        register(url)


# An env var's value is a secret by its type (encrypted, sensitive) or by its origin (a connection
# string, a ${NAME} the plan declares secret); `plain` is not, and neither is a short value like
# `true` or `on`: masking it would hide that word in every later log line.
MIN_ENV_SECRET_LEN = 8
_SECRET_ENV_TYPES = ("encrypted", "sensitive")


def register_env_value(value: str | None, env_type: str) -> None:
    """Register an env var's value when it is secret by type or holds a password (any type)."""
    if not value:
        return
    if "://" in value or "password" in value.lower():
        register_url(value)  # a connection string's password is a secret whatever the variable's type
    if env_type in _SECRET_ENV_TYPES and len(value) >= MIN_ENV_SECRET_LEN:
        register(value)


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
    """``text`` with every registered secret and every URL password replaced by ``***``, and no row values
    in Postgres error details (``bbops.core.rowvalues``)."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    # Server error details quote row values (personal data): they go wherever secrets go.
    return strip_row_values(_mask_patterns(text))


def clear() -> None:
    """Forget every secret and listener (tests use this between runs)."""
    with _lock:
        _secrets.clear()
        _listeners.clear()


# scheme://user:password@  -- the password part is whatever lies between ':' and '@'.
# The lookbehind starts a scheme only where a run of letters begins: without it a long
# run of letters (a base64 blob in a plan output) is rescanned from every position, O(n^2).
_URL_PASSWORD = re.compile(r"(?<![a-zA-Z])([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?!\*\*\*@)[^@\s/]+@")

# password=..., sslpassword=... in a URL's query string or a key=value string: the value is a
# quoted libpq string or runs to the next space, '&' or quote.
_PARAM_PASSWORD = re.compile(
    r"(?i)(?<![a-z0-9_])([a-z_]*password\s*=\s*)(?!\*\*\*(?:[\s&'\"]|$))('(?:[^'\\]|\\.)*'?|[^\s&'\"]+)"
)


def _is_password_param(key: str) -> bool:
    """libpq's ``password`` and ``sslpassword``, and any other parameter named like a password."""
    return "password" in key.lower()


def _parse(conninfo: str) -> dict[str, str] | None:
    """The parameters of a connection string as libpq itself reads them; ``None`` if libpq refuses it."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except Exception:
        return None


def _query_passwords(url: str) -> list[str]:
    """Password-bearing query parameters of a URL, every occurrence (libpq keeps only the last)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return [v for k, v in parse_qsl(query, keep_blank_values=True) if _is_password_param(k) and v]


def connection_passwords(conninfo: str) -> list[str]:
    """Every password-bearing value of a connection URL or ``key=value`` string.

    Read with libpq's parser (through psycopg), so a password in the query string
    (``?password=``, ``?sslpassword=``) or in quotes counts as much as one in the user info.
    A string libpq refuses still gives up what looks like a password in it.
    """
    params = _parse(conninfo)
    found = [v for k, v in (params or {}).items() if _is_password_param(k) and v]
    if "://" in conninfo:
        try:
            userinfo_password = urlsplit(conninfo).password
        except ValueError:
            userinfo_password = None
        if userinfo_password:
            found += [userinfo_password, unquote(userinfo_password)]
        found += _query_passwords(conninfo)
    elif params is None:
        found += [m.group(2).strip("'") for m in _PARAM_PASSWORD.finditer(conninfo)]
    return list(dict.fromkeys(found))


def url_password(url: str) -> str | None:
    """The password of a connection URL or of a ``key=value`` connection string, as libpq reads it."""
    params = _parse(url)
    if params is not None:
        return params.get("password") or None
    passwords = connection_passwords(url)
    return passwords[0] if passwords else None


def _mask_patterns(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    return _PARAM_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}", text)


def _mask_url(url: str) -> str:
    """The URL with the user-info password and every password query parameter replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        # Everything between the user name and the last '@' is the password (libpq stops at the
        # first '@', so a raw '@' in a password would otherwise leave its tail in the host).
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hosts}" if colon else netloc
    query = "&".join(
        f"{piece.split('=', 1)[0]}={MASK}" if _is_password_param(unquote(piece.split("=", 1)[0])) else piece
        for piece in parts.query.split("&")
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query if parts.query else ""))


def _masked_safely(original: dict[str, str], shown: str) -> bool:
    """Does libpq read ``shown`` with every password of ``original`` masked and none of them left?"""
    params = _parse(shown)
    if params is None:
        return False
    secrets = {v for k, v in original.items() if _is_password_param(k)}
    return all(params.get(k) == MASK for k in original if _is_password_param(k)) and not any(
        v in secrets for v in params.values()
    )


def redact_url(url: str) -> str:
    """The connection URL (or ``key=value`` string) with every password replaced by ``***``; safe to print.

    The passwords it hides are registered too, so they are masked wherever else they turn up.
    """
    register_url(url)
    params = _parse(url)
    if params is None:
        # libpq cannot read it (so nothing can connect with it): hide whatever looks like a password.
        return scrub(url) if "://" not in url else scrub(_mask_url_or_all(url))
    if not any(_is_password_param(k) for k in params) and url == _mask_patterns(url):
        return url
    shown = _mask_url_or_all(url) if "://" in url else _PARAM_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}", url)
    if _masked_safely(params, shown):
        return shown
    # The string's own shape could not be kept safely: show libpq's normal form instead.
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: MASK if _is_password_param(k) else v for k, v in params.items()})


def _mask_url_or_all(url: str) -> str:
    try:
        return _mask_url(url)
    except ValueError:
        return MASK
