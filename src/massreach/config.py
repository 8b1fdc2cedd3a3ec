"""The massreach configuration file (TOML): channels, quotas, send window, dispatch.

``load_config(path, env)`` reads the file named by ``path``, else by the
``MASSREACH_CONFIG`` environment variable, else returns the empty configuration (which
sends everything to the file outbox in ``./outbox``).

Rules:

* Secrets never live in the file. A table names the environment variable holding a
  secret (``password_env``, ``api_key_env``); a literal ``password``, ``api_key``,
  ``secret`` or ``token`` key anywhere is an error (``config.secret_in_file``), and so is
  a named variable missing from the environment (``config.missing_env``).
* Every array of tables named after a channel kind (``[[smtp]]``, ``[[sms_gateway]]``,
  ``[[file_outbox]]`` or a plugin's kind passed in ``extra_channel_kinds``) is kept as raw
  tables for :class:`massreach.channels.ChannelRegistry`; the channel factory checks them.
* The other sections are typed: ``[quota.viettel]``, ``[send_window]``, ``[dispatch]``,
  ``[outbox]``. Unknown top-level keys and unknown keys inside a section are errors.
* Relative paths (``vip_numbers_file``, ``[outbox] folder`` and ``folder`` of
  ``[[file_outbox]]`` tables) are relative to the configuration file.

Every error is a :class:`~massreach.errors.ConfigError` whose message names the file and
the key (``details["key"]``), e.g. ``"massreach.toml: dispatch.batch_size must be ..."``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from attrs import Factory, field, frozen, validators

from massreach.errors import ConfigError

__all__ = [
    "BUILTIN_CHANNEL_KINDS",
    "DispatchConfig",
    "MassreachConfig",
    "OutboxConfig",
    "QuotaConfig",
    "SendWindowConfig",
    "load_config",
]

#: The channel table kinds supplied by massreach's own adapters.
BUILTIN_CHANNEL_KINDS = ("smtp", "sms_gateway", "file_outbox")
_SECTIONS = ("quota", "send_window", "dispatch", "outbox")
_SECRET_KEYS = frozenset({"password", "passwd", "api_key", "apikey", "secret", "token"})
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

T = TypeVar("T")

_non_negative_int = [validators.instance_of(int), validators.ge(0)]
_positive_int = [validators.instance_of(int), validators.ge(1)]


def _string_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@frozen
class QuotaConfig:
    """Viettel's caps on advertising SMS per subscriber (``[quota.viettel]``).

    ``vip_numbers`` holds E.164 numbers (``+84...``) from ``vip_numbers`` and
    ``vip_numbers_file`` together.
    """

    ads_per_day: int = field(default=2, validator=_non_negative_int)
    ads_per_month: int = field(default=8, validator=_non_negative_int)
    vip_ads_per_day: int = field(default=1, validator=_non_negative_int)
    vip_ads_per_month: int = field(default=5, validator=_non_negative_int)
    vip_numbers: frozenset[str] = field(
        default=frozenset(), converter=_string_set, repr=lambda v: f"<{len(v)} numbers>"
    )


def _check_zone(_instance: object, _attribute: object, value: str) -> None:
    ZoneInfo(value)  # raises ZoneInfoNotFoundError, turned into ConfigError by the loader


@frozen
class SendWindowConfig:
    """When advertising may go out (``[send_window] advertising = "07:00-22:00"``).

    The window is ``[advertising_start, advertising_end)`` in ``timezone``; a start later
    than the end means the window runs over midnight.
    """

    advertising_start: time = field(default=time(7, 0), validator=validators.instance_of(time))
    advertising_end: time = field(default=time(22, 0), validator=validators.instance_of(time))
    timezone: str = field(
        default="Asia/Ho_Chi_Minh", validator=[validators.instance_of(str), _check_zone]
    )

    @property
    def zone(self) -> ZoneInfo:
        """The window's time zone."""
        return ZoneInfo(self.timezone)


@frozen
class DispatchConfig:
    """Dispatcher tuning (``[dispatch]``); times in seconds."""

    lease_seconds: int = field(default=60, validator=_positive_int)
    batch_size: int = field(default=100, validator=_positive_int)
    max_attempts: int = field(default=5, validator=_positive_int)
    backoff_base: float = field(default=2.0, validator=validators.gt(0))
    backoff_max: float = field(default=3600.0, validator=validators.gt(0))
    decree91_per_24h: int = field(default=3, validator=_positive_int)


@frozen
class OutboxConfig:
    """Where the default file outbox writes (``[outbox] folder``)."""

    folder: Path = field(default=Path("outbox"), converter=Path)


def _freeze_tables(
    tables: Mapping[str, tuple[Mapping[str, Any], ...]],
) -> Mapping[str, tuple[Mapping[str, Any], ...]]:
    return MappingProxyType(
        {kind: tuple(MappingProxyType(dict(t)) for t in ts) for kind, ts in tables.items()}
    )


