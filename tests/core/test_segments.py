"""SMS segment counting, checked against the independent ``gsm0338`` codec."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentCount,
    count_segments,
    gsm7_length,
    is_gsm7,
)

ESC = "\x1b"


def oracle_is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def oracle_gsm_parts(encoded: bytes) -> int:
    """Parts of at most 153 septets (one byte each here), never ending on an escape."""
    if len(encoded) <= 160:
        return 1
    parts, start = 0, 0
    while start < len(encoded):
        end = min(start + 153, len(encoded))
        if end < len(encoded) and encoded[end - 1] == 0x1B:
            end -= 1
        parts += 1
        start = end
    return parts


def oracle_ucs2_parts(text: str) -> tuple[int, int]:
    """UTF-16 code units and parts of at most 67 units, never ending on a high surrogate."""
    data = text.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]
    if len(units) <= 70:
        return len(units), 1
    parts, start = 0, 0
    while start < len(units):
        end = min(start + 67, len(units))
        if end < len(units) and 0xD800 <= units[end - 1] <= 0xDBFF:
            end -= 1
        parts += 1
        start = end
    return len(units), parts


def test_tables_match_the_oracle() -> None:
    assert ESC not in GSM7_BASIC
    assert len(GSM7_BASIC) == 127
    for ch in GSM7_BASIC:
        assert len(ch.encode("gsm03.38")) == 1, repr(ch)
    for ch in GSM7_EXTENSION:
        assert len(ch.encode("gsm03.38")) == 2, repr(ch)


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments", "per_segment"),
    [
        ("", "GSM-7", 0, 1, 160),
        ("Hello", "GSM-7", 5, 1, 160),
        ("a" * 160, "GSM-7", 160, 1, 160),
        ("a" * 161, "GSM-7", 161, 2, 153),
        ("a" * 306, "GSM-7", 306, 2, 153),
        ("a" * 307, "GSM-7", 307, 3, 153),
        ("€" * 80, "GSM-7", 160, 1, 160),
        ("a" * 159 + "€", "GSM-7", 161, 2, 153),
        # 306 septets would fit two parts, but the escape pair cannot be split
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3, 153),
        ("Nguyễn Văn Á", "UCS-2", 12, 1, 70),
        ("ễ" * 70, "UCS-2", 70, 1, 70),
        ("ễ" * 71, "UCS-2", 71, 2, 67),
        ("ễ" * 134, "UCS-2", 134, 2, 67),
        ("ễ" * 135, "UCS-2", 135, 3, 67),
        ("😀" * 35, "UCS-2", 70, 1, 70),
        ("😀" * 36, "UCS-2", 72, 2, 67),
        # 134 code units would fit two parts, but the surrogate pair cannot be split
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 134, 3, 67),
        ("a" + ESC, "UCS-2", 2, 1, 70),
        ("你好", "UCS-2", 2, 1, 70),
    ],
)
def test_known_examples(
    text: str, encoding: str, characters: int, segments: int, per_segment: int
) -> None:
    assert count_segments(text) == SegmentCount(encoding, characters, segments, per_segment)  # type: ignore[arg-type]


def test_extension_characters_count_two() -> None:
    assert gsm7_length("^{}\\[~]|€\f") == 20
    assert gsm7_length("abc") == 3


def test_segment_count_validates() -> None:
    with pytest.raises(ValueError):
        SegmentCount("UTF-8", 1, 1, 160)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SegmentCount("GSM-7", -1, 1, 160)
    with pytest.raises(ValueError):
        SegmentCount("GSM-7", 1, 0, 160)


# GSM characters (often extension ones, to hit part boundaries), plus some that are not.
_mixed = st.text(
    alphabet=st.one_of(
        st.sampled_from(GSM7_BASIC),
        st.sampled_from(GSM7_EXTENSION),
        st.sampled_from("ễđăươ€çáÁ😀🇻🇳你"),
        st.characters(exclude_characters=ESC),
    ),
    max_size=400,
)
_gsm_only = st.text(
    alphabet=st.one_of(st.sampled_from(GSM7_BASIC), st.sampled_from(GSM7_EXTENSION)),
    min_size=140,
    max_size=700,
)


@given(_mixed)
def test_agrees_with_gsm0338(text: str) -> None:
    count = count_segments(text)
    gsm = oracle_is_gsm7(text)
    assert is_gsm7(text) == gsm
    if gsm:
        encoded = text.encode("gsm03.38")
        assert count.encoding == "GSM-7"
        assert count.characters == len(encoded)
        assert count.segments == oracle_gsm_parts(encoded)
    else:
        units, parts = oracle_ucs2_parts(text)
        assert count.encoding == "UCS-2"
        assert count.characters == units
        assert count.segments == parts
    assert (
        count.per_segment
        == {
            ("GSM-7", True): 160,
            ("GSM-7", False): 153,
            ("UCS-2", True): 70,
            ("UCS-2", False): 67,
        }[(count.encoding, count.segments == 1)]
    )


@given(_gsm_only)
def test_long_gsm_texts_agree_with_gsm0338(text: str) -> None:
    encoded = text.encode("gsm03.38")
    count = count_segments(text)
    assert (count.encoding, count.characters) == ("GSM-7", len(encoded))
    assert count.segments == oracle_gsm_parts(encoded)


@given(_mixed, st.sampled_from(["a", "€", "ễ", "😀"]))
def test_a_longer_text_never_needs_fewer_segments(text: str, extra: str) -> None:
    before, after = count_segments(text), count_segments(text + extra)
    if before.encoding == after.encoding:
        assert after.segments >= before.segments
