"""The dispatcher, the use case: send every due outbox message through its channel.

``Reach.dispatch`` is a :class:`DispatchService`::

    with Reach("sqlite:///shop.db", config="massreach.toml") as reach:
        report = reach.dispatch.run(until_idle=True)      # send what is due, return
        print(report.states)                              # {"sent": 950, "held": 50}
        reach.dispatch.run(workers=4, until_idle=True)    # four processes
        reach.dispatch.run_forever(stop_event)            # a long-running worker

What one batch does is told in :mod:`massreach.services.dispatch_batch`: claims with a
lease, policies (opt-out, advertising window, quotas), rendering, channels grouped
by ``(channel, account)``, retries with exponential backoff and jitter, shared rate
limits. Between batches the dispatcher starts scheduled campaigns whose time has come
and completes sending campaigns with nothing pending, held or being sent.

Besides sending: delivery reports (:meth:`DispatchService.ingest_delivery_report`,
:meth:`DispatchService.ingest_reports`), the opt-out list
(:meth:`DispatchService.opt_out`) and the views of a campaign's messages
(:meth:`DispatchService.messages`, :meth:`DispatchService.summary`).
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from massreach.core.lifecycle import CampaignState
from massreach.errors import InvalidInput
from massreach.model import MessageState
from massreach.services.context import ServiceContext
from massreach.services.dispatch_batch import BatchSender
from massreach.services.dispatch_channels import ChannelSet
from massreach.services.dispatch_outcomes import BatchResult, DispatchReport, DispatchSettings
from massreach.services.dispatch_views import CampaignMessages, DispatchViews
from massreach.services.dispatch_workers import StopEvent, run_workers

__all__ = ["CampaignMessages", "DispatchReport", "DispatchService", "default_worker_id"]

_log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """``host:pid:random``: unique enough to own leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class DispatchService(DispatchViews):
    """The dispatcher of one engine (``Reach.dispatch``).

    ``sleep`` (waits for rate slots) and ``rng`` (retry jitter) are injectable for
    tests; the clock is the engine's.
    """

    def __init__(
        self,
        context: ServiceContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(context)
        self.worker_id = default_worker_id()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._channels = ChannelSet(context)
        self._senders: dict[tuple[str, DispatchSettings], BatchSender] = {}

    # -- sending -----------------------------------------------------------------------
    def settings(
        self, batch_size: int | None = None, lease: float | None = None
    ) -> DispatchSettings:
        """The ``[dispatch]`` settings, with ``batch_size`` and ``lease`` (seconds) overridden."""
        config = self.context.config.dispatch
        if batch_size is not None and batch_size < 1:
            raise InvalidInput("batch_size must be at least 1", code="dispatch.invalid_batch_size")
        if lease is not None and lease <= 0:
            raise InvalidInput("lease must be longer than 0 s", code="dispatch.invalid_lease")
        return DispatchSettings(
            batch_size=batch_size or config.batch_size,
            lease=timedelta(seconds=lease if lease is not None else config.lease_seconds),
            max_attempts=config.max_attempts,
            backoff_base=config.backoff_base,
            backoff_max=config.backoff_max,
        )

    def _sender(self, worker_id: str | None, settings: DispatchSettings) -> BatchSender:
        key = (worker_id or self.worker_id, settings)
        sender = self._senders.get(key)
        if sender is None:
            sender = BatchSender(
                self.context,
                self._channels,
                worker=key[0],
                settings=settings,
                rng=self._rng,
                sleep=self._sleep,
            )
            self._senders[key] = sender
        return sender

    def run(
        self,
        until_idle: bool = True,
        *,
        workers: int = 1,
        worker_id: str | None = None,
        batch_size: int | None = None,
        lease: float | timedelta | None = None,
        stop_event: StopEvent | None = None,
    ) -> DispatchReport:
        """Send due messages.

        ``until_idle``: return when no message is due (held messages and retries
        waiting for their time are not due); otherwise keep running as a worker until
        ``stop_event`` is set. ``workers > 1`` runs that many processes (not with
        ``memory:``). ``lease`` in seconds (default ``[dispatch] lease_seconds``).
        """
        if workers < 1:
            raise InvalidInput("workers must be at least 1", code="dispatch.invalid_workers")
        seconds = lease.total_seconds() if isinstance(lease, timedelta) else lease
        settings = self.settings(batch_size, seconds)
        if workers > 1:
            return run_workers(
                self.context,
                workers=workers,
                worker_id=worker_id or self.worker_id,
                until_idle=until_idle,
                batch_size=batch_size,
                lease=settings.lease,
                stop_event=stop_event,
            )
        if not until_idle:
            return self.run_forever(
                stop_event or threading.Event(),
                worker_id=worker_id,
                batch_size=batch_size,
                lease=seconds,
            )
        sender = self._sender(worker_id, settings)
        tally = _Tally(per_message=True)
        stopped = stop_event.is_set if stop_event is not None else _never
        self._housekeeping(tally, complete=False)
        while not stopped():
            for result in self._batches(sender, stopped):
                tally.add(result)
            if stopped() or not self._housekeeping(tally):  # no scheduled campaign started
                break
        return tally.report(self.storage.next_due(self.context.now()))

    @staticmethod
    def _batches(sender: BatchSender, stopped: Callable[[], bool]) -> Iterator[BatchResult]:
        """Batches until none is due: the next one is claimed, decided and rendered
        while the current one is being sent (in a second thread), so the storage and
        rendering work hides behind the network's answers."""
        with ThreadPoolExecutor(1, thread_name_prefix="massreach-dispatch") as pool:
            batch = sender.claim()
            while batch is not None:
                future = pool.submit(sender.deliver, batch)
                try:
                    batch = None if stopped() else sender.claim()
                finally:
                    result = future.result()
                yield result

    def run_forever(
        self,
        stop_event: StopEvent,
        *,
        worker_id: str | None = None,
        batch_size: int | None = None,
        lease: float | None = None,
        poll_interval: float = 1.0,
    ) -> DispatchReport:
        """Work until ``stop_event`` is set: send what is due, and when nothing is,
        wait (at most ``poll_interval`` seconds, less when a message is due sooner).
        Errors (a database restart, a broken plugin) are logged and the loop goes on
        after ``poll_interval``; the leases of what was claimed run out meanwhile."""
        sender = self._sender(worker_id, self.settings(batch_size, lease))
        tally = _Tally(per_message=False)
        while not stop_event.is_set():
            try:
                for result in self._batches(sender, stop_event.is_set):
                    tally.add(result)
                self._housekeeping(tally)
                wait = poll_interval
                due = self.storage.next_due(self.context.now())
                if due is not None:
                    wait = min(wait, max(0.0, (due - self.context.now()).total_seconds()))
            except Exception:
                _log.exception("dispatch worker %s: batch failed", sender.worker)
                wait = poll_interval
            stop_event.wait(max(wait, 0.01))
        return tally.report(self.storage.next_due(self.context.now()))

    def send_once(
        self, *, worker_id: str | None = None, batch_size: int | None = None
    ) -> DispatchReport:
        """Claim and send one batch; when nothing is due, start due scheduled campaigns
        and complete finished ones instead."""
        sender = self._sender(worker_id, self.settings(batch_size))
        tally = _Tally(per_message=True)
        result = sender.run_batch()
        if result is None:
            self._housekeeping(tally)
        else:
            tally.add(result)
        return tally.report(self.storage.next_due(self.context.now()))

    def _housekeeping(self, tally: _Tally, *, complete: bool = True) -> bool:
        """Start due scheduled campaigns, complete finished ones; True if one started."""
        from massreach.services.campaigns import CampaignService

        service = CampaignService(self.context)
        started = bool(service.activate_due())
        if complete:
            for campaign in self.storage.campaigns():
                if campaign.state is CampaignState.sending:
                    done = service.complete_if_done(campaign.name)
                    if done.state is CampaignState.completed:
                        tally.completed.append(done.name)
        return started

    def close(self) -> None:
        """Close the channels (SMTP connections, HTTP keep-alives)."""
        self._channels.close()
        self._senders.clear()


def _never() -> bool:
    return False


class _Tally:
    """Adds up batch results into a :class:`DispatchReport`."""

    def __init__(self, *, per_message: bool) -> None:
        self.per_message = per_message
        self.last: dict[int, MessageState] = {}
        self.events: Counter[str] = Counter()
        self.claimed = self.batches = self.lost = self.given_back = 0
        self.completed: list[str] = []

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.claimed += result.claimed
        self.lost += result.lost
        self.given_back += result.given_back
        if self.per_message:
            self.last.update(result.states)
        else:
            self.events.update(state.value for state in result.states.values())

    def report(self, next_due: Any) -> DispatchReport:
        states = Counter(s.value for s in self.last.values()) if self.per_message else self.events
        return DispatchReport(
            states=dict(sorted(states.items())),
            claimed=self.claimed,
            batches=self.batches,
            lost=self.lost,
            given_back=self.given_back,
            completed=tuple(dict.fromkeys(self.completed)),
            next_due=next_due,
        )
