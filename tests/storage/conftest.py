"""Fixtures of the storage tests: SQLite files and fresh PostgreSQL schemas.

``pg_url`` gives each test its own PostgreSQL schema on the server named by
``MASSREACH_TEST_PG_URL`` and drops it afterwards (see ``pg_scratch``). When the
server cannot be reached the test is skipped, unless ``MASSREACH_REQUIRE_PG=1``
(CI), in which case it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.storage.pg_scratch import require_pg, scratch_schema


@pytest.fixture
def pg_schema_url() -> Iterator[tuple[str, str]]:
    """(URL, schema) of a fresh, empty schema, dropped after the test."""
    require_pg()
    with scratch_schema() as found:
        yield found


@pytest.fixture
def pg_url(pg_schema_url: tuple[str, str]) -> str:
    """A PostgreSQL URL whose tables live in a fresh schema of their own."""
    return pg_schema_url[0]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL of a new file in the test's folder."""
    return f"sqlite:///{tmp_path / 'massreach.db'}"
