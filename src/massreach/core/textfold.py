"""Accent- and case-insensitive text for search ("Khuyến mãi" finds "khuyen mai").

:func:`fold` casefolds, decomposes (NFKD, so full-width and ligature forms fold
too), drops combining marks and maps the Latin letters Unicode does not
decompose (``đ``, ``ł``, ``ø``, ``æ``, ``ß`` …) to their plain base letters.
:func:`strip_accents` does the same without changing case. Both are pure and
leave scripts without accents (Chinese, Cyrillic letters without diacritics) as
they are.
"""

from __future__ import annotations

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


def strip_accents(text: str) -> str:
    """``text`` without diacritics, in NFC: "Nguyễn Văn Á" -> "Nguyen Van A".

    Compatibility forms are decomposed too (full-width ``Ａ`` -> ``A``).
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_BASE_TABLE))
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _MARKS)
    return unicodedata.normalize("NFC", kept)


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
