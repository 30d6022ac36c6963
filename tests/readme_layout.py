"""The README's "Layout" section, generated from the tree: one line per package, from its docstring.

Run ``python -m tests.readme_layout`` to print the block; ``tests/test_readme.py`` checks the
README holds exactly this, so a new or renamed package cannot leave the README behind.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bbops"
WIDTH = 20


def _summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n", 1)[0].split())
    return text.split(". ", 1)[0].rstrip(".")


def layout_lines() -> list[str]:
    rows: list[tuple[str, str]] = []
    for module in ("cli.py", "errors.py"):
        rows.append((f"bbops/{module}", _summary(PACKAGE / module)))
    for folder in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        init = folder / "__init__.py"
        if init.is_file():
            rows.append((f"bbops/{folder.name}/", _summary(init)))
        else:  # data, not code: say what it holds
            files = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file()))
            rows.append((f"bbops/{folder.name}/", f"data files: {files}"))
    return [f"{name:<{WIDTH}} {what}" for name, what in rows]


def layout_block() -> str:
    return "```\n" + "\n".join(layout_lines()) + "\n```"


if __name__ == "__main__":  # pragma: no cover - a maintainer's helper
    print(layout_block())
