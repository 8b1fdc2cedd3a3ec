"""Model objects to and from SQL rows: the column lists and the codecs.

Every SELECT of a model object names the columns listed here, in this order, and
decodes the row with the matching ``*_from_row``. Option and mapping JSON goes
through massreach's cattrs converter (:mod:`massreach.converters`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import compress
from typing import Any

from massreach.adapters.sql_dialect import (
    Dialect,
    decode_json,
    encode_field_columns,
    encode_fields,
    encode_fields_column,
    encode_json,
    encode_tags,
)
from massreach.converters import from_plain, to_plain
from massreach.core.normalize import ImportedRecord
from massreach.core.record_batch import RecordSelection, all_none
from massreach.model import (
    Agent,
    Campaign,
    CampaignSource,
    Contact,
    ContactDraft,
    ContactKeys,
    ContactList,
    DeliveryReport,
    ImportOptions,
    ImportPlan,
    OutboxMessage,
    PlanCounts,
    RowResult,
    Template,
)
from massreach.model.contacts import ListFeed

__all__ = [
    "AGENT_COLUMNS",
    "CAMPAIGN_COLUMNS",
    "CONTACT_COLUMNS",
    "CONTACT_INSERT_COLUMNS",
    "LIST_COLUMNS",
    "MESSAGE_COLUMNS",
    "PLAN_COLUMNS",
    "REPORT_COLUMNS",
    "ROW_RESULT_COLUMNS",
    "TEMPLATE_COLUMNS",
    "agent_from_row",
    "campaign_from_row",
    "campaign_params",
    "columns",
    "contact_from_row",
    "draft_params",
    "email_key",
    "inserted_rows",
    "list_from_row",
    "mapping_from_json",
    "message_from_row",
    "message_select",
    "plan_from_row",
    "plan_params",
    "record_columns",
    "record_values",
    "report_from_row",
    "row_result_from_row",
    "template_from_row",
]

LIST_COLUMNS = ("id", "name", "feed", "created_at", "created_by")
CONTACT_COLUMNS = (
    "id", "list_id", "position", "phone", "email", "name", "description", "gender",
    "crm_id", "tags", "fields", "owner", "status", "callback_at", "callback_agent",
    "priority", "plan_id", "assigned_at", "processed_at",
)  # fmt: skip
CONTACT_INSERT_COLUMNS = (
    "id", "list_id", "position", "phone", "email", "email_key", "name", "description",
    "gender", "crm_id", "tags", "fields", "owner", "status", "callback_at",
    "callback_agent", "priority", "plan_id", "created_at", "updated_at",
)  # fmt: skip
PLAN_COLUMNS = (
    "id", "list_id", "file_name", "options", "state", "total", "succeeded", "failed",
    "duplicates", "updated", "row_cursor", "run_at", "created_at", "started_at",
    "finished_at", "creator", "file_format", "encoding", "delimiter", "mapping",
    "error_code", "error_message", "lease_owner", "lease_until",
)  # fmt: skip
ROW_RESULT_COLUMNS = (
    "plan_id", "file_row", "outcome", "code", "message", "column_name", "contact_id",
)  # fmt: skip
AGENT_COLUMNS = ("id", "name", "active", "weight", "capacity")
TEMPLATE_COLUMNS = (
    "name", "channel", "body", "subject", "html", "registered", "brandname", "created_at",
)  # fmt: skip
CAMPAIGN_COLUMNS = (
    "id", "name", "channel", "kind", "template", "source", "state", "brandname",
    "account", "transliterate", "scheduled_at", "created_by", "sent_by", "created_at",
    "updated_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "campaign_id", "target", "contact_id", "variables", "state", "attempts",
    "due_at", "lease_owner", "lease_until", "provider_id", "reason", "sent_at",
    "updated_at",
)  # fmt: skip
REPORT_COLUMNS = ("state", "provider_id", "client_id", "reason", "at", "raw")


def columns(names: Sequence[str], alias: str | None = None) -> str:
    """``a, b, c`` (or ``t.a, t.b, t.c``) for a SELECT."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in names)


def email_key(email: str | None) -> str | None:
    """The comparison key of an email: casefolded, as emails compare case-insensitively."""
    return None if email is None else email.casefold()


# -- lists and contacts ---------------------------------------------------------------
def list_from_row(d: Dialect, row: Sequence[Any]) -> ContactList:
    """A :class:`ContactList` from :data:`LIST_COLUMNS`."""
    return ContactList(
        id=int(row[0]),
        name=row[1],
        feed=ListFeed(row[2]),
        created_at=d.from_ts(row[3]),
        created_by=row[4],
    )


