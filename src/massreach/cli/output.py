"""How the CLI prints: human-readable text by default, one JSON document with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from massreach.converters import to_plain


class OutputClosed(Exception):
    """The reader of the command's standard output went away (``massreach … | head``)."""


class GuardedOutput:
    """Standard output while a command runs: a :class:`BrokenPipeError` from
    writing it becomes :class:`OutputClosed`, so that one from a socket (a mail or
    SMS gateway) is never taken for the reader going away."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise OutputClosed from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def emit(
    args: Any, data: Any, human: Callable[[TextIO], object], out: TextIO | None = None
) -> None:
    """Print ``data`` as one JSON document when ``--json`` was given, else call ``human``."""
    stream = sys.stdout if out is None else out
    if getattr(args, "json", False):
        json.dump(to_plain(data), stream, ensure_ascii=False, indent=2, sort_keys=True)
        stream.write("\n")
    else:
        human(stream)


def table(out: TextIO, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain left-aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def key_values(out: TextIO, pairs: Sequence[tuple[str, Any]]) -> None:
    """Aligned ``key: value`` lines."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        out.write(f"{key + ':':<{width + 1}} {'' if value is None else value}\n")
