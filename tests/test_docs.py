"""The repository's documents stay true: every test docs/security.md names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NAMED = re.compile(r"`((?:test_|Test)[A-Za-z0-9_]*)`")
_FILES = re.compile(r"`(test_[a-z0-9_]+\.py)`")


def test_every_test_the_security_model_names_exists() -> None:
    """Each test file and test docs/security.md cites as proof is in tests/, so the document
    cannot point at a test that was renamed or removed."""
    text = (ROOT / "docs" / "security.md").read_text()
    sources = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    files = set(_FILES.findall(text))
    names = set(_NAMED.findall(text))
    assert files, "docs/security.md names no test file"
    assert {name for name in files if not (ROOT / "tests" / name).exists()} == set()
    defined = set(re.findall(r"^\s*(?:async )?(?:def|class) (\w+)", sources, re.MULTILINE))
    assert names - defined == set()


def test_every_module_the_documents_name_exists() -> None:
    """Each `bot/…` or `blocks/…` file or folder that docs/*.md or the README names is in the
    repository (what `make bench` writes aside), so the map of the code cannot drift from it."""
    named = re.compile(r"`((?:bot|blocks|tests|benchmarks)/[A-Za-z0-9_/.]*)`")
    documents = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    missing = {
        (document.name, path)
        for document in documents
        for path in named.findall(document.read_text())
        if not (ROOT / path).exists() and not path.startswith("benchmarks/results/")
    }
    assert missing == set()
