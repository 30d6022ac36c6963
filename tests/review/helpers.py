"""Drizzle folders for the review tests, and the corpus of dangerous and safe migrations."""

from __future__ import annotations

import json
import re
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
NEXT = "-- next-migration\n"
EXPECT = re.compile(r"-- expect: (?P<rules>[\w, -]+)$")
BASE_WHEN = 1_700_000_000_000


def write_folder(root: Path, migrations: list[tuple[str, str]]) -> Path:
    """A drizzle-kit folder: meta/_journal.json plus one <tag>.sql per migration."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (tag, text) in enumerate(migrations):
        (root / f"{tag}.sql").write_text(text, encoding="utf-8")
        entries.append({"idx": i, "version": "7", "when": BASE_WHEN + i, "tag": tag, "breakpoints": True})
    body = {"version": "7", "dialect": "postgresql", "entries": entries}
    (root / "meta" / "_journal.json").write_text(json.dumps(body), encoding="utf-8")
    return root


def case_folder(root: Path, rule: str, kind: str) -> tuple[Path, list[str]]:
    """setup.sql then the case's migrations (``-- next-migration`` separates them); returns the case tags."""
    pieces = (CORPUS / rule / f"{kind}.sql").read_text(encoding="utf-8").split(NEXT)
    tags = [f"{i + 1:04d}_{kind}" for i in range(len(pieces))]
    setup = (CORPUS / "setup.sql").read_text(encoding="utf-8")
    write_folder(root, [("0000_setup", setup), *zip(tags, pieces, strict=True)])
    return root, tags


def expected(rule: str, kind: str) -> set[tuple[str, int, str]]:
    """(tag, line, rule) for every ``-- expect: rule`` marker of a case file."""
    out = set()
    for i, piece in enumerate((CORPUS / rule / f"{kind}.sql").read_text(encoding="utf-8").split(NEXT)):
        for n, line in enumerate(piece.splitlines(), 1):
            m = EXPECT.search(line)
            if m:
                out |= {(f"{i + 1:04d}_{kind}", n, r.strip()) for r in m.group("rules").split(",")}
    return out
