"""One kept-alive HTTP/1.1 connection that POSTs to one address, light on CPU per request.

The HTTP SMS gateway channel sends one small POST per message. With ``http.client``
most of the client's time per message went into building each request header by
header (validating every one), writing the head and the body in two writes, and
parsing every reply's headers with ``email.feedparser``. Here:

* the constant part of the request (request line, ``Host``, ``Accept-Encoding``,
  ``Content-Type``, ``Authorization``) is built and checked once per connection; a
  request is that head with its ``Content-Length`` and the body, in **one** write.
  The bytes are those ``http.client`` sends for the same request;
* a reply is read from one buffered reader kept for the connection's life: the status
  line and the headers (taken from the buffer in one piece when the whole head is
  there, line by line otherwise; split at the first colon, names lower-cased, the
  first of a repeated header kept, folded lines joined), then the body by ``Content-Length``,
  by chunked transfer coding (chunk extensions and trailers read and ignored) or, with
  neither, until the server closes. 1xx interim replies are skipped; 204 and 304 have
  no body. At most 100 header lines of at most 65536 bytes, as in ``http.client``.

``HttpReply.will_close`` says the connection cannot carry another request
(``Connection: close``, HTTP/1.0 without keep-alive, a body read until close); the
caller then closes it and opens a new one.

Errors are those of ``http.client``, so callers handle one set: ``RemoteDisconnected``
(closed before any reply), ``BadStatusLine``, ``UnknownProtocol``, ``LineTooLong``,
``IncompleteRead`` (a body cut short), ``InvalidURL``, ``HTTPException`` (too many
headers); socket errors (``OSError``, ``TimeoutError``, ``ssl.SSLError``) pass through.
After any error the connection is unusable and must be closed.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Mapping
from http.client import (
    BadStatusLine,
    HTTPException,
    IncompleteRead,
    InvalidURL,
    LineTooLong,
    RemoteDisconnected,
    UnknownProtocol,
)
from io import BufferedReader
from typing import NamedTuple

__all__ = ["HttpReply", "KeepAliveConnection"]

_MAXLINE = 65536
_MAXHEADERS = 100
_END_OF_HEADERS = (b"\r\n", b"\n", b"")
_URL_CONTROL = re.compile("[\x00-\x20\x7f]")  # as http.client's request-target check
_BAD_HEADER_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")  # as http.client's


class HttpReply(NamedTuple):
    """One reply: status, headers by lower-case name (the first of each), the body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    will_close: bool


