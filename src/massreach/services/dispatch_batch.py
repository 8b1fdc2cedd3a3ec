"""One dispatch batch: claim, decide, render, send by channel, record.

:class:`BatchSender` is the working part of :class:`~massreach.services.dispatch.
DispatchService`; one exists per worker (its ``worker`` name owns the leases). A batch
is handled in two halves, :meth:`BatchSender.claim` (steps 1-4) and
:meth:`BatchSender.deliver` (steps 5-6), so that the dispatcher can claim and prepare
the next batch while the current one is being sent.

A batch goes like this:

1. claim up to ``batch_size`` due messages with a lease (``Storage.claim_messages``);
2. ask the policies in order (:class:`~massreach.policies.PolicyChain`): ``hold`` →
   state ``held`` until the given time, ``drop`` → ``failed`` with the reason;
3. render the rest with the campaign's renderer
   (:func:`massreach.services.rendering.renderer_for`, the code path of the preview);
   a message that cannot be rendered fails with the error's code and message;
4. look at the campaigns again: messages of a campaign paused meanwhile go back to
   ``pending`` untouched, those of a cancelled one become ``cancelled``;
5. group by ``(channel, account)`` and hand each group to its channel's
   ``send_batch``, in chunks; with ``rate_per_second`` set on the channel's table, a
   shared rate slot (``Storage.take_rate_slot``) is booked per message first, so
   the rate holds across every worker. When half the lease has gone by, the
   messages not yet handed over go back to ``pending`` (another worker could
   otherwise claim them while they are being sent);
6. record the outcomes of each chunk right after it was sent (so a crash re-sends at
   most the chunk in flight): ``sent``/``accepted``/``delivered`` as the channel says;
   ``temporary`` → ``pending`` again after ``min(backoff_max, base ** attempts)``
   seconds times a random factor in ``[0.5, 1]`` (or the channel's ``retry_after``
   when longer), ``failed`` after ``max_attempts``; ``permanent`` → ``failed`` with
   the channel's reason. Reservations of messages that did not go are given back.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from attrs import define, field

from massreach.channels import Channel, OutgoingMessage
from massreach.core.lifecycle import CampaignState
from massreach.errors import MassreachError
from massreach.model import Campaign, MessageOutcome, MessageState, OutboxMessage, Template
from massreach.policies import PolicyChain, PolicyContext, PolicyVerdict
from massreach.services.context import ServiceContext
from massreach.services.dispatch_channels import ChannelSet
from massreach.services.dispatch_outcomes import (
    SENT_STATES,
    BatchResult,
    DispatchSettings,
    back_outcome,
    call_channel,
    failed_outcome,
    held_outcome,
    result_outcome,
)
from massreach.services.rendering import MessageRenderer, renderer_for

__all__ = ["BatchSender", "ClaimedBatch"]

_log = logging.getLogger(__name__)

_NOT_CONFIGURED = "channel.not_configured"
#: Campaigns (and their renderers) kept between batches before the cache is cleared.
_CACHE_SIZE = 256


@define
class _Item:
    """A message on its way: what it is, its campaign, the policies' verdict."""

    message: OutboxMessage
    campaign: Campaign
    verdict: PolicyVerdict
    outgoing: OutgoingMessage


@define
class ClaimedBatch:
    """A claimed batch, decided and rendered, ready for :meth:`BatchSender.deliver`."""

    claimed: list[OutboxMessage]
    ctx: PolicyContext
    started: float
    campaigns: frozenset[int] = frozenset()
    groups: dict[tuple[str, str], list[_Item]] = field(factory=dict)
    fresh: dict[int, Campaign] = field(factory=dict)
    states: dict[int, MessageState] = field(factory=dict)
    lost: int = 0
    given_back: int = 0


