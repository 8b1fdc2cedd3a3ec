"""Safe message templates: SMS text, email (subject, text, HTML), registered patterns.

The language is deliberately tiny. ``{name}`` is a variable: ``{param0}`` …
``{param9}``, ``{name}``, ``{balance}`` or any custom field; a name is letters of
any script (with combining marks), digits, ``_`` and ``-``. ``{{`` and ``}}`` are
literal braces. Nothing else: attribute access (``{x.y}``; a ``.`` is refused,
not taken literally, so ``{customer.name}`` cannot look like it works),
indexing (``{x[0]}``), conversions (``{x!r}``), format specifications
(``{x:>10}``), spaces inside braces and unmatched braces are refused at parse
time with :class:`TemplateError` ``template.syntax``. Nothing is ever executed
or looked up beyond the mapping of values.

Every variable needs a non-blank value: a missing, empty or whitespace-only one
is ``template.missing_variable`` (details ``variable``, ``reason``), never a
blank in a sent message. Rendering is compiled to a closure per template,
faster than ``str.format_map`` on the same text.

:func:`render_email` refuses line breaks in subject values
(``template.header_injection``) and HTML-escapes values in the HTML body.
:class:`RegisteredPattern` checks that a message differs from a registered
brandname template only in its variables. :func:`label_advertising` adds the
advertising label and opt-out sentence.
"""

from __future__ import annotations

import html
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from attrs import field, frozen, validators

from massreach.core.textfold import fold
from massreach.errors import TemplateError

__all__ = [
    "DEFAULT_AD_LABEL",
    "DEFAULT_OPT_OUT",
    "CompiledTemplate",
    "EmailTemplate",
    "RegisteredPattern",
    "RenderedEmail",
    "Template",
    "label_advertising",
    "label_advertising_compiled",
    "matches_registered",
    "parse_template",
    "render_email",
]

#: The label Vietnamese carriers require first in an advertising SMS.
DEFAULT_AD_LABEL = "[QC]"
#: The opt-out sentence last in an advertising SMS; a host passes its own short code.
DEFAULT_OPT_OUT = "Tu choi QC soan TC gui 9xxx"

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_MARKS = frozenset({"Mn", "Mc", "Me"})
_REASONS = {
    ".": ("attribute", "attribute access ({x.y}) is not supported"),
    "[": ("index", "index access ({x[0]}) is not supported"),
    "]": ("index", "index access ({x[0]}) is not supported"),
    "!": ("conversion", "conversions ({x!r}) are not supported"),
    ":": ("format_spec", "format specifications ({x:>10}) are not supported"),
}
_LINE_BREAK = re.compile("[\r\n\v\f\x00\x1c\x1d\x1e\x85\u2028\u2029]")


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-" or unicodedata.category(ch) in _MARKS


def _syntax(message: str, text: str, position: int, reason: str) -> TemplateError:
    return TemplateError(
        f"{message} (at character {position + 1}).",
        code="template.syntax",
        details={"position": position, "reason": reason, "excerpt": text[position : position + 40]},
    )


def _check_name(name: str, text: str, position: int) -> None:
    reason = message = ""
    if not name:
        reason = "empty"
        message = "Empty placeholder {}: put a variable name inside, or write {{ for a brace"
    for ch in name:
        if _is_name_char(ch):
            continue
        reason, message = _REASONS.get(ch, ("character", f"{ch!r} is not allowed in a name"))
        if ch.isspace():
            reason, message = "space", "no spaces inside the braces"
        message = f"In {{{name}}}: {message}; a name has only letters, digits, _ and -"
        break
    if reason:
        raise _syntax(message, text, position, reason)


