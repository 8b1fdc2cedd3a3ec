"""Templates, campaigns, audiences, the outbox and delivery reports of ``memory:``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from massreach.adapters.memory_state import MemoryState, fold, in_utc, locked
from massreach.core.lifecycle import CampaignState
from massreach.errors import ConflictError, NotFound
from massreach.model import (
    AudienceFigures,
    Campaign,
    Contact,
    DeliveryReport,
    MessageOutcome,
    MessageState,
    OutboxMessage,
    TagFigure,
    Template,
)
from massreach.model.outbox import STATE_RANK

__all__ = ["MemoryOutbox"]

_CONTACT_ATTRS = frozenset({"phone", "email", "name", "description", "gender", "crm_id"})
_DUE_STATES = frozenset({MessageState.pending, MessageState.held})
_SENT_STATES = frozenset({MessageState.sent, MessageState.accepted})
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def target_of(contact: Contact, field: str) -> str | None:
    """The value of ``field`` (a contact attribute or a custom field) if non-empty."""
    value = getattr(contact, field) if field in _CONTACT_ATTRS else contact.fields.get(field)
    return value or None


def _claimable(message: OutboxMessage, now: datetime) -> bool:
    if message.state in _DUE_STATES:
        return message.due_at is None or message.due_at <= now
    return message.state is MessageState.sending and (
        message.lease_until is None or message.lease_until <= now
    )


def _client_message_id(client_id: str) -> tuple[int, int] | None:
    """``mr-<campaign>-<message>`` → (campaign id, message id)."""
    prefix, _, rest = client_id.partition("-")
    campaign, _, message = rest.partition("-")
    if prefix != "mr" or not campaign.isdigit() or not message.isdigit():
        return None
    return int(campaign), int(message)


class MemoryOutbox(MemoryState):
    """Templates, campaigns and their outbox, in dicts."""

    # -- templates and campaigns ---------------------------------------------------
    @locked
    def save_template(self, template: Template) -> None:
        """Add or replace a template by name."""
        self._templates[template.name] = in_utc(template)

    @locked
    def get_template(self, name: str) -> Template | None:
        """One template by name."""
        return self._templates.get(name)

    @locked
    def templates(self) -> list[Template]:
        """Every template by name."""
        return [self._templates[name] for name in sorted(self._templates)]

    def _name_taken(self, name: str, campaign_id: int | None) -> None:
        for other in self._campaigns.values():
            if other.name == name and other.id != campaign_id:
                raise ConflictError(
                    f"A campaign named {name!r} already exists.",
                    code="campaign.name_taken",
                    details={"name": name},
                )

    @locked
    def create_campaign(self, campaign: Campaign) -> Campaign:
        """Store a new campaign (id ignored); ConflictError if the name is taken."""
        self._name_taken(campaign.name, None)
        stored = in_utc(attrs.evolve(campaign, id=self._next_id("campaign")))
        self._campaigns[stored.id] = stored
        return attrs.evolve(stored)

    @locked
    def save_campaign(self, campaign: Campaign) -> None:
        """Overwrite a stored campaign; NotFound if unknown, ConflictError on a taken name."""
        if campaign.id not in self._campaigns:
            raise NotFound(
                f"There is no campaign with id {campaign.id}.",
                code="campaign.not_found",
                details={"campaign_id": campaign.id},
            )
        self._name_taken(campaign.name, campaign.id)
        self._campaigns[campaign.id] = in_utc(campaign)

    @locked
    def get_campaign(self, name: str) -> Campaign | None:
        """One campaign by name."""
        found = next((c for c in self._campaigns.values() if c.name == name), None)
        return None if found is None else attrs.evolve(found)

    @locked
    def get_campaign_by_id(self, campaign_id: int) -> Campaign | None:
        """One campaign by id."""
        found = self._campaigns.get(campaign_id)
        return None if found is None else attrs.evolve(found)

    @locked
    def campaigns(self) -> list[Campaign]:
        """Every campaign by id."""
        return [attrs.evolve(self._campaigns[key]) for key in sorted(self._campaigns)]

    # -- audience ----------------------------------------------------------------------
    def _source(self, campaign: Campaign) -> Iterator[Contact]:
        list_id = campaign.source.list_id
        for _, contact in sorted(self._contacts.items()):
            if list_id is None or contact.list_id == list_id:
                yield contact

    def _reachable(self, contact: Contact, channel_field: str) -> bool:
        target = target_of(contact, channel_field)
        return target is not None and fold(target) not in self._opt_outs

    def _audience(self, campaign: Campaign, channel_field: str) -> Iterator[Contact]:
        tags = set(campaign.source.tags)
        for contact in self._source(campaign):
            if (not tags or tags.intersection(contact.tags)) and self._reachable(
                contact, channel_field
            ):
                yield contact

    @locked
    def audience_figures(self, campaign: Campaign, *, channel_field: str) -> AudienceFigures:
        """Source total, reachable audience, and ``reachable/total`` per tag of the source."""
        total = 0
        per_tag: dict[str, list[int]] = {}
        for contact in self._source(campaign):
            total += 1
            reachable = self._reachable(contact, channel_field)
            for tag in dict.fromkeys(contact.tags):
                figures = per_tag.setdefault(tag, [0, 0])
                figures[0] += reachable
                figures[1] += 1
        return AudienceFigures(
            total=total,
            reachable=sum(1 for _ in self._audience(campaign, channel_field)),
            tags=tuple(TagFigure(tag, f[0], f[1]) for tag, f in sorted(per_tag.items())),
        )

    @locked
    def audience(
        self, campaign: Campaign, *, channel_field: str, limit: int, after_id: int = 0
    ) -> list[Contact]:
        """Reachable audience contacts by id (``id > after_id``), at most ``limit``."""
        found: list[Contact] = []
        for contact in self._audience(campaign, channel_field):
            if len(found) >= limit:
                break
            if contact.id > after_id:
                found.append(attrs.evolve(contact))
        return found

    @locked
    def expand_audience(self, campaign: Campaign, *, channel_field: str, now: datetime) -> int:
        """One pending message per distinct (case-insensitive) target not yet in the outbox."""
        now = now.astimezone(UTC)
        due = (campaign.scheduled_at or now).astimezone(UTC)
        keys = self._outbox_keys.setdefault(campaign.id, set())
        created = 0
        for contact in list(self._audience(campaign, channel_field)):
            target = target_of(contact, channel_field)
            if target is None or fold(target) in keys:
                continue
            keys.add(fold(target))
            message = OutboxMessage(
                id=self._next_id("message"),
                campaign_id=campaign.id,
                target=target,
                contact_id=contact.id,
                variables=contact.variables(),
                due_at=due,
                updated_at=now,
            )
            self._messages[message.id] = message
            created += 1
        return created

    # -- outbox ----------------------------------------------------------------------
    def _sending_campaigns(self) -> set[int]:
        return {c.id for c in self._campaigns.values() if c.state is CampaignState.sending}

    @locked
    def claim_messages(
        self,
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        campaign_ids: Sequence[int] | None = None,
    ) -> list[OutboxMessage]:
        """Claim due messages of sending campaigns, earliest due first, for ``worker``."""
        now = now.astimezone(UTC)
        campaigns = self._sending_campaigns()
        if campaign_ids is not None:
            campaigns &= set(campaign_ids)
        due = sorted(
            (
                m
                for m in self._messages.values()
                if m.campaign_id in campaigns and _claimable(m, now)
            ),
            key=lambda m: (m.due_at or _EARLIEST, m.id),
        )[: max(limit, 0)]
        claimed = []
        for message in due:
            taken = attrs.evolve(
                message,
                state=MessageState.sending,
                lease_owner=worker,
                lease_until=now + lease,
                updated_at=now,
            )
            self._messages[taken.id] = taken
            claimed.append(taken)
        return claimed

    @locked
    def record_outcomes(
        self, outcomes: Sequence[MessageOutcome], *, worker: str, now: datetime
    ) -> int:
        """Record outcomes of messages ``worker`` still holds; returns how many."""
        now = now.astimezone(UTC)
        recorded = 0
        for outcome in outcomes:
            message = self._messages.get(outcome.message_id)
            if (
                message is None
                or message.state is not MessageState.sending
                or message.lease_owner != worker
            ):
                continue
            provider_id = outcome.provider_id or message.provider_id
            sent_now = outcome.state in _SENT_STATES and message.sent_at is None
            done = attrs.evolve(
                message,
                state=outcome.state,
                reason=outcome.reason,
                provider_id=provider_id,
                due_at=(outcome.due_at or message.due_at),
                attempts=message.attempts + (1 if outcome.count_attempt else 0),
                lease_owner=None,
                lease_until=None,
                sent_at=now if sent_now else message.sent_at,
                updated_at=now,
            )
            self._messages[done.id] = in_utc(done)
            if provider_id is not None:
                self._provider_ids[provider_id] = done.id
            recorded += 1
        return recorded

    @locked
    def cancel_messages(self, campaign_id: int, *, now: datetime) -> int:
        """Cancel a campaign's pending and held messages."""
        cancelled = 0
        for message in list(self._messages.values()):
            if message.campaign_id == campaign_id and message.state in _DUE_STATES:
                self._messages[message.id] = attrs.evolve(
                    message, state=MessageState.cancelled, updated_at=now.astimezone(UTC)
                )
                cancelled += 1
        return cancelled

    @locked
    def message_counts(self, campaign_id: int) -> dict[MessageState, int]:
        """How many messages the campaign has in each state (states with none omitted)."""
        counts: dict[MessageState, int] = {}
        for message in self._messages.values():
            if message.campaign_id == campaign_id:
                counts[message.state] = counts.get(message.state, 0) + 1
        return counts

    @locked
    def messages(
        self,
        campaign_id: int,
        *,
        states: Sequence[MessageState] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[OutboxMessage]:
        """A campaign's messages by id."""
        wanted = None if states is None else {MessageState(s) for s in states}
        chosen = [
            self._messages[key]
            for key in sorted(self._messages)
            if key > after_id
            and self._messages[key].campaign_id == campaign_id
            and (wanted is None or self._messages[key].state in wanted)
        ]
        return chosen[: max(limit, 0)]

    @locked
    def next_due(self, now: datetime) -> datetime | None:
        """When the earliest held or pending message of a sending campaign is due."""
        campaigns = self._sending_campaigns()
        times = [
            (m.due_at or now).astimezone(UTC)
            for m in self._messages.values()
            if m.campaign_id in campaigns and m.state in _DUE_STATES
        ]
        return min(times, default=None)

    def _reported_message(self, report: DeliveryReport) -> OutboxMessage | None:
        if report.provider_id is not None and report.provider_id in self._provider_ids:
            return self._messages.get(self._provider_ids[report.provider_id])
        ids = None if report.client_id is None else _client_message_id(report.client_id)
        if ids is None:
            return None
        message = self._messages.get(ids[1])
        return message if message is not None and message.campaign_id == ids[0] else None

    @locked
    def ingest_report(self, report: DeliveryReport, *, now: datetime) -> bool:
        """Move the named message forward (never backward); keep unknown reports."""
        message = self._reported_message(report)
        if message is None:
            self._reports.append(in_utc(report))
            return False
        if STATE_RANK[report.state] > STATE_RANK[message.state]:
            self._messages[message.id] = attrs.evolve(
                message,
                state=report.state,
                reason=report.reason or message.reason,
                updated_at=now.astimezone(UTC),
            )
        return True

    @locked
    def unmatched_reports(self) -> list[DeliveryReport]:
        """Reports that named no known message, in arrival order."""
        return list(self._reports)
