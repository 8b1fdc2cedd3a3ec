"""The pytest plugin massreach ships for plugin authors (``massreach.testing.pytest_plugin``)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from massreach.adapters.memory_storage import MemoryStorage
from massreach.markers import hookimpl
from massreach.model.contacts import ListFeed
from massreach.storage import Storage
from massreach.testing import CLOCK_START, FakeClock
from massreach.testing.pytest_plugin import EngineFactory


def test_memory_storage_fixture_is_fresh(massreach_memory_storage: Storage) -> None:
    assert isinstance(massreach_memory_storage, MemoryStorage)
    assert massreach_memory_storage.lists() == []


def test_clock_fixture_moves_only_when_told(massreach_clock: FakeClock) -> None:
    assert massreach_clock() == CLOCK_START
    assert massreach_clock.advance(minutes=5) == CLOCK_START + timedelta(minutes=5)
    assert massreach_clock() == CLOCK_START + timedelta(minutes=5)
    with pytest.raises(ValueError, match="timezone"):
        massreach_clock.set(CLOCK_START.replace(tzinfo=None))


def test_engine_factory_uses_memory_the_clock_and_given_plugins(
    massreach_engine: EngineFactory, massreach_clock: FakeClock
) -> None:
    """A plugin passed to the factory wins over the built-in memory backend."""
    opened: list[str] = []

    class RecordingFactory:
        schemes = ("memory",)

        def open(self, url: str, options: object) -> Storage:
            opened.append(url)
            return MemoryStorage(url)

    plugin = SimpleNamespace(
        __name__="recording_storage",
        massreach_register_storage=hookimpl(lambda register: register(RecordingFactory())),
    )
    reach = massreach_engine(plugins=[plugin])
    assert opened == ["memory:"]
    assert reach.context.now() == CLOCK_START
    reach.storage.create_list("vip", feed=ListFeed.csv, created_by=None, now=massreach_clock())
    second = massreach_engine()
    assert second.storage.lists() == []


def test_conformance_asserts_are_rewritten() -> None:
    """A failing rule of the suite shows the compared values (asserts rewritten)."""
    from massreach.testing import contact_rules

    assert getattr(contact_rules, "@py_builtins", None) is not None
