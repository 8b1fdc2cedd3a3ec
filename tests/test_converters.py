"""Every persisted model type survives ``massreach.converters`` both ways.

Strategies are ``st.builds(cls, ...)`` with one strategy per attribute derived from
its type annotation (timezone-aware datetimes, JSON values for ``Any``, enums and
``Literal`` choices, nested model objects), narrowed to what the attrs validators accept
(``in_`` choices, non-empty names, positive weights, counts ``>= 0``).
"""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.converters import dumps, from_plain, loads, to_plain
from massreach.model import (
    Agent,
    AgentFigures,
    AudienceFigures,
    Campaign,
    CampaignSource,
    Contact,
    ContactDraft,
    ContactList,
    ContactQuery,
    ContactUpdate,
    DeliveryReport,
    DuplicatePolicy,
    ImportOptions,
    ImportPlan,
    MessageOutcome,
    OutboxMessage,
    PlanCounts,
    RowResult,
    TagFigure,
    TaskStats,
    Template,
)
from massreach.model.jobs import ScheduledJob

PERSISTED: tuple[type[Any], ...] = (
    Agent,
    AgentFigures,
    AudienceFigures,
    Campaign,
    CampaignSource,
    Contact,
    ContactDraft,
    ContactList,
    ContactQuery,
    ContactUpdate,
    DeliveryReport,
    DuplicatePolicy,
    ImportOptions,
    ImportPlan,
    MessageOutcome,
    OutboxMessage,
    PlanCounts,
    RowResult,
    ScheduledJob,
    TagFigure,
    TaskStats,
    Template,
)

# Fixed offsets only: a local time in a DST gap or fold never compares equal to the
# same instant in another zone (PEP 495); named zones have their own test below.
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))]
)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=_zones
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
#: Where a custom validator narrows what the annotation allows (the attrs validators
#: ``in_``, ``min_len``, ``ge`` and ``gt`` are read by :func:`from_validator`).
NARROWED: dict[tuple[type[Any], str], st.SearchStrategy[Any]] = {}


def from_validator(validator: Any, hint: Any) -> st.SearchStrategy[Any] | None:
    """A strategy for what an attrs validator accepts, or None if it says nothing."""
    for inner in getattr(validator, "_validators", ()):  # attrs.validators.and_
        found = from_validator(inner, hint)
        if found is not None:
            return found
    options = getattr(validator, "options", None)
    if options is not None:
        return st.sampled_from(tuple(options))
    min_length = getattr(validator, "min_length", None)
    if min_length is not None:
        return st.text(min_size=min_length, max_size=20)
    bound, op = getattr(validator, "bound", None), getattr(validator, "compare_op", None)
    if bound is not None and op in (">=", ">"):
        if hint is float:
            return st.floats(min_value=bound, max_value=1e9, exclude_min=op == ">")
        return st.integers(min_value=bound + (op == ">"), max_value=10**9)
    return None


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """A strategy for values of a (resolved) type annotation of the model."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(arg) for arg in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(arg) for arg in args))
    if origin is dict:
        return st.dictionaries(strategy_for(args[0]), strategy_for(args[1]), max_size=3)
    if hint is Any:
        return json_values
    if hint is type(None):
        return st.none()
    if hint is datetime:
        return aware_datetimes
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if attrs.has(hint):
        return model(hint)
    if hint is str:
        return st.text(max_size=20)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(min_value=-(2**31), max_value=2**31)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    raise TypeError(f"no strategy for {hint!r}")


def model(cls: type[Any]) -> st.SearchStrategy[Any]:
    """``st.builds(cls)`` with a strategy for every attribute: its validator's, or its type's."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for a in attrs.fields(cls):
        narrowed = NARROWED.get((cls, a.name))
        if narrowed is None and a.validator is not None:
            narrowed = from_validator(a.validator, hints[a.name])
        fields[a.name] = strategy_for(hints[a.name]) if narrowed is None else narrowed
    return st.builds(cls, **fields)


@pytest.mark.parametrize("cls", PERSISTED, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_round_trip_plain_and_json(cls: type[Any], data: st.DataObject) -> None:
    """to_plain/from_plain and dumps/loads give back an equal object."""
    value = data.draw(model(cls), label=cls.__name__)
    plain = to_plain(value)
    assert from_plain(plain, cls) == value
    text = dumps(value)
    assert loads(text, cls) == value
    assert json.loads(text) == json.loads(json.dumps(plain, ensure_ascii=False))


#: Model types that are never stored or sent as JSON themselves: an import batch is
#: the argument of one storage transaction (its parts above are stored), contact keys
#: a duplicate-lookup hint.
TRANSIENT = frozenset({"ImportBatch", "ContactKeys"})


def test_every_model_type_is_covered() -> None:
    """A new persisted type in massreach.model must be added to PERSISTED."""
    import massreach.model as package

    exported = {getattr(package, name) for name in package.__all__ if name not in TRANSIENT}
    assert {cls for cls in exported if attrs.has(cls)} <= set(PERSISTED)


def test_datetimes_come_back_as_the_same_instant() -> None:
    """An aware time is written as ISO-8601 with its offset."""
    at = datetime(2026, 3, 2, 15, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    plan = ImportPlan(1, 2, "a.csv", ImportOptions(), run_at=at)
    plain = to_plain(plan)
    assert plain["run_at"] == "2026-03-02T15:00:00+07:00"
    back = from_plain(plain, ImportPlan)
    assert (
        back.run_at == at
        and back.run_at is not None
        and back.run_at.utcoffset() == timedelta(hours=7)
    )


def test_naive_datetimes_in_stored_data_are_refused() -> None:
    plain = to_plain(ContactList(1, "vip", created_at=datetime(2026, 3, 2, tzinfo=UTC)))
    plain["created_at"] = "2026-03-02T08:00:00"
    with pytest.raises((ValueError, cattrs.BaseValidationError)):
        from_plain(plain, ContactList)


def test_extra_keys_are_refused() -> None:
    """A misspelt key in stored JSON is an error, not silently dropped."""
    plain = to_plain(Agent("6001"))
    plain["wieght"] = 2
    with pytest.raises(cattrs.BaseValidationError):
        from_plain(plain, Agent)


def test_json_keeps_unicode_readable() -> None:
    text = dumps(Contact(1, 1, 1, name="Nguyễn Văn Á", fields={"ghi chú": "khách VIP"}))
    assert "Nguyễn Văn Á" in text and "\\u" not in text
    assert loads(text, Contact).fields == {"ghi chú": "khách VIP"}
