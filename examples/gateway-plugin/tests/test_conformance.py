"""The ACME channel keeps every rule of massreach's channel contract: it runs the public
conformance suite, ``massreach.testing.channels.ChannelConformance``, against the fake
ACME server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from massreach.channels import Channel
from massreach.testing.channels import ChannelConformance, Delivery

from acme_server import AcmeServer
from support import SECRET, closed_port, make_channel


class TestAcmeSmsConformance(ChannelConformance):
    """``[[acme_sms]]`` against the fake ACME server."""

    @pytest.fixture
    def channel(self, acme: AcmeServer) -> Iterator[Channel]:
        self.acme = acme
        channel = make_channel(acme.base_url)
        yield channel
        channel.close()

    @pytest.fixture
    def unreachable_channel(self) -> Iterator[Channel]:
        channel = make_channel(f"http://127.0.0.1:{closed_port()}")
        yield channel
        channel.close()

    def deliveries(self) -> Sequence[Delivery]:
        return [Delivery(m["ref"], m["msisdn"], m["body"]) for m in self.acme.taken()]

    def refuse_for_good(self, target: str) -> None:
        with self.acme.lock:
            self.acme.error_for[target.removeprefix("+")] = "E101"

    def fail_temporarily(self, requests: int) -> None:
        self.acme.fail_next(requests, status=500)

    def throttle(self, requests: int, retry_after: int) -> None:
        self.acme.fail_next(requests, status=429, retry_after=retry_after)

    def secrets(self) -> Sequence[str]:
        return (SECRET,)
