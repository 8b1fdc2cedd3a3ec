"""The ``Storage`` protocol: everything massreach keeps, one backend at a time.

Backends (memory, SQLite, PostgreSQL, third-party ones) implement this protocol and
pass the conformance suite in :mod:`massreach.testing`. Rules every backend keeps:

- a phone (E.164) appears at most once per list, and a stored phone never changes;
- emails compare case-insensitively (``email.casefold()``);
- every method that writes does so in one transaction: it happens whole or not at all;
- methods that several workers may call at once (claims, counters, distribution)
  are safe under concurrency: nothing is claimed, assigned or counted twice;
- times are timezone-aware and returned in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from massreach.core.distribution import ProcessingStatus, Scope, Share
from massreach.model import (
    Agent,
    AudienceFigures,
    Campaign,
    Contact,
    ContactDraft,
    ContactKeys,
    ContactList,
    ContactQuery,
    ContactUpdate,
    DeliveryReport,
    ImportBatch,
    ImportPlan,
    MessageOutcome,
    MessageState,
    OutboxMessage,
    RowResult,
    TaskStats,
    Template,
)
from massreach.model.contacts import ListFeed
from massreach.model.jobs import JobState, ScheduledJob

T = TypeVar("T")

#: Called by :meth:`Storage.distribute` with the number of records in scope; returns
#: how many of them each agent gets, in order.
SharePlanner = Callable[[int], Sequence[Share]]


@runtime_checkable
class Storage(Protocol):
    """Everything massreach stores. See the module docstring for the rules."""

    url: str

    def close(self) -> None:
        """Release connections and files."""

    # -- lists ---------------------------------------------------------------
    def create_list(
        self, name: str, *, feed: ListFeed, created_by: str | None, now: datetime
    ) -> ContactList:
        """Create a list; ConflictError if the name is taken."""

    def get_list(self, name: str) -> ContactList | None:
        """The list with this name, or None."""

    def get_list_by_id(self, list_id: int) -> ContactList | None:
        """The list with this id, or None."""

    def lists(self) -> list[ContactList]:
        """Every list, by id."""

    # -- contacts ------------------------------------------------------------
    def find_contacts_by_keys(
        self, *, phones: Sequence[str], emails: Sequence[str], crm_ids: Sequence[str]
    ) -> list[Contact]:
        """Contacts in ANY list whose phone, email (case-insensitive) or CRM id is given,
        each once, in the order of their ids.

        One query per call: this is the per-batch duplicate lookup of an import.
        """

    def add_contacts(self, drafts: Sequence[ContactDraft], *, now: datetime) -> list[int]:
        """Store new contacts at the end of their lists; returns their ids in order.

        ConflictError (nothing stored) if a phone is already in the same list (or
        twice in ``drafts``); NotFound (nothing stored) for an unknown list.
        """

    def update_contacts(self, updates: Sequence[ContactUpdate], *, now: datetime) -> None:
        """Apply changes to stored contacts (never their phone); ids that no longer
        exist are skipped. A move (``move_to_list``) puts the contact at the end of
        the other list; ConflictError (nothing changed) if its phone is there."""

    def delete_contacts(self, contact_ids: Sequence[int]) -> int:
        """Delete contacts; returns how many existed."""

    def get_contact(self, contact_id: int) -> Contact | None:
        """One contact by id."""

    def find_contacts(
        self, query: ContactQuery, *, limit: int | None = None, after_id: int = 0
    ) -> list[Contact]:
        """Contacts matching every part of ``query`` (``tags``: any of them; ``email``
        and ``name_contains`` case-insensitive), by id, ``id > after_id``, at most
        ``limit``. Page with ``after_id``."""

    def count_contacts(self, query: ContactQuery) -> int:
        """How many contacts match ``query``."""

    # -- import plans ----------------------------------------------------------
    def create_plan(self, plan: ImportPlan) -> ImportPlan:
        """Store a new plan (its ``id`` is ignored); returns it with its id."""

    def get_plan(self, plan_id: int) -> ImportPlan | None:
        """One plan by id."""

    def plans(self) -> list[ImportPlan]:
        """Every plan, newest first."""

    def save_plan(self, plan: ImportPlan) -> None:
        """Overwrite a stored plan (state, counts, detection results, error, lease …)
        with everything but its cursor, which only :meth:`apply_import_batch` moves.
        NotFound for an unknown plan."""

    def claim_plan(
        self, plan_id: int, *, worker: str, now: datetime, lease: timedelta
    ) -> ImportPlan | None:
        """Mark a pending plan, or a running one whose lease ran out, as running for
        ``worker`` until ``now + lease`` (``started_at`` set if unset); the holder may
        claim again to renew. None if another worker holds it, it is done or failed,
        or it does not exist."""

    def due_plans(self, now: datetime) -> list[ImportPlan]:
        """Pending plans whose time has come and running plans whose lease ran out."""

    def delete_plan(self, plan_id: int) -> bool:
        """Delete a plan with its row results and stored file (not the contacts)."""

    def apply_import_batch(
        self,
        batch: ImportBatch,
        *,
        now: datetime,
        meanwhile: Callable[[], T] | None = None,
        lookahead: ContactKeys | None = None,
        decide_next: Callable[[list[Contact]], ImportBatch] | None = None,
    ) -> T | None:
        """In ONE transaction: insert ``batch.inserts``, apply ``batch.updates``, store
        ``batch.results``, add ``batch.counts`` to the plan and set its cursor.
        A batch whose cursor is not beyond the plan's stored cursor is ignored
        (it was already applied). ConflictError (nothing applied) as in
        :meth:`add_contacts`; a result for a row already stored replaces it.

        ``meanwhile`` (optional, must not use this storage) is called once, on the
        calling thread; a backend may run it while the batch is being written
        (the import passes "read and normalise the next batch"). Its return
        value is returned; what it raises is raised after the batch is stored.

        ``lookahead`` (optional) names the keys of the caller's next
        :meth:`find_contacts_by_keys`. A backend may look them up once the
        batch is written, beside ``meanwhile``, and answer that next call (with
        exactly these keys, and no write in between) from what it found; it may
        also ignore the hint. Either way the answers are the same.

        ``decide_next`` (optional, with ``lookahead``) decides the caller's next
        batch from the contacts that ``find_contacts_by_keys`` with the
        ``lookahead`` keys answers once this batch is stored, and returns that
        batch. A backend may call it once, on the calling thread, after
        ``meanwhile``, while this batch is still being written (and may prepare
        the returned batch's writes then); it may also never call it, and the
        caller then looks the contacts up itself. What it raises is raised once
        the batch is stored."""

    def row_results(
        self, plan_id: int, *, outcome: str | None = None, after_row: int = 0, limit: int = 1000
    ) -> list[RowResult]:
        """Row results of a plan ordered by row, ``row > after_row``."""

    def store_plan_file(self, plan_id: int, source: Path) -> None:
        """Keep a copy of the plan's original file."""

    def plan_file(self, plan_id: int) -> AbstractContextManager[Path]:
        """A context manager giving a local path to the plan's original file.
        NotFound if none is stored."""

    def remember_mapping(self, signature: str, mapping: Sequence[tuple[str, str]]) -> None:
        """Remember the column mapping used for a header set (by its signature)."""

    def recall_mapping(self, signature: str) -> tuple[tuple[str, str], ...] | None:
        """The mapping last used for this header set, or None."""

    # -- agents and distribution ---------------------------------------------------
    def save_agent(self, agent: Agent) -> None:
        """Add or replace an agent."""

    def agents(self, *, active_only: bool = False) -> list[Agent]:
        """Agents by id."""

    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id."""

    def distribute(
        self,
        list_id: int,
        *,
        scope: Scope,
        planner: SharePlanner,
        order: str,
        now: datetime,
    ) -> tuple[Share, ...]:
        """Atomically: count the list's records in ``scope`` at ``now``, ask ``planner``
        for the shares, and give the first ``share.count`` records (in ``order``:
        ``position`` = import order, or ``priority`` = priority descending, records
        without one last; ties by position, then id) to each agent in turn,
        setting ``assigned_at``. Scope ``unassigned``: records with no owner;
        ``unprocessed``: every record not worked yet, owned or not (records taken
        back change owner). Pinned callbacks (``callback_at > now``) are in no scope.
        Records in scope beyond the sum of the shares keep their owner; shares
        asking for more than are in scope raise InvalidInput and change nothing
        (the rule of :func:`massreach.core.distribution.distribute`). Concurrent
        calls never assign a record twice. Returns the shares applied."""

    def assign_matching(
        self, query: ContactQuery, *, agent: str, limit: int | None, now: datetime
    ) -> int:
        """Give up to ``limit`` contacts matching ``query`` (unprocessed, not already
        ``agent``'s, not pinned to another agent before their callback date), in
        import order (list, then position), to ``agent``; returns how many."""

    def mark_processed(
        self, contact_id: int, *, status: ProcessingStatus, now: datetime
    ) -> Contact:
        """Record the processing status an agent set on a record (``processed_at``
        is ``now``, or None for ``unprocessed``); NotFound for an unknown contact."""

    def task_stats(self, list_id: int, *, now: datetime) -> TaskStats:
        """total, completed (status not unprocessed), assigned (owner set),
        unassigned (no owner; ``assigned + unassigned == total``), and per agent
        (by agent id) the records it owns and how many of them are worked."""

    # -- scheduled jobs ----------------------------------------------------------------
    def create_job(self, job: ScheduledJob) -> ScheduledJob:
        """Store a new scheduled job (its ``id`` is ignored); returns it with its id."""

    def get_job(self, job_id: int) -> ScheduledJob | None:
        """One job by id."""

    def jobs(self, kind: str) -> list[ScheduledJob]:
        """Every job of a kind, newest first."""

    def claim_due_jobs(
        self, kind: str, *, worker: str, now: datetime, lease: timedelta
    ) -> list[ScheduledJob]:
        """Claim pending jobs of ``kind`` whose ``run_at <= now`` (and running ones whose
        lease ran out): they become ``running`` for ``worker`` until ``now + lease``.
        No job is claimed by two workers at once."""

    def finish_job(
        self,
        job_id: int,
        *,
        state: JobState,
        now: datetime,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record that a job is ``done`` (with its result) or ``failed`` (with an error)."""

    # -- templates and campaigns ---------------------------------------------------
    def save_template(self, template: Template) -> None:
        """Add or replace a template by name."""

    def get_template(self, name: str) -> Template | None:
        """One template by name."""

    def templates(self) -> list[Template]:
        """Every template by name."""

    def create_campaign(self, campaign: Campaign) -> Campaign:
        """Store a new campaign (id ignored); ConflictError if the name is taken."""

    def save_campaign(self, campaign: Campaign) -> None:
        """Overwrite a stored campaign; NotFound if unknown, ConflictError if its
        name is another campaign's."""

    def get_campaign(self, name: str) -> Campaign | None:
        """One campaign by name."""

    def get_campaign_by_id(self, campaign_id: int) -> Campaign | None:
        """One campaign by id."""

    def campaigns(self) -> list[Campaign]:
        """Every campaign by id."""

    def audience_figures(self, campaign: Campaign, *, channel_field: str) -> AudienceFigures:
        """Total contacts in the campaign's source, contacts reachable (non-empty
        ``channel_field`` and not opted out) and per tag ``reachable/total``; when
        the campaign names tags, only contacts with one of them count as reachable
        audience, but every tag of the source is listed."""

    def audience(
        self, campaign: Campaign, *, channel_field: str, limit: int, after_id: int = 0
    ) -> list[Contact]:
        """Reachable audience contacts by id (``id > after_id``), at most ``limit``."""

    def expand_audience(self, campaign: Campaign, *, channel_field: str, now: datetime) -> int:
        """Create one pending outbox message per distinct target (compared
        case-insensitively; the contact with the lowest id wins) of the reachable
        audience (set-based, no list in memory), with ``contact.variables()``, due at
        ``campaign.scheduled_at or now``. A target already in the campaign's outbox
        (in any state) gets no second message. Returns how many were created."""

    # -- outbox ---------------------------------------------------------------------
    def claim_messages(
        self,
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        campaign_ids: Sequence[int] | None = None,
    ) -> list[OutboxMessage]:
        """Claim due messages of campaigns in state ``sending``: pending or held ones
        with ``due_at <= now`` and ``sending`` ones whose lease ran out. Claimed
        messages become ``sending`` with ``lease_owner=worker`` and ``lease_until =
        now + lease``, earliest ``due_at`` first (then id). Many workers may call
        this at once; no message is claimed by two of them at the same time."""

    def record_outcomes(
        self, outcomes: Sequence[MessageOutcome], *, worker: str, now: datetime
    ) -> int:
        """Record what happened to claimed messages (only those ``worker`` still holds:
        state ``sending`` with ``lease_owner == worker``); returns how many were
        recorded. Each gets the outcome's state and reason, its provider id and
        ``due_at`` when given, one more attempt if ``count_attempt``, ``sent_at = now``
        when first sent or accepted, and its lease cleared."""

    def cancel_messages(self, campaign_id: int, *, now: datetime) -> int:
        """Cancel a campaign's pending and held messages."""

    def message_counts(self, campaign_id: int) -> dict[MessageState, int]:
        """How many messages the campaign has in each state (states with none omitted)."""

    def messages(
        self,
        campaign_id: int,
        *,
        states: Sequence[MessageState] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[OutboxMessage]:
        """A campaign's messages by id."""

    def next_due(self, now: datetime) -> datetime | None:
        """When the earliest held or pending message of a sending campaign is due."""

    def ingest_report(self, report: DeliveryReport, *, now: datetime) -> bool:
        """Apply a delivery report to the message it names by provider id, else by
        client id (``mr-<campaign>-<message>``), moving it forward only (see
        ``STATE_RANK``). A report for an unknown message is kept; returns False
        for it (True for a known message, moved or not)."""

    def unmatched_reports(self) -> list[DeliveryReport]:
        """Reports that named no known message."""

    # -- counters, rate slots, opt-outs -------------------------------------------
    def reserve_counters(self, limits: Sequence[tuple[str, int]]) -> bool:
        """Atomically: if every counter ``key`` is below its ``limit``, add one to each
        and return True; otherwise change nothing and return False."""

    def release_counters(self, keys: Sequence[str]) -> None:
        """Take one back from each counter (a reserved send that did not happen);
        a counter never goes below zero."""

    def counter_values(self, keys: Sequence[str]) -> dict[str, int]:
        """Current values (0 for unknown keys)."""

    def reserve_window(
        self, key: str, *, now: datetime, window: timedelta, limit: int
    ) -> datetime | None:
        """Rolling-window cap: if fewer than ``limit`` events of ``key`` lie in
        ``(now - window, now]``, record one at ``now`` and return None; otherwise
        return the first time one more would fit. InvalidInput unless ``limit >= 1``
        and ``window`` is positive. A key is always used with the same ``window``
        (name the window in the key), so a backend may forget events older than it."""

    def release_window(self, key: str, *, at: datetime) -> bool:
        """Take back ONE event of ``key`` recorded at ``at`` by :meth:`reserve_window`
        (a reserved send that did not happen); returns False when there is none."""

    def take_rate_slot(self, key: str, *, rate_per_second: float, now: datetime) -> float:
        """Shared rate limit: book the next send slot of ``key``; returns how many
        seconds to wait before using it (0 when it is free now). Slots are
        ``1 / rate_per_second`` apart; InvalidInput unless the rate is positive."""

    def add_opt_outs(self, targets: Sequence[str], *, now: datetime) -> int:
        """Add phones (E.164) or emails to the opt-out list; returns how many were new."""

    def remove_opt_out(self, target: str) -> bool:
        """Remove one target from the opt-out list."""

    def opted_out(self, targets: Sequence[str]) -> set[str]:
        """Which of ``targets`` are opted out (emails case-insensitively)."""


class StorageFactory(Protocol):
    """Opens a storage backend for a URL; registered by plugins per URL scheme."""

    schemes: tuple[str, ...]

    def open(self, url: str, options: Mapping[str, str]) -> Storage:
        """Open (and migrate) the backend; StorageError with a clear message if not."""
