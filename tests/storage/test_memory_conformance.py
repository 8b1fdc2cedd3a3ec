"""The memory backend against the storage conformance suite and state machines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from massreach.adapters.memory_storage import MemoryStorage
from massreach.storage import Storage
from massreach.testing import StorageConformance


class TestMemoryConformance(StorageConformance):
    """Every protocol rule, on ``memory:``."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        backend = MemoryStorage()
        yield backend
        backend.close()
