"""The ACME SMS HTTP API, version 2: requests, signatures, replies and error codes.

ACME SMS is a made-up provider whose API is unlike massreach's built-in
``[[sms_gateway]]`` protocol. One message per request::

    POST /v2/messages
    Content-Type: application/x-www-form-urlencoded; charset=utf-8
    X-Acme-Timestamp: 1767225600
    X-Acme-Signature: v1=<hex HMAC-SHA256>

    sender=SHOP&msisdn=84961234567&body=Xin+ch%C3%A0o&ref=mr-12-3456&category=transactional

* ``msisdn`` is the number in international form *without* the ``+``.
* ``ref`` is the sender's reference: ACME answers a second request with a known
  ``ref`` with its first reply and does not send the SMS again, which makes retries
  safe. massreach's ``client_id`` goes here.
* ``category`` is ``transactional`` (customer care) or ``marketing`` (advertising).
* The signature is ``HMAC-SHA256(secret, "<timestamp>\\n<path>\\n" + body)`` in hex,
  see :func:`signature`. ACME refuses a request whose timestamp is more than five
  minutes off (``E301``) or whose signature is wrong (``E300``, HTTP 401).

The reply is JSON, HTTP 200 whether or not the message was taken::

    {"result": "OK", "msgid": "ACME00000042", "error_code": null}
    {"result": "ERR", "msgid": null, "error_code": "E101", "error_text": "..."}

:data:`ERROR_CODES` says what each ``error_code`` means for the message. HTTP 429 and
503 mean "slow down" and carry ``Retry-After`` (seconds or an HTTP date).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlencode

from attrs import field, frozen, validators
from massreach.channels import OutgoingMessage, SendStatus
from massreach.core.masking import mask_phone

__all__ = [
    "ERROR_CODES",
    "MESSAGES_PATH",
    "AcmeError",
    "AcmeReply",
    "encode_message",
    "parse_reply",
    "retry_after_seconds",
    "scrub_numbers",
    "signature",
    "signed_headers",
]

#: Where messages are posted, below the configured base URL.
MESSAGES_PATH = "/v2/messages"

_CATEGORY: Mapping[str, str] = {"care": "transactional", "ads": "marketing"}
_DIGIT_RUN = re.compile(r"\+?\d{7,}")
_FAILURES = (SendStatus.PERMANENT, SendStatus.TEMPORARY)


@frozen
class AcmeError:
    """What one ACME ``error_code`` means: ``status`` for the message, and whether it is
    about the whole account (``account_wide``: the rest of the batch is not tried)."""

    status: SendStatus = field(validator=validators.in_(_FAILURES))
    meaning: str
    account_wide: bool = False


_P: Final = SendStatus.PERMANENT
_T: Final = SendStatus.TEMPORARY

#: ACME's error codes. ``E1xx`` are about the message and final; ``E2xx`` pass with
#: time; ``E3xx`` are about the request's signature (the configuration, not the
#: message), so they are temporary and stop the batch. An unknown code is temporary.
ERROR_CODES: Mapping[str, AcmeError] = {
    "E100": AcmeError(_P, "the number is not a valid mobile number"),
    "E101": AcmeError(_P, "the subscriber is on the carrier's do-not-contact list"),
    "E102": AcmeError(_P, "the sender name is not registered with the carrier"),
    "E103": AcmeError(_P, "the body is empty or longer than 10 segments"),
    "E104": AcmeError(_P, "the carrier's content filter refused the body"),
    "E200": AcmeError(_T, "the account has no credit left", account_wide=True),
    "E201": AcmeError(_T, "the carrier cannot be reached"),
    "E202": AcmeError(_T, "the account's throughput is exceeded", account_wide=True),
    "E300": AcmeError(_T, "the signature is wrong: check secret_env", account_wide=True),
    "E301": AcmeError(_T, "the timestamp is too far off: check the clock", account_wide=True),
}


@frozen
class AcmeReply:
    """ACME's reply to one message: ``ok`` with ``msgid``, or an ``error_code``."""

    ok: bool
    msgid: str | None = None
    error_code: str | None = None
    error_text: str | None = None


def scrub_numbers(text: str) -> str:
    """Mask every run of 7 or more digits (ACME echoes numbers in ``error_text``)."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text)


def signature(secret: str, timestamp: int, path: str, body: bytes) -> str:
    """The ``X-Acme-Signature`` value of a request: ``v1=`` and the hex HMAC-SHA256."""
    signed = f"{timestamp}\n{path}\n".encode() + body
    return "v1=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def encode_message(message: OutgoingMessage, sender: str) -> bytes:
    """The form-encoded body for one SMS; ``message.target`` must be E.164."""
    fields = {
        "sender": sender,
        "msisdn": message.target.removeprefix("+"),
        "body": message.text,
        "ref": message.client_id,
        "category": _CATEGORY[message.kind],
    }
    return urlencode(fields, encoding="utf-8").encode("ascii")


def signed_headers(secret: str, path: str, body: bytes, now: Callable[[], float]) -> dict[str, str]:
    """The request headers, with a fresh timestamp and its signature."""
    timestamp = int(now())
    return {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Accept": "application/json",
        "X-Acme-Timestamp": str(timestamp),
        "X-Acme-Signature": signature(secret, timestamp, path, body),
    }


def parse_reply(body: bytes) -> AcmeReply | None:
    """The reply, or None when it is not an ACME JSON reply."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("result") not in ("OK", "ERR"):
        return None
    msgid, code, text = (document.get(k) for k in ("msgid", "error_code", "error_text"))
    if document["result"] == "OK":
        if not isinstance(msgid, str | int) or isinstance(msgid, bool) or msgid == "":
            return None
        return AcmeReply(ok=True, msgid=str(msgid))
    return AcmeReply(
        ok=False,
        error_code=str(code) if code is not None else None,
        error_text=scrub_numbers(str(text)) if text else None,
    )


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
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
