"""Delivery reports in, message views out: the read side of the dispatcher.

Delivery reports come from the gateway, at once for customer care and days later
for advertising (Viettel). A host product passes each one to
``Reach.dispatch.ingest_delivery_report`` or a file of them (JSON lines) to
``ingest_reports`` / ``massreach report FILE``. One report per line::

    {"provider_id": "gw-123", "status": "delivered", "at": "2026-11-26T08:00:00+07:00"}
    {"client_id": "mr-12-3456", "status": "failed", "reason": "subscriber unreachable"}

``provider_id`` (the gateway's id, stored when the message was sent) or ``client_id``
(``mr-<campaign>-<message>``, the id massreach gave the gateway) names the message;
``status`` is ``delivered`` or ``failed``; ``reason`` and ``at`` are optional (a time
without a zone is read in the ``[send_window] timezone``). A report moves a message
forward, never backward (a ``failed`` report for a delivered message changes
nothing); a report naming no known message is kept (``unmatched_reports``) and
listed in the summary. Lines that are not reports are listed with their number and
skipped; the others are applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from attrs import field, frozen

from massreach.core.masking import mask_email, mask_phone
from massreach.errors import InvalidInput
from massreach.model import DeliveryReport, MessageState, OutboxMessage

__all__ = [
    "MessageView",
    "ReportLineError",
    "ReportSummary",
    "message_view",
    "parse_report",
    "read_report_lines",
]

_REPORT_STATES = {"delivered": MessageState.delivered, "failed": MessageState.failed}
_REPORT_KEYS = frozenset({"provider_id", "client_id", "status", "reason", "at"})


def _id(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(
            f"{key} must be text, not {value!r}", code="report.invalid", details={"key": key}
        )
    return str(value)


def parse_report(document: Mapping[str, Any], *, zone: str = "Asia/Ho_Chi_Minh") -> DeliveryReport:
    """A :class:`DeliveryReport` from one JSON object; InvalidInput (``report.invalid``)
    naming the key when it is not one."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a report must be a JSON object", code="report.invalid")
    unknown = sorted(set(document) - _REPORT_KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_REPORT_KEYS))})",
            code="report.invalid",
            details={"key": unknown[0]},
        )
    provider_id, client_id = _id(document, "provider_id"), _id(document, "client_id")
    if provider_id is None and client_id is None:
        raise InvalidInput(
            "a report needs provider_id or client_id", code="report.invalid", details={}
        )
    status = document.get("status")
    state = _REPORT_STATES.get(status) if isinstance(status, str) else None
    if state is None:
        raise InvalidInput(
            f"status must be delivered or failed, not {status!r}",
            code="report.invalid",
            details={"key": "status"},
        )
    reason = document.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be text", code="report.invalid", details={"key": "reason"})
    at = document.get("at")
    when: datetime | None = None
    if at is not None:
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            raise InvalidInput(
                f"at must be an ISO time such as 2026-11-26T08:00:00+07:00, not {at!r}",
                code="report.invalid",
                details={"key": "at"},
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(zone))
    return DeliveryReport(
        state=state,
        provider_id=provider_id,
        client_id=client_id,
        reason=reason or None,
        at=when,
        raw=json.dumps(dict(document), ensure_ascii=False, sort_keys=True),
    )


@frozen
class ReportLineError:
    """A line of a report file that is not a report."""

    line: int
    code: str
    message: str


@frozen
class ReportSummary:
    """What ingesting reports did: lines read, reports applied to a known message,
    reports kept for unknown ids (with those ids), lines that were not reports."""

    read: int
    matched: int
    unmatched: int
    unknown_ids: tuple[str, ...] = ()
    errors: tuple[ReportLineError, ...] = ()


def read_report_lines(source: Path | str | Iterable[str]) -> Iterable[tuple[int, str]]:
    """Numbered non-empty lines of a report file (a path) or of given lines."""
    if isinstance(source, Path | str):
        with Path(source).open(encoding="utf-8-sig") as handle:
            yield from _numbered(handle)
    else:
        yield from _numbered(source)


def _numbered(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _mask(target: str) -> str:
    return mask_email(target) if "@" in target else mask_phone(target)


@frozen
class MessageView:
    """One outbox message as screens show it (the target masked unless asked)."""

    id: int
    campaign_id: int
    client_id: str
    target: str = field(repr=_mask)
    state: str
    reason: str | None
    attempts: int
    due_at: datetime | None
    sent_at: datetime | None
    provider_id: str | None
    updated_at: datetime | None


def message_view(message: OutboxMessage, *, unmask: bool = False) -> MessageView:
    """The view of one message; ``unmask`` shows the full target."""
    return MessageView(
        id=message.id,
        campaign_id=message.campaign_id,
        client_id=message.client_id,
        target=message.target if unmask else _mask(message.target),
        state=message.state.value,
        reason=message.reason,
        attempts=message.attempts,
        due_at=message.due_at,
        sent_at=message.sent_at,
        provider_id=message.provider_id,
        updated_at=message.updated_at,
    )
