"""The read side of the dispatcher, and what a host product tells it: delivery
reports, the opt-out list, and the views of a campaign's messages.

:class:`DispatchViews` is the base of :class:`~massreach.services.dispatch.
DispatchService` (``Reach.dispatch``); the report format is in
:mod:`massreach.services.dispatch_reports`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from massreach.core.phones import PhoneNormalizer, is_valid_email
from massreach.errors import InvalidInput, MassreachError, NotFound
from massreach.model import Campaign, DeliveryReport, MessageState
from massreach.services.context import ServiceContext
from massreach.services.dispatch_reports import (
    MessageView,
    ReportLineError,
    ReportSummary,
    message_view,
    parse_report,
    read_report_lines,
)

__all__ = ["CampaignMessages", "DispatchViews"]

_PAGE = 1000


@frozen
class CampaignMessages:
    """A campaign's messages at a glance: how many in each state, and for the
    pending, held and failed ones how many per reason."""

    campaign: str
    counts: Mapping[str, int]
    reasons: Mapping[str, Mapping[str, int]]


class DispatchViews:
    """Delivery reports, opt-outs and message views (see the module docstring)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.storage = context.storage

    # -- delivery reports ------------------------------------------------------------
    def ingest_delivery_report(self, report: DeliveryReport | Mapping[str, Any]) -> bool:
        """Apply one delivery report (a :class:`DeliveryReport` or its JSON object);
        True when it named a known message, False when it was kept as unmatched."""
        if not isinstance(report, DeliveryReport):
            report = parse_report(report, zone=self.context.config.send_window.timezone)
        return self.storage.ingest_report(report, now=self.context.now())

    def ingest_reports(self, source: Path | str | Iterable[str]) -> ReportSummary:
        """Apply a file (path) or lines of JSON delivery reports (see
        :mod:`.dispatch_reports`); bad lines are listed, not fatal."""
        zone = self.context.config.send_window.timezone
        read = matched = 0
        unknown: list[str] = []
        errors: list[ReportLineError] = []
        try:
            for number, line in read_report_lines(source):
                read += 1
                try:
                    report = parse_report(json.loads(line), zone=zone)
                except ValueError as exc:
                    errors.append(ReportLineError(number, "report.invalid", f"not JSON: {exc}"))
                    continue
                except MassreachError as exc:
                    errors.append(ReportLineError(number, exc.code, exc.message))
                    continue
                if self.storage.ingest_report(report, now=self.context.now()):
                    matched += 1
                else:
                    unknown.append(report.provider_id or report.client_id or "")
        except OSError as exc:
            raise InvalidInput(
                f"cannot read the report file: {exc.strerror or exc}",
                code="report.unreadable",
                details={"file": str(source)},
            ) from None
        return ReportSummary(read, matched, len(unknown), tuple(unknown), tuple(errors))

    def unmatched_reports(self) -> list[DeliveryReport]:
        """Reports kept because they named no known message."""
        return self.storage.unmatched_reports()

    # -- opt-outs ------------------------------------------------------------------------
    def normalize_target(self, target: str, *, region: str = "VN") -> str:
        """An email address as written (trimmed) or a phone number in E.164;
        InvalidInput (``opt_out.invalid_target``) for anything else."""
        text = target.strip()
        if "@" in text:
            if is_valid_email(text):
                return text
        else:
            phone = PhoneNormalizer(region).e164_or_none(text)
            if phone is not None:
                return phone
        raise InvalidInput(
            "give a phone number or an email address",
            code="opt_out.invalid_target",
            details={"region": region},
        )

    def opt_out(self, target: str, *, region: str = "VN") -> bool:
        """Put a phone (normalised to E.164, ``region`` for numbers without a country
        code) or an email on the opt-out list; False if it was already there."""
        normal = self.normalize_target(target, region=region)
        return self.storage.add_opt_outs([normal], now=self.context.now()) > 0

    def remove_opt_out(self, target: str, *, region: str = "VN") -> bool:
        """Take a phone or email off the opt-out list; False if it was not on it."""
        return self.storage.remove_opt_out(self.normalize_target(target, region=region))

    # -- views -----------------------------------------------------------------------------
    def _campaign(self, name: str) -> Campaign:
        campaign = self.storage.get_campaign(name)
        if campaign is None:
            raise NotFound(
                f"There is no campaign named {name!r}.",
                code="campaign.not_found",
                details={"name": name},
            )
        return campaign

    def messages(
        self,
        campaign: str,
        *,
        states: Sequence[MessageState | str] | None = None,
        unmask: bool = False,
        limit: int | None = None,
    ) -> list[MessageView]:
        """A campaign's messages by id (optionally only those in ``states``), with
        their state, reason and attempts; targets masked unless ``unmask``."""
        found = self._campaign(campaign)
        wanted = None if states is None else [MessageState(s) for s in states]
        views: list[MessageView] = []
        after = 0
        while limit is None or len(views) < limit:
            page = self.storage.messages(found.id, states=wanted, after_id=after, limit=_PAGE)
            views.extend(message_view(m, unmask=unmask) for m in page)
            if len(page) < _PAGE:
                break
            after = page[-1].id
        return views if limit is None else views[:limit]

    def pending(self, campaign: str) -> list[MessageView]:
        """Messages still to go: pending, held (with why and until when) and sending."""
        wanted = [MessageState.pending, MessageState.held, MessageState.sending]
        return self.messages(campaign, states=wanted)

    def sent(self, campaign: str) -> list[MessageView]:
        """Messages handed over: sent, accepted (report awaited) and delivered."""
        wanted = [MessageState.sent, MessageState.accepted, MessageState.delivered]
        return self.messages(campaign, states=wanted)

    def failed(self, campaign: str) -> list[MessageView]:
        """Failed messages, each with its reason."""
        return self.messages(campaign, states=[MessageState.failed])

    def summary(self, campaign: str) -> CampaignMessages:
        """Counts by state and, for pending, held and failed messages, by reason."""
        found = self._campaign(campaign)
        counts = self.storage.message_counts(found.id)
        reasons: dict[str, Counter[str]] = {}
        wanted = [MessageState.pending, MessageState.held, MessageState.failed]
        after = 0
        while True:
            page = self.storage.messages(found.id, states=wanted, after_id=after, limit=_PAGE)
            for message in page:
                reasons.setdefault(message.state.value, Counter())[message.reason or ""] += 1
            if len(page) < _PAGE:
                break
            after = page[-1].id
        return CampaignMessages(
            campaign=found.name,
            counts={state.value: counts[state] for state in MessageState if state in counts},
            reasons={state: dict(counter) for state, counter in reasons.items()},
        )
