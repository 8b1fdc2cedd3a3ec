"""A normalised batch kept as columns: records are made only where they are needed.

:func:`~massreach.core.normalize_batch.normalize_batch` decides most rows of a
batch a column at a time. :class:`RecordBatch` keeps those columns (one list per
value, plus one list per custom field) and, by index, the row-by-row result of
every row the columns did not decide. As a sequence, item ``i`` is exactly the
:class:`~massreach.core.normalize.ImportedRecord` (or
:class:`~massreach.core.normalize.RowFailure`) of row ``numbers[i]``, made when
it is asked for.

The import's common path never asks for most of them: the duplicate planner
looks at the key columns, makes records only for the few rows that share a key,
and answers the other inserts as a :class:`RecordSelection` (indexes into the
batch); storage takes their contact columns straight from the batch's columns
(:func:`~massreach.adapters.sql_rows.record_values`). That saves a record, a
field dict and a transposition per row, about a third of the import's work
per row on its main thread.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from itertools import compress, pairwise, repeat
from typing import Any, overload

from massreach.core.normalize import ImportedRecord, RowFailure, trusted_record

__all__ = ["RecordBatch", "RecordKeys", "RecordSelection", "all_none"]

Item = ImportedRecord | RowFailure


class RecordBatch(Sequence[Item]):
    """The normalised rows of one batch, in file order (see the module doc).

    ``columns`` hold one value per row for the values of
    :class:`~massreach.core.normalize.ImportedRecord` (``callback_at`` is always
    None there); ``field_values`` one list per name of ``field_names`` (trimmed
    cells, "" when empty: an empty cell is not a field). The values of an index
    in ``overrides`` are not looked at: that row's item is the override.
    """

    __slots__ = (
        "_keys",
        "agents",
        "crm_ids",
        "descriptions",
        "email_keys",
        "emails",
        "field_names",
        "field_values",
        "genders",
        "names",
        "numbers",
        "overrides",
        "phones",
        "statuses",
        "tags",
    )

    def __init__(  # noqa: PLR0917 - one list per value
        self,
        numbers: Sequence[int],
        phones: Sequence[str | None],
        emails: Sequence[str | None],
        names: Sequence[str | None],
        descriptions: Sequence[str | None],
        genders: Sequence[Any],
        crm_ids: Sequence[str | None],
        tags: Sequence[Any],
        field_names: Sequence[str],
        field_values: Sequence[Sequence[str]],
        statuses: Sequence[Any],
        agents: Sequence[str | None],
        email_keys: Sequence[str | None],
        overrides: Mapping[int, Item],
    ) -> None:
        self.numbers = numbers
        self.phones = phones
        self.emails = emails
        self.names = names
        self.descriptions = descriptions
        self.genders = genders
        self.crm_ids = crm_ids
        self.tags = tags
        self.field_names = list(field_names)
        self.field_values = field_values
        self.statuses = statuses
        self.agents = agents
        self.email_keys = email_keys
        self.overrides = dict(overrides)
        self._keys: RecordKeys | None = None

    @classmethod
    def joined(cls, parts: Sequence[RecordBatch]) -> RecordBatch:
        """The batches one after the other (with the same field names)."""
        if len(parts) == 1:
            return parts[0]
        names = parts[0].field_names if parts else []
        overrides: dict[int, Item] = {}
        offset = 0
        for part in parts:
            if part.field_names != names:
                raise ValueError("joined batches must have the same field names")
            overrides.update((offset + i, item) for i, item in part.overrides.items())
            offset += len(part)

        def column(name: str) -> list[Any]:
            out: list[Any] = []
            for part in parts:
                out += getattr(part, name)
            return out

        # Consecutive ranges of row numbers stay one range (no int object per row).
        numbers: Sequence[int]
        ranges = [part.numbers for part in parts if type(part.numbers) is range]
        if len(ranges) == len(parts) and _consecutive(ranges):
            numbers = range(ranges[0][0], ranges[-1][-1] + 1)
        else:
            numbers = column("numbers")

        values: list[list[str]] = [[] for _ in names]
        for part in parts:
            for whole, own in zip(values, part.field_values, strict=True):
                whole.extend(own)
        return cls(
            numbers, column("phones"), column("emails"), column("names"),
            column("descriptions"), column("genders"), column("crm_ids"), column("tags"),
            names, values, column("statuses"), column("agents"), column("email_keys"),
            overrides,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.numbers)

    def record_columns(self) -> RecordKeys:
        """The batch's records (its failures left out) as columns: their indexes,
        phones, e-mail addresses, e-mail keys and CRM ids (each made once, when
        first asked for: the usual file needs only the phones)."""
        if self._keys is None:
            self._keys = RecordKeys(self)
        return self._keys

    def failures(self) -> list[RowFailure]:
        """The rows that failed, in order."""
        return [
            item  # type: ignore[misc]
            for _, item in sorted(self.overrides.items())
            if type(item) is not ImportedRecord
        ]

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = operator.index(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("record batch index out of range")
        found = self.overrides.get(i)
        return found if found is not None else self._record(i)

    def record(self, i: int) -> ImportedRecord:
        """Item ``i``, which must be a record (not a failure)."""
        item = self[i]
        if type(item) is not ImportedRecord:
            raise ValueError(f"row {self.numbers[i]} of the batch failed: it has no record")
        return item

    def _fields(self, i: int) -> dict[str, str]:
        cells = [column[i] for column in self.field_values]
        if all(cells):
            return dict(zip(self.field_names, cells, strict=True))
        return {k: v for k, v in zip(self.field_names, cells, strict=True) if v}

    def _record(self, i: int) -> ImportedRecord:
        return trusted_record(
            ImportedRecord,
            (
                self.numbers[i], self.phones[i], self.emails[i], self.names[i],
                self.descriptions[i], self.genders[i], self.crm_ids[i], self.tags[i],
                self._fields(i), self.statuses[i], None, self.agents[i], self.email_keys[i],
            ),
        )  # fmt: skip

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items())

    def items(self) -> list[Item]:
        """Every item, made a column at a time (a record per row, no Python frame)."""
        count = len(self)
        if self.field_names:
            rows = list(zip(*self.field_values, strict=True))
            if all(map(all, rows)):  # every cell written: no empty value to leave out
                fields: list[dict[str, str]] = list(
                    map(dict, map(zip, repeat(self.field_names), rows))
                )
            else:
                fields = [
                    dict(zip(self.field_names, cells, strict=True))
                    if all(cells)
                    else {k: v for k, v in zip(self.field_names, cells, strict=True) if v}
                    for cells in rows
                ]
        else:
            fields = [{} for _ in range(count)]
        values = zip(
            self.numbers, self.phones, self.emails, self.names, self.descriptions,
            self.genders, self.crm_ids, self.tags, fields, self.statuses, repeat(None),
            self.agents, self.email_keys, strict=False,
        )  # fmt: skip
        out: list[Item] = list(map(trusted_record, repeat(ImportedRecord), values))
        for i, item in self.overrides.items():
            out[i] = item
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self.items() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable lists inside

    def __repr__(self) -> str:
        return f"RecordBatch({len(self)} rows, {len(self.overrides)} row by row)"


class RecordKeys:
    """The records of a :class:`RecordBatch` (its failures left out) as columns:
    ``indexes`` into the batch, ``phones``, ``emails``, ``email_keys`` and
    ``crm_ids``, each made when first asked for."""

    # The batch's columns, not the batch: the batch keeps this object, and a cycle
    # would keep every batch of an import alive until the collector ran.
    __slots__ = ("_columns", "_count", "_keep", "_made", "_records")

    def __init__(self, batch: RecordBatch) -> None:
        self._columns = {
            "phones": batch.phones,
            "emails": batch.emails,
            "email_keys": batch.email_keys,
            "crm_ids": batch.crm_ids,
        }
        self._count = len(batch)
        overrides = batch.overrides
        #: The rows decided row by row that are records, by index.
        self._records = {i: r for i, r in overrides.items() if type(r) is ImportedRecord}
        self._keep: list[bool] | None = None
        if len(self._records) < len(overrides):  # some rows failed
            keep = [True] * len(batch)
            for i in overrides.keys() - self._records.keys():
                keep[i] = False
            self._keep = keep
        self._made: dict[str, list[Any]] = {}

    def _column(self, name: str, attribute: str) -> list[Any]:
        made = self._made.get(name)
        if made is None:
            column = list(self._columns[name])
            for i, record in self._records.items():
                column[i] = getattr(record, attribute)
            made = column if self._keep is None else list(compress(column, self._keep))
            self._made[name] = made
        return made

    @property
    def indexes(self) -> list[int]:
        """The records' indexes into the batch."""
        made = self._made.get("indexes")
        if made is None:
            every = range(self._count)
            made = list(every) if self._keep is None else list(compress(every, self._keep))
            self._made["indexes"] = made
        return made

    @property
    def phones(self) -> list[str | None]:
        """The records' phones."""
        return self._column("phones", "phone")

    @property
    def emails(self) -> list[str | None]:
        """The records' e-mail addresses."""
        return self._column("emails", "email")

    @property
    def email_keys(self) -> list[str | None]:
        """The records' e-mail keys."""
        return self._column("email_keys", "email_key")

    @property
    def crm_ids(self) -> list[str | None]:
        """The records' CRM ids."""
        return self._column("crm_ids", "crm_id")


