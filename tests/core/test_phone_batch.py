"""Phone numbers a column at a time: exactly ``e164_or_none`` of every cell."""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS
from tests.core.phone_examples import example_numbers

from massreach.core.phone_batch import _PLUS, PhoneColumn, _NsnLanguages, phone_column
from massreach.core.phone_patterns import (
    _NOT_STRIPPABLE,
    _TOO_LONG,
    _country,
    _is_valid,
    _Region,
    _region,
)
from massreach.core.phones import PhoneNormalizer

REGIONS = ["VN", "CN", "PL", "US", "GB", "DE", "IT", "BR", "IN", "FR", "AR", "MX", "RU"]
VECTORISED = ["VN", "CN", "PL", "US", "GB", "DE", "IT", "IN", "FR", "MX", "RU"]
FORMATS = [PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL]


EXAMPLES = {region: example_numbers(region) for region in REGIONS}
ALL_REGIONS = sorted(SUPPORTED_REGIONS)
# Numbers of other countries too, so that "+CC" and "00CC" of another country appear.
FOREIGN = [n for r in ["VN", "US", "GB", "CN", "DE"] for n in EXAMPLES[r]]


def expected(region: str, cells: Sequence[str]) -> list[str | None]:
    one = PhoneNormalizer(region).e164_or_none
    return [one(c) for c in cells]


def assert_column(region: str, cells: Sequence[str]) -> None:
    got = phone_column(region).e164_many(cells)
    want = expected(region, cells)
    assert len(got) == len(want)
    wrong = [(c, g, w) for c, g, w in zip(cells, got, want, strict=True) if g != w]
    assert not wrong, (region, wrong[:5])


# ---------------------------------------------------------------- examples

VN_SHAPES = [
    "0912000123",
    "+84 912 000 123",
    "0912-000-123",
    "84912000123",
    "84912000123.0",
    "(0912) 000123",
]


def test_the_benchmark_shapes() -> None:
    assert phone_column("VN").e164_many(VN_SHAPES) == ["+84912000123"] * len(VN_SHAPES)


def test_one_bad_cell_in_a_batch() -> None:
    cells = ["0912345678", "09xxxxxxxx", "+84912345679", "", "0200 000 000", "0912345670"]
    assert phone_column("VN").e164_many(cells) == [
        "+84912345678",
        None,
        "+84912345679",
        None,
        None,
        "+84912345670",
    ]


def test_a_cell_with_a_newline_is_decided_on_its_own() -> None:
    cells = ["0912345678", "0912\n345678", "091234567\n8", "84912345678.0\n", "\n"]
    assert_column("VN", cells)
    assert phone_column("VN").e164_many(cells)[0] == "+84912345678"


@pytest.mark.parametrize(
    "cells",
    [
        [],
        [""],
        ["", ""],
        ["0912345678"],
        [" 0912345678 ", "\t0912345678", "0912345678\r", "\u00a00912345678\u2028"],
        ["+84912345678", " +84912345678", "(+84)912345678", "-+84912345678", "++84912345678"],
        ["84+912345678", "+84 912+345678", "+", "+\n+"],
        ["912345678.0", "0912345678.00", " 84912345678.0 ", "8.4912345678E+10", "'0912345678"],
        ["0912 345 678.0", "84 912 345 678.0", "+84912345678.0", "0912-34-5678.0", "091.0\t"],
        ["091.234.5678", "091.234.5670", "84912.0", ".0", "0.0", "84912345678.0.0"],
        ["0084912345678", "00 84 912 345 678", "000912345678", "0084 0912345678"],
        ["+84 (0) 91 234 5678", "840912345678", "8484912345678", "912345678"],
        [_PLUS + "84912345678", _PLUS + "846980704", "x" + _PLUS, "\x00", "0912345678\x00"],
        ["0" * 64, "0912345678" + " " * 60, "1" * 65, "+" + "9" * 70],
        ["０９１２３４５６７８", "٠٩١٢٣٤٥٦٧٨", "0912345678 ext. 12", "tel:+84912345678"],
        ["n/a", "abc", "#N/A", "09xxxxxxxx", "0912 345 678 / 0987 654 321"],
    ],
)
def test_unusual_batches(cells: list[str]) -> None:
    assert_column("VN", cells)
    assert_column("US", cells)


