"""Import plans, the use case: create, run (or resume), follow, export, delete.

The shell only orchestrates: the reader streams rows, the core normalises them and
decides duplicates, and storage applies each batch together with the plan's cursor
in one transaction, so a run killed at any moment resumes without losing or
doubling a row.
"""

from __future__ import annotations

import inspect
import os
import re
import socket
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import cached_property, partial
from itertools import compress, islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen

from massreach.core.dedup import lookup_keys, plan_batch
from massreach.core.headers import CUSTOM_PREFIX
from massreach.core.mapping import ColumnMapping, positional_mapping, propose_mapping
from massreach.core.normalize import (
    ImportedRecord,
    NormalizeOptions,
    RowFailure,
    RowNormalizer,
    is_blank,
)
from massreach.core.normalize_batch import normalize_batch
from massreach.core.phones import is_valid_email
from massreach.errors import InvalidInput, MassreachError, NotFound
from massreach.model import ContactKeys, ImportBatch, ImportOptions, ImportPlan, PlanState
from massreach.model.contacts import Contact, ContactList, ListFeed
from massreach.row_columns import RowColumns
from massreach.services.collector_pacing import sparse_collections
from massreach.services.context import ServiceContext
from massreach.services.plan_exports import export_plan
from massreach.tables import ReaderRegistry, ReadOptions, Table, row_chunks

#: How long a worker holds a running plan before another may resume it.
PLAN_LEASE = timedelta(minutes=5)
#: Default delay of a scheduled plan created without a time.
DEFAULT_DELAY = timedelta(minutes=1)
#: Rows shown by :meth:`ImportService.inspect`.
SAMPLE_ROWS = 12
#: Non-blank rows looked at for a header below a title (see ``ImportService._header``).
HEADER_SCAN = 20


@frozen
class FilePreview:
    """What a user sees before running an import: detection and proposed mapping."""

    file_name: str
    format: str
    encoding: str | None
    delimiter: str | None
    headers: tuple[str, ...]
    mapping: tuple[tuple[str, str], ...]
    remembered: bool
    sample: tuple[tuple[str, ...], ...]
    #: The row the headers were read from (0 for a file without a header row).
    header_row: int = 0


@frozen
class _Layout:
    """Where a file's header is and how its columns map to fields."""

    header_row: int
    mapping: ColumnMapping
    remembered: bool


def _mapping_pairs(mapping: ColumnMapping) -> tuple[tuple[str, str], ...]:
    return tuple(
        (header, target or "ignore")
        for header, target in zip(mapping.headers, mapping.targets, strict=True)
    )


def _mapping_from_pairs(pairs: Sequence[tuple[str, str]]) -> ColumnMapping:
    return ColumnMapping(
        headers=tuple(h for h, _ in pairs),
        targets=tuple(None if t == "ignore" else t for _, t in pairs),
    )


