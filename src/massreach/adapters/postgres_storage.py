"""The PostgreSQL storage plugin: opens ``postgresql://`` URLs.

The backend itself (:mod:`massreach.adapters.postgres_backend`, with psycopg) is
imported when the first such URL is opened, so that an engine on SQLite or memory,
and every CLI command on them, starts without loading psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from massreach.markers import hookimpl

if TYPE_CHECKING:
    from massreach.storage.protocol import Storage, StorageFactory

__all__ = ["PostgresStorageFactory"]


class PostgresStorageFactory:
    """Opens ``postgresql:`` (and ``postgres:``) URLs."""

    schemes: tuple[str, ...] = ("postgresql",)

    def open(self, url: str, options: Mapping[str, str]) -> Storage:
        """Connect, check the server answers, and migrate."""
        from massreach.adapters.postgres_backend import PostgresStorage

        return PostgresStorage(url, options)


if TYPE_CHECKING:  # mypy proves that the factory satisfies the protocol

    def _conforms(factory: PostgresStorageFactory) -> StorageFactory:
        return factory


@hookimpl(trylast=True)
def massreach_register_storage(register: Callable[[StorageFactory], None]) -> None:
    """Register the PostgreSQL backend as a default a plugin may override."""
    register(PostgresStorageFactory())
