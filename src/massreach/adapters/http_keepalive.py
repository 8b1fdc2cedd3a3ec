"""One kept-alive HTTP/1.1 connection that POSTs to one address, light on CPU per request.

The HTTP SMS gateway channel sends one small POST per message. With ``http.client``
most of the client's time per message went into building each request header by
header (validating every one), writing the head and the body in two writes, and
parsing every reply's headers with ``email.feedparser``. Here:

* the constant part of the request (request line, ``Host``, ``Accept-Encoding``,
  ``Content-Type``, ``Authorization``) is built and checked once per connection; a
  request is that head with its ``Content-Length`` and the body, in **one** write.
  The bytes are those ``http.client`` sends for the same request;
* a reply is read from what the socket received: the status line and the headers
  (split in one piece when the whole head has arrived, line by line otherwise; split
  at the first colon, names lower-cased, the first of a repeated header kept, folded
  lines joined), then the body by ``Content-Length``, by chunked transfer coding
  (chunk extensions and trailers read and ignored) or, with neither, until the server
  closes. 1xx interim replies are skipped; 204 and 304 have no body. At most 100 header
  lines of at most 65536 bytes, as in ``http.client``. Bytes received beyond a whole
  reply (from a server that sends more than it announced) are dropped, as
  ``http.client`` drops its reader's buffer after each reply.

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
from typing import NamedTuple

__all__ = ["HttpReply", "KeepAliveConnection"]

_MAXLINE = 65536
_MAXHEADERS = 100
_RECV = 65536  # bytes asked of the socket at a time
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
        self._incoming: _Incoming | None = None

    def _open(self) -> _Incoming:
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
        self._incoming = _Incoming(sock)
        return self._incoming

    def post(self, body: bytes) -> HttpReply:
        """Send one POST and read its whole reply (opening the connection if needed)."""
        incoming = self._incoming or self._open()
        assert self._sock is not None
        self._sock.sendall(b"".join((self._head, str(len(body)).encode(), self._tail, body)))
        return read_reply(incoming)

    def close(self) -> None:
        """Close the connection (the next :meth:`post` opens a new one)."""
        sock, self._sock, self._incoming = self._sock, None, None
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


class _Incoming:
    """What the server sent on one connection and was not read yet (``recv`` as needed,
    within the socket's timeout)."""

    __slots__ = ("_data", "_pos", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def _receive(self) -> bool:
        """Receive more; False when the server closed the connection."""
        chunk = self._sock.recv(_RECV)
        if not chunk:
            return False
        self._data = self._data[self._pos :] + chunk if self._pos < len(self._data) else chunk
        self._pos = 0
        return True

    def head(self) -> list[bytes] | None:
        """The lines of a reply head (status line first, line ends cut) when all of it
        has arrived and each of its lines ends in CRLF, as nearly every reply comes; it
        is then consumed. None otherwise, nothing consumed: :meth:`line` reads it."""
        if self._pos == len(self._data) and not self._receive():
            return None
        data, pos = self._data, self._pos
        end = data.find(b"\r\n\r\n", pos)
        if end <= pos or end - pos > _MAXLINE:
            return None
        head = data[pos:end]
        if head.count(b"\n") != head.count(b"\r\n"):  # a bare LF ends a line sooner
            return None
        self._pos = end + 4
        return head.split(b"\r\n")

    def line(self, what: str) -> bytes:
        """One line with its line end (what is left at the end of the stream, b"" when
        nothing is); LineTooLong past 65536 bytes, as ``http.client`` reads lines."""
        while True:
            data, pos = self._data, self._pos
            end = data.find(b"\n", pos, pos + _MAXLINE)
            if end >= 0:
                self._pos = end + 1
                return data[pos : end + 1]
            if len(data) - pos > _MAXLINE:
                raise LineTooLong(what)
            if not self._receive():
                self._pos = len(self._data)
                return self._data[pos:]

    def exactly(self, size: int, before: bytes = b"") -> bytes:
        """The next ``size`` bytes; IncompleteRead if the server closes before."""
        data, pos = self._data, self._pos
        if len(data) - pos >= size:
            self._pos = pos + size
            return data[pos : pos + size]
        parts = [data[pos:]]
        missing = size - len(parts[0])
        self._data, self._pos = b"", 0
        while missing > 0:
            chunk = self._sock.recv(_RECV)
            if not chunk:
                raise IncompleteRead(before + b"".join(parts), missing)
            if len(chunk) > missing:
                self._data, self._pos = chunk, missing
                chunk = chunk[:missing]
            parts.append(chunk)
            missing -= len(chunk)
        return b"".join(parts)

    def rest(self) -> bytes:
        """Everything up to the end of the stream."""
        parts = [self._data[self._pos :]]
        while chunk := self._sock.recv(_RECV):
            parts.append(chunk)
        self.drop()
        return b"".join(parts)

    def drop(self) -> None:
        """Forget what was received and not read (nothing, from a correct server)."""
        self._data, self._pos = b"", 0


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


def _header_lines(incoming: _Incoming) -> list[bytes]:
    """The header lines up to the empty line, read one by one."""
    lines: list[bytes] = []
    while True:
        line = incoming.line("header line")
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


def _chunked(incoming: _Incoming) -> bytes:
    """A chunked body; chunk extensions and trailers are read and dropped."""
    parts: list[bytes] = []
    while True:
        size_line = incoming.line("chunk size").split(b";", 1)[0]
        try:
            size = int(size_line, 16)
        except ValueError:
            raise IncompleteRead(b"".join(parts)) from None
        if size < 0:
            raise IncompleteRead(b"".join(parts))
        if size == 0:
            break
        parts.append(incoming.exactly(size, b"".join(parts)))
        incoming.exactly(2, b"".join(parts))  # the CRLF after the chunk
    for _ in range(_MAXHEADERS + 1):  # trailers, up to the empty line (or the end)
        if incoming.line("trailer line") in _END_OF_HEADERS:
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


def read_reply(incoming: _Incoming) -> HttpReply:
    """Read one whole reply to a POST (1xx interim replies are skipped)."""
    while True:
        lines = incoming.head()
        if lines is None:
            version, status, reason = _status(incoming.line("status line"))
            lines = _header_lines(incoming)
        else:
            version, status, reason = _status(lines.pop(0))
        headers = _headers(lines)
        if status >= 200:
            break
    will_close = not _keeps_open(version, headers)
    if status in (204, 304):
        body = b""
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = _chunked(incoming)
    else:
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            length = -1
        if length < 0:  # no usable length: the body ends when the server closes
            return HttpReply(status, reason, headers, incoming.rest(), True)
        body = incoming.exactly(length)
    incoming.drop()
    return HttpReply(status, reason, headers, body, will_close)
