"""The CLI reference page (docs/cli.md), written from the parser's own ``--help``.

    python -m massreach.cli.reference > docs/cli.md

A test compares docs/cli.md with this output, so the page cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from massreach.cli.main import build_parser

HEADER = """# CLI reference

`massreach` is a thin client of the Python API: anything it does, a host product can
do in Python. Every command prints human-readable text by default and one JSON
document with `--json`; errors go to stderr with a non-zero exit code and a stable
error code in brackets, never a traceback.

Exit codes: 0 done; 1 a massreach error, or an import plan that ended `failed` (its
`--json` object still printed); 2 a usage error, or an internal error (set
`MASSREACH_DEBUG=1` for its traceback); 130 interrupted; 141 the output's reader went
away (`massreach … | head`), quietly.

This page is generated from the real `--help` output
(`python -m massreach.cli.reference > docs/cli.md`); a test checks that it is current.
"""


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for name, child in _subparsers(parser):
        yield from _walk(child, (*path, name))


def render_reference() -> str:
    """The whole page, deterministic (fixed terminal width)."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        parts = [HEADER]
        for path, sub in _walk(parser, ("massreach",)):
            title = " ".join(path)
            parts.append(f"\n## `{title}`\n\n```text\n{sub.format_help().rstrip()}\n```\n")
        return "".join(parts)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


if __name__ == "__main__":  # pragma: no cover
    print(render_reference(), end="")
