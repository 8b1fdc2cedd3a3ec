"""Fixtures shared by the channel and HTTP client tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.adapters.smtp_servers import self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (skips without ``openssl``)."""
    try:
        return self_signed_certificate(tmp_path_factory.mktemp("tls"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot make a test certificate: {exc}")
