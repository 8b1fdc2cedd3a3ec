"""Import plans in SQL: plans and their leases, batches, row results, original files,
remembered mappings.

A batch (:meth:`SqlPlans.apply_import_batch`) is one transaction: the plan row is
locked, the batch is ignored when its cursor is not beyond the stored one (it was
applied before a crash), otherwise its inserts, updates, row results, counts and
cursor are written together. A resumed run therefore neither loses nor doubles rows.

Original files are kept by the backend: by default in the database as chunks
(``plan_file_chunks``, PostgreSQL); SQLite overrides the three ``_file`` hooks to
keep them in a folder beside the database.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs

from massreach.adapters.sql_base import Tx
from massreach.adapters.sql_contacts import SqlContacts
from massreach.adapters.sql_dialect import encode_json
from massreach.adapters.sql_rows import (
    CONTACT_COLUMNS,
    PLAN_COLUMNS,
    ROW_RESULT_COLUMNS,
    columns,
    contact_from_row,
    inserted_rows,
    mapping_from_json,
    plan_from_row,
    plan_params,
    record_values,
    row_result_from_row,
)
from massreach.core.normalize import ImportedRecord
from massreach.core.record_batch import RecordSelection
from massreach.errors import NotFound
from massreach.model import (
    Contact,
    ContactKeys,
    ImportBatch,
    ImportPlan,
    PlanState,
    RowResult,
)

T = TypeVar("T")
U = TypeVar("U")

__all__ = ["SqlPlans"]

_PLAN_SELECT = f"SELECT {columns(PLAN_COLUMNS)} FROM plans"
_CHUNK = 1 << 20


def _no_plan(plan_id: int) -> NotFound:
    return NotFound(
        f"There is no import plan {plan_id}.",
        code="plan.not_found",
        details={"plan_id": plan_id},
    )


class SqlPlans(SqlContacts):
    """Import plans over the SQL contacts (a batch touches both in one transaction)."""

    def create_plan(self, plan: ImportPlan) -> ImportPlan:
        """Store a new plan (its ``id`` is ignored); returns it with its id."""
        values = plan_params(self.dialect, plan)
        values["row_cursor"] = plan.cursor
        names = list(values)
        marks = ", ".join(self.dialect.jp if n in ("options", "mapping") else "?" for n in names)
        with self._write() as tx:
            plan_id = tx.value(
                f"INSERT INTO plans ({', '.join(names)}) VALUES ({marks}) RETURNING id",
                list(values.values()),
            )
            row = tx.row(f"{_PLAN_SELECT} WHERE id = ?", (plan_id,))
        return plan_from_row(self.dialect, row)

    def get_plan(self, plan_id: int) -> ImportPlan | None:
        """One plan by id."""
        with self._read() as tx:
            row = tx.row(f"{_PLAN_SELECT} WHERE id = ?", (plan_id,))
        return None if row is None else plan_from_row(self.dialect, row)

    def plans(self) -> list[ImportPlan]:
        """Every plan, newest first."""
        with self._read() as tx:
            rows = tx.rows(f"{_PLAN_SELECT} ORDER BY id DESC")
        return [plan_from_row(self.dialect, row) for row in rows]

    def save_plan(self, plan: ImportPlan) -> None:
        """Overwrite a stored plan, all but its cursor (only batches move it)."""
        values = plan_params(self.dialect, plan)
        sets = ", ".join(
            f"{n} = {self.dialect.jp if n in ('options', 'mapping') else '?'}" for n in values
        )
        with self._write() as tx:
            if not tx.run(f"UPDATE plans SET {sets} WHERE id = ?", [*values.values(), plan.id]):
                raise _no_plan(plan.id)

    def claim_plan(
        self, plan_id: int, *, worker: str, now: datetime, lease: timedelta
    ) -> ImportPlan | None:
        """Mark a pending plan, or a running one whose lease ran out (or that
        ``worker`` holds already), as running for ``worker`` until ``now + lease``."""
        d = self.dialect
        with self._write() as tx:
            row = tx.row(f"{_PLAN_SELECT} WHERE id = ?{d.for_update}", (plan_id,))
            if row is None:
                return None
            plan = plan_from_row(d, row)
            if plan.state is PlanState.running:
                lease_ran_out = plan.lease_until is None or plan.lease_until <= now
                if plan.lease_owner != worker and not lease_ran_out:
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
            tx.run(
                "UPDATE plans SET state = ?, lease_owner = ?, lease_until = ?, started_at = ?"
                " WHERE id = ?",
                (
                    claimed.state.value,
                    worker,
                    d.ts(claimed.lease_until),
                    d.ts(claimed.started_at),
                    plan_id,
                ),
            )
            row = tx.row(f"{_PLAN_SELECT} WHERE id = ?", (plan_id,))
        return plan_from_row(d, row)

    def due_plans(self, now: datetime) -> list[ImportPlan]:
        """Pending plans whose time has come and running plans whose lease ran out."""
        stamp = self.dialect.ts(now)
        with self._read() as tx:
            rows = tx.rows(
                f"{_PLAN_SELECT} WHERE (state = 'pending' AND (run_at IS NULL OR run_at <= ?))"
                " OR (state = 'running' AND (lease_until IS NULL OR lease_until <= ?))"
                " ORDER BY id",
                (stamp, stamp),
            )
        return [plan_from_row(self.dialect, row) for row in rows]

    def delete_plan(self, plan_id: int) -> bool:
        """Delete a plan with its row results and stored file (not the contacts)."""
        with self._write() as tx:
            suffix = tx.value("SELECT suffix FROM plan_files WHERE plan_id = ?", (plan_id,))
            tx.run("DELETE FROM row_results WHERE plan_id = ?", (plan_id,))
            tx.run("DELETE FROM plan_file_chunks WHERE plan_id = ?", (plan_id,))
            tx.run("DELETE FROM plan_files WHERE plan_id = ?", (plan_id,))
            existed = tx.run("DELETE FROM plans WHERE id = ?", (plan_id,)) > 0
        if suffix is not None:
            self._drop_file(plan_id, str(suffix))
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
        """In ONE transaction: inserts, updates, row results, counts and cursor; a
        batch whose cursor is not beyond the plan's stored cursor is ignored.

        ``meanwhile`` runs while the rows are inserted (see
        :meth:`Dialect.insert_columns`); what it returns is returned, and what it
        raises is raised once the batch is stored. Where the dialect commits
        beside the insert (SQLite) and the batch only inserts, ``lookahead`` is
        looked up on that thread before the rows go in, and the answer that
        :meth:`find_contacts_by_keys` would give once they are in is made from
        it and the batch's own new contacts. ``decide_next`` is then called with
        it, after ``meanwhile``, while the rows are still being written, and the
        contact columns of the batch it returns are made right away (they are
        used when that batch is applied next); without ``decide_next``, the next
        :meth:`find_contacts_by_keys` with these keys is answered from it."""
        d = self.dialect
        raised: list[BaseException] = []

        def guarded(work: Callable[[], U]) -> U | None:
            try:
                return work()
            except BaseException as exc:
                raised.append(exc)
                return None

        def beside() -> T | None:
            return None if meanwhile is None else guarded(meanwhile)

        def decide(
            then: Callable[[list[Contact]], ImportBatch], existing: list[Contact]
        ) -> ImportBatch | None:
            return guarded(partial(then, existing))

        result: T | None = None
        with self._checked_write() as tx:  # the plan is read here, the list by its positions
            stored = tx.value(
                f"SELECT row_cursor FROM plans WHERE id = ?{d.for_update}", (batch.plan_id,)
            )
            if stored is None:
                raise _no_plan(batch.plan_id)
            if batch.cursor <= int(stored):
                result = beside()
            elif d.commits_beside_insert and not batch.updates:
                result = self._store_inserting_batch(
                    tx,
                    batch,
                    now=now,
                    meanwhile=beside,
                    lookahead=lookahead,
                    decide_next=decide_next and partial(decide, decide_next),
                )
            else:
                _, result = self._insert_drafts(
                    tx, batch.inserts, now, batch=batch, meanwhile=beside
                )
                self._apply_updates(tx, batch.updates, now)
                self._store_results(tx, batch)
        if raised:
            raise raised[0]
        return result

    def _store_results(self, tx: Tx, batch: ImportBatch) -> None:
        """A batch's row results, counts and cursor (inside its transaction)."""
        tx.many(
            f"INSERT INTO row_results ({columns(ROW_RESULT_COLUMNS)})"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (plan_id, file_row) DO UPDATE SET"
            " outcome = excluded.outcome, code = excluded.code, message = excluded.message,"
            " column_name = excluded.column_name, contact_id = excluded.contact_id",
            [
                (batch.plan_id, r.row, r.outcome, r.code, r.message, r.column, r.contact_id)
                for r in batch.results
            ],
        )
        counts = batch.counts
        tx.run(
            "UPDATE plans SET total = total + ?, succeeded = succeeded + ?,"
            " failed = failed + ?, duplicates = duplicates + ?, updated = updated + ?,"
            " row_cursor = ? WHERE id = ?",
            (
                counts.total,
                counts.succeeded,
                counts.failed,
                counts.duplicates,
                counts.updated,
                batch.cursor,
                batch.plan_id,
            ),
        )

    def _store_inserting_batch(
        self,
        tx: Tx,
        batch: ImportBatch,
        *,
        now: datetime,
        meanwhile: Callable[[], T | None],
        lookahead: ContactKeys | None,
        decide_next: Callable[[list[Contact]], ImportBatch | None] | None,
    ) -> T | None:
        """:meth:`apply_import_batch` of a batch without updates where the dialect
        commits beside the insert: results and cursor first, the contacts last,
        committed on the inserting thread (see :meth:`Dialect.insert_columns`)."""
        d = self.dialect
        self._store_results(tx, batch)
        _, new = self._draft_columns(tx, batch.inserts, now, batch)
        query = self._keys_query(lookahead) if lookahead is not None else None
        if lookahead is None or query is None:
            return self._insert_columns(tx, new, meanwhile, commit=True)
        keys, (sql, params) = lookahead, query
        packed: list[str | None] = []
        looked_up = threading.Event()

        def before() -> None:
            # One row (the rows as a JSON array): on this second thread every
            # fetched row would wait for Python's lock again.
            try:
                packed.append(tx.value(d.rows_as_json(sql, CONTACT_COLUMNS), params))
            finally:
                looked_up.set()

        def then() -> T | None:
            result = meanwhile()
            looked_up.wait()
            if packed:  # else the lookup failed, and so does the batch
                rows: list[Any] = json.loads(packed[0]) if packed[0] else []
                rows.sort(key=itemgetter(0))  # by id, as find_contacts_by_keys answers
                rows += inserted_rows(new, keys)  # newer than every stored contact
                if decide_next is None:
                    self._prefetched = (keys, rows)
                else:
                    self._prepare(decide_next([contact_from_row(d, row) for row in rows]))
            return result

        return self._insert_columns(tx, new, then, commit=True, before=before)

    def _prepare(self, batch: ImportBatch | None) -> None:
        """Make the contact columns of an import batch before it is applied."""
        records = batch.inserts if batch is not None else ()
        if records and (
            type(records) is RecordSelection
            or all(type(record) is ImportedRecord for record in records)
        ):
            plain = cast("Sequence[ImportedRecord]", records)
            self._prepared = (plain, record_values(self.dialect, plain))

    def row_results(
        self, plan_id: int, *, outcome: str | None = None, after_row: int = 0, limit: int = 1000
    ) -> list[RowResult]:
        """Row results of a plan ordered by row, ``row > after_row``."""
        sql = f"SELECT {columns(ROW_RESULT_COLUMNS)} FROM row_results WHERE plan_id = ?"
        sql += " AND file_row > ?"
        params: list[object] = [plan_id, after_row]
        if outcome is not None:
            sql += " AND outcome = ?"
            params.append(outcome)
        sql += " ORDER BY file_row LIMIT ?"
        params.append(max(limit, 0))
        with self._read() as tx:
            return [row_result_from_row(row) for row in tx.rows(sql, params)]

    # -- original files -----------------------------------------------------------------
    def store_plan_file(self, plan_id: int, source: Path) -> None:
        """Keep a copy of the plan's original file."""
        source = Path(source)
        suffix = source.suffix
        with self._write() as tx:
            if tx.value("SELECT id FROM plans WHERE id = ?", (plan_id,)) is None:
                raise _no_plan(plan_id)
            old = tx.value("SELECT suffix FROM plan_files WHERE plan_id = ?", (plan_id,))
            tx.run("DELETE FROM plan_file_chunks WHERE plan_id = ?", (plan_id,))
            tx.run("DELETE FROM plan_files WHERE plan_id = ?", (plan_id,))
            tx.run(
                "INSERT INTO plan_files (plan_id, suffix, size) VALUES (?, ?, ?)",
                (plan_id, suffix, source.stat().st_size),
            )
            if old is not None and str(old) != suffix:
                self._drop_file(plan_id, str(old))
            self._keep_file(tx, plan_id, source, suffix)

    def plan_file(self, plan_id: int) -> AbstractContextManager[Path]:
        """A context manager giving a local path to the plan's original file.
        NotFound if none is stored."""
        with self._read() as tx:
            suffix = tx.value("SELECT suffix FROM plan_files WHERE plan_id = ?", (plan_id,))
        if suffix is None:
            raise NotFound(
                f"Import plan {plan_id} has no stored file.",
                code="plan.file_not_found",
                details={"plan_id": plan_id},
            )
        return self._file_path(plan_id, str(suffix))

    def _keep_file(self, tx: Tx, plan_id: int, source: Path, suffix: str) -> None:
        """Store the file's bytes in the database, in chunks of 1 MiB."""
        with source.open("rb") as stream:
            for number, data in enumerate(iter(lambda: stream.read(_CHUNK), b"")):
                tx.run(
                    "INSERT INTO plan_file_chunks (plan_id, chunk, data) VALUES (?, ?, ?)",
                    (plan_id, number, data),
                )

    def _file_path(self, plan_id: int, suffix: str) -> AbstractContextManager[Path]:
        """A context manager giving a local path to a stored file."""
        return self._chunks_to_file(plan_id, suffix)

    @contextmanager
    def _chunks_to_file(self, plan_id: int, suffix: str) -> Iterator[Path]:
        """Write the chunks to a temporary file, give its path, then remove it."""
        with tempfile.TemporaryDirectory(prefix="massreach-plan-") as folder:
            target = Path(folder) / f"plan-{plan_id}{suffix}"
            with self._read() as tx, target.open("wb") as out:
                count = int(
                    tx.value("SELECT count(*) FROM plan_file_chunks WHERE plan_id = ?", (plan_id,))
                )
                for number in range(count):
                    data = tx.value(
                        "SELECT data FROM plan_file_chunks WHERE plan_id = ? AND chunk = ?",
                        (plan_id, number),
                    )
                    out.write(bytes(data))
            yield target

    def _drop_file(self, plan_id: int, suffix: str) -> None:
        """Remove a stored file kept outside the database (nothing to do here)."""

    # -- mappings -----------------------------------------------------------------------
    def remember_mapping(self, signature: str, mapping: Sequence[tuple[str, str]]) -> None:
        """Remember the column mapping used for a header set (by its signature)."""
        data = encode_json([[str(a), str(b)] for a, b in mapping])
        with self._write() as tx:
            tx.run(
                f"INSERT INTO mappings (signature, mapping) VALUES (?, {self.dialect.jp})"
                " ON CONFLICT (signature) DO UPDATE SET mapping = excluded.mapping",
                (signature, data),
            )

    def recall_mapping(self, signature: str) -> tuple[tuple[str, str], ...] | None:
        """The mapping last used for this header set, or None."""
        with self._read() as tx:
            value = tx.value("SELECT mapping FROM mappings WHERE signature = ?", (signature,))
        return None if value is None else mapping_from_json(value)