@pytest.mark.parametrize("region", VECTORISED)
def test_common_regions_are_decided_a_column_at_a_time(region: str) -> None:
    assert phone_column(region).vectorised


@pytest.mark.parametrize("region", ["BR", "AR", "CA", "GG"])
def test_other_regions_go_row_by_row_and_still_agree(region: str) -> None:
    assert not phone_column(region).vectorised
    numbers = example_numbers(region)
    cells = [phonenumbers.format_number(n, f) for n in numbers for f in FORMATS]
    assert_column(region, [*cells, "", "n/a", "0"])


def test_phone_normalizer_delegates() -> None:
    cells = ["0912345678", "n/a", "+84 912 345 678"]
    assert PhoneNormalizer("vn").e164_many(cells) == ["+84912345678", None, "+84912345678"]
    assert phone_column("vn") is phone_column("VN")
    assert PhoneColumn("VN").e164_many(tuple(cells)) == PhoneNormalizer("VN").e164_many(cells)


@pytest.mark.parametrize("region", REGIONS)
def test_every_example_number_in_every_format(region: str) -> None:
    cells = []
    for number in [*EXAMPLES[region], *FOREIGN]:
        for fmt in FORMATS:
            text = phonenumbers.format_number(number, fmt)
            digits = "".join(ch for ch in text if ch.isdigit())
            cells += [text, text.lstrip("+"), digits, digits + ".0", "00" + text.lstrip("+")]
    assert_column(region, cells)


# ------------------------------------------------------------- properties

_SEPARATORS = st.sampled_from(["", "", "", "", " ", "-", ".", "(", ")", "  ", "/", "\t"])


@st.composite
def written(draw: st.DrawFn, region: str) -> str:
    """A number of ``region`` (or another country), written as people and Excel do."""
    numbers = example_numbers(region) or FOREIGN
    number = draw(st.sampled_from(numbers if draw(st.integers(0, 4)) else FOREIGN))
    text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    digits = "".join(ch for ch in text if ch.isdigit())
    # digit mutations: valid and near-valid numbers
    for _ in range(draw(st.integers(0, 2))):
        edit = draw(st.sampled_from(["change", "insert", "delete", "none", "none"]))
        i = draw(st.integers(0, max(len(digits) - 1, 0)))
        d = draw(st.sampled_from("0123456789"))
        if edit == "change" and digits:
            digits = digits[:i] + d + digits[i + 1 :]
        elif edit == "insert":
            digits = digits[:i] + d + digits[i:]
        elif edit == "delete":
            digits = digits[:i] + digits[i + 1 :]
    national = str(number.national_number)
    code = str(number.country_code)
    if draw(st.booleans()):
        body = digits
    else:
        body = draw(st.sampled_from([national, "0" + national, "1" + national, "8" + national]))
    prefix = draw(
        st.sampled_from(
            ["", "", "+", "+" + code, "00" + code, "011" + code, code, "0", "810", _PLUS + code]
        )
    )
    if prefix and not prefix.startswith("+") and prefix != "0":
        prefix = draw(st.sampled_from([prefix, "+" + prefix, ""]))
    raw = prefix + body
    style = draw(st.sampled_from(["mixed", "", " ", "-", "."]))
    separators = _SEPARATORS if style == "mixed" else st.sampled_from(["", "", style])
    out = []
    for ch in raw:
        out.append(ch)
        if ch.isdigit():
            out.append(draw(separators))
    text = "".join(out)
    if draw(st.integers(0, 4)) == 0:  # Excel floats, and things that look like them
        if draw(st.booleans()):
            text = "".join(ch for ch in text if ch.isdigit())
        text += draw(st.sampled_from([".0", ".00", ".5", "0.0", ". 0", ".0 "]))
    if draw(st.integers(0, 6)) == 0:
        text = draw(st.sampled_from([" ", "\t", "'", "(", "\u00a0"])) + text
    if draw(st.integers(0, 6)) == 0:
        text += draw(st.sampled_from([" ", "\r", ")", "\u3000", " ext 5"]))
    return text


