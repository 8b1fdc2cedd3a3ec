"""Duplicate policies: what one batch of imported records does to a list.

Pure: given the batch's records (in file order), the stored contacts that share a
key with them (one storage lookup per batch), the target list and the policy, it
returns the inserts, updates, duplicate rows and counts of the batch. Applying the
same file in batches of any size gives the same result, because a record stored by
an earlier batch of the same plan is treated exactly like one earlier in the batch.

A record's key is its phone (E.164) when it has one, else its email (compared
case-insensitively), else its CRM id. For "CRM records by CSV" plans the key is
always the CRM id and the record must already exist in the list.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import compress
from typing import cast

import attrs

from massreach.core.distribution import ProcessingStatus
from massreach.core.normalize import ImportedRecord, RowFailure
from massreach.core.phones import email_key
from massreach.core.record_batch import RecordBatch, RecordSelection, all_none
from massreach.model import (
    Contact,
    ContactDraft,
    ContactKeys,
    ContactUpdate,
    DuplicatePolicy,
    ImportBatch,
    PlanCounts,
    RowResult,
)

Key = tuple[str, str]


def contact_keys(contact: Contact | ImportedRecord) -> list[Key]:
    """Every key under which a stored (or about to be stored) contact can be found."""
    keys: list[Key] = []
    if contact.phone:
        keys.append(("phone", contact.phone))
    if contact.email:
        keys.append(("email", email_key(contact.email)))
    if contact.crm_id:
        keys.append(("crm", contact.crm_id))
    return keys


def _status(record: ImportedRecord) -> ProcessingStatus:
    return ProcessingStatus(record.status) if record.status else ProcessingStatus.unprocessed


def _merge_records(earlier: ImportedRecord, record: ImportedRecord) -> ImportedRecord:
    """A later row of the same file merged into an earlier one (update mode):
    non-empty new values win, fields are merged and tags added."""
    return earlier.replace(
        email=record.email or earlier.email,
        name=record.name or earlier.name,
        description=record.description or earlier.description,
        gender=record.gender or earlier.gender,
        crm_id=record.crm_id or earlier.crm_id,
        tags=tuple(dict.fromkeys((*earlier.tags, *record.tags))),
        fields={**earlier.fields, **record.fields},
        status=record.status or earlier.status,
        agent=record.agent or earlier.agent,
        callback_at=record.callback_at or earlier.callback_at,
    )


def _update_from_record(
    contact: Contact,
    record: ImportedRecord,
    *,
    clear_owner: bool,
    reset_status: bool,
    move_to: int | None,
    plan_id: int,
) -> ContactUpdate:
    status: ProcessingStatus | None = None
    if record.status:
        status = _status(record)
    elif reset_status:
        status = ProcessingStatus.unprocessed
    return ContactUpdate(
        contact_id=contact.id,
        email=record.email,
        name=record.name,
        description=record.description,
        gender=record.gender,
        crm_id=record.crm_id,
        add_tags=record.tags,
        fields=dict(record.fields),
        clear_owner=clear_owner,
        owner=record.agent,
        status=status,
        callback_at=record.callback_at,
        callback_agent=record.agent if record.callback_at else None,
        move_to_list=move_to,
        plan_id=plan_id,
    )


def _as_updated(contact: Contact, change: ContactUpdate, list_id: int) -> Contact:
    """How a stored contact looks after ``change``, for later rows of the same batch."""
    owner = None if change.clear_owner else contact.owner
    return attrs.evolve(
        contact,
        email=change.email or contact.email,
        crm_id=change.crm_id or contact.crm_id,
        list_id=list_id,
        plan_id=change.plan_id,
        owner=change.owner or owner,
        status=change.status or contact.status,
    )


def _index_pending(pending: dict[Key, int], key: Key, index: int) -> None:
    """A key finds the earliest new record of the batch that has it (as storage would)."""
    current = pending.get(key)
    if current is None or current >= index:
        pending[key] = index


def _index_stored(found: dict[Key, Contact], key: Key, contact: Contact) -> None:
    """A key finds the stored contact with the lowest id that has it (as storage would)."""
    current = found.get(key)
    if current is None or current.id >= contact.id:
        found[key] = contact


def plan_batch(
    *,
    plan_id: int,
    list_id: int,
    kind: str,
    policy: DuplicatePolicy,
    items: Sequence[ImportedRecord | RowFailure],
    existing: Sequence[Contact],
    cursor: int,
) -> ImportBatch:
    """Decide what a batch does. ``items`` are the batch's non-blank rows in order.

    The same batch as :func:`plan_in_order`, with less work: a record that shares
    no key (phone, e-mail, CRM id) with another record of the batch or with a
    stored contact cannot be a duplicate nor change the fate of another row, so it
    is simply inserted. Only the rest -- the few records that do share a key -- go
    through :func:`plan_in_order`, in file order.
    """
    if kind == "crm_status":
        return plan_in_order(
            plan_id=plan_id, list_id=list_id, kind=kind, policy=policy, items=items,
            existing=existing, cursor=cursor,
        )  # fmt: skip
    if type(items) is RecordBatch:
        return _plan_columns(
            plan_id=plan_id, list_id=list_id, kind=kind, policy=policy, batch=items,
            existing=existing, cursor=cursor,
        )  # fmt: skip
    records = [item for item in items if type(item) is ImportedRecord]
    failures = [_failed(plan_id, item) for item in items if type(item) is not ImportedRecord]
    entangled = _entangled(
        list(map(_PHONE, records)),
        lambda: (list(map(_EMAIL_KEY, records)), list(map(_CRM_ID, records))),
        existing,
    )
    planned = plan_in_order(
        plan_id=plan_id, list_id=list_id, kind=kind, policy=policy,
        items=list(compress(records, entangled)), existing=existing, cursor=cursor,
    )  # fmt: skip
    isolated = list(compress(records, map(operator.not_, entangled)))
    inserts = isolated
    if planned.inserts:
        inserts = sorted((*isolated, *planned.inserts), key=_ROW)  # type: ignore[arg-type]
    return _with_isolated(planned, inserts, failures, len(items), len(isolated))


def _plan_columns(
    *,
    plan_id: int,
    list_id: int,
    kind: str,
    policy: DuplicatePolicy,
    batch: RecordBatch,
    existing: Sequence[Contact],
    cursor: int,
) -> ImportBatch:
    """:func:`plan_batch` of a :class:`RecordBatch`, looking at its key columns:
    records are made only for the rows that share a key, and the other inserts
    stay indexes into the batch (a :class:`RecordSelection`)."""
    keys = batch.record_columns()
    indexes = keys.indexes
    failures = [_failed(plan_id, failure) for failure in batch.failures()]
    entangled = _entangled(keys.phones, lambda: (keys.email_keys, keys.crm_ids), existing)
    tangled = list(compress(indexes, entangled))
    records = list(map(batch.record, tangled))
    planned = plan_in_order(
        plan_id=plan_id, list_id=list_id, kind=kind, policy=policy,
        items=records, existing=existing, cursor=cursor,
    )  # fmt: skip
    isolated = list(compress(indexes, map(operator.not_, entangled)))
    # The planner's inserts are some of the records it was given (or, when a row
    # updates one inserted earlier in the batch, a merged record).
    index_of = {id(record): i for record, i in zip(records, tangled, strict=True)}
    chosen = [index_of.get(id(record)) for record in planned.inserts]
    inserts: Sequence[ImportedRecord | ContactDraft]
    if None in chosen:
        inserts = sorted(
            (*map(batch.record, isolated), *planned.inserts),
            key=_ROW,  # type: ignore[arg-type]
        )
    else:
        chosen_indexes = cast("list[int]", chosen)
        inserts = RecordSelection(
            batch, sorted([*isolated, *chosen_indexes]) if chosen_indexes else isolated
        )
    return _with_isolated(planned, inserts, failures, len(batch), len(isolated))


def _with_isolated(
    planned: ImportBatch,
    inserts: Sequence[ImportedRecord | ContactDraft],
    failures: Sequence[RowResult],
    total: int,
    isolated: int,
) -> ImportBatch:
    """``planned`` (the planner's answer for the entangled records) with every
    insert of the batch, its failed rows and its counts."""
    results = planned.results
    if failures:
        results = tuple(sorted((*failures, *results), key=_RESULT_ROW))
    counts = planned.counts
    return attrs.evolve(
        planned,
        inserts=inserts,
        results=results,
        counts=PlanCounts(
            total=total,
            succeeded=counts.succeeded + isolated,
            failed=counts.failed + len(failures),
            duplicates=counts.duplicates,
            updated=counts.updated,
        ),
    )


_PHONE = operator.itemgetter(1)
_EMAIL = operator.itemgetter(2)
_CRM_ID = operator.itemgetter(6)
_EMAIL_KEY = operator.itemgetter(12)


def lookup_keys(kind: str, items: Sequence[ImportedRecord | RowFailure]) -> ContactKeys:
    """The stored contacts :func:`plan_batch` needs for a batch: by the key each
    record is matched on (its phone, else its e-mail, else its CRM id; always the
    CRM id for "CRM records by CSV")."""
    if type(items) is RecordBatch:
        keys = items.record_columns()
        if kind == "crm_status":
            return ContactKeys(crm_ids=list(filter(None, keys.crm_ids)))
        return _keys(keys.phones, lambda: (keys.emails, keys.crm_ids))
    records = [item for item in items if type(item) is ImportedRecord]
    crm_ids = list(map(_CRM_ID, records))
    if kind == "crm_status":
        return ContactKeys(crm_ids=list(filter(None, crm_ids)))
    return _keys(list(map(_PHONE, records)), lambda: (list(map(_EMAIL, records)), crm_ids))


def _keys(
    phones: list[str | None],
    other_keys: Callable[[], tuple[list[str | None], list[str | None]]],
) -> ContactKeys:
    """Each record's key: its phone, else its e-mail, else its CRM id (the e-mail
    addresses and CRM ids asked for only when some record has no phone)."""
    if all(phones):  # every record is matched on its phone (the usual file)
        return ContactKeys(phones=phones)
    emails, crm_ids = other_keys()
    return ContactKeys(
        phones=list(filter(None, phones)),
        emails=[e for p, e in zip(phones, emails, strict=True) if e and not p],
        crm_ids=[
            c for p, e, c in zip(phones, emails, crm_ids, strict=True) if c and not p and not e
        ],
    )


_ROW = operator.itemgetter(0)
_RESULT_ROW = operator.attrgetter("row")


def _entangled(
    phones: list[str | None],
    other_keys: Callable[[], tuple[list[str | None], list[str | None]]],
    existing: Sequence[Contact],
) -> list[bool]:
    """Per record (given by its phones, and its e-mail keys and CRM ids, asked for
    only when some record has no phone): whether it shares a key with another record
    or a stored contact. A record without any key counts too: it fails in
    plan_in_order (normalisation never makes one)."""
    shared_phones = _shared(phones, {c.phone for c in existing if c.phone})
    if all(phones):
        # Every record has a phone (the usual file), and :func:`plan_in_order` then
        # only ever looks a record up by its phone: the other keys cannot tie it.
        return list(map(shared_phones.__contains__, phones))
    email_keys, crm_ids = other_keys()
    shared_emails = _shared(email_keys, {email_key(c.email) for c in existing if c.email})
    shared_crm_ids = _shared(crm_ids, {c.crm_id for c in existing if c.crm_id})
    return [
        p in shared_phones or e in shared_emails or c in shared_crm_ids or not (p or e or c)
        for p, e, c in zip(phones, email_keys, crm_ids, strict=True)
    ]


def _shared(keys: list[str | None], stored: set[str]) -> set[str | None]:
    """The keys that appear more than once in ``keys`` or among the stored ones."""
    if all_none(keys):  # an unmapped or empty column
        return set(stored)
    counts = Counter(keys)
    shared: set[str | None] = (
        set(compress(counts.keys(), map((1).__lt__, counts.values())))  # C-level passes
        if len(counts) < len(keys)
        else set()
    )
    shared.update(stored)
    shared.discard(None)
    return shared


def _failed(plan_id: int, failure: ImportedRecord | RowFailure) -> RowResult:
    assert isinstance(failure, RowFailure)
    return RowResult(
        plan_id=plan_id,
        row=failure.row,
        outcome="failed",
        code=failure.code,
        message=failure.message,
        column=failure.column,
    )


def plan_in_order(
    *,
    plan_id: int,
    list_id: int,
    kind: str,
    policy: DuplicatePolicy,
    items: Sequence[ImportedRecord | RowFailure],
    existing: Sequence[Contact],
    cursor: int,
) -> ImportBatch:
    """What a batch does, deciding every row in file order (the reference of
    :func:`plan_batch`)."""
    in_list: dict[Key, Contact] = {}
    elsewhere: dict[Key, Contact] = {}
    for contact in sorted(existing, key=lambda c: c.id):
        by_key = in_list if contact.list_id == list_id else elsewhere
        for stored_key in contact_keys(contact):
            by_key.setdefault(stored_key, contact)

    inserts: list[ImportedRecord] = []
    pending: dict[Key, int] = {}
    updates: dict[int, ContactUpdate] = {}
    results: list[RowResult] = []
    succeeded = updated = 0

    def duplicate(record: ImportedRecord, code: str, message: str, contact_id: int | None) -> None:
        results.append(
            RowResult(
                plan_id=plan_id,
                row=record.row,
                outcome="duplicate",
                code=code,
                message=message,
                contact_id=contact_id,
            )
        )

    crm_status = kind == "crm_status"
    for item in items:
        if type(item) is not ImportedRecord:
            results.append(_failed(plan_id, item))
            continue
        record = item
        phone, email, crm_id = record.phone, record.email_key, record.crm_id
        if crm_status:
            key = ("crm", crm_id) if crm_id else None
        elif phone:
            key = ("phone", phone)
        elif email:
            key = ("email", email)
        else:
            key = ("crm", crm_id) if crm_id else None
        if crm_status:
            found = in_list.get(key) if key else None
            if found is None:
                results.append(
                    RowResult(
                        plan_id=plan_id,
                        row=record.row,
                        outcome="failed",
                        code="crm.not_found",
                        message=f"no record with CRM id {record.crm_id!r} in this list",
                        column="crm_id",
                    )
                )
                continue
            updates[found.id] = _merge_update(
                updates.get(found.id),
                ContactUpdate(contact_id=found.id, status=_status(record)),
            )
            succeeded += 1
            updated += 1
            continue
        if key is None:  # normalisation guarantees a key for list imports
            results.append(
                RowResult(
                    plan_id=plan_id,
                    row=record.row,
                    outcome="failed",
                    code="row.missing_target",
                    message="the row has no phone, email or CRM id",
                )
            )
            continue
        earlier = pending.get(key)
        if earlier is not None:
            if policy.on_duplicate == "skip":
                duplicate(
                    record,
                    "duplicate.in_file",
                    "the same record appears earlier in the file",
                    None,
                )
            else:
                merged = _merge_records(inserts[earlier], record)
                for merged_key in contact_keys(merged):
                    _index_pending(pending, merged_key, earlier)
                inserts[earlier] = merged
                succeeded += 1
                updated += 1
            continue
        stored = in_list.get(key) if in_list else None
        if stored is not None:
            same_file = stored.plan_id == plan_id
            if policy.on_duplicate == "skip":
                code = "duplicate.in_file" if same_file else "duplicate.exists"
                duplicate(record, code, "the record already exists in this list", stored.id)
                continue
            if not same_file and stored.owner and not policy.clear_owner:
                duplicate(
                    record,
                    "duplicate.owned",
                    f"the record is assigned to agent {stored.owner}; not imported again",
                    stored.id,
                )
                continue
            if (
                not same_file
                and stored.status != ProcessingStatus.unprocessed
                and not policy.reset_status
            ):
                duplicate(
                    record,
                    "duplicate.processed",
                    f"the record was already worked ({stored.status.value}); skipped",
                    stored.id,
                )
                continue
            change = _update_from_record(
                stored,
                record,
                clear_owner=bool(stored.owner) and policy.clear_owner and not same_file,
                reset_status=policy.reset_status and not same_file,
                move_to=None,
                plan_id=plan_id,
            )
            updates[stored.id] = _merge_update(updates.get(stored.id), change)
            touched = _as_updated(stored, change, list_id)
            for touched_key in contact_keys(touched):
                _index_stored(in_list, touched_key, touched)
            succeeded += 1
            updated += 1
            continue
        other = elsewhere.get(key) if elsewhere else None
        if other is not None:
            if policy.other_list == "skip":
                duplicate(
                    record,
                    "duplicate.other_list",
                    f"the record belongs to another list (id {other.list_id})",
                    other.id,
                )
                continue
            change = _update_from_record(
                other,
                record,
                clear_owner=True,
                reset_status=True,
                move_to=list_id,
                plan_id=plan_id,
            )
            updates[other.id] = change
            # from now on the moved record counts as one of this list
            moved = _as_updated(other, change, list_id)
            for moved_key in contact_keys(moved):
                _index_stored(in_list, moved_key, moved)
            succeeded += 1
            updated += 1
            continue
        # A new record: its keys find it from now on (it is the latest, so a key
        # already pending keeps its earlier record).
        index = len(inserts)
        if phone:
            pending.setdefault(("phone", phone), index)
        if email:
            pending.setdefault(("email", email), index)
        if crm_id:
            pending.setdefault(("crm", crm_id), index)
        inserts.append(record)
        succeeded += 1

    failed = sum(1 for r in results if r.outcome == "failed")
    duplicates = len(results) - failed
    counts = PlanCounts(
        total=len(items),
        succeeded=succeeded,
        failed=failed,
        duplicates=duplicates,
        updated=updated,
    )
    return ImportBatch(
        plan_id=plan_id,
        list_id=list_id,
        inserts=tuple(inserts),
        updates=tuple(updates.values()),
        results=tuple(sorted(results, key=lambda r: r.row)),
        counts=counts,
        cursor=cursor,
    )


def _merge_update(previous: ContactUpdate | None, change: ContactUpdate) -> ContactUpdate:
    """Two updates of one stored contact in one batch, applied as one (later wins)."""
    if previous is None:
        return change
    fields = dict(previous.fields)
    fields.update(change.fields)
    return ContactUpdate(
        contact_id=change.contact_id,
        email=change.email or previous.email,
        name=change.name or previous.name,
        description=change.description or previous.description,
        gender=change.gender or previous.gender,
        crm_id=change.crm_id or previous.crm_id,
        add_tags=tuple(dict.fromkeys((*previous.add_tags, *change.add_tags))),
        fields=fields,
        clear_owner=previous.clear_owner or change.clear_owner,
        owner=change.owner or previous.owner,
        status=change.status or previous.status,
        callback_at=change.callback_at or previous.callback_at,
        callback_agent=change.callback_agent or previous.callback_agent,
        move_to_list=change.move_to_list or previous.move_to_list,
        plan_id=change.plan_id or previous.plan_id,
    )
