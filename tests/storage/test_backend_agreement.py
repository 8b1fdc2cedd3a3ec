"""memory, SQLite and PostgreSQL agree: the state machines of ``massreach.testing``.

- each SQL backend against the plain-dict model (``make_storage_machine``);
- memory, SQLite and PostgreSQL driven in lockstep, asserting after every step
  that they answer alike and hold the same observable state
  (``make_lockstep_machine``).

The PostgreSQL machines skip without a server (fail with ``MASSREACH_REQUIRE_PG=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.storage.pg_scratch import ScratchPostgres, pg_problem, pg_required, require_pg

from massreach.adapters.memory_storage import MemoryStorage
from massreach.adapters.sql_dialect import (
    Dialect,
    encode_fields,
    encode_fields_column,
    encode_json,
    encode_tags,
)
from massreach.adapters.sqlite_storage import SqliteStorage
from massreach.core.distribution import (
    CountSplit,
    DistributionOrder,
    EvenSplit,
    ProcessingStatus,
    RecordState,
    Scope,
    Share,
    WeightedSplit,
    distribute,
)
from massreach.core.lifecycle import CampaignState
from massreach.errors import InvalidInput
from massreach.model import ContactDraft, ContactQuery, ContactUpdate
from massreach.model.contacts import ListFeed
from massreach.storage import Storage
from massreach.testing import make_lockstep_machine, make_storage_machine
from massreach.testing.storage_base import make_campaign

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

_skip_without_pg = pytest.mark.skipif(
    pg_problem() is not None and not pg_required(),
    reason=pg_problem() or "PostgreSQL not reachable",
)


def sqlite_in_memory() -> SqliteStorage:
    return SqliteStorage("sqlite:///:memory:")


TestSqliteStateMachine = make_storage_machine(sqlite_in_memory, "SqliteStateMachine").TestCase

TestPostgresStateMachine = pytest.mark.postgres(
    _skip_without_pg(make_storage_machine(ScratchPostgres, "PostgresStateMachine").TestCase)
)

TestMemorySqliteLockstep = make_lockstep_machine(
    MemoryStorage, sqlite_in_memory, name="MemorySqliteLockstep"
).TestCase

TestMemorySqlitePostgresLockstep = pytest.mark.postgres(
    _skip_without_pg(
        make_lockstep_machine(
            MemoryStorage, sqlite_in_memory, ScratchPostgres, name="MemorySqlitePostgresLockstep"
        ).TestCase
    )
)


# -- the exact text forms the SQLite queries rely on --------------------------------------
_text = st.text(max_size=12)


@given(st.lists(_text, max_size=5))
def test_tags_are_stored_exactly_as_json(tags: list[str]) -> None:
    assert encode_tags(tuple(tags)) == encode_json(tags)


@given(st.dictionaries(_text, _text, max_size=5))
def test_fields_are_stored_exactly_as_json(fields: dict[str, str]) -> None:
    assert encode_fields(fields) == encode_json(fields)


_NAMES = st.sampled_from(["param0", "param1", "Số dư", "100%", 'q"', "%s"])


@given(
    st.lists(st.dictionaries(_NAMES, _text, max_size=3), max_size=6),
    st.integers(0, 4),
)
def test_a_column_of_fields_is_encoded_as_each_one(rows: list[dict[str, str]], copies: int) -> None:
    """Rows of one shape (names in one order) share a template; others do not."""
    rows = rows + [dict(rows[0]) for _ in range(copies)] if rows else rows
    assert encode_fields_column(rows) == [encode_fields(f) for f in rows]


@given(
    st.lists(st.lists(_text, max_size=4), min_size=1, max_size=5),
    st.lists(_text, min_size=1, max_size=3),
)
def test_tag_search_by_text_is_exact(tag_sets: list[list[str]], wanted: list[str]) -> None:
    """The text match of ``Dialect.any_tag`` finds exactly the contacts with one of
    the tags, whatever the tags contain (quotes, commas, brackets, backslashes)."""
    storage = sqlite_in_memory()
    try:
        lst = storage.create_list("tags", feed=ListFeed.csv, created_by=None, now=NOW)
        ids = storage.add_contacts(
            [ContactDraft(list_id=lst.id, tags=tags) for tags in tag_sets], now=NOW
        )
        found = {c.id for c in storage.find_contacts(ContactQuery(list_id=lst.id, tags=wanted))}
        expected = {i for i, tags in zip(ids, tag_sets, strict=True) if set(tags) & set(wanted)}
        assert found == expected
    finally:
        storage.close()


def test_dialect_any_tag_of_no_tags_is_never_true() -> None:
    sql, params = Dialect().any_tag("c.tags", [])
    assert params == [] and sql == "()"  # callers only ask with at least one tag


# -- distribution through SQL equals the core's reference -----------------------------------
_records = st.lists(
    st.tuples(
        st.none() | st.sampled_from(["6001", "6002", "6003"]),  # owner
        st.sampled_from(list(ProcessingStatus)),  # status
        st.none() | st.integers(-3, 3),  # callback in hours from now
        st.none() | st.integers(0, 3),  # priority
    ),
    max_size=25,
)
_splits = st.one_of(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True).map(
        EvenSplit
    ),
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 5)),
        min_size=1,
        max_size=3,
        unique_by=lambda pair: pair[0],
    ).map(WeightedSplit),
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 8)),
        min_size=1,
        max_size=3,
        unique_by=lambda pair: pair[0],
    ).map(lambda pairs: CountSplit(pairs, allow_partial=True)),
)


def _check_distribution(
    storage: Storage,
    records: list[tuple[str | None, ProcessingStatus, int | None, int | None]],
    scope: Scope,
    split: Callable[[int], Sequence[Share]],
    order: str,
) -> None:
    lst = storage.create_list("task", feed=ListFeed.csv, created_by=None, now=NOW)
    drafts = [
        ContactDraft(
            list_id=lst.id,
            phone=f"+849123{i:05d}",
            owner=owner,
            status=status,
            callback_at=None if hours is None else NOW + timedelta(hours=hours),
            callback_agent=None if hours is None else (owner or "6001"),
            priority=priority,
        )
        for i, (owner, status, hours, priority) in enumerate(records)
    ]
    storage.add_contacts(drafts, now=NOW)
    before = storage.find_contacts(ContactQuery(list_id=lst.id))
    ordering = DistributionOrder("priority" if order == "priority" else "position")
    ordered = sorted(before, key=lambda c: ordering.key(c.id, c.position, c.priority))
    states = [
        RecordState(c.id, c.owner, c.status, c.callback_at, c.callback_agent) for c in ordered
    ]
    try:
        expected = distribute(states, scope, split, NOW)
    except InvalidInput:
        with pytest.raises(InvalidInput):
            storage.distribute(lst.id, scope=scope, planner=split, order=order, now=NOW)
        assert storage.find_contacts(ContactQuery(list_id=lst.id)) == before
        return
    storage.distribute(lst.id, scope=scope, planner=split, order=order, now=NOW)
    after = {c.id: c for c in storage.find_contacts(ContactQuery(list_id=lst.id))}
    for contact in before:
        owner = expected.get(contact.id, contact.owner)
        assert after[contact.id].owner == owner
        if contact.id in expected:
            assert after[contact.id].assigned_at == NOW


@given(_records, st.sampled_from(list(Scope)), _splits, st.sampled_from(["position", "priority"]))
def test_sqlite_distribution_is_the_core_reference(
    records: list[tuple[str | None, ProcessingStatus, int | None, int | None]],
    scope: Scope,
    split: Callable[[int], Sequence[Share]],
    order: str,
) -> None:
    """No record lost or given twice, shares and order as the pure core decides."""
    storage = sqlite_in_memory()
    try:
        _check_distribution(storage, records, scope, split, order)
    finally:
        storage.close()


@pytest.mark.postgres
@_skip_without_pg
@settings(max_examples=25)
@given(_records, st.sampled_from(list(Scope)), _splits, st.sampled_from(["position", "priority"]))
def test_postgres_distribution_is_the_core_reference(
    records: list[tuple[str | None, ProcessingStatus, int | None, int | None]],
    scope: Scope,
    split: Callable[[int], Sequence[Share]],
    order: str,
) -> None:
    storage = ScratchPostgres()
    try:
        _check_distribution(storage, records, scope, split, order)
    finally:
        storage.close()


# -- a message keeps the variables its contact had when the audience was expanded ------------
@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_backend(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "postgresql":
        require_pg()
        backend: Storage = ScratchPostgres()
    elif request.param == "sqlite":
        backend = sqlite_in_memory()
    else:
        backend = MemoryStorage()
    yield backend
    backend.close()


def test_messages_keep_the_variables_of_expansion_time(any_backend: Storage) -> None:
    storage = any_backend
    lst = storage.create_list("vars", feed=ListFeed.csv, created_by=None, now=NOW)
    kept, changed, gone = storage.add_contacts(
        [
            ContactDraft(list_id=lst.id, phone=f"+8491234567{i}", name=f"N{i}", fields={"p": "1"})
            for i in range(3)
        ],
        now=NOW,
    )
    campaign = make_campaign(storage, "vars", list_id=lst.id, state=CampaignState.sending)
    assert storage.expand_audience(campaign, channel_field="phone", now=NOW) == 3
    storage.update_contacts(
        [ContactUpdate(contact_id=changed, name="Renamed", fields={"p": "2", "q": "3"})], now=NOW
    )
    storage.delete_contacts([gone])
    variables = {m.contact_id: m.variables for m in storage.messages(campaign.id)}
    for contact_id, index in ((kept, 0), (changed, 1), (gone, 2)):
        assert variables[contact_id] == {
            "p": "1",
            "name": f"N{index}",
            "phone": f"+8491234567{index}",
        }
    claimed = storage.claim_messages(worker="w", now=NOW, lease=timedelta(minutes=1), limit=5)
    assert {m.contact_id: m.variables for m in claimed} == variables
