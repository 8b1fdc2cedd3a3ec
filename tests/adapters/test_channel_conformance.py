"""The built-in HTTP SMS gateway channel runs the public channel conformance suite
(``massreach.testing.channels``) against the loopback gateway, one-by-one and in batch mode."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from tests.adapters.http_gateway import Gateway, http_gateway
from tests.adapters.smtp_servers import free_port

from massreach.adapters.sms_http_channel import SmsHttpChannelFactory
from massreach.channels import Channel
from massreach.testing.channels import ChannelConformance, Delivery

pytest_plugins = ["pytester"]

KEY = "conformance-key-8f3a"


def _channel(url: str, **settings: object) -> Channel:
    table: dict[str, object] = {
        "name": "default",
        "url": url,
        "api_key_env": "SMS_API_KEY",
        "brandname": "SHOP",
    }
    table.update(settings)
    return SmsHttpChannelFactory().create(table, {"SMS_API_KEY": KEY})


class TestSmsHttpChannelConformance(ChannelConformance):
    """``[[sms_gateway]]``, one JSON request per message."""

    settings: dict[str, object] = {}  # noqa: RUF012 - overridden per subclass, never mutated

    @pytest.fixture
    def channel(self) -> Iterator[Channel]:
        with http_gateway(api_key=KEY) as gateway:
            self.gateway: Gateway = gateway
            channel = _channel(gateway.url, **self.settings)
            yield channel
            channel.close()

    @pytest.fixture
    def unreachable_channel(self) -> Iterator[Channel]:
        channel = _channel(f"http://127.0.0.1:{free_port()}/sms", timeout=2)
        yield channel
        channel.close()

    def deliveries(self) -> Sequence[Delivery]:
        with self.gateway.lock:
            return [
                Delivery(item["client_id"], item["phone"], item["text"])
                for item in self.gateway.accepted.values()
            ]

    def refuse_for_good(self, target: str) -> None:
        with self.gateway.lock:
            self.gateway.reject[target] = "number is blacklisted"

    def fail_temporarily(self, requests: int) -> None:
        self.gateway.fail(requests, status=500)

    def throttle(self, requests: int, retry_after: int) -> None:
        self.gateway.throttle(requests, retry_after=retry_after)

    def secrets(self) -> Sequence[str]:
        return (KEY,)


class TestSmsHttpBatchChannelConformance(TestSmsHttpChannelConformance):
    """``[[sms_gateway]]`` with ``batch = true``: JSON arrays of up to 3 messages."""

    settings = {"batch": True, "batch_size": 3}  # noqa: RUF012


def test_the_suite_skips_rules_whose_hooks_are_not_overridden(
    pytester: pytest.Pytester,
) -> None:
    """A channel that only supplies ``channel`` and ``deliveries`` runs the rules that
    need nothing else and reports the others as skipped, naming the hook."""
    pytester.makepyfile(
        """
        import pytest
        from massreach.channels import SendResult, SendStatus
        from massreach.testing.channels import ChannelConformance, Delivery

        class Recorder:
            name, kind, channel = "default", "recorder", "sms"

            def __init__(self):
                self.seen = []

            def send_batch(self, messages):
                results = []
                for m in messages:
                    if not m.target.startswith("+"):
                        results.append(SendResult(m.message_id, SendStatus.PERMANENT, reason="bad"))
                        continue
                    self.seen.append(Delivery(m.client_id, m.target, m.text))
                    results.append(SendResult(m.message_id, SendStatus.SENT))
                return results

            def close(self):
                pass

        class TestRecorder(ChannelConformance):
            @pytest.fixture
            def channel(self):
                self.recorder = Recorder()
                yield self.recorder

            def deliveries(self):
                return self.recorder.seen
        """
    )
    result = pytester.runpytest("-ra", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10, skipped=5)
    result.stdout.fnmatch_lines(["*override refuse_for_good() to check this rule*"])
    result.stdout.fnmatch_lines(["*override the 'unreachable_channel' fixture*"])
