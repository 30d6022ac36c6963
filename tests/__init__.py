"""bbops test suite; mirrors the package layout."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
