"""What the ACME plugin's tests share: the signing secret and channels built from tables."""

from __future__ import annotations

import socket
from typing import Any

from massreach_acme_sms import AcmeSmsChannel, AcmeSmsChannelFactory

#: The signing secret the fake server and the channels share, and its variable.
SECRET = "acme-test-secret-5d1e"
SECRET_ENV = "ACME_SMS_SECRET"


def acme_table(url: str, **settings: Any) -> dict[str, Any]:
    """An ``[[acme_sms]]`` table as it comes out of the TOML file."""
    table: dict[str, Any] = {
        "name": "default",
        "url": url,
        "sender_default": "SHOP",
        "secret_env": SECRET_ENV,
        "timeout": 5,
    }
    table.update(settings)
    return table


def make_channel(url: str, **settings: Any) -> AcmeSmsChannel:
    """A channel from an ``[[acme_sms]]`` table, as massreach builds it."""
    channel = AcmeSmsChannelFactory().create(acme_table(url, **settings), {SECRET_ENV: SECRET})
    assert isinstance(channel, AcmeSmsChannel)
    return channel


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
