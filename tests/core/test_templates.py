"""Safe templates: parsing, rendering, email, registered patterns, advertising labels."""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.templates import (
    DEFAULT_OPT_OUT,
    CompiledTemplate,
    EmailTemplate,
    RegisteredPattern,
    RenderedEmail,
    Template,
    label_advertising,
    matches_registered,
    parse_template,
    render_email,
)
from massreach.errors import MassreachError, TemplateError

# -- parsing ------------------------------------------------------------------------------


def test_variables_are_ordered_and_unique() -> None:
    compiled = parse_template("{name}: {param0} {balance} {name} {param0}")
    assert compiled.variables == ("name", "param0", "balance")
    assert compiled.slots == ("name", "param0", "balance", "name", "param0")


def test_names_of_any_script_digits_underscore_and_hyphen() -> None:
    compiled = parse_template("{tên_khách} {số-dư} {手机号码} {param9} {Nguyễn}")
    assert compiled.variables == ("tên_khách", "số-dư", "手机号码", "param9", "Nguyễn")


def test_decomposed_vietnamese_names_are_accepted() -> None:
    nfd = "te\u0302n"  # "tên" with a combining circumflex
    assert parse_template("{" + nfd + "}").variables == (nfd,)


def test_escaped_braces() -> None:
    compiled = parse_template("{{literal}} {name} }}{{")
    assert compiled.variables == ("name",)
    assert compiled.render({"name": "A"}) == "{literal} A }{"


def test_no_variables() -> None:
    compiled = parse_template("Plain text")
    assert compiled.variables == ()
    assert compiled.render({}) == "Plain text"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{x!r}", "conversion"),
        ("{x!s}", "conversion"),
        ("{x.y}", "attribute"),
        ("{x.__class__}", "attribute"),
        ("{x[0]}", "index"),
        ("{x:>10}", "format_spec"),
        ("{x:{y}}", "brace"),
        ("{}", "empty"),
        ("{0.__class__}", "attribute"),
        ("{ name }", "space"),
        ("{na me}", "space"),
        ("{x%}", "character"),
        ("a { b", "brace"),
        ("a } b", "brace"),
        ("{a{b}", "brace"),
        ("{name}}", "brace"),
        ("{{name}", "brace"),
    ],
)
def test_unsafe_or_broken_syntax_is_refused(text: str, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(text)
    assert info.value.code == "template.syntax"
    assert info.value.details["reason"] == reason


def test_syntax_error_says_where() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("Hello {name.upper}")
    assert info.value.details["position"] == 6
    assert "attribute access" in str(info.value)
    assert "character 7" in str(info.value)


def test_non_text_template_is_refused() -> None:
    with pytest.raises(TemplateError):
        parse_template(42)  # type: ignore[arg-type]


# -- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hi {name}",
        "{a}{b}",
        "{a}, {b} and {c}",
        "{a} {a} {a} {a}",
        " ".join(f"{{param{i}}}" for i in range(10)),
    ],
)
def test_missing_variable_is_an_error(text: str) -> None:
    compiled = parse_template(text)
    last = compiled.variables[-1]
    values = {v: "x" for v in compiled.variables if v != last}
    with pytest.raises(TemplateError) as info:
        compiled.render(values)
    assert info.value.code == "template.missing_variable"
    assert info.value.details == {"variable": last, "reason": "missing"}
    for blank in ("", "   ", None):
        with pytest.raises(TemplateError) as info:
            compiled.render({**values, last: blank})  # type: ignore[dict-item]
        assert info.value.code == "template.missing_variable"
        assert info.value.details == {"variable": last, "reason": "empty"}


@pytest.mark.parametrize("text", ["{a}", "{a} {b}", "{a} {b} {c}"])
def test_non_text_values_are_errors(text: str) -> None:
    compiled = parse_template(text)
    values: dict[str, object] = {"a": "x", "b": "y", "c": "z"}
    with pytest.raises(TemplateError) as info:
        compiled.render({**values, "a": 5})  # type: ignore[dict-item]
    assert info.value.code == "template.invalid_value"
    with pytest.raises(TemplateError) as info:
        compiled.render(None)  # type: ignore[arg-type]
    assert info.value.code == "template.invalid_value"


def test_values_are_never_interpreted() -> None:
    compiled = parse_template("Hi {name}, {balance}")
    out = compiled.render({"name": "{balance}", "balance": "{0.__class__}"})
    assert out == "Hi {balance}, {0.__class__}"