class ImportService:
    """Import plans for one engine (``Reach.imports``)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.storage = context.storage
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    @cached_property
    def readers(self) -> ReaderRegistry:
        """The table readers registered by plugins."""
        registry = ReaderRegistry()
        for reader in self.context.hooks.readers():
            registry.register(reader)
        return registry

    @cached_property
    def header_aliases(self) -> dict[str, list[str]]:
        """Header names added by plugins."""
        return self.context.hooks.header_aliases()

    # -- looking before importing ------------------------------------------------

    def inspect(self, path: Path | str, options: ImportOptions | None = None) -> FilePreview:
        """Detect the file's format, encoding and delimiter and propose a mapping."""
        path = Path(path)
        options = options or ImportOptions()
        with self._open(path, options, path.name) as table:
            layout = self._layout(table, options, (), path.name)
            sample: list[tuple[str, ...]] = []
            for number, cells in table.rows(start=layout.header_row + 1):
                if number <= layout.header_row or is_blank(cells):
                    continue
                sample.append(tuple(cells))
                if len(sample) >= SAMPLE_ROWS:
                    break
            info = table.info
        return FilePreview(
            file_name=path.name,
            format=info.format,
            encoding=info.encoding,
            delimiter=info.delimiter,
            headers=layout.mapping.headers,
            mapping=_mapping_pairs(layout.mapping),
            remembered=layout.remembered,
            sample=tuple(sample),
            header_row=layout.header_row if options.has_header else 0,
        )

    # -- plans ----------------------------------------------------------------------

    def create_plan(
        self,
        path: Path | str,
        *,
        list_name: str,
        options: ImportOptions | None = None,
        run_at: datetime | None = None,
        creator: str | None = None,
    ) -> ImportPlan:
        """Store the file and schedule its import; returns the plan (with its id) at once.

        ``run_at`` defaults to one minute from now; a time in the past runs at the
        next :meth:`run_due`. The list is created if it does not exist yet (except
        for "CRM records by CSV" plans, whose records must already exist).
        """
        path = Path(path)
        options = options or ImportOptions()
        if not path.is_file():
            raise InvalidInput(
                f"file {str(path)!r} does not exist or is not a file",
                code="import.file_missing",
                file=str(path),
            )
        now = self.context.now()
        target = self._target_list(list_name, options, creator, now)
        when = run_at if run_at is not None else now + DEFAULT_DELAY
        if when.tzinfo is None:
            raise InvalidInput("the run time needs a timezone", code="import.naive_time")
        plan = self.storage.create_plan(
            ImportPlan(
                id=0,
                list_id=target.id,
                file_name=path.name,
                options=options,
                run_at=when,
                created_at=now,
                creator=creator,
            )
        )
        self.storage.store_plan_file(plan.id, path)
        return plan

    def import_file(
        self,
        path: Path | str,
        *,
        list_name: str,
        options: ImportOptions | None = None,
        creator: str | None = None,
    ) -> ImportPlan:
        """Create a plan for now and run it to the end; returns the finished plan."""
        plan = self.create_plan(
            path, list_name=list_name, options=options, run_at=self.context.now(), creator=creator
        )
        return self.run(plan.id)

    def run(self, plan_id: int) -> ImportPlan:
        """Run a plan now, or resume it from its last committed batch.

        A file that cannot be read as a table ends the plan in state ``failed`` with
        the reason in ``error_code``/``error_message``; rows already committed stay.
        """
        now = self.context.now()
        plan = self.storage.claim_plan(plan_id, worker=self.worker, now=now, lease=PLAN_LEASE)
        if plan is None:
            return self.plan(plan_id)
        if plan.started_at is None:
            plan = attrs.evolve(plan, started_at=now)
            self.storage.save_plan(plan)
        try:
            self._run_claimed(plan)
        except MassreachError as exc:
            current = self.plan(plan_id)
            self.storage.save_plan(
                attrs.evolve(
                    current,
                    state=PlanState.failed,
                    finished_at=self.context.now(),
                    error_code=exc.code,
                    error_message=str(exc),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return self.plan(plan_id)
        current = self.plan(plan_id)
        finished = attrs.evolve(
            current,
            state=PlanState.done,
            finished_at=self.context.now(),
            lease_owner=None,
            lease_until=None,
        )
        self.storage.save_plan(finished)
        return finished

    def run_due(self) -> list[ImportPlan]:
        """Run every plan whose time has come (and resume abandoned ones)."""
        return [self.run(plan.id) for plan in self.storage.due_plans(self.context.now())]

    def plan(self, plan_id: int) -> ImportPlan:
        """One plan by id; NotFound if there is none."""
        plan = self.storage.get_plan(plan_id)
        if plan is None:
            raise NotFound(f"there is no import plan {plan_id}", code="plan.not_found")
        return plan

    def plans(self) -> list[ImportPlan]:
        """Every plan, newest first."""
        return self.storage.plans()

    def delete(self, plan_id: int) -> None:
        """Delete a plan, its row results and its stored file (imported records stay)."""
        plan = self.plan(plan_id)
        if (
            plan.state == PlanState.running
            and plan.lease_until
            and plan.lease_until > self.context.now()
        ):
            raise InvalidInput(
                f"import plan {plan_id} is running; delete it when it has finished",
                code="plan.running",
            )
        self.storage.delete_plan(plan_id)

    def export(self, plan_id: int, which: str, destination: Path | str) -> int:
        """Write the ``succeeded``, ``failed`` or ``duplicates`` rows (CSV, original
        columns plus the row number and reason, safe to open in Excel) or the
        ``original`` file to ``destination``; returns the number of rows written."""
        plan = self.plan(plan_id)
        return export_plan(self, plan, which, Path(destination))

    def list_for(self, plan: ImportPlan) -> ContactList:
        """The list a plan imports into."""
        found = self.storage.get_list_by_id(plan.list_id)
        if found is None:
            raise NotFound(f"the list of plan {plan.id} no longer exists", code="list.not_found")
        return found

    # -- the run ------------------------------------------------------------------

    def _target_list(
        self, name: str, options: ImportOptions, creator: str | None, now: datetime
    ) -> ContactList:
        name = name.strip()
        if not name:
            raise InvalidInput("a list name is required", code="import.list_missing")
        found = self.storage.get_list(name)
        if found is not None:
            return found
        if options.kind == "crm_status":
            raise NotFound(
                f"list {name!r} does not exist; CRM status imports update existing records",
                code="list.not_found",
            )
        return self.storage.create_list(name, feed=ListFeed.csv, created_by=creator, now=now)

    def _open(self, path: Path, options: ImportOptions, display_name: str) -> Table:
        read = ReadOptions(
            encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet
        )
        return self.readers.open(path, read, display_name=display_name)

    def _layout(
        self,
        table: Table,
        options: ImportOptions,
        stored: Sequence[tuple[str, str]],
        file_name: str,
    ) -> _Layout:
        """Find the header row and build the mapping (stored > remembered > proposed)."""
        first_row = options.skip_rows + 1
        if not options.has_header:
            if stored:
                return _Layout(options.skip_rows, _mapping_from_pairs(stored), False)
            width = 0
            for _, cells in islice(table.rows(start=first_row), 1):
                width = len(cells)
            mapping = positional_mapping(max(width, len(options.columns)), options.columns)
            return _Layout(options.skip_rows, mapping, False)
        header_row, headers = self._header(table, first_row, auto=not options.skip_rows)
        if not header_row:
            raise InvalidInput(
                "the file has no header row (it is empty after the skipped rows)",
                code="file.no_header",
                file=file_name,
            )
        if stored:
            return _Layout(header_row, _mapping_from_pairs(stored), False)
        mapping = propose_mapping(headers, self.header_aliases)
        remembered = False
        recalled = self.storage.recall_mapping(mapping.signature)
        if recalled and tuple(h for h, _ in recalled) == headers:
            mapping = _mapping_from_pairs(recalled)
            remembered = True
        if options.mapping:
            mapping = mapping.with_overrides(dict(options.mapping))
        return _Layout(header_row, mapping, remembered)

    def _header(self, table: Table, first_row: int, *, auto: bool) -> tuple[int, tuple[str, ...]]:
        """The header row: the first non-blank row from ``first_row`` on (0 if none).

        With ``auto`` (no rows skipped), a title above the header ("DANH SÁCH KHÁCH
        HÀNG", a report's name and date …) is passed over: among the first
        :data:`HEADER_SCAN` non-blank rows, a row whose headers name at least two
        fields, and more than the first row's do, is the header, unless a row that
        holds a phone number or an e-mail address (data) comes before it."""
        first: tuple[int, tuple[str, ...]] = (0, ())
        fields_of_first = 0
        seen = 0
        for number, cells in table.rows(start=first_row):
            if number < first_row or is_blank(cells):
                continue
            headers = tuple(c.strip() for c in cells)
            if not first[0]:
                first = (number, headers)
                if not auto:
                    break
                fields_of_first = self._fields_named(headers)
                if fields_of_first >= 2:
                    break
            elif _holds_contact(headers):
                break  # the data has begun: the first row was the header
            elif self._fields_named(headers) > max(fields_of_first, 1):
                return number, headers
            seen += 1
            if seen > HEADER_SCAN:
                break
        return first

    def _fields_named(self, headers: Sequence[str]) -> int:
        """How many of ``headers`` propose a field (not a custom one)."""
        targets = propose_mapping(headers, self.header_aliases).targets
        return sum(1 for t in targets if t is not None and not t.startswith(CUSTOM_PREFIX))

    def _run_claimed(self, plan: ImportPlan) -> None:
        options = plan.options
        with (
            self.storage.plan_file(plan.id) as path,
            self._open(path, options, plan.file_name) as table,
        ):
            layout = self._layout(table, options, plan.mapping, plan.file_name)
            info = table.info
            plan = attrs.evolve(
                self.plan(plan.id),
                file_format=info.format,
                encoding=info.encoding,
                delimiter=info.delimiter,
                mapping=_mapping_pairs(layout.mapping),
            )
            self.storage.save_plan(plan)
            if options.has_header:
                self.storage.remember_mapping(layout.mapping.signature, plan.mapping)
            normalizer = RowNormalizer(
                layout.mapping,
                NormalizeOptions(
                    kind=options.kind,
                    default_region=options.region,
                    constant_tags=options.tags,
                    timezone=options.timezone,
                ),
            )
            start = max(plan.cursor, layout.header_row) + 1
            total_hint = table.total_rows_hint
            failure: list[MassreachError] = []
            batches = _until_failure(
                _batches(table, start, normalizer, options.batch_size), failure
            )
            with sparse_collections():
                self._run_batches(plan, batches, total_hint)
            if failure:  # the rows before it are stored, with the plan's cursor
                raise failure[0]

    def _run_batches(
        self,
        plan: ImportPlan,
        batches: Iterator[tuple[Sequence[ImportedRecord | RowFailure], int]],
        total_hint: int | None,
    ) -> None:
        # Two batches ahead: while storage writes batch k, batch k+2 is read and
        # normalised (`meanwhile`: SQLite writes without Python's lock), and
        # batch k+1 is decided (`decide_next`) against the stored contacts its
        # keys find (`lookahead`) as they will be once batch k is stored. A
        # storage that does not decide ahead leaves batch k+1 to be decided
        # after batch k, with its own lookup.
        kind = plan.options.kind
        current = next(batches, None)
        if current is None:
            return
        upcoming = next(batches, None)
        batch = self._decide(plan, current[0], current[1], lookup_keys(kind, current[0]))
        del current
        while True:
            lookahead = lookup_keys(kind, upcoming[0]) if upcoming is not None else None
            decided: list[ImportBatch] = []
            hints: dict[str, Any] = {"lookahead": lookahead}
            if upcoming is not None and self._decides_ahead:
                hints["decide_next"] = partial(self._decide_into, decided, plan, *upcoming)
            after = self.storage.apply_import_batch(
                batch,
                now=self.context.now(),
                meanwhile=partial(next, batches, None),
                **hints,
            )
            self._progress(plan.id, batch.cursor, total_hint)
            if upcoming is None or lookahead is None:
                return
            batch = (
                decided[0] if decided else self._decide(plan, upcoming[0], upcoming[1], lookahead)
            )
            upcoming = after

    @cached_property
    def _decides_ahead(self) -> bool:
        """Whether the storage takes ``decide_next`` (a backend written before it
        existed does not)."""
        try:
            parameters = inspect.signature(self.storage.apply_import_batch).parameters
        except (TypeError, ValueError):
            return False
        return "decide_next" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def _decide_into(
        self,
        decided: list[ImportBatch],
        plan: ImportPlan,
        items: Sequence[ImportedRecord | RowFailure],
        last_row: int,
        existing: list[Contact],
    ) -> ImportBatch:
        """The next batch decided ahead (``decide_next``), kept in ``decided``."""
        batch = self._plan_batch(plan, items, last_row, existing)
        decided.append(batch)
        return batch

    def _decide(
        self,
        plan: ImportPlan,
        items: Sequence[ImportedRecord | RowFailure],
        last_row: int,
        keys: ContactKeys,
    ) -> ImportBatch:
        """What one batch does, given what is stored (one lookup per batch, by the
        batch's :func:`~massreach.core.dedup.lookup_keys`)."""
        existing = self.storage.find_contacts_by_keys(
            phones=keys.phones, emails=keys.emails, crm_ids=keys.crm_ids
        )
        return self._plan_batch(plan, items, last_row, existing)

    def _plan_batch(
        self,
        plan: ImportPlan,
        items: Sequence[ImportedRecord | RowFailure],
        last_row: int,
        existing: Sequence[Contact],
    ) -> ImportBatch:
        return plan_batch(
            plan_id=plan.id,
            list_id=plan.list_id,
            kind=plan.options.kind,
            policy=plan.options.duplicates,
            items=items,
            existing=existing,
            cursor=last_row,
        )

    def _progress(self, plan_id: int, rows_done: int, rows_total: int | None) -> None:
        plan = self.plan(plan_id)
        now = self.context.now()
        if plan.lease_until is not None and plan.lease_until - now < PLAN_LEASE / 2:
            plan = attrs.evolve(plan, lease_until=now + PLAN_LEASE)
            self.storage.save_plan(plan)
        self.context.hooks.import_progress(plan, rows_done, rows_total)


def _batches(
    table: Table, start: int, normalizer: RowNormalizer, size: int
) -> Iterator[tuple[Sequence[ImportedRecord | RowFailure], int]]:
    """Non-blank rows from ``start`` on, normalised, in batches with their last row."""
    for first, chunk in row_chunks(table, start, size):
        last_row = first + len(chunk) - 1
        numbers: Sequence[int] = range(first, last_row + 1)
        rows = chunk
        if not _none_blank(chunk):  # blank rows are not records
            keep = [not blank for blank in map(is_blank, chunk)]
            numbers = list(compress(numbers, keep))
            rows = chunk.kept(keep) if type(chunk) is RowColumns else list(compress(chunk, keep))
        yield normalize_batch(normalizer, numbers, rows), last_row


_PHONE_SHAPED = re.compile(r"\+?[0-9][0-9 .()-]{7,22}[0-9]")


def _holds_contact(cells: Sequence[str]) -> bool:
    """Whether a row holds a cell shaped like a phone number, or an e-mail address."""
    return any(_PHONE_SHAPED.fullmatch(cell) or is_valid_email(cell) for cell in cells)


def _until_failure(
    batches: Iterator[tuple[Sequence[ImportedRecord | RowFailure], int]],
    failure: list[MassreachError],
) -> Iterator[tuple[Sequence[ImportedRecord | RowFailure], int]]:
    """``batches`` until reading the file fails (bytes the encoding rejects, a
    quote never closed …): the error goes into ``failure`` and the batches end
    there, so that every batch read before it is still stored."""
    try:
        yield from batches
    except MassreachError as exc:
        failure.append(exc)


def _none_blank(rows: Sequence[list[str]]) -> bool:
    """True when no row is blank, decided by the first cells alone: each is written,
    ASCII and not only spaces (False: ask :func:`is_blank` row by row)."""
    if type(rows) is RowColumns:
        firsts = rows.columns[0]
    elif all(rows):
        firsts = list(map(itemgetter(0), rows))
    else:
        return False
    return all(firsts) and "".join(firsts).isascii() and not any(map(str.isspace, firsts))
