"""phonenumbers' own example numbers, one per number type a region has."""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneNumberType

TYPES = [
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]


@functools.cache
def example_numbers(region: str) -> list[phonenumbers.PhoneNumber]:
    """The example number of each of :data:`TYPES` that ``region`` has, in that order."""
    found = (phonenumbers.example_number_for_type(region, kind) for kind in TYPES)
    return [number for number in found if number is not None]
