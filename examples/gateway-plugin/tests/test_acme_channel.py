"""The ACME channel speaks ACME API v2: form fields, signatures, error codes, HTTP
statuses and its ``[[acme_sms]]`` settings, against the fake ACME server."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal

import pytest
from massreach.channels import OutgoingMessage, SendStatus
from massreach.errors import ConfigError, InvalidInput

from acme_server import AcmeServer
from massreach_acme_sms import ERROR_CODES, AcmeSmsChannel, AcmeSmsChannelFactory
from massreach_acme_sms.api import retry_after_seconds, scrub_numbers, signature
from support import SECRET, SECRET_ENV, acme_table, make_channel


def sms(number: int, *, kind: Literal["care", "ads"] = "care", **fields: Any) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=number,
        client_id=f"mr-5-{number}",
        campaign_id=5,
        channel=fields.pop("channel", "sms"),
        kind=kind,
        target=fields.pop("target", f"+8496{number:07d}"),
        text=fields.pop("text", f"Xin chào quý khách {number}"),
        **fields,
    )


def test_messages_go_out_as_signed_acme_v2_forms(acme: AcmeServer) -> None:
    channel = make_channel(acme.base_url)
    try:
        results = channel.send_batch([sms(1), sms(2, kind="ads", brandname="OTHER")])
    finally:
        channel.close()
    assert [(r.status, r.provider_id) for r in results] == [
        (SendStatus.SENT, "ACME00000001"),
        (SendStatus.ACCEPTED, "ACME00000002"),
    ]
    assert acme.taken() == [
        {
            "sender": "SHOP",
            "msisdn": "84960000001",
            "body": "Xin chào quý khách 1",
            "ref": "mr-5-1",
            "category": "transactional",
        },
        {
            "sender": "OTHER",
            "msisdn": "84960000002",
            "body": "Xin chào quý khách 2",
            "ref": "mr-5-2",
            "category": "marketing",
        },
    ]
    assert acme.bad_signatures == 0
    assert len(acme.connections) == 1  # kept alive


def test_the_signature_is_hmac_sha256_of_timestamp_path_and_body() -> None:
    expected = hmac.new(b"k", b"1767225600\n/v2/messages\nmsisdn=1", hashlib.sha256).hexdigest()
    assert signature("k", 1767225600, "/v2/messages", b"msisdn=1") == f"v1={expected}"


def test_a_base_url_with_a_path_keeps_it(acme: AcmeServer) -> None:
    channel = make_channel(acme.base_url + "/api/")
    try:
        [result] = channel.send_batch([sms(1)])
    finally:
        channel.close()
    assert acme.paths == ["/api/v2/messages"]
    # the fake ACME serves /v2/messages only: a 404 says the url is wrong
    assert result.status is SendStatus.TEMPORARY
    assert result.reason is not None and "check url" in result.reason


def test_a_wrong_secret_is_temporary_and_stops_the_batch(acme: AcmeServer) -> None:
    table = acme_table(acme.base_url)
    channel = AcmeSmsChannelFactory().create(table, {SECRET_ENV: "not-the-secret"})
    try:
        results = channel.send_batch([sms(1), sms(2)])
    finally:
        channel.close()
    assert [r.status for r in results] == [SendStatus.TEMPORARY] * 2
    assert all((r.reason or "").startswith("ACME E300: the signature is wrong") for r in results)
    assert acme.requests == 1 and acme.bad_signatures == 1
    assert acme.taken() == []


def test_a_clock_far_off_is_refused_with_e301(acme: AcmeServer) -> None:
    settings = AcmeSmsChannelFactory().read_settings(
        acme_table(acme.base_url), {SECRET_ENV: SECRET}
    )
    channel = AcmeSmsChannel(settings, clock=lambda: time.time() - 3600)
    try:
        [result] = channel.send_batch([sms(1)])
    finally:
        channel.close()
    assert result.status is SendStatus.TEMPORARY
    assert (result.reason or "").startswith("ACME E301:")


@pytest.mark.parametrize("code", sorted(c for c in ERROR_CODES if c.startswith(("E1", "E2"))))
def test_error_codes_map_as_the_table_says(acme: AcmeServer, code: str) -> None:
    acme.error_for["84960000001"] = code
    channel = make_channel(acme.base_url)
    try:
        first, second = channel.send_batch([sms(1), sms(2)])
    finally:
        channel.close()
    error = ERROR_CODES[code]
    assert first.status is error.status
    assert first.reason is not None
    assert first.reason.startswith(f"ACME {code}: {error.meaning}")
    assert "84960000001" not in first.reason  # ACME's error_text echoes the number
    assert "(refused for msisdn 849****0001)" in first.reason
    if error.account_wide:  # the rest of the batch gets the same answer, unsent
        assert (second.status, second.reason) == (first.status, first.reason)
        assert acme.requests == 1
    else:
        assert second.status is SendStatus.SENT
        assert acme.requests == 2


def test_an_unknown_error_code_is_temporary(acme: AcmeServer) -> None:
    acme.error_for["84960000001"] = "E777"
    channel = make_channel(acme.base_url)
    try:
        [result] = channel.send_batch([sms(1)])
    finally:
        channel.close()
    assert result.status is SendStatus.TEMPORARY
    assert (result.reason or "").startswith("ACME E777: an error code this plugin does not know")


@pytest.mark.parametrize("status", [429, 503])
def test_busy_is_temporary_with_retry_after_and_stops_the_batch(
    acme: AcmeServer, status: int
) -> None:
    acme.fail_next(1, status=status, retry_after=12)
    channel = make_channel(acme.base_url)
    try:
        results = channel.send_batch([sms(1), sms(2), sms(3)])
        assert [r.status for r in results] == [SendStatus.TEMPORARY] * 3
        assert [r.retry_after for r in results] == [12.0] * 3
        assert acme.requests == 1
        assert [r.status for r in channel.send_batch([sms(1), sms(2), sms(3)])] == [
            SendStatus.SENT
        ] * 3
    finally:
        channel.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, SendStatus.TEMPORARY), (408, SendStatus.TEMPORARY), (400, SendStatus.PERMANENT)],
)
def test_other_http_statuses(acme: AcmeServer, status: int, expected: SendStatus) -> None:
    acme.fail_next(1, status=status)
    channel = make_channel(acme.base_url)
    try:
        first, second = channel.send_batch([sms(1), sms(2)])
    finally:
        channel.close()
    assert (first.status, first.reason) == (
        expected,
        f"HTTP {status}" + (" from ACME" if expected is SendStatus.PERMANENT else ""),
    )
    assert second.status is SendStatus.SENT


def test_a_repeated_ref_gets_the_first_answer_and_is_not_sent_again(acme: AcmeServer) -> None:
    channel = make_channel(acme.base_url)
    try:
        [first] = channel.send_batch([sms(1)])
        [again] = channel.send_batch([sms(1)])
    finally:
        channel.close()
    assert again == first
    assert acme.duplicates == 1 and len(acme.taken()) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 3, 2, 8, 1, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds("7", lambda: now) == 7.0
    assert retry_after_seconds(later, lambda: now) == 90.0
    assert retry_after_seconds("soon", lambda: now) is None
    assert retry_after_seconds(None) is None


def test_numbers_in_provider_texts_are_masked() -> None:
    assert scrub_numbers("invalid msisdn 84961234567") == "invalid msisdn 849****4567"
    assert scrub_numbers("code 42, no number") == "code 42, no number"


def test_the_channel_refuses_email_and_use_after_close(acme: AcmeServer) -> None:
    channel = make_channel(acme.base_url)
    email = sms(1, channel="email", target="a@example.com")
    with pytest.raises(InvalidInput) as info:
        channel.send_batch([email])
    assert info.value.code == "channel.wrong_channel"
    channel.close()
    with pytest.raises(InvalidInput) as closed:
        channel.send_batch([sms(1)])
    assert closed.value.code == "channel.closed"


@pytest.mark.parametrize(
    ("change", "key", "code"),
    [
        ({"url": None}, "url", "config.missing_key"),
        ({"url": "ftp://acme.example"}, "url", "config.invalid_value"),
        ({"url": "http://acme.example:port"}, "url", "config.invalid_value"),
        ({"sender_default": "A VERY LONG SENDER"}, "sender_default", "config.invalid_value"),
        ({"sender_default": None}, "sender_default", "config.missing_key"),
        ({"secret_env": None}, "secret_env", "config.missing_key"),
        ({"secret_env": "ACME_UNSET"}, "secret_env", "config.missing_env"),
        ({"timeout": 0}, "timeout", "config.invalid_value"),
        ({"rate_per_second": "fast"}, "rate_per_second", "config.invalid_value"),
        ({"api_key_env": "X"}, "api_key_env", "config.unknown_keys"),
    ],
)
def test_table_errors_name_the_key(change: dict[str, Any], key: str, code: str) -> None:
    table = {
        k: v for k, v in {**acme_table("http://acme.example"), **change}.items() if v is not None
    }
    with pytest.raises(ConfigError) as info:
        AcmeSmsChannelFactory().create(table, {SECRET_ENV: SECRET})
    assert info.value.code == code
    assert info.value.details["key"] == key
    assert str(info.value).startswith("acme_sms 'default': ")


def test_reprs_never_show_the_secret() -> None:
    factory = AcmeSmsChannelFactory()
    settings = factory.read_settings(acme_table("http://acme.example"), {SECRET_ENV: SECRET})
    channel = AcmeSmsChannel(settings)
    assert settings.secret == SECRET
    assert SECRET not in repr(settings) and SECRET not in repr(channel)
    channel.close()
