"""Phone numbers: the fast path gives exactly phonenumbers' answer, or says "not sure"."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS
from tests.core.phone_examples import example_numbers

from massreach.core.phone_patterns import INVALID, FastPhoneParser
from massreach.core.phones import (
    PhoneNormalizer,
    clean_excel_number,
    email_key,
    normalize_email,
    phonenumbers_e164,
    shortened_by_excel,
)
from massreach.errors import InvalidInput, RowError

REGIONS = ["VN", "CN", "PL", "US", "GB", "DE", "FR", "IN", "TH", "ID", "CA", "IT", "AU", "BR", "RU"]
ALL_REGIONS = sorted(SUPPORTED_REGIONS)
EXAMPLES = [number for region in ALL_REGIONS for number in example_numbers(region)]
FORMATS = [PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL]
PARSERS = {region: FastPhoneParser(region) for region in ALL_REGIONS}


def reference(text: str, region: str) -> str:
    """phonenumbers' answer after the Excel clean-up: E.164 or "" (invalid)."""
    return phonenumbers_e164(clean_excel_number(text), region)


def assert_agrees(text: str, region: str) -> None:
    expected = reference(text, region)
    fast = PARSERS[region].e164(clean_excel_number(text))
    if fast is not None:
        assert fast == expected, (text, region)
    full = PhoneNormalizer(region).e164_or_none(text)
    assert full == (expected or None), (text, region)


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    "text",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0084912345678",
        "091 234 5678",
        "091-234-5678",
        "091.234.5678",
        "(091) 234 5678",
        "+84 (0) 91 234 5678",
        "84912345678.0",
        "8.4912345678E+10",
        "912345678.0",
        "'0912345678",
        " 0912345678 ",
    ],
)
def test_vietnamese_mobile_in_every_common_shape(text: str) -> None:
    assert PhoneNormalizer("VN").normalize(text) == "+84912345678"


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "VN", "+8613800138000"),
        ("512 345 678", "PL", "+48512345678"),
        ("0048 512 345 678", "PL", "+48512345678"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("1 201 555 0123", "US", "+12015550123"),
        ("011 84 91 234 5678", "US", "+84912345678"),
        ("07400 123456", "GB", "+447400123456"),
        ("+44 20 7946 0958", "VN", "+442079460958"),
    ],
)
def test_other_regions(text: str, region: str, expected: str) -> None:
    assert PhoneNormalizer(region).normalize(text) == expected


@pytest.mark.parametrize("text", ["", "0912", "n/a", "091234567890123", "+999 123 456", "abc"])
def test_invalid_numbers_raise_a_row_error_with_the_value_masked(text: str) -> None:
    with pytest.raises(RowError) as caught:
        PhoneNormalizer("VN").normalize(text)
    assert caught.value.code == "phone.invalid"
    assert caught.value.details["region"] == "VN"
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 7:
        assert digits not in str(caught.value) and digits not in str(caught.value.details)


def test_a_valid_length_but_unassigned_range_is_invalid_like_phonenumbers() -> None:
    # 10 digits starting 02 is the right length for a VN landline area but
    # 0200... is not a number type phonenumbers accepts.
    assert reference("0200 000 000", "VN") == ""
    assert PhoneNormalizer("VN").e164_or_none("0200 000 000") is None


def test_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        PhoneNormalizer("XX")
    assert caught.value.code == "phone.unknown_region"


def test_region_is_case_insensitive() -> None:
    assert PhoneNormalizer("vn").normalize("0912345678") == "+84912345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("84912345678.0", "84912345678"),
        ("84912345678.00", "84912345678"),
        ("8.4912345678E+10", "84912345678"),
        ("8.4912345678e10", "84912345678"),
        ("8.4912345670E+10", "84912345670"),  # a zero written is a digit given
        ("8.49123456780E+10", "84912345678"),
        ("8.49123E+10", "8.49123E+10"),  # digits lost: never filled with zeros
        ("8.491234567E+10", "8.491234567E+10"),
        ("1.5E+2", "1.5E+2"),
        ("1.23456E+2", "1.23456E+2"),
        ("'0912", "0912"),
        ("091.234.5678", "091.234.5678"),
    ],
)
def test_excel_clean_up(text: str, expected: str) -> None:
    assert clean_excel_number(text) == expected


@pytest.mark.parametrize(
    ("text", "shortened"),
    [
        ("8.49123E+10", True),
        (" '8.49123E+10 ", True),
        ("9.12346e8", True),
        ("8.4912345678E+10", False),
        ("84912345678", False),
        ("0912 345 678", False),
        ("1.5", False),
    ],
)
def test_numbers_excel_shortened_are_told_apart(text: str, shortened: bool) -> None:
    assert shortened_by_excel(text) is shortened
    if shortened:
        assert PhoneNormalizer("VN").e164_or_none(text) is None