def contact_from_row(d: Dialect, row: Sequence[Any]) -> Contact:
    """A :class:`Contact` from :data:`CONTACT_COLUMNS`."""
    return Contact(
        id=int(row[0]),
        list_id=int(row[1]),
        position=int(row[2]),
        phone=row[3],
        email=row[4],
        name=row[5],
        description=row[6],
        gender=row[7],
        crm_id=row[8],
        tags=decode_json(row[9]),
        fields=decode_json(row[10]),
        owner=row[11],
        status=row[12],
        callback_at=d.from_ts(row[13]),
        callback_agent=row[14],
        priority=row[15],
        plan_id=row[16],
        assigned_at=d.from_ts(row[17]),
        processed_at=d.from_ts(row[18]),
    )


def draft_params(
    d: Dialect, draft: ContactDraft, contact_id: int, position: int, now: Any
) -> tuple[Any, ...]:
    """Parameters of a new contact in :data:`CONTACT_INSERT_COLUMNS` order."""
    return (
        contact_id,
        draft.list_id,
        position,
        draft.phone,
        draft.email,
        None if draft.email is None else draft.email.casefold(),
        draft.name,
        draft.description,
        draft.gender,
        draft.crm_id,
        encode_tags(draft.tags),
        encode_fields(draft.fields),
        draft.owner,
        draft.status.value,
        None if draft.callback_at is None else d.ts(draft.callback_at),
        draft.callback_agent,
        draft.priority,
        draft.plan_id,
        now,
        now,
    )


def record_columns(
    d: Dialect,
    records: Sequence[ImportedRecord],
    *,
    ids: Sequence[int],
    list_id: int,
    positions: range,
    plan_id: int | None,
    now: Any,
    values: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Sequence[Any]]:
    """New contacts made from imported records (the import fast path), column by
    column for :meth:`Dialect.insert_columns`: the values of
    ``draft_params(record_draft(record))``, in :data:`CONTACT_INSERT_COLUMNS`
    order. ``values`` is :func:`record_values` of ``records`` when it was made
    beforehand (an import prepares its next batch while the last one is written)."""
    n = len(records)
    if values is None:
        values = record_values(d, records)
    contiguous = n > 0 and ids[-1] - ids[0] == n - 1
    return {
        "id": range(ids[0], ids[0] + n) if contiguous else ids,
        "list_id": [list_id] * n,
        "position": positions,
        **values,
        "plan_id": [plan_id] * n,
        "created_at": [now] * n,
        "updated_at": [now] * n,
    }


def record_values(d: Dialect, records: Sequence[ImportedRecord]) -> dict[str, Sequence[Any]]:
    """The columns of :func:`record_columns` that come from the records themselves
    (``phone`` to ``priority``), taken from the records' tuples a column at a time
    (or straight from the columns of their batch, for a :class:`RecordSelection`)."""
    if type(records) is RecordSelection and records.columnar:
        return _selection_values(records)
    n = len(records)
    # One transposition (records are tuples): column i holds every record's value i.
    transposed: list[Sequence[Any]] = list(zip(*records, strict=True)) if n else [()] * 13

    def column(index: int) -> Sequence[Any]:
        return transposed[index]

    status = column(9)
    callback = column(10)
    agent = column(11)
    none = [None] * n
    if all_none(callback):
        callback_agent: list[Any] = none
    else:
        callback_agent = [
            a if c is not None else None for a, c in zip(agent, callback, strict=True)
        ]
        callback = [None if c is None else d.ts(c) for c in callback]
    return {
        "phone": column(1),
        "email": column(2),
        "email_key": column(12),
        "name": column(3),
        "description": column(4),
        "gender": column(5),
        "crm_id": column(6),
        "tags": list(map(encode_tags, column(7))),
        "fields": encode_fields_column(column(8)),
        "owner": agent,
        "status": (
            ["unprocessed"] * n if all_none(status) else [s or "unprocessed" for s in status]
        ),
        "callback_at": callback,
        "callback_agent": callback_agent,
        "priority": none,
    }


