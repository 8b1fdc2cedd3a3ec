"""Opening a storage backend from a URL: ``memory:``, ``sqlite:///path``, ``postgresql://…``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from massreach.errors import StorageError
from massreach.storage.protocol import Storage, StorageFactory

DEFAULT_URL = "sqlite:///massreach.db"
DB_ENV = "MASSREACH_DB"


def default_url(env: Mapping[str, str] | None = None) -> str:
    """``MASSREACH_DB`` when set, else SQLite at ``./massreach.db``."""
    env = os.environ if env is None else env
    return env.get(DB_ENV) or DEFAULT_URL


def url_scheme(url: str) -> str:
    """The scheme of a storage URL (``postgres`` counts as ``postgresql``)."""
    if url in {"memory", "memory:"}:
        return "memory"
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        raise StorageError(
            f"storage URL {url!r} has no scheme: use memory:, sqlite:///path.db or "
            "postgresql://user@host/db",
            code="storage.bad_url",
            details={"url": url},
        )
    return "postgresql" if scheme == "postgres" else scheme


def open_storage(url: str, factories: Sequence[StorageFactory]) -> Storage:
    """Open ``url`` with the factory registered last for its scheme."""
    scheme = url_scheme(url)
    chosen: StorageFactory | None = None
    for factory in factories:
        if scheme in factory.schemes:
            chosen = factory
    if chosen is None:
        known = sorted({s for f in factories for s in f.schemes})
        raise StorageError(
            f"unknown storage URL scheme {scheme!r} in {url!r}; known: {', '.join(known)}",
            code="storage.unknown_scheme",
            details={"url": url, "scheme": scheme, "known": known},
        )
    return chosen.open(url, {})
