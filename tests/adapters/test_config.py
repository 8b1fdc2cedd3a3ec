"""Loading the TOML configuration: the issue's minimum keys, secrets, errors naming keys."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from massreach.adapters.file_outbox import FileOutboxFactory
from massreach.adapters.sms_http_channel import SmsHttpChannel, SmsHttpChannelFactory
from massreach.adapters.smtp_channel import SmtpChannel, SmtpChannelFactory
from massreach.channels import ChannelRegistry, OutgoingMessage, SendResult, SendStatus
from massreach.config import (
    DispatchConfig,
    MassreachConfig,
    QuotaConfig,
    SendWindowConfig,
    load_config,
)
from massreach.errors import ConfigError, InvalidInput

MINIMUM = """
[[smtp]]
name = "default"
host = "127.0.0.1"
port = 2525
security = "none"      # none | starttls | tls
username = ""
password_env = ""
from = "Shop <shop@example.com>"
max_connections = 2
rate_per_second = 0
[[sms_gateway]]
name = "default"
url = "http://127.0.0.1:8080/sms"
api_key_env = "SMS_API_KEY"
rate_per_second = 0
[quota.viettel]
ads_per_day = 2
ads_per_month = 8
vip_ads_per_day = 1
vip_ads_per_month = 5
vip_numbers = []
[send_window]
advertising = "07:00-22:00"
timezone = "Asia/Ho_Chi_Minh"
"""

ENV = {"SMS_API_KEY": "key"}


def write(tmp_path: Path, text: str, name: str = "massreach.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV if env is None else env)
    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_the_issues_minimum_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMUM)
    config = load_config(path, ENV)
    assert config.source == path
    assert config.tables("smtp")[0]["from"] == "Shop <shop@example.com>"
    assert config.tables("sms_gateway")[0]["api_key_env"] == "SMS_API_KEY"
    assert config.tables("file_outbox") == ()
    assert config.quota == QuotaConfig(2, 8, 1, 5, frozenset())
    assert config.send_window == SendWindowConfig(time(7), time(22), "Asia/Ho_Chi_Minh")
    assert config.send_window.zone.key == "Asia/Ho_Chi_Minh"
    assert config.dispatch == DispatchConfig()
    registry = ChannelRegistry()
    for factory in (SmtpChannelFactory(), SmsHttpChannelFactory(), FileOutboxFactory()):
        registry.register(factory)
    channels = registry.build(config, ENV)
    try:
        smtp = channels[("email", "default")]
        gateway = channels[("sms", "default")]
        assert isinstance(smtp, SmtpChannel) and isinstance(gateway, SmsHttpChannel)
        assert smtp.settings.port == 2525 and smtp.settings.max_connections == 2
        assert smtp.settings.username is None
        assert gateway.settings.api_key == "key"
    finally:
        for channel in channels.values():
            channel.close()


def test_no_path_uses_massreach_config_or_the_defaults(tmp_path: Path) -> None:
    assert load_config(None, {}) == MassreachConfig()
    assert load_config(None, {}).outbox.folder == Path("outbox")
    path = write(tmp_path, "[dispatch]\nbatch_size = 7\n")
    assert load_config(None, {"MASSREACH_CONFIG": str(path)}).dispatch.batch_size == 7


def test_every_section_with_its_values(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "vip.txt").write_text(
        "# VIP subscribers\n0961234567\n+84 97 123 4567  # gold\n\n", encoding="utf-8"
    )
    path = write(
        tmp_path,
        """
