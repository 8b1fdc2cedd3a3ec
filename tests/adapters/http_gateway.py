"""A real brandname SMS gateway on loopback for tests and benchmarks (stdlib http.server).

    from tests.adapters.http_gateway import http_gateway

    with http_gateway(api_key="k", reject={"+84961234567": "blocked number"}) as gw:
        ...  # gw.url; gw.accepted (unique messages), gw.duplicates, gw.requests

It speaks the protocol documented in :mod:`massreach.adapters.sms_http_channel`: JSON
object (or array, batch mode) in, JSON object (or array) out; ``Authorization: Bearer``
checked when ``api_key`` is given (401 otherwise). It de-duplicates on ``client_id``: a
known id is not accepted again, ``duplicates`` counts it and the first answer is
repeated. Knobs, settable while running:

* ``reject``: phone → reason, answered ``{"status": "rejected"}``;
* ``deliver``: phones answered ``{"status": "delivered"}``;
* ``throttle(n, retry_after=2)``: the next ``n`` requests get 429 with Retry-After;
* ``fail(n, status=500)``: the next ``n`` requests get that HTTP status;
* ``close_after_reply``: answer with ``Connection: close`` (no keep-alive);
* ``chunked``: answer with chunked transfer coding (no ``Content-Length``).

``http_gateway(tls=(certfile, keyfile))`` serves HTTPS (``gw.url`` is then
``https://``); :func:`tests.adapters.smtp_servers.self_signed_certificate` makes a pair.

Run as a script, it serves in its own process (for benchmarks):
``python tests/adapters/http_gateway.py`` prints ``READY <port>``, then on end of stdin
prints ``RECEIVED <unique> DUPLICATES <n>`` and exits.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


@dataclass
class Gateway:
    """The gateway's state: settings that tests change, and what it received."""

    api_key: str | None = None
    reject: dict[str, str] = field(default_factory=dict)
    deliver: set[str] = field(default_factory=set)
    close_after_reply: bool = False
    chunked: bool = False
    port: int = 0
    scheme: str = "http"
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_id → message
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_id → reply
    duplicates: int = 0
    requests: int = 0
    connections: set[tuple[str, int]] = field(default_factory=set)
    auth_seen: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _throttle: list[float] = field(default_factory=list)
    _fail: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"{self.scheme}://{HOST}:{self.port}/sms"

    def throttle(self, requests: int, retry_after: float = 2) -> None:
        """Answer the next ``requests`` requests with 429 and ``Retry-After``."""
        with self.lock:
            self._throttle.extend([retry_after] * requests)

    def fail(self, requests: int, status: int = 500) -> None:
        """Answer the next ``requests`` requests with HTTP ``status``."""
        with self.lock:
            self._fail.extend([status] * requests)

    def answer(self, item: Any, number: int) -> dict[str, Any]:
        """The reply for one message (called under ``lock``)."""
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("client_id", "phone", "text", "type")
        ):
            return {"id": None, "status": "rejected", "reason": "malformed message"}
        client_id = item["client_id"]
        if client_id in self.answers:
            self.duplicates += 1
            return self.answers[client_id]
        phone = item["phone"]
        reply: dict[str, Any]
        if phone in self.reject:
            reply = {"id": f"gw-{number}", "status": "rejected", "reason": self.reject[phone]}
        else:
            self.accepted[client_id] = item
            status = "delivered" if phone in self.deliver else "accepted"
            reply = {"id": f"gw-{number}", "status": status, "reason": None}
        reply["client_id"] = client_id
        self.answers[client_id] = reply
        return reply


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one send: two small writes meet Nagle + delayed ACK (40 ms).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    gateway: Gateway

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, document: Any, headers: Mapping[str, str] = {}) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.gateway.chunked:  # in pieces of 16 bytes, one with an extension
            self.send_header("Transfer-Encoding", "chunked")
            pieces = [body[i : i + 16] for i in range(0, len(body), 16)]
            body = b"".join(b"%x;piece=%d\r\n%s\r\n" % (len(p), n, p) for n, p in enumerate(pieces))
            body += b"0\r\nX-Trailer: done\r\n\r\n"
        else:
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.gateway.close_after_reply:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        gw = self.gateway
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with gw.lock:
            gw.requests += 1
            gw.connections.add(self.client_address)
            gw.auth_seen.append(self.headers.get("Authorization"))
            throttle = gw._throttle.pop(0) if gw._throttle else None
            fail = gw._fail.pop(0) if gw._fail else None
        if gw.api_key is not None and self.headers.get("Authorization") != f"Bearer {gw.api_key}":
            self._reply(401, {"reason": "bad API key"})
            return
        if throttle is not None:
            self._reply(429, {"reason": "too many requests"}, {"Retry-After": f"{throttle:g}"})
            return
        if fail is not None:
            self._reply(fail, {"reason": f"gateway error {fail}"})
            return
        try:
            document = json.loads(raw)
        except ValueError:
            self._reply(400, {"reason": "not JSON"})
            return
        with gw.lock:
            if isinstance(document, list):
                reply: Any = [
                    gw.answer(item, gw.requests * 1000 + i) for i, item in enumerate(document)
                ]
            else:
                reply = gw.answer(document, gw.requests * 1000)
        self._reply(200, reply)


@contextmanager
def http_gateway(
    *,
    api_key: str | None = None,
    reject: Mapping[str, str] | None = None,
    deliver: set[str] | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[Gateway]:
    """Run the gateway on 127.0.0.1 (a free port) in a thread for the ``with`` block;
    HTTPS with ``tls=(certfile, keyfile)``."""
    gateway = Gateway(api_key=api_key, reject=dict(reject or {}), deliver=set(deliver or ()))
    handler = type("GatewayHandler", (_Handler,), {"gateway": gateway})
    server = ThreadingHTTPServer((HOST, 0), handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        gateway.scheme = "https"
    server.daemon_threads = True
    gateway.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-sms-gateway", daemon=True
    )
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    """Serve until stdin closes (for benchmarks in another process)."""
    with http_gateway(api_key=sys.argv[1] if len(sys.argv) > 1 else None) as gateway:
        print(f"READY {gateway.port}", flush=True)
        sys.stdin.read()
        print(f"RECEIVED {len(gateway.accepted)} DUPLICATES {gateway.duplicates}", flush=True)


if __name__ == "__main__":
    main()
