"""Rows of cells kept as columns: :class:`RowColumns`.

A CSV block whose lines all have the same number of cells is split by its reader
straight into columns (one list per position), the shape the import's normaliser
works on. :class:`RowColumns` holds such rows: as a sequence it is the list of rows
(each a new list of cells, made when asked for), and ``columns`` gives the cells a
column at a time, so that a consumer that knows it neither makes a list per row
nor turns the rows into columns again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import compress
from typing import overload

__all__ = ["RowColumns"]


class RowColumns(Sequence[list[str]]):
    """``count`` rows of ``len(columns)`` cells (at least one), given as columns
    that each hold ``count`` cells."""

    __slots__ = ("_count", "columns")

    def __init__(self, columns: list[list[str]], count: int) -> None:
        if not columns or any(len(column) != count for column in columns):
            raise ValueError("RowColumns needs at least one column, each of count cells")
        self.columns = columns
        self._count = count

    @property
    def width(self) -> int:
        """The number of cells of every row."""
        return len(self.columns)

    @classmethod
    def joined(cls, parts: Sequence[RowColumns]) -> RowColumns:
        """The rows of ``parts`` one after the other (all of one width)."""
        if len({part.width for part in parts}) != 1:
            raise ValueError("joined RowColumns must have one width")
        columns: list[list[str]] = [[] for _ in parts[0].columns]
        for part in parts:
            for whole, own in zip(columns, part.columns, strict=True):
                whole.extend(own)
        return cls(columns, sum(len(part) for part in parts))

    def kept(self, keep: Sequence[bool]) -> RowColumns:
        """The rows whose flag in ``keep`` is true."""
        columns = [list(compress(column, keep)) for column in self.columns]
        return RowColumns(columns, len(columns[0]))

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> RowColumns: ...

    def __getitem__(self, index: int | slice) -> list[str] | RowColumns:
        if isinstance(index, slice):
            columns = [column[index] for column in self.columns]
            return RowColumns(columns, len(columns[0]))
        return [column[index] for column in self.columns]

    def __iter__(self) -> Iterator[list[str]]:
        return map(list, zip(*self.columns, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable lists inside

    def __repr__(self) -> str:
        return f"RowColumns({self._count} rows of {self.width} cells)"