def _scan(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Literal parts (one more than variables) and the variable at each slot."""
    literals: list[str] = []
    slots: list[str] = []
    buffer: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        buffer.append(text[last : match.start()])
        last = match.end()
        token = match.group()
        if token == "{{":
            buffer.append("{")
        elif token == "}}":
            buffer.append("}")
        elif token == "{":
            raise _syntax("Unclosed {: write {{ for a literal brace", text, match.start(), "brace")
        elif token == "}":
            raise _syntax("Single }: write }} for a literal brace", text, match.start(), "brace")
        else:
            name = match.group(1)
            _check_name(name, text, match.start())
            literals.append("".join(buffer))
            buffer = []
            slots.append(name)
    buffer.append(text[last:])
    literals.append("".join(buffer))
    return tuple(literals), tuple(slots)


def _render_failure(variables: tuple[str, ...], values: Mapping[str, Any]) -> TemplateError:
    """The error explaining why ``values`` cannot fill ``variables``."""
    if not isinstance(values, Mapping):
        kind = type(values).__name__
        message = f"Template values must be a mapping of names to text, not {kind}."
        return TemplateError(message, code="template.invalid_value", details={"type": kind})
    for name in variables:
        value = values.get(name)
        if name not in values:
            message, reason = "which this record does not have", "missing"
        elif value is None or (isinstance(value, str) and not value.strip()):
            message, reason = "but it is empty for this record", "empty"
        elif not isinstance(value, str):
            kind = type(value).__name__
            return TemplateError(
                f"The value of {name!r} is not text ({kind}).",
                code="template.invalid_value",
                details={"variable": name, "type": kind},
            )
        else:
            continue
        return TemplateError(
            f"The template needs the variable {name!r}, {message}; "
            "a message is never sent with a blank in it.",
            code="template.missing_variable",
            details={"variable": name, "reason": reason},
        )
    return TemplateError(
        "The values given cannot fill this template.", code="template.invalid_value"
    )


Renderer = Callable[[Mapping[str, str]], str]
_strip = str.strip  # returns the very same string when there is nothing to strip


def _renderer(literals: tuple[str, ...], slots: tuple[str, ...]) -> Renderer:
    """A closure specialised for the number of slots: no branches, no attribute lookups."""
    variables = tuple(dict.fromkeys(slots))

    if not slots:
        text = literals[0]

        def render_none(values: Mapping[str, str]) -> str:
            return text

        return render_none

    if len(slots) == 1:
        (name,) = slots
        head, tail = literals

        def render_one(values: Mapping[str, str]) -> str:
            try:
                value = values[name]
                if value.strip():  # also refuses '', blanks and non-text
                    return head + value + tail
            except (KeyError, TypeError, AttributeError):
                pass
            raise _render_failure(variables, values)

        return render_one

    if len(slots) == 2:
        name1, name2 = slots
        head, middle, tail = literals

        def render_two(values: Mapping[str, str]) -> str:
            try:
                first = values[name1]
                second = values[name2]
                if first.strip() and second.strip():
                    return "".join((head, first, middle, second, tail))
            except (KeyError, TypeError, AttributeError):
                pass
            raise _render_failure(variables, values)

        return render_two

    if len(slots) == 3:
        name1, name2, name3 = slots
        head, middle1, middle2, tail = literals

        def render_three(values: Mapping[str, str]) -> str:
            try:
                first = values[name1]
                second = values[name2]
                third = values[name3]
                if first.strip() and second.strip() and third.strip():
                    return "".join((head, first, middle1, second, middle2, third, tail))
            except (KeyError, TypeError, AttributeError):
                pass
            raise _render_failure(variables, values)

        return render_three

    getter = operator.itemgetter(*slots)
    # a variable used several times is checked once
    repeats = len(variables) < len(slots)
    distinct = operator.itemgetter(*(variables if len(variables) > 1 else variables * 2))
    # literal, value, literal, value, …, literal: values go to the odd indexes
    template_parts = [piece for literal in literals for piece in (literal, "")][:-1]

    def render_many(values: Mapping[str, str]) -> str:
        try:
            got = getter(values)
            if all(map(_strip, distinct(values) if repeats else got)):
                parts = template_parts.copy()
                parts[1::2] = got
                return "".join(parts)
        except (KeyError, TypeError, AttributeError):
            pass
        raise _render_failure(variables, values)

    return render_many


@frozen
class CompiledTemplate:
    """A parsed template, ready to render many times. Build it with :func:`parse_template`.

    ``literals`` has one more item than ``slots``; the text is
    ``literals[0] + value(slots[0]) + literals[1] + …``. ``variables`` are the
    distinct names in ``slots``, in order of first use.

    ``render(values: Mapping[str, str]) -> str`` fills the template. It raises
    :class:`TemplateError` ``template.missing_variable`` when a variable is
    missing or empty and ``template.invalid_value`` when a value is not text.
    Values are inserted as they are, never interpreted. (``render`` is a
    closure built at parse time rather than a method: that makes rendering
    faster than ``str.format_map``.)
    """

    text: str
    literals: tuple[str, ...]
    slots: tuple[str, ...]
    variables: tuple[str, ...] = field(init=False)
    render: Renderer = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if len(self.literals) != len(self.slots) + 1:
            raise ValueError("a template has exactly one more literal part than variables")
        object.__setattr__(self, "variables", tuple(dict.fromkeys(self.slots)))
        object.__setattr__(self, "render", _renderer(self.literals, self.slots))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy by the parts; the renderer closure is rebuilt."""
        return (CompiledTemplate, (self.text, self.literals, self.slots))


def parse_template(text: str) -> CompiledTemplate:
    """Parse ``text`` (see the module doc); :class:`TemplateError` ``template.syntax`` if bad."""
    if not isinstance(text, str):
        raise TemplateError(
            "A template must be text.", code="template.syntax", details={"reason": "type"}
        )
    literals, slots = _scan(text)
    return CompiledTemplate(text, literals, slots)


def _compile(template: str | Template | CompiledTemplate) -> CompiledTemplate:
    if isinstance(template, CompiledTemplate):
        return template
    return template.compiled if isinstance(template, Template) else parse_template(template)


def _compile_optional(
    template: str | Template | CompiledTemplate | None,
) -> CompiledTemplate | None:
    return None if template is None else _compile(template)


@frozen
class Template:
    """A template text, parsed when created: a bad one cannot exist."""

    text: str = field(validator=validators.instance_of(str))
    compiled: CompiledTemplate = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "compiled", parse_template(self.text))

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables the template uses, in order of first use."""
        return self.compiled.variables

    def render(self, values: Mapping[str, str]) -> str:
        """See :meth:`CompiledTemplate.render`."""
        return self.compiled.render(values)


# -- email -----------------------------------------------------------------------------


@frozen
class RenderedEmail:
    """An email ready to send: one-line subject, plain text and optional HTML."""

    subject: str
    text: str
    html: str | None = None


def _in_part(error: TemplateError, part: str) -> TemplateError:
    error.details.setdefault("part", part)
    return error


def _subject_template(template: str | Template | CompiledTemplate) -> CompiledTemplate:
    compiled = _compile(template)
    if any(_LINE_BREAK.search(literal) for literal in compiled.literals):
        raise TemplateError(
            "An email subject must be one line; the subject template contains a line break.",
            code="template.header_injection",
            details={"variable": None, "part": "subject"},
        )
    return compiled


def render_email(
    subject_tpl: str | Template | CompiledTemplate,
    text_tpl: str | Template | CompiledTemplate,
    html_tpl: str | Template | CompiledTemplate | None,
    values: Mapping[str, str],
) -> RenderedEmail:
    """Render the three parts of an email with the same ``values``.

    A value substituted into the subject that holds a line break (CR, LF or any
    other line or paragraph separator, or NUL) raises :class:`TemplateError`
    ``template.header_injection`` naming the variable: it could forge headers.
    Values in the HTML body are HTML-escaped; the HTML template itself is
    trusted. Errors carry ``details["part"]``: ``subject``, ``text`` or ``html``.
    """
    subject_c = _subject_template(subject_tpl)
    try:
        subject = subject_c.render(values)
    except TemplateError as exc:
        raise _in_part(exc, "subject") from None
    for name in subject_c.variables:
        if _LINE_BREAK.search(values[name]):
            raise TemplateError(
                f"The value of {name!r} contains a line break and cannot go into an email subject.",
                code="template.header_injection",
                details={"variable": name, "part": "subject"},
            )
    try:
        text = _compile(text_tpl).render(values)
    except TemplateError as exc:
        raise _in_part(exc, "text") from None
    body: str | None = None
    if html_tpl is not None:
        html_c = _compile(html_tpl)
        escaped: dict[str, Any] = {}
        for name in html_c.variables:
            if name in values:
                value = values[name]
                escaped[name] = html.escape(value) if isinstance(value, str) else value
        try:
            body = html_c.render(escaped)
        except TemplateError as exc:
            raise _in_part(exc, "html") from None
    return RenderedEmail(subject, text, body)


@frozen
class EmailTemplate:
    """An email template: subject, plain text and optional HTML, parsed when created."""

    subject: CompiledTemplate = field(converter=_subject_template)
    text: CompiledTemplate = field(converter=_compile)
    html: CompiledTemplate | None = field(default=None, converter=_compile_optional)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable of the three parts, in order of first use."""
        parts = (self.subject, self.text) + ((self.html,) if self.html else ())
        return tuple(dict.fromkeys(v for p in parts for v in p.variables))

    def render(self, values: Mapping[str, str]) -> RenderedEmail:
        """See :func:`render_email`."""
        return render_email(self.subject, self.text, self.html, values)


