"""The PostgreSQL backend: the conformance suite, concurrency between workers,
URL handling and an unreachable server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from massreach.adapters.postgres_backend import PostgresStorage, connection_params
from massreach.core.distribution import EvenSplit, Scope
from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.errors import StorageError
from massreach.model import Campaign, CampaignSource, ContactDraft, ContactQuery
from massreach.model.contacts import ListFeed
from massreach.plugins import Hooks, make_plugin_manager
from massreach.storage import Storage
from massreach.storage.urls import open_storage
from massreach.testing import StorageConformance

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class TestPostgresConformance(StorageConformance):
    """Every protocol rule, on a fresh PostgreSQL schema."""

    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[Storage]:
        backend = PostgresStorage(pg_url)
        yield backend
        backend.close()

    @pytest.fixture
    def decides_ahead(self) -> bool:
        return False


@pytest.fixture
def pg(pg_url: str) -> Iterator[PostgresStorage]:
    backend = PostgresStorage(pg_url, {"pool_size": "8"})
    yield backend
    backend.close()


def _list_with_contacts(storage: PostgresStorage, count: int) -> int:
    lst = storage.create_list("task", feed=ListFeed.csv, created_by=None, now=NOW)
    storage.add_contacts(
        [ContactDraft(list_id=lst.id, phone=f"+8491{i:07d}", tags=("t",)) for i in range(count)],
        now=NOW,
    )
    return lst.id


def _run_together(*jobs: object) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: object) -> None:
        barrier.wait()
        try:
            job()  # type: ignore[operator]
        except BaseException as exc:  # collected for the test to look at
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_distributions_at_once_never_assign_a_record_twice(pg: PostgresStorage) -> None:
    list_id = _list_with_contacts(pg, 2000)
    results: list[object] = []

    def distribute(agents: list[str]) -> None:
        results.append(
            pg.distribute(
                list_id,
                scope=Scope.unassigned,
                planner=EvenSplit(agents),
                order="position",
                now=NOW,
            )
        )

    assert not _run_together(
        lambda: distribute(["a1", "a2", "a3"]), lambda: distribute(["b1", "b2"])
    )
    owners = [c.owner for c in pg.find_contacts(ContactQuery(list_id=list_id))]
    assert None not in owners
    # The first to lock the list took every record; the second found none left.
    assert sorted(sum(s.count for s in shares) for shares in results) == [0, 2000]  # type: ignore[attr-defined]
    stats = pg.task_stats(list_id, now=NOW)
    assert stats.assigned == 2000 and stats.unassigned == 0


def test_workers_never_claim_one_message_twice(pg: PostgresStorage) -> None:
    list_id = _list_with_contacts(pg, 600)
    campaign = pg.create_campaign(
        Campaign(
            id=0,
            name="c",
            channel="sms",
            kind=CampaignKind.care,
            template="t",
            source=CampaignSource(list_id=list_id),
            state=CampaignState.sending,
        )
    )
    assert pg.expand_audience(campaign, channel_field="phone", now=NOW) == 600
    claimed: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        mine = claimed.setdefault(name, [])
        while batch := pg.claim_messages(
            worker=name, now=NOW, lease=timedelta(minutes=5), limit=25
        ):
            mine.extend(m.id for m in batch)

    assert not _run_together(*(lambda n=f"w{i}": worker(n) for i in range(4)))
    every = [mid for ids in claimed.values() for mid in ids]
    assert len(every) == len(set(every)) == 600


def test_counters_are_never_exceeded_by_concurrent_workers(pg: PostgresStorage) -> None:
    granted: list[bool] = []

    def reserve() -> None:
        for _ in range(10):
            granted.append(pg.reserve_counters([("day:+84912345678", 7), ("month", 20)]))

    assert not _run_together(*(reserve for _ in range(6)))
    assert granted.count(True) == 7
    assert pg.counter_values(["day:+84912345678", "month"]) == {
        "day:+84912345678": 7,
        "month": 7,
    }


def test_rolling_window_is_atomic_across_workers(pg: PostgresStorage) -> None:
    results: list[datetime | None] = []

    def reserve() -> None:
        for _ in range(5):
            results.append(
                pg.reserve_window("ads:+84912345678", now=NOW, window=timedelta(days=1), limit=3)
            )

    assert not _run_together(*(reserve for _ in range(4)))
    assert results.count(None) == 3


def test_opened_through_the_plugin_manager(pg_url: str) -> None:
    hooks = Hooks(make_plugin_manager(autoload=False, env={}))
    storage = open_storage(
        pg_url.replace("postgresql://", "postgres://"), hooks.storage_factories()
    )
    try:
        assert isinstance(storage, PostgresStorage)
    finally:
        storage.close()


def test_url_parameters() -> None:
    params, pool = connection_params("postgres://u@db.example:6543/x?pool_size=9")
    assert params["host"] == "db.example" and params["port"] == "6543"
    assert params["connect_timeout"] == 3 and pool == 9


def test_an_unreachable_server_is_named_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        PostgresStorage("postgresql://postgres@127.0.0.1:1/test")
    assert caught.value.code == "storage.unreachable"
    assert "127.0.0.1:1" in str(caught.value)
    assert caught.value.details["port"] == "1"
    # Not a timing assertion on the machine's speed: only that it did not hang.
    assert time.monotonic() - started < 60


def test_custom_fields_are_jsonb_not_columns(
    pg: PostgresStorage, pg_schema_url: tuple[str, str]
) -> None:
    _, schema = pg_schema_url
    lst = pg.create_list("json", feed=ListFeed.csv, created_by=None, now=NOW)
    pg.add_contacts(
        [ContactDraft(list_id=lst.id, phone="+84912345678", fields={"Số dư": "100"})], now=NOW
    )
    with psycopg.connect(pg.url) as conn:
        types: dict[str, str] = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'contacts'",
                (schema,),
            ).fetchall()
        )
    assert types["fields"] == "jsonb" and types["tags"] == "jsonb"
    assert "Số dư" not in types
