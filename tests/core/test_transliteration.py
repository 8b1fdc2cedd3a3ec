"""Transliteration to GSM-7, and accent/case folding for search."""

from __future__ import annotations

import string

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.segments import count_segments, is_gsm7
from massreach.core.textfold import contains_folded, fold, strip_accents
from massreach.core.transliteration import to_gsm7
from massreach.errors import InvalidInput

VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn Á", "Nguyen Van A"),
        ("Đặng Thị Ánh Tuyết", "Dang Thi Anh Tuyet"),
        ("Trương Ưu Đàm", "Truong Uu Dam"),
        ("Zażółć gęślą jaźń", "Zazolc gesla jazn"),
        ("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "ACELNOSZZ acelnoszz"),
        ("Číslo účtu: Řehoř", "Cislo uctu: Rehor"),
        ("Straße, Ærø, Œuvre", "Strasse, AEro, OEuvre"),
        ("Café Müller Ñandú", "Cafe Muller Nandu"),
        ("số dư 100.000₫", "so du 100.000d"),
        ("“khuyến mãi” – hết hạn…", '"khuyen mai" - het han...'),
        ("‘quote’ `tick`", "'quote' 'tick'"),
        ("tab\there", "tab here"),
        ("non\u00a0breaking", "non breaking"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("line\u2028sep", "line\nsep"),
        ("ＡＢＣ ﬁ ½", "ABC fi 1/2"),
        ("Price: 5€ [promo] {x} ~ ^ | \\", "Price: 5€ [promo] {x} ~ ^ | \\"),
        ("£ ¥ § ¿ ¡ ΔΣΩ", "£ ¥ § ¿ ¡ ΔΣΩ"),
        ("你好 😀", "?? ?"),
        ("", ""),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert to_gsm7(text) == expected


def test_every_vietnamese_letter() -> None:
    plain = "a" * 18 + "e" * 12 + "i" * 6 + "o" * 18 + "u" * 12 + "y" * 6 + "d"
    assert to_gsm7(VIETNAMESE) == plain
    assert to_gsm7(VIETNAMESE.upper()) == plain.upper()


def test_keep_accents_keeps_what_gsm7_carries() -> None:
    assert to_gsm7("Café Müller Ñandú Øre", keep_accents=True) == "Café Müller Ñandu Øre"
    assert to_gsm7("Nguyễn Văn Á", keep_accents=True) == "Nguyen Van A"


def test_replacement() -> None:
    assert to_gsm7("a你b😀c", replacement="") == "abc"
    assert to_gsm7("a你b", replacement="_") == "a_b"
    assert to_gsm7("µ", replacement="*") == "*"
    with pytest.raises(InvalidInput) as info:
        to_gsm7("x", replacement="ễ")
    assert info.value.code == "transliteration.bad_replacement"


def test_real_question_marks_survive_a_custom_replacement() -> None:
    assert to_gsm7("Why？ 你", replacement="") == "Why? "


@given(st.text(), st.booleans())
def test_output_is_always_gsm7(text: str, keep: bool) -> None:
    out = to_gsm7(text, keep_accents=keep)
    assert is_gsm7(out)
    out.encode("gsm03.38")  # the independent codec agrees
    assert count_segments(out).encoding == "GSM-7"


@given(st.text(), st.booleans())
def test_idempotent(text: str, keep: bool) -> None:
    once = to_gsm7(text, keep_accents=keep)
    assert to_gsm7(once, keep_accents=keep) == once


_PLAIN = string.ascii_letters + string.digits + " .,:;!?-+*/=()<>@#%&'\"\n_$"


@given(st.text(alphabet=_PLAIN))
def test_plain_text_is_unchanged(text: str) -> None:
    assert to_gsm7(text) == text


@given(st.text(alphabet=st.sampled_from(VIETNAMESE + VIETNAMESE.upper() + " ")))
def test_vietnamese_becomes_plain_ascii_letters(text: str) -> None:
    out = to_gsm7(text)
    assert len(out) == len(text)
    assert all(c in string.ascii_letters + " " for c in out)
    assert out == strip_accents(text)


# -- textfold ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Khuyến mãi", "khuyen mai"),
        ("KHUYẾN MÃI", "khuyen mai"),
        ("Đà Nẵng", "da nang"),
        ("Łódź", "lodz"),
        ("STRASSE Straße", "strasse strasse"),
        ("ＡＢＣ", "abc"),
        ("手机号码", "手机号码"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_contains_folded() -> None:
    assert contains_folded("Chương trình Khuyến Mãi tháng 12", "khuyen mai")
    assert not contains_folded("Chương trình", "khuyen")


def test_strip_accents_keeps_case() -> None:
    assert strip_accents("Nguyễn Văn Á") == "Nguyen Van A"
    assert strip_accents("plain") == "plain"


@given(st.text(alphabet=st.sampled_from(VIETNAMESE + VIETNAMESE.upper() + "ąćęłńóśźżĄŁ AZ")))
def test_fold_ignores_case_and_accents(text: str) -> None:
    assert fold(text) == fold(text.upper()) == fold(strip_accents(text))
    assert fold(text).isascii()


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