@frozen
class MassreachConfig:
    """A loaded configuration; ``source`` is the file it came from, if any."""

    source: Path | None = None
    channel_tables: Mapping[str, tuple[Mapping[str, Any], ...]] = field(
        factory=dict, converter=_freeze_tables
    )
    quota: QuotaConfig = Factory(QuotaConfig)
    send_window: SendWindowConfig = Factory(SendWindowConfig)
    dispatch: DispatchConfig = Factory(DispatchConfig)
    outbox: OutboxConfig = Factory(OutboxConfig)

    def tables(self, kind: str) -> tuple[Mapping[str, Any], ...]:
        """The raw tables configured for one channel kind (empty when none)."""
        return self.channel_tables.get(kind, ())


def load_config(
    path: Path | None,
    env: Mapping[str, str],
    *,
    extra_channel_kinds: Iterable[str] = (),
) -> MassreachConfig:
    """Load the configuration from ``path``, ``$MASSREACH_CONFIG`` or defaults.

    ``extra_channel_kinds`` names channel tables supplied by plugins (usually
    ``registry.kinds()``) so that they are not reported as unknown keys.
    """
    if path is None:
        named = env.get("MASSREACH_CONFIG", "").strip()
        if not named:
            return MassreachConfig()
        path = Path(named)
    reader = _Reader(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        missing = "the configuration file does not exist"
        raise reader.error(missing, "config.file_not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        unreadable = f"cannot read the configuration file: {exc}"
        raise reader.error(unreadable, "config.unreadable") from None
    except tomllib.TOMLDecodeError as exc:
        raise reader.error(f"not valid TOML: {exc}", "config.syntax") from None
    reader.check_secrets(raw, "")
    kinds = (*BUILTIN_CHANNEL_KINDS, *(k for k in extra_channel_kinds if k not in _SECTIONS))
    unknown = sorted(set(raw) - set(kinds) - set(_SECTIONS))
    if unknown:
        raise reader.error(
            f"unknown top-level keys: {', '.join(unknown)} "
            f"(known: {', '.join(sorted({*kinds, *_SECTIONS}))})",
            "config.unknown_keys",
            key=unknown[0],
            prefix=False,
            keys=unknown,
        )
    channel_tables = {
        kind: reader.channel_tables(kind, raw[kind], env) for kind in kinds if kind in raw
    }
    return MassreachConfig(
        source=path,
        channel_tables=channel_tables,
        quota=reader.quota(raw.get("quota", {})),
        send_window=reader.send_window(raw.get("send_window", {})),
        dispatch=reader.dispatch(raw.get("dispatch", {})),
        outbox=OutboxConfig(
            folder=reader.path(reader.section(raw, "outbox", ("folder",)), "outbox.folder")
            or Path("outbox")
        ),
    )


class _Reader:
    """Checks one file's values, raising ConfigErrors that name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path_ = path
        self.base = path.parent

    def error(
        self,
        message: str,
        code: str,
        key: str | None = None,
        *,
        prefix: bool = True,
        **details: Any,
    ) -> ConfigError:
        text = f"{key}: {message}" if key and prefix else message
        return ConfigError(
            text,
            code=code,
            file=str(self.path_),
            details={"key": key, **details} if key else details,
        )

    def check_secrets(self, value: object, prefix: str) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.check_secrets(item, f"{prefix}[{index}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                dotted = f"{prefix}.{key}" if prefix else key
                if key.lower() in _SECRET_KEYS:
                    raise self.error(
                        f"secrets may not be written in the file; put the value in an "
                        f"environment variable and name it with {key}_env",
                        "config.secret_in_file",
                        key=dotted,
                    )
                self.check_secrets(item, dotted)

    def channel_tables(
        self, kind: str, value: object, env: Mapping[str, str]
    ) -> tuple[Mapping[str, Any], ...]:
        tables = [value] if isinstance(value, dict) else value
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.error(f"write channel tables as [[{kind}]]", "config.invalid_value", kind)
        checked: list[Mapping[str, Any]] = []
        for index, table in enumerate(tables):
            where = f"{kind}[{index}]"
            for key, item in table.items():
                if not key.endswith("_env"):
                    continue
                if not isinstance(item, str):
                    raise self.error(
                        "must be the name of an environment variable",
                        "config.invalid_value",
                        f"{where}.{key}",
                    )
                if item and item not in env:
                    raise self.error(
                        f"the environment variable {item} is not set",
                        "config.missing_env",
                        f"{where}.{key}",
                        variable=item,
                    )
            if kind == "file_outbox" and isinstance(table.get("folder"), str):
                checked.append({**table, "folder": str(self.base / table["folder"])})
            else:
                checked.append(table)
        return tuple(checked)

    def section(self, raw: Mapping[str, Any], name: str, known: Iterable[str]) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"write it as a [{name}] table", "config.invalid_value", name)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise self.error(
                f"unknown {'keys' if len(unknown) > 1 else 'key'} "
                f"{', '.join(f'{name}.{k}' for k in unknown)} (known: {', '.join(known)})",
                "config.unknown_keys",
                key=f"{name}.{unknown[0]}",
                prefix=False,
                keys=unknown,
            )
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str, kind: type[T]) -> T | None:
        if key not in table:
            return None
        value = table[key]
        ok = isinstance(value, int) and not isinstance(value, bool)
        if kind is float:
            ok = ok or isinstance(value, float)
        if not ok or value < 0:
            expected = "a whole number" if kind is int else "a number"
            raise self.error(
                f"must be {expected} >= 0, not {value!r}", "config.invalid_value", f"{where}.{key}"
            )
        return kind(value)  # type: ignore[call-arg]

    def path(self, table: Mapping[str, Any], key: str) -> Path | None:
        name = key.rpartition(".")[2]
        if name not in table:
            return None
        value = table[name]
        if not isinstance(value, str) or not value:
            raise self.error("must be a path", "config.invalid_value", key)
        return self.base / value

    def quota(self, value: object) -> QuotaConfig:
        if not isinstance(value, dict):
            raise self.error("write it as a [quota.viettel] table", "config.invalid_value", "quota")
        self.section({"quota": value}, "quota", ("viettel",))
        fields = ("ads_per_day", "ads_per_month", "vip_ads_per_day", "vip_ads_per_month")
        table = self.section(value, "viettel", (*fields, "vip_numbers", "vip_numbers_file"))
        defaults = QuotaConfig()
        numbers: dict[str, int] = {}
        for key in fields:
            number = self.number(table, key, "quota.viettel", int)
            numbers[key] = getattr(defaults, key) if number is None else number
        pairs = (("ads_per_day", "ads_per_month"), ("vip_ads_per_day", "vip_ads_per_month"))
        for day, month in pairs:
            if numbers[day] > numbers[month]:
                raise self.error(
                    f"{day} ({numbers[day]}) is larger than {month} ({numbers[month]})",
                    "config.invalid_value",
                    f"quota.viettel.{day}",
                )
        vip = table.get("vip_numbers", [])
        if not isinstance(vip, list) or not all(isinstance(n, str) for n in vip):
            raise self.error(
                "must be a list of phone numbers as strings",
                "config.invalid_value",
                "quota.viettel.vip_numbers",
            )
        found = {self.phone(n, "quota.viettel.vip_numbers") for n in vip}
        vip_file = self.path(table, "quota.viettel.vip_numbers_file")
        if vip_file is not None:
            found |= self.phones_from_file(vip_file)
        return QuotaConfig(
            ads_per_day=numbers["ads_per_day"],
            ads_per_month=numbers["ads_per_month"],
            vip_ads_per_day=numbers["vip_ads_per_day"],
            vip_ads_per_month=numbers["vip_ads_per_month"],
            vip_numbers=found,
        )

    def phone(self, text: str, key: str, line: int | None = None) -> str:
        try:
            number = phonenumbers.parse(text, "VN")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            where = f"line {line}: " if line is not None else ""
            raise self.error(
                f"{where}{text!r} is not a phone number", "config.invalid_value", key, line=line
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def phones_from_file(self, path: Path) -> set[str]:
        key = "quota.viettel.vip_numbers_file"
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            raise self.error(
                f"cannot read {path}: {exc.strerror or exc}", "config.unreadable", key
            ) from None
        found = set()
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if text:
                found.add(self.phone(text, key, number))
        return found

    def send_window(self, value: object) -> SendWindowConfig:
        table = self.section({"send_window": value}, "send_window", ("advertising", "timezone"))
        window = table.get("advertising", "07:00-22:00")
        match = _WINDOW_RE.match(window) if isinstance(window, str) else None
        try:
            if match is None:
                raise ValueError
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise self.error(
                f'must look like "07:00-22:00", not {window!r}',
                "config.invalid_value",
                "send_window.advertising",
            ) from None
        if start == end:
            raise self.error(
                "the window starts and ends at the same time",
                "config.invalid_value",
                "send_window.advertising",
            )
        zone = table.get("timezone", "Asia/Ho_Chi_Minh")
        try:
            return SendWindowConfig(start, end, zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise self.error(
                f"unknown time zone {zone!r}", "config.invalid_value", "send_window.timezone"
            ) from None

    def dispatch(self, value: object) -> DispatchConfig:
        ints = ("lease_seconds", "batch_size", "max_attempts", "decree91_per_24h")
        floats = ("backoff_base", "backoff_max")
        table = self.section({"dispatch": value}, "dispatch", (*ints, *floats))
        given: dict[str, Any] = {}
        for key in ints:
            if (number := self.number(table, key, "dispatch", int)) is not None:
                given[key] = number
        for key in floats:
            if (real := self.number(table, key, "dispatch", float)) is not None:
                given[key] = real
        for key, number in given.items():
            if number <= 0:
                raise self.error("must be larger than 0", "config.invalid_value", f"dispatch.{key}")
        return DispatchConfig(**given)
