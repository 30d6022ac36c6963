"""The local state folder: where it is, file locks, and atomic JSON files.

Several bbops processes may touch the same folder at once (two terminals, a
test suite running previews in parallel). Every read-modify-write of a state
file therefore happens under an exclusive ``fcntl.flock`` on a companion lock
file, and files are replaced atomically (temp file in the same folder, fsync,
``os.replace``, fsync of the folder) so a reader never sees half a file and a
crash never leaves one behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bbops.core import redact
from bbops.errors import ProviderError

ENV_HOME = "BBOPS_HOME"
FOLDER = ".bbops"


def state_home(start: Path | None = None) -> Path:
    """``$BBOPS_HOME``, else the ``.bbops`` folder of the project we are in.

    The project is the nearest folder (from the current one upwards) that
    already has a ``.bbops`` folder or is a git work tree, so running bbops
    from a subfolder reuses the same embedded server instead of starting another.
    """
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / FOLDER).is_dir() or (folder / ".git").exists():
            return folder / FOLDER
    return here / FOLDER


def ensure_home(home: Path) -> Path:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProviderError(f"cannot create the local state folder {home}: {exc.strerror}") from None
    return home


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an flock on ``path`` (created if missing) for the duration of the block."""
    if shared and not path.parent.exists():
        yield  # nothing to read yet, and reading never creates the state folder
        return
    ensure_home(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        # Closing the descriptor releases the lock even if unlocking failed.
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def read_json(path: Path, default: Any) -> Any:
    """The parsed content of ``path``, or ``default`` when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Never echo the content: it may hold secret values.
        raise ProviderError(f"{path} is not valid JSON (line {exc.lineno}); fix or remove it") from None


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically and durably, readable by the owner only."""
    ensure_home(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(dfd)


def redacted(url: str | None) -> str | None:
    return redact.redact_url(url) if url else None