class BatchSender:
    """Claims and sends batches as one worker (``worker`` owns the leases)."""

    def __init__(
        self,
        context: ServiceContext,
        channels: ChannelSet,
        *,
        worker: str,
        settings: DispatchSettings,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.context = context
        self.storage = context.storage
        self.channel_set = channels
        self.worker = worker
        self.settings = settings
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.monotonic = monotonic
        self.chain = PolicyChain(context.hooks.policies())
        # What does not change while a campaign sends (its channel, kind, sender and
        # template) is kept between batches; its state is read again for every batch.
        self._known: dict[int, Campaign] = {}
        self._renderers: dict[int, MessageRenderer | MassreachError] = {}

    # -- one batch ---------------------------------------------------------------------
    def run_batch(self, campaign_ids: Sequence[int] | None = None) -> BatchResult | None:
        """Claim and handle one batch; None when nothing was due."""
        batch = self.claim(campaign_ids)
        return None if batch is None else self.deliver(batch)

    def claim(self, campaign_ids: Sequence[int] | None = None) -> ClaimedBatch | None:
        """Claim a batch, ask the policies, render, and record at once what will not
        be sent (held, dropped, unrenderable); None when nothing was due."""
        channels = self.channel_set.get()
        now = self.context.now()
        claimed = self.storage.claim_messages(
            worker=self.worker,
            now=now,
            lease=self.settings.lease,
            limit=self.settings.batch_size,
            campaign_ids=campaign_ids,
        )
        if not claimed:
            return None
        batch = ClaimedBatch(
            claimed,
            PolicyContext(now=now, storage=self.storage, config=self.context.config),
            self.monotonic(),
        )
        ids = {m.campaign_id for m in claimed}
        self._known.update(self._campaigns(ids - set(self._known)))
        campaigns = {cid: self._known[cid] for cid in ids if cid in self._known}
        batch.campaigns = frozenset(campaigns)
        early: list[tuple[OutboxMessage, MessageOutcome]] = []
        batch.groups = self._prepare(batch, campaigns, channels, early)
        self._record(batch, early)
        sending = {item.campaign.id for items in batch.groups.values() for item in items}
        batch.fresh = self._campaigns(sending)
        self._known.update(batch.fresh)
        return batch

    def deliver(self, batch: ClaimedBatch) -> BatchResult:
        """Hand a claimed batch to its channels, chunk by chunk, recording each chunk's
        outcomes as soon as it is sent."""
        channels = self.channel_set.get()
        for key, items in batch.groups.items():
            for chunk in self._chunks(key, items):
                self._record(batch, self._send_chunk(batch, channels[key], chunk, batch.fresh))
        return BatchResult(
            claimed=len(batch.claimed),
            states=batch.states,
            lost=batch.lost,
            given_back=batch.given_back,
            campaigns=batch.campaigns,
        )

    def _campaigns(self, ids: set[int]) -> dict[int, Campaign]:
        """The campaigns with these ids as stored now (deleted ones left out)."""
        if len(self._known) > _CACHE_SIZE:
            self._known.clear()
            self._renderers.clear()
        found = {cid: self.storage.get_campaign_by_id(cid) for cid in sorted(ids)}
        return {cid: c for cid, c in found.items() if c is not None}

    def _prepare(
        self,
        batch: ClaimedBatch,
        campaigns: dict[int, Campaign],
        channels: Mapping[tuple[str, str], Channel],
        outcomes: list[tuple[OutboxMessage, MessageOutcome]],
    ) -> dict[tuple[str, str], list[_Item]]:
        """Policies and rendering; outcomes of messages that will not be sent go to
        ``outcomes``, the others are returned grouped by channel."""
        ctx = batch.ctx
        pairs = [(m, campaigns[m.campaign_id]) for m in batch.claimed if m.campaign_id in campaigns]
        for message in batch.claimed:
            if message.campaign_id not in campaigns:  # deleted meanwhile: leave it alone
                outcomes.append((message, back_outcome(message)))
        self.chain.prepare(pairs, ctx)
        groups: dict[tuple[str, str], list[_Item]] = {}
        for message, campaign in pairs:
            verdict = self.chain.decide(message, campaign, ctx)
            decision = verdict.decision
            if decision.action == "hold":
                outcomes.append((message, held_outcome(message, decision.until, decision.reason)))
                continue
            if decision.action == "drop":
                outcome = MessageOutcome(
                    message.id, MessageState.failed, reason=decision.reason, count_attempt=False
                )
                outcomes.append((message, outcome))
                continue
            key = (campaign.channel, campaign.account or "default")
            try:
                if key not in channels:
                    outcomes.append((message, self._unconfigured(message, key)))
                    self.chain.release(verdict, message, campaign, ctx)
                    continue
                outgoing = self._outgoing(message, campaign)
            except MassreachError as exc:
                self.chain.release(verdict, message, campaign, ctx)
                outcomes.append((message, failed_outcome(message, f"{exc.code}: {exc.message}")))
                continue
            groups.setdefault(key, []).append(_Item(message, campaign, verdict, outgoing))
        return groups

    def _renderer(self, campaign: Campaign) -> MessageRenderer:
        """The campaign's compiled renderer (or the error that keeps it from rendering)."""
        renderers = self._renderers
        found = renderers.get(campaign.id)
        if found is None:
            try:
                template: Template | None = self.storage.get_template(campaign.template)
                if template is None:
                    raise MassreachError(
                        f"the template {campaign.template!r} no longer exists",
                        code="template.not_found",
                    )
                found = renderer_for(campaign, template)
            except MassreachError as exc:
                found = exc
            renderers[campaign.id] = found
        if isinstance(found, MassreachError):
            raise found
        return found

    def _outgoing(self, message: OutboxMessage, campaign: Campaign) -> OutgoingMessage:
        """The message rendered for its channel (MassreachError when it cannot be)."""
        content = self._renderer(campaign).render(message.variables)
        return OutgoingMessage(
            message_id=message.id,
            client_id=message.client_id,
            campaign_id=campaign.id,
            channel=campaign.channel,
            kind=campaign.kind.value,
            target=message.target,
            text=content.text,
            subject=content.subject,
            html=content.html,
            brandname=campaign.brandname,
            account=campaign.account,
            recipient_name=message.variables.get("name") or None,
        )

    def _unconfigured(self, message: OutboxMessage, key: tuple[str, str]) -> MessageOutcome:
        """A campaign naming an account nobody configured: wait (a configuration
        mistake never fails a campaign), and say so."""
        channel, name = key
        _log.error("no %s channel named %r is configured; messages wait", channel, name)
        until = self.context.now() + timedelta(seconds=self.settings.backoff_max)
        reason = f"{_NOT_CONFIGURED}: no {channel} channel named {name!r} in the configuration"
        return held_outcome(message, until, reason)

    def _chunks(self, key: tuple[str, str], items: list[_Item]) -> list[list[_Item]]:
        rate = self.channel_set.rate(key)[1]
        size = max(1, min(len(items), math.ceil(rate))) if rate > 0 else len(items)
        return [items[start : start + size] for start in range(0, len(items), size)]

    def _send_chunk(
        self,
        batch: ClaimedBatch,
        channel: Channel,
        chunk: list[_Item],
        fresh: Mapping[int, Campaign],
    ) -> list[tuple[OutboxMessage, MessageOutcome]]:
        """Send one chunk (or give it back) and turn the results into outcomes."""
        outcomes: list[tuple[OutboxMessage, MessageOutcome]] = []
        going: list[_Item] = []
        half_lease = self.settings.lease.total_seconds() / 2
        for item in chunk:
            state = fresh.get(item.campaign.id, item.campaign).state
            late = self.monotonic() - batch.started > half_lease
            if state is CampaignState.sending and not late:
                going.append(item)
                continue
            self.chain.release(item.verdict, item.message, item.campaign, batch.ctx)
            batch.given_back += 1
            if state is CampaignState.cancelled:
                outcome = MessageOutcome(
                    item.message.id,
                    MessageState.cancelled,
                    reason="campaign.cancelled: the campaign was cancelled",
                    count_attempt=False,
                )
            else:
                outcome = back_outcome(item.message)
            outcomes.append((item.message, outcome))
        if not going:
            return outcomes
        self._pace(channel, len(going))
        results = call_channel(channel, [item.outgoing for item in going])
        now = self.context.now()  # when the channel answered: retries count from then
        for item, result in zip(going, results, strict=True):
            outcome = result_outcome(item.message, result, self.settings, now, self.rng)
            if outcome.state not in SENT_STATES:
                self.chain.release(item.verdict, item.message, item.campaign, batch.ctx)
            outcomes.append((item.message, outcome))
        return outcomes

    def _pace(self, channel: Channel, count: int) -> None:
        """Book ``count`` shared rate slots of the channel and wait for the last."""
        key, rate = self.channel_set.rate((channel.channel, channel.name))
        if rate <= 0:
            return
        wait = 0.0
        for _ in range(count):
            wait = self.storage.take_rate_slot(key, rate_per_second=rate, now=self.context.now())
        if wait > 0:
            self.sleep(wait)

    def _record(
        self, batch: ClaimedBatch, outcomes: list[tuple[OutboxMessage, MessageOutcome]]
    ) -> None:
        """Record outcomes in one call, then tell plugins."""
        if not outcomes:
            return
        recorded = self.storage.record_outcomes(
            [outcome for _, outcome in outcomes], worker=self.worker, now=self.context.now()
        )
        if recorded < len(outcomes):
            batch.lost += len(outcomes) - recorded
            _log.warning(
                "%s: %d outcomes not recorded: the lease ran out and another worker took "
                "the messages",
                self.worker,
                len(outcomes) - recorded,
            )
        hooks = self.context.hooks
        listened = bool(hooks.pm.hook.massreach_message_outcome.get_hookimpls())
        for message, outcome in outcomes:
            batch.states[message.id] = outcome.state
            if listened:
                hooks.message_outcome(message, outcome)
