"""Scheduled jobs: work that runs at a set time (a distribution plan, for example)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import field, frozen

from massreach.model.fields import aware


class JobState(StrEnum):
    """pending (waiting for its time), running, done, failed."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


@frozen
class ScheduledJob:
    """One scheduled piece of work of a ``kind`` (``"distribution"``) with its
    ``payload`` (plain JSON data) and, once run, its ``result`` or ``error``."""

    id: int
    kind: str
    payload: dict[str, Any]
    run_at: datetime = field(converter=aware)
    state: JobState = field(default=JobState.pending, converter=JobState)
    created_by: str | None = None
    created_at: datetime | None = field(default=None, converter=aware)
    finished_at: datetime | None = field(default=None, converter=aware)
    result: dict[str, Any] | None = None
    error: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = field(default=None, converter=aware)
