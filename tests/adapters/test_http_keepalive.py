"""KeepAliveConnection against real servers on 127.0.0.1, side by side with http.client.

Every reply shape is served by a real TCP server (tests/adapters/scripted_http.py, or
the stdlib http.server gateway) and read by both ``http.client`` and
:class:`KeepAliveConnection`; both must see the same status, body, headers and
keep-alive decision, or raise the same kind of error.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.adapters.http_gateway import http_gateway
from tests.adapters.scripted_http import HOST, scripted_server
from tests.adapters.smtp_servers import free_port

from massreach.adapters.http_keepalive import HttpReply, KeepAliveConnection

BODY = b'{"client_id":"mr-1-1","phone":"+84961234567","text":"Xin ch\xc3\xa0o","type":"care"}'
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Authorization": "Bearer k-1"}
ANSWER = b'{"id": "gw-1", "status": "accepted", "reason": null}'
COMPARED = ("content-type", "content-length", "retry-after", "x-repeat", "connection")


def ok(*headers: bytes, body: bytes = ANSWER, version: bytes = b"HTTP/1.1") -> bytes:
    head = b"".join(h + b"\r\n" for h in headers)
    return version + b" 200 OK\r\n" + head + b"\r\n" + body


def with_length(body: bytes = ANSWER, *headers: bytes) -> bytes:
    return ok(b"Content-Length: %d" % len(body), *headers, body=body)


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"10;name=value\r\n" + ANSWER[:16] + b"\r\n"
    b"%x\r\n" % (len(ANSWER) - 16) + ANSWER[16:] + b"\r\n"
    b"0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n"
)

#: (reply bytes, close the connection after it, what it shows)
REPLIES = [
    (with_length(ANSWER, b"Content-Type: application/json"), False, "content-length"),
    (CHUNKED, False, "chunked, with a chunk extension and trailers"),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
        b"%x\r\n" % len(ANSWER) + ANSWER + b"\r\n0\r\n\r\n",
        False,
        "chunked wins over content-length",
    ),
    (with_length(ANSWER, b"Connection: close"), True, "connection close"),
    (ok(body=ANSWER, version=b"HTTP/1.0"), True, "HTTP/1.0, body until close"),
    (ok(b"Server: x", body=ANSWER, version=b"HTTP/1.1"), True, "no length, body until close"),
    (
        with_length(ANSWER, b"Connection: Keep-Alive").replace(b"HTTP/1.1", b"HTTP/1.0"),
        False,
        "HTTP/1.0 kept alive",
    ),
    (
        b"HTTP/1.1 429 Too Many Requests\r\nretry-AFTER: 7\r\nX-Repeat: first\r\n"
        b"X-Repeat: second\r\nContent-Length: 2\r\n\r\n{}",
        False,
        "headers by any case, the first of a repeat",
    ),
    (b"HTTP/1.1 204 No Content\r\nX-Repeat: a\r\n\r\n", False, "no content"),
    (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", False, "empty body"),
    (
        b"HTTP/1.1 100 Continue\r\n\r\n" + with_length(ANSWER),
        False,
        "100 continue skipped",
    ),
    (b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}", False, "no reason phrase"),
    (b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", False, "bare LF line ends"),
    (
        b"HTTP/1.1 200 OK\nContent-Length: 6\nX-Repeat: a\r\n\nab\r\n\r\n",
        False,
        "bare LF head, CRLFCRLF in the body",
    ),
    (
        [b"HTTP/1.1 200 OK\r\nContent-", b"Length: 2\r\nX-Repeat: a\r\n", b"\r\n{}"],
        False,
        "head in three reads",
    ),
    (
        [b"HTTP/1.1 100 Continue\r\n\r\n", with_length(ANSWER, b"Retry-After: 2")],
        False,
        "100 continue, then the reply in a later read",
    ),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", b"1234567"], False, "body in two reads"),
    ([b"HTTP/1.1 200 OK\r\n", b""], True, "closed after the status line"),
]


def read_with_http_client(port: int, path: str = "/sms") -> tuple[object, ...]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("POST", path, BODY, HEADERS)
        response = conn.getresponse()
        body = response.read()
        headers = {name: response.headers.get(name) for name in COMPARED}
        return response.status, response.reason, body, response.will_close, headers
    finally:
        conn.close()


def read_with_keepalive(port: int) -> tuple[object, ...]:
    conn = KeepAliveConnection(HOST, port, "/sms", HEADERS, timeout=5)
    try:
        reply = conn.post(BODY)
    finally:
        conn.close()
    headers = {name: reply.headers.get(name) for name in COMPARED}
    return reply.status, reply.reason, reply.body, reply.will_close, headers


@pytest.mark.parametrize(("reply", "close", "shows"), REPLIES, ids=[r[2] for r in REPLIES])
def test_replies_read_as_http_client_reads_them(
    reply: bytes | list[bytes], close: bool, shows: str
) -> None:
    with scripted_server([(reply, close), (reply, close)]) as server:
        expected = read_with_http_client(server.port)
        got = read_with_keepalive(server.port)
    assert got == expected
    assert got[2] in (ANSWER, b"{}", b"", b"ab\r\n\r\n", b"{}1234567")


TOO_MANY = b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 101 + b"Content-Length: 0\r\n\r\n"
FAILURES = [
    (b"", http.client.RemoteDisconnected, "closed without a reply"),
    (with_length(ANSWER)[:-5], http.client.IncompleteRead, "body cut short"),
    (CHUNKED[:-40], http.client.IncompleteRead, "chunked body cut short"),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        http.client.IncompleteRead,
        "bad chunk size",
    ),
    (b"hello there\r\n\r\n", http.client.BadStatusLine, "not HTTP"),
    (b"HTTP/1.1 abc OK\r\n\r\n", http.client.BadStatusLine, "status not a number"),
    (b"HTTP/1.1 42 Odd\r\n\r\n", http.client.BadStatusLine, "status out of range"),
    (b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", http.client.UnknownProtocol, "HTTP/2"),
    (TOO_MANY, http.client.HTTPException, "more than 100 headers"),
    (TOO_MANY.replace(b"\r\n", b"\n"), http.client.HTTPException, "more than 100, LF"),
    ([b"hello\r\n", b"HTTP/1.1 200 OK\r\n\r\n"], http.client.BadStatusLine, "not HTTP, then"),
    (
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        http.client.LineTooLong,
        "header line too long",
    ),
]


@pytest.mark.parametrize(("reply", "error", "shows"), FAILURES, ids=[f[2] for f in FAILURES])
def test_broken_replies_raise_as_http_client_does(
    reply: bytes | list[bytes], error: type[Exception], shows: str
) -> None:
    with scripted_server([(reply, True), (reply, True)]) as server:
        with pytest.raises(error):
            read_with_http_client(server.port)
        with pytest.raises(error):
            read_with_keepalive(server.port)


@pytest.mark.parametrize("path", ["/sms", "/api/v2/sms?account=shop&x=%C4%91"])
def test_requests_are_the_bytes_http_client_sends(path: str) -> None:
    with scripted_server([(with_length(), False)] * 3) as server:
        read_with_http_client(server.port, path)
        conn = KeepAliveConnection(HOST, server.port, path, HEADERS, timeout=5)
        try:
            conn.post(BODY)
            conn.post(b"")
        finally:
            conn.close()
    first, ours, empty = server.requests
    assert first.startswith(f"POST {path} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n".encode())
    assert ours == first
    length = b"Content-Length: %d\r\n" % len(BODY)
    assert empty == first.replace(length, b"Content-Length: 0\r\n")[: -len(BODY)]


def test_one_connection_carries_many_requests_until_the_server_closes_it() -> None:
    keep, close = with_length(), with_length(ANSWER, b"Connection: close")
    with scripted_server([(keep, False), (keep, False), (close, True), (keep, False)]) as server:
        conn = KeepAliveConnection(HOST, server.port, "/sms", HEADERS, timeout=5)
        try:
            replies = [conn.post(BODY) for _ in range(3)]
            assert [r.will_close for r in replies] == [False, False, True]
            assert server.connections == 1
            conn.close()  # the caller closes after will_close; the next post reopens
            assert conn.post(BODY).body == ANSWER
            assert server.connections == 2
        finally:
            conn.close()
    assert len(server.requests) == 4


def test_bytes_beyond_a_reply_are_dropped_as_http_client_drops_them() -> None:
    """A gateway that sends a newline after its JSON, outside Content-Length."""
    sloppy = with_length(ANSWER) + b"\n"
    seen: list[list[tuple[int, bytes]]] = []
    with scripted_server([(sloppy, False)] * 4) as server:
        reference = http.client.HTTPConnection(HOST, server.port, timeout=5)
        ours = KeepAliveConnection(HOST, server.port, "/sms", HEADERS, timeout=5)
        try:
            for _ in range(2):
                reference.request("POST", "/sms", BODY, HEADERS)
                response = reference.getresponse()
                seen.append([(response.status, response.read())])
            seen.append([(r.status, r.body) for r in (ours.post(BODY), ours.post(BODY))])
        finally:
            reference.close()
            ours.close()
        assert server.connections == 2  # one each: both kept the connection
    assert seen == [[(200, ANSWER)], [(200, ANSWER)], [(200, ANSWER), (200, ANSWER)]]


def test_a_kept_alive_connection_the_server_dropped_raises_remote_disconnected() -> None:
    with scripted_server([(with_length(), False), (b"", True)]) as server:
        conn = KeepAliveConnection(HOST, server.port, "/sms", HEADERS, timeout=5)
        try:
            assert conn.post(BODY).status == 200
            with pytest.raises(http.client.RemoteDisconnected):
                conn.post(BODY)
        finally:
            conn.close()


def test_folded_header_lines_are_joined() -> None:
    reply = with_length(ANSWER, b"X-Repeat: one\r\n  two", b"Retry-After: 3")
    with scripted_server([(reply, False)]) as server:
        conn = KeepAliveConnection(HOST, server.port, "/sms", HEADERS, timeout=5)
        try:
            got = conn.post(BODY)
        finally:
            conn.close()
    assert got.headers["x-repeat"] == "one two"
    assert got.headers["retry-after"] == "3"
    assert isinstance(got, HttpReply) and got.body == ANSWER


def test_bad_urls_and_header_values_fail_before_connecting() -> None:
    port = free_port()  # nothing listens: connecting would fail differently
    with pytest.raises(http.client.InvalidURL):
        KeepAliveConnection(HOST, port, "/s ms", HEADERS, timeout=1).post(BODY)
    with pytest.raises(ValueError, match="Invalid header value"):
        KeepAliveConnection(HOST, port, "/sms", {"X-Key": "a\r\nb"}, timeout=1).post(BODY)
    with pytest.raises(ConnectionRefusedError):
        KeepAliveConnection(HOST, port, "/sms", HEADERS, timeout=1).post(BODY)


def test_the_stdlib_gateway_in_chunks_over_one_connection() -> None:
    with http_gateway() as gateway:
        gateway.chunked = True
        conn = KeepAliveConnection(HOST, gateway.port, "/sms", HEADERS, timeout=5)
        try:
            replies = [conn.post(BODY.replace(b"mr-1-1", b"mr-1-%d" % n)) for n in range(3)]
        finally:
            conn.close()
    assert [r.status for r in replies] == [200, 200, 200]
    assert all(b'"status": "accepted"' in r.body for r in replies)
    assert len(gateway.accepted) == 3 and len(gateway.connections) == 1


@pytest.fixture
def https_port(certificate: tuple[Path, Path]) -> Iterator[int]:
    with http_gateway(tls=certificate) as gateway:
        yield gateway.port


def test_https_with_a_trusted_certificate(certificate: tuple[Path, Path], https_port: int) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    conn = KeepAliveConnection(HOST, https_port, "/sms", HEADERS, timeout=5, tls=context)
    try:
        first, second = conn.post(BODY), conn.post(BODY.replace(b"mr-1-1", b"mr-1-2"))
    finally:
        conn.close()
    assert (first.status, second.status) == (200, 200)
    assert b'"status": "accepted"' in second.body and not second.will_close


def test_https_refuses_an_untrusted_certificate(https_port: int) -> None:
    conn = KeepAliveConnection(
        HOST, https_port, "/sms", HEADERS, timeout=5, tls=ssl.create_default_context()
    )
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.post(BODY)
    finally:
        conn.close()
