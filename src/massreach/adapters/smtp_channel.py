"""The SMTP email channel: ``[[smtp]]`` tables, one account each.

Settings (``name`` and ``host`` required, the rest optional)::

    [[smtp]]
    name = "default"
    host = "smtp.example.com"
    port = 587                  # default 25 / 587 / 465 for none / starttls / tls
    security = "starttls"       # none | starttls | tls
    username = "shop"           # AUTH when not empty
    password_env = "SMTP_PASS"  # the environment variable holding the password
    from = "Shop <shop@example.com>"
    reply_to = ""               # optional Reply-To
    unsubscribe = ""            # List-Unsubscribe for advertising mail without its own
    max_connections = 2         # connections kept open and used in parallel
    rate_per_second = 0         # 0 = no limit (per channel instance)
    timeout = 30                # seconds per SMTP command
    ca_file = ""                # extra CA bundle for TLS; tls_verify = false trusts any
    max_messages_per_connection = 0   # reconnect after that many; 0 = never

One message per recipient. A batch is spread over up to ``max_connections`` pooled
connections, one thread per connection. Server replies map to results: 2xx ``sent``;
4xx (and 421, timeouts, dropped connections) ``temporary``; 5xx ``permanent`` with the
server's reply as reason, except the replies about the account itself (530, 534, 535,
538: authentication or TLS required, credentials refused), which are ``temporary`` and
stop the batch so that a configuration mistake never fails a campaign. ``provider_id``
is the ``Message-ID`` (``<client_id@domain-of-from>``), which bounces quote. A
connection that fails before the message data was sent is replaced and the message
tried once more on the new one; after the data was sent the outcome is unknown and the
message is ``temporary``.
"""

from __future__ import annotations

import itertools
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parseaddr
from typing import Any, Literal

from attrs import frozen

from massreach.adapters.email_composer import EmailComposer, is_plain_address
from massreach.adapters.rate_limit import TokenBucket
from massreach.channels import (
    Channel,
    ChannelFactory,
    ChannelSettings,
    OutgoingMessage,
    SendResult,
    SendStatus,
)
from massreach.errors import InvalidInput
from massreach.markers import hookimpl

__all__ = ["SmtpChannel", "SmtpChannelFactory", "SmtpSettings"]

_log = logging.getLogger(__name__)
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
_IDLE_CHECK_SECONDS = 30.0
#: Replies about the account (RFC 4954: authentication or TLS required, credentials
#: refused): temporary, so a configuration mistake does not fail a whole campaign.
_ACCOUNT_CODES = frozenset({530, 534, 535, 538})


@frozen
class SmtpSettings:
    """One SMTP account, as read from its ``[[smtp]]`` table."""

    name: str
    host: str
    port: int
    security: str
    from_header: str
    username: str | None = None
    password: str | None = None
    reply_to: str | None = None
    unsubscribe: str | None = None
    max_connections: int = 1
    rate_per_second: float = 0.0
    timeout: float = 30.0
    ca_file: str | None = None
    tls_verify: bool = True
    local_hostname: str | None = None
    max_messages_per_connection: int = 0

    def __repr__(self) -> str:
        # never show the password
        return f"SmtpSettings(name={self.name!r}, host={self.host!r}, port={self.port})"


class _Failure(Exception):
    """A result decided while talking to the server, with whether the link survives."""

    def __init__(
        self, status: SendStatus, reason: str, *, drop: bool, retry: bool, stop: bool = False
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.drop = drop  # the connection cannot be used any more
        self.retry = retry  # nothing was accepted: safe to try again on a new connection
        self.stop = stop  # the account cannot send now: do not try the rest of the batch


class _Link:
    """One open SMTP connection and what we know about it."""

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self.smtp = smtp
        self.sent = 0
        self.last_used = time.monotonic()

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}".strip()


def _by_code(code: int, message: bytes | str) -> _Failure:
    reason = _reply(code, message)
    if code == 421:  # the server is closing the connection
        return _Failure(SendStatus.TEMPORARY, reason, drop=True, retry=False)
    if code in _ACCOUNT_CODES:  # the account's fault, not the message's: do not fail it
        return _Failure(SendStatus.TEMPORARY, reason, drop=True, retry=False, stop=True)
    status = SendStatus.PERMANENT if 500 <= code < 600 else SendStatus.TEMPORARY
    return _Failure(status, reason, drop=False, retry=False)


