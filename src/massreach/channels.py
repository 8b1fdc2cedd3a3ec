"""Channels: what the dispatcher hands to an SMTP account, an SMS gateway or a file.

A *channel* carries outgoing messages of one kind (``"sms"`` or ``"email"``) through one
configured account or gateway. Plugins supply channels by registering a
:class:`ChannelFactory` for a TOML table name (``smtp``, ``sms_gateway``,
``file_outbox`` or their own) through the ``massreach_register_channels(register)``
hook; :meth:`ChannelRegistry.build` then turns every table of a loaded
:class:`~massreach.config.MassreachConfig` into a ready :class:`Channel`.

Contract for every channel:

* ``send_batch(messages)`` returns exactly one :class:`SendResult` per message, in the
  same order. Problems with one message (a refused recipient, a rejected number, a
  dropped connection, a rate limit) are results, never exceptions; only programming
  errors raise.
* ``close()`` releases connections and threads; it may be called more than once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attrs import field, frozen, validators

from massreach.core.masking import mask_email, mask_phone
from massreach.errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from massreach.config import MassreachConfig

__all__ = [
    "Channel",
    "ChannelFactory",
    "ChannelRegistry",
    "ChannelSettings",
    "OutgoingMessage",
    "SendResult",
    "SendStatus",
]

_log = logging.getLogger(__name__)

ChannelName = Literal["sms", "email"]
MessageKind = Literal["care", "ads"]

#: Characters that may not appear in a client id (it ends up inside ``Message-ID``).
_CLIENT_ID_FORBIDDEN = frozenset(' \t\r\n<>@"\\()[],;:')


def _mask_target(target: str) -> str:
    """Mask a phone number (``+849****5678``) or an email address (``j***@example.com``)."""
    return mask_email(target) if "@" in target else mask_phone(target)


def _check_client_id(_instance: object, _attribute: object, value: str) -> None:
    if not value or len(value) > 200 or not _CLIENT_ID_FORBIDDEN.isdisjoint(value):
        raise InvalidInput(
            "a client id must be 1 to 200 characters without spaces, brackets, quotes or '@'",
            code="message.invalid_client_id",
            details={"client_id": value},
        )
    if not value.isascii() or not value.isprintable():
        raise InvalidInput(
            "a client id must be printable ASCII",
            code="message.invalid_client_id",
            details={"client_id": value},
        )


def _check_target(_instance: object, _attribute: object, value: str) -> None:
    if not value or not value.strip() or "\r" in value or "\n" in value:
        raise InvalidInput(
            "a message needs a target phone number or email address",
            code="message.invalid_target",
            details={"target": _mask_target(value)},
        )


def _text_repr(value: str | None) -> str:
    return "None" if value is None else f"<{len(value)} chars>"


_instance_of_str = validators.instance_of(str)


def _optional_str(instance: object, attribute: Any, value: Any) -> None:
    """``validators.optional(validators.instance_of(str))`` in one call (six fields of
    every outgoing message): None or a str passes, anything else gets its TypeError."""
    if value is not None and not isinstance(value, str):
        _instance_of_str(instance, attribute, value)


@frozen
class OutgoingMessage:
    """One message for one recipient, as the dispatcher hands it to a channel.

    ``client_id`` is stable across retries (``"mr-<campaign>-<message>"``): gateways use
    it to drop duplicates and the SMTP channel puts it into ``Message-ID``. ``account``
    names the SMTP account or SMS gateway from the config (``None`` means
    ``"default"``). The repr masks the target and hides the texts.
    """

    message_id: int = field(validator=validators.instance_of(int))
    client_id: str = field(validator=[validators.instance_of(str), _check_client_id])
    campaign_id: int = field(validator=validators.instance_of(int))
    channel: ChannelName = field(validator=validators.in_(("sms", "email")))
    kind: MessageKind = field(validator=validators.in_(("care", "ads")))
    target: str = field(validator=[validators.instance_of(str), _check_target], repr=_mask_target)
    text: str = field(validator=validators.instance_of(str), repr=_text_repr)
    subject: str | None = field(default=None, validator=_optional_str)
    html: str | None = field(default=None, validator=_optional_str, repr=_text_repr)
    brandname: str | None = field(default=None, validator=_optional_str)
    account: str | None = field(default=None, validator=_optional_str)
    recipient_name: str | None = field(default=None, validator=_optional_str, repr=False)
    unsubscribe: str | None = field(default=None, validator=_optional_str)

    @property
    def masked_target(self) -> str:
        """The target fit for logs: ``+849****5678`` or ``j***@example.com``."""
        return _mask_target(self.target)


class SendStatus(StrEnum):
    """What a channel knows about one message after handing it over.

    ``sent``: handed over, final (email, customer-care SMS). ``accepted``: the gateway
    took it and a delivery report follows later (advertising SMS). ``delivered``: the
    gateway already knows it arrived. ``temporary``: try again later. ``permanent``:
    failed for good, ``reason`` says why.
    """

    SENT = "sent"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


def _check_retry_after(_instance: object, _attribute: object, value: float | None) -> None:
    if value is not None and (not isinstance(value, int | float) or value < 0):
        raise InvalidInput(
            "retry_after must be a number of seconds >= 0",
            code="message.invalid_retry_after",
            details={"retry_after": value},
        )


@frozen
class SendResult:
    """The outcome of sending one message; ``retry_after`` is in seconds."""

    message_id: int = field(validator=validators.instance_of(int))
    status: SendStatus = field(validator=validators.instance_of(SendStatus))
    provider_id: str | None = field(default=None, validator=_optional_str)
    reason: str | None = field(default=None, validator=_optional_str)
    retry_after: float | None = field(default=None, validator=_check_retry_after)

    @property
    def is_final(self) -> bool:
        """True when nothing more will happen to the message (no retry, no report)."""
        return self.status in (SendStatus.SENT, SendStatus.DELIVERED, SendStatus.PERMANENT)


class Channel(Protocol):
    """Something that sends messages of one channel through one account or gateway.

    ``name`` is the account or gateway name from the config (``"default"``), ``kind``
    the table kind (``"smtp"``), ``channel`` which messages it carries. Plain
    attributes satisfy these read-only members.
    """

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def channel(self) -> ChannelName: ...

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send ``messages``; one result per message, same order, no per-message raise."""
        ...

    def close(self) -> None:
        """Release connections and threads; safe to call twice."""
        ...


