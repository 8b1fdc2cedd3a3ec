"""What the dispatcher records: settings, channel results turned into outcomes,
batch results and the run report.

Retries: a ``temporary`` result puts the message back to ``pending`` after
:func:`retry_delay` seconds (``min(backoff_max, backoff_base ** attempts)`` times a
random factor in ``[0.5, 1]``, or the channel's ``retry_after`` when that is longer);
after ``max_attempts`` attempts it is ``failed``. ``permanent`` → ``failed`` with
the channel's reason.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta

from attrs import field, frozen

from massreach.channels import Channel, OutgoingMessage, SendResult, SendStatus
from massreach.model import MessageOutcome, MessageState, OutboxMessage

__all__ = [
    "SENT_STATES",
    "BatchResult",
    "DispatchReport",
    "DispatchSettings",
    "back_outcome",
    "call_channel",
    "failed_outcome",
    "held_outcome",
    "result_outcome",
    "retry_delay",
]

_log = logging.getLogger(__name__)

_STATUS_STATE = {
    SendStatus.SENT: MessageState.sent,
    SendStatus.ACCEPTED: MessageState.accepted,
    SendStatus.DELIVERED: MessageState.delivered,
}
#: States of a message handed over to its channel.
SENT_STATES = frozenset(_STATUS_STATE.values())


def retry_delay(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempts``: ``min(cap, base ** attempts)`` times
    a random factor in ``[0.5, 1]`` (jitter keeps retries from arriving together)."""
    try:
        raw = min(cap, base**attempts)
    except OverflowError:
        raw = cap
    return raw * rng.uniform(0.5, 1.0)


@frozen
class DispatchSettings:
    """How one worker dispatches (from ``[dispatch]``, overridable per run)."""

    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 5
    backoff_base: float = 2.0
    backoff_max: float = 3600.0


@frozen
class BatchResult:
    """What one batch did: the state recorded for each message (by id), how many
    outcomes were lost (the lease had run out), how many messages went back unsent."""

    claimed: int
    states: Mapping[int, MessageState]
    lost: int = 0
    given_back: int = 0
    campaigns: frozenset[int] = frozenset()


@frozen
class DispatchReport:
    """What a dispatcher run did.

    ``states``: how many messages the run left in each state, by the last outcome it
    recorded for each (``sent``, ``accepted``, ``delivered``, ``failed``, ``held``,
    ``pending`` = waiting for a retry, ``cancelled``); a long-running worker counts
    outcomes instead (a message retried twice counts each time). ``claimed``: claims
    (a retried message counts each time); ``lost``: outcomes not recorded because the
    lease had run out; ``given_back``: messages returned unsent (campaign paused,
    lease half gone); ``completed``: campaigns completed by the run; ``next_due``:
    when the next held or pending message is due.
    """

    states: Mapping[str, int] = field(factory=dict)
    claimed: int = 0
    batches: int = 0
    lost: int = 0
    given_back: int = 0
    completed: tuple[str, ...] = ()
    next_due: datetime | None = None
    workers: int = 1

    @property
    def total(self) -> int:
        """Messages counted in ``states``."""
        return sum(self.states.values())

    def merged(self, other: DispatchReport) -> DispatchReport:
        """Both reports added up (workers of one run)."""
        states = dict(self.states)
        for state, count in other.states.items():
            states[state] = states.get(state, 0) + count
        dues = [d for d in (self.next_due, other.next_due) if d is not None]
        return DispatchReport(
            states=states,
            claimed=self.claimed + other.claimed,
            batches=self.batches + other.batches,
            lost=self.lost + other.lost,
            given_back=self.given_back + other.given_back,
            completed=tuple(dict.fromkeys((*self.completed, *other.completed))),
            next_due=min(dues, default=None),
            workers=self.workers + other.workers,
        )


def call_channel(channel: Channel, messages: list[OutgoingMessage]) -> list[SendResult]:
    """``channel.send_batch`` that never raises and always gives one result each, in order."""
    try:
        results = list(channel.send_batch(messages))
    except Exception as exc:
        _log.exception("channel %s raised while sending", channel.name)
        reason = f"channel.error: {type(exc).__name__}: {exc}"
        return [SendResult(m.message_id, SendStatus.TEMPORARY, reason=reason) for m in messages]
    by_id = {r.message_id: r for r in results}
    missing = "channel.no_result: the channel gave no result for this message"
    return [
        by_id.get(m.message_id) or SendResult(m.message_id, SendStatus.TEMPORARY, reason=missing)
        for m in messages
    ]


def result_outcome(
    message: OutboxMessage,
    result: SendResult,
    settings: DispatchSettings,
    now: datetime,
    rng: random.Random,
) -> MessageOutcome:
    """The outcome to record for one channel result (see the module docstring)."""
    state = _STATUS_STATE.get(result.status)
    if state is not None:
        return MessageOutcome(message.id, state, reason=None, provider_id=result.provider_id)
    reason = result.reason or result.status.value
    if result.status is SendStatus.PERMANENT:
        return MessageOutcome(
            message.id, MessageState.failed, reason=reason, provider_id=result.provider_id
        )
    attempts = message.attempts + 1
    if attempts >= settings.max_attempts:
        reason = f"gave up after {attempts} attempts: {reason}"
        return MessageOutcome(message.id, MessageState.failed, reason=reason)
    delay = retry_delay(attempts, settings.backoff_base, settings.backoff_max, rng)
    delay = max(delay, result.retry_after or 0.0)
    return MessageOutcome(
        message.id,
        MessageState.pending,
        reason=f"retry {attempts}/{settings.max_attempts - 1}: {reason}",
        due_at=now + timedelta(seconds=delay),
    )


def held_outcome(
    message: OutboxMessage, until: datetime | None, reason: str | None
) -> MessageOutcome:
    """Held until ``until`` (not an attempt)."""
    return MessageOutcome(
        message.id, MessageState.held, reason=reason, due_at=until, count_attempt=False
    )


def failed_outcome(message: OutboxMessage, reason: str) -> MessageOutcome:
    """Failed before any channel saw it (not an attempt)."""
    return MessageOutcome(message.id, MessageState.failed, reason=reason, count_attempt=False)


def back_outcome(message: OutboxMessage) -> MessageOutcome:
    """Back to ``pending`` untouched (not an attempt; due time unchanged)."""
    return MessageOutcome(
        message.id, MessageState.pending, reason=message.reason, count_attempt=False
    )