def test_the_fast_path_is_sure_about_common_shapes() -> None:
    fast = FastPhoneParser("VN")
    shapes = ["0912345678", "+84912345678", "84912345678", "091 234 5678", "(091) 234-5678"]
    assert all(fast.e164(s) == "+84912345678" for s in shapes)
    assert fast.e164("0912") == INVALID
    # Letters, extensions and full-width digits are left to phonenumbers.
    assert fast.e164("0912 345 678 ext. 12") is None
    assert fast.e164("０９１２３４５６７８") is None


# ------------------------------------------------ exhaustive over real formats


def test_every_example_number_in_every_format_agrees_for_every_region() -> None:
    for number in EXAMPLES:
        home = phonenumbers.region_code_for_number(number) or "VN"
        for fmt in FORMATS:
            text = phonenumbers.format_number(number, fmt)
            for region in {home, "VN", "US", "GB"}:
                if region in SUPPORTED_REGIONS:
                    assert_agrees(text, region)
                    assert_agrees(text.lstrip("+"), region)


# ------------------------------------------------------------- properties

_SEPARATORS = st.sampled_from(["", "", "", " ", "-", ".", "(", ")", "  "])


@st.composite
def formatted_digits(draw: st.DrawFn, digits: str) -> str:
    """``digits`` with random separators between them and a random prefix."""
    out = [draw(st.sampled_from(["", "", "+", "00", "0", "+0", "011", "(", "'"]))]
    for ch in digits:
        out.append(ch)
        out.append(draw(_SEPARATORS))
    return "".join(out)


@given(
    digits=st.text("0123456789", min_size=1, max_size=19),
    region=st.sampled_from(REGIONS),
    data=st.data(),
)
def test_random_digits_with_random_formatting(
    digits: str, region: str, data: st.DataObject
) -> None:
    assert_agrees(data.draw(formatted_digits(digits)), region)


@st.composite
def real_numbers(draw: st.DrawFn) -> str:
    """An example number of some region and type, written in some format, maybe perturbed."""
    number = draw(st.sampled_from(EXAMPLES))
    text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    prefix = draw(st.sampled_from(["keep", "bare", "00", "011", "0", "+0"]))
    if text.startswith("+") and prefix != "keep":
        text = ("" if prefix == "bare" else prefix) + text[1:]
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    edit = draw(st.sampled_from(["none", "change", "insert", "delete", "swap"]))
    if edit != "none" and positions:
        i = draw(st.sampled_from(positions))
        digit = draw(st.sampled_from("0123456789"))
        if edit == "change":
            text = text[:i] + digit + text[i + 1 :]
        elif edit == "insert":
            text = text[:i] + digit + text[i:]
        elif edit == "delete":
            text = text[:i] + text[i + 1 :]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


@settings(max_examples=300)
@given(text=real_numbers(), region=st.sampled_from(REGIONS))
def test_real_format_numbers_and_perturbations(text: str, region: str) -> None:
    assert_agrees(text, region)


@settings(max_examples=200)
@given(text=real_numbers(), region=st.sampled_from(ALL_REGIONS))
def test_real_format_numbers_read_from_any_region(text: str, region: str) -> None:
    assert_agrees(text, region)


@given(
    national=st.text("0123456789", min_size=6, max_size=12),
    region=st.sampled_from(REGIONS),
    data=st.data(),
)
def test_numbers_with_the_home_country_code_and_no_plus(
    national: str, region: str, data: st.DataObject
) -> None:
    code = str(phonenumbers.country_code_for_region(region))
    shapes = [code + national, code + "0" + national, "+" + code + national]
    written = data.draw(st.sampled_from(shapes))
    assert_agrees(written, region)


@given(text=st.text(max_size=40), region=st.sampled_from(REGIONS))
def test_any_text_gives_the_reference_answer_and_never_crashes(text: str, region: str) -> None:
    assert_agrees(text, region)


@given(text=st.text(st.sampled_from("0123456789 +-.()'eE"), max_size=25))
def test_number_like_text(text: str) -> None:
    assume(text.strip())
    assert_agrees(text, "VN")


# ------------------------------------------------------------------ email


@pytest.mark.parametrize(
    "text",
    ["jan@example.com", " Jan.Kowalski@Example.PL ", "a+b@mail.co.uk", "nguyễn@ví-dụ.vn", "x@b.io"],
)
def test_valid_emails_are_trimmed_and_kept_as_written(text: str) -> None:
    assert normalize_email(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["", "jan", "jan@", "@example.com", "jan@example", "a b@example.com", "a..b@example.com",
     "jan@@example.com", "jan@-example.com", "jan@example.123", "<jan@example.com>"],
)  # fmt: skip
def test_invalid_emails(text: str) -> None:
    with pytest.raises(RowError) as caught:
        normalize_email(text)
    assert caught.value.code == "email.invalid"


def test_email_key_ignores_case_and_spaces() -> None:
    assert email_key(" Jan.Kowalski@Example.PL") == email_key("jan.kowalski@example.pl")


@given(st.text(max_size=40))
def test_normalize_email_raises_only_row_errors(text: str) -> None:
    try:
        assert normalize_email(text) == text.strip()
    except RowError as exc:
        assert exc.code == "email.invalid"