class RecordSelection(Sequence[ImportedRecord]):
    """Some records of a :class:`RecordBatch` by index (ascending): a batch's
    inserts, made only when asked for. Equal to any sequence of the same records."""

    __slots__ = ("_pick", "batch", "indexes")

    def __init__(self, batch: RecordBatch, indexes: Sequence[int]) -> None:
        self.batch = batch
        self.indexes = indexes
        self._pick: Callable[[Sequence[Any]], Sequence[Any]] | None = None

    @property
    def columnar(self) -> bool:
        """Whether every selected record is one the columns decided (no override)."""
        overrides = self.batch.overrides
        return not overrides or overrides.keys().isdisjoint(self.indexes)

    def column(self, values: Sequence[Any]) -> Sequence[Any]:
        """The selected rows' values of one column of the batch."""
        pick = self._pick
        if pick is None:
            indexes = self.indexes
            count = len(self.batch)
            if len(indexes) == count:  # every row, in order
                pick = _same
            elif len(indexes) * 4 > count:  # most rows: a mask, a C-level pass a column
                mask = [False] * count
                deque(map(mask.__setitem__, indexes, repeat(True)), maxlen=0)
                pick = partial(_masked, mask)
            elif len(indexes) > 1:
                pick = operator.itemgetter(*indexes)
            else:
                pick = partial(_picked, indexes)
            self._pick = pick
        return pick(values)

    def __len__(self) -> int:
        return len(self.indexes)

    @overload
    def __getitem__(self, index: int) -> ImportedRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[ImportedRecord]: ...

    def __getitem__(self, index: int | slice) -> ImportedRecord | list[ImportedRecord]:
        if isinstance(index, slice):
            return [self.batch[i] for i in self.indexes[index]]  # type: ignore[misc]
        return self.batch[self.indexes[index]]  # type: ignore[return-value]

    def __iter__(self) -> Iterator[ImportedRecord]:
        return iter(self.records())

    def records(self) -> list[ImportedRecord]:
        """Every selected record."""
        if len(self.indexes) * 4 < len(self.batch):
            return [self.batch[i] for i in self.indexes]  # type: ignore[misc]
        return list(map(self.batch.items().__getitem__, self.indexes))  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self.records() == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.records()))

    def __repr__(self) -> str:
        return f"RecordSelection({len(self)} of {len(self.batch)} rows)"


def all_none(values: Sequence[Any]) -> bool:
    """Whether every value of a column is None (a column that is not mapped). Its
    first value decides most columns at once: ``count`` compares each text with
    None slowly."""
    return not values or (values[0] is None and values.count(None) == len(values))


def _consecutive(ranges: list[range]) -> bool:
    """Whether the ranges (none empty) count on from one to the next by 1."""
    return all(r.step == 1 and len(r) for r in ranges) and all(
        a.stop == b.start for a, b in pairwise(ranges)
    )


def _same(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _masked(mask: list[bool], values: Sequence[Any]) -> list[Any]:
    return list(compress(values, mask))


def _picked(indexes: Sequence[int], values: Sequence[Any]) -> list[Any]:
    return [values[i] for i in indexes]
