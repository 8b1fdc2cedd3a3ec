"""Conformance rules for the outbox and delivery reports (part of StorageConformance)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import attrs

from massreach.core.lifecycle import CampaignState
from massreach.model import (
    Campaign,
    DeliveryReport,
    MessageOutcome,
    MessageState,
    OutboxMessage,
)
from massreach.storage import Storage
from massreach.testing.storage_base import (
    StorageTestBase,
    add_contacts,
    make_campaign,
    make_list,
)

__all__ = ["OutboxRules"]

_LEASE = timedelta(minutes=5)
_SECOND = timedelta(seconds=1)


def _campaign_with_messages(
    storage: Storage,
    now: datetime,
    count: int,
    *,
    name: str = "march",
    state: CampaignState = CampaignState.sending,
    scheduled_at: datetime | None = None,
) -> tuple[Campaign, list[OutboxMessage]]:
    """A campaign in ``state`` whose outbox has ``count`` pending messages."""
    task = make_list(storage, f"list-{name}", now)
    add_contacts(storage, task.id, now, *({"phone": f"+8490600{n:04d}"} for n in range(count)))
    campaign = make_campaign(storage, name, list_id=task.id, state=state, scheduled_at=scheduled_at)
    storage.expand_audience(campaign, channel_field="phone", now=now)
    return campaign, storage.messages(campaign.id)


def _ids(messages: list[OutboxMessage]) -> set[int]:
    return {m.id for m in messages}


class OutboxRules(StorageTestBase):
    """Claims never overlap, leases expire, outcomes only from the holder, reports forward."""

    def test_claim_only_sending_campaigns(self, storage: Storage, clock_start: datetime) -> None:
        """Messages of a campaign not in state ``sending`` are never claimed."""
        campaign, messages = _campaign_with_messages(
            storage, clock_start, 3, state=CampaignState.draft
        )
        assert storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10) == []
        assert storage.next_due(clock_start) is None
        storage.save_campaign(attrs.evolve(campaign, state=CampaignState.sending))
        claimed = storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10)
        assert _ids(claimed) == _ids(messages)
        for message in claimed:
            assert (message.state, message.lease_owner, message.lease_until) == (
                MessageState.sending,
                "w1",
                clock_start + _LEASE,
            )
        assert storage.messages(campaign.id) == sorted(claimed, key=lambda m: m.id)

    def test_claim_waits_for_due_at(self, storage: Storage, clock_start: datetime) -> None:
        """A message is claimed only once ``due_at <= now``; next_due says when."""
        later = clock_start + timedelta(hours=1)
        _, messages = _campaign_with_messages(storage, clock_start, 2, scheduled_at=later)
        assert storage.next_due(clock_start) == later
        assert (
            storage.claim_messages(worker="w1", now=later - _SECOND, lease=_LEASE, limit=10) == []
        )
        claimed = storage.claim_messages(worker="w1", now=later, lease=_LEASE, limit=10)
        assert _ids(claimed) == _ids(messages)
        assert storage.next_due(later) is None

    def test_claims_never_overlap(self, storage: Storage, clock_start: datetime) -> None:
        """Claims respect ``limit``, take earliest due first and never hand a message
        to two workers; ``campaign_ids`` restricts the campaigns."""
        first, messages = _campaign_with_messages(storage, clock_start, 5)
        second, others = _campaign_with_messages(storage, clock_start, 2, name="april")
        only = storage.claim_messages(
            worker="w0", now=clock_start, lease=_LEASE, limit=10, campaign_ids=[second.id]
        )
        assert _ids(only) == _ids(others)
        a = storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=3)
        b = storage.claim_messages(worker="w2", now=clock_start, lease=_LEASE, limit=3)
        assert (len(a), len(b)) == (3, 2)
        assert _ids(a) | _ids(b) == _ids(messages) and not _ids(a) & _ids(b)
        assert storage.claim_messages(worker="w3", now=clock_start, lease=_LEASE, limit=3) == []
        assert first.id != second.id

    def test_concurrent_claims_never_overlap(self, storage: Storage, clock_start: datetime) -> None:
        """Workers claiming at once (threads sharing the backend) never share a message."""
        _, messages = _campaign_with_messages(storage, clock_start, 60)
        taken: dict[str, list[int]] = {}
        errors: list[BaseException] = []

        def work(worker: str) -> None:
            try:
                mine = taken.setdefault(worker, [])
                for _ in range(len(messages)):  # bounded: a broken backend fails, not hangs
                    batch = storage.claim_messages(
                        worker=worker, now=clock_start, lease=_LEASE, limit=7
                    )
                    if not batch:
                        break
                    mine.extend(m.id for m in batch)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        every = [i for ids in taken.values() for i in ids]
        assert sorted(every) == sorted(_ids(messages))

    def test_expired_leases_are_reclaimed(self, storage: Storage, clock_start: datetime) -> None:
        """A message whose lease ran out is claimed again; its old holder can then no
        longer record an outcome for it."""
        _, messages = _campaign_with_messages(storage, clock_start, 2)
        storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10)
        end = clock_start + _LEASE
        assert storage.claim_messages(worker="w2", now=end - _SECOND, lease=_LEASE, limit=10) == []
        again = storage.claim_messages(worker="w2", now=end, lease=_LEASE, limit=10)
        assert _ids(again) == _ids(messages)
        assert {m.lease_owner for m in again} == {"w2"}
        outcomes = [MessageOutcome(m.id, MessageState.sent) for m in messages]
        assert storage.record_outcomes(outcomes, worker="w1", now=end) == 0
        assert storage.record_outcomes(outcomes, worker="w2", now=end) == 2

    def test_record_outcomes(self, storage: Storage, clock_start: datetime) -> None:
        """Outcomes set state, reason, provider id, attempts, sent_at, and clear the
        lease; a held message waits for its new due time."""
        campaign, messages = _campaign_with_messages(storage, clock_start, 3)
        storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10)
        later = clock_start + timedelta(hours=3)
        sent, held, failed = (m.id for m in messages)
        recorded = storage.record_outcomes(
            [
                MessageOutcome(sent, MessageState.sent, provider_id="gw-1"),
                MessageOutcome(
                    held, MessageState.held, reason="quiet hours", due_at=later, count_attempt=False
                ),
                MessageOutcome(failed, MessageState.failed, reason="invalid number"),
                MessageOutcome(sent + failed + held + 100, MessageState.sent),
            ],
            worker="w1",
            now=clock_start,
        )
        assert recorded == 3
        by_id = {m.id: m for m in storage.messages(campaign.id)}
        assert (by_id[sent].state, by_id[sent].provider_id, by_id[sent].attempts) == (
            MessageState.sent,
            "gw-1",
            1,
        )
        assert by_id[sent].sent_at == clock_start
        assert (by_id[sent].lease_owner, by_id[sent].lease_until) == (None, None)
        assert (by_id[held].state, by_id[held].attempts, by_id[held].due_at) == (
            MessageState.held,
            0,
            later,
        )
        assert by_id[held].reason == "quiet hours" and by_id[held].sent_at is None
        assert (by_id[failed].state, by_id[failed].reason) == (
            MessageState.failed,
            "invalid number",
        )
        assert (
            storage.record_outcomes(
                [MessageOutcome(sent, MessageState.failed)], worker="w1", now=clock_start
            )
            == 0
        )
        assert storage.next_due(clock_start) == later
        assert (
            storage.claim_messages(worker="w1", now=later - _SECOND, lease=_LEASE, limit=10) == []
        )
        assert _ids(storage.claim_messages(worker="w1", now=later, lease=_LEASE, limit=10)) == {
            held
        }

    def test_an_id_given_twice_is_recorded_once(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Outcomes are recorded in order: a second outcome for a message in the same
        call finds it no longer being sent and is not counted."""
        campaign, messages = _campaign_with_messages(storage, clock_start, 2)
        storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10)
        first, second = (m.id for m in messages)
        recorded = storage.record_outcomes(
            [
                MessageOutcome(first, MessageState.sent, provider_id="gw-1"),
                MessageOutcome(first, MessageState.failed, reason="late"),
                MessageOutcome(second, MessageState.accepted, provider_id="gw-2"),
            ],
            worker="w1",
            now=clock_start,
        )
        assert recorded == 2
        by_id = {m.id: m for m in storage.messages(campaign.id)}
        assert (by_id[first].state, by_id[first].reason, by_id[first].attempts) == (
            MessageState.sent,
            None,
            1,
        )
        assert (by_id[second].state, by_id[second].provider_id) == (MessageState.accepted, "gw-2")

    def test_cancel_messages(self, storage: Storage, clock_start: datetime) -> None:
        """Cancelling touches pending and held messages only."""
        campaign, messages = _campaign_with_messages(storage, clock_start, 4)
        storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=2)
        claimed = [m for m in storage.messages(campaign.id) if m.state is MessageState.sending]
        storage.record_outcomes(
            [
                MessageOutcome(claimed[0].id, MessageState.sent),
                MessageOutcome(claimed[1].id, MessageState.held, due_at=clock_start),
            ],
            worker="w1",
            now=clock_start,
        )
        assert storage.cancel_messages(campaign.id, now=clock_start) == 3
        assert storage.message_counts(campaign.id) == {
            MessageState.sent: 1,
            MessageState.cancelled: 3,
        }
        assert storage.cancel_messages(campaign.id, now=clock_start) == 0
        assert len(messages) == 4

    def test_message_counts_and_listing(self, storage: Storage, clock_start: datetime) -> None:
        """message_counts omits empty states; messages() filters by state and pages by id."""
        campaign, messages = _campaign_with_messages(storage, clock_start, 5)
        other, _ = _campaign_with_messages(storage, clock_start, 1, name="april")
        storage.claim_messages(
            worker="w1", now=clock_start, lease=_LEASE, limit=2, campaign_ids=[campaign.id]
        )
        assert storage.message_counts(campaign.id) == {
            MessageState.pending: 3,
            MessageState.sending: 2,
        }
        assert storage.message_counts(other.id) == {MessageState.pending: 1}
        assert storage.message_counts(other.id + campaign.id + 100) == {}
        pending = storage.messages(campaign.id, states=[MessageState.pending])
        assert len(pending) == 3
        ids = sorted(_ids(messages))
        assert [m.id for m in storage.messages(campaign.id, after_id=ids[1], limit=2)] == ids[2:4]

    def test_delivery_reports_move_forward_only(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Reports find a message by provider id or client id and never move it back;
        a report for no known message is kept."""
        campaign, messages = _campaign_with_messages(storage, clock_start, 2)
        storage.claim_messages(worker="w1", now=clock_start, lease=_LEASE, limit=10)
        first, second = messages
        storage.record_outcomes(
            [
                MessageOutcome(first.id, MessageState.sent, provider_id="gw-1"),
                MessageOutcome(second.id, MessageState.accepted),
            ],
            worker="w1",
            now=clock_start,
        )
        later = clock_start + timedelta(days=3)
        delivered = DeliveryReport(MessageState.delivered, provider_id="gw-1", at=later)
        assert storage.ingest_report(delivered, now=later) is True
        backward = DeliveryReport(MessageState.sent, provider_id="gw-1")
        assert storage.ingest_report(backward, now=later) is True
        failed = DeliveryReport(
            MessageState.failed, client_id=second.client_id, reason="blocked by carrier"
        )
        assert storage.ingest_report(failed, now=later) is True
        by_id = {m.id: m for m in storage.messages(campaign.id)}
        assert by_id[first.id].state is MessageState.delivered
        assert (by_id[second.id].state, by_id[second.id].reason) == (
            MessageState.failed,
            "blocked by carrier",
        )
        unknown = DeliveryReport(MessageState.delivered, provider_id="gw-404", raw="id=gw-404")
        wrong = DeliveryReport(MessageState.delivered, client_id=f"mr-{campaign.id + 1}-1")
        assert storage.ingest_report(unknown, now=later) is False
        assert storage.ingest_report(wrong, now=later) is False
        assert storage.unmatched_reports() == [unknown, wrong]