def test_template_class() -> None:
    template = Template("Xin chào {name}")
    assert template.variables == ("name",)
    assert template.render({"name": "Á"}) == "Xin chào Á"
    assert Template("Xin chào {name}") == template
    with pytest.raises(TemplateError):
        Template("{x.y}")


def test_pickle_and_copy() -> None:
    compiled = parse_template("{a} and {b} and {c}")
    values = {"a": "1", "b": "2", "c": "3"}
    for clone in (pickle.loads(pickle.dumps(compiled)), copy.deepcopy(compiled)):
        assert clone == compiled
        assert clone.render(values) == "1 and 2 and 3"
    template = Template("Hi {name}")
    assert pickle.loads(pickle.dumps(template)).render({"name": "A"}) == "Hi A"


def test_compiled_template_checks_its_parts() -> None:
    with pytest.raises(ValueError):
        CompiledTemplate("x", ("a",), ("v",))


_name = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd")) | st.sampled_from("_-"),
    min_size=1,
    max_size=8,
)
_literal = st.text(st.characters(exclude_characters="{}"), max_size=20)
_value = st.text(st.characters(exclude_characters="{}"), min_size=1, max_size=20).filter(
    lambda v: not v.isspace()
)


@st.composite
def _template_and_values(draw: st.DrawFn) -> tuple[str, list[str], list[str], dict[str, str]]:
    names = draw(st.lists(_name.map(lambda n: "v" + n), min_size=0, max_size=12))
    literals = draw(st.lists(_literal, min_size=len(names) + 1, max_size=len(names) + 1))
    values = {n: draw(_value) for n in names}
    text = literals[0] + "".join(
        f"{{{n}}}{lit}" for n, lit in zip(names, literals[1:], strict=True)
    )
    return text, names, literals, values


@given(_template_and_values())
def test_render_fills_every_slot(case: tuple[str, list[str], list[str], dict[str, str]]) -> None:
    text, names, literals, values = case
    compiled = parse_template(text)
    assert compiled.variables == tuple(dict.fromkeys(names))
    out = compiled.render(values)
    expected = literals[0] + "".join(
        values[n] + lit for n, lit in zip(names, literals[1:], strict=True)
    )
    assert out == expected
    assert out == text.format_map(values)  # same result as str.format_map
    assert not re.search(r"\{[^{}]*\}", out)  # no placeholder left


@given(st.text(max_size=60), st.dictionaries(st.text(max_size=8), st.text(max_size=8)))
def test_any_text_parses_or_fails_cleanly(text: str, values: Mapping[str, str]) -> None:
    try:
        compiled = parse_template(text)
        out = compiled.render(values)
    except MassreachError as exc:
        assert exc.code.startswith("template.")
        return
    assert isinstance(out, str)
    for name in compiled.variables:
        assert values[name].strip()


# -- email --------------------------------------------------------------------------------


def test_render_email() -> None:
    values = {"name": "Tom & <Jerry>", "order": "A1"}
    email = render_email("Order {order}", "Hi {name}", "<p>Hi {name}</p>", values)
    assert email == RenderedEmail(
        "Order A1", "Hi Tom & <Jerry>", "<p>Hi Tom &amp; &lt;Jerry&gt;</p>"
    )
    assert render_email("S", "T", None, {}).html is None


def test_html_escapes_quotes_too() -> None:
    email = render_email("S", "T", '<a title="{x}">', {"x": '" onclick="evil()'})
    assert email.html == '<a title="&quot; onclick=&quot;evil()">'


