"""The SMTP channel against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.adapters.smtp_servers import SmtpServer, free_port, smtp_server

from massreach.adapters.email_composer import EmailComposer
from massreach.adapters.smtp_channel import SmtpChannel, SmtpChannelFactory
from massreach.channels import OutgoingMessage, SendStatus
from massreach.errors import ConfigError, InvalidInput

FROM = "Cửa hàng Shop <shop@example.com>"


def email(
    number: int, target: str | None = None, *, kind: str = "care", **fields: Any
) -> OutgoingMessage:
    values: dict[str, Any] = {"subject": f"Hello {number}", "recipient_name": f"Customer {number}"}
    values.update(fields)
    return OutgoingMessage(
        message_id=number,
        client_id=f"mr-7-{number}",
        campaign_id=7,
        channel="email",
        kind=kind,  # type: ignore[arg-type]
        target=target or f"user{number}@example.org",
        text=values.pop("text", f"Dear customer {number},\nthanks for shopping with us."),
        **values,
    )


def channel_for(
    server: SmtpServer, env: Mapping[str, str] | None = None, **settings: Any
) -> SmtpChannel:
    table = {"name": "default", "host": server.host, "port": server.port, "from": FROM}
    table.update(settings)
    channel = SmtpChannelFactory().create(table, env or {})
    assert isinstance(channel, SmtpChannel)
    return channel


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def reference(message: OutgoingMessage, from_header: str = FROM) -> EmailMessage:
    """What EmailMessage builds for the same message, serialised and parsed back."""
    built = EmailMessage()
    built["From"] = from_header
    built["To"] = Address(message.recipient_name or "", addr_spec=message.target)
    if message.subject:
        built["Subject"] = message.subject
    built.set_content(message.text)
    if message.html is not None:
        built.add_alternative(message.html, subtype="html")
    return parse(built.as_bytes(policy=policy.SMTP))


def lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def assert_same_as_email_message(message: OutgoingMessage) -> None:
    data, message_id = EmailComposer(FROM).compose(message)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert data.isascii()
    ours, theirs = parse(data), reference(message)
    assert not ours.defects
    assert str(ours["subject"] or "") == (message.subject or "").strip()
    if "=?" not in (message.subject or ""):  # EmailMessage decodes look-alike encoded words
        assert str(ours["subject"] or "") == str(theirs["subject"] or "").strip()
    assert ours["from"].addresses == theirs["from"].addresses
    assert ours["to"].addresses == theirs["to"].addresses
    assert ours["message-id"] == message_id == f"<{message.client_id}@example.com>"
    assert ours["date"].datetime is not None
    assert ours["mime-version"] == "1.0"
    ours_plain, theirs_plain = ours.get_body(("plain",)), theirs.get_body(("plain",))
    assert ours_plain is not None and theirs_plain is not None
    assert lines(ours_plain.get_content()) == lines(theirs_plain.get_content())
    assert ours.get_content_type() == theirs.get_content_type()
    if message.html is not None:
        ours_html, theirs_html = ours.get_body(("html",)), theirs.get_body(("html",))
        assert ours_html is not None and theirs_html is not None
        assert lines(ours_html.get_content()) == lines(theirs_html.get_content())
    for part in ours.walk():
        if not part.is_multipart():
            assert part["content-transfer-encoding"] in ("7bit", "quoted-printable", "base64")


@pytest.mark.parametrize(
    ("subject", "name", "text", "html"),
    [
        ("Big sale this weekend", "Jan Kowalski", "Hello\nsee you", None),
        ("Khuyến mãi lớn cuối tuần", "Nguyễn Văn An", "Xin chào Nguyễn Văn An,\nưu đãi 50%", None),
        (
            "周末大促销，全场五折",
            "张伟",
            "您好，张伟：\n欢迎光临本店。",
            "<p>您好，<b>张伟</b></p>",
        ),
        (
            "Ưu đãi đặc biệt dành riêng cho khách hàng thân thiết của Cửa hàng — 周末大促销 — "
            "chỉ trong hôm nay và ngày mai thôi nhé",
            'Trần "Tí", Lê =?x?= (VIP)',
            "Một dòng rất dài " * 30,
            "<html><body><p>Ưu đãi</p></body></html>",
        ),
        (
            "A plain ASCII subject that is long enough to need folding over two header lines "
            "or maybe even three when it goes on and on",
            'Smith, "Bob" Jr.',
            "x" * 200,
            None,
        ),
        ("=?utf-8?q?not_an_encoded_word?=", "", "..leading dots\n.\nend", None),
    ],
    ids=["ascii", "vietnamese", "chinese-html", "long-mixed", "ascii-long-folded", "tricky"],
)
def test_composed_bytes_parse_back_like_email_message(
    subject: str, name: str, text: str, html: str | None
) -> None:
    message = email(1, subject=subject, recipient_name=name or None, text=text, html=html)
    assert_same_as_email_message(message)


_texts = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
        blacklist_characters="\x85",
        whitelist_characters="\t\r\n",
    ),
    max_size=120,
)


@given(subject=_texts, name=_texts, text=_texts, html=st.none() | _texts)
def test_any_unicode_subject_name_and_body_parse_back(
    subject: str, name: str, text: str, html: str | None
) -> None:
    message = email(1, subject=subject or None, recipient_name=name or None, text=text, html=html)
    data, _ = EmailComposer(FROM).compose(message)
    parsed = parse(data)

    # Line breaks and tabs in one-line fields become spaces; the ends are trimmed.
    def one_line(value: str) -> str:
        return value.replace("\t", " ").replace("\r", " ").replace("\n", " ").strip()

    assert str(parsed["subject"] or "") == one_line(subject)
    display_name = parsed["to"].addresses[0].display_name
    if len(one_line(name).encode()) <= 45:  # one encoded word: exactly as EmailMessage gives
        reference_message = attrs.evolve(message, recipient_name=one_line(name), subject=None)
        assert parsed["to"] == reference(reference_message)["to"]
    else:
        # Longer names need several RFC 2047 words, and CPython's policy.default parser
        # puts a space between adjacent encoded words in a display name (EmailMessage's
        # own output included); RFC 2047 readers join them. Compare all but whitespace.
        assert "".join(display_name.split()) == "".join(one_line(name).split())
    assert parsed["to"].addresses[0].addr_spec == message.target
    plain = parsed.get_body(("plain",))
    assert plain is not None
    expected = "".join(f"{line}\n" for line in text.splitlines()) or "\n"
    assert lines(plain.get_content()) == expected


def test_messages_go_out_over_one_reused_connection() -> None:
    with smtp_server() as server:
        channel = channel_for(server)
        try:
            first = channel.send_batch([email(1), email(2), email(3)])
            second = channel.send_batch([email(4, html="<p>Hi</p>")])
        finally:
            channel.close()
    assert [r.status for r in first + second] == [SendStatus.SENT] * 4
    assert [r.message_id for r in first] == [1, 2, 3]
    assert first[0].provider_id == "<mr-7-1@example.com>"
    assert len(server.sessions) == 1
    assert server.recipients() == [f"user{n}@example.org" for n in (1, 2, 3, 4)]
    assert all(m.mail_from == "shop@example.com" for m in server.messages)
    received = server.messages[0].parsed()
    assert received["message-id"] == "<mr-7-1@example.com>"
    assert received["from"].addresses[0].display_name == "Cửa hàng Shop"
    assert received["to"].addresses[0].display_name == "Customer 1"
    assert "List-Unsubscribe" not in received  # customer care


def test_451_is_temporary_and_550_permanent_with_the_server_reply() -> None:
    rules = {"busy@example.org": "451", "nobody@example.org": "550"}
    with smtp_server(rules) as server:
        channel = channel_for(server)
        try:
            results = channel.send_batch(
                [email(1), email(2, "busy@example.org"), email(3, "nobody@example.org"), email(4)]
            )
        finally:
            channel.close()
    assert [r.status for r in results] == [
        SendStatus.SENT, SendStatus.TEMPORARY, SendStatus.PERMANENT, SendStatus.SENT
    ]  # fmt: skip
    assert results[1].reason == "451 4.7.1 try again later"
    assert results[2].reason == "550 5.1.1 no such user"
    assert server.recipients() == ["user1@example.org", "user4@example.org"]
    assert len(server.sessions) == 1  # refusals do not cost the connection


def test_refused_message_data_is_permanent() -> None:
    with smtp_server({"spam@example.org": "data-554"}) as server:
        channel = channel_for(server)
        try:
            results = channel.send_batch([email(1, "spam@example.org"), email(2)])
        finally:
            channel.close()
    assert results[0].status is SendStatus.PERMANENT
    assert results[0].reason == "554 5.7.1 message refused"
    assert results[1].status is SendStatus.SENT


def test_a_dropped_connection_is_temporary_and_the_batch_goes_on() -> None:
    with smtp_server({"cut@example.org": "drop"}) as server:
        channel = channel_for(server)
        try:
            results = channel.send_batch([email(1), email(2, "cut@example.org"), email(3)])
        finally:
            channel.close()
    assert [r.status for r in results] == [
        SendStatus.SENT, SendStatus.TEMPORARY, SendStatus.SENT
    ]  # fmt: skip
    assert results[1].reason is not None
    assert results[1].reason.startswith("connection lost during DATA")
    assert server.dropped == ["cut@example.org"]
    assert server.recipients() == ["user1@example.org", "user3@example.org"]
    assert len(server.sessions) == 2  # reconnected after the drop


def test_a_temporary_failure_succeeds_when_retried() -> None:
    with smtp_server({"busy@example.org": "451-once", "cut@example.org": "drop-once"}) as server:
        channel = channel_for(server)
        try:
            first = channel.send_batch([email(1, "busy@example.org"), email(2, "cut@example.org")])
            again = channel.send_batch([email(1, "busy@example.org"), email(2, "cut@example.org")])
        finally:
            channel.close()
    assert [r.status for r in first] == [SendStatus.TEMPORARY, SendStatus.TEMPORARY]
    assert [r.status for r in again] == [SendStatus.SENT, SendStatus.SENT]


def test_a_connection_closed_by_a_restarted_server_is_replaced() -> None:
    port = free_port()
    with smtp_server(port=port) as server:
        channel = channel_for(server)
        assert channel.send_batch([email(1)])[0].status is SendStatus.SENT
    try:
        with smtp_server(port=port) as restarted:
            results = channel.send_batch([email(2), email(3)])
    finally:
        channel.close()
    assert [r.status for r in results] == [SendStatus.SENT, SendStatus.SENT]
    assert restarted.recipients() == ["user2@example.org", "user3@example.org"]


def test_server_down_makes_the_whole_batch_temporary() -> None:
    with smtp_server() as server:
        pass  # stopped: nothing listens on its port any more
    channel = channel_for(server, max_connections=2)
    try:
        results = channel.send_batch([email(n) for n in range(5)])
    finally:
        channel.close()
    assert {r.status for r in results} == {SendStatus.TEMPORARY}
    assert all(r.reason and r.reason.startswith("cannot connect") for r in results)


def test_pooled_connections_share_a_batch_in_order() -> None:
    with smtp_server() as server:
        channel = channel_for(server, max_connections=3)
        try:
            messages = [email(n) for n in range(90)]
            results = channel.send_batch(messages)
        finally:
            channel.close()
    assert [r.message_id for r in results] == list(range(90))
    assert {r.status for r in results} == {SendStatus.SENT}
    assert sorted(server.recipients()) == sorted(m.target for m in messages)
    assert 2 <= len(server.sessions) <= 3


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_login_with_the_password_from_the_environment() -> None:
    env = {"SMTP_PASS": "s3cret"}
    with smtp_server(auth={"shop": "s3cret"}) as server:
        channel = channel_for(server, env, username="shop", password_env="SMTP_PASS")
        wrong = channel_for(server, {"P": "nope"}, username="shop", password_env="P")
        try:
            ok = channel.send_batch([email(1)])
            refused = wrong.send_batch([email(2), email(3)])
        finally:
            channel.close()
            wrong.close()
    assert ok[0].status is SendStatus.SENT
    assert server.messages[0].login == "shop"
    assert "s3cret" not in repr(channel) + repr(channel.settings)
    assert [r.status for r in refused] == [SendStatus.TEMPORARY, SendStatus.TEMPORARY]
    assert refused[0].reason is not None and "535" in refused[0].reason
    assert server.recipients() == ["user1@example.org"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls(certificate: tuple[Path, Path]) -> None:
    with smtp_server(tls=certificate, starttls=True, auth={"shop": "pw"}) as server:
        channel = channel_for(
            server, {"PW": "pw"}, security="starttls", ca_file=str(certificate[0]),
            username="shop", password_env="PW",
        )  # fmt: skip
        plain = channel_for(server)  # the server requires STARTTLS
        try:
            results = channel.send_batch([email(1)])
            refused = plain.send_batch([email(2)])
        finally:
            channel.close()
            plain.close()
    assert results[0].status is SendStatus.SENT
    assert server.messages[0].tls and server.messages[0].login == "shop"
    assert refused[0].status is SendStatus.TEMPORARY  # 530: the account's fault
    assert refused[0].reason is not None and refused[0].reason.startswith("530")
    assert server.recipients() == ["user1@example.org"]


def test_implicit_tls_and_an_untrusted_certificate(certificate: tuple[Path, Path]) -> None:
    with smtp_server(tls=certificate, implicit_tls=True) as server:
        trusted = channel_for(server, security="tls", ca_file=str(certificate[0]))
        untrusted = channel_for(server, security="tls")
        try:
            ok = trusted.send_batch([email(1)])
            refused = untrusted.send_batch([email(2)])
        finally:
            trusted.close()
            untrusted.close()
    assert ok[0].status is SendStatus.SENT and server.messages[0].tls
    assert refused[0].status is SendStatus.TEMPORARY
    assert refused[0].reason is not None and "CERTIFICATE_VERIFY_FAILED" in refused[0].reason


def test_advertising_mail_carries_list_unsubscribe() -> None:
    with smtp_server() as server:
        channel = channel_for(server, unsubscribe="mailto:unsubscribe@example.com")
        try:
            channel.send_batch(
                [
                    email(1, kind="ads", unsubscribe="https://shop.example.com/u/1"),
                    email(2, kind="ads"),
                    email(3, kind="care"),
                    email(4, kind="ads", brandname="SHOP VN"),
                ]
            )
        finally:
            channel.close()
    one, two, three, four = (m.parsed() for m in server.messages)
    assert one["list-unsubscribe"] == "<https://shop.example.com/u/1>"
    assert one["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    assert two["list-unsubscribe"] == "<mailto:unsubscribe@example.com>"
    assert "List-Unsubscribe-Post" not in two
    assert "List-Unsubscribe" not in three
    assert four["from"].addresses[0].display_name == "SHOP VN"


def test_bad_addresses_fail_without_a_connection() -> None:
    with smtp_server() as server:
        channel = channel_for(server)
        try:
            results = channel.send_batch([email(1, "not-an-address"), email(2, "ü@例え.jp")])
        finally:
            channel.close()
    assert {r.status for r in results} == {SendStatus.PERMANENT}
    assert server.sessions == set()


def test_programming_errors_raise() -> None:
    with smtp_server() as server:
        channel = channel_for(server)
        sms = OutgoingMessage(1, "mr-1-1", 1, "sms", "care", "+84961234567", "hi")
        with pytest.raises(InvalidInput) as wrong:
            channel.send_batch([sms])
        assert wrong.value.code == "channel.wrong_channel"
        channel.close()
        channel.close()  # twice is fine
        with pytest.raises(InvalidInput) as closed:
            channel.send_batch([email(1)])
        assert closed.value.code == "channel.closed"


@pytest.mark.parametrize(
    ("table", "env", "code", "key"),
    [
        ({"from": "a@example.com"}, {}, "config.missing_key", "host"),
        (
            {"host": "h", "from": "a@example.com", "security": "ssl"},
            {},
            "config.invalid_value",
            "security",
        ),
        ({"host": "h", "from": "nobody"}, {}, "config.invalid_value", "from"),
        ({"host": "h", "from": "a@example.com", "port": "25"}, {}, "config.invalid_value", "port"),
        (
            {"host": "h", "from": "a@example.com", "max_connections": 0},
            {},
            "config.invalid_value",
            "max_connections",
        ),
        (
            {"host": "h", "from": "a@example.com", "username": "u"},
            {},
            "config.invalid_value",
            "password_env",
        ),
        (
            {"host": "h", "from": "a@example.com", "username": "u", "password_env": "NOPE"},
            {},
            "config.missing_env",
            "password_env",
        ),
        ({"host": "h", "from": "a@example.com", "hots": "x"}, {}, "config.unknown_keys", "hots"),
    ],
)
def test_bad_settings_name_the_key(
    table: dict[str, Any], env: dict[str, str], code: str, key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        SmtpChannelFactory().create({"name": "main", **table}, env)
    assert error.value.code == code
    assert error.value.details["key"] == key
    assert key in str(error.value) and "smtp 'main'" in str(error.value)


def test_default_port_follows_security() -> None:
    factory = SmtpChannelFactory()
    base = {"host": "h", "from": "a@example.com"}
    assert factory.read_settings(base, {}).port == 25
    assert factory.read_settings({**base, "security": "starttls"}, {}).port == 587
    assert factory.read_settings({**base, "security": "tls"}, {}).port == 465
