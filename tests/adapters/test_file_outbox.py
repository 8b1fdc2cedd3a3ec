"""The file outbox channel, the registry's default channels and the built-in hooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pluggy
import pytest

from massreach import hookspecs
from massreach.adapters import file_outbox, sms_http_channel, smtp_channel
from massreach.adapters.file_outbox import FileOutboxChannel, FileOutboxFactory
from massreach.channels import ChannelFactory, ChannelRegistry, OutgoingMessage, SendStatus
from massreach.config import MassreachConfig, OutboxConfig
from massreach.errors import ConfigError, InvalidInput
from massreach.markers import PROJECT_NAME

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def message(number: int, channel: str = "sms") -> OutgoingMessage:
    return OutgoingMessage(
        message_id=number,
        client_id=f"mr-5-{number}",
        campaign_id=5,
        channel=channel,  # type: ignore[arg-type]
        kind="ads",
        target="+84961234567" if channel == "sms" else "an@example.com",
        text=f"Khuyến mãi {number}",
        subject="Ưu đãi" if channel == "email" else None,
    )


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_message_becomes_one_json_line_in_a_daily_file(tmp_path: Path) -> None:
    channel = FileOutboxChannel("default", "sms", tmp_path / "out", clock=lambda: NOON)
    first = channel.send_batch([message(1), message(2)])
    second = channel.send_batch([message(3)])
    assert [r.status for r in first + second] == [SendStatus.SENT] * 3
    assert [r.provider_id for r in first] == ["file:mr-5-1", "file:mr-5-2"]
    rows = read_lines(tmp_path / "out" / "sms-2026-03-01.jsonl")
    assert [row["client_id"] for row in rows] == ["mr-5-1", "mr-5-2", "mr-5-3"]
    assert rows[0]["text"] == "Khuyến mãi 1"
    assert rows[0]["target"] == "+84961234567"
    assert rows[0]["written_at"] == "2026-03-01T12:00:00+00:00"
    assert set(rows[0]) >= {"message_id", "campaign_id", "kind", "subject", "html", "brandname"}


def test_the_file_is_named_after_the_utc_day(tmp_path: Path) -> None:
    late_in_hanoi = datetime(2026, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=7)))
    channel = FileOutboxChannel("default", "email", tmp_path, clock=lambda: late_in_hanoi)
    channel.send_batch([message(1, "email")])
    assert [p.name for p in tmp_path.iterdir()] == ["email-2026-03-01.jsonl"]


def test_an_unwritable_folder_makes_the_batch_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    channel = FileOutboxChannel("default", "sms", blocker, clock=lambda: NOON)
    results = channel.send_batch([message(1), message(2)])
    assert {r.status for r in results} == {SendStatus.TEMPORARY}
    assert results[0].reason is not None and "cannot write" in results[0].reason


def test_messages_of_the_other_channel_are_refused(tmp_path: Path) -> None:
    channel = FileOutboxChannel("default", "sms", tmp_path)
    with pytest.raises(InvalidInput) as error:
        channel.send_batch([message(1, "email")])
    assert error.value.code == "channel.wrong_channel"
    assert channel.send_batch([]) == []


def test_factory_needs_a_channel(tmp_path: Path) -> None:
    factory = FileOutboxFactory()
    made = factory.create({"name": "dry", "channel": "email", "folder": str(tmp_path)}, {})
    assert (made.name, made.channel, made.kind) == ("dry", "email", "file_outbox")
    with pytest.raises(ConfigError) as error:
        factory.create({"name": "dry"}, {})
    assert error.value.details["key"] == "channel"
    with pytest.raises(ConfigError):
        factory.create({"channel": "fax"}, {})


def registry() -> ChannelRegistry:
    found = ChannelRegistry()
    for factory in (
        smtp_channel.SmtpChannelFactory(),
        sms_http_channel.SmsHttpChannelFactory(),
        FileOutboxFactory(),
    ):
        found.register(factory)
    return found


def test_without_channel_tables_everything_goes_to_the_file_outbox(tmp_path: Path) -> None:
    config = MassreachConfig(outbox=OutboxConfig(folder=tmp_path / "dry-run"))
    channels = registry().build(config, {})
    assert sorted(channels) == [("email", "default"), ("sms", "default")]
    results = channels[("sms", "default")].send_batch([message(1)])
    assert results[0].status is SendStatus.SENT
    assert len(list((tmp_path / "dry-run").glob("sms-*.jsonl"))) == 1
    for channel in channels.values():
        channel.close()


def test_registry_keys_channels_and_refuses_duplicates(tmp_path: Path) -> None:
    tables = {
        "file_outbox": (
            {"name": "a", "channel": "sms", "folder": str(tmp_path)},
            {"name": "a", "channel": "email", "folder": str(tmp_path)},
        )
    }
    built = registry().build(MassreachConfig(channel_tables=tables), {})
    assert sorted(built) == [("email", "a"), ("sms", "a")]
    duplicate = {"file_outbox": (tables["file_outbox"][0], tables["file_outbox"][0])}
    with pytest.raises(ConfigError) as error:
        registry().build(MassreachConfig(channel_tables=duplicate), {})
    assert error.value.code == "config.duplicate_channel"
    with pytest.raises(ConfigError) as unknown:
        registry().build(MassreachConfig(channel_tables={"fax": ({"name": "x"},)}), {})
    assert unknown.value.code == "config.unknown_channel_kind"


class LoudOutbox(FileOutboxFactory):
    """A third-party replacement for the built-in file outbox."""


def test_the_last_registered_factory_for_a_kind_wins() -> None:
    found = registry()
    replacement = LoudOutbox()
    found.register(replacement)
    assert found.factory("file_outbox") is replacement
    assert [type(f) for f in found.shadowed("file_outbox")] == [FileOutboxFactory]
    assert found.kinds() == ("smtp", "sms_gateway", "file_outbox")


def test_builtin_modules_register_their_factories_through_the_hook() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module in (smtp_channel, sms_http_channel, file_outbox):
        pm.register(module)
    found: list[ChannelFactory] = []
    pm.hook.massreach_register_channels(register=found.append)
    assert sorted(f.kind for f in found) == ["file_outbox", "sms_gateway", "smtp"]
    impls = pm.hook.massreach_register_channels.get_hookimpls()
    assert all(impl.trylast for impl in impls)