class ChannelFactory(Protocol):
    """Builds channels from one TOML table kind (``[[smtp]]``, ``[[sms_gateway]]``...)."""

    @property
    def kind(self) -> str: ...

    def create(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> Channel:
        """A channel for one table; :class:`ConfigError` naming the key on bad settings."""
        ...


class ChannelRegistry:
    """Channel factories by kind, filled through ``massreach_register_channels``.

    The factory registered last for a kind wins, as for storage:
    ``Hooks.channel_factories()`` lists the built-ins (``trylast``) first, so a
    third-party plugin that registers ``smtp`` replaces the built-in SMTP channel. The
    replaced factories stay visible in :meth:`shadowed`.
    """

    def __init__(self) -> None:
        self._factories: dict[str, ChannelFactory] = {}
        self._shadowed: dict[str, list[ChannelFactory]] = {}

    def register(self, factory: ChannelFactory) -> None:
        """Use ``factory`` for ``factory.kind``, replacing any earlier one."""
        kind = factory.kind
        if not isinstance(kind, str) or not kind:
            raise InvalidInput(
                "a channel factory needs a non-empty string kind",
                code="channel.invalid_factory",
                details={"factory": type(factory).__name__},
            )
        previous = self._factories.get(kind)
        if previous is not None:
            _log.info(
                "channel kind %r: %s replaces %s",
                kind,
                type(factory).__name__,
                type(previous).__name__,
            )
            self._shadowed.setdefault(kind, []).append(previous)
        self._factories[kind] = factory

    def kinds(self) -> tuple[str, ...]:
        """The registered table kinds, in registration order."""
        return tuple(self._factories)

    def shadowed(self, kind: str) -> tuple[ChannelFactory, ...]:
        """Factories for ``kind`` replaced by a later registration, oldest first."""
        return tuple(self._shadowed.get(kind, ()))

    def factory(self, kind: str) -> ChannelFactory:
        """The factory for ``kind``; :class:`ConfigError` when no plugin supplies it."""
        try:
            return self._factories[kind]
        except KeyError:
            raise ConfigError(
                f"no channel plugin handles [[{kind}]] tables "
                f"(known: {', '.join(sorted(self._factories)) or 'none'})",
                code="config.unknown_channel_kind",
                details={"kind": kind, "known": sorted(self._factories)},
            ) from None

    def build(
        self, config: MassreachConfig, env: Mapping[str, str]
    ) -> dict[tuple[str, str], Channel]:
        """Create every configured channel, keyed by ``(channel, name)``.

        With no channel table at all, two file outbox channels named ``"default"``
        (one for ``"sms"``, one for ``"email"``) write into ``[outbox] folder``.
        On any error the channels created so far are closed before raising.
        """
        tables: list[tuple[str, int, Mapping[str, Any]]] = [
            (kind, index, table)
            for kind, kind_tables in config.channel_tables.items()
            for index, table in enumerate(kind_tables)
        ]
        if not tables:
            folder = config.outbox.folder
            tables = [
                ("file_outbox", 0, {"name": "default", "folder": folder, "channel": "sms"}),
                ("file_outbox", 1, {"name": "default", "folder": folder, "channel": "email"}),
            ]
        built: dict[tuple[str, str], Channel] = {}
        try:
            for kind, index, table in tables:
                channel = self.factory(kind).create(table, env)
                key = (channel.channel, channel.name)
                if key in built:
                    channel.close()
                    raise ConfigError(
                        f"{kind}[{index}]: a {channel.channel} channel named "
                        f"{channel.name!r} is configured twice",
                        code="config.duplicate_channel",
                        file=str(config.source) if config.source else None,
                        details={"kind": kind, "index": index, "name": channel.name},
                    )
                built[key] = channel
        except BaseException:
            for channel in built.values():
                channel.close()
            raise
        return built


class ChannelSettings:
    """Typed reads of one channel table, for :class:`ChannelFactory` implementations.

    Every error is a :class:`ConfigError` naming the table and the key, e.g.
    ``"smtp 'default': port must be a whole number >= 1, not 'x'"``. Keys not in
    ``known`` are an error too (``config.unknown_keys``), so typos do not go unnoticed.
    """

    def __init__(self, kind: str, settings: Mapping[str, Any], known: Iterable[str]) -> None:
        self.kind = kind
        self._settings = settings
        raw_name = settings.get("name", "default")
        self.name = raw_name if isinstance(raw_name, str) and raw_name else "default"
        if raw_name != self.name:
            raise self.error("name", f"must be a non-empty string, not {raw_name!r}")
        allowed = {"name", *known}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise ConfigError(
                f"{kind} {self.name!r}: unknown keys {', '.join(unknown)} "
                f"(known: {', '.join(sorted(allowed))})",
                code="config.unknown_keys",
                details={"kind": kind, "name": self.name, "key": unknown[0], "keys": unknown},
            )

    def error(self, key: str, message: str, code: str = "config.invalid_value") -> ConfigError:
        """A :class:`ConfigError` about ``key`` of this table."""
        return ConfigError(
            f"{self.kind} {self.name!r}: {key} {message}",
            code=code,
            details={"kind": self.kind, "name": self.name, "key": key},
        )

    def string(self, key: str, default: str | None = None) -> str:
        """A string; required when ``default`` is None."""
        value = self._settings.get(key, default)
        if value is None:
            raise self.error(key, "is required", "config.missing_key")
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        """A string, or None when missing or empty."""
        return self.string(key, "") or None

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        """A whole number >= ``minimum``."""
        value = self._settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be a whole number >= {minimum}, not {value!r}")
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        """A number (whole or not) >= ``minimum``."""
        value = self._settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(key, f"must be a number >= {minimum:g}, not {value!r}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self._settings.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str:
        """One of ``choices``."""
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def secret(self, key: str, env: Mapping[str, str]) -> str | None:
        """The value of the environment variable named by ``key`` (``password_env``)."""
        variable = self.optional_string(key)
        if variable is None:
            return None
        if variable not in env:
            raise self.error(
                key,
                f"names the environment variable {variable}, which is not set",
                "config.missing_env",
            )
        return env[variable]
