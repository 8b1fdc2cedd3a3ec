"""The column check of e-mail addresses never says "all valid" wrongly."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from massreach.core.email_column import all_valid_emails
from massreach.core.phones import is_valid_email

PIECES = st.sampled_from(
    ["a", "Z", "0", "9", ".", "@", "-", "_", "+", "!", "~", "'", " ", "\n", "é", "١", "²", "x" * 60]
)
ADDRESS = st.lists(PIECES, max_size=12).map("".join)
REALISH = st.builds(
    lambda local, labels: f"{local}@{'.'.join(labels)}",
    st.from_regex(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,70}(\.[A-Za-z0-9-]{1,5}){0,2}", fullmatch=True
    ),
    st.lists(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,6}", fullmatch=True), min_size=1, max_size=4
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(ADDRESS, REALISH, st.just("")), max_size=8))
@example(["a@example.vn", "", "b.c@mail.example.com"])
@example(["a@b.12"])
@example(["x" * 65 + "@example.vn"])
@example(["x" * 64 + "@example.vn"])
def test_all_valid_means_each_is_valid(cells: list[str]) -> None:
    cells = [c.strip() for c in cells]
    expected = all(is_valid_email(c) for c in cells if c)
    got = all_valid_emails(cells)
    assert not got or expected
    if expected and "".join(cells).isascii() and not any("\n" in c for c in cells):
        assert got  # plain ASCII columns are decided by the scan


def test_examples() -> None:
    assert all_valid_emails(["a@example.vn", "", "b.c@mail.example.com"])
    assert all_valid_emails([])
    assert not all_valid_emails(["a@example.vn", "a@b"])
    assert not all_valid_emails(["zoë@example.pl"])  # not ASCII: asked per cell
    assert not all_valid_emails(["a@example.vn\nb@example.vn"])
