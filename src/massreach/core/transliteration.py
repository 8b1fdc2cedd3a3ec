"""Transliteration to GSM-7, so a text costs 160/153 characters per SMS instead of 70/67.

``to_gsm7("Nguyễn Văn Á") == "Nguyen Van A"``.

What happens to each character:

* GSM-7 characters stay, except that by default accented letters lose their
  accents even when GSM-7 has them (``é`` -> ``e``), so that Vietnamese text is
  consistently written without diacritics ("không dấu"); pass
  ``keep_accents=True`` to keep ``é ü ñ Ø …`` where GSM-7 can carry them.
* Latin letters with diacritics lose them (Vietnamese, Polish, Czech, French,
  German …); letters Unicode does not decompose are mapped by hand
  (``đ Đ ł Ł ø æ œ ß þ`` …); compatibility forms are decomposed (full-width
  ``Ａ`` -> ``A``, ``ﬁ`` -> ``fi``, ``…`` -> ``...``).
* Typographic punctuation becomes its ASCII look-alike (curly quotes,
  dashes, bullets, ``₫`` -> ``d``), unusual spaces become a space, tab becomes
  a space, line and paragraph separators become a line feed, and Greek
  capitals that look like Latin letters become those letters.
* Combining marks, invisible format characters (zero-width joiners, BOM)
  and control characters are dropped.
* Anything else (CJK, Cyrillic, emoji …) becomes ``replacement``, one per code
  point: ``"?"`` by default, which keeps a loss visible; ``""`` drops it.

The result is always pure GSM-7 (:func:`massreach.core.segments.is_gsm7`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from massreach.core.segments import GSM7_BASIC, GSM7_EXTENSION, is_gsm7
from massreach.core.textfold import LATIN_BASE_LETTERS
from massreach.errors import InvalidInput

__all__ = ["to_gsm7"]

_GSM = frozenset(GSM7_BASIC + GSM7_EXTENSION)
#: GSM-7 characters that are letters with an accent or ligatures; dropped by default.
_GSM_ACCENTED = frozenset("èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà")
_GSM_PLAIN = _GSM - _GSM_ACCENTED

_SPECIAL: Mapping[str, str] = MappingProxyType(
    {
        **LATIN_BASE_LETTERS,
        **dict.fromkeys("‘’‚‛′‵`´ʹʻʼ", "'"),
        **dict.fromkeys("“”„‟″‶«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("•‣◦∙", "*"),
        **dict.fromkeys("\u2028\u2029\x85\v", "\n"),
        "\t": " ",
        "·": ".",
        "⁄": "/",
        "÷": "/",
        "×": "x",
        "¦": "|",
        "¢": "c",
        "©": "(c)",
        "®": "(R)",
        "₫": "d",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)

_DROPPED_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf", "Cc"})


def _convert(ch: str, keep_accents: bool, replacement: str) -> str:
    """One character as GSM-7 text (possibly empty or several characters)."""
    if ch in _GSM_PLAIN or (keep_accents and ch in _GSM):
        return ch
    special = _SPECIAL.get(ch)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed != ch:
        return "".join(_convert(d, keep_accents, replacement) for d in decomposed)
    category = unicodedata.category(ch)
    if category in _DROPPED_CATEGORIES:
        return ""
    if category.startswith("Z"):
        return " "
    return replacement


_RANGES = (
    range(0x0000, 0x0250),  # Latin-1, Latin Extended-A and -B
    range(0x0370, 0x0400),  # Greek
    range(0x1E00, 0x1F00),  # Latin Extended Additional (Vietnamese)
    range(0x2000, 0x20D0),  # punctuation, super/subscripts, currency
    range(0x2100, 0x2150),  # letterlike symbols
    range(0xFF00, 0xFF5F),  # full-width ASCII
)


# Stands for "no GSM-7 form" inside the tables; NUL itself is dropped from input.
_LOST = "\x00"


def _table(keep_accents: bool, code_points: Iterable[int]) -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in code_points:
        ch = chr(cp)
        out = _convert(ch, keep_accents, _LOST)
        if out != ch:
            table[cp] = out
    return table


_KEPT = _GSM | {_LOST}
_ALL_POINTS = [cp for r in _RANGES for cp in r]
# Plain dicts (never mutated): str.translate is much faster on a dict than on a proxy.
_TABLES: tuple[dict[int, str], dict[int, str]] = (
    _table(False, _ALL_POINTS),
    _table(True, _ALL_POINTS),
)


def to_gsm7(text: str, *, keep_accents: bool = False, replacement: str = "?") -> str:
    """``text`` rewritten in the GSM-7 alphabet (see the module doc for the rules).

    ``replacement`` stands for each character that has no GSM-7 form; it must
    itself be GSM-7 (``""`` drops such characters), else :class:`InvalidInput`.
    """
    if not is_gsm7(replacement):
        raise InvalidInput(
            "The replacement for characters SMS cannot carry must itself be GSM-7.",
            code="transliteration.bad_replacement",
            details={"replacement": replacement},
        )
    keep = bool(keep_accents)
    out = text.translate(_TABLES[keep])
    if not is_gsm7(out):
        out = "".join(ch if ch in _KEPT else _convert(ch, keep, _LOST) for ch in out)
    if _LOST in out:
        out = out.replace(_LOST, replacement)
    return out
