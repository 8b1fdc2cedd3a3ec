"""Which mobile network a phone number belongs to (today: is it Viettel?).

Viettel caps advertising SMS per subscriber, so the quota policy must know which
numbers are Viettel's. Two sources are combined, either one is enough:

* the prefix list Viettel publishes: national numbers starting 086, 096, 097,
  098 and 032-039 (:data:`VIETTEL_NSN_PREFIXES`, without the trunk ``0``);
* the carrier data shipped with :mod:`phonenumbers` (it may add ranges).

The check runs once per message, so the carrier-data answer is cached per number
prefix (carrier data is prefix based). Numbers moved to another network keep
their prefix; nothing here can see that.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

__all__ = ["VIETTEL_NSN_PREFIXES", "is_viettel"]

VIETTEL_NSN_PREFIXES: frozenset[str] = frozenset(
    {"86", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39"}
)
"""Viettel mobile prefixes of the national significant number (086 -> ``86``)."""

_VN_PREFIX = "+84"
# Vietnamese mobile national significant numbers have nine digits.
_VN_MOBILE_NSN_LENGTH = 9
# Carrier data and mobile-number patterns for Vietnam depend on at most 3 NSN digits;
# caching per 5 leaves room for finer data.
_CARRIER_KEY_DIGITS = 5


@lru_cache(maxsize=4096)
def _carrier_says_viettel(prefix: str) -> bool:
    """Carrier-data answer for every +84 number whose NSN starts with ``prefix``."""
    sample = prefix.ljust(_VN_MOBILE_NSN_LENGTH, "0")
    try:
        number = phonenumbers.parse(_VN_PREFIX + sample, None)
    except phonenumbers.NumberParseException:
        return False
    # name_for_number also checks the sample is a valid mobile number; for nine
    # digit Vietnamese numbers validity, like the carrier, depends on the prefix only.
    # The carrier data loads on first use: most engines never send advertising SMS.
    from phonenumbers import carrier

    name = carrier.name_for_number(number, "en")
    return name.lower().startswith("viettel")


def is_viettel(e164: str) -> bool:
    """True when ``e164`` (``"+84961234567"``) is a Viettel mobile number.

    Anything that is not a nine-digit Vietnamese mobile number in E.164 form
    (other countries, landlines, malformed text) is not Viettel.
    """
    if not e164.startswith(_VN_PREFIX):
        return False
    nsn = e164[len(_VN_PREFIX) :]
    if len(nsn) != _VN_MOBILE_NSN_LENGTH or not nsn.isascii() or not nsn.isdigit():
        return False
    if nsn[:2] in VIETTEL_NSN_PREFIXES:
        return True
    return _carrier_says_viettel(nsn[:_CARRIER_KEY_DIGITS])
