"""The brandname SMS channel over HTTP: ``[[sms_gateway]]`` tables, one gateway each.

Settings (``url`` required)::

    [[sms_gateway]]
    name = "default"
    url = "https://gateway.example.com/sms"
    api_key_env = "SMS_API_KEY"   # the environment variable holding the API key
    brandname = "SHOP"            # used when a message has no brandname of its own
    rate_per_second = 0           # 0 = no limit (per channel instance)
    timeout = 10                  # seconds per request
    batch = false                 # true: POST a JSON array of up to batch_size messages
    batch_size = 100
    ca_file = ""                  # extra CA bundle for https; tls_verify = false trusts any

The gateway protocol (what a host product's gateway must speak)
---------------------------------------------------------------

Request: ``POST <url>`` with ``Content-Type: application/json; charset=utf-8`` and,
when an API key is configured, ``Authorization: Bearer <key>``. The body is one JSON
object per message, or with ``batch = true`` a JSON array of them::

    {"client_id": "mr-12-3456", "brandname": "SHOP", "phone": "+84961234567",
     "text": "Xin chao ...", "type": "care"}

``client_id`` is stable across retries: a gateway must treat a second request with a
known ``client_id`` as a duplicate (not send the SMS again) and answer as it did the
first time. ``type`` is ``"care"`` (customer care) or ``"ads"`` (advertising).

Reply: HTTP 2xx with one JSON object per message (a JSON array in the same order for a
batch; items may carry ``client_id`` to be matched by it)::

    {"id": "provider-id", "status": "accepted", "reason": null}

``status`` is ``accepted`` (taken; for ``care`` this is final, for ``ads`` a delivery
report follows, days later with Viettel), ``delivered`` or ``rejected`` (with a
``reason``, e.g. an invalid or blocked number).

How replies become results: ``accepted`` → ``sent`` (care) / ``accepted`` (ads);
``delivered`` → ``delivered``; ``rejected`` → ``permanent`` with the reason. HTTP 429
and 503 → ``temporary`` with ``retry_after`` from the ``Retry-After`` header, and the
rest of the batch is not tried; 401 and 403 (a wrong API key is not the message's
fault) → ``temporary``, rest of the batch not tried; 408 and other 5xx, timeouts,
refused or dropped connections, unreadable 2xx replies → ``temporary``; other 4xx →
``permanent``. A kept-alive connection the gateway closed while idle is reopened and
the request sent once more, which the ``client_id`` makes safe.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from attrs import frozen

from massreach.adapters.http_keepalive import HttpReply, KeepAliveConnection
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

__all__ = ["SmsHttpChannel", "SmsHttpChannelFactory", "SmsHttpSettings"]

_log = logging.getLogger(__name__)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_STOP_BATCH = frozenset({401, 403, 429, 503})
_RECONNECT_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once, not per POST


@frozen
class SmsHttpSettings:
    """One SMS gateway, as read from its ``[[sms_gateway]]`` table."""

    name: str
    url: str
    api_key: str | None = None
    brandname: str | None = None
    rate_per_second: float = 0.0
    timeout: float = 10.0
    batch: bool = False
    batch_size: int = 100
    ca_file: str | None = None
    tls_verify: bool = True

    def __repr__(self) -> str:
        # never show the API key
        return f"SmsHttpSettings(name={self.name!r}, url={self.url!r}, batch={self.batch})"


class _Outcome(Exception):
    """A request failed as a whole; every message in it gets this result."""

    def __init__(
        self,
        status: SendStatus,
        reason: str,
        retry_after: float | None = None,
        *,
        stop: bool = False,
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after, self.stop = status, reason, retry_after, stop

    def result(self, message: OutgoingMessage) -> SendResult:
        return SendResult(
            message.message_id, self.status, reason=self.reason, retry_after=self.retry_after
        )


def _retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError, IndexError):
        return None


def _reason_from(body: bytes, fallback: str) -> str:
    try:
        reply = json.loads(body)
    except ValueError:
        reply = None
    if isinstance(reply, dict) and reply.get("reason"):
        return str(reply["reason"])
    text = " ".join(body.decode("utf-8", "replace").split())[:200]
    return f"{fallback}: {text}" if text else fallback


class SmsHttpChannel:
    """Sends SMS through one HTTP gateway over one kept-alive connection (thread-safe)."""

    kind = "sms_gateway"
    channel: Literal["sms"] = "sms"

    def __init__(self, settings: SmsHttpSettings) -> None:
        self.name = settings.name
        self.settings = settings
        parts = urlsplit(settings.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json; charset=utf-8"}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self._bucket = TokenBucket(settings.rate_per_second)
        self._lock = threading.Lock()
        self._conn: KeepAliveConnection | None = None
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SmsHttpChannel(name={self.name!r}, url={self.settings.url!r})"

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message (or each chunk, in batch mode); one result per message."""
        if self._closed:
            raise InvalidInput("the SMS gateway channel is closed", code="channel.closed")
        for message in messages:
            if message.channel != "sms":
                raise InvalidInput(
                    "the SMS gateway channel carries SMS only",
                    code="channel.wrong_channel",
                    details={"message_id": message.message_id, "channel": message.channel},
                )
        results: list[SendResult] = []
        size = self.settings.batch_size if self.settings.batch else 1
        stopped: _Outcome | None = None
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            if stopped is not None:
                results.extend(stopped.result(m) for m in chunk)
                continue
            sendable = [m for m in chunk if _E164.fullmatch(m.target)]
            by_id: dict[int, SendResult] = {}
            if sendable:
                try:
                    by_id = self._send_chunk(sendable)
                except _Outcome as outcome:
                    by_id = {m.message_id: outcome.result(m) for m in sendable}
                    if outcome.stop:
                        stopped = outcome
            for message in chunk:
                result = by_id.get(message.message_id) or SendResult(
                    message.message_id,
                    SendStatus.PERMANENT,
                    reason="not an E.164 phone number",
                )
                if (
                    result.status is not SendStatus.SENT
                    and result.status is not SendStatus.ACCEPTED
                ):
                    _log.info(
                        "sms %s: %s to %s: %s",
                        self.name,
                        result.status.value,
                        message.masked_target,
                        result.reason,
                    )
                results.append(result)
        return results

    def _payload(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "client_id": message.client_id,
            "brandname": message.brandname or self.settings.brandname,
            "phone": message.target,
            "text": message.text,
            "type": message.kind,
        }

    def _send_chunk(self, chunk: Sequence[OutgoingMessage]) -> dict[int, SendResult]:
        """POST one message (or one batch); raises _Outcome when the request as a whole failed."""
        if self.settings.batch:
            document: Any = [self._payload(m) for m in chunk]
        else:
            document = self._payload(chunk[0])
        body = _JSON.encode(document).encode("utf-8")
        self._bucket.acquire(len(chunk))
        status, _, headers, reply, _ = self._post(body)
        if status in (429, 503):
            delay = _retry_after(headers.get("retry-after"))
            reason = _reason_from(reply, f"HTTP {status} from the gateway")
            raise _Outcome(SendStatus.TEMPORARY, reason, delay, stop=True)
        if status in (401, 403):
            reason = _reason_from(reply, f"HTTP {status}: the gateway refused the API key")
            raise _Outcome(SendStatus.TEMPORARY, reason, stop=True)
        if status == 408 or status >= 500:
            raise _Outcome(SendStatus.TEMPORARY, _reason_from(reply, f"HTTP {status}"))
        if status >= 300:
            raise _Outcome(SendStatus.PERMANENT, _reason_from(reply, f"HTTP {status}"))
        try:
            answer = json.loads(reply)
        except ValueError:
            answer = None
        items = answer if self.settings.batch else [answer]
        if not isinstance(items, list) or len(items) != len(chunk):
            raise _Outcome(SendStatus.TEMPORARY, "the gateway's reply cannot be read")
        by_client = {i.get("client_id"): i for i in items if isinstance(i, dict)}
        return {
            m.message_id: self._result(m, by_client.get(m.client_id, items[index]))
            for index, m in enumerate(chunk)
        }

    def _result(self, message: OutgoingMessage, item: object) -> SendResult:
        if not isinstance(item, dict):
            return SendResult(message.message_id, SendStatus.TEMPORARY, reason="unreadable reply")
        provider_id = None if item.get("id") is None else str(item["id"])
        reason = None if item.get("reason") is None else str(item["reason"])
        state = item.get("status")
        if state == "accepted":
            status = SendStatus.SENT if message.kind == "care" else SendStatus.ACCEPTED
        elif state == "delivered":
            status = SendStatus.DELIVERED
        elif state == "rejected":
            status, reason = SendStatus.PERMANENT, reason or "rejected by the gateway"
        else:
            status, reason = SendStatus.TEMPORARY, f"unknown gateway status {state!r}"
        return SendResult(message.message_id, status, provider_id=provider_id, reason=reason)

    def _post(self, body: bytes) -> HttpReply:
        """One POST over the kept-alive connection, reopened once if it went stale."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                conn = self._conn = self._conn or self._connect()
                try:
                    reply = conn.post(body)
                except _RECONNECT_ERRORS as exc:
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise _Outcome(SendStatus.TEMPORARY, f"connection lost: {exc}") from None
                except TimeoutError:
                    self._drop()
                    reason = f"no reply within {self.settings.timeout:g} s"
                    raise _Outcome(SendStatus.TEMPORARY, reason) from None
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    reason = f"cannot reach the gateway: {exc or type(exc).__name__}"
                    raise _Outcome(SendStatus.TEMPORARY, reason, stop=True) from None
                if reply.will_close:
                    self._drop()
                return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> KeepAliveConnection:
        """A new connection (opened by its first request); the TLS context is made
        once and shared by every connection of the channel."""
        if self._https and self._tls is None:
            context = ssl.create_default_context(cafile=self.settings.ca_file)
            if not self.settings.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return KeepAliveConnection(
            self._host,
            self._port,
            self._path,
            self._headers,
            timeout=self.settings.timeout,
            tls=self._tls,
        )

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the kept-alive connection."""
        with self._lock:
            self._closed = True
            self._drop()


