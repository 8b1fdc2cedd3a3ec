"""Fixtures of the ACME plugin's tests: a fake ACME server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from acme_server import AcmeServer, acme_server
from support import SECRET


@pytest.fixture
def acme() -> Iterator[AcmeServer]:
    """A fresh fake ACME server on loopback."""
    with acme_server(secret=SECRET) as server:
        yield server
