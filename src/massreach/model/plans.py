"""Import plans: one scheduled run of a file import, its options, counts and row results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal

from attrs import field, frozen, validators

from massreach.core.distribution import ProcessingStatus
from massreach.core.normalize import ImportedRecord
from massreach.core.record_batch import RecordSelection
from massreach.model.contacts import ContactDraft, ContactUpdate
from massreach.model.fields import aware, to_tuple


class PlanState(StrEnum):
    """Where an import plan is: pending (waiting for its time), running, done, failed."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


@frozen
class DuplicatePolicy:
    """What to do when an incoming record already exists (in the file or in storage).

    - ``on_duplicate``: ``skip`` the row, or ``update`` the existing record with it.
    - ``clear_owner``: an existing record owned by an agent is imported again with
      its owner cleared (it becomes new, redistributable data); ``False``: such a
      record is not imported again.
    - ``reset_status``: an existing record already worked (follow up, failed,
      succeeded) is reset to unprocessed; ``False``: such a record is skipped.
    - ``other_list``: the record belongs to another list: ``skip`` it, or ``move``
      it to this list.
    """

    on_duplicate: Literal["skip", "update"] = field(
        default="skip", validator=validators.in_(("skip", "update"))
    )
    clear_owner: bool = False
    reset_status: bool = False
    other_list: Literal["skip", "move"] = field(
        default="skip", validator=validators.in_(("skip", "move"))
    )


@frozen
class ImportOptions:
    """Everything a user chose for one import plan."""

    kind: str = field(
        default="bulk_send", validator=validators.in_(("bulk_send", "calling", "crm_status"))
    )
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | None = None
    skip_rows: int = field(default=0, validator=validators.ge(0))
    has_header: bool = True
    region: str = "VN"
    tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    mapping: tuple[tuple[str, str], ...] = field(default=(), converter=to_tuple)
    columns: tuple[str, ...] = field(default=(), converter=to_tuple)
    duplicates: DuplicatePolicy = field(factory=DuplicatePolicy)
    timezone: str = "UTC"
    batch_size: int = field(default=10_000, validator=validators.ge(1))


@frozen
class PlanCounts:
    """Rows of a plan by outcome; blank rows are not records and are never counted.

    ``total == succeeded + failed + duplicates``; ``updated`` is the part of
    ``succeeded`` that updated (or moved) an existing record instead of adding one.
    """

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    duplicates: int = 0
    updated: int = 0

    @property
    def success_rate(self) -> float:
        """Succeeded rows as a fraction of all records (0.0 for an empty plan)."""
        return self.succeeded / self.total if self.total else 0.0

    def __add__(self, other: PlanCounts) -> PlanCounts:
        return PlanCounts(
            self.total + other.total,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.duplicates + other.duplicates,
            self.updated + other.updated,
        )


@frozen
class ImportPlan:
    """One import of one file into one list, followed by its id."""

    id: int
    list_id: int
    file_name: str
    options: ImportOptions
    state: PlanState = field(default=PlanState.pending, converter=PlanState)
    counts: PlanCounts = field(factory=PlanCounts)
    cursor: int = 0
    run_at: datetime | None = field(default=None, converter=aware)
    created_at: datetime | None = field(default=None, converter=aware)
    started_at: datetime | None = field(default=None, converter=aware)
    finished_at: datetime | None = field(default=None, converter=aware)
    creator: str | None = None
    file_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    mapping: tuple[tuple[str, str], ...] = field(default=(), converter=to_tuple)
    error_code: str | None = None
    error_message: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = field(default=None, converter=aware)


@frozen
class RowResult:
    """Why one row of a plan was not stored as a new or updated record.

    ``outcome`` is ``failed`` (the row is wrong: ``code``, ``column`` and
    ``message`` say why) or ``duplicate`` (the record already exists).
    """

    plan_id: int
    row: int
    outcome: Literal["failed", "duplicate"] = field(
        validator=validators.in_(("failed", "duplicate"))
    )
    code: str
    message: str
    column: str | None = None
    contact_id: int | None = None


def record_draft(record: ImportedRecord, *, list_id: int, plan_id: int | None) -> ContactDraft:
    """The new contact an imported record stands for: its agent owns it, and a pinned
    callback ("my record" with a date) stays with that agent."""
    return ContactDraft(
        list_id=list_id,
        phone=record.phone,
        email=record.email,
        name=record.name,
        description=record.description,
        gender=record.gender,
        crm_id=record.crm_id,
        tags=record.tags,
        fields=dict(record.fields),
        owner=record.agent,
        status=ProcessingStatus(record.status) if record.status else ProcessingStatus.unprocessed,
        callback_at=record.callback_at,
        callback_agent=record.agent if record.callback_at else None,
        plan_id=plan_id,
    )


def _inserts(
    value: Iterable[ContactDraft | ImportedRecord],
) -> Sequence[ContactDraft | ImportedRecord]:
    """Converter: a batch's inserts as a tuple, or as they are when they are records
    still kept as columns (a :class:`~massreach.core.record_batch.RecordSelection`)."""
    return value if isinstance(value, RecordSelection) else to_tuple(value)


@frozen
class ImportBatch:
    """What one batch of rows does to storage, applied in one transaction.

    ``inserts`` are the new contacts of list ``list_id``, in file order. An insert
    that is an :class:`~massreach.core.normalize.ImportedRecord` (the fast path: a
    million of them are not copied into drafts) stands for
    :func:`record_draft` of it; :meth:`drafts` gives them all as drafts. An
    import's inserts are a tuple, or records still kept as the columns of their
    normalised batch (:class:`~massreach.core.record_batch.RecordSelection`, a
    sequence equal to the tuple of the same records).
    ``cursor`` is the last file row the batch covers: a resumed run starts after it.
    ``counts`` are this batch's counts, added to the plan's.
    """

    plan_id: int
    list_id: int
    inserts: Sequence[ContactDraft | ImportedRecord] = field(converter=_inserts)
    updates: tuple[ContactUpdate, ...] = field(converter=to_tuple)
    results: tuple[RowResult, ...] = field(converter=to_tuple)
    counts: PlanCounts
    cursor: int

    def drafts(self) -> list[ContactDraft]:
        """Every insert as a :class:`ContactDraft`."""
        return [
            record_draft(item, list_id=self.list_id, plan_id=self.plan_id)
            if isinstance(item, ImportedRecord)
            else item
            for item in self.inserts
        ]
