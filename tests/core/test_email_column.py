"""The column check of e-mail addresses never says "all valid" wrongly."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from massreach.core.email_column import _common_addresses, all_valid_emails
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


COMMON_PIECES = st.sampled_from(
    ["a", "Z", "0", "9", "1", ".", ".", "@", "@", "-", "-", "_", "+", "x" * 30, "!", " "]
)
COMMON = st.one_of(
    st.lists(COMMON_PIECES, min_size=1, max_size=14).map("".join),
    st.builds(
        lambda local, labels: f"{local}@{'.'.join(labels)}",
        st.from_regex(r"[A-Za-z0-9_+-]{1,66}(\.[A-Za-z0-9_+-]{1,3}){0,2}", fullmatch=True),
        st.lists(st.from_regex(r"[A-Za-z0-9-]{1,4}", fullmatch=True), min_size=1, max_size=3),
    ),
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(COMMON, min_size=1, max_size=5))
@example(["a@b.c1", "a@b.1"])
@example(["a-@b.cd"])
@example(["a@b-.cd"])
@example(["a@b.c-d", "a@b._d"])
@example(["a" * 64 + "@b.cd"])
def test_common_addresses_are_valid(cells: list[str]) -> None:
    """The byte-class check of the common column never passes an invalid address,
    and passes the ordinary ones."""
    written = [c for c in cells if c and "\n" not in c]
    if not written:
        return
    if _common_addresses(written, None):
        assert all(map(is_valid_email, written)), written
    assert _common_addresses(written, "\n".join(written)) == _common_addresses(written, None)


def test_the_common_column_is_decided_by_classes() -> None:
    column = [f"user{n}@mail{n % 7}.example.vn" for n in range(300)]
    assert _common_addresses(column, None)
    assert _common_addresses(["a.b-c+d_e@x-y.example.com", "Z9@q.io"], None)
    for odd in ("a@b.12", "a@x_y.com", "a..b@c.de", "a@b", "a@@b.cd", "x" * 65 + "@b.cd"):
        assert not _common_addresses([*column, odd], None), odd


def test_examples() -> None:
    assert all_valid_emails(["a@example.vn", "", "b.c@mail.example.com"])
    assert all_valid_emails([])
    assert not all_valid_emails(["a@example.vn", "a@b"])
    assert not all_valid_emails(["zoë@example.pl"])  # not ASCII: asked per cell
    assert not all_valid_emails(["a@example.vn\nb@example.vn"])
