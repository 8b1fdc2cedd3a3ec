"""A batch of rows normalised a column at a time: the same records as row by row.

:func:`normalize_rows` gives exactly ``[normalizer.normalize(n, cells) for n, cells
in zip(numbers, rows)]`` (a hypothesis property of the test-suite checks this), but
does the work of the common row with C-level string operations over whole columns:
``zip(*rows)`` turns the rows into columns, ``map(str.strip, column)`` trims them,
phone numbers go through :meth:`PhoneNormalizer.e164_many`, and the few distinct
values of tag, gender and status columns are decided once per value.

A row that is not plain -- it has more or fewer cells than the header, an invalid
phone or e-mail, an unknown gender or status, a "my record" status, a name from
first and last name, or is missing what its kind requires -- is handed to
:meth:`RowNormalizer.normalize`, which decides it (and words its failure) as
always. The columns only ever say "this row is plain, here is its record".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, repeat
from itertools import count as count_up
from operator import is_
from typing import Any

from massreach.core.email_column import all_valid_emails
from massreach.core.headers import header_key
from massreach.core.normalize import (
    GENDER_WORDS,
    UNSTATED_GENDER_WORDS,
    ImportedRecord,
    RowFailure,
    RowNormalizer,
)
from massreach.core.phones import is_valid_email
from massreach.core.record_batch import RecordBatch
from massreach.core.statuses import parse_status
from massreach.errors import RowError
from massreach.row_columns import RowColumns

__all__ = ["normalize_batch", "normalize_rows"]

#: Distinct values remembered per column (tags, gender, status) before starting over.
_MAX_REMEMBERED = 4096
_strip = str.strip


def _none_if_empty(values: list[str]) -> list[str | None]:
    if all(values):  # every cell written (C-level test): the list as it is
        return values  # type: ignore[return-value]
    return [v or None for v in values]


def _nones(values: Sequence[object]) -> Iterator[int]:
    """The indexes of the Nones in ``values`` (found by C-level passes)."""
    return compress(count_up(), map(is_, values, repeat(None)))


def _decided(
    cache: dict[str, object], values: Sequence[str], decide: Callable[[str], object]
) -> list[object]:
    """``[decide(v) for v in values]``, deciding each distinct value once."""
    missing = set(values).difference(cache)
    if missing:
        if len(cache) + len(missing) > _MAX_REMEMBERED:
            cache.clear()
            missing = set(values)
        for value in missing:
            cache[value] = decide(value)
    return list(map(cache.__getitem__, values))


_REFUSE = object()  # a value the columns do not decide: the row goes row by row


#: Slices from this many rows on check their phone numbers a column at a time.
COLUMN_PHONES_FROM = 200
#: Rows normalised together: a slice's cells stay in the CPU's cache between the passes.
SLICE = 1024


def normalize_rows(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> list[ImportedRecord | RowFailure]:
    """The records (or failures) of ``rows``, numbered ``numbers``, in order."""
    return normalize_batch(normalizer, numbers, rows).items()


def normalize_batch(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> RecordBatch:
    """:func:`normalize_rows` as a :class:`RecordBatch`: the records are made only
    when asked for."""
    if len(rows) <= SLICE:
        return _normalize_slice(normalizer, numbers, rows)
    slices = range(0, len(rows), SLICE)
    return RecordBatch.joined(
        [
            _normalize_slice(normalizer, numbers[at : at + SLICE], rows[at : at + SLICE])
            for at in slices
        ]
    )


def _row_by_row(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> RecordBatch:
    """Every row through :meth:`RowNormalizer.normalize` (the columns decide none)."""
    count = len(rows)
    none: list[Any] = [None] * count
    return RecordBatch(
        list(numbers), none, none, none, none, none, none, none,
        [key for _, key in normalizer._extras], [[""] * count for _ in normalizer._extras],
        none, none, none,
        {i: normalizer.normalize(n, r) for i, (n, r) in enumerate(zip(numbers, rows, strict=True))},
    )  # fmt: skip


def _normalize_slice(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> RecordBatch:
    rows_in = rows
    count = len(rows)
    width = normalizer._width
    if count == 0 or width == 0:
        return _row_by_row(normalizer, numbers, rows)
    # Each check leaves `refused[i]` set for a row the columns do not decide.
    refused = [False] * count
    columns: Sequence[Sequence[str]]
    if type(rows) is RowColumns and rows.width == width:  # the cells are columns already
        columns = rows.columns
    else:
        lengths = list(map(len, rows))
        if lengths.count(width) != count:
            # Ragged rows go row by row; for the columns they are cut or padded to
            # the header's width (what the columns make of them is never used).
            padding = [""] * width
            rows = [
                r if n == width else [*r, *padding][:width]
                for r, n in zip(rows, lengths, strict=True)
            ]
            refused = [n != width for n in lengths]
        columns = list(zip(*rows, strict=True))
    empty = [""] * count
    col = normalizer._col

    def cells(slot: str) -> Sequence[str]:
        index = col[slot]
        return columns[index] if index >= 0 else empty

    def stripped(slot: str) -> list[str]:
        index = col[slot]
        return list(map(_strip, columns[index])) if index >= 0 else empty

    def optional(slot: str) -> list[str | None]:
        """A trimmed column with None for an empty cell (all None when unmapped)."""
        return [None] * count if col[slot] < 0 else _none_if_empty(stripped(slot))

    def refuse_rows(indexes: Iterable[int]) -> None:
        for i in indexes:
            refused[i] = True

    def refuse(flags: list[bool]) -> None:
        refuse_rows(compress(range(count), flags))

    phone_text = cells("phone")  # not trimmed: spaces around a number are separators
    phones: list[str | None]
    if phone_text is empty:
        phones = [None] * count
    else:
        if count >= COLUMN_PHONES_FROM:
            phones = normalizer._phones.e164_many(phone_text)
        else:  # a small file does not wait for the region's column patterns to compile
            one = normalizer._phone_e164
            phones = [one(t) if t else None for t in phone_text]
        # A written number that is not valid: the row fails (row by row says how).
        refuse_rows([i for i in _nones(phones) if phone_text[i]])
    email_text = stripped("email")
    emails = _none_if_empty(email_text)
    keys: list[str | None]
    if email_text is empty:
        keys = emails
    else:
        if not all_valid_emails(email_text):
            refuse([e is not None and not is_valid_email(e) for e in emails])
        keys = _email_keys(email_text, emails)

    def words(slot: str, cache: dict[str, object], decide: Callable[[str], object]) -> list[object]:
        """A gender or status column decided per distinct value (None if unmapped)."""
        if col[slot] < 0:
            return [None] * count
        decided = _decided(cache, cells(slot), lambda text: decide(text.strip()))
        refuse([value is _REFUSE for value in decided])
        return decided

    genders = words("gender", normalizer._gender_cache, _gender)
    statuses = words("status", normalizer._status_cache, _status)

    constant = normalizer._constant_tags
    if col["tag"] >= 0:
        tags_of = normalizer._tags_of
        tags: list[object] = _decided(
            normalizer._tag_cache, cells("tag"), lambda text: tags_of(text.strip())
        )
    else:
        tags = [constant] * count
    crm_ids = optional("crm_id")
    if normalizer._bulk_send:
        if not constant and not all(tags):
            refuse([not t for t in tags])
        refuse_rows([i for i in _nones(phones) if emails[i] is None])
    elif normalizer._crm_status:
        refuse([c is None or s is None for c, s in zip(crm_ids, statuses, strict=True)])
    else:
        refuse_rows(_nones(phones))

    names = optional("name")
    if col["first_name"] >= 0 or col["last_name"] >= 0:
        refuse([n is None for n in names])  # first and last name joined row by row
    descriptions = optional("description")
    agents = optional("agent")

    extras = normalizer._extras
    field_names = [key for _, key in extras]
    field_values = [list(map(_strip, columns[i])) for i, _ in extras]

    overrides: dict[int, ImportedRecord | RowFailure] = {}
    if any(refused):
        for i in compress(range(count), refused):
            overrides[i] = normalizer.normalize(numbers[i], rows_in[i])
    return RecordBatch(
        numbers if type(numbers) is range else list(numbers),  # a range makes no int per row
        phones, emails, names, descriptions, genders, crm_ids, tags,
        field_names, field_values, statuses, agents, keys,
        overrides,
    )  # fmt: skip


def _email_keys(texts: list[str], emails: list[str | None]) -> list[str | None]:
    """``[e.casefold() if e else None for e in emails]`` (``texts``: the same cells
    with "" for None): an ASCII column is lowered in one pass over the joined text
    (casefold is lower for ASCII), and is ``emails`` itself when nothing changes."""
    joined = "\n".join(texts)
    if joined.isascii() and joined.count("\n") == len(texts) - 1:
        lowered = joined.lower()
        if lowered == joined:
            return emails
        keys: list[str | None] = lowered.split("\n")  # type: ignore[assignment]
        return keys if emails is texts else _none_if_empty(keys)  # type: ignore[arg-type]
    return [e.casefold() if e else None for e in emails]


def _gender(text: str) -> object:
    if not text:
        return None
    key = header_key(text)
    return None if key in UNSTATED_GENDER_WORDS else GENDER_WORDS.get(key, _REFUSE)


def _status(text: str) -> object:
    if not text:
        return None
    try:
        parsed = parse_status(text)
    except RowError:
        return _REFUSE
    return _REFUSE if parsed.mine else parsed.status