@pytest.mark.parametrize("brk", ["\r", "\n", "\r\n", "\v", "\f", "\x85", "\u2028", "\u2029", "\0"])
def test_line_breaks_in_subject_values_are_refused(brk: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_email("Hello {name}", "Body {name}", None, {"name": f"A{brk}Bcc: x@example.com"})
    assert info.value.code == "template.header_injection"
    assert info.value.details == {"variable": "name", "part": "subject"}


def test_line_breaks_are_fine_in_bodies() -> None:
    email = render_email("Hello", "Body {name}", "<p>{name}</p>", {"name": "A\nB"})
    assert email.text == "Body A\nB"


def test_subject_template_must_be_one_line() -> None:
    with pytest.raises(TemplateError) as info:
        EmailTemplate("Hello\nBcc: x", "body")
    assert info.value.code == "template.header_injection"


def test_email_errors_name_the_part() -> None:
    for args, part in [
        (("{a}", "x", None), "subject"),
        (("x", "{a}", None), "text"),
        (("x", "x", "{a}"), "html"),
    ]:
        with pytest.raises(TemplateError) as info:
            render_email(*args, {})  # type: ignore[arg-type]
        assert info.value.code == "template.missing_variable"
        assert info.value.details["part"] == part


def test_email_template() -> None:
    template = EmailTemplate("Hi {name}", "Dear {name}, {balance}", "<b>{balance}</b> {extra}")
    assert template.variables == ("name", "balance", "extra")
    email = template.render({"name": "A", "balance": "<5>", "extra": "e"})
    assert email == RenderedEmail("Hi A", "Dear A, <5>", "<b>&lt;5&gt;</b> e")


# -- registered brandname templates -------------------------------------------------------

OTP = "Ma OTP cua {name} la {code}. Het han sau {minutes} phut (*)."


def test_registered_match() -> None:
    assert matches_registered(OTP, "Ma OTP cua Nguyen Van A la 1234. Het han sau 5 phut (*).")
    assert matches_registered(OTP, "Ma OTP cua A\nB la 1. Het han sau 5 phut (*).")


@pytest.mark.parametrize(
    "text",
    [
        "Ma OTP cua A la 1234. Het han sau 5 phut (*). Khuyen mai!",
        "[QC] Ma OTP cua A la 1234. Het han sau 5 phut (*).",
        "Ma OTP cua A la 1234. Het han sau 5 phut (x).",
        "Ma otp cua A la 1234. Het han sau 5 phut (*).",
        "Ma OTP cua  la 1234. Het han sau 5 phut (*).",
    ],
)
def test_registered_mismatch(text: str) -> None:
    assert not matches_registered(OTP, text)


def test_each_variable_stands_for_any_non_empty_text() -> None:
    pattern = RegisteredPattern("{name}, {name}!", brandname="SHOP")
    assert pattern.matches("An, An!")
    assert pattern.matches("An, Binh!")
    assert not pattern.matches(", Binh!")
    assert pattern.brandname == "SHOP"
    assert RegisteredPattern("{a}{b}").matches("xy")
    assert not RegisteredPattern("{a}{b}").matches("x")
    assert not RegisteredPattern("ab{x}ba").matches("aba")


def test_no_catastrophic_backtracking() -> None:
    # A lazy-wildcard regex takes ages on this; the literal scan answers at once.
    pattern = RegisteredPattern("{a} {b} {c} {d} {e} {f} end")
    assert not pattern.matches(" " * 3000)


@given(
    st.lists(st.text(alphabet="ab ", max_size=3), min_size=1, max_size=5),
    st.text(alphabet="ab ", max_size=14),
)
def test_registered_matching_agrees_with_a_regex(literals: list[str], text: str) -> None:
    template = "{v}".join(literals)
    oracle = re.fullmatch("(.+?)".join(map(re.escape, literals)), text, re.DOTALL)
    assert matches_registered(template, text) == (oracle is not None)


def test_registered_pattern_refuses_bad_template() -> None:
    with pytest.raises(TemplateError):
        RegisteredPattern("{x.y}")


@given(_template_and_values())
def test_rendered_message_matches_its_registered_template(
    case: tuple[str, list[str], list[str], dict[str, str]],
) -> None:
    text, _names, _literals, values = case
    out = parse_template(text).render(values)
    assert matches_registered(text, out)


@given(_literal, st.text(max_size=20))
def test_without_variables_only_the_exact_text_matches(literal: str, other: str) -> None:
    assert matches_registered(literal, literal)
    assert matches_registered(literal, other) == (other == literal)


# -- advertising ----------------------------------------------------------------------------


def test_label_advertising_adds_label_and_opt_out() -> None:
    out = label_advertising("Khuyen mai 50% hom nay")
    assert out == f"[QC] Khuyen mai 50% hom nay {DEFAULT_OPT_OUT}"


def test_label_advertising_keeps_what_is_there() -> None:
    text = "[qc] Khuyến mãi 50%. Từ chối QC soạn TC gửi 9xxx."
    assert label_advertising(text) == text


def test_label_advertising_custom() -> None:
    out = label_advertising("Sale", label="[AD]", opt_out="STOP to 8088")
    assert out == "[AD] Sale STOP to 8088"
    assert label_advertising("Sale", label="", opt_out="") == "Sale"
    assert label_advertising("") == f"[QC] {DEFAULT_OPT_OUT}"


@given(st.text(max_size=80))
def test_label_advertising_is_idempotent(text: str) -> None:
    once = label_advertising(text)
    assert label_advertising(once) == once
    assert once.startswith("[QC]") or once.lstrip().casefold().startswith("[qc]")
    assert once.rstrip(" \t\r\n.!").casefold().endswith(DEFAULT_OPT_OUT.casefold())
