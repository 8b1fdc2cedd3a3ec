"""Rendering one message of a campaign: the single code path of preview, send checks
and dispatch.

A message is rendered from the variables stored with it (``contact.variables()``,
copied into the outbox when the audience is expanded) in this order:

1. the campaign source's ``variable_map`` is applied: ``{"param0": "name"}`` fills
   ``{param0}`` from the contact's ``name`` (a mapped field the contact lacks leaves
   the variable missing; it never falls back to another value);
2. the template is filled (:mod:`massreach.core.templates`): a missing or empty
   variable is a :class:`TemplateError` naming it, never a blank;
3. SMS, advertising: the ``[QC]`` label first and the opt-out sentence last
   (:func:`~massreach.core.templates.label_advertising`);
   email, advertising: the ``[QC]`` label at the start of the subject;
4. SMS with ``campaign.transliterate``: the text is rewritten in GSM-7
   (:func:`~massreach.core.transliteration.to_gsm7`);
5. SMS customer care with a registered template and transliteration: the final text
   must still match the transliterated registered pattern (only the variables
   differ, each non-empty), else :class:`TemplateError` ``template.unregistered_text``
   (without transliteration a rendered text matches by construction).

Email goes through :func:`~massreach.core.templates.render_email`: a line break in a
value substituted into the subject is ``template.header_injection``; HTML values are
escaped.

The dispatcher calls :func:`render_message` (compiled renderers are cached by the
content of the campaign and template, so calling it per message is cheap).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from attrs import frozen

from massreach.core.lifecycle import CampaignKind
from massreach.core.templates import (
    DEFAULT_AD_LABEL,
    DEFAULT_OPT_OUT,
    CompiledTemplate,
    EmailTemplate,
    RegisteredPattern,
    label_advertising,
    label_advertising_compiled,
    parse_template,
)
from massreach.core.transliteration import to_gsm7
from massreach.errors import InvalidInput, TemplateError
from massreach.model import Campaign, Template

__all__ = [
    "MessageRenderer",
    "RenderSpec",
    "RenderedContent",
    "render_message",
    "renderer_for",
]


@frozen
class RenderedContent:
    """One message ready for its channel: SMS ``text``, or email ``subject``, ``text``
    (plain) and ``html``."""

    text: str
    subject: str | None = None
    html: str | None = None


@frozen
class RenderSpec:
    """Everything that decides how a campaign's messages render (hashable: a cache key)."""

    channel: str
    kind: CampaignKind
    transliterate: bool
    variable_map: tuple[tuple[str, str], ...]
    body: str
    subject: str | None
    html: str | None
    registered: bool
    label: str
    opt_out: str

    @classmethod
    def of(
        cls,
        campaign: Campaign,
        template: Template,
        *,
        label: str = DEFAULT_AD_LABEL,
        opt_out: str = DEFAULT_OPT_OUT,
    ) -> RenderSpec:
        """The spec of ``campaign`` sent with ``template``."""
        if template.channel != campaign.channel:
            raise InvalidInput(
                f"The template {template.name!r} is for {template.channel}, but the campaign "
                f"{campaign.name!r} sends {campaign.channel}.",
                code="template.wrong_channel",
                details={"template": template.name, "channel": campaign.channel},
            )
        return cls(
            channel=campaign.channel,
            kind=CampaignKind(campaign.kind),
            transliterate=campaign.channel == "sms" and campaign.transliterate,
            variable_map=tuple(sorted(campaign.source.variable_map.items())),
            body=template.body,
            subject=template.subject,
            html=template.html,
            registered=template.registered,
            label=label,
            opt_out=opt_out,
        )


def _registered_pattern(compiled: CompiledTemplate, transliterate: bool) -> RegisteredPattern:
    """The registered pattern of a template, its literal parts transliterated if asked."""
    names: dict[str, str] = {}
    pieces: list[str] = []
    for index, literal in enumerate(compiled.literals):
        text = to_gsm7(literal) if transliterate else literal
        pieces.append(text.replace("{", "{{").replace("}", "}}"))
        if index < len(compiled.slots):
            slot = compiled.slots[index]
            pieces.append("{" + names.setdefault(slot, f"v{len(names)}") + "}")
    return RegisteredPattern("".join(pieces))