def _selection_values(selection: RecordSelection) -> dict[str, Sequence[Any]]:
    """:func:`record_values` of records kept as the columns of their batch (none of
    them made row by row, so none has a callback)."""
    batch = selection.batch
    n = len(selection)
    none = [None] * n
    picked: dict[int, Sequence[Any]] = {}

    def pick(values: Sequence[Any]) -> Sequence[Any]:
        # A column that is None in every row (not mapped) is not picked; one column
        # given twice (e-mail keys that are the addresses) is picked once.
        found = picked.get(id(values))
        if found is None:
            found = none if all_none(values) else selection.column(values)
            picked[id(values)] = found
        return found

    status = pick(batch.statuses)
    return {
        "phone": pick(batch.phones),
        "email": pick(batch.emails),
        "email_key": pick(batch.email_keys),
        "name": pick(batch.names),
        "description": pick(batch.descriptions),
        "gender": pick(batch.genders),
        "crm_id": pick(batch.crm_ids),
        "tags": list(map(encode_tags, pick(batch.tags))),
        "fields": encode_field_columns(
            batch.field_names, [pick(column) for column in batch.field_values], n
        ),
        "owner": pick(batch.agents),
        "status": (
            ["unprocessed"] * n if all_none(status) else [s or "unprocessed" for s in status]
        ),
        "callback_at": none,
        "callback_agent": none,
        "priority": none,
    }


def inserted_rows(new: Mapping[str, Sequence[Any]], keys: ContactKeys) -> list[list[Any]]:
    """The contacts of ``new`` (the columns of contacts being inserted, as for
    :meth:`Dialect.insert_columns`) that a lookup by ``keys`` finds -- phone,
    e-mail key (``keys.emails`` case-folded) or CRM id -- as rows of
    :data:`CONTACT_COLUMNS` (what the database gives back once they are stored),
    in column order."""
    count = len(new["id"]) if new else 0
    found: set[int] = set()
    for name, wanted in (
        ("phone", set(keys.phones)),
        ("email_key", {e.casefold() for e in keys.emails}),
        ("crm_id", set(keys.crm_ids)),
    ):
        if count and wanted:
            found.update(compress(range(count), map(wanted.__contains__, new[name])))
    none = [None] * count
    picked = [new.get(name, none) for name in CONTACT_COLUMNS]
    return [[column[i] for column in picked] for i in sorted(found)]


# -- plans ------------------------------------------------------------------------------
def mapping_from_json(value: Any) -> tuple[tuple[str, str], ...]:
    """A stored column mapping as pairs."""
    return tuple((str(a), str(b)) for a, b in decode_json(value) or ())


def plan_params(d: Dialect, plan: ImportPlan) -> dict[str, Any]:
    """Column values of a plan (all but ``id`` and ``row_cursor``)."""
    return {
        "list_id": plan.list_id,
        "file_name": plan.file_name,
        "options": encode_json(to_plain(plan.options)),
        "state": plan.state.value,
        "total": plan.counts.total,
        "succeeded": plan.counts.succeeded,
        "failed": plan.counts.failed,
        "duplicates": plan.counts.duplicates,
        "updated": plan.counts.updated,
        "run_at": d.ts(plan.run_at),
        "created_at": d.ts(plan.created_at),
        "started_at": d.ts(plan.started_at),
        "finished_at": d.ts(plan.finished_at),
        "creator": plan.creator,
        "file_format": plan.file_format,
        "encoding": plan.encoding,
        "delimiter": plan.delimiter,
        "mapping": encode_json([list(pair) for pair in plan.mapping]),
        "error_code": plan.error_code,
        "error_message": plan.error_message,
        "lease_owner": plan.lease_owner,
        "lease_until": d.ts(plan.lease_until),
    }


def plan_from_row(d: Dialect, row: Sequence[Any]) -> ImportPlan:
    """An :class:`ImportPlan` from :data:`PLAN_COLUMNS`."""
    return ImportPlan(
        id=int(row[0]),
        list_id=int(row[1]),
        file_name=row[2],
        options=from_plain(decode_json(row[3]), ImportOptions),
        state=row[4],
        counts=PlanCounts(
            total=int(row[5]),
            succeeded=int(row[6]),
            failed=int(row[7]),
            duplicates=int(row[8]),
            updated=int(row[9]),
        ),
        cursor=int(row[10]),
        run_at=d.from_ts(row[11]),
        created_at=d.from_ts(row[12]),
        started_at=d.from_ts(row[13]),
        finished_at=d.from_ts(row[14]),
        creator=row[15],
        file_format=row[16],
        encoding=row[17],
        delimiter=row[18],
        mapping=mapping_from_json(row[19]),
        error_code=row[20],
        error_message=row[21],
        lease_owner=row[22],
        lease_until=d.from_ts(row[23]),
    )


