"""The channel conformance suite: the rules every delivery channel keeps.

Subclass :class:`ChannelConformance` in your channel's tests, name the subclass
``Test…`` so pytest collects it, override the ``channel`` fixture and the
:meth:`~ChannelConformance.deliveries` hook, and as many of the *arrangement* hooks
as your far end (a fake of your provider, running for real on loopback) can do::

    import pytest
    from massreach.testing.channels import ChannelConformance, Delivery

    class TestMyGateway(ChannelConformance):
        @pytest.fixture
        def channel(self, my_fake_gateway):
            self.gateway = my_fake_gateway          # the hooks below read it
            channel = MyGatewayFactory().create({"url": my_fake_gateway.url}, {})
            yield channel
            channel.close()

        def deliveries(self):
            return [Delivery(m.ref, m.phone, m.text) for m in self.gateway.received]

        def refuse_for_good(self, target):
            self.gateway.invalid_numbers.add(target)

        def fail_temporarily(self, requests):
            self.gateway.fail_next(requests, status=500)

        def throttle(self, requests, retry_after):
            self.gateway.throttle_next(requests, retry_after)

What is checked (one test per rule, each docstring says which):

* ``send_batch`` returns one :class:`~massreach.channels.SendResult` per message, in
  the order given, with the message's id, for a batch of any size (empty too);
* customer-care results are final at once (``sent``/``delivered``), advertising ones
  are never failures when the far end takes them;
* the far end receives each message's target, text and ``client_id`` unchanged, so a
  provider can drop a retried duplicate; a resent message is not a failure;
* per-message problems (a refused number, a malformed address, an overloaded or
  unreachable far end) are results, never exceptions: refused and malformed →
  ``permanent`` with a reason, overloaded or unreachable → ``temporary`` (with
  ``retry_after`` when the far end asked for a delay), and a retry then goes through;
* reprs, reasons and log records never hold a whole phone number or a secret;
* ``close()`` may be called twice.

The ``channel`` fixture must give a fresh channel talking to a far end that has
received nothing yet. The arrangement hooks (:meth:`~ChannelConformance.refuse_for_good`,
:meth:`~ChannelConformance.fail_temporarily`, :meth:`~ChannelConformance.throttle`) and
the ``unreachable_channel`` fixture are optional: a rule whose hook is not overridden
is *skipped* with a reason that names the hook, so ``pytest -ra`` shows what is left
unchecked. No test sleeps or measures time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import pytest
from attrs import field, frozen

from massreach.channels import Channel, OutgoingMessage, SendResult, SendStatus
from massreach.core.masking import mask_email, mask_phone

__all__ = ["ChannelConformance", "Delivery"]

#: The campaign id of every message the suite builds.
CAMPAIGN_ID = 7

_SUCCESS = frozenset({SendStatus.SENT, SendStatus.ACCEPTED, SendStatus.DELIVERED})
_CARE_DONE = frozenset({SendStatus.SENT, SendStatus.DELIVERED})
#: Digits of a phone number that, seen together, give the number away.
_LEAK_DIGITS = 9


def _mask(target: str) -> str:
    return mask_email(target) if "@" in target else mask_phone(target)


def _same_target(left: str, right: str) -> bool:
    """Phone numbers compare by digits (``+8496…`` and ``8496…``), addresses by case."""
    if "@" in left or "@" in right:
        return left.strip().lower() == right.strip().lower()
    return "".join(c for c in left if c.isdigit()) == "".join(c for c in right if c.isdigit())


@frozen
class Delivery:
    """One message as the far end received it, in massreach's words.

    ``client_id`` is the de-duplication key the far end was given (``None`` when it
    was given none, which fails the suite), ``target`` the phone number (with or
    without ``+``; compared by digits) or address, ``text`` the message body. The
    repr masks the target and hides the text.
    """

    client_id: str | None
    target: str = field(repr=_mask)
    text: str = field(repr=lambda text: f"<{len(text)} chars>")


class ChannelConformance:
    """Every rule of the :class:`~massreach.channels.Channel` contract.

    Override the ``channel`` fixture and :meth:`deliveries`; override the arrangement
    hooks your far end supports (see the module documentation).
    """

    # -- what a channel's tests supply ------------------------------------------------

    @pytest.fixture
    def channel(self) -> Iterator[Channel]:
        """A fresh channel whose far end has received nothing. Override this fixture."""
        raise NotImplementedError(
            "Override the 'channel' fixture: yield a channel talking to a fresh far end, "
            "then close it."
        )
        yield  # pragma: no cover  (a generator fixture, like the overrides)

    @pytest.fixture
    def unreachable_channel(self) -> Iterator[Channel]:
        """A channel whose far end cannot be reached (a closed port). Optional."""
        pytest.skip("override the 'unreachable_channel' fixture to check this rule")
        yield  # pragma: no cover

    def deliveries(self) -> Sequence[Delivery]:
        """Every message the far end has received and taken, oldest first.

        A far end that drops duplicates by ``client_id`` lists a resent message once;
        one that does not may list it again. Messages it refused are not listed.
        """
        raise NotImplementedError("Override deliveries(): what the far end received")

    def refuse_for_good(self, target: str) -> None:
        """Make the far end refuse every message to ``target`` for good (an invalid or
        blocked number). Optional."""
        raise NotImplementedError("refuse_for_good")

    def fail_temporarily(self, requests: int) -> None:
        """Make the far end fail the next ``requests`` requests with an error that may
        pass (a server error). Optional."""
        raise NotImplementedError("fail_temporarily")

    def throttle(self, requests: int, retry_after: int) -> None:
        """Make the far end refuse the next ``requests`` requests as overloaded, asking
        the sender to wait ``retry_after`` seconds (HTTP 429 + ``Retry-After``). Optional."""
        raise NotImplementedError("throttle")

    def secrets(self) -> Sequence[str]:
        """Secrets the channel was configured with (API keys, passwords): they must
        never appear in a repr, a reason or a log record."""
        return ()

    def target(self, channel: Channel, number: int) -> str:
        """A valid target for message ``number``: a Vietnamese mobile number for SMS,
        an ``example.com`` address for email. Override for another numbering plan."""
        if channel.channel == "email":
            return f"customer{number}@example.com"
        return f"+8496{number:07d}"

    def malformed_target(self, channel: Channel) -> str:
        """A target no provider can deliver to."""
        return "not-an-address" if channel.channel == "email" else "12-not-a-number"

    def message(
        self,
        channel: Channel,
        number: int,
        *,
        kind: Literal["care", "ads"] = "care",
        target: str | None = None,
        text: str | None = None,
    ) -> OutgoingMessage:
        """The message numbered ``number`` (its id; its client id ``mr-7-<number>``)."""
        return OutgoingMessage(
            message_id=number,
            client_id=f"mr-{CAMPAIGN_ID}-{number}",
            campaign_id=CAMPAIGN_ID,
            channel=channel.channel,
            kind=kind,
            target=target or self.target(channel, number),
            text=text if text is not None else f"Xin chào quý khách, mã ưu đãi số {number}",
            subject="Thông báo" if channel.channel == "email" else None,
        )

    # -- helpers ------------------------------------------------------------------------

    def _arrange(self, hook: Callable[[], None], name: str) -> None:
        try:
            hook()
        except NotImplementedError:
            pytest.skip(f"override {name}() to check this rule")

    def _send(self, channel: Channel, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results = channel.send_batch(messages)
        assert isinstance(results, list), "send_batch must return a list"
        assert all(isinstance(r, SendResult) for r in results), results
        assert [r.message_id for r in results] == [m.message_id for m in messages], (
            "send_batch must return one result per message, in the order given"
        )
        for result in results:
            if result.status in (SendStatus.TEMPORARY, SendStatus.PERMANENT):
                assert isinstance(result.reason, str) and result.reason.strip(), (
                    f"a {result.status.value} result needs a reason: {result!r}"
                )
            if result.provider_id is not None:
                assert result.provider_id, "a provider id is None or a non-empty string"
        return results

    def _delivered(self, message: OutgoingMessage) -> list[Delivery]:
        """Deliveries that carry ``message``'s client id, checked against it."""
        found = [d for d in self.deliveries() if d.client_id == message.client_id]
        for delivery in found:
            assert _same_target(delivery.target, message.target), (delivery, message)
            assert delivery.text == message.text, (delivery, message)
        return found

    def _assert_delivered(self, message: OutgoingMessage) -> None:
        assert self._delivered(message), (
            f"the far end never received {message!r} with its client id "
            f"{message.client_id!r}; got {list(self.deliveries())!r}"
        )

    # -- the rules -----------------------------------------------------------------------

    def test_channel_says_what_it_is(self, channel: Channel) -> None:
        """``name`` and ``kind`` are non-empty strings; ``channel`` is sms or email."""
        assert isinstance(channel.name, str) and channel.name
        assert isinstance(channel.kind, str) and channel.kind
        assert channel.channel in ("sms", "email")

    def test_an_empty_batch_gives_no_results(self, channel: Channel) -> None:
        """An empty batch returns an empty list and sends nothing."""
        assert self._send(channel, []) == []
        assert list(self.deliveries()) == []

    def test_one_result_per_message_in_order(self, channel: Channel) -> None:
        """One result per message, in the order given (ids need not be sorted)."""
        numbers = [30, 10, 20, 11, 5, 42, 1]
        messages = [
            self.message(channel, n, kind="ads" if i % 2 else "care") for i, n in enumerate(numbers)
        ]
        results = self._send(channel, messages)
        for message, result in zip(messages, results, strict=True):
            assert result.status in _SUCCESS, result
            self._assert_delivered(message)

    def test_care_is_final_at_once_and_ads_are_taken(self, channel: Channel) -> None:
        """Customer care is ``sent``/``delivered`` at once (no delivery report follows);
        advertising taken by the far end is ``accepted``, ``sent`` or ``delivered``."""
        care, ads = self.message(channel, 1), self.message(channel, 2, kind="ads")
        first, second = self._send(channel, [care, ads])
        assert first.status in _CARE_DONE, first
        assert first.is_final
        assert second.status in _SUCCESS, second

    def test_target_text_and_client_id_reach_the_far_end(self, channel: Channel) -> None:
        """The far end gets the target, the exact text (any Unicode, any length) and
        the client id of each message, so it can drop a retried duplicate."""
        long_text = "Khuyến mãi đặc biệt: giảm 50% – áp dụng đến hết tháng. " * 8
        messages = [
            self.message(channel, 1, text="Mã OTP của bạn là 123456"),
            self.message(channel, 2, text=long_text),
            self.message(channel, 3, text="Plain ASCII & symbols: <b> 100% \"quoted\" 'x'"),
        ]
        results = self._send(channel, messages)
        assert all(r.status in _SUCCESS for r in results), results
        for message in messages:
            self._assert_delivered(message)

    def test_each_message_keeps_its_own_client_id(self, channel: Channel) -> None:
        """Two messages with the same target and text are two deliveries, each with its
        own client id: the channel passes ids through and de-duplicates nothing itself."""
        target = self.target(channel, 9)
        one = self.message(channel, 1, target=target, text="Cùng một nội dung")
        two = self.message(channel, 2, target=target, text="Cùng một nội dung")
        results = self._send(channel, [one, two])
        assert all(r.status in _SUCCESS for r in results), results
        assert len(self._delivered(one)) >= 1
        assert len(self._delivered(two)) >= 1

    def test_a_resent_message_carries_the_same_client_id(self, channel: Channel) -> None:
        """Sending a message again (a retry after a crash) uses the same client id, and
        the far end's answer to a duplicate is not turned into a failure."""
        message = self.message(channel, 1)
        (first,) = self._send(channel, [message])
        (again,) = self._send(channel, [message])
        assert first.status in _SUCCESS, first
        assert again.status in _SUCCESS, again
        received = [d for d in self.deliveries() if _same_target(d.target, message.target)]
        assert received, "the far end received nothing"
        assert {d.client_id for d in received} == {message.client_id}

    def test_a_refused_number_fails_for_good_and_the_rest_go(self, channel: Channel) -> None:
        """A message the far end refuses for good is ``permanent`` with a reason; the
        other messages of the batch are sent."""
        refused = self.target(channel, 2)
        self._arrange(lambda: self.refuse_for_good(refused), "refuse_for_good")
        messages = [self.message(channel, n) for n in (1, 2, 3)]
        first, second, third = self._send(channel, messages)
        assert second.status is SendStatus.PERMANENT, second
        assert first.status in _SUCCESS and third.status in _SUCCESS, (first, third)
        self._assert_delivered(messages[0])
        self._assert_delivered(messages[2])
        assert not self._delivered(messages[1])

    def test_a_malformed_target_is_a_result_not_an_exception(self, channel: Channel) -> None:
        """A target no provider can deliver to is ``permanent``; the batch goes on."""
        good = self.message(channel, 1)
        bad = self.message(channel, 2, target=self.malformed_target(channel))
        also_good = self.message(channel, 3)
        first, second, third = self._send(channel, [good, bad, also_good])
        assert second.status is SendStatus.PERMANENT, second
        assert first.status in _SUCCESS and third.status in _SUCCESS, (first, third)

    def test_a_failure_that_may_pass_is_temporary(self, channel: Channel) -> None:
        """A server error is ``temporary`` (never ``permanent``); the retry goes through."""
        self._arrange(lambda: self.fail_temporarily(1), "fail_temporarily")
        message = self.message(channel, 1)
        (failed,) = self._send(channel, [message])
        assert failed.status is SendStatus.TEMPORARY, failed
        (retried,) = self._send(channel, [message])
        assert retried.status in _SUCCESS, retried
        self._assert_delivered(message)

    def test_throttling_is_temporary_with_the_delay_asked(self, channel: Channel) -> None:
        """An overloaded far end's refusal is ``temporary`` with ``retry_after`` set to
        the delay it asked for; the retry goes through."""
        self._arrange(lambda: self.throttle(1, 7), "throttle")
        message = self.message(channel, 1)
        (throttled,) = self._send(channel, [message])
        assert throttled.status is SendStatus.TEMPORARY, throttled
        assert throttled.retry_after == pytest.approx(7.0), throttled
        (retried,) = self._send(channel, [message])
        assert retried.status in _SUCCESS, retried
        self._assert_delivered(message)

    def test_throttling_in_a_batch_fails_nothing_for_good(self, channel: Channel) -> None:
        """When the far end throttles in the middle of a batch, every message still has
        its result, none is ``permanent``, and resending the temporary ones completes
        the batch."""
        self._arrange(lambda: self.throttle(1, 3), "throttle")
        messages = [self.message(channel, n) for n in (1, 2, 3, 4)]
        results = self._send(channel, messages)
        assert results[0].status is SendStatus.TEMPORARY, results[0]
        assert not [r for r in results if r.status is SendStatus.PERMANENT], results
        again = [m for m, r in zip(messages, results, strict=True) if r.status not in _SUCCESS]
        assert all(r.status in _SUCCESS for r in self._send(channel, again))
        for message in messages:
            self._assert_delivered(message)

    def test_an_unreachable_far_end_is_temporary(self, unreachable_channel: Channel) -> None:
        """A far end that cannot be reached makes every message ``temporary``; nothing
        raises."""
        messages = [self.message(unreachable_channel, n) for n in (1, 2)]
        results = self._send(unreachable_channel, messages)
        assert [r.status for r in results] == [SendStatus.TEMPORARY] * 2, results

    def test_numbers_and_secrets_stay_out_of_reprs_reasons_and_logs(
        self, channel: Channel, caplog: pytest.LogCaptureFixture
    ) -> None:
        """``repr`` of the channel and of every result, every reason and every log
        record show phone numbers masked (never 9 digits of one together) and never a
        configured secret."""
        caplog.set_level(logging.DEBUG)
        messages = [self.message(channel, n) for n in (1, 2, 3)]
        messages.append(self.message(channel, 4, target=self.malformed_target(channel)))
        with contextlib.suppress(NotImplementedError):  # else checked without a refusal
            self.refuse_for_good(messages[1].target)
        results = self._send(channel, messages)
        seen = [repr(channel), *(repr(r) for r in results), *(r.reason or "" for r in results)]
        seen.extend(record.getMessage() for record in caplog.records)
        seen.extend(record.exc_text or "" for record in caplog.records)
        text = "\n".join(seen)
        for message in messages:
            digits = "".join(c for c in message.target if c.isdigit())
            if channel.channel == "sms" and len(digits) >= _LEAK_DIGITS:
                assert digits[-_LEAK_DIGITS:] not in text, f"{message.masked_target} leaked"
            if channel.channel == "email" and "@" in message.target:
                assert message.target not in text, f"{message.masked_target} leaked"
        for secret in self.secrets():
            assert secret not in text, "a configured secret leaked"

    def test_close_may_be_called_twice(self, channel: Channel) -> None:
        """``close()`` twice does not raise (the fixture may close a third time)."""
        self._send(channel, [self.message(channel, 1)])
        channel.close()
        channel.close()