[quota.viettel]
ads_per_day = 1
ads_per_month = 6
vip_numbers = ["0981234567"]
vip_numbers_file = "lists/vip.txt"
[send_window]
advertising = "08:30-21:00"
timezone = "Asia/Bangkok"
[dispatch]
lease_seconds = 30
batch_size = 500
max_attempts = 3
backoff_base = 1.5
backoff_max = 600
decree91_per_24h = 2
[outbox]
folder = "dry-run"
[[file_outbox]]
name = "demo"
channel = "sms"
folder = "demo-out"
""",
    )
    config = load_config(path, {})
    assert config.quota.ads_per_day == 1 and config.quota.ads_per_month == 6
    assert config.quota.vip_ads_per_day == 1 and config.quota.vip_ads_per_month == 5
    assert config.quota.vip_numbers == {"+84981234567", "+84961234567", "+84971234567"}
    assert (config.send_window.advertising_start, config.send_window.advertising_end) == (
        time(8, 30),
        time(21, 0),
    )
    assert config.dispatch == DispatchConfig(30, 500, 3, 1.5, 600.0, 2)
    assert config.outbox.folder == tmp_path / "dry-run"
    assert config.tables("file_outbox")[0]["folder"] == str(tmp_path / "demo-out")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[smtp]]\nhost = "h"\npassword = "hunter2"\n', "smtp[0].password"),
        ('[[sms_gateway]]\nurl = "http://h/"\napi_key = "abc"\n', "sms_gateway[0].api_key"),
        ('[[sms_gateway]]\nurl = "http://h/"\nToken = "abc"\n', "sms_gateway[0].Token"),
    ],
)
def test_secrets_written_in_the_file_are_refused(tmp_path: Path, text: str, key: str) -> None:
    error = error_for(write(tmp_path, text))
    assert error.code == "config.secret_in_file"
    assert error.details["key"] == key
    assert "hunter2" not in str(error) and "abc" not in str(error).replace('abc"', "")


def test_a_named_variable_that_is_missing_is_named(tmp_path: Path) -> None:
    error = error_for(write(tmp_path, MINIMUM), env={})
    assert error.code == "config.missing_env"
    assert error.details["variable"] == "SMS_API_KEY"
    assert "SMS_API_KEY" in str(error) and "sms_gateway[0].api_key_env" in str(error)


def test_unknown_top_level_keys_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, '[[smpt]]\nhost = "h"\n[quotas]\nx = 1\n[[zalo]]\nname = "z"\n')
    error = error_for(path)
    assert error.code == "config.unknown_keys"
    assert error.details["keys"] == ["quotas", "smpt", "zalo"]
    assert "quotas, smpt, zalo" in str(error)
    # a plugin's channel kind is known when the caller says so
    plugin = write(tmp_path, '[[zalo]]\nname = "z"\n', "plugin.toml")
    config = load_config(plugin, {}, extra_channel_kinds=["zalo"])
    assert config.tables("zalo") == ({"name": "z"},)


@pytest.mark.parametrize(
    ("text", "code", "key"),
    [
        ("[dispatch]\nbatch_sise = 5\n", "config.unknown_keys", "dispatch.batch_sise"),
        ("[dispatch]\nbatch_size = 0\n", "config.invalid_value", "dispatch.batch_size"),
        ('[dispatch]\nlease_seconds = "60"\n', "config.invalid_value", "dispatch.lease_seconds"),
        ("[dispatch]\nmax_attempts = 2.5\n", "config.invalid_value", "dispatch.max_attempts"),
        ("[dispatch]\nbackoff_base = -1\n", "config.invalid_value", "dispatch.backoff_base"),
        (
            "[quota.viettel]\nads_per_day = true\n",
            "config.invalid_value",
            "quota.viettel.ads_per_day",
        ),
        ("[quota.viettel]\nads_per_day = 9\n", "config.invalid_value", "quota.viettel.ads_per_day"),
        ("[quota.mobifone]\nads_per_day = 1\n", "config.unknown_keys", "quota.mobifone"),
        (
            '[quota.viettel]\nvip_numbers = ["12ab"]\n',
            "config.invalid_value",
            "quota.viettel.vip_numbers",
        ),
        (
            '[quota.viettel]\nvip_numbers = "0961234567"\n',
            "config.invalid_value",
            "quota.viettel.vip_numbers",
        ),
        (
            '[quota.viettel]\nvip_numbers_file = "none.txt"\n',
            "config.unreadable",
            "quota.viettel.vip_numbers_file",
        ),
        (
            '[send_window]\nadvertising = "7am-10pm"\n',
            "config.invalid_value",
            "send_window.advertising",
        ),
        (
            '[send_window]\nadvertising = "07:00-25:00"\n',
            "config.invalid_value",
            "send_window.advertising",
        ),
        (
            '[send_window]\ntimezone = "Mars/Olympus"\n',
            "config.invalid_value",
            "send_window.timezone",
        ),
        ('send_window = "always"\n', "config.invalid_value", "send_window"),
        (
            '[[smtp]]\nhost = "h"\npassword_env = 5\n',
            "config.invalid_value",
            "smtp[0].password_env",
        ),
        ("smtp = 3\n", "config.invalid_value", "smtp"),
    ],
)
def test_bad_values_name_the_file_and_the_key(
    tmp_path: Path, text: str, code: str, key: str
) -> None:
    error = error_for(write(tmp_path, text))
    assert (error.code, error.details["key"]) == (code, key)
    assert key in str(error)


def test_a_bad_vip_number_in_the_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "vip.txt").write_text("0961234567\nnot a number\n", encoding="utf-8")
    error = error_for(write(tmp_path, '[quota.viettel]\nvip_numbers_file = "vip.txt"\n'))
    assert error.details["line"] == 2
    assert "line 2" in str(error)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    assert error_for(tmp_path / "missing.toml").code == "config.file_not_found"
    assert error_for(write(tmp_path, "[dispatch\n")).code == "config.syntax"
    assert error_for(write(tmp_path, "x = 'a' 'b'\n")).code == "config.syntax"


def test_windows_over_midnight_are_allowed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[send_window]\nadvertising = "20:00-06:00"\n'), {})
    assert config.send_window.advertising_start == time(20)
    assert config.send_window.advertising_end == time(6)


def test_outgoing_message_hides_personal_data_in_its_repr() -> None:
    sms = OutgoingMessage(1, "mr-1-1", 1, "sms", "ads", "+84912345678", "Chào anh Nguyễn Văn A")
    text = repr(sms)
    assert "+84912345678" not in text and "Nguyễn" not in text
    assert sms.masked_target in text
    mail = OutgoingMessage(2, "mr-1-2", 1, "email", "care", "jane@example.com", "hi")
    assert "jane@" not in repr(mail) and "example.com" in repr(mail)


@pytest.mark.parametrize("client_id", ["", "has space", "a@b", "<x>", "ü"])
def test_client_ids_that_cannot_go_into_a_message_id_are_refused(client_id: str) -> None:
    with pytest.raises(InvalidInput) as error:
        OutgoingMessage(1, client_id, 1, "sms", "care", "+84912345678", "x")
    assert error.value.code == "message.invalid_client_id"


@pytest.mark.parametrize(
    "field", ["subject", "html", "brandname", "account", "recipient_name", "unsubscribe"]
)
def test_optional_texts_of_a_message_are_none_or_str(field: str) -> None:
    base: dict[str, Any] = {
        "message_id": 1, "client_id": "mr-1-1", "campaign_id": 1, "channel": "sms",
        "kind": "care", "target": "+84912345678", "text": "x",
    }  # fmt: skip
    assert getattr(OutgoingMessage(**base, **{field: None}), field) is None
    assert getattr(OutgoingMessage(**base, **{field: "đ"}), field) == "đ"
    with pytest.raises(TypeError, match=f"'{field}' must be <class 'str'>"):
        OutgoingMessage(**base, **{field: b"x"})
    with pytest.raises(TypeError, match="'provider_id' must be <class 'str'>"):
        SendResult(1, SendStatus.SENT, provider_id=12)  # type: ignore[arg-type]


def test_send_result_is_final_only_when_nothing_more_will_happen() -> None:
    assert SendResult(1, SendStatus.SENT).is_final
    assert SendResult(1, SendStatus.PERMANENT, reason="550").is_final
    assert not SendResult(1, SendStatus.ACCEPTED).is_final
    assert not SendResult(1, SendStatus.TEMPORARY, retry_after=3).is_final
    with pytest.raises(InvalidInput):
        SendResult(1, SendStatus.TEMPORARY, retry_after=-1)
    assert SendStatus("sent") is SendStatus.SENT
    assert str(SendStatus.SENT) == "sent"
