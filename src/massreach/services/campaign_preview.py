"""Looking at a campaign before sending it: preview, confirmation, and the check that
every recipient's message renders.

Segment totals: :meth:`Previewing.preview` and :meth:`Previewing.confirm` render a
bounded sample (the first :data:`SEGMENT_SAMPLE` reachable contacts). When the
audience is no larger, the total is exact (``total_segments_exact``); otherwise it is
the sample's average times the reachable audience, rounded. The full check over every
recipient (:meth:`Previewing.check_renders`) streams the audience in pages and is
what :meth:`~massreach.services.campaigns.CampaignService.send` runs before creating
any message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from attrs import field, frozen

from massreach.core.phones import PhoneNormalizer
from massreach.core.segments import SegmentCount, count_segments
from massreach.errors import InvalidInput, MassreachError, NotFound, TemplateError
from massreach.model import Campaign, Contact, ContactQuery
from massreach.model.fields import to_tuple
from massreach.services.campaign_base import (
    CampaignBase,
    channel_field,
    contact_label,
    mask_target,
    render_error,
)
from massreach.services.campaign_quota import QuotaForecast, quota_forecast
from massreach.services.rendering import MessageRenderer

__all__ = [
    "SEGMENT_SAMPLE",
    "Confirmation",
    "Preview",
    "Previewing",
    "RenderCheck",
    "RenderProblem",
]

#: Reachable contacts rendered to total the segments of a campaign.
SEGMENT_SAMPLE = 1000
#: Contacts read per page when every recipient is checked.
CHECK_PAGE = 2000
#: Problems listed by a render check.
MAX_PROBLEMS = 10


@frozen
class RenderProblem:
    """A recipient whose message cannot be rendered."""

    contact_id: int
    record: int
    contact: str
    variable: str | None
    code: str
    message: str


@frozen
class RenderCheck:
    """The result of rendering every reachable recipient: how many, how many failed,
    the first problems, and (SMS) the exact total of segments of those that render."""

    checked: int
    failed: int
    problems: tuple[RenderProblem, ...] = field(converter=to_tuple)
    segments: int | None = None


@frozen
class Preview:
    """A campaign's message rendered for one contact, with audience and cost figures.

    SMS: ``text`` is the message as it will be sent (advertising label, opt-out,
    transliteration applied); ``encoding``, ``segments`` and ``characters`` are
    its counts; ``original`` and ``transliterated`` are the counts of the text
    without and with transliteration, whichever the campaign uses. ``quota`` (advertising
    SMS) says how many messages the carrier quotas let through now and when the rest can go.
    """

    campaign: str
    channel: str
    kind: str
    contact_id: int
    contact: str
    text: str
    subject: str | None
    html: str | None
    encoding: str | None
    segments: int | None
    characters: int | None
    original: SegmentCount | None
    transliterated: SegmentCount | None
    transliterate: bool
    messages: int
    reachable: int
    total: int
    total_segments: int | None
    total_segments_exact: bool
    sampled: int
    problems: tuple[RenderProblem, ...] = field(converter=to_tuple)
    quota: QuotaForecast | None = None


@frozen
class Confirmation:
    """What a user confirms before pressing Send."""

    campaign: str
    state: str
    channel: str
    kind: str
    template: str
    tags: tuple[str, ...] = field(converter=to_tuple)
    total: int
    audience: int
    messages: int
    scheduled_at: datetime | None
    account: str | None
    brandname: str | None
    transliterate: bool
    total_segments: int | None
    total_segments_exact: bool


def _problem(error: MassreachError, contact: Contact, campaign: Campaign) -> RenderProblem:
    variable = error.details.get("variable")
    return RenderProblem(
        contact_id=contact.id,
        record=contact.position,
        contact=contact_label(contact, channel_field(campaign)),
        variable=variable if isinstance(variable, str) else None,
        code=error.code,
        message=error.message,
    )


class Previewing(CampaignBase):
    """Preview, confirmation and render checks (part of ``CampaignService``)."""

    def _pages(self, campaign: Campaign, limit: int | None, page: int) -> Iterator[Contact]:
        """The reachable audience in id order, read ``page`` at a time, at most ``limit``."""
        target = channel_field(campaign)
        after, seen = 0, 0
        while limit is None or seen < limit:
            size = page if limit is None else min(page, limit - seen)
            batch = self.storage.audience(
                campaign, channel_field=target, limit=size, after_id=after
            )
            if not batch:
                return
            yield from batch
            seen += len(batch)
            after = batch[-1].id

    def check_renders(
        self, campaign: Campaign, *, limit: int | None = None, segments: bool = True
    ) -> RenderCheck:
        """Render the message of every reachable recipient (the first ``limit`` when
        given), streaming the audience; nothing is kept but counts, the first
        :data:`MAX_PROBLEMS` problems and (SMS, ``segments``) the segment total."""
        renderer = self.renderer(campaign)
        sms = segments and campaign.channel == "sms"
        checked = failed = total = 0
        problems: list[RenderProblem] = []
        for contact in self._pages(campaign, limit, min(CHECK_PAGE, limit or CHECK_PAGE)):
            checked += 1
            try:
                rendered = renderer.render(contact.variables())
            except MassreachError as exc:
                failed += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(_problem(exc, contact, campaign))
                continue
            if sms:
                total += count_segments(rendered.text).segments
        return RenderCheck(checked, failed, problems, total if sms else None)

    def _estimate(self, campaign: Campaign, reachable: int) -> tuple[RenderCheck, int | None, bool]:
        sample = self.check_renders(campaign, limit=SEGMENT_SAMPLE)
        exact = sample.checked >= reachable
        if sample.segments is None:
            return sample, None, exact
        rendered = sample.checked - sample.failed
        if exact or not rendered:
            return sample, sample.segments, exact
        return sample, round(sample.segments / rendered * reachable), False

    def _chosen(self, campaign: Campaign, contact: str) -> Contact:
        query = ContactQuery(list_id=campaign.source.list_id)
        text = contact.strip()
        if "@" in text:
            query = query.evolve(email=text)
        else:
            phone = PhoneNormalizer(self.default_region).e164_or_none(text)
            if phone is None:
                raise InvalidInput(
                    f"{mask_target(text)} is neither a phone number nor an e-mail address.",
                    code="contact.invalid",
                    details={"contact": mask_target(text)},
                )
            query = query.evolve(phone=phone)
        found = self.storage.find_contacts(query, limit=1)
        if not found:
            raise NotFound(
                f"The campaign {campaign.name!r} has no customer {mask_target(text)}.",
                code="contact.not_found",
                details={"campaign": campaign.name, "contact": mask_target(text)},
            )
        return found[0]

    def _first(self, campaign: Campaign) -> Contact:
        first = self.storage.audience(campaign, channel_field=channel_field(campaign), limit=1)
        if not first:
            raise InvalidInput(
                f"The campaign {campaign.name!r} has no reachable customer to preview with; "
                "add customers, check its tags, or choose a customer.",
                code="campaign.no_audience",
                details={"campaign": campaign.name},
            )
        return first[0]

    def preview(self, name: str, contact: str | None = None) -> Preview:
        """The message rendered for the first reachable contact (or the one with this
        phone or email), with its SMS encoding and segments, and audience figures.

        A variable the contact lacks is a :class:`TemplateError` naming the variable
        and the contact (masked)."""
        campaign = self.get(name)
        renderer: MessageRenderer = self.renderer(campaign)
        chosen = self._first(campaign) if contact is None else self._chosen(campaign, contact)
        try:
            rendered = renderer.render(chosen.variables())
            texts = renderer.sms_texts(chosen.variables()) if campaign.channel == "sms" else None
        except TemplateError as exc:
            raise render_error(exc, chosen, campaign) from None
        figures = self.storage.audience_figures(campaign, channel_field=channel_field(campaign))
        sample, total_segments, exact = self._estimate(campaign, figures.reachable)
        counts = None if texts is None else count_segments(rendered.text)
        return Preview(
            campaign=campaign.name,
            channel=campaign.channel,
            kind=campaign.kind.value,
            contact_id=chosen.id,
            contact=contact_label(chosen, channel_field(campaign)),
            text=rendered.text,
            subject=rendered.subject,
            html=rendered.html,
            encoding=None if counts is None else counts.encoding,
            segments=None if counts is None else counts.segments,
            characters=None if counts is None else counts.characters,
            original=None if texts is None else count_segments(texts[0]),
            transliterated=None if texts is None else count_segments(texts[1]),
            transliterate=renderer.spec.transliterate,
            messages=figures.reachable,
            reachable=figures.reachable,
            total=figures.total,
            total_segments=total_segments,
            total_segments_exact=exact,
            sampled=sample.checked,
            problems=sample.problems,
            quota=quota_forecast(self.storage, self.context.config, campaign, self.context.now()),
        )

    def confirm(self, name: str) -> Confirmation:
        """Channel, audience, number of messages, scheduled time, template, and the
        sending account (email) or brandname (SMS): what a user checks before Send."""
        campaign = self.get(name)
        self.template(campaign.template)
        figures = self.storage.audience_figures(campaign, channel_field=channel_field(campaign))
        _, total_segments, exact = self._estimate(campaign, figures.reachable)
        email = campaign.channel == "email"
        return Confirmation(
            campaign=campaign.name,
            state=campaign.state.value,
            channel=campaign.channel,
            kind=campaign.kind.value,
            template=campaign.template,
            tags=campaign.source.tags,
            total=figures.total,
            audience=figures.reachable,
            messages=figures.reachable,
            scheduled_at=campaign.scheduled_at,
            account=campaign.account if email else None,
            brandname=None if email else campaign.brandname,
            transliterate=campaign.transliterate,
            total_segments=total_segments,
            total_segments_exact=exact,
        )
