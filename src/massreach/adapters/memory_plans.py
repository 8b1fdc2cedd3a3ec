"""Scheduled work of the ``memory:`` backend: import plans (leases, batches, row results,
files, mappings) and scheduled jobs."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs

from massreach.adapters.memory_contacts import MemoryContacts
from massreach.adapters.memory_state import in_utc, locked
from massreach.errors import NotFound
from massreach.model import Contact, ContactKeys, ImportBatch, ImportPlan, PlanState, RowResult
from massreach.model.jobs import JobState, ScheduledJob

__all__ = ["MemoryPlans"]

T = TypeVar("T")


def _lease_ran_out(plan: ImportPlan, now: datetime) -> bool:
    return plan.lease_until is None or plan.lease_until <= now


def _due(plan: ImportPlan, now: datetime) -> bool:
    if plan.state is PlanState.pending:
        return plan.run_at is None or plan.run_at <= now
    return plan.state is PlanState.running and _lease_ran_out(plan, now)


class MemoryPlans(MemoryContacts):
    """Import plans over the in-memory contacts (a batch touches both at once)."""

    def _plan_or_raise(self, plan_id: int) -> ImportPlan:
        plan = self._plans.get(plan_id)
        if plan is None:
            raise NotFound(
                f"There is no import plan {plan_id}.",
                code="plan.not_found",
                details={"plan_id": plan_id},
            )
        return plan

    @locked
    def create_plan(self, plan: ImportPlan) -> ImportPlan:
        """Store a new plan (its ``id`` is ignored); returns it with its id."""
        stored = in_utc(attrs.evolve(plan, id=self._next_id("plan")))
        self._plans[stored.id] = stored
        return stored

    @locked
    def get_plan(self, plan_id: int) -> ImportPlan | None:
        """One plan by id."""
        return self._plans.get(plan_id)

    @locked
    def plans(self) -> list[ImportPlan]:
        """Every plan, newest first."""
        return [self._plans[key] for key in sorted(self._plans, reverse=True)]

    @locked
    def save_plan(self, plan: ImportPlan) -> None:
        """Overwrite a stored plan, all but its cursor (only batches move it)."""
        stored = self._plan_or_raise(plan.id)
        self._plans[plan.id] = in_utc(attrs.evolve(plan, cursor=stored.cursor))

    @locked
    def claim_plan(
        self, plan_id: int, *, worker: str, now: datetime, lease: timedelta
    ) -> ImportPlan | None:
        """Run a pending plan, or a running one whose lease ran out, for ``worker``."""
        plan = self._plans.get(plan_id)
        now = now.astimezone(UTC)
        if plan is None:
            return None
        if plan.state is PlanState.running:
            if plan.lease_owner != worker and not _lease_ran_out(plan, now):
                return None
        elif plan.state is not PlanState.pending:
            return None
        claimed = attrs.evolve(
            plan,
            state=PlanState.running,
            lease_owner=worker,
            lease_until=now + lease,
            started_at=plan.started_at or now,
        )
        self._plans[plan_id] = claimed
        return claimed

    @locked
    def due_plans(self, now: datetime) -> list[ImportPlan]:
        """Pending plans whose time has come and running plans whose lease ran out."""
        return [self._plans[key] for key in sorted(self._plans) if _due(self._plans[key], now)]

    @locked
    def delete_plan(self, plan_id: int) -> bool:
        """Delete a plan with its row results and stored file (not the contacts)."""
        existed = self._plans.pop(plan_id, None) is not None
        self._row_results.pop(plan_id, None)
        stored = self._plan_files.pop(plan_id, None)
        if stored is not None:
            stored.unlink(missing_ok=True)
        return existed

    def apply_import_batch(
        self,
        batch: ImportBatch,
        *,
        now: datetime,
        meanwhile: Callable[[], T] | None = None,
        lookahead: ContactKeys | None = None,
        decide_next: Callable[[list[Contact]], ImportBatch] | None = None,
    ) -> T | None:
        """Insert, update, store results, add counts and move the cursor, all or
        nothing; then return ``meanwhile()`` (nothing here runs beside it, and
        neither ``lookahead`` nor ``decide_next`` is needed: lookups cost nothing
        here)."""
        self._apply_batch(batch, now)
        return meanwhile() if meanwhile is not None else None

    @locked
    def _apply_batch(self, batch: ImportBatch, now: datetime) -> None:
        plan = self._plan_or_raise(batch.plan_id)
        if batch.cursor <= plan.cursor:
            return
        drafts = batch.drafts()
        self._check_phones(drafts, self._moves(batch.updates))
        self._insert(drafts)
        for update in batch.updates:
            self._apply_update(update, now.astimezone(UTC))
        results = self._row_results.setdefault(plan.id, {})
        for result in batch.results:
            results[result.row] = attrs.evolve(result, plan_id=plan.id)
        self._plans[plan.id] = attrs.evolve(
            plan, counts=plan.counts + batch.counts, cursor=batch.cursor
        )

    @locked
    def row_results(
        self, plan_id: int, *, outcome: str | None = None, after_row: int = 0, limit: int = 1000
    ) -> list[RowResult]:
        """Row results of a plan ordered by row, ``row > after_row``."""
        results = self._row_results.get(plan_id, {})
        chosen = [
            results[row]
            for row in sorted(results)
            if row > after_row and (outcome is None or results[row].outcome == outcome)
        ]
        return chosen[:limit]

    @locked
    def store_plan_file(self, plan_id: int, source: Path) -> None:
        """Keep a copy of the plan's original file in the storage's own directory."""
        self._plan_or_raise(plan_id)
        target = self._files_dir() / f"plan-{plan_id}{Path(source).suffix}"
        shutil.copyfile(source, target)
        previous = self._plan_files.get(plan_id)
        if previous is not None and previous != target:
            previous.unlink(missing_ok=True)
        self._plan_files[plan_id] = target

    @locked
    def plan_file(self, plan_id: int) -> AbstractContextManager[Path]:
        """A context manager giving the path of the plan's stored file; NotFound if none."""
        stored = self._plan_files.get(plan_id)
        if stored is None:
            raise NotFound(
                f"Import plan {plan_id} has no stored file.",
                code="plan.file_not_found",
                details={"plan_id": plan_id},
            )
        return nullcontext(stored)

    @locked
    def remember_mapping(self, signature: str, mapping: Sequence[tuple[str, str]]) -> None:
        """Remember the column mapping used for a header set (by its signature)."""
        self._mappings[signature] = tuple((str(a), str(b)) for a, b in mapping)

    @locked
    def recall_mapping(self, signature: str) -> tuple[tuple[str, str], ...] | None:
        """The mapping last used for this header set, or None."""
        return self._mappings.get(signature)

    # -- scheduled jobs ------------------------------------------------------------
    def _job_copy(self, job: ScheduledJob) -> ScheduledJob:
        return attrs.evolve(
            job, payload=copy.deepcopy(job.payload), result=copy.deepcopy(job.result)
        )

    @locked
    def create_job(self, job: ScheduledJob) -> ScheduledJob:
        """Store a new scheduled job (its ``id`` is ignored); returns it with its id."""
        stored = in_utc(self._job_copy(attrs.evolve(job, id=self._next_id("job"))))
        self._jobs[stored.id] = stored
        return self._job_copy(stored)

    @locked
    def get_job(self, job_id: int) -> ScheduledJob | None:
        """One job by id."""
        job = self._jobs.get(job_id)
        return None if job is None else self._job_copy(job)

    @locked
    def jobs(self, kind: str) -> list[ScheduledJob]:
        """Every job of a kind, newest first."""
        return [
            self._job_copy(self._jobs[key])
            for key in sorted(self._jobs, reverse=True)
            if self._jobs[key].kind == kind
        ]

    @locked
    def claim_due_jobs(
        self, kind: str, *, worker: str, now: datetime, lease: timedelta
    ) -> list[ScheduledJob]:
        """Claim due pending jobs and running ones whose lease ran out, by run_at, id."""
        now = now.astimezone(UTC)
        due = sorted(
            (
                job
                for job in self._jobs.values()
                if job.kind == kind
                and (
                    (job.state is JobState.pending and job.run_at <= now)
                    or (
                        job.state is JobState.running
                        and (job.lease_until is None or job.lease_until <= now)
                    )
                )
            ),
            key=lambda job: (job.run_at, job.id),
        )
        claimed = []
        for job in due:
            running = attrs.evolve(
                job, state=JobState.running, lease_owner=worker, lease_until=now + lease
            )
            self._jobs[job.id] = running
            claimed.append(self._job_copy(running))
        return claimed

    @locked
    def finish_job(
        self,
        job_id: int,
        *,
        state: JobState,
        now: datetime,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record that a job is done (with its result) or failed (with an error)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(
                f"There is no scheduled job {job_id}.",
                code="job.not_found",
                details={"job_id": job_id},
            )
        self._jobs[job_id] = attrs.evolve(
            job,
            state=JobState(state),
            finished_at=now.astimezone(UTC),
            result=None if result is None else copy.deepcopy(dict(result)),
            error=error,
            lease_owner=None,
            lease_until=None,
        )
