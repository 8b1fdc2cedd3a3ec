"""Masking: phone numbers and e-mail addresses never shown in full."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.masking import mask_email, mask_phone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15812340810", "158****0810"),
        ("158 1234 0810", "158****0810"),
        ("+84912345678", "+849****5678"),
        ("+8615812340810", "+861******0810"),
        ("0912345678", "091****678"),
        ("12345678", "12****78"),
        ("1234567", "1****67"),
        ("12345", "****5"),
        ("1234", "****"),
        ("12", "**"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(value: str | None, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane@example.com", "j***@example.com"),
        ("j@example.com", "***@example.com"),
        ("no-at-sign", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email(value: str | None, expected: str) -> None:
    assert mask_email(value) == expected


@given(st.text(max_size=40))
def test_a_masked_phone_never_holds_a_complete_number(value: str) -> None:
    masked = mask_phone(value)
    for number in re.findall(r"[0-9]{7,}", value):
        assert number not in masked
    digits = "".join(ch for ch in value if "0" <= ch <= "9")
    if len(digits) >= 7:
        assert digits not in masked
    assert sum(ch.isdigit() for ch in masked) <= max(0, len(digits) - 4)


@given(st.text("0123456789 +-", min_size=7, max_size=20))
def test_at_least_four_digits_are_hidden(value: str) -> None:
    masked = mask_phone(value)
    digits = sum(ch.isdigit() for ch in value)
    assert masked.count("*") >= min(4, max(digits, 1))


@given(st.emails())
def test_a_masked_email_hides_the_local_part(value: str) -> None:
    local = value.rpartition("@")[0]
    masked = mask_email(value)
    assert masked.endswith("@" + value.rpartition("@")[2])
    if len(local) > 1:
        assert local not in masked.rpartition("@")[0]
