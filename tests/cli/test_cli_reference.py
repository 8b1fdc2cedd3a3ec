"""docs/cli.md is the real ``--help`` output of every command (it cannot drift)."""

from __future__ import annotations

from pathlib import Path

from massreach.cli.reference import render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        "docs/cli.md is out of date: run `python -m massreach.cli.reference > docs/cli.md`"
    )


def test_every_command_has_help_text() -> None:
    text = render_reference()
    assert "## `massreach import`" in text and "## `massreach dispatch`" in text
