"""Viettel number detection: the published prefixes plus phonenumbers' carrier data."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import carrier

from massreach.core.carriers import VIETTEL_NSN_PREFIXES, is_viettel


@pytest.mark.parametrize(
    "prefix", ["086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039"]
)
def test_published_viettel_prefixes(prefix: str) -> None:
    assert is_viettel("+84" + prefix[1:] + "1234567")


@pytest.mark.parametrize(
    "number",
    [
        "+84901234567",  # MobiFone
        "+84911234567",  # Vinaphone
        "+84701234567",  # MobiFone
        "+84521234567",  # Vietnamobile
        "+84241234567",  # Hanoi landline
        "+8496123456",  # too short
        "+849612345678",  # too long
        "+84 961234567",  # not E.164
        "0961234567",  # national form
        "+4896123456789",  # another country
        "+84９61234567",  # non-ASCII digit
        "",
    ],
)
def test_not_viettel(number: str) -> None:
    assert not is_viettel(number)


def test_carrier_data_adds_ranges() -> None:
    # 031 is not in the published list, phonenumbers' carrier data says Viettel
    assert "31" not in VIETTEL_NSN_PREFIXES
    assert is_viettel("+84311234567")
    # ... while 030 inside the 03x block is MobiFone there
    assert not is_viettel("+84301234567")


def _carrier_viettel(e164: str) -> bool:
    number = phonenumbers.parse(e164, None)
    return carrier.name_for_number(number, "en").lower().startswith("viettel")


@given(st.text("0123456789", min_size=9, max_size=9))
def test_agrees_with_prefix_list_or_carrier_data(nsn: str) -> None:
    e164 = "+84" + nsn
    expected = nsn[:2] in VIETTEL_NSN_PREFIXES or _carrier_viettel(e164)
    assert is_viettel(e164) == expected
    assert is_viettel(e164) == is_viettel(e164)  # the cached answer is the same


@given(
    st.sampled_from(["+1", "+48", "+86", "+840", "+8", "+85"]),
    st.text("0123456789", min_size=6, max_size=12),
)
def test_other_countries_are_never_viettel(code: str, rest: str) -> None:
    if (code + rest).startswith("+84") and code != "+840":
        return
    assert not is_viettel(code + rest)
