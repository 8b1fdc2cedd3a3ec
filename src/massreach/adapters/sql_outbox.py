"""The outbox in SQL: claims with leases, outcomes, cancels, views, delivery reports.

Claims are safe with many workers: on PostgreSQL each candidate query ends in
``FOR UPDATE SKIP LOCKED``, so two workers never lock the same message and never
wait for each other; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction.
Candidates are read per sending campaign and state along the ``outbox_queue``
index ``(campaign_id, state, due_at, id)``, each query stopping after ``limit``
rows, so a claim costs the same with ten messages queued or ten million, and a
paused campaign's backlog is never scanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from massreach.adapters.sql_base import SqlBase, Tx
from massreach.adapters.sql_rows import (
    REPORT_COLUMNS,
    columns,
    message_from_row,
    message_select,
    report_from_row,
)
from massreach.model import DeliveryReport, MessageOutcome, MessageState, OutboxMessage
from massreach.model.outbox import STATE_RANK

__all__ = ["SqlOutbox"]

_SENT_STATES = (MessageState.sent.value, MessageState.accepted.value)
_RECORD_OUTCOME = (
    "UPDATE outbox SET state = ?, reason = ?,"
    " provider_id = coalesce(?, provider_id), due_at = coalesce(?, due_at),"
    " attempts = attempts + ?, lease_owner = NULL, lease_until = NULL,"
    " sent_at = CASE WHEN ? AND sent_at IS NULL THEN ? ELSE sent_at END,"
    " updated_at = ?"
    " WHERE id = ? AND state = 'sending' AND lease_owner = ?"
)


def _client_message_id(client_id: str) -> tuple[int, int] | None:
    """``mr-<campaign>-<message>`` → (campaign id, message id)."""
    prefix, _, rest = client_id.partition("-")
    campaign, _, message = rest.partition("-")
    if prefix != "mr" or not campaign.isdigit() or not message.isdigit():
        return None
    return int(campaign), int(message)


class SqlOutbox(SqlBase):
    """Claims, outcomes, cancels, counts, views and delivery reports."""

    def _sending_campaigns(self, tx: Tx, campaign_ids: Sequence[int] | None) -> list[int]:
        d = self.dialect
        sql = "SELECT id FROM campaigns WHERE state = 'sending'"
        params: list[Any] = []
        if campaign_ids is not None:
            sql += f" AND {d.in_('id')}"
            params.append(d.many(campaign_ids))
        return [int(row[0]) for row in tx.rows(sql + " ORDER BY id", params)]

    def claim_messages(
        self,
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        campaign_ids: Sequence[int] | None = None,
    ) -> list[OutboxMessage]:
        """Claim due messages of sending campaigns, earliest due first, for ``worker``:
        pending or held ones due by ``now`` and sending ones whose lease ran out."""
        if limit <= 0:
            return []
        d = self.dialect
        stamp = d.ts(now)
        with self._write() as tx:
            candidates: list[tuple[datetime, int]] = []
            for campaign_id in self._sending_campaigns(tx, campaign_ids):
                for state, ready in (
                    ("pending", "due_at <= ?"),
                    ("held", "due_at <= ?"),
                    ("sending", "(lease_until IS NULL OR lease_until <= ?)"),
                ):
                    rows = tx.rows(
                        "SELECT due_at, id FROM outbox WHERE campaign_id = ? AND state = ?"
                        f" AND {ready} ORDER BY due_at, id LIMIT ?{d.skip_locked}",
                        (campaign_id, state, stamp, limit),
                    )
                    candidates += [(d.from_ts(due) or now, int(mid)) for due, mid in rows]
            chosen = [mid for _, mid in sorted(candidates)[:limit]]
            if not chosen:
                return []
            tx.run(
                "UPDATE outbox SET state = 'sending', lease_owner = ?, lease_until = ?,"
                f" updated_at = ? WHERE {d.in_('id')}",
                (worker, d.ts(now + lease), stamp, d.many(chosen)),
            )
            rows = tx.rows(f"{message_select(d)} WHERE {d.in_('o.id')}", (d.many(chosen),))
        claimed = [message_from_row(d, row) for row in rows]
        claimed.sort(key=lambda m: (m.due_at or now, m.id))
        return claimed

    def record_outcomes(
        self, outcomes: Sequence[MessageOutcome], *, worker: str, now: datetime
    ) -> int:
        """Record what happened to claimed messages that ``worker`` still holds;
        returns how many were recorded."""
        d = self.dialect
        stamp = d.ts(now)
        rows = []
        for o in outcomes:
            state = MessageState(o.state).value
            rows.append(
                (
                    state,
                    o.reason,
                    o.provider_id,
                    d.ts(o.due_at),
                    1 if o.count_attempt else 0,
                    state in _SENT_STATES,
                    stamp,
                    stamp,
                    o.message_id,
                    worker,
                )
            )
        with self._write() as tx:
            # One statement per outcome, in order, in one driver call (psycopg pipelines
            # them): an id given twice is recorded once, the first time.
            return tx.many(_RECORD_OUTCOME, rows)

    def cancel_messages(self, campaign_id: int, *, now: datetime) -> int:
        """Cancel a campaign's pending and held messages."""
        with self._write() as tx:
            return tx.run(
                "UPDATE outbox SET state = 'cancelled', updated_at = ?"
                " WHERE campaign_id = ? AND state IN ('pending', 'held')",
                (self.dialect.ts(now), campaign_id),
            )

    def message_counts(self, campaign_id: int) -> dict[MessageState, int]:
        """How many messages the campaign has in each state (states with none omitted)."""
        with self._read() as tx:
            rows = tx.rows(
                "SELECT state, count(*) FROM outbox WHERE campaign_id = ? GROUP BY state",
                (campaign_id,),
            )
        return {MessageState(state): int(n) for state, n in rows}

    def messages(
        self,
        campaign_id: int,
        *,
        states: Sequence[MessageState] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[OutboxMessage]:
        """A campaign's messages by id."""
        d = self.dialect
        sql = f"{message_select(d)} WHERE o.campaign_id = ? AND o.id > ?"
        params: list[Any] = [campaign_id, after_id]
        if states is not None:
            sql += f" AND {d.in_('o.state')}"
            params.append(d.many(MessageState(s).value for s in states))
        sql += " ORDER BY o.id LIMIT ?"
        params.append(max(limit, 0))
        with self._read() as tx:
            return [message_from_row(d, row) for row in tx.rows(sql, params)]

    def next_due(self, now: datetime) -> datetime | None:
        """When the earliest held or pending message of a sending campaign is due."""
        with self._read() as tx:
            value = tx.value(
                "SELECT min(o.due_at) FROM campaigns c JOIN outbox o ON o.campaign_id = c.id"
                " WHERE c.state = 'sending' AND o.state IN ('pending', 'held')"
            )
        return self.dialect.from_ts(value)

    # -- delivery reports --------------------------------------------------------------
    def _reported_message(self, tx: Tx, report: DeliveryReport) -> tuple[int, MessageState] | None:
        """Id and state of the message a report names, its row locked."""
        d = self.dialect
        if report.provider_id is not None:
            row = tx.row(
                "SELECT id, state FROM outbox WHERE provider_id = ?"
                f" ORDER BY updated_at DESC, id DESC LIMIT 1{d.for_update}",
                (report.provider_id,),
            )
            if row is not None:
                return int(row[0]), MessageState(row[1])
        ids = None if report.client_id is None else _client_message_id(report.client_id)
        if ids is None:
            return None
        row = tx.row(
            f"SELECT id, state FROM outbox WHERE id = ? AND campaign_id = ?{d.for_update}",
            (ids[1], ids[0]),
        )
        return None if row is None else (int(row[0]), MessageState(row[1]))

    def ingest_report(self, report: DeliveryReport, *, now: datetime) -> bool:
        """Apply a delivery report to the message it names (forward only); a report
        for an unknown message is kept and False returned."""
        d = self.dialect
        state = MessageState(report.state)
        with self._write() as tx:
            found = self._reported_message(tx, report)
            if found is None:
                tx.run(
                    f"INSERT INTO reports ({columns(REPORT_COLUMNS)}, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        state.value,
                        report.provider_id,
                        report.client_id,
                        report.reason,
                        d.ts(report.at),
                        report.raw,
                        d.ts(now),
                    ),
                )
                return False
            message_id, current = found
            if STATE_RANK[state] > STATE_RANK[current]:
                tx.run(
                    "UPDATE outbox SET state = ?, reason = coalesce(?, reason), updated_at = ?"
                    " WHERE id = ?",
                    (state.value, report.reason or None, d.ts(now), message_id),
                )
            return True

    def unmatched_reports(self) -> list[DeliveryReport]:
        """Reports that named no known message, in arrival order."""
        with self._read() as tx:
            rows = tx.rows(f"SELECT {columns(REPORT_COLUMNS)} FROM reports ORDER BY id")
        return [report_from_row(self.dialect, row) for row in rows]
