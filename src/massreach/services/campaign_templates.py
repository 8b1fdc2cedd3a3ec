"""Message templates: SMS text, email (subject, text, optional HTML), registered
brandname templates. Parsed when added, so a template that is stored always renders
(given its variables). Part of ``CampaignService``."""

from __future__ import annotations

from massreach.core.lifecycle import CampaignState
from massreach.core.templates import EmailTemplate, parse_template
from massreach.errors import ConflictError, InvalidInput, TemplateError
from massreach.model import Template
from massreach.services.campaign_base import CampaignBase, checked_channel

__all__ = ["TemplateManaging"]

#: Campaign states in which a template change would alter messages already queued.
_LIVE_STATES = frozenset({CampaignState.scheduled, CampaignState.sending, CampaignState.paused})


class TemplateManaging(CampaignBase):
    """Adding and listing templates (part of ``CampaignService``)."""

    # -- templates -----------------------------------------------------------------
    def add_template(
        self,
        name: str,
        channel: str,
        body: str,
        *,
        subject: str | None = None,
        html: str | None = None,
        registered: bool = False,
        brandname: str | None = None,
        replace: bool = False,
    ) -> Template:
        """Parse and store a template. A bad one is :class:`TemplateError` with the
        position (``details["position"]``, ``details["part"]``). ``replace`` overwrites
        a template of that name unless a scheduled, sending or paused campaign uses it."""
        channel = checked_channel(channel)
        try:
            if channel == "email":
                if subject is None or not subject.strip():
                    raise InvalidInput(
                        "An email template needs a subject.", code="template.subject_required"
                    )
                EmailTemplate(subject, body, html)
            else:
                if subject is not None or html is not None:
                    raise InvalidInput(
                        "An SMS template has only a body (no subject or HTML).",
                        code="template.sms_body_only",
                    )
                parse_template(body)
        except TemplateError as exc:
            exc.details.setdefault("part", "body")
            raise
        if registered and (channel != "sms" or not brandname):
            raise InvalidInput(
                "A registered template is an SMS template registered with the gateway "
                "under a brandname; give the brandname.",
                code="template.registration_incomplete",
            )
        self._free_template_name(name, replace)
        template = Template(
            name=name,
            channel=channel,
            body=body,
            subject=subject,
            html=html,
            registered=registered,
            brandname=brandname,
            created_at=self.context.now(),
        )
        self.storage.save_template(template)
        return template

    def _free_template_name(self, name: str, replace: bool) -> None:
        if self.storage.get_template(name) is None:
            return
        if not replace:
            raise ConflictError(
                f"A template named {name!r} already exists.",
                code="template.name_taken",
                details={"name": name},
            )
        live = [
            c.name
            for c in self.storage.campaigns()
            if c.template == name and c.state in _LIVE_STATES
        ]
        if live:
            raise ConflictError(
                f"The template {name!r} is used by campaigns being sent ({', '.join(live)}); "
                "it cannot be changed now.",
                code="template.in_use",
                details={"name": name, "campaigns": live},
            )

    def templates(self) -> list[Template]:
        """Every template, by name."""
        return self.storage.templates()
