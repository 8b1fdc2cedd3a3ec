"""The public API: every name in ``massreach.__all__`` has a docstring and is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

import massreach

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        n for n in massreach.__all__ if not (inspect.getdoc(getattr(massreach, n)) or "").strip()
    ]
    assert missing == []


def test_every_public_name_is_in_the_docs() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    missing = [n for n in massreach.__all__ if f"`{n}`" not in text]
    assert missing == []


def test_all_names_exist() -> None:
    for name in massreach.__all__:
        assert hasattr(massreach, name), name
