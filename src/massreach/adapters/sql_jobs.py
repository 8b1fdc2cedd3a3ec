"""Scheduled jobs in SQL (distribution plans and other work that runs at a set time).

A claim takes due jobs with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (in a
``BEGIN IMMEDIATE`` transaction on SQLite) and gives them a lease, so no job is
run by two workers at once and a job whose worker died is taken again once its
lease runs out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from massreach.adapters.sql_base import SqlBase
from massreach.adapters.sql_dialect import Dialect, decode_json, encode_json
from massreach.adapters.sql_rows import columns
from massreach.errors import NotFound
from massreach.model.jobs import JobState, ScheduledJob

__all__ = ["SqlJobs"]

JOB_COLUMNS = (
    "id", "kind", "payload", "run_at", "state", "created_by", "created_at", "finished_at",
    "result", "error", "lease_owner", "lease_until",
)  # fmt: skip
_JOB_SELECT = f"SELECT {columns(JOB_COLUMNS)} FROM jobs"


def job_from_row(d: Dialect, row: Sequence[Any]) -> ScheduledJob:
    """A :class:`ScheduledJob` from :data:`JOB_COLUMNS`."""
    run_at = d.from_ts(row[3])
    assert run_at is not None  # NOT NULL column
    return ScheduledJob(
        id=int(row[0]),
        kind=row[1],
        payload=decode_json(row[2]),
        run_at=run_at,
        state=row[4],
        created_by=row[5],
        created_at=d.from_ts(row[6]),
        finished_at=d.from_ts(row[7]),
        result=decode_json(row[8]),
        error=row[9],
        lease_owner=row[10],
        lease_until=d.from_ts(row[11]),
    )


class SqlJobs(SqlBase):
    """Create, list, claim and finish scheduled jobs."""

    def create_job(self, job: ScheduledJob) -> ScheduledJob:
        """Store a new scheduled job (its ``id`` is ignored); returns it with its id."""
        d = self.dialect
        with self._write() as tx:
            job_id = tx.value(
                "INSERT INTO jobs (kind, payload, run_at, state, created_by, created_at,"
                " finished_at, result, error, lease_owner, lease_until)"
                f" VALUES (?, {d.jp}, ?, ?, ?, ?, ?, {d.jp}, ?, ?, ?) RETURNING id",
                (
                    job.kind,
                    encode_json(job.payload),
                    d.ts(job.run_at),
                    JobState(job.state).value,
                    job.created_by,
                    d.ts(job.created_at),
                    d.ts(job.finished_at),
                    None if job.result is None else encode_json(job.result),
                    job.error,
                    job.lease_owner,
                    d.ts(job.lease_until),
                ),
            )
            row = tx.row(f"{_JOB_SELECT} WHERE id = ?", (job_id,))
        return job_from_row(d, row)

    def get_job(self, job_id: int) -> ScheduledJob | None:
        """One job by id."""
        with self._read() as tx:
            row = tx.row(f"{_JOB_SELECT} WHERE id = ?", (job_id,))
        return None if row is None else job_from_row(self.dialect, row)

    def jobs(self, kind: str) -> list[ScheduledJob]:
        """Every job of a kind, newest first."""
        with self._read() as tx:
            rows = tx.rows(f"{_JOB_SELECT} WHERE kind = ? ORDER BY id DESC", (kind,))
        return [job_from_row(self.dialect, row) for row in rows]

    def claim_due_jobs(
        self, kind: str, *, worker: str, now: datetime, lease: timedelta
    ) -> list[ScheduledJob]:
        """Claim pending jobs of ``kind`` due by ``now`` and running ones whose lease
        ran out: they become ``running`` for ``worker`` until ``now + lease``."""
        d = self.dialect
        stamp = d.ts(now)
        with self._write() as tx:
            ids = [
                row[0]
                for row in tx.rows(
                    "SELECT id FROM jobs WHERE kind = ? AND ((state = 'pending' AND run_at <= ?)"
                    " OR (state = 'running' AND (lease_until IS NULL OR lease_until <= ?)))"
                    f" ORDER BY run_at, id{d.skip_locked}",
                    (kind, stamp, stamp),
                )
            ]
            if not ids:
                return []
            rows = tx.rows(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?"
                f" WHERE {d.in_('id')} RETURNING {columns(JOB_COLUMNS)}",
                (worker, d.ts(now + lease), d.many(ids)),
            )
        claimed = [job_from_row(d, row) for row in rows]
        claimed.sort(key=lambda job: (job.run_at, job.id))
        return claimed

    def finish_job(
        self,
        job_id: int,
        *,
        state: JobState,
        now: datetime,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record that a job is ``done`` (with its result) or ``failed`` (with an
        error); its lease is cleared. NotFound for an unknown job."""
        d = self.dialect
        with self._write() as tx:
            changed = tx.run(
                f"UPDATE jobs SET state = ?, finished_at = ?, result = {d.jp}, error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (
                    JobState(state).value,
                    d.ts(now),
                    None if result is None else encode_json(dict(result)),
                    error,
                    job_id,
                ),
            )
        if not changed:
            raise NotFound(
                f"There is no scheduled job {job_id}.",
                code="job.not_found",
                details={"job_id": job_id},
            )
