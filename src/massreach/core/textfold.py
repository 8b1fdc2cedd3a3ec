"""Accent- and case-insensitive text for search ("Khuyến mãi" finds "khuyen mai").

:func:`fold` casefolds, decomposes (NFKD, so full-width and ligature forms fold
too), drops combining marks and maps the Latin letters Unicode does not
decompose (``đ``, ``ł``, ``ø``, ``æ``, ``ß`` …) to their plain base letters.
:func:`strip_accents` does the same without changing case. Both are pure and
leave scripts without accents (Chinese, Cyrillic letters without diacritics) as
they are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["LATIN_BASE_LETTERS", "contains_folded", "fold", "strip_accents"]

#: Latin letters with a stroke or ligature that NFKD leaves alone, and their base letters.
LATIN_BASE_LETTERS: Mapping[str, str] = MappingProxyType(
    {
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "ẞ": "SS",
        "þ": "th",
        "Þ": "TH",
        "ħ": "h",
        "Ħ": "H",
        "ı": "i",
        "ŧ": "t",
        "Ŧ": "T",
        "ƀ": "b",
        "Ɨ": "I",
        "ɨ": "i",
        "ƒ": "f",
        "ĸ": "k",
        "ŋ": "n",
        "Ŋ": "N",
    }
)

_BASE_TABLE = str.maketrans(dict(LATIN_BASE_LETTERS))
_MARKS = frozenset({"Mn", "Mc", "Me"})


def _strip_slowly(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_BASE_TABLE))
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _MARKS)
    return unicodedata.normalize("NFC", kept)


# In Latin (Vietnamese included), combining marks and general punctuation, every
# character strips on its own (nothing there composes with a neighbour once marks
# are dropped), so one translate table does the work of NFKD, dropping and NFC.
_TABLE_RANGES = ((0x00A0, 0x0250), (0x0300, 0x0370), (0x1E00, 0x1F00), (0x2000, 0x2070))
_STRIP_TABLE: dict[int, str] = {
    cp: stripped
    for start, stop in _TABLE_RANGES
    for cp in range(start, stop)
    if (stripped := _strip_slowly(chr(cp))) != chr(cp)
}
_OUTSIDE_TABLE = re.compile("[^\x00-\u024f\u0300-\u036f\u1e00-\u1eff\u2000-\u206f]")


def strip_accents(text: str) -> str:
    """``text`` without diacritics, in NFC: "Nguyễn Văn Á" -> "Nguyen Van A".

    Compatibility forms are decomposed too (full-width ``Ａ`` -> ``A``).
    """
    if text.isascii():
        return text
    if _OUTSIDE_TABLE.search(text) is None:
        return text.translate(_STRIP_TABLE)
    return _strip_slowly(text)


def fold(text: str) -> str:
    """``text`` casefolded and without accents, for accent-insensitive comparison.

    ``fold("Khuyến MÃI") == fold("khuyen mai") == "khuyen mai"``.
    """
    if text.isascii():
        return text.casefold()
    folded = strip_accents(text).casefold()
    return folded if folded.isascii() else strip_accents(folded)


def contains_folded(haystack: str, needle: str) -> bool:
    """True when ``needle`` occurs in ``haystack`` ignoring case and accents."""
    return fold(needle) in fold(haystack)
