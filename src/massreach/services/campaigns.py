"""Templates and campaigns, the use case: create, edit, look (audience, preview,
confirm), send, pause, resume, cancel, complete, search.

The rules live in the core (:mod:`massreach.core.lifecycle` for states,
:mod:`massreach.core.roles` for who may do what, :mod:`massreach.core.templates` for
templates); this shell applies them through storage and tells plugins about every
state change (``massreach_campaign_state_changed``).

Sending is two steps that never make a message twice: every reachable recipient's
message is rendered first (streamed in pages; any failure stops the send before a
message exists), then :meth:`Storage.expand_audience` creates one outbox message per
campaign and target, set-based inside the backend. Calling :meth:`CampaignService.send`
again, or by two users at once, adds nothing twice.

Messages are rendered again at dispatch time with
:func:`massreach.services.rendering.render_message`, the same code path as the preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import attrs
from attrs import frozen

from massreach.core.lifecycle import (
    CampaignAction,
    CampaignKind,
    CampaignState,
    parse_kind,
    transition,
)
from massreach.core.lifecycle import parse_state as parse_campaign_state
from massreach.core.roles import Action, Role
from massreach.core.textfold import contains_folded
from massreach.errors import ConflictError, InvalidInput, TemplateError
from massreach.model import Campaign, CampaignSource, MessageState, Template
from massreach.model.contacts import ContactList, ListFeed
from massreach.services.campaign_audience import AudienceEditing
from massreach.services.campaign_base import channel_field, checked_channel, checked_role
from massreach.services.campaign_preview import Previewing
from massreach.services.campaign_templates import TemplateManaging
from massreach.services.rendering import RenderedContent, render_message

__all__ = ["KEEP", "CampaignReport", "CampaignService", "RenderedContent", "render_message"]

#: Message states that mean a campaign still has work to do.
_OPEN_STATES = frozenset({MessageState.pending, MessageState.held, MessageState.sending})


class _Keep(Enum):
    KEEP = "keep"


#: "Leave as it is" for :meth:`CampaignService.edit` (where ``None`` means "clear").
KEEP = _Keep.KEEP


@frozen
class CampaignReport:
    """A campaign with how many of its messages are in each state."""

    campaign: Campaign
    messages: dict[str, int]
    total_messages: int


def _aware(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        raise InvalidInput(
            "The scheduled time needs a time zone (for example 2026-11-23T09:00+07:00).",
            code="campaign.naive_time",
            details={"value": when.isoformat()},
        )
    return when


def _check_campaign(campaign: Campaign, template: Template) -> None:
    """InvalidInput unless the campaign and its template fit the channel's rules."""
    if template.channel != campaign.channel:
        raise InvalidInput(
            f"The template {template.name!r} is for {template.channel}; this campaign sends "
            f"{campaign.channel}.",
            code="template.wrong_channel",
            details={"template": template.name, "channel": campaign.channel},
        )
    if campaign.channel == "sms":
        if not campaign.brandname:
            raise InvalidInput(
                "An SMS campaign needs the brandname it is sent under.",
                code="campaign.brandname_required",
            )
        if campaign.kind is CampaignKind.care and not (
            template.registered and template.brandname == campaign.brandname
        ):
            raise InvalidInput(
                f"A customer-care SMS must follow a template registered for the brandname "
                f"{campaign.brandname!r}; {template.name!r} is "
                + (
                    "registered for " + repr(template.brandname)
                    if template.registered
                    else "not registered"
                )
                + ".",
                code="campaign.unregistered_template",
                details={"template": template.name, "brandname": campaign.brandname},
            )
    else:
        if not campaign.account:
            raise InvalidInput(
                "An email campaign needs the sending account (mail server) to use.",
                code="campaign.account_required",
            )
        if campaign.transliterate:
            raise InvalidInput(
                "Transliteration is for SMS; an email campaign cannot use it.",
                code="campaign.transliterate_sms_only",
            )


