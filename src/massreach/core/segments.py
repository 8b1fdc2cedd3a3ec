"""SMS segment accounting (GSM 03.38 / 3GPP TS 23.038), for preview and cost.

A text is sent as **GSM-7** when every character is in the GSM default alphabet
or its extension table, otherwise as **UCS-2**.

* GSM-7: a basic character is one septet; an extension character
  (``^ { } \\ [ ~ ] | €`` and form feed) is two (escape + character). One message
  holds 160 septets; a longer text is split into parts of 153 septets (the
  rest is the concatenation header), and an escape pair is never split across
  parts, so a part may hold only 152.
* UCS-2: counted in UTF-16 code units (an emoji outside the BMP is 2). One
  message holds 70; parts hold 67, and a surrogate pair is never split.

Decisions:

* Only the default alphabet counts; national language shift tables (Turkish,
  Spanish, Portuguese …) are not used, as most gateways do not.
* ``ESC`` (U+001B) typed into a text is not a character but the escape code
  itself; a text containing it is counted as UCS-2.
* The empty text is one GSM-7 segment of 0 characters: gateways bill an empty
  message as one.
"""

from __future__ import annotations

import re
from typing import Literal

from attrs import field, frozen, validators

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SegmentCount",
    "count_segments",
    "gsm7_length",
    "is_gsm7",
]

#: The GSM 03.38 default alphabet in code order 0x00..0x7F, without ESC (0x1B).
GSM7_BASIC: str = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The characters of the extension table: each costs two septets.
GSM7_EXTENSION: str = "\f^{}\\[~]|€"

_GSM_CLASS = re.escape(GSM7_BASIC + GSM7_EXTENSION)
_NOT_GSM = re.compile(f"[^{_GSM_CLASS}]")
_EXTENSION = re.compile(f"[{re.escape(GSM7_EXTENSION)}]")
_EXTENSION_SET = frozenset(GSM7_EXTENSION)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

_GSM_SINGLE, _GSM_PART = 160, 153
_UCS_SINGLE, _UCS_PART = 70, 67


def _positive(_instance: object, attribute: object, value: int) -> None:
    if value < 1:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be at least 1")


@frozen
class SegmentCount:
    """How a text goes out as SMS.

    ``characters`` is septets for GSM-7 and UTF-16 code units for UCS-2;
    ``per_segment`` is the capacity of one segment at that size (160/153 or 70/67).
    """

    encoding: Literal["GSM-7", "UCS-2"] = field(validator=validators.in_(("GSM-7", "UCS-2")))
    characters: int = field(validator=validators.ge(0))
    segments: int = field(validator=_positive)
    per_segment: int = field(validator=_positive)


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 default alphabet or extension."""
    return _NOT_GSM.search(text) is None


def gsm7_length(text: str) -> int:
    """Septets ``text`` takes in GSM-7 (extension characters count 2).

    Only meaningful when :func:`is_gsm7` is true.
    """
    return len(text) + len(_EXTENSION.findall(text))


def _parts(costs: list[int], capacity: int) -> int:
    """Parts needed when no unit of ``costs`` may be split across parts."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            parts += 1
            used = cost
        else:
            used += cost
    return parts


def count_segments(text: str) -> SegmentCount:
    """Encoding, size and number of SMS segments ``text`` needs (see the module doc)."""
    if is_gsm7(text):
        septets = gsm7_length(text)
        if septets <= _GSM_SINGLE:
            return SegmentCount("GSM-7", septets, 1, _GSM_SINGLE)
        if septets == len(text):
            segments = -(-septets // _GSM_PART)
        else:
            segments = _parts([2 if c in _EXTENSION_SET else 1 for c in text], _GSM_PART)
        return SegmentCount("GSM-7", septets, segments, _GSM_PART)
    astral = len(_ASTRAL.findall(text))
    units = len(text) + astral
    if units <= _UCS_SINGLE:
        return SegmentCount("UCS-2", units, 1, _UCS_SINGLE)
    if not astral:
        segments = -(-units // _UCS_PART)
    else:
        segments = _parts([2 if ord(c) > 0xFFFF else 1 for c in text], _UCS_PART)
    return SegmentCount("UCS-2", units, segments, _UCS_PART)
