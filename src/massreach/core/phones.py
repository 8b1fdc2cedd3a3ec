"""Phone numbers to E.164 and e-mail addresses checked, for imported rows.

The meaning of "valid phone number" is phonenumbers': :class:`PhoneNormalizer`
gives exactly what ``phonenumbers.parse(text, default_region)`` +
``is_valid_number`` + ``format_number(..., E164)`` give, after removing what Excel
does to numbers (see :func:`clean_excel_number`). Most numbers take the compiled
fast path of :mod:`massreach.core.phone_patterns`; the rest go to phonenumbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers

from massreach.core.masking import mask_email, mask_phone
from massreach.core.phone_patterns import FastPhoneParser, supported_region
from massreach.errors import InvalidInput, RowError

__all__ = [
    "PhoneNormalizer",
    "clean_excel_number",
    "email_key",
    "is_valid_email",
    "normalize_email",
    "phonenumbers_e164",
    "shortened_by_excel",
]

_EXCEL_FLOAT = re.compile(r"([0-9]+)\.0+")
_EXCEL_EXPONENT = re.compile(r"([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})")
# E-mail: dot-separated atoms (RFC 5322 atext, plus any non-ASCII letter), "@",
# two or more labels of letters/digits with inner hyphens. Possessive quantifiers:
# the patterns never backtrack. ASCII addresses take the cheaper ASCII pattern.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_ASCII_ATOM = f"[{_ATEXT}]++"
_ASCII_LABEL = "[A-Za-z0-9]++(?:-++[A-Za-z0-9]++)*+"
_ANY_ATOM = rf"(?:[{_ATEXT}]|[^\x00-\x7f\s])++"
_ANY_LABEL = r"[^\W_]++(?:-++[^\W_]++)*+"
_EMAIL_ASCII = re.compile(
    rf"{_ASCII_ATOM}(?:\.{_ASCII_ATOM})*+@(?:{_ASCII_LABEL}\.)++{_ASCII_LABEL}"
)
_EMAIL_ANY = re.compile(rf"{_ANY_ATOM}(?:\.{_ANY_ATOM})*+@(?:{_ANY_LABEL}\.)++{_ANY_LABEL}")
_MAX_EMAIL = 254
_MAX_LOCAL = 64


def clean_excel_number(text: str) -> str:
    """Undo what spreadsheets do to phone numbers; anything else is returned stripped.

    * a leading apostrophe (Excel's "store as text" marker) is removed;
    * a number stored as a float, ``"84912345678.0"``, loses the ``.0``;
    * scientific notation that writes every digit of an integer,
      ``"8.4912345678E+10"``, becomes its digits (``"84912345678"``). Notation that
      does not, ``"8.49123E+10"`` (Excel's General format in a narrow column), is
      left alone, so the number is invalid: its last digits are lost, and making
      them zeros would send to somebody else (:func:`shortened_by_excel`).
    """
    s = text.strip()
    if s.startswith("'"):
        s = s[1:].strip()
    if "." in s or "e" in s or "E" in s:
        found = _EXCEL_FLOAT.fullmatch(s)
        if found is not None:
            return found.group(1)
        found = _EXCEL_EXPONENT.fullmatch(s)
        if found is not None:
            fraction = found.group(2) or ""
            exponent = int(found.group(3))
            if len(fraction) >= exponent and not fraction[exponent:].strip("0"):
                return found.group(1) + fraction[:exponent]
    return s


def shortened_by_excel(text: str) -> bool:
    """True for a number in scientific notation with fewer digits than it stands
    for, ``"8.49123E+10"``: what Excel writes for a long number it shows in General
    format. The digits it dropped cannot be known."""
    s = text.strip().removeprefix("'").strip()
    found = _EXCEL_EXPONENT.fullmatch(s)
    return found is not None and len(found.group(2) or "") < int(found.group(3))


def phonenumbers_e164(text: str, region: str) -> str:
    """The reference: phonenumbers' E.164 for ``text``, or ``""`` if it is not valid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneNormalizer:
    """Phone numbers as written in customer files → E.164.

    ``PhoneNormalizer("VN").normalize("091 234 5678") == "+84912345678"``. Numbers
    without a country code are read as numbers of ``default_region``.
    """

    __slots__ = ("_fast", "default_region")

    def __init__(self, default_region: str = "VN") -> None:
        if not isinstance(default_region, str) or not supported_region(default_region):
            raise InvalidInput(
                f"Unknown region {default_region!r} for phone numbers; "
                "use a two-letter country code such as VN, CN or PL.",
                code="phone.unknown_region",
                details={"region": default_region},
            )
        self.default_region = default_region.upper()
        self._fast = FastPhoneParser(self.default_region).e164

    def e164_or_none(self, raw: str) -> str | None:
        """E.164 text of ``raw``, or None when it is not a valid phone number."""
        # The fast path refuses apostrophes and letters, so only "123.0" floats
        # need the Excel clean-up before it.
        if not ("." in raw and _EXCEL_FLOAT.fullmatch(raw.strip())):
            result = self._fast(raw)
            if result is not None:
                return result or None
        text = clean_excel_number(raw)
        result = self._fast(text)
        if result is None:
            result = phonenumbers_e164(text, self.default_region)
        return result or None

    def e164_many(self, cells: Sequence[str]) -> list[str | None]:
        """``[self.e164_or_none(c) for c in cells]``, a column at a time.

        The common cells are decided with a few C-level passes over the whole
        column (:mod:`massreach.core.phone_batch`); the others by ``e164_or_none``.
        """
        from massreach.core.phone_batch import phone_column

        return phone_column(self.default_region).e164_many(cells)

    def normalize(self, raw: str) -> str:
        """E.164 text of ``raw``; raises :class:`RowError` ``phone.invalid`` otherwise.

        The error carries the masked value in ``details["value"]``; the caller adds
        the row and column.
        """
        result = self.e164_or_none(raw)
        if result is None:
            raise RowError(
                f"{mask_phone(raw)!s} is not a valid phone number "
                f"(numbers without a country code are read as {self.default_region} numbers).",
                code="phone.invalid",
                details={"value": mask_phone(raw), "region": self.default_region},
            )
        return result


def normalize_email(raw: str) -> str:
    """``raw`` trimmed, as written; raises :class:`RowError` ``email.invalid``.

    Accepted: ``local@domain`` where the local part is dot-separated pieces of
    letters, digits and ``!#$%&'*+/=?^_`{|}~-`` (international letters allowed),
    and the domain has at least two labels of letters, digits and inner hyphens,
    the last one not all digits. At most 254 characters, local part at most 64.
    """
    text = raw.strip()
    if not is_valid_email(text):
        raise RowError(
            f"{mask_email(text)} is not a valid e-mail address.",
            code="email.invalid",
            details={"value": mask_email(text)},
        )
    return text


def is_valid_email(text: str) -> bool:
    """Whether ``text`` (already trimmed) passes :func:`normalize_email`."""
    if len(text) > _MAX_EMAIL:
        return False
    if (_EMAIL_ASCII if text.isascii() else _EMAIL_ANY).fullmatch(text) is None:
        return False
    # One "@" only, and the last dot is in the domain: the patterns guarantee both.
    return text.index("@") <= _MAX_LOCAL and not text[text.rindex(".") + 1 :].isdigit()


def email_key(email: str) -> str:
    """The comparison key of an address: trimmed and case-folded."""
    return email.strip().casefold()
