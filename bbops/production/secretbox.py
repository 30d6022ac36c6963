"""Encrypting the secrets bbops must keep for later: the previous values of env vars it changes.

A rollback has to put back the production env vars exactly as they were, so
the values an ``env`` step replaces are recorded before it runs. They are
secrets (old connection strings), so they are stored only as Fernet tokens
(AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) in the history
tables on the production database, never in logs or the repository.

The key: ``BBOPS_STATE_KEY`` (a Fernet key: 32 url-safe base64 bytes; make
one with ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``
and keep it as a repository secret). The local backend, which has no CI
secret store, may generate one and keep it in ``<state folder>/state.key``
(mode 0600). The cloud backend requires the env var, and callers check for it
*before* changing anything, so a run never changes env vars it could not undo.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bbops.core import redact
from bbops.errors import UsageError

ENV_KEY = "BBOPS_STATE_KEY"
KEY_FILE = "state.key"
_HINT = (
    'set BBOPS_STATE_KEY to a Fernet key (python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())") and keep it as a secret'
)


class SecretBox:
    """Encrypt and decrypt short texts with one key."""

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode() if isinstance(key, str) else key
        redact.register(raw.decode(errors="ignore"))
        try:
            self._fernet = Fernet(raw)
        except (ValueError, TypeError):
            raise UsageError(
                f"{ENV_KEY} is not a valid Fernet key (32 url-safe base64-encoded bytes)", hint=_HINT
            ) from None

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            value = self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise UsageError(
                f"cannot decrypt a recorded value: {ENV_KEY} is not the key it was recorded with",
                hint="use the key of the run that recorded the restore point",
            ) from None
        # A sealed previous value of an env var: its type is not recorded here, so only its length decides.
        if len(value) >= redact.MIN_ENV_SECRET_LEN:
            redact.register(value)
        return value


def open_box(backend_name: str, home: Path | None = None, *, create: bool = True) -> SecretBox:
    """The box for this backend: the env key, else (local only) the key file in the state folder."""
    env = os.environ.get(ENV_KEY)
    if env:
        return SecretBox(env.strip())
    if backend_name != "local":
        raise UsageError(
            f"{ENV_KEY} is not set: the {backend_name} backend needs it to keep the previous "
            "env values a rollback puts back",
            hint=_HINT,
        )
    if home is None:
        from bbops.providers.local.state import state_home

        home = state_home()
    path = home / KEY_FILE
    if path.exists():
        return SecretBox(path.read_bytes().strip())
    if not create:
        raise UsageError(f"no {ENV_KEY} and no local key file {path}", hint=_HINT)
    home.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes racing both end up with the key that won.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretBox(path.read_bytes().strip())
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return SecretBox(key)