# -- registered brandname templates -----------------------------------------------------


def _follows(literals: tuple[str, ...], text: str) -> bool:
    """True when ``text`` is ``literals`` with a non-empty text between each two.

    Each literal is taken at its leftmost possible place, which finds a match
    whenever one exists, in linear passes: a regex of lazy wildcards can take
    exponential time on an unlucky message.
    """
    head, *middle, tail = literals
    end = len(text) - len(tail)
    if not (text.startswith(head) and text.endswith(tail)):
        return False
    pos = len(head)
    for literal in middle:
        found = text.find(literal, pos + 1, end)
        if found < 0:
            return False
        pos = found + len(literal)
    return end - pos >= 1


@frozen
class RegisteredPattern:
    """A template registered with an SMS gateway for customer-care messages.

    A message matches when it equals the template's literal parts exactly and
    each variable stands for some non-empty text (a variable used twice is not
    required to have the same text both times, as gateways do not require it).
    """

    template_text: str
    brandname: str | None = None
    _literals: tuple[str, ...] = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_literals", parse_template(self.template_text).literals)

    def matches(self, rendered_text: str) -> bool:
        """True when ``rendered_text`` could have been rendered from this template."""
        if len(self._literals) == 1:
            return rendered_text == self._literals[0]
        return _follows(self._literals, rendered_text)