class SmtpChannel:
    """Sends email through one SMTP account with a small pool of kept-open connections."""

    kind = "smtp"
    channel: Literal["email"] = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.name = settings.name
        self.settings = settings
        self._composer = EmailComposer(
            settings.from_header, reply_to=settings.reply_to, unsubscribe=settings.unsubscribe
        )
        self._envelope_from = parseaddr(settings.from_header)[1]
        self._bucket = TokenBucket(settings.rate_per_second)
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        self._idle: list[_Link] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpChannel(name={s.name!r}, host={s.host!r}, port={s.port})"

    # -- sending -------------------------------------------------------------------

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message to its one recipient; one result per message, in order."""
        if self._closed:
            raise InvalidInput("the SMTP channel is closed", code="channel.closed")
        for message in messages:
            if message.channel != "email":
                raise InvalidInput(
                    "the SMTP channel carries email only",
                    code="channel.wrong_channel",
                    details={"message_id": message.message_id, "channel": message.channel},
                )
        results: list[SendResult | None] = [None] * len(messages)
        counter = itertools.count()  # shared by the workers; next() is atomic in CPython
        helpers = min(self.settings.max_connections, len(messages)) - 1
        futures = []
        if helpers > 0:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.settings.max_connections - 1,
                        thread_name_prefix=f"massreach-smtp-{self.name}",
                    )
                executor = self._executor
            futures = [
                executor.submit(self._work, messages, results, counter) for _ in range(helpers)
            ]
        self._work(messages, results, counter)  # the caller's thread works too
        for future in futures:
            future.result()
        return [r for r in results if r is not None]

    def _work(
        self,
        messages: Sequence[OutgoingMessage],
        results: list[SendResult | None],
        counter: itertools.count[int],
    ) -> None:
        """Take messages off the shared counter and send them over one connection."""
        with self._slots:
            link: _Link | None = None
            broken: str | None = None
            try:
                while (index := next(counter)) < len(messages):
                    message = messages[index]
                    if broken is not None:
                        results[index] = SendResult(
                            message.message_id, SendStatus.TEMPORARY, reason=broken
                        )
                        continue
                    link, results[index], broken = self._send_one(link, message)
            finally:
                if link is not None:
                    self._release(link)

    def _send_one(
        self, link: _Link | None, message: OutgoingMessage
    ) -> tuple[_Link | None, SendResult, str | None]:
        """Send one message; returns the link to go on with, the result, and a reason to
        stop trying this batch (the server cannot be reached)."""
        message_id = message.message_id
        if not is_plain_address(message.target):
            reason = "not a deliverable email address"
            return link, SendResult(message_id, SendStatus.PERMANENT, reason=reason), None
        data, provider_id = self._composer.compose(message)
        self._bucket.acquire()
        for attempt in (1, 2):
            if link is None:
                try:
                    link = self._checkout()
                except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
                    reason = f"cannot connect to {self.settings.host}:{self.settings.port}: "
                    reason += _describe(exc)
                    _log.warning("smtp %s: %s", self.name, reason)
                    return None, SendResult(message_id, SendStatus.TEMPORARY, reason=reason), reason
            try:
                self._transact(link, message.target, data)
            except _Failure as failure:
                if failure.drop:
                    link.smtp.close()
                    link = None
                if failure.retry and attempt == 1:
                    continue
                _log.info(
                    "smtp %s: %s to %s: %s",
                    self.name,
                    failure.status.value,
                    message.masked_target,
                    failure.reason,
                )
                result = SendResult(message_id, failure.status, reason=failure.reason)
                return link, result, failure.reason if failure.stop else None
            link.sent += 1
            link.last_used = time.monotonic()
            limit = self.settings.max_messages_per_connection
            if limit and link.sent >= limit:
                link.close()
                link = None
            return link, SendResult(message_id, SendStatus.SENT, provider_id=provider_id), None
        raise AssertionError("unreachable")  # pragma: no cover

    def _transact(self, link: _Link, target: str, data: bytes) -> None:
        """MAIL, RCPT, DATA for one recipient (what ``sendmail`` does, step by step, so
        that a failure before DATA is known to be safe to retry)."""
        smtp = link.smtp
        stage = "mail"
        reply: bytes | str
        try:
            # docmd with the address as is: both addresses were checked to be plain
            # ASCII addr-specs, so smtplib's quoteaddr (40 us each) has nothing to do.
            size = f" SIZE={len(data)}" if smtp.has_extn("size") else ""
            code, reply = smtp.docmd("MAIL", f"FROM:<{self._envelope_from}>{size}")
            if code == 250:
                stage = "rcpt"
                code, reply = smtp.docmd("RCPT", f"TO:<{target}>")
            if code in (250, 251):
                stage = "data"
                code, reply = smtp.data(data)
                if code == 250:
                    return
            else:
                smtp.rset()  # end the refused transaction, keep the connection
        except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
            code, reply = exc.smtp_code, exc.smtp_error
            try:
                smtp.rset()
            except (smtplib.SMTPException, OSError):
                raise _Failure(
                    SendStatus.TEMPORARY, _reply(code, reply), drop=True, retry=False
                ) from None
        except smtplib.SMTPResponseException as exc:
            reason = _reply(exc.smtp_code, exc.smtp_error)
            raise _Failure(SendStatus.TEMPORARY, reason, drop=True, retry=False) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # Before DATA nothing was accepted: a reused connection that went stale is
            # replaced and the message tried again; during DATA the outcome is unknown.
            reason = f"connection lost during {stage.upper()}: {_describe(exc)}"
            raise _Failure(SendStatus.TEMPORARY, reason, drop=True, retry=stage != "data") from None
        raise _by_code(code, reply)

    # -- connections ---------------------------------------------------------------

    def _checkout(self) -> _Link:
        with self._lock:
            link = self._idle.pop() if self._idle else None
        if link is not None and time.monotonic() - link.last_used > _IDLE_CHECK_SECONDS:
            try:
                if link.smtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (smtplib.SMTPException, OSError):
                link.smtp.close()
                link = None
        return link or _Link(self._open())

    def _release(self, link: _Link) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(link)
                return
        link.close()

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = self._tls_context() if s.security != "none" else None
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=s.local_hostname,
                timeout=s.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        if not self.settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def close(self) -> None:
        """Say QUIT on every pooled connection and stop the worker threads."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for link in idle:
            link.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    return str(exc) or type(exc).__name__