class SmsHttpChannelFactory:
    """Creates :class:`SmsHttpChannel` objects from ``[[sms_gateway]]`` tables."""

    kind = "sms_gateway"

    def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Channel:
        """Check the table (ConfigError naming the key) and build the channel."""
        return SmsHttpChannel(self.read_settings(settings, env))

    def read_settings(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> SmsHttpSettings:
        """The typed settings of one ``[[sms_gateway]]`` table."""
        known = (
            "url", "api_key_env", "brandname", "rate_per_second", "timeout", "batch",
            "batch_size", "ca_file", "tls_verify",
        )  # fmt: skip
        table = ChannelSettings(self.kind, settings, known)
        url = table.string("url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise table.error("url", f"must be an http:// or https:// address, not {url!r}")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise table.error("url", f"has a bad port: {url!r}") from None
        return SmsHttpSettings(
            name=table.name,
            url=url,
            api_key=table.secret("api_key_env", env),
            brandname=table.optional_string("brandname"),
            rate_per_second=table.number("rate_per_second", 0.0),
            timeout=table.number("timeout", 10.0, minimum=0.1),
            batch=table.boolean("batch", False),
            batch_size=table.integer("batch_size", 100, minimum=1),
            ca_file=table.optional_string("ca_file"),
            tls_verify=table.boolean("tls_verify", True),
        )


@hookimpl(trylast=True)
def massreach_register_channels(register: Callable[[ChannelFactory], None]) -> None:
    """Register the built-in HTTP SMS gateway channel (``[[sms_gateway]]`` tables)."""
    register(SmsHttpChannelFactory())