def matches_registered(template_text: str, rendered_text: str) -> bool:
    """True when ``rendered_text`` follows the registered template ``template_text``."""
    return RegisteredPattern(template_text).matches(rendered_text)


# -- advertising -----------------------------------------------------------------------

_TRAILING = " \t\r\n.!"


def label_advertising(
    text: str, *, label: str = DEFAULT_AD_LABEL, opt_out: str = DEFAULT_OPT_OUT
) -> str:
    """An advertising SMS with ``label`` first and the ``opt_out`` sentence last.

    Each is added only when not already there (compared ignoring case, accents
    and trailing punctuation), so labelling twice changes nothing. Pass
    ``""`` to leave one out.
    """
    out = text
    if label and not _folded_starts_with(out.lstrip(), fold(label)):
        out = f"{label} {out.lstrip()}" if out.strip() else label
    if opt_out:
        wanted = fold(opt_out).rstrip(_TRAILING)
        if not _folded_ends_with(out, wanted):
            out = f"{out.rstrip()} {opt_out}"
    return out


#: Raw characters folded beyond the compared ones before falling back to the whole text.
_WINDOW = 8


def _folded_starts_with(text: str, prefix: str) -> bool:
    """``fold(text).startswith(prefix)``, folding only the start of a long text.

    Folding is per character except at a cut (a Hangul jamo may compose with the
    next one), so a folded window is exact but for its last character; the window
    is used when it still has ``_UNSURE`` folded characters beyond ``prefix``.
    """
    head = text[: len(prefix) + _WINDOW]
    if len(head) < len(text):
        folded = fold(head)
        if len(folded) >= len(prefix) + _UNSURE:
            return folded.startswith(prefix)
    return fold(text).startswith(prefix)