_ODD_TEXT = st.one_of(
    st.just(""),
    st.text(max_size=20),
    st.text(st.sampled_from("0123456789 +-.()\n\r\x00\x01\x02'eE"), max_size=24),
    st.sampled_from(["\n", "0912345678\n", "\x02", "+" * 3, "0" * 80, "9" * 64]),
)


def cells_of(region: str) -> st.SearchStrategy[list[str]]:
    cell = st.one_of(written(region), written(region), written(region), _ODD_TEXT)
    return st.lists(cell, max_size=25)


@pytest.mark.parametrize("region", REGIONS)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batches_agree_with_the_per_cell_function(region: str, data: st.DataObject) -> None:
    assert_column(region, data.draw(cells_of(region)))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region=st.sampled_from(ALL_REGIONS), data=st.data())
def test_batches_of_any_region(region: str, data: st.DataObject) -> None:
    assert_column(region, data.draw(cells_of(region)))


@settings(deadline=None)
@given(
    digits=st.lists(st.text("0123456789", min_size=1, max_size=18), max_size=20),
    region=st.sampled_from(VECTORISED),
)
def test_random_digit_strings(digits: list[str], region: str) -> None:
    assert_column(region, digits)
    assert_column(region, ["+" + d for d in digits])


# ------------------------------------------- the NSN expressions themselves


def reference_accepts(shape: str, home: _Region, regions: tuple[_Region, ...], nsn: str) -> bool:
    """What each shape needs of an NSN, written with phone_patterns' own functions."""
    if not 3 <= len(nsn) <= 17 or not _is_valid(regions, nsn):
        return False
    np = home.national_prefix
    starts_np = np is not None and np.match(nsn) is not None
    if shape == "plain":
        return not starts_np
    general = home.general_match(nsn)
    if shape == "national":
        return general and home.length_result[len(nsn)] not in _NOT_STRIPPABLE
    whole = home.cc_text + nsn
    return (
        general
        and not starts_np
        and (home.length_result[len(whole)] == _TOO_LONG or not home.general_match(whole))
    )


def near(nsn: str) -> set[str]:
    """``nsn``, its prefixes, and every one-digit change, insertion and deletion."""
    out = {nsn[:k] for k in range(len(nsn) + 1)}
    for i in range(len(nsn) + 1):
        for d in "0123456789":
            out.add(nsn[:i] + d + nsn[i + 1 :])
            out.add(nsn[:i] + d + nsn[i:])
        out.add(nsn[:i] + nsn[i + 1 :])
    return out


def assert_languages(region: str, extra: Sequence[str] = ()) -> None:
    home = _region(region)
    country = _country(home.country_code)
    assert country is not None
    regions = country[1]
    languages = _NsnLanguages(home, regions)
    candidates = set(extra)
    for code in {r.code for r in regions}:
        for number in example_numbers(code):
            candidates |= near(str(number.national_number))
    candidates |= {"0" + c for c in list(candidates)}
    for shape in ("plain", "national", "cc"):
        expression = languages.expression(shape)
        compiled = re.compile(expression or "(?!)", re.ASCII)
        wrong = [
            nsn
            for nsn in candidates
            if (compiled.fullmatch(nsn + "\n") is not None)
            != reference_accepts(shape, home, regions, nsn)
        ]
        assert not wrong, (region, shape, sorted(wrong)[:5])


@pytest.mark.parametrize("region", VECTORISED)
def test_nsn_expressions_accept_exactly_what_the_fast_path_accepts(region: str) -> None:
    assert_languages(region)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(ALL_REGIONS),
    extra=st.lists(st.text("0123456789", min_size=1, max_size=18), max_size=50),
)
def test_nsn_expressions_of_any_region(region: str, extra: list[str]) -> None:
    home = _region(region)
    country = _country(home.country_code)
    if country is None or country[0] is not home or home.transform is not None:
        return
    assert_languages(region, extra)
