"""A column of e-mail addresses checked in one scan (the import's common case).

:func:`all_valid_emails` answers "is every written address valid?" for a whole
column with one regular-expression scan of the joined cells, instead of one
:func:`~massreach.core.phones.is_valid_email` call per cell. The line pattern has
every rule of ``is_valid_email`` for ASCII text, so a line it matches is a valid
address; when the column is not plain ASCII, a cell holds a line break, or some
line does not match, the answer is False ("ask per cell"), never a wrong True.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from massreach.core.phones import _ASCII_ATOM, _ASCII_LABEL, _MAX_EMAIL, _MAX_LOCAL

__all__ = ["all_valid_emails"]

# One ASCII line: at most 254 characters, at most 64 before the first "@",
# dot-separated atoms, "@", two or more labels, the last one not all digits.
_EMAIL_LINE = re.compile(
    rf"^(?=[^\n]{{1,{_MAX_EMAIL}}}$)(?=[^@\n]{{0,{_MAX_LOCAL}}}@)"
    rf"{_ASCII_ATOM}(?:\.{_ASCII_ATOM})*+@(?:{_ASCII_LABEL}\.)++(?![0-9]++$){_ASCII_LABEL}$",
    re.MULTILINE,
)


def all_valid_emails(cells: Sequence[str]) -> bool:
    """Whether every non-empty cell (already trimmed) is a valid address; False
    also when the scan cannot tell (see the module doc)."""
    if not cells:
        return True
    text = "\n".join(cells)
    if not text.isascii() or text.count("\n") != len(cells) - 1:
        return False
    written = sum(map(bool, cells))
    return len(_EMAIL_LINE.findall(text)) == written