def row_result_from_row(row: Sequence[Any]) -> RowResult:
    """A :class:`RowResult` from :data:`ROW_RESULT_COLUMNS`."""
    return RowResult(
        plan_id=int(row[0]),
        row=int(row[1]),
        outcome=row[2],
        code=row[3],
        message=row[4],
        column=row[5],
        contact_id=row[6],
    )


# -- agents, templates, campaigns ---------------------------------------------------------
def agent_from_row(row: Sequence[Any]) -> Agent:
    """An :class:`Agent` from :data:`AGENT_COLUMNS`."""
    return Agent(
        id=row[0],
        name=row[1],
        active=bool(row[2]),
        weight=float(row[3]),
        capacity=None if row[4] is None else int(row[4]),
    )


def template_from_row(d: Dialect, row: Sequence[Any]) -> Template:
    """A :class:`Template` from :data:`TEMPLATE_COLUMNS`."""
    return Template(
        name=row[0],
        channel=row[1],
        body=row[2],
        subject=row[3],
        html=row[4],
        registered=bool(row[5]),
        brandname=row[6],
        created_at=d.from_ts(row[7]),
    )


def campaign_params(d: Dialect, campaign: Campaign) -> dict[str, Any]:
    """Column values of a campaign (all but ``id``)."""
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "kind": campaign.kind.value,
        "template": campaign.template,
        "source": encode_json(to_plain(campaign.source)),
        "state": campaign.state.value,
        "brandname": campaign.brandname,
        "account": campaign.account,
        "transliterate": campaign.transliterate,
        "scheduled_at": d.ts(campaign.scheduled_at),
        "created_by": campaign.created_by,
        "sent_by": campaign.sent_by,
        "created_at": d.ts(campaign.created_at),
        "updated_at": d.ts(campaign.updated_at),
    }


def campaign_from_row(d: Dialect, row: Sequence[Any]) -> Campaign:
    """A :class:`Campaign` from :data:`CAMPAIGN_COLUMNS`."""
    return Campaign(
        id=int(row[0]),
        name=row[1],
        channel=row[2],
        kind=row[3],
        template=row[4],
        source=from_plain(decode_json(row[5]), CampaignSource),
        state=row[6],
        brandname=row[7],
        account=row[8],
        transliterate=bool(row[9]),
        scheduled_at=d.from_ts(row[10]),
        created_by=row[11],
        sent_by=row[12],
        created_at=d.from_ts(row[13]),
        updated_at=d.from_ts(row[14]),
    )


# -- outbox -----------------------------------------------------------------------------------
def message_select(d: Dialect) -> str:
    """``SELECT`` of :data:`MESSAGE_COLUMNS` from ``outbox o``. A message expanded
    from a contact keeps no copy of its variables until the contact changes (see
    ``SqlContacts._freeze_variables``); until then they are read through the join."""
    picked = [
        f"coalesce(o.variables, {d.variables('c')})" if name == "variables" else f"o.{name}"
        for name in MESSAGE_COLUMNS
    ]
    return (
        f"SELECT {', '.join(picked)} FROM outbox o"
        " LEFT JOIN contacts c ON o.variables IS NULL AND c.id = o.contact_id"
    )


def message_from_row(d: Dialect, row: Sequence[Any]) -> OutboxMessage:
    """An :class:`OutboxMessage` from :data:`MESSAGE_COLUMNS` (null variables dropped)."""
    variables = decode_json(row[4]) or {}
    return OutboxMessage(
        id=int(row[0]),
        campaign_id=int(row[1]),
        target=row[2],
        contact_id=row[3],
        variables={k: v for k, v in variables.items() if v is not None},
        state=row[5],
        attempts=int(row[6]),
        due_at=d.from_ts(row[7]),
        lease_owner=row[8],
        lease_until=d.from_ts(row[9]),
        provider_id=row[10],
        reason=row[11],
        sent_at=d.from_ts(row[12]),
        updated_at=d.from_ts(row[13]),
    )


def report_from_row(d: Dialect, row: Sequence[Any]) -> DeliveryReport:
    """A :class:`DeliveryReport` from :data:`REPORT_COLUMNS`."""
    at: datetime | None = d.from_ts(row[4])
    return DeliveryReport(
        state=row[0], provider_id=row[1], client_id=row[2], reason=row[3], at=at, raw=row[5]
    )
