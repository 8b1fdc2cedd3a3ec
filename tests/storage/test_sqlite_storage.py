"""The SQLite backend: the conformance suite, its URL and file handling, its schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.adapters.sql_schema import MIGRATIONS
from massreach.adapters.sqlite_storage import SQLITE, SqliteStorage, sqlite_path
from massreach.errors import StorageError
from massreach.model import ContactDraft
from massreach.model.contacts import ListFeed
from massreach.plugins import Hooks, make_plugin_manager
from massreach.storage import Storage
from massreach.storage.urls import open_storage
from massreach.testing import StorageConformance

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class TestSqliteConformance(StorageConformance):
    """Every protocol rule, on a SQLite file."""

    @pytest.fixture
    def storage(self, sqlite_url: str) -> Iterator[Storage]:
        backend = SqliteStorage(sqlite_url)
        yield backend
        backend.close()

    @pytest.fixture
    def decides_ahead(self) -> bool:
        return True


class TestSqliteInMemoryConformance(StorageConformance):
    """Every protocol rule, on ``sqlite:///:memory:``."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        backend = SqliteStorage("sqlite:///:memory:")
        yield backend
        backend.close()

    @pytest.fixture
    def decides_ahead(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///massreach.db", "massreach.db"),
        ("sqlite:///data/x.db", "data/x.db"),
        ("sqlite:////var/lib/x.db", "/var/lib/x.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:///with%20space.db", "with space.db"),
    ],
)
def test_url_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path


def test_url_without_a_file_is_refused() -> None:
    with pytest.raises(StorageError) as caught:
        sqlite_path("sqlite://")
    assert caught.value.code == "storage.bad_url"


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "customers.csv"
    bogus.write_text("phone,name\n" * 500, encoding="utf-8")
    with pytest.raises(StorageError) as caught:
        SqliteStorage(f"sqlite:///{bogus}")
    assert caught.value.code == "storage.not_a_database"
    assert str(bogus) in str(caught.value)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        SqliteStorage(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    assert caught.value.code == "storage.cannot_open"


def test_opened_through_the_plugin_manager(sqlite_url: str) -> None:
    hooks = Hooks(make_plugin_manager(autoload=False, env={}))
    storage = open_storage(sqlite_url, hooks.storage_factories())
    try:
        assert isinstance(storage, SqliteStorage)
    finally:
        storage.close()


def test_pragmas_and_migrations(sqlite_url: str) -> None:
    storage = SqliteStorage(sqlite_url)
    storage.close()
    storage = SqliteStorage(sqlite_url)  # opening again applies nothing twice
    storage.close()
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        applied = [row[0] for row in conn.execute("SELECT name FROM massreach_migrations")]
        assert applied == [m.__name__ for m in MIGRATIONS]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(contacts)")}
        assert {"tags", "fields"} <= columns  # custom fields live in JSON, not in columns
    finally:
        conn.close()


def test_two_storages_on_one_file_see_each_other(sqlite_url: str) -> None:
    first, second = SqliteStorage(sqlite_url), SqliteStorage(sqlite_url)
    try:
        lst = first.create_list("shared", feed=ListFeed.csv, created_by=None, now=NOW)
        second.add_contacts([ContactDraft(list_id=lst.id, phone="+84912345678")], now=NOW)
        assert [
            c.phone
            for c in first.find_contacts_by_keys(phones=["+84912345678"], emails=[], crm_ids=[])
        ] == ["+84912345678"]
    finally:
        first.close()
        second.close()


def test_plan_files_live_beside_the_database(sqlite_url: str, tmp_path: Path) -> None:
    from massreach.model import ImportOptions, ImportPlan

    storage = SqliteStorage(sqlite_url)
    try:
        lst = storage.create_list("files", feed=ListFeed.csv, created_by=None, now=NOW)
        plan = storage.create_plan(
            ImportPlan(id=0, list_id=lst.id, file_name="a.csv", options=ImportOptions())
        )
        source = tmp_path / "a.csv"
        source.write_bytes(b"phone\n+84912345678\n")
        storage.store_plan_file(plan.id, source)
        with storage.plan_file(plan.id) as kept:
            assert kept.parent == Path(sqlite_path(sqlite_url) + ".files")
            assert kept.read_bytes() == source.read_bytes()
        assert storage.delete_plan(plan.id)
        assert not kept.exists()
    finally:
        storage.close()


@given(st.datetimes(timezones=st.timezones()))
def test_times_are_exact_integers_that_sort_as_instants(moment: datetime) -> None:
    dialect = SQLITE
    stored = dialect.ts(moment)
    assert isinstance(stored, int)
    assert dialect.from_ts(stored) == moment.astimezone(UTC)
    assert dialect.ts(moment.astimezone(UTC) + timedelta(microseconds=1)) == stored + 1


@given(st.text(max_size=20), st.lists(st.text(max_size=8), max_size=3))
def test_values_shared_by_a_whole_batch_round_trip(name: str, tags: list[str]) -> None:
    """A value every row of a batch shares is written into the INSERT as a literal:
    quotes, ``?``, newlines and the like must come back unchanged."""
    storage = SqliteStorage("sqlite:///:memory:")
    try:
        lst = storage.create_list("x", feed=ListFeed.csv, created_by=None, now=NOW)
        drafts = [
            ContactDraft(list_id=lst.id, phone=f"+8491234567{i}", name=name, tags=tags)
            for i in range(3)
        ]
        ids = storage.add_contacts(drafts, now=NOW)
        for contact_id in ids:
            stored = storage.get_contact(contact_id)
            assert stored is not None
            assert (stored.name, stored.tags) == (name, tuple(tags))
    finally:
        storage.close()


@pytest.mark.parametrize("rows", [10, 600])  # inserted on the caller's thread, or staged
def test_import_batches_skip_foreign_key_checks_only_inside_them(
    sqlite_url: str, tmp_path: Path, rows: int
) -> None:
    from massreach import ImportOptions, Reach
    from massreach.model import ImportBatch, PlanCounts

    source = tmp_path / "people.csv"
    source.write_text("phone\n" + "".join(f"0912{n:06d}\n" for n in range(rows)))
    with Reach(sqlite_url, autoload=False, env={}) as reach:
        storage = reach.storage
        assert isinstance(storage, SqliteStorage)

        def foreign_keys() -> int:
            return int(storage._conn.execute("PRAGMA foreign_keys").fetchone()[0])

        options = ImportOptions(region="VN", tags=("t",))
        plan = reach.imports.import_file(source, list_name="people", options=options)
        assert plan.counts.succeeded == rows and foreign_keys() == 1
        missing = ImportBatch(4242, plan.list_id, (), (), (), PlanCounts(total=1), cursor=9)
        with pytest.raises(Exception, match="4242"):
            storage.apply_import_batch(missing, now=NOW)
        assert foreign_keys() == 1 and not storage._conn.in_transaction
        with pytest.raises(sqlite3.IntegrityError):  # checked everywhere else
            storage._conn.execute(
                "INSERT INTO contacts (list_id, position, tags, fields, status)"
                " VALUES (999, 1, '[]', '{}', 'unprocessed')"
            )
