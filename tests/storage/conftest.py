"""Fixtures of the storage tests: SQLite files and fresh PostgreSQL schemas.

``pg_url`` gives each test its own PostgreSQL schema (``options=-csearch_path=…``
in the URL) on the server named by ``MASSREACH_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and drops it afterwards. When the
server cannot be reached the test is skipped, unless ``MASSREACH_REQUIRE_PG=1``
(CI), in which case it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_server_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("MASSREACH_TEST_PG_URL") or DEFAULT_PG_URL


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=<schema>`` added to its query."""
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
def pg_schema_url() -> Iterator[tuple[str, str]]:
    """(URL, schema) of a fresh, empty schema, dropped after the test."""
    schema = f"mr_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_search_path(pg_server_url(), schema), schema
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_schema_url: tuple[str, str]) -> str:
    """A PostgreSQL URL whose tables live in a fresh schema of their own."""
    return pg_schema_url[0]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL of a new file in the test's folder."""
    return f"sqlite:///{tmp_path / 'massreach.db'}"
