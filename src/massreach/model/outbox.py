"""Outbox messages: one per campaign and target, with state, attempts and lease."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import field, frozen

from massreach.model.fields import aware, masked_repr, to_str_dict


class MessageState(StrEnum):
    """Where a message is. Delivery reports move a message forward, never backward.

    pending → sending (claimed by a worker) → sent | accepted → delivered;
    held (waits for a window or a quota until ``due_at``), failed, cancelled.
    """

    pending = "pending"
    held = "held"
    sending = "sending"
    accepted = "accepted"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


#: States from which a message never moves again (but a report may move
#: ``sent``/``accepted`` to ``delivered`` or ``failed``).
FINAL_STATES = frozenset({MessageState.delivered, MessageState.failed, MessageState.cancelled})

#: The order used by delivery reports: a report never moves a message to a lower rank.
STATE_RANK = {
    MessageState.pending: 0,
    MessageState.held: 0,
    MessageState.sending: 1,
    MessageState.accepted: 2,
    MessageState.sent: 3,
    MessageState.delivered: 4,
    MessageState.failed: 4,
    MessageState.cancelled: 4,
}


@frozen
class OutboxMessage:
    """One message to one target of one campaign."""

    id: int
    campaign_id: int
    target: str = field(repr=masked_repr)
    contact_id: int | None = None
    variables: dict[str, str] = field(factory=dict, converter=to_str_dict, repr=False)
    state: MessageState = field(default=MessageState.pending, converter=MessageState)
    attempts: int = 0
    due_at: datetime | None = field(default=None, converter=aware)
    lease_owner: str | None = None
    lease_until: datetime | None = field(default=None, converter=aware)
    provider_id: str | None = None
    reason: str | None = None
    sent_at: datetime | None = field(default=None, converter=aware)
    updated_at: datetime | None = field(default=None, converter=aware)

    @property
    def client_id(self) -> str:
        """The stable id gateways use to drop duplicates of this message."""
        return f"mr-{self.campaign_id}-{self.id}"


@frozen
class MessageOutcome:
    """What happened to one claimed message, recorded by the dispatcher.

    ``state`` is the new state; ``due_at`` is when a held or retried message may go.
    """

    message_id: int
    state: MessageState = field(converter=MessageState)
    reason: str | None = None
    provider_id: str | None = None
    due_at: datetime | None = field(default=None, converter=aware)
    count_attempt: bool = True


@frozen
class DeliveryReport:
    """A delivery report from a gateway: by provider id or client id, with a state."""

    state: MessageState = field(converter=MessageState)
    provider_id: str | None = None
    client_id: str | None = None
    reason: str | None = None
    at: datetime | None = field(default=None, converter=aware)
    raw: str | None = None
