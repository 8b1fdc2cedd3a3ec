"""Small attrs helpers shared by the model: masked reprs, tuple and mapping converters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from massreach.core.masking import mask_phone


def masked_repr(value: str | None) -> str:
    """repr() for a phone number field: never the full number."""
    return "None" if value is None else repr(mask_phone(value))


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """Converter: any iterable (but not a bare string) to a tuple."""
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def to_str_dict(value: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Converter: a mapping (or pairs) to a fresh ``dict[str, str]``."""
    items = value.items() if isinstance(value, Mapping) else value
    return {str(k): "" if v is None else str(v) for k, v in items}


def aware(value: datetime | None) -> datetime | None:
    """Validator-converter: datetimes must be timezone-aware; naive ones are refused."""
    if value is not None and value.tzinfo is None:
        raise ValueError("datetimes in massreach must be timezone-aware")
    return value


def utc(value: datetime) -> datetime:
    """A timezone-aware datetime converted to UTC."""
    if value.tzinfo is None:
        raise ValueError("datetimes in massreach must be timezone-aware")
    return value.astimezone(UTC)
