"""Lists and contacts in SQL: create, find by keys (one query per batch), insert,
update, delete, search.

A contact's position is the list's ``last_position`` counter, moved once per batch
inside the writing transaction (which also serialises writers of one list on
PostgreSQL). Ids come from :meth:`Dialect.allocate_ids` so a batch knows them
without a query per row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from massreach.adapters.sql_base import SqlBase, Tx
from massreach.adapters.sql_dialect import encode_fields, encode_tags
from massreach.adapters.sql_rows import (
    CONTACT_COLUMNS,
    CONTACT_INSERT_COLUMNS,
    LIST_COLUMNS,
    columns,
    contact_from_row,
    draft_params,
    list_from_row,
    record_columns,
)
from massreach.core.distribution import ProcessingStatus
from massreach.core.normalize import ImportedRecord
from massreach.core.record_batch import RecordSelection
from massreach.errors import ConflictError
from massreach.model import (
    Contact,
    ContactDraft,
    ContactKeys,
    ContactList,
    ContactQuery,
    ContactUpdate,
    ImportBatch,
)
from massreach.model.contacts import ListFeed, apply_update
from massreach.model.plans import record_draft

__all__ = ["SqlContacts"]

T = TypeVar("T")

_CONTACT_COLUMNS = columns(CONTACT_COLUMNS, "c")
_CONTACT_SELECT = f"SELECT {_CONTACT_COLUMNS} FROM contacts c"
_UPDATE_CONTACT = (
    "UPDATE contacts SET list_id = ?, position = ?, email = ?, email_key = ?, name = ?,"
    " description = ?, gender = ?, crm_id = ?, tags = {jp}, fields = {jp}, owner = ?,"
    " status = ?, callback_at = ?, callback_agent = ?, plan_id = ?, assigned_at = ?,"
    " processed_at = ?, updated_at = ? WHERE id = ?"
)


class SqlContacts(SqlBase):
    """Lists and contacts."""

    # -- lists ---------------------------------------------------------------------
    def create_list(
        self, name: str, *, feed: ListFeed, created_by: str | None, now: datetime
    ) -> ContactList:
        """Create a list; ConflictError if the name is taken."""
        taken = ConflictError(
            f"A list named {name!r} already exists.",
            code="list.name_taken",
            details={"name": name},
        )
        with self._write() as tx:
            try:
                list_id = tx.value(
                    "INSERT INTO lists (name, feed, created_at, created_by) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (name, ListFeed(feed).value, self.dialect.ts(now), created_by),
                )
            except Exception as exc:
                raise self._conflict(exc, taken) from exc
            row = tx.row(f"SELECT {columns(LIST_COLUMNS)} FROM lists WHERE id = ?", (list_id,))
        return list_from_row(self.dialect, row)

    def get_list(self, name: str) -> ContactList | None:
        """The list with this name, or None."""
        with self._read() as tx:
            row = tx.row(f"SELECT {columns(LIST_COLUMNS)} FROM lists WHERE name = ?", (name,))
        return None if row is None else list_from_row(self.dialect, row)

    def get_list_by_id(self, list_id: int) -> ContactList | None:
        """The list with this id, or None."""
        with self._read() as tx:
            row = tx.row(f"SELECT {columns(LIST_COLUMNS)} FROM lists WHERE id = ?", (list_id,))
        return None if row is None else list_from_row(self.dialect, row)

    def lists(self) -> list[ContactList]:
        """Every list, by id."""
        with self._read() as tx:
            rows = tx.rows(f"SELECT {columns(LIST_COLUMNS)} FROM lists ORDER BY id")
        return [list_from_row(self.dialect, row) for row in rows]

    def _take_positions(self, tx: Tx, list_id: int, count: int) -> int:
        """Reserve ``count`` positions at the end of a list; returns the first.
        Locks the list row until the transaction ends (PostgreSQL)."""
        last = tx.value(
            "UPDATE lists SET last_position = last_position + ? WHERE id = ?"
            " RETURNING last_position",
            (count, list_id),
        )
        if last is None:
            raise self._no_list(list_id)
        return int(last) - count + 1

    # -- contacts: reading -------------------------------------------------------------
    #: Rows of a duplicate lookup made beside an import batch's write, for the
    #: next find_contacts_by_keys with the same keys (see apply_import_batch).
    _prefetched: tuple[ContactKeys, list[Any]] | None = None

    def find_contacts_by_keys(
        self, *, phones: Sequence[str], emails: Sequence[str], crm_ids: Sequence[str]
    ) -> list[Contact]:
        """Contacts in ANY list whose phone, email (case-insensitive) or CRM id is given,
        by id; one query (or none: the answer looked up beside the last import batch)."""
        keys = ContactKeys(phones, emails, crm_ids)
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] == keys:
            rows = prefetched[1]
        else:
            query = self._keys_query(keys)
            if query is None:
                return []
            with self._read() as tx:
                rows = tx.rows(*query)
        return [contact_from_row(self.dialect, row) for row in rows]

    def _keys_query(self, keys: ContactKeys) -> tuple[str, list[Any]] | None:
        """The query of :meth:`find_contacts_by_keys` (None when no key is given)."""
        d = self.dialect
        keyed: list[str] = []
        params: list[Any] = []
        # In file order, repeats kept (the dialect's query gives each contact once).
        for column, values in (
            ("c.phone", keys.phones),
            ("c.email_key", _folded(keys.emails)),
            ("c.crm_id", keys.crm_ids),
        ):
            if values:
                keyed.append(column)
                params.append(d.many(values))
        if not keyed:
            return None
        return d.rows_matching(_CONTACT_COLUMNS, "contacts c", keyed), params

    def get_contact(self, contact_id: int) -> Contact | None:
        """One contact by id."""
        with self._read() as tx:
            row = tx.row(f"{_CONTACT_SELECT} WHERE c.id = ?", (contact_id,))
        return None if row is None else contact_from_row(self.dialect, row)

    def _where(self, query: ContactQuery) -> tuple[str, list[Any]]:
        """The SQL condition (over ``contacts c``) and parameters of a query."""
        d = self.dialect
        parts: list[str] = []
        params: list[Any] = []
        if query.list_id is not None:
            parts.append("c.list_id = ?")
            params.append(query.list_id)
        if query.phone is not None:
            parts.append("c.phone = ?")
            params.append(query.phone)
        if query.email is not None:
            parts.append("c.email_key = ?")
            params.append(query.email.casefold())
        if query.name_contains is not None:
            parts.append(d.contains(d.fold("c.name")))
            params.append(d.fold_value(query.name_contains))
        if query.tags:
            tagged, tag_params = d.any_tag("c.tags", query.tags)
            parts.append(tagged)
            params += tag_params
        if query.status is not None:
            parts.append("c.status = ?")
            params.append(ProcessingStatus(query.status).value)
        if query.owner is not None:
            parts.append("c.owner = ?")
            params.append(query.owner)
        if query.unassigned:
            parts.append("c.owner IS NULL")
        if query.crm_id is not None:
            parts.append("c.crm_id = ?")
            params.append(query.crm_id)
        return (" AND ".join(parts) or "1 = 1"), params

    def find_contacts(
        self, query: ContactQuery, *, limit: int | None = None, after_id: int = 0
    ) -> list[Contact]:
        """Contacts matching every part of ``query`` (``tags``: any of them), by id,
        ``id > after_id``, at most ``limit``."""
        where, params = self._where(query)
        sql = f"{_CONTACT_SELECT} WHERE {where} AND c.id > ? ORDER BY c.id"
        params.append(after_id)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        with self._read() as tx:
            rows = tx.rows(sql, params)
        return [contact_from_row(self.dialect, row) for row in rows]

    def count_contacts(self, query: ContactQuery) -> int:
        """How many contacts match ``query``."""
        where, params = self._where(query)
        with self._read() as tx:
            return int(tx.value(f"SELECT count(*) FROM contacts c WHERE {where}", params))

    # -- contacts: writing ---------------------------------------------------------------
    def add_contacts(self, drafts: Sequence[ContactDraft], *, now: datetime) -> list[int]:
        """Store new contacts at the end of their lists; returns their ids in order.
        ConflictError (nothing stored) if a phone is already in the same list."""
        with self._write() as tx:
            return self._insert_drafts(tx, drafts, now)[0]

    def _insert_drafts(
        self,
        tx: Tx,
        drafts: Sequence[ContactDraft | ImportedRecord],
        now: datetime,
        *,
        batch: ImportBatch | None = None,
        meanwhile: Callable[[], T] | None = None,
    ) -> tuple[list[int], T | None]:
        """Insert drafts in one bulk statement (inside the caller's transaction);
        returns their ids and what ``meanwhile`` returned (see
        :meth:`Dialect.insert_columns`). Imported records (the import fast path)
        belong to ``batch``'s list and plan."""
        ids, columns = self._draft_columns(tx, drafts, now, batch)
        return ids, self._insert_columns(tx, columns, meanwhile)

    def _draft_columns(
        self,
        tx: Tx,
        drafts: Sequence[ContactDraft | ImportedRecord],
        now: datetime,
        batch: ImportBatch | None,
    ) -> tuple[list[int], dict[str, Sequence[Any]]]:
        """Ids (new, ascending) and columns of the contacts :meth:`_insert_drafts`
        inserts; takes their positions at the end of their lists."""
        d = self.dialect
        if not drafts:
            return [], {}
        if batch is not None and _all_records(drafts):
            # The import fast path: all of them go to the batch's list, column by column.
            return self._import_columns(tx, batch, drafts, now)  # type: ignore[arg-type]
        stamp = d.ts(now)
        count = len(drafts)
        plain = [
            record_draft(draft, list_id=batch.list_id, plan_id=batch.plan_id)
            if type(draft) is ImportedRecord and batch is not None
            else draft
            for draft in drafts
        ]
        per_list = Counter(draft.list_id for draft in plain)  # type: ignore[union-attr]
        next_position = {
            list_id: self._take_positions(tx, list_id, per_list[list_id])
            for list_id in sorted(per_list)  # one lock order: no deadlock between writers
        }
        ids = d.allocate_ids(tx.cur, "contacts", count)
        rows = []
        for draft, contact_id in zip(plain, ids, strict=True):
            position = next_position[draft.list_id]  # type: ignore[union-attr]
            next_position[draft.list_id] = position + 1  # type: ignore[union-attr]
            rows.append(draft_params(d, draft, contact_id, position, stamp))  # type: ignore[arg-type]
        return ids, dict(zip(CONTACT_INSERT_COLUMNS, zip(*rows, strict=True), strict=True))

    #: The values of an import batch's records made beforehand (the batch's inserts
    #: and their :func:`record_values`), see :meth:`SqlPlans.apply_import_batch`.
    _prepared: tuple[Sequence[ImportedRecord], Mapping[str, Sequence[Any]]] | None = None

    def _import_columns(
        self, tx: Tx, batch: ImportBatch, records: Sequence[ImportedRecord], now: datetime
    ) -> tuple[list[int], dict[str, Sequence[Any]]]:
        """Ids and columns of new contacts made from ``records`` of ``batch``."""
        d = self.dialect
        count = len(records)
        prepared, self._prepared = self._prepared, None
        values = prepared[1] if prepared is not None and prepared[0] is records else None
        first = self._take_positions(tx, batch.list_id, count)
        ids = d.allocate_ids(tx.cur, "contacts", count)
        return ids, record_columns(
            d,
            records,
            ids=ids,
            list_id=batch.list_id,
            positions=range(first, first + count),
            plan_id=batch.plan_id,
            now=d.ts(now),
            values=values,
        )

    def _insert_columns(
        self,
        tx: Tx,
        columns: Mapping[str, Sequence[Any]],
        meanwhile: Callable[[], T] | None,
        *,
        commit: bool = False,
        before: Callable[[], None] | None = None,
    ) -> T | None:
        """:meth:`Dialect.insert_columns` into ``contacts``; a phone already in the
        list is a ConflictError."""
        try:
            return self.dialect.insert_columns(
                tx.cur, "contacts", columns, meanwhile, commit=commit, before=before
            )
        except Exception as exc:
            raise self._conflict(exc, self._duplicate_phone()) from exc

    def update_contacts(self, updates: Sequence[ContactUpdate], *, now: datetime) -> None:
        """Apply changes to stored contacts (never their phone); unknown ids are skipped."""
        with self._write() as tx:
            self._apply_updates(tx, updates, now)

    def _contacts_by_id(self, tx: Tx, ids: Sequence[int]) -> dict[int, Contact]:
        d = self.dialect
        rows = tx.rows(f"{_CONTACT_SELECT} WHERE {d.in_('c.id')}", (d.many(ids),))
        return {int(row[0]): contact_from_row(d, row) for row in rows}

    def _apply_updates(self, tx: Tx, updates: Sequence[ContactUpdate], now: datetime) -> None:
        """Read the contacts once, apply every update in Python (in order, as the
        memory backend does), then write the changed rows in one ``executemany``."""
        if not updates:
            return
        d = self.dialect
        for list_id in sorted({u.move_to_list for u in updates if u.move_to_list is not None}):
            if tx.value(f"SELECT id FROM lists WHERE id = ?{d.for_update}", (list_id,)) is None:
                raise self._no_list(list_id)
        current = self._contacts_by_id(tx, list(dict.fromkeys(u.contact_id for u in updates)))
        changed: dict[int, Contact] = {}
        for update in updates:
            contact = current.get(update.contact_id)
            if contact is None:
                continue
            contact = self._updated(tx, contact, update, now)
            current[contact.id] = changed[contact.id] = contact
        self._freeze_variables(tx, list(changed))
        rows = [
            (
                c.list_id,
                c.position,
                c.email,
                None if c.email is None else c.email.casefold(),
                c.name,
                c.description,
                c.gender,
                c.crm_id,
                encode_tags(c.tags),
                encode_fields(c.fields),
                c.owner,
                c.status.value,
                d.ts(c.callback_at),
                c.callback_agent,
                c.plan_id,
                d.ts(c.assigned_at),
                d.ts(c.processed_at),
                d.ts(now),
                c.id,
            )
            for c in changed.values()
        ]
        try:
            tx.many(_UPDATE_CONTACT.format(jp=d.jp), rows)
        except Exception as exc:
            raise self._conflict(exc, self._duplicate_phone()) from exc

    def _updated(self, tx: Tx, contact: Contact, update: ContactUpdate, now: datetime) -> Contact:
        """One contact after one update."""
        position = None
        if update.move_to_list is not None and update.move_to_list != contact.list_id:
            position = self._take_positions(tx, update.move_to_list, 1)
        return apply_update(contact, update, now, position=position)

    def delete_contacts(self, contact_ids: Sequence[int]) -> int:
        """Delete contacts; returns how many existed."""
        if not contact_ids:
            return 0
        d = self.dialect
        ids = sorted(set(contact_ids))
        with self._write() as tx:
            self._freeze_variables(tx, ids)
            return tx.run(f"DELETE FROM contacts WHERE {d.in_('id')}", (d.many(ids),))

    def _freeze_variables(self, tx: Tx, contact_ids: Sequence[int]) -> None:
        """Copy the variables of these contacts onto the outbox messages that still
        read them through the contact, before the contact changes or goes."""
        if not contact_ids:
            return
        d = self.dialect
        tx.run(
            f"UPDATE outbox SET variables = (SELECT {d.variables('c')} FROM contacts c"
            " WHERE c.id = outbox.contact_id)"
            f" WHERE variables IS NULL AND {d.in_('contact_id')}",
            (d.many(contact_ids),),
        )


def _folded(emails: Sequence[str]) -> Sequence[str]:
    """E-mail addresses case-folded as their keys are (``str.casefold``): as they
    are when they are ASCII without capitals (one C-level test of them joined)."""
    joined = "".join(emails)
    if joined.isascii() and joined.lower() == joined:
        return emails
    return [email.casefold() for email in emails]


def _all_records(drafts: Sequence[ContactDraft | ImportedRecord]) -> bool:
    """Whether every draft is an imported record (records kept as columns are)."""
    return type(drafts) is RecordSelection or all(type(draft) is ImportedRecord for draft in drafts)
