"""A column of e-mail addresses checked in one scan (the import's common case).

:func:`all_valid_emails` answers "is every written address valid?" for a whole
column with one regular-expression scan of the joined cells, instead of one
:func:`~massreach.core.phones.is_valid_email` call per cell. The line pattern has
every rule of ``is_valid_email`` for ASCII text, so a line it matches is a valid
address; when the column is not plain ASCII, a cell holds a line break, or some
line does not match, the answer is False ("ask per cell"), never a wrong True.

Before that scan, the usual column (addresses of letters, digits, ``. _ + -`` and
one "@", none longer than 68 characters) is recognised more cheaply: the joined
bytes are turned into character classes by ``bytes.translate``, and a few C-level
passes look for what a valid address of that kind cannot have (an empty atom or
label, a hyphen at a label's end, a domain without a dot or with "_", a last label
without a letter; also, more strictly than needed, two of ``. - @`` side by side).
Passing them proves each address valid; failing them only sends the column to the
line scan.
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


#: Each ASCII byte by its class: letter "a", digit "0", "_" for "_" and "+", and
#: ".", "-", "@" and the line break as themselves; any other byte is "!".
_CLASSES = bytes(
    ord("a") if chr(b).isascii() and chr(b).isalpha()
    else ord("0") if chr(b).isascii() and chr(b).isdigit()
    else ord("_") if chr(b) in "_+"
    else b if chr(b) in ".-@\n"
    else ord("!")
    for b in range(256)
)  # fmt: skip
#: The classes as punctuation ("S": a dot, a hyphen, "@" or a line break) or not.
_PUNCTUATION = bytes(ord("S") if chr(b) in ".-@\n" else ord("x") for b in range(256))
#: The longest address whose local part cannot be longer than allowed ("@x.yz").
_SHORT = _MAX_LOCAL + 4


def all_valid_emails(cells: Sequence[str]) -> bool:
    """Whether every non-empty cell (already trimmed) is a valid address; False
    also when the scan cannot tell (see the module doc)."""
    if not cells:
        return True
    text = "\n".join(cells)
    if not text.isascii() or text.count("\n") != len(cells) - 1:
        return False
    written = cells if all(cells) else [cell for cell in cells if cell]
    if not written or _common_addresses(written, text if written is cells else None):
        return True
    return len(_EMAIL_LINE.findall(text)) == len(written)


def _common_addresses(written: Sequence[str], text: str | None) -> bool:
    """True when every cell (written, ASCII, one line each; ``text``: them joined
    by line breaks, if at hand) is a valid address of the common kind: letters,
    digits, ``. _ + -`` and one "@", at most 68 characters, and no hyphen or dot
    where a label of the domain could not have it. Decided by C-level passes over
    the bytes' classes, not per cell; False says nothing (the line scan decides)."""
    if max(map(len, written)) > _SHORT:  # then the local part is at most 64 long
        return False
    classes = ("\n".join(written) if text is None else text).encode().translate(_CLASSES)
    count = len(written)
    if b"!" in classes or classes.translate(None, b"a0_.-") != b"@" + b"\n@" * (count - 1):
        return False  # another character, or not exactly one "@" per line
    # No two punctuation marks side by side, none first or last on a line: no empty
    # atom or label, no label with a hyphen at an end (nor, more than needed, a
    # "--" or an atom that starts or ends with a hyphen: those go to the line scan).
    if b"SS" in (b"\n" + classes + b"\n").translate(_PUNCTUATION):
        return False
    if b"@_" in classes.translate(None, b"a0.-"):
        return False  # "_" or "+" in a domain
    if classes.translate(None, b"a0-_").count(b"@.") != count:
        return False  # a domain without a dot
    # The last label has a letter: with only letters, dots and line breaks kept,
    # no line ends with its dot (each line's last dot is in its domain).
    return b".\n" not in classes.translate(None, b"0-_@") + b"\n"
