"""The one cattrs converter massreach uses for storage rows and JSON output.

``make_converter()`` builds a private converter (never cattrs' global one) with
every hook registered here: aware datetimes as ISO-8601 strings, enums as their
values, and ``forbid_extra_keys`` so a misspelt key in stored JSON is an error.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

T = TypeVar("T")


def make_converter() -> cattrs.Converter:
    """A fresh converter with massreach's hooks."""
    converter = make_json_converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
    converter.register_structure_hook(datetime, lambda value, _: _parse_datetime(value))
    converter.register_unstructure_hook(date, lambda value: value.isoformat())
    converter.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
    return converter


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@cache
def converter() -> cattrs.Converter:
    """The shared converter instance (built once, never mutated after)."""
    return make_converter()


def to_plain(value: Any) -> Any:
    """Any model object as plain JSON-ready data."""
    return converter().unstructure(value)


def from_plain(data: Any, cls: type[T]) -> T:
    """Plain data back into a model object."""
    return converter().structure(data, cls)


def dumps(value: Any) -> str:
    """Any model object as a JSON string (UTF-8 text, not ASCII-escaped)."""
    return json.dumps(to_plain(value), ensure_ascii=False, sort_keys=True)


def loads(text: str, cls: type[T]) -> T:
    """A JSON string back into a model object."""
    return from_plain(json.loads(text), cls)
