"""memory, SQLite and PostgreSQL agree: the state machines of ``massreach.testing``.

- each SQL backend against the plain-dict model (``make_storage_machine``);
- memory, SQLite and PostgreSQL driven in lockstep, asserting after every step
  that they answer alike and hold the same observable state
  (``make_lockstep_machine``).

The PostgreSQL machines skip without a server (fail with ``MASSREACH_REQUIRE_PG=1``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.storage.pg_scratch import ScratchPostgres, pg_problem, pg_required

from massreach.adapters.memory_storage import MemoryStorage
from massreach.adapters.sql_dialect import Dialect, encode_fields, encode_json, encode_tags
from massreach.adapters.sqlite_storage import SqliteStorage
from massreach.model import ContactDraft, ContactQuery
from massreach.model.contacts import ListFeed
from massreach.testing import make_lockstep_machine, make_storage_machine

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
    assert encode_tags(tags) == encode_json(tags)


@given(st.dictionaries(_text, _text, max_size=5))
def test_fields_are_stored_exactly_as_json(fields: dict[str, str]) -> None:
    assert encode_fields(fields) == encode_json(fields)


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
