"""PostgreSQL for the storage tests: the server to use and throw-away schemas on it.

The server is ``MASSREACH_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Each test (or each hypothesis
example) gets a schema of its own, named in the URL with
``options=-csearch_path=…``, and drops it afterwards. :func:`require_pg` skips a
test when the server cannot be reached, or fails it when ``MASSREACH_REQUIRE_PG=1``.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import ClassVar
from urllib.parse import quote

import psycopg
import pytest

from massreach.adapters.postgres_backend import PostgresStorage

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_server_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("MASSREACH_TEST_PG_URL") or DEFAULT_PG_URL


def pg_required() -> bool:
    """True when a test needing PostgreSQL must fail instead of skipping (CI)."""
    return os.environ.get("MASSREACH_REQUIRE_PG") == "1"


@cache
def pg_problem() -> str | None:
    """Why the server cannot be used, or None when it answers."""
    try:
        with psycopg.connect(pg_server_url(), autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {pg_server_url()}: {exc}".strip()
    return None


def require_pg() -> None:
    """Skip (or, with ``MASSREACH_REQUIRE_PG=1``, fail) when there is no server."""
    problem = pg_problem()
    if problem is not None:
        if pg_required():
            pytest.fail(problem)
        pytest.skip(problem)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=<schema>`` added to its query."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def scratch_schema() -> Iterator[tuple[str, str]]:
    """(URL, schema) of a fresh, empty schema, dropped when the block ends."""
    schema = f"mr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url(), autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_search_path(pg_server_url(), schema), schema
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


class ScratchPostgres(PostgresStorage):
    """A PostgreSQL backend in a schema of its own, for state machines, which make
    a fresh backend per example. Closing one empties its tables and keeps it for
    the next example (much faster than a new schema, pool and migration each
    time); the schemas are dropped when the test process ends."""

    _ready: bool
    _spare: ClassVar[list[ScratchPostgres]] = []
    _schemas: ClassVar[list[ScratchPostgres]] = []

    def __new__(cls) -> ScratchPostgres:
        if cls._spare:
            return cls._spare.pop()
        fresh = super().__new__(cls)
        fresh._ready = False
        return fresh

    def __init__(self) -> None:
        if self._ready:
            return
        self._schema = f"mr_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server_url(), autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE SCHEMA "{self._schema}"')
        if not ScratchPostgres._schemas:
            atexit.register(ScratchPostgres._drop_all)
        ScratchPostgres._schemas.append(self)
        super().__init__(with_search_path(pg_server_url(), self._schema), {"pool_size": "2"})
        self._ready = True

    def close(self) -> None:
        """Empty every table and keep the backend for the next example."""
        with self._write() as tx:
            tables = [
                row[0]
                for row in tx.rows(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " AND tablename <> 'massreach_migrations'"
                )
            ]
            tx.run(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        ScratchPostgres._spare.append(self)

    @classmethod
    def _drop_all(cls) -> None:
        for backend in cls._schemas:
            PostgresStorage.close(backend)
            with psycopg.connect(pg_server_url(), autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{backend._schema}" CASCADE')
        cls._schemas.clear()
        cls._spare.clear()