class SmtpChannelFactory:
    """Creates :class:`SmtpChannel` objects from ``[[smtp]]`` tables."""

    kind = "smtp"

    def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Channel:
        """Check the table (ConfigError naming the key) and build the channel."""
        return SmtpChannel(self.read_settings(settings, env))

    def read_settings(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> SmtpSettings:
        """The typed settings of one ``[[smtp]]`` table."""
        known = (
            "host", "port", "security", "username", "password_env", "from", "reply_to",
            "unsubscribe", "max_connections", "rate_per_second", "timeout", "ca_file",
            "tls_verify", "local_hostname", "max_messages_per_connection",
        )  # fmt: skip
        table = ChannelSettings(self.kind, settings, known)
        security = table.choice("security", ("none", "starttls", "tls"), "none")
        from_header = table.string("from")
        if not is_plain_address(parseaddr(from_header)[1]):
            raise table.error(
                "from", f"must be like 'Shop <shop@example.com>', not {from_header!r}"
            )
        username = table.optional_string("username")
        password = table.secret("password_env", env)
        if username and password is None:
            raise table.error("password_env", "must name the variable holding the password")
        port = table.integer("port", _DEFAULT_PORTS[security], minimum=1)
        if port > 65535:
            raise table.error("port", f"must be a port number, not {port}")
        return SmtpSettings(
            name=table.name,
            host=table.string("host"),
            port=port,
            security=security,
            from_header=from_header,
            username=username,
            password=password,
            reply_to=table.optional_string("reply_to"),
            unsubscribe=table.optional_string("unsubscribe"),
            max_connections=table.integer("max_connections", 1, minimum=1),
            rate_per_second=table.number("rate_per_second", 0.0),
            timeout=table.number("timeout", 30.0, minimum=0.1),
            ca_file=table.optional_string("ca_file"),
            tls_verify=table.boolean("tls_verify", True),
            local_hostname=table.optional_string("local_hostname"),
            max_messages_per_connection=table.integer("max_messages_per_connection", 0),
        )


@hookimpl(trylast=True)
def massreach_register_channels(register: Callable[[ChannelFactory], None]) -> None:
    """Register the built-in SMTP channel (``[[smtp]]`` tables)."""
    register(SmtpChannelFactory())
