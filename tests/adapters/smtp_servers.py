"""Real SMTP servers on loopback for tests and benchmarks (aiosmtpd).

    from tests.adapters.smtp_servers import smtp_server

    with smtp_server({"busy@example.com": "451", "nobody@example.com": "550"}) as server:
        ...  # server.host, server.port; server.messages (accepted), server.sessions

Rules, per recipient address:

* ``"451"`` / ``"550"`` (or any 3-digit code, optionally followed by text): answer RCPT
  with that reply; ``"451-once"``: only the first time.
* ``"drop"``: close the connection when the message data arrives (nothing accepted);
  ``"drop-once"``: only the first time.
* ``"data-554"``: accept RCPT, refuse the message data with 554.

Options: ``auth={"user": "secret"}`` (AUTH PLAIN/LOGIN, allowed without TLS),
``tls=(certfile, keyfile)`` with ``starttls=True`` (STARTTLS required) or
``implicit_tls=True`` (TLS from the first byte). :func:`self_signed_certificate` makes a
certificate for 127.0.0.1 with the ``openssl`` command.

Run as a script, it serves a counting sink in its own process (for benchmarks):
``python tests/adapters/smtp_servers.py`` prints ``READY <port>``, then on end of stdin
prints ``RECEIVED <count>`` and exits.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMessage:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    session: int  # which connection it came over
    login: str | None
    tls: bool

    def parsed(self) -> EmailMessage:
        """The message parsed with ``email.policy.default``."""
        message = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SmtpServer:
    """What a running test server knows: where it is and what it received."""

    host: str
    port: int
    messages: list[ReceivedMessage] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)  # connections that said EHLO/HELO
    refused: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reply)
    dropped: list[str] = field(default_factory=list)  # recipients whose connection we cut

    def recipients(self) -> list[str]:
        """Every accepted recipient, in arrival order."""
        return [r for m in self.messages for r in m.rcpt_tos]


class RecordingHandler:
    """An aiosmtpd handler that applies per-recipient rules and records what it accepts."""

    def __init__(self, server: SmtpServer, rules: Mapping[str, str]) -> None:
        self.server = server
        self.rules = dict(rules)
        self.lock = threading.Lock()

    def _take(self, address: str) -> str | None:
        with self.lock:
            rule = self.rules.get(address)
            if rule is not None and rule.endswith("-once"):
                del self.rules[address]
                rule = rule.removesuffix("-once")
            return rule

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self.server.sessions.add(id(session))
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        session.host_name = hostname
        self.server.sessions.add(id(session))
        return f"250 {server.hostname}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        rule = self._take(address)
        if rule is not None and rule[:3].isdigit():
            text = "4.7.1 try again later" if rule[0] == "4" else "5.1.1 no such user"
            reply = rule if " " in rule else f"{rule} {text}"
            self.server.refused.append((address, reply))
            return reply
        if rule is not None:
            envelope.__dict__.setdefault("massreach_rules", {})[address] = rule
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rules: dict[str, str] = envelope.__dict__.get("massreach_rules", {})
        for address, rule in rules.items():
            if rule == "drop":
                self.server.dropped.append(address)
                server.transport.abort()
                return "421 gone"  # never reaches the client
            if rule == "data-554":
                self.server.refused.append((address, "554"))
                return "554 5.7.1 message refused"
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.server.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                session=id(session),
                login=login,
                tls=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 OK queued"


class _Authenticator:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        if self.users.get(user) == password:
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1/localhost made with ``openssl`` (1 day)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed for TLS tests")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def smtp_server(
    rules: Mapping[str, str] | None = None,
    *,
    auth: Mapping[str, str] | None = None,
    tls: tuple[Path, Path] | None = None,
    starttls: bool = False,
    implicit_tls: bool = False,
    port: int | None = None,
) -> Iterator[SmtpServer]:
    """Run an SMTP server on 127.0.0.1 (``port`` or a free one) in a thread."""
    state = SmtpServer(HOST, port or free_port())
    handler = RecordingHandler(state, rules or {})
    kwargs: dict[str, Any] = {}
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
    if starttls:
        kwargs.update(tls_context=context, require_starttls=True)
    if implicit_tls:
        kwargs.update(ssl_context=context)
    if auth is not None:
        kwargs.update(
            authenticator=_Authenticator(auth), auth_require_tls=False, auth_required=True
        )
    controller = Controller(handler, hostname=HOST, port=state.port, **kwargs)
    controller.start()
    try:
        yield state
    finally:
        controller.stop()


class _CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


def main() -> None:
    """Serve a counting sink until stdin closes (for benchmarks in another process)."""
    sink = _CountingSink()
    port = free_port()
    controller = Controller(sink, hostname=HOST, port=port)
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()
        print(f"RECEIVED {sink.count}", flush=True)


if __name__ == "__main__":
    main()
