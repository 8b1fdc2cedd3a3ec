"""Fixtures of the dispatch tests: a hand-moved clock, SQLite files and fresh
PostgreSQL schemas (the pattern of ``tests/storage/conftest.py``: skipped when the
server cannot be reached, unless ``MASSREACH_REQUIRE_PG=1``, which fails instead)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from tests.dispatch.support import NOW, Clock

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_server_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("MASSREACH_TEST_PG_URL") or DEFAULT_PG_URL


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(pg_server_url(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {pg_server_url()}: {exc}"
        if os.environ.get("MASSREACH_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards."""
    schema = f"mr_dispatch_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield _with_search_path(pg_server_url(), schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL of a new file in the test's folder."""
    return f"sqlite:///{tmp_path / 'massreach.db'}"


@pytest.fixture
def clock() -> Clock:
    """A clock at :data:`NOW` (10:00 in Vietnam) that tests move by hand."""
    return Clock(NOW)
