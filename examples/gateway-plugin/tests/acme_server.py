"""A fake ACME SMS server on loopback (stdlib ``http.server`` in a thread), for tests.

    with acme_server(secret="s3cret") as acme:
        ...  # acme.base_url; acme.received (messages taken), acme.requests, ...

It speaks ACME API v2 as :mod:`massreach_acme_sms.api` documents it, and checks what a
real ACME would: the path, the form fields, ``msisdn`` digits without ``+``, the
timestamp (five minutes either way) and the HMAC signature (401 + ``E300``
otherwise). A known ``ref`` is answered with its first reply and not taken again.
Knobs, settable while it runs:

* ``error_for[msisdn] = "E101"``: answer messages to that number with the error code
  (and an ``error_text`` that echoes the number, as ACME does);
* ``fail_next(n, status=500, retry_after=None)``: answer the next ``n`` requests with
  that HTTP status (and ``Retry-After`` when given), taking nothing.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from massreach_acme_sms.api import MESSAGES_PATH, signature

HOST = "127.0.0.1"
_FIELDS = ("sender", "msisdn", "body", "ref", "category")


@dataclass
class AcmeServer:
    """The server's state: knobs the tests set and what it received."""

    secret: str
    port: int = 0
    error_for: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, str]] = field(default_factory=list)  # taken, oldest first
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref → first reply
    duplicates: int = 0
    requests: int = 0
    bad_signatures: int = 0
    connections: set[tuple[str, int]] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _failures: list[tuple[int, float | None]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The ``url`` of an ``[[acme_sms]]`` table pointing here."""
        return f"http://{HOST}:{self.port}"

    def fail_next(self, requests: int, status: int = 500, retry_after: float | None = None) -> None:
        """Answer the next ``requests`` requests with HTTP ``status``."""
        with self.lock:
            self._failures.extend([(status, retry_after)] * requests)

    def taken(self) -> list[dict[str, str]]:
        """A copy of what was taken, under the lock."""
        with self.lock:
            return list(self.received)

    def answer(self, form: dict[str, str]) -> dict[str, Any]:
        """ACME's reply to one well-formed, signed request (called under ``lock``)."""
        ref = form["ref"]
        if ref in self.answers:
            self.duplicates += 1
            return self.answers[ref]
        msisdn = form["msisdn"]
        reply: dict[str, Any]
        if not msisdn.isdigit() or not 8 <= len(msisdn) <= 15:
            reply = _error("E100", f"invalid msisdn {msisdn}")
        elif msisdn in self.error_for:
            reply = _error(self.error_for[msisdn], f"refused for msisdn {msisdn}")
        elif not form["body"]:
            reply = _error("E103", "empty body")
        else:
            self.received.append(form)
            reply = {"result": "OK", "msgid": f"ACME{len(self.received):08d}", "error_code": None}
        self.answers[ref] = reply
        return reply


def _error(code: str, text: str) -> dict[str, Any]:
    return {"result": "ERR", "msgid": None, "error_code": code, "error_text": text}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server_state: AcmeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, document: Any, retry_after: float | None = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", f"{retry_after:g}")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        acme = self.server_state
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with acme.lock:
            acme.requests += 1
            acme.connections.add(self.client_address)
            acme.paths.append(self.path)
            failure = acme._failures.pop(0) if acme._failures else None
        if self.path != MESSAGES_PATH:
            self._reply(404, {"message": "Not Found"})
            return
        stamp = self.headers.get("X-Acme-Timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 300:
            self._reply(401, _error("E301", "timestamp outside the allowed window"))
            return
        expected = signature(acme.secret, int(stamp), self.path, raw)
        if not hmac.compare_digest(self.headers.get("X-Acme-Signature", ""), expected):
            with acme.lock:
                acme.bad_signatures += 1
            self._reply(401, _error("E300", "signature mismatch"))
            return
        if failure is not None:
            status, retry_after = failure
            document = {"result": "ERR", "error_code": None, "error_text": f"HTTP {status}"}
            self._reply(status, document, retry_after)
            return
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            self._reply(415, _error("E900", "form-encoded bodies only"))
            return
        try:
            parsed = parse_qs(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            self._reply(400, _error("E900", "unreadable form"))
            return
        if sorted(parsed) != sorted(_FIELDS) or any(len(v) != 1 for v in parsed.values()):
            self._reply(400, _error("E900", f"fields must be {', '.join(_FIELDS)}"))
            return
        form = {key: values[0] for key, values in parsed.items()}
        if form["category"] not in ("transactional", "marketing"):
            self._reply(400, _error("E900", "unknown category"))
            return
        with acme.lock:
            reply = acme.answer(form)
        self._reply(200, reply)


@contextmanager
def acme_server(*, secret: str) -> Iterator[AcmeServer]:
    """Run the fake ACME server on 127.0.0.1 (a free port) for the ``with`` block."""
    state = AcmeServer(secret=secret)
    handler = type("AcmeHandler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-acme-sms", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