class CampaignService(TemplateManaging, AudienceEditing, Previewing):
    """Templates and campaigns for one engine (``Reach.campaigns``).

    Audience methods come from :class:`~.campaign_audience.AudienceEditing`
    (``audience``, ``add_contact``, ``add_from_contacts``, ``edit_contact``,
    ``remove_contact``, ``import_file``) and the look before sending from
    :class:`~.campaign_preview.Previewing` (``preview``, ``confirm``,
    ``check_renders``).
    """

    # -- creating and editing --------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        channel: str,
        kind: CampaignKind | str,
        template: str,
        user: str,
        role: Role | str,
        list_name: str | None = None,
        source: CampaignSource | None = None,
        tags: Sequence[str] = (),
        brandname: str | None = None,
        account: str | None = None,
        scheduled_at: datetime | None = None,
        transliterate: bool = False,
        feed: ListFeed | str | None = None,
    ) -> Campaign:
        """Create a draft campaign on a list (``list_name``, created with ``feed`` if
        new; an existing list keeps its feed) or another ``source`` (e.g. the contacts
        table: ``CampaignSource(target_field=..., variable_map=...)``). ``tags`` narrow
        the audience. Email campaigns send through ``account`` (default ``"default"``)."""
        checked_role(role, Action.create_campaign)
        channel = checked_channel(channel)
        if (list_name is None) == (source is None):
            raise InvalidInput(
                "Give the campaign either a list or another source, not both.",
                code="campaign.source_required",
            )
        if source is None:
            source = CampaignSource(list_id=self._list_for(str(list_name), feed, user).id)
        if tags:
            source = attrs.evolve(source, tags=tuple(tags))
        if source.list_id is not None and self.storage.get_list_by_id(source.list_id) is None:
            raise InvalidInput(
                f"There is no list with id {source.list_id}.",
                code="list.not_found",
                details={"list_id": source.list_id},
            )
        now = self.context.now()
        campaign = Campaign(
            id=0,
            name=name,
            channel=channel,
            kind=kind if isinstance(kind, CampaignKind) else parse_kind(kind),
            template=template,
            source=source,
            brandname=brandname,
            account=(account or "default") if channel == "email" else account,
            transliterate=transliterate,
            scheduled_at=_aware(scheduled_at),
            created_by=user,
            created_at=now,
            updated_at=now,
        )
        _check_campaign(campaign, self.template(template))
        return self.storage.create_campaign(campaign)

    def _list_for(self, name: str, feed: ListFeed | str | None, user: str | None) -> ContactList:
        wanted = None if feed is None else ListFeed(feed)
        found = self.storage.get_list(name)
        if found is None:
            return self.storage.create_list(
                name, feed=wanted or ListFeed.csv, created_by=user, now=self.context.now()
            )
        if wanted is not None and found.feed is not wanted:
            raise ConflictError(
                f"The list {name!r} is {found.feed.value}-fed; how a campaign is fed is "
                "chosen at creation and never changes.",
                code="campaign.feed_fixed",
                details={"list": name, "feed": found.feed.value},
            )
        return found

    def edit(
        self,
        name: str,
        *,
        role: Role | str,
        template: str | _Keep = KEEP,
        kind: CampaignKind | str | _Keep = KEEP,
        tags: Sequence[str] | _Keep = KEEP,
        brandname: str | _Keep | None = KEEP,
        account: str | _Keep | None = KEEP,
        scheduled_at: datetime | _Keep | None = KEEP,
        transliterate: bool | _Keep = KEEP,
        variable_map: Mapping[str, str] | _Keep = KEEP,
        target_field: str | _Keep | None = KEEP,
    ) -> Campaign:
        """Change a draft campaign (arguments left at :data:`KEEP` stay as they are).
        The channel, the name and the list (and so its feed) never change."""
        checked_role(role, Action.edit_campaign)
        campaign = self.get(name)
        self._require_draft(campaign, "edit the campaign")
        changes: dict[str, Any] = {}
        source: dict[str, Any] = {}
        for key, value in (
            ("template", template),
            ("brandname", brandname),
            ("account", account),
            ("transliterate", transliterate),
        ):
            if value is not KEEP:
                changes[key] = value
        if kind is not KEEP:
            changes["kind"] = kind if isinstance(kind, CampaignKind) else parse_kind(kind)
        if scheduled_at is not KEEP:
            changes["scheduled_at"] = _aware(scheduled_at)
        if tags is not KEEP:
            source["tags"] = tuple(tags)
        if variable_map is not KEEP:
            source["variable_map"] = dict(variable_map)
        if target_field is not KEEP:
            source["target_field"] = target_field
        if source:
            changes["source"] = attrs.evolve(campaign.source, **source)
        edited: Campaign = attrs.evolve(campaign, updated_at=self.context.now(), **changes)
        _check_campaign(edited, self.template(edited.template))
        self.storage.save_campaign(edited)
        return edited

    # -- the lifecycle -----------------------------------------------------------------
    def send(self, name: str, *, user: str, role: Role | str) -> Campaign:
        """Send a campaign now, or at its scheduled time when that is in the future.

        Only a manager or admin may (:class:`PermissionDenied` naming action and
        role). Every recipient's message is rendered first: if any cannot be,
        :class:`TemplateError` ``campaign.unrenderable`` lists up to 10 (record,
        masked contact, variable) and nothing is created. Then one outbox message per
        target is created (never two, even when called again) and the campaign moves
        to ``sending`` (or ``scheduled``)."""
        checked_role(role, Action.send_campaign)
        campaign = self.get(name)
        now = self.context.now()
        future = campaign.scheduled_at is not None and campaign.scheduled_at > now
        action = CampaignAction.schedule if future else CampaignAction.start
        transition(campaign.state, action)  # refuse early, before any work
        _check_campaign(campaign, self.template(campaign.template))
        check = self.check_renders(campaign, segments=False)
        if check.checked == 0:
            raise InvalidInput(
                f"The campaign {campaign.name!r} has no reachable customer; nothing to send.",
                code="campaign.no_audience",
                details={"campaign": campaign.name},
            )
        if check.failed:
            listed = "; ".join(f"{p.contact}: {p.message}" for p in check.problems)
            raise TemplateError(
                f"{check.failed} of {check.checked} messages of {campaign.name!r} cannot be "
                f"rendered, so nothing was sent. {listed}",
                code="campaign.unrenderable",
                details={
                    "campaign": campaign.name,
                    "failed": check.failed,
                    "checked": check.checked,
                    "problems": [attrs.asdict(p) for p in check.problems],
                },
            )
        self.storage.expand_audience(campaign, channel_field=channel_field(campaign), now=now)
        return self._move(campaign, action, sent_by=user)

    def activate_due(self) -> list[Campaign]:
        """Move scheduled campaigns whose time has come to ``sending``; returns them."""
        now = self.context.now()
        return [
            self._move(c, CampaignAction.start)
            for c in self.storage.campaigns()
            if c.state is CampaignState.scheduled
            and (c.scheduled_at is None or c.scheduled_at <= now)
        ]

    def pause(self, name: str, *, role: Role | str, user: str | None = None) -> Campaign:
        """Pause a sending campaign: no message is claimed until it is resumed."""
        checked_role(role, Action.pause_campaign)
        return self._move(self.get(name), CampaignAction.pause)

    def resume(self, name: str, *, role: Role | str, user: str | None = None) -> Campaign:
        """Resume a paused campaign."""
        checked_role(role, Action.resume_campaign)
        return self._move(self.get(name), CampaignAction.resume)

    def cancel(self, name: str, *, role: Role | str, user: str | None = None) -> Campaign:
        """Cancel a campaign and its messages still waiting (pending or held)."""
        checked_role(role, Action.cancel_campaign)
        cancelled = self._move(self.get(name), CampaignAction.cancel)
        self.storage.cancel_messages(cancelled.id, now=self.context.now())
        return cancelled

    def complete_if_done(self, name: str) -> Campaign:
        """Move a sending campaign to ``completed`` when none of its messages is
        pending, held or being sent; any other campaign is returned unchanged."""
        campaign = self.get(name)
        if campaign.state is not CampaignState.sending:
            return campaign
        counts = self.storage.message_counts(campaign.id)
        if any(counts.get(state) for state in _OPEN_STATES):
            return campaign
        return self._move(campaign, CampaignAction.complete)

    # -- finding -----------------------------------------------------------------------
    def search(
        self, name: str | None = None, state: CampaignState | str | None = None
    ) -> list[Campaign]:
        """Campaigns whose name contains ``name`` (ignoring case and accents) and in
        ``state``, by id."""
        wanted = None
        if state is not None:
            wanted = state if isinstance(state, CampaignState) else parse_campaign_state(state)
        return [
            c
            for c in self.storage.campaigns()
            if (wanted is None or c.state is wanted) and (not name or contains_folded(c.name, name))
        ]

    def show(self, name: str) -> CampaignReport:
        """A campaign and the number of its messages in each state."""
        campaign = self.get(name)
        counts = self.storage.message_counts(campaign.id)
        return CampaignReport(
            campaign=campaign,
            messages={state.value: counts[state] for state in MessageState if state in counts},
            total_messages=sum(counts.values()),
        )