class KeepAliveConnection:
    """POSTs bodies to ``path`` on ``host:port`` over one connection, opened on first
    use (TLS when ``tls`` is given). Not thread-safe: the caller serialises requests."""

    def __init__(
        self,
        host: str,
        port: int | None,
        path: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port or (443 if tls is not None else 80)
        self.path = path
        self.timeout = timeout
        self._headers = dict(headers)
        self._tls = tls
        self._head = self._tail = b""
        self._sock: socket.socket | None = None
        self._reader: BufferedReader | None = None

    def _open(self) -> BufferedReader:
        if not self._head:  # checked before connecting, as http.client does
            https = self._tls is not None
            self._head, self._tail = _request_head(
                self.host, self.port, https, self.path, self._headers
            )
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = sock.makefile("rb")
        return self._reader

    def post(self, body: bytes) -> HttpReply:
        """Send one POST and read its whole reply (opening the connection if needed)."""
        reader = self._reader or self._open()
        assert self._sock is not None
        self._sock.sendall(b"".join((self._head, str(len(body)).encode(), self._tail, body)))
        return read_reply(reader)

    def close(self) -> None:
        """Close the connection (the next :meth:`post` opens a new one)."""
        reader, sock, self._reader, self._sock = self._reader, self._sock, None, None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()


def _request_head(
    host: str, port: int, https: bool, path: str, headers: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """The request's constant bytes before and after the ``Content-Length`` value,
    as ``http.client`` writes them (same order, same checks, same errors)."""
    found = _URL_CONTROL.search(path)
    if found:
        raise InvalidURL(
            f"URL can't contain control characters. {path!r} (found at least {found.group()!r})"
        )
    try:
        host_bytes = host.encode("ascii")
    except UnicodeEncodeError:
        host_bytes = host.encode("idna")
    if ":" in host:
        host_bytes = b"[" + host_bytes + b"]"
    if port != (443 if https else 80):
        host_bytes += b":%d" % port
    lines = [f"POST {path} HTTP/1.1".encode("ascii"), b"Host: " + host_bytes]
    lines.append(b"Accept-Encoding: identity")
    head = b"\r\n".join(lines) + b"\r\nContent-Length: "
    tail = []
    for name, value in headers.items():
        if _BAD_HEADER_VALUE.search(value):
            raise ValueError(f"Invalid header value {value.encode('latin-1')!r}")
        tail.append(f"{name}: {value}".encode("latin-1"))
    return head, b"\r\n" + b"".join(line + b"\r\n" for line in tail) + b"\r\n"


def _line(reader: BufferedReader, what: str) -> bytes:
    line = reader.readline(_MAXLINE + 1)
    if len(line) > _MAXLINE:
        raise LineTooLong(what)
    return line


def _buffered_head(reader: BufferedReader) -> list[bytes] | None:
    """The lines of a reply head (status line first, line ends cut) when the whole head
    is already buffered and each of its lines ends in CRLF, as nearly every reply
    arrives; the head is then consumed. None otherwise, nothing consumed: the head is
    read line by line instead (:func:`_line`), with the same results."""
    data = reader.peek(1)  # what is buffered, after at most one read
    end = data.find(b"\r\n\r\n")
    if end <= 0:
        return None
    head = data[:end]
    if head.count(b"\n") != head.count(b"\r\n"):  # a bare LF ends a line sooner
        return None
    reader.read(end + 4)
    return head.split(b"\r\n")


def _status(line: bytes) -> tuple[str, int, str]:
    """Version, status and reason of the status line (as ``http.client`` reads it)."""
    text = line.decode("iso-8859-1")
    if not text:
        raise RemoteDisconnected("Remote end closed connection without response")
    parts = text.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise BadStatusLine(text)
    try:
        status = int(parts[1])
    except ValueError:
        raise BadStatusLine(text) from None
    if not 100 <= status <= 999:
        raise BadStatusLine(text)
    if not parts[0].startswith("HTTP/1.") and parts[0] != "HTTP/0.9":
        raise UnknownProtocol(parts[0])
    return parts[0], status, parts[2].strip() if len(parts) > 2 else ""


def _header_lines(reader: BufferedReader) -> list[bytes]:
    """The header lines up to the empty line, read one by one."""
    lines: list[bytes] = []
    while True:
        line = _line(reader, "header line")
        if line in _END_OF_HEADERS:
            return lines
        lines.append(line)
        if len(lines) > _MAXHEADERS:
            raise HTTPException(f"got more than {_MAXHEADERS} headers")


def _headers(lines: list[bytes]) -> dict[str, str]:
    """Header lines as lower-case name → value (the first of each; folded lines joined)."""
    if len(lines) > _MAXHEADERS:
        raise HTTPException(f"got more than {_MAXHEADERS} headers")
    headers: dict[str, str] = {}
    last: str | None = None  # the header a folded line continues
    for line in lines:
        text = line.decode("iso-8859-1")
        if text.startswith((" ", "\t")):
            if last is not None:
                headers[last] = f"{headers[last]} {text.strip()}"
            continue
        name, colon, value = text.partition(":")
        key = name.strip().lower()
        if not colon or not key or key in headers:
            last = None  # not a header line, or a repeat: ignored
            continue
        headers[key] = value.strip()
        last = key
    return headers


def _exactly(reader: BufferedReader, size: int, before: bytes = b"") -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise IncompleteRead(before + data, size - len(data))
    return data


def _chunked(reader: BufferedReader) -> bytes:
    """A chunked body; chunk extensions and trailers are read and dropped."""
    parts: list[bytes] = []
    while True:
        size_line = _line(reader, "chunk size").split(b";", 1)[0]
        try:
            size = int(size_line, 16)
        except ValueError:
            raise IncompleteRead(b"".join(parts)) from None
        if size < 0:
            raise IncompleteRead(b"".join(parts))
        if size == 0:
            break
        parts.append(_exactly(reader, size, b"".join(parts)))
        _exactly(reader, 2, b"".join(parts))  # the CRLF after the chunk
    for _ in range(_MAXHEADERS + 1):  # trailers, up to the empty line (or the end)
        if _line(reader, "trailer line") in _END_OF_HEADERS:
            return b"".join(parts)
    raise HTTPException(f"got more than {_MAXHEADERS} trailer lines")


def _keeps_open(version: str, headers: Mapping[str, str]) -> bool:
    """Whether the connection stays open after the reply (``http.client``'s rules)."""
    connection = headers.get("connection", "").lower()
    if version not in ("HTTP/1.0", "HTTP/0.9"):
        return "close" not in connection
    return (
        bool(headers.get("keep-alive"))
        or "keep-alive" in connection
        or "keep-alive" in headers.get("proxy-connection", "").lower()
    )


def read_reply(reader: BufferedReader) -> HttpReply:
    """Read one whole reply to a POST (1xx interim replies are skipped)."""
    while True:
        lines = _buffered_head(reader)
        if lines is None:
            version, status, reason = _status(_line(reader, "status line"))
            lines = _header_lines(reader)
        else:
            version, status, reason = _status(lines.pop(0))
        headers = _headers(lines)
        if status >= 200:
            break
    will_close = not _keeps_open(version, headers)
    if status in (204, 304):
        return HttpReply(status, reason, headers, b"", will_close)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return HttpReply(status, reason, headers, _chunked(reader), will_close)
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        length = -1
    if length < 0:  # no usable length: the body ends when the server closes
        return HttpReply(status, reason, headers, reader.read(), True)
    return HttpReply(status, reason, headers, _exactly(reader, length), will_close)
