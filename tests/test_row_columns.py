"""Rows kept as columns behave as the list of their rows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.row_columns import RowColumns

ROWS = st.integers(1, 4).flatmap(
    lambda width: st.lists(st.lists(st.text(max_size=3), min_size=width, max_size=width))
)


def as_columns(rows: list[list[str]], width: int) -> RowColumns:
    return RowColumns([[row[i] for row in rows] for i in range(width)], len(rows))


@given(ROWS, st.data())
def test_row_columns_are_the_list_of_their_rows(rows: list[list[str]], data: st.DataObject) -> None:
    width = len(rows[0]) if rows else 2
    table = as_columns(rows, width)
    assert len(table) == len(rows) and list(table) == rows and table == rows
    assert table.width == width
    if rows:
        i = data.draw(st.integers(-len(rows), len(rows) - 1))
        assert table[i] == rows[i]
    a, b, step = data.draw(
        st.tuples(st.integers(-5, 5), st.integers(-5, 5), st.sampled_from([1, 2, -1]))
    )
    piece = table[a:b:step]
    assert type(piece) is RowColumns and piece == rows[a:b:step]
    keep = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    assert table.kept(keep) == [row for row, k in zip(rows, keep, strict=True) if k]
    split = data.draw(st.integers(0, len(rows)))
    joined = RowColumns.joined([table[:split], table[split:]])
    assert joined == rows and joined.width == width


def test_row_columns_check_their_shape() -> None:
    with pytest.raises(ValueError, match="count cells"):
        RowColumns([["a"], ["b", "c"]], 1)
    with pytest.raises(ValueError, match="count cells"):
        RowColumns([], 0)
    with pytest.raises(ValueError, match="one width"):
        RowColumns.joined([RowColumns([["a"]], 1), RowColumns([["a"], ["b"]], 1)])
    assert repr(RowColumns([["a", "b"]], 2)) == "RowColumns(2 rows of 1 cells)"
    assert RowColumns([["a"]], 1) != "a"
