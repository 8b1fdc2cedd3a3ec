"""What the dispatch tests share: a clock, campaigns made quickly, configurations and
a recording channel registered through a real plugin object."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from massreach.channels import ChannelFactory, OutgoingMessage, SendResult, SendStatus
from massreach.config import (
    DispatchConfig,
    MassreachConfig,
    OutboxConfig,
    QuotaConfig,
    SendWindowConfig,
)
from massreach.engine import Reach
from massreach.markers import hookimpl
from massreach.model import Campaign, ContactDraft
from massreach.model.contacts import ListFeed

#: 10:00 in Vietnam on a Monday, early in the month.
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def viettel(n: int) -> str:
    """A Viettel number (096 prefix) in E.164."""
    return f"+8496{n:07d}"


def vinaphone(n: int) -> str:
    """A VinaPhone number (091 prefix) in E.164: no Viettel quota."""
    return f"+8491{n:07d}"


def config(
    *,
    outbox: Path | None = None,
    tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    dispatch: DispatchConfig | None = None,
    quota: QuotaConfig | None = None,
    window: str | None = None,
) -> MassreachConfig:
    """A configuration object (as ``load_config`` would make from a file)."""
    send_window = SendWindowConfig()
    if window is not None:
        start, end = window.split("-")
        send_window = SendWindowConfig(
            datetime.strptime(start, "%H:%M").time(), datetime.strptime(end, "%H:%M").time()
        )
    return MassreachConfig(
        channel_tables={kind: tuple(dict(t) for t in ts) for kind, ts in (tables or {}).items()},
        outbox=OutboxConfig(folder=outbox or Path("outbox")),
        dispatch=dispatch or DispatchConfig(),
        quota=quota or QuotaConfig(),
        send_window=send_window,
    )


def make_campaign(
    reach: Reach,
    name: str,
    targets: Sequence[str],
    *,
    channel: Literal["sms", "email"] = "sms",
    kind: str = "care",
    brandname: str = "SHOP",
    account: str | None = None,
    body: str = "Chào {name}, đơn hàng của bạn đã sẵn sàng.",
    send: bool = True,
    scheduled_at: datetime | None = None,
) -> Campaign:
    """A campaign on a new list holding one contact per target, sent (by default)."""
    storage = reach.storage
    now = reach.context.now()
    contact_list = storage.create_list(f"list {name}", feed=ListFeed.csv, created_by="t", now=now)
    drafts = [
        ContactDraft(
            list_id=contact_list.id,
            phone=target if channel == "sms" else None,
            email=target if channel == "email" else None,
            name=f"Khách {index}",
            tags=("t",),
        )
        for index, target in enumerate(targets)
    ]
    storage.add_contacts(drafts, now=now)
    template = f"tpl {name}"
    if channel == "email":
        reach.campaigns.add_template(template, "email", body, subject="Xin chào {name}")
    else:
        care = kind == "care"
        reach.campaigns.add_template(
            template, "sms", body, registered=care, brandname=brandname if care else None
        )
    reach.campaigns.create(
        name,
        channel=channel,
        kind=kind,
        template=template,
        list_name=contact_list.name,
        brandname=brandname if channel == "sms" else None,
        account=account,
        scheduled_at=scheduled_at,
        user="t",
        role="manager",
    )
    if send:
        return reach.campaigns.send(name, user="t", role="manager")
    return reach.campaigns.get(name)


class RecordingChannel:
    """A channel that keeps what it was given, with the clock's time, and answers
    with ``answer(message)`` (``sent`` by default)."""

    kind = "recording"

    def __init__(
        self,
        name: str,
        channel: Literal["sms", "email"],
        clock: Callable[[], datetime],
        answer: Callable[[OutgoingMessage], SendResult] | None = None,
    ) -> None:
        self.name = name
        self.channel: Literal["sms", "email"] = channel
        self.clock = clock
        self.answer = answer
        self.sent: list[tuple[datetime, OutgoingMessage]] = []
        self.lock = threading.Lock()

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results = []
        for message in messages:
            result = (
                self.answer(message)
                if self.answer is not None
                else SendResult(message.message_id, SendStatus.SENT, provider_id=message.client_id)
            )
            if result.status in (SendStatus.SENT, SendStatus.ACCEPTED, SendStatus.DELIVERED):
                with self.lock:
                    self.sent.append((self.clock(), message))
            results.append(result)
        return results

    def close(self) -> None:
        pass


class RecordingPlugin:
    """A plugin object supplying ``[[recording]]`` channels; keeps every channel made."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        answer: Callable[[OutgoingMessage], SendResult] | None = None,
    ) -> None:
        self.clock = clock
        self.answer = answer
        self.channels: dict[tuple[str, str], RecordingChannel] = {}
        plugin = self

        class Factory:
            kind = "recording"

            def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Any:
                channel = RecordingChannel(
                    settings.get("name", "default"),
                    settings["channel"],
                    plugin.clock,
                    plugin.answer,
                )
                plugin.channels[(channel.channel, channel.name)] = channel
                return channel

        self.factory = Factory()

    @hookimpl
    def massreach_register_channels(self, register: Callable[[ChannelFactory], None]) -> None:
        register(self.factory)

    def sent(self) -> list[tuple[datetime, OutgoingMessage]]:
        """Everything sent by every channel, in order."""
        return [item for channel in self.channels.values() for item in channel.sent]


#: ``[[recording]]`` tables for both channels, named "default".
RECORDING_TABLES = {
    "recording": [{"name": "default", "channel": "sms"}, {"name": "default", "channel": "email"}]
}
