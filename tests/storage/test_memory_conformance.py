"""The memory backend against the storage conformance suite and the state machines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from massreach.adapters.memory_storage import MemoryStorage, MemoryStorageFactory
from massreach.errors import StorageError
from massreach.plugins import Hooks, make_plugin_manager
from massreach.storage import Storage
from massreach.storage.urls import open_storage
from massreach.testing import StorageConformance, make_lockstep_machine, make_storage_machine


class TestMemoryConformance(StorageConformance):
    """Every protocol rule, on ``memory:``."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        backend = MemoryStorage()
        yield backend
        backend.close()

    @pytest.fixture
    def decides_ahead(self) -> bool:
        return False


TestMemoryStateMachine = make_storage_machine(MemoryStorage, "MemoryStateMachine").TestCase

TestMemoryLockstep = make_lockstep_machine(
    MemoryStorage, MemoryStorage, name="MemoryLockstep"
).TestCase


def test_memory_url_opens_a_fresh_store_each_time() -> None:
    """Every ``memory:`` open gives its own empty store, registered as a default plugin."""
    factories = Hooks(make_plugin_manager(autoload=False, env={})).storage_factories()
    first = open_storage("memory:", factories)
    second = open_storage("memory:", factories)
    assert isinstance(first, MemoryStorage) and first is not second
    assert isinstance(first, Storage)
    assert first.url == "memory:"
    first.close()
    second.close()


def test_memory_factory_refuses_other_urls() -> None:
    with pytest.raises(StorageError):
        MemoryStorageFactory().open("sqlite:///x.db", {})


def test_close_removes_stored_files(tmp_path: pytest.TempPathFactory) -> None:
    """The copies of import files live in a directory the storage removes on close."""
    from datetime import UTC, datetime
    from pathlib import Path

    from massreach.model.contacts import ListFeed
    from massreach.testing.storage_base import make_plan

    now = datetime(2026, 3, 2, tzinfo=UTC)
    storage = MemoryStorage()
    lst = storage.create_list("vip", feed=ListFeed.csv, created_by=None, now=now)
    plan = storage.create_plan(make_plan(lst.id, now))
    source = Path(str(tmp_path)) / "a.csv"
    source.write_bytes(b"phone\n")
    storage.store_plan_file(plan.id, source)
    with storage.plan_file(plan.id) as path:
        kept = Path(path)
    assert kept.exists()
    storage.close()
    assert not kept.exists()
