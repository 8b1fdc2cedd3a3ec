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

from massreach.core.email_column import all_valid_emails
from massreach.core.headers import header_key
from massreach.core.normalize import (
    GENDER_WORDS,
    ImportedRecord,
    RowFailure,
    RowNormalizer,
    trusted_record,
)
from massreach.core.phones import is_valid_email
from massreach.core.statuses import parse_status
from massreach.errors import RowError

__all__ = ["normalize_rows"]

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
    cache: dict[str, object], values: list[str], decide: Callable[[str], object]
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
    if len(rows) <= SLICE:
        return _normalize_slice(normalizer, numbers, rows)
    out: list[ImportedRecord | RowFailure] = []
    for start in range(0, len(rows), SLICE):
        end = start + SLICE
        out += _normalize_slice(normalizer, numbers[start:end], rows[start:end])
    return out


def _normalize_slice(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> list[ImportedRecord | RowFailure]:
    count = len(rows)
    width = normalizer._width
    if count == 0 or width == 0:
        return [normalizer.normalize(n, r) for n, r in zip(numbers, rows, strict=True)]
    lengths = list(map(len, rows))
    if lengths.count(width) != count:
        # Ragged rows go row by row; the others still take the columns.
        even = [length == width for length in lengths]
        out: list[ImportedRecord | RowFailure] = [
            normalizer.normalize(n, r)
            for n, r, ok in zip(numbers, rows, even, strict=True)
            if not ok
        ]
        plain = _normalize_slice(
            normalizer, list(compress(numbers, even)), list(compress(rows, even))
        )
        merged = iter(plain)
        odd = iter(out)
        return [next(merged) if ok else next(odd) for ok in even]

    columns = list(zip(*rows, strict=True))
    empty = [""] * count
    col = normalizer._col

    def stripped(slot: str) -> list[str]:
        index = col[slot]
        return list(map(_strip, columns[index])) if index >= 0 else empty

    def optional(slot: str) -> list[str | None]:
        """A trimmed column with None for an empty cell (all None when unmapped)."""
        return [None] * count if col[slot] < 0 else _none_if_empty(stripped(slot))

    # Each check leaves `refused[i]` set for a row the columns do not decide.
    refused = [False] * count

    def refuse_rows(indexes: Iterable[int]) -> None:
        for i in indexes:
            refused[i] = True

    def refuse(flags: list[bool]) -> None:
        refuse_rows(compress(range(count), flags))

    phone_text = stripped("phone")
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
        decided = _decided(cache, stripped(slot), decide)
        refuse([value is _REFUSE for value in decided])
        return decided

    genders = words("gender", normalizer._gender_cache, _gender)
    statuses = words("status", normalizer._status_cache, _status)

    constant = normalizer._constant_tags
    if col["tag"] >= 0:
        tags: list[object] = _decided(normalizer._tag_cache, stripped("tag"), normalizer._tags_of)
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
    fields: list[dict[str, str]]
    if extras:
        names_of = [key for _, key in extras]
        values = list(zip(*[list(map(_strip, columns[i])) for i, _ in extras], strict=True))
        if all(map(all, values)):  # every cell written: no empty value to leave out
            fields = list(map(dict, map(zip, repeat(names_of), values)))
        else:
            fields = [
                dict(zip(names_of, cells, strict=True))
                if all(cells)
                else {k: v for k, v in zip(names_of, cells, strict=True) if v}
                for cells in values
            ]
    else:
        fields = [{} for _ in range(count)]

    # Each record made from its 13 values by zip and map, with no Python frame per row.
    rows_values = zip(
        numbers, phones, emails, names, descriptions, genders, crm_ids, tags, fields,
        statuses, repeat(None), agents, keys, strict=False,
    )  # fmt: skip
    out = list(map(trusted_record, repeat(ImportedRecord), rows_values))
    if any(refused):
        for i in compress(range(count), refused):
            out[i] = normalizer.normalize(numbers[i], rows[i])
    return out


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
    return GENDER_WORDS.get(header_key(text), _REFUSE)


def _status(text: str) -> object:
    if not text:
        return None
    try:
        parsed = parse_status(text)
    except RowError:
        return _REFUSE
    return _REFUSE if parsed.mine else parsed.status
