"""Reading a Drizzle migration folder exactly the way drizzle-orm's migrator does.

The folder holds ``meta/_journal.json`` (``{version, dialect, entries: [{idx,
version, when, tag, breakpoints}]}``) and one ``<tag>.sql`` per entry next to
``meta/``. Drizzle reads each file as UTF-8, turns CRLF into LF, splits the text
on ``--> statement-breakpoint`` and hashes the whole (normalised) text with
sha256. Older drizzle-orm releases hashed the file without normalising line
endings, so both hashes are kept: either one identifies the file as unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bbops.drizzle.statements import Statement
from bbops.errors import UsageError

BREAKPOINT = "--> statement-breakpoint"
JOURNAL = Path("meta") / "_journal.json"
# drizzle-kit writes "postgresql" (older releases "pg"); anything else is another database's folder.
_PG_DIALECTS = {"postgresql", "pg", "postgres"}


@dataclass(frozen=True)
class Migration:
    """One journal entry with its file's contents."""

    idx: int
    tag: str
    when: int  # the journal's ``when``: drizzle stores it as ``created_at``
    breakpoints: bool
    path: Path
    text: str  # the file as drizzle sees it (CRLF turned into LF)
    hash: str  # sha256 hex of ``text``: what current drizzle-orm writes
    legacy_hash: str  # sha256 hex of the raw bytes: what older drizzle-orm wrote

    @property
    def hashes(self) -> frozenset[str]:
        return frozenset({self.hash, self.legacy_hash})

    @property
    def chunks(self) -> tuple[Statement, ...]:
        """The breakpoint-separated chunks drizzle sends one by one (blank ones dropped)."""
        out: list[Statement] = []
        line = 1
        for piece in self.text.split(BREAKPOINT):
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                out.append(Statement(len(out) + 1, stripped, line + piece.count("\n", 0, lead)))
            line += piece.count("\n")
        return tuple(out)


@dataclass(frozen=True)
class Journal:
    folder: Path
    dialect: str
    migrations: tuple[Migration, ...]

    def find(self, tag: str) -> Migration:
        """The migration named ``tag`` (or the only one whose tag starts with it, e.g. ``0003``)."""
        exact = [m for m in self.migrations if m.tag == tag]
        if exact:
            return exact[0]
        prefixed = [m for m in self.migrations if m.tag.startswith(tag)]
        if len(prefixed) == 1:
            return prefixed[0]
        if prefixed:
            names = ", ".join(m.tag for m in prefixed)
            raise UsageError(f"--to {tag!r} matches several migrations: {names}")
        raise UsageError(f"--to {tag!r}: no migration with that tag in {self.folder / JOURNAL}")


def read_journal(folder: Path) -> Journal:
    """Read and check the journal and every file it names; problems become ``UsageError``."""
    folder = Path(folder)
    path = folder / JOURNAL
    if not path.is_file():
        raise UsageError(f"no Drizzle journal at {path}", hint="pass --dir pointing at drizzle-kit's `out` folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise UsageError(f"{path}: expected an object with an `entries` list")
    dialect = str(data.get("dialect") or "postgresql")
    if dialect not in _PG_DIALECTS:
        raise UsageError(f"{path}: dialect is {dialect!r}; bbops runs PostgreSQL migrations only")
    migrations: list[Migration] = []
    seen: set[str] = set()
    for n, entry in enumerate(data["entries"]):
        migrations.append(_entry(folder, path, n, entry, seen))
    return Journal(folder, dialect, tuple(migrations))


def _entry(folder: Path, journal: Path, n: int, entry: object, seen: set[str]) -> Migration:
    where = f"{journal}: entries[{n}]"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected an object")
    tag, when = entry.get("tag"), entry.get("when")
    if not isinstance(tag, str) or not tag:
        raise UsageError(f"{where}: `tag` must be a non-empty string")
    if isinstance(when, bool) or not isinstance(when, int):
        raise UsageError(f"{where} ({tag}): `when` must be an integer (milliseconds since 1970)")
    if tag in seen:
        raise UsageError(f"{where}: tag {tag!r} appears twice")
    if not tag.isprintable():
        # A NUL byte cannot be in a file name (open() raises), a newline would split bbops' own output.
        raise UsageError(f"{where}: tag {tag!r} contains a control character")
    if "/" in tag or "\\" in tag or tag.startswith("."):
        raise UsageError(f"{where}: tag {tag!r} is not a plain file name")
    seen.add(tag)
    sql_path = folder / f"{tag}.sql"
    try:
        raw = sql_path.read_bytes()
    except OSError:
        raise UsageError(f"{where}: no file {sql_path} for migration {tag!r}") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{sql_path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    text = decoded.replace("\r\n", "\n")
    return Migration(
        idx=int(entry.get("idx", n)) if isinstance(entry.get("idx", n), int) else n,
        tag=tag,
        when=when,
        breakpoints=bool(entry.get("breakpoints", True)),
        path=sql_path,
        text=text,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        legacy_hash=hashlib.sha256(decoded.encode("utf-8")).hexdigest(),
    )
