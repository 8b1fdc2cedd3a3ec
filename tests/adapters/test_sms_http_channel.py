"""The HTTP SMS gateway channel against a real gateway on 127.0.0.1 (stdlib http.server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.adapters.http_gateway import Gateway, http_gateway
from tests.adapters.scripted_http import scripted_server
from tests.adapters.smtp_servers import free_port

from massreach.adapters.rate_limit import TokenBucket
from massreach.adapters.sms_http_channel import SmsHttpChannel, SmsHttpChannelFactory
from massreach.channels import OutgoingMessage, SendStatus
from massreach.errors import ConfigError, InvalidInput

KEY = "k-123"


def sms(
    number: int, phone: str | None = None, *, kind: str = "care", **fields: Any
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=number,
        client_id=f"mr-3-{number}",
        campaign_id=3,
        channel="sms",
        kind=kind,  # type: ignore[arg-type]
        target=phone or f"+8496{number:07d}",
        text=fields.pop("text", f"Xin chào quý khách {number}"),
        **fields,
    )


def channel_for(url: str, **settings: Any) -> SmsHttpChannel:
    table = {"name": "default", "url": url, "api_key_env": "SMS_API_KEY", "brandname": "SHOP"}
    table.update(settings)
    channel = SmsHttpChannelFactory().create(table, {"SMS_API_KEY": KEY})
    assert isinstance(channel, SmsHttpChannel)
    return channel


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with http_gateway(api_key=KEY) as gw:
        yield gw


def test_care_is_sent_and_ads_accepted_over_one_connection(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    try:
        results = channel.send_batch(
            [sms(1), sms(2, kind="ads"), sms(3, brandname="OTHER", text="Mã OTP: 1234")]
        )
    finally:
        channel.close()
    assert [r.status for r in results] == [SendStatus.SENT, SendStatus.ACCEPTED, SendStatus.SENT]
    assert all(r.provider_id and r.provider_id.startswith("gw-") for r in results)
    assert gateway.accepted["mr-3-1"] == {
        "client_id": "mr-3-1",
        "brandname": "SHOP",
        "phone": "+84960000001",
        "text": "Xin chào quý khách 1",
        "type": "care",
    }
    assert gateway.accepted["mr-3-2"]["type"] == "ads"
    assert gateway.accepted["mr-3-3"]["brandname"] == "OTHER"
    assert gateway.accepted["mr-3-3"]["text"] == "Mã OTP: 1234"
    assert gateway.auth_seen == [f"Bearer {KEY}"] * 3
    assert len(gateway.connections) == 1  # kept alive


def test_rejected_numbers_fail_for_good_with_the_reason() -> None:
    with http_gateway(
        reject={"+84960000002": "number is blacklisted"}, deliver={"+84960000003"}
    ) as gw:
        channel = channel_for(gw.url)
        try:
            results = channel.send_batch([sms(1), sms(2), sms(3)])
        finally:
            channel.close()
    assert [r.status for r in results] == [
        SendStatus.SENT, SendStatus.PERMANENT, SendStatus.DELIVERED
    ]  # fmt: skip
    assert results[1].reason == "number is blacklisted"


def test_rate_limit_is_temporary_with_retry_after_and_stops_the_batch(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    try:
        assert channel.send_batch([sms(1)])[0].status is SendStatus.SENT
        gateway.throttle(1, retry_after=7)
        limited = channel.send_batch([sms(2), sms(3), sms(4)])
        later = channel.send_batch([sms(2), sms(3), sms(4)])
    finally:
        channel.close()
    assert [(r.status, r.retry_after) for r in limited] == [(SendStatus.TEMPORARY, 7.0)] * 3
    assert gateway.requests == 1 + 1 + 3  # the rest of the limited batch was not tried
    assert [r.status for r in later] == [SendStatus.SENT] * 3


def test_503_is_temporary_and_other_5xx_do_not_stop_the_batch(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    try:
        gateway.fail(1, status=500)
        results = channel.send_batch([sms(1), sms(2)])
        gateway.fail(1, status=503)
        unavailable = channel.send_batch([sms(3), sms(4)])
    finally:
        channel.close()
    assert [r.status for r in results] == [SendStatus.TEMPORARY, SendStatus.SENT]
    assert results[0].reason == "gateway error 500"
    assert [r.status for r in unavailable] == [SendStatus.TEMPORARY, SendStatus.TEMPORARY]
    assert "mr-3-4" not in gateway.accepted


def test_other_4xx_are_permanent_but_a_refused_key_is_not(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    wrong_key = SmsHttpChannelFactory().create(
        {"url": gateway.url, "api_key_env": "K"}, {"K": "wrong"}
    )
    try:
        gateway.fail(1, status=422)
        results = channel.send_batch([sms(1), sms(2)])
        refused = wrong_key.send_batch([sms(3), sms(4)])
    finally:
        channel.close()
        wrong_key.close()
    assert [r.status for r in results] == [SendStatus.PERMANENT, SendStatus.SENT]
    assert [r.status for r in refused] == [SendStatus.TEMPORARY, SendStatus.TEMPORARY]
    assert refused[0].reason == "bad API key"
    assert gateway.requests == 3  # the second message of the refused batch was not tried


def test_duplicate_client_ids_are_dropped_by_the_gateway(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    try:
        first = channel.send_batch([sms(1), sms(2)])
        again = channel.send_batch([sms(1)])  # e.g. a retry after a lost reply
    finally:
        channel.close()
    assert again[0].status is SendStatus.SENT
    assert again[0].provider_id == first[0].provider_id
    assert gateway.duplicates == 1
    assert sorted(gateway.accepted) == ["mr-3-1", "mr-3-2"]


def test_batch_mode_posts_arrays() -> None:
    with http_gateway(api_key=KEY, reject={"+84960000005": "invalid number"}) as gw:
        channel = channel_for(gw.url, batch=True, batch_size=100)
        try:
            messages = [sms(n, kind="ads" if n % 2 else "care") for n in range(250)]
            results = channel.send_batch(messages)
        finally:
            channel.close()
    assert gw.requests == 3
    assert [r.message_id for r in results] == list(range(250))
    assert results[5].status is SendStatus.PERMANENT and results[5].reason == "invalid number"
    assert results[4].status is SendStatus.SENT and results[3].status is SendStatus.ACCEPTED
    assert len(gw.accepted) == 249


def test_server_down_is_temporary_for_the_whole_batch() -> None:
    channel = channel_for(f"http://127.0.0.1:{free_port()}/sms")
    try:
        results = channel.send_batch([sms(1), sms(2), sms(3)])
    finally:
        channel.close()
    assert {r.status for r in results} == {SendStatus.TEMPORARY}
    assert results[0].reason is not None and "cannot reach the gateway" in results[0].reason


def test_a_gateway_that_does_not_answer_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        channel = channel_for(f"http://127.0.0.1:{silent.getsockname()[1]}/sms", timeout=0.2)
        try:
            results = channel.send_batch([sms(1)])
        finally:
            channel.close()
    assert results[0].status is SendStatus.TEMPORARY
    assert results[0].reason == "no reply within 0.2 s"


def test_connections_closed_by_the_gateway_are_reopened(gateway: Gateway) -> None:
    gateway.close_after_reply = True
    channel = channel_for(gateway.url)
    try:
        results = channel.send_batch([sms(n) for n in range(5)])
    finally:
        channel.close()
    assert {r.status for r in results} == {SendStatus.SENT}
    assert len(gateway.connections) == 5


def test_chunked_replies_are_read(gateway: Gateway) -> None:
    gateway.chunked = True
    channel = channel_for(gateway.url)
    try:
        results = channel.send_batch([sms(1), sms(2, kind="ads")])
    finally:
        channel.close()
    assert [r.status for r in results] == [SendStatus.SENT, SendStatus.ACCEPTED]
    assert all(r.provider_id and r.provider_id.startswith("gw-") for r in results)
    assert len(gateway.connections) == 1


def accepted(client_id: str) -> bytes:
    body = b'{"id": "p-%s", "status": "accepted", "reason": null}' % client_id.encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_a_kept_alive_connection_dropped_without_reply_is_reopened_and_tried_once_more() -> None:
    steps = [(accepted("mr-3-1"), False), (b"", True), (accepted("mr-3-2"), False)]
    with scripted_server(steps) as server:
        channel = channel_for(f"http://127.0.0.1:{server.port}/sms")
        try:
            results = channel.send_batch([sms(1), sms(2)])
        finally:
            channel.close()
    assert [(r.status, r.provider_id) for r in results] == [
        (SendStatus.SENT, "p-mr-3-1"), (SendStatus.SENT, "p-mr-3-2")
    ]  # fmt: skip
    assert len(server.requests) == 3 and server.connections == 2
    assert (
        b'"client_id":"mr-3-2"' in server.requests[1] and server.requests[1] == server.requests[2]
    )


def test_a_gateway_that_drops_new_connections_or_cuts_replies_is_temporary() -> None:
    cut = accepted("mr-3-2")[:-10]
    with scripted_server([(b"", True), (cut, True)]) as server:
        channel = channel_for(f"http://127.0.0.1:{server.port}/sms")
        try:
            dropped = channel.send_batch([sms(1)])
            cut_short = channel.send_batch([sms(2), sms(3)])
        finally:
            channel.close()
    assert dropped[0].status is SendStatus.TEMPORARY
    assert dropped[0].reason == "connection lost: Remote end closed connection without response"
    assert [r.status for r in cut_short] == [SendStatus.TEMPORARY] * 2
    assert cut_short[0].reason is not None and "IncompleteRead" in cut_short[0].reason
    assert len(server.requests) == 2  # no second try on a fresh connection; the rest waits


def test_https_gateway(certificate: tuple[Path, Path]) -> None:
    with http_gateway(api_key=KEY, tls=certificate) as gw:
        assert gw.url.startswith("https://127.0.0.1:")
        trusted = channel_for(gw.url, ca_file=str(certificate[0]))
        untrusted = channel_for(gw.url)
        unverified = channel_for(gw.url, tls_verify=False)
        try:
            sent = trusted.send_batch([sms(1), sms(2, kind="ads")])
            refused = untrusted.send_batch([sms(3), sms(4)])
            anyway = unverified.send_batch([sms(5)])
        finally:
            for channel in (trusted, untrusted, unverified):
                channel.close()
        connections = len(gw.connections)
    assert [r.status for r in sent] == [SendStatus.SENT, SendStatus.ACCEPTED]
    assert [r.status for r in refused] == [SendStatus.TEMPORARY] * 2
    assert refused[0].reason is not None and "CERTIFICATE_VERIFY_FAILED" in refused[0].reason
    assert anyway[0].status is SendStatus.SENT
    assert sorted(gw.accepted) == ["mr-3-1", "mr-3-2", "mr-3-5"]
    assert connections == 2  # one kept-alive connection per channel that got through


def test_numbers_not_in_e164_fail_without_a_request(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    try:
        results = channel.send_batch([sms(1, "0961234567"), sms(2)])
    finally:
        channel.close()
    assert results[0].status is SendStatus.PERMANENT
    assert results[1].status is SendStatus.SENT
    assert gateway.requests == 1


def test_programming_errors_raise(gateway: Gateway) -> None:
    channel = channel_for(gateway.url)
    mail = OutgoingMessage(1, "mr-1-1", 1, "email", "care", "a@example.com", "hi")
    with pytest.raises(InvalidInput):
        channel.send_batch([mail])
    channel.close()
    with pytest.raises(InvalidInput):
        channel.send_batch([sms(1)])
    assert KEY not in repr(channel) + repr(channel.settings)


@pytest.mark.parametrize(
    ("table", "code", "key"),
    [
        ({}, "config.missing_key", "url"),
        ({"url": "ftp://x/sms"}, "config.invalid_value", "url"),
        ({"url": "http://h:99999/sms"}, "config.invalid_value", "url"),
        ({"url": "http://h/sms", "api_key_env": "MISSING"}, "config.missing_env", "api_key_env"),
        ({"url": "http://h/sms", "batch": "yes"}, "config.invalid_value", "batch"),
        ({"url": "http://h/sms", "rate_per_second": -1}, "config.invalid_value", "rate_per_second"),
        ({"url": "http://h/sms", "api_key": "x"}, "config.unknown_keys", "api_key"),
    ],
)
def test_bad_settings_name_the_key(table: dict[str, Any], code: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        SmsHttpChannelFactory().create({"name": "gw", **table}, {})
    assert (error.value.code, error.value.details["key"]) == (code, key)
    assert key in str(error.value)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_paces_sends() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, burst=2, clock=fake.clock, sleep=fake.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0.1, 0.1, 0.1])
    fake.now += 10  # a quiet period refills up to the burst only
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0, 0, 0.1])
    assert bucket.acquire(5) == pytest.approx(0.5)  # a big batch waits, it is not refused
    assert TokenBucket(0, clock=fake.clock, sleep=fake.sleep).acquire(1000) == 0
