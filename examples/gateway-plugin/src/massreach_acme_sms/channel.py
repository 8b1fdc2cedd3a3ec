"""The ACME SMS channel: massreach messages in, ACME API v2 requests out.

Configured by one ``[[acme_sms]]`` table per ACME account in the massreach TOML file::

    [[acme_sms]]
    name = "default"                       # a campaign names its account with this
    url = "https://api.acme-sms.example"   # base URL; messages go to <url>/v2/messages
    sender_default = "SHOP"                # when the campaign has no brandname
    secret_env = "ACME_SMS_SECRET"         # the variable holding the signing secret
    timeout = 10                           # seconds per request
    rate_per_second = 0                    # optional; the dispatcher enforces it

How ACME's answers become :class:`~massreach.channels.SendResult` statuses:

* ``OK`` → ``sent`` for customer care, ``accepted`` for advertising (a delivery
  report follows); ``msgid`` is the provider id reports refer to.
* ``ERR`` → :data:`~massreach_acme_sms.api.ERROR_CODES` (``E1xx`` permanent, ``E2xx`` and
  ``E3xx`` temporary, unknown codes temporary); an account-wide error (no credit, bad
  signature) gives the rest of the batch the same result without sending it.
* HTTP 429 and 503 → temporary with ``retry_after`` from ``Retry-After``, rest of the
  batch not tried; 401/403 (a wrong secret) and 404 (a wrong ``url``) → temporary, rest
  of the batch not tried; 408, other 5xx, timeouts, refused or dropped connections →
  temporary; other 4xx → permanent.
* A target that is not an E.164 number → permanent, without a request.

A kept-alive connection that ACME closed while idle is reopened and the request sent
once more; the ``ref`` (massreach's client id) makes that safe.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from attrs import evolve, field, frozen
from massreach.channels import Channel, ChannelSettings, OutgoingMessage, SendResult, SendStatus
from massreach.errors import InvalidInput

from massreach_acme_sms.api import (
    ERROR_CODES,
    MESSAGES_PATH,
    encode_message,
    parse_reply,
    retry_after_seconds,
    signed_headers,
)

__all__ = ["KIND", "AcmeSmsChannel", "AcmeSmsChannelFactory", "AcmeSmsSettings"]

#: The config-file table this plugin reads: ``[[acme_sms]]``.
KIND = "acme_sms"

_log = logging.getLogger(__name__)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SENDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .\-]{0,10}")
_RECONNECT_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_TAKEN = frozenset({SendStatus.SENT, SendStatus.ACCEPTED, SendStatus.DELIVERED})


@frozen
class AcmeSmsSettings:
    """One ACME account, as read from its ``[[acme_sms]]`` table (the repr hides the
    secret)."""

    name: str
    url: str
    sender_default: str
    secret: str = field(repr=False)
    timeout: float = 10.0


class _Failed(Exception):
    """The request failed as a whole (no usable reply)."""

    def __init__(self, reason: str, *, stop: bool) -> None:
        super().__init__(reason)
        self.reason, self.stop = reason, stop


class AcmeSmsChannel:
    """Sends SMS through one ACME account over one kept-alive connection (thread-safe)."""

    kind = KIND
    channel: Literal["sms"] = "sms"

    def __init__(self, settings: AcmeSmsSettings, *, clock: Callable[[], float] = time.time):
        self.name = settings.name
        self.settings = settings
        self._clock = clock
        parts = urlsplit(settings.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path.rstrip("/") + MESSAGES_PATH
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"AcmeSmsChannel(name={self.name!r}, url={self.settings.url!r})"

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message in turn; one result per message, in order."""
        if self._closed:
            raise InvalidInput("the ACME SMS channel is closed", code="channel.closed")
        for message in messages:
            if message.channel != "sms":
                raise InvalidInput(
                    "the ACME SMS channel carries SMS only",
                    code="channel.wrong_channel",
                    details={"message_id": message.message_id, "channel": message.channel},
                )
        results: list[SendResult] = []
        stopped: SendResult | None = None  # an account-wide failure: the rest gets it too
        for message in messages:
            if stopped is not None:
                result = evolve(stopped, message_id=message.message_id)
            elif not _E164.fullmatch(message.target):
                reason = "not an E.164 phone number"
                result = SendResult(message.message_id, SendStatus.PERMANENT, reason=reason)
            else:
                result, account_wide = self._send_one(message)
                if account_wide:
                    stopped = result
            if result.status not in _TAKEN:
                _log.info(
                    "acme_sms %s: %s to %s: %s",
                    self.name,
                    result.status.value,
                    message.masked_target,
                    result.reason,
                )
            results.append(result)
        return results

    def _send_one(self, message: OutgoingMessage) -> tuple[SendResult, bool]:
        """POST one message; the result and whether it concerns the whole account."""
        sender = message.brandname or self.settings.sender_default
        body = encode_message(message, sender)
        temporary = SendStatus.TEMPORARY
        try:
            status, headers, reply_body = self._post(body)
        except _Failed as failed:
            return SendResult(message.message_id, temporary, reason=failed.reason), failed.stop
        if status in (429, 503):
            delay = retry_after_seconds(headers.get("Retry-After"), self._clock)
            reason = f"ACME is busy (HTTP {status})"
            return SendResult(message.message_id, temporary, reason=reason, retry_after=delay), True
        reply = parse_reply(reply_body)
        if reply is not None and reply.ok and 200 <= status < 300:
            taken = SendStatus.SENT if message.kind == "care" else SendStatus.ACCEPTED
            return SendResult(message.message_id, taken, provider_id=reply.msgid), False
        if reply is not None and not reply.ok and reply.error_code:
            code = reply.error_code
            error = ERROR_CODES.get(code)
            meaning = error.meaning if error else "an error code this plugin does not know"
            reason = f"ACME {code}: {meaning}"
            if reply.error_text:
                reason += f" ({reply.error_text})"
            outcome = error.status if error else temporary
            return SendResult(message.message_id, outcome, reason=reason), bool(
                error and error.account_wide
            )
        if status in (401, 403):
            reason = f"ACME refused the request (HTTP {status}): check secret_env"
            return SendResult(message.message_id, temporary, reason=reason), True
        if status == 404:
            reason = f"ACME has no {self._path} at {self.settings.url}: check url"
            return SendResult(message.message_id, temporary, reason=reason), True
        if status == 408 or status >= 500:
            return SendResult(message.message_id, temporary, reason=f"HTTP {status}"), False
        if status >= 300:
            reason = f"HTTP {status} from ACME"
            return SendResult(message.message_id, SendStatus.PERMANENT, reason=reason), False
        reason = "ACME's reply cannot be read"
        return SendResult(message.message_id, temporary, reason=reason), False

    def _post(self, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One signed POST over the kept-alive connection, reopened once if it went stale."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                conn = self._conn or self._connect()
                self._conn = conn
                headers = signed_headers(self.settings.secret, self._path, body, self._clock)
                try:
                    conn.request("POST", self._path, body, headers)
                    response = conn.getresponse()
                    reply = response.read()
                except _RECONNECT_ERRORS as exc:
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise _Failed(f"connection lost: {exc}", stop=False) from None
                except TimeoutError:
                    self._drop()
                    raise _Failed(
                        f"no reply within {self.settings.timeout:g} s", stop=False
                    ) from None
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    reason = f"cannot reach ACME: {exc or type(exc).__name__}"
                    raise _Failed(reason, stop=True) from None
                if response.will_close:
                    self._drop()
                return response.status, response.headers, reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> http.client.HTTPConnection:
        timeout = self.settings.timeout
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the kept-alive connection; safe to call more than once."""
        with self._lock:
            self._closed = True
            self._drop()


class AcmeSmsChannelFactory:
    """Creates :class:`AcmeSmsChannel` objects from ``[[acme_sms]]`` tables."""

    kind = KIND

    def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Channel:
        """Check one table (a ConfigError names the key) and build its channel."""
        return AcmeSmsChannel(self.read_settings(settings, env))

    def read_settings(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> AcmeSmsSettings:
        """The typed settings of one ``[[acme_sms]]`` table; the secret from ``env``."""
        # rate_per_second is read by massreach's dispatcher (a rate shared by workers).
        known = ("url", "sender_default", "secret_env", "timeout", "rate_per_second")
        table = ChannelSettings(self.kind, settings, known)
        url = table.string("url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise table.error("url", f"must be an http:// or https:// base URL, not {url!r}")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise table.error("url", f"has a bad port: {url!r}") from None
        sender = table.string("sender_default")
        if not _SENDER.fullmatch(sender):
            raise table.error(
                "sender_default",
                f"must be 1 to 11 letters, digits, spaces, '.' or '-', not {sender!r}",
            )
        table.string("secret_env")  # required: ACME signs every request
        secret = table.secret("secret_env", env)
        if not secret:
            raise table.error("secret_env", "names an empty environment variable")
        table.number("rate_per_second", 0.0)
        return AcmeSmsSettings(
            name=table.name,
            url=url,
            sender_default=sender,
            secret=secret,
            timeout=table.number("timeout", 10.0, minimum=0.1),
        )