def _folded_ends_with(text: str, suffix: str) -> bool:
    """``fold(text).rstrip(_TRAILING).endswith(suffix)``, folding only the end of a
    long text (exact but for the window's first character; see above)."""
    tail = text[-(len(suffix) + _WINDOW) :]
    if len(tail) < len(text):
        folded = fold(tail).rstrip(_TRAILING)
        if len(folded) >= len(suffix) + _UNSURE:
            return folded.endswith(suffix)
    return fold(text).rstrip(_TRAILING).endswith(suffix)


#: Folded characters next to a cut (the edge of a literal or of a window) that the
#: text on the other side may still change (Hangul jamo compose across it): one,
#: and one more to spare.
_UNSURE = 2


def _source_text(literals: list[str], slots: tuple[str, ...]) -> str:
    escaped = [lit.replace("{", "{{").replace("}", "}}") for lit in literals]
    return "".join(
        e + (f"{{{s}}}" if i < len(slots) else "")
        for i, (e, s) in enumerate(zip(escaped, (*slots, ""), strict=True))
    )


def label_advertising_compiled(
    template: CompiledTemplate, *, label: str = DEFAULT_AD_LABEL, opt_out: str = DEFAULT_OPT_OUT
) -> tuple[CompiledTemplate, str] | None:
    """:func:`label_advertising` applied once to a template's literal text where it can be.

    Returns the template with the label (and the opt-out, when its presence cannot
    depend on the values) put into its literal text, and the opt-out still to add to
    each rendered text (``""`` when none), so that
    ``label_advertising(result.render(v), label="", opt_out=rest)`` equals
    ``label_advertising(template.render(v), label=label, opt_out=opt_out)`` for any
    ``v`` without folding every message. None when whether the label is already
    there could depend on the values (the text starts with a variable or with too
    little literal text to tell): then label each rendered text.
    """
    literals = list(template.literals)
    if not template.slots:
        text = label_advertising(literals[0], label=label, opt_out=opt_out)
        return CompiledTemplate(_source_text([text], ()), (text,), ()), ""
    if label:
        head = fold(literals[0].lstrip())
        sure, wanted = head[: max(len(head) - _UNSURE, 0)], fold(label)
        if len(sure) < len(wanted) and wanted.startswith(sure):
            return None
        literals[0] = label_advertising(literals[0], label=label, opt_out="")
    rest = opt_out
    if opt_out:
        tail = fold(literals[-1]).rstrip(_TRAILING)
        sure, wanted = tail[_UNSURE:], fold(opt_out).rstrip(_TRAILING)
        if len(sure) >= len(wanted) or not wanted.endswith(sure):
            literals[-1] = label_advertising(literals[-1], label="", opt_out=opt_out)
            rest = ""
    compiled = CompiledTemplate(
        _source_text(literals, template.slots), tuple(literals), template.slots
    )
    return compiled, rest