class MessageRenderer:
    """A campaign's template compiled once; :meth:`render` fills it for one contact."""

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        self._map = dict(spec.variable_map)
        self._sms: CompiledTemplate | None = None
        self._email: EmailTemplate | None = None
        self._pattern: RegisteredPattern | None = None
        self._advertising = spec.kind is CampaignKind.ads
        # what label_advertising still adds to each rendered text (see _labelled)
        self._label_each, self._opt_out_each = "", ""
        if spec.channel == "email":
            if spec.subject is None:
                raise InvalidInput(
                    "An email template needs a subject.",
                    code="template.subject_required",
                )
            subject = parse_template(spec.subject)
            if self._advertising and spec.label:
                labelled = label_advertising_compiled(subject, label=spec.label, opt_out="")
                if labelled is None:
                    self._label_each = spec.label
                else:
                    subject = labelled[0]
            self._email = EmailTemplate(subject, spec.body, spec.html)
            self.variables: tuple[str, ...] = self._email.variables
        else:
            self._sms = parse_template(spec.body)
            self.variables = self._sms.variables
            self._sent = self._sms
            if self._advertising:
                labelled = label_advertising_compiled(
                    self._sms, label=spec.label, opt_out=spec.opt_out
                )
                if labelled is None:
                    self._label_each, self._opt_out_each = spec.label, spec.opt_out
                else:
                    self._sent, self._opt_out_each = labelled
            if spec.registered and spec.kind is CampaignKind.care and spec.transliterate:
                # untransliterated, a rendered text follows its template by construction
                # (literal parts as they are, every value non-empty)
                self._pattern = _registered_pattern(self._sms, transliterate=True)

    def values(self, variables: Mapping[str, str]) -> Mapping[str, str]:
        """``variables`` with the campaign's variable map applied."""
        if not self._map:
            return variables
        values = dict(variables)
        for name, field_name in self._map.items():
            value = variables.get(field_name)
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return values

    def _explained(self, error: TemplateError) -> TemplateError:
        """``error`` with the mapped field named when the variable comes from the map."""
        variable = error.details.get("variable")
        field_name = self._map.get(variable) if isinstance(variable, str) else None
        if field_name is None:
            return error
        return TemplateError(
            f"{error.message} (the campaign fills {{{variable}}} from the field {field_name!r}.)",
            code=error.code,
            details={**error.details, "field": field_name},
        )

    def _labelled(self, variables: Mapping[str, str]) -> str:
        """The SMS text with the advertising label and opt-out, not transliterated."""
        if self._sms is None:
            raise InvalidInput("This campaign sends email, not SMS.", code="campaign.not_sms")
        try:
            text = self._sent.render(self.values(variables))
        except TemplateError as exc:
            raise self._explained(exc) from None
        if self._label_each or self._opt_out_each:
            text = label_advertising(text, label=self._label_each, opt_out=self._opt_out_each)
        return text

    def sms_texts(self, variables: Mapping[str, str]) -> tuple[str, str]:
        """An SMS as it will be sent, before and after transliteration.

        The second text is always the transliterated one (for showing both segment
        counts), whether or not the campaign transliterates.
        """
        text = self._labelled(variables)
        return text, to_gsm7(text)

    def render(self, variables: Mapping[str, str]) -> RenderedContent:
        """One message for a contact with these variables (see the module doc)."""
        if self._email is not None:
            try:
                email = self._email.render(self.values(variables))
            except TemplateError as exc:
                raise self._explained(exc) from None
            subject = email.subject
            if self._label_each:
                subject = label_advertising(subject, label=self._label_each, opt_out="")
            return RenderedContent(email.text, subject, email.html)
        text = self._labelled(variables)
        if self.spec.transliterate:
            text = to_gsm7(text)
        if self._pattern is not None and not self._pattern.matches(text):
            raise TemplateError(
                "The message no longer matches its registered template "
                "(a variable's value is empty after transliteration, or the text changed).",
                code="template.unregistered_text",
                details={"transliterated": self.spec.transliterate},
            )
        return RenderedContent(text)


@lru_cache(maxsize=256)
def _compiled(spec: RenderSpec) -> MessageRenderer:
    return MessageRenderer(spec)


def renderer_for(
    campaign: Campaign,
    template: Template,
    *,
    label: str = DEFAULT_AD_LABEL,
    opt_out: str = DEFAULT_OPT_OUT,
) -> MessageRenderer:
    """The (cached) compiled renderer of ``campaign`` with ``template``."""
    return _compiled(RenderSpec.of(campaign, template, label=label, opt_out=opt_out))


def render_message(
    campaign: Campaign,
    template: Template,
    variables: Mapping[str, str],
    *,
    label: str = DEFAULT_AD_LABEL,
    opt_out: str = DEFAULT_OPT_OUT,
) -> RenderedContent:
    """Render one message of ``campaign`` from its stored ``variables``.

    Raises :class:`TemplateError` (``template.missing_variable``,
    ``template.header_injection``, ``template.unregistered_text`` …) when the
    message cannot be sent as it is; the dispatcher should fail that message
    with the error's code as the reason.
    """
    return renderer_for(campaign, template, label=label, opt_out=opt_out).render(variables)
