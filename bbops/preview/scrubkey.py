"""The key of the scrub fakes: previews never see it, so a fake cannot be traced back to its original.

An unkeyed hash of an email address is no disguise: anyone with a preview's
``DATABASE_URL`` can hash a guessed address and compare. The fakes are HMACs
under this key instead, still deterministic per project (the same original
always gives the same fake, so joins on scrubbed columns line up).

Where the key lives: ``BBOPS_SCRUB_KEY`` (any string of at least 16
characters; make one with ``python -c "import secrets; print(secrets.token_urlsafe(32))"``
and keep it as a secret of the preview environment). The local backend, which
has no CI secret store, generates one once and keeps it in
``<state folder>/scrub.key`` (mode 0600). The cloud backend requires the env
var, checked before a preview branch is made. Changing the key changes every
fake made afterwards.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bbops.core import redact
from bbops.errors import UsageError

ENV_KEY = "BBOPS_SCRUB_KEY"
KEY_FILE = "scrub.key"
MIN_LENGTH = 16
_HINT = (
    'set BBOPS_SCRUB_KEY (python -c "import secrets; print(secrets.token_urlsafe(32))") as a secret of the '
    "preview environment; keep it the same so fakes stay stable"
)


def _checked(key: str, where: str) -> bytes:
    key = key.strip()
    if len(key) < MIN_LENGTH:
        raise UsageError(f"{where} is shorter than {MIN_LENGTH} characters", hint=_HINT)
    redact.register(key)
    return key.encode("utf-8")


def scrub_key(backend_name: str, home: Path | None = None) -> bytes:
    """The env key, else (local backend only) the key file in the state folder, made on first use."""
    env = os.environ.get(ENV_KEY)
    if env:
        return _checked(env, ENV_KEY)
    if backend_name != "local":
        raise UsageError(f"{ENV_KEY} is not set: the {backend_name} backend needs it to scrub previews", hint=_HINT)
    if home is None:
        from bbops.providers.local.state import state_home

        home = state_home()
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a racing process never
        # reads a half-written file, and both end up with the key that was linked first.
        draft = home / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return _checked(path.read_text(), str(path))
