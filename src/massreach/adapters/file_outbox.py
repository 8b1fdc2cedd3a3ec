"""The file outbox channel: writes messages to JSON-lines files (dry runs, the demo).

Settings::

    [[file_outbox]]
    name = "default"
    channel = "sms"        # required: "sms" or "email"; write one table per channel
    folder = "outbox"      # relative to the configuration file

Without any channel table in the configuration, the registry creates two file outbox
channels named ``"default"``, one per channel, writing into ``[outbox] folder``
(``./outbox`` when there is no configuration file).

Each message becomes one JSON object on one line of ``<folder>/<channel>-<YYYY-MM-DD>.jsonl``
(the UTC date of writing), with every field of the message and ``written_at``. A batch is
written with one ``write`` to a file opened for appending, then ``fsync``-ed, so workers
in several processes can share a folder. Every message is ``sent``, with
``provider_id = "file:<client_id>"``; a file that cannot be written makes every message
of the batch ``temporary`` with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from massreach.channels import (
    Channel,
    ChannelFactory,
    ChannelSettings,
    OutgoingMessage,
    SendResult,
    SendStatus,
)
from massreach.errors import InvalidInput
from massreach.markers import hookimpl

__all__ = ["FileOutboxChannel", "FileOutboxFactory"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FileOutboxChannel:
    """Appends the messages of one channel (``"sms"`` or ``"email"``) to JSONL files."""

    kind = "file_outbox"

    def __init__(
        self,
        name: str,
        channel: Literal["sms", "email"],
        folder: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.name = name
        self.channel: Literal["sms", "email"] = channel
        self.folder = folder
        self._clock = clock

    def __repr__(self) -> str:
        return f"FileOutboxChannel(name={self.name!r}, channel={self.channel!r})"

    def path_for(self, when: datetime) -> Path:
        """The file the messages of ``when`` (UTC day) go to."""
        return self.folder / f"{self.channel}-{when.astimezone(UTC):%Y-%m-%d}.jsonl"

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Write the batch as JSON lines, fsync, and report every message ``sent``."""
        for message in messages:
            if message.channel != self.channel:
                raise InvalidInput(
                    f"this file outbox carries {self.channel} messages only",
                    code="channel.wrong_channel",
                    details={"message_id": message.message_id, "channel": message.channel},
                )
        if not messages:
            return []
        now = self._clock()
        written_at = now.astimezone(UTC).isoformat()
        lines = b"".join(
            json.dumps(_record(m, written_at), ensure_ascii=False).encode("utf-8") + b"\n"
            for m in messages
        )
        path = self.path_for(now)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                view = memoryview(lines)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            reason = f"cannot write {path}: {exc.strerror or exc}"
            return [SendResult(m.message_id, SendStatus.TEMPORARY, reason=reason) for m in messages]
        return [
            SendResult(m.message_id, SendStatus.SENT, provider_id=f"file:{m.client_id}")
            for m in messages
        ]

    def close(self) -> None:
        """Nothing to release: every batch opens and closes its file."""


def _record(message: OutgoingMessage, written_at: str) -> dict[str, Any]:
    return {
        "client_id": message.client_id,
        "message_id": message.message_id,
        "campaign_id": message.campaign_id,
        "channel": message.channel,
        "kind": message.kind,
        "target": message.target,
        "recipient_name": message.recipient_name,
        "brandname": message.brandname,
        "account": message.account,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "unsubscribe": message.unsubscribe,
        "written_at": written_at,
    }


class FileOutboxFactory:
    """Creates :class:`FileOutboxChannel` objects from ``[[file_outbox]]`` tables."""

    kind = "file_outbox"

    def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Channel:
        """Check the table (ConfigError naming the key) and build the channel."""
        table = ChannelSettings(self.kind, settings, ("channel", "folder"))
        choice = table.choice("channel", ("sms", "email"))
        channel: Literal["sms", "email"] = "sms" if choice == "sms" else "email"
        folder = settings.get("folder", "outbox")
        if not isinstance(folder, str | os.PathLike) or not str(folder):
            raise table.error("folder", f"must be a folder path, not {folder!r}")
        return FileOutboxChannel(table.name, channel, Path(folder))


@hookimpl(trylast=True)
def massreach_register_channels(register: Callable[[ChannelFactory], None]) -> None:
    """Register the built-in file outbox channel (``[[file_outbox]]`` tables)."""
    register(FileOutboxFactory())
