"""Row normalisation: records or failures with reasons, never an exception; statuses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.mapping import positional_mapping, propose_mapping
from massreach.core.normalize import (
    FieldValues,
    ImportedRecord,
    ImportKind,
    NormalizeOptions,
    RowFailure,
    RowNormalizer,
    is_blank,
    parse_datetime,
)
from massreach.core.statuses import ImportedStatus, parse_status
from massreach.errors import InvalidInput, RowError

VN_HEADERS = ["SĐT", "Họ tên", "Email", "Nhãn", "Giới tính", "biến 0", "Số dư"]


def normalizer(
    headers: Sequence[str] = VN_HEADERS, kind: str = "bulk_send", **options: object
) -> RowNormalizer:
    return RowNormalizer(propose_mapping(headers), NormalizeOptions(kind=kind, **options))  # type: ignore[arg-type]


def record(result: ImportedRecord | RowFailure) -> ImportedRecord:
    assert isinstance(result, ImportedRecord), result
    return result


def failure(result: ImportedRecord | RowFailure) -> RowFailure:
    assert isinstance(result, RowFailure), result
    return result


def test_a_full_vietnamese_row() -> None:
    cells = [
        "091 234 5678", " Nguyễn Văn A ", "A@Example.vn ", "vip; hà nội|vip", "Nữ", "50k", "1.000"
    ]  # fmt: skip
    got = record(normalizer().normalize(2, cells))
    assert got.row == 2
    assert got.phone == "+84912345678"
    assert got.email == "A@Example.vn"
    assert got.name == "Nguyễn Văn A"
    assert got.gender == "F"
    assert got.tags == ("vip", "hà nội")
    assert dict(got.fields) == {"param0": "50k", "Số dư": "1.000"}
    assert got.status is None and got.callback_at is None


def test_records_are_hashable_and_their_repr_is_masked() -> None:
    cells = ["0912345678", "A", "jan@example.com", "t"]
    got = record(normalizer().normalize(2, cells))
    assert hash(got) == hash(record(normalizer().normalize(2, list(cells))))
    assert "912345678" not in repr(got) and "jan@" not in repr(got)
    assert "+849****5678" in repr(got)


def test_fewer_cells_are_empty_and_extra_empty_cells_are_fine() -> None:
    got = record(normalizer().normalize(3, ["0912345678", "", "", "t"]))
    assert got.name is None and got.fields == {}
    assert isinstance(normalizer().normalize(3, ["0912345678", "", "", "t", "", "", "", " ", ""]),
                      ImportedRecord)  # fmt: skip


def test_more_non_empty_cells_than_headers_is_misaligned() -> None:
    got = failure(normalizer().normalize(7, ["0912345678", "A", "", "t", "", "", "", "oops"]))
    assert got.code == "row.misaligned" and got.row == 7 and "row 7" in got.message


@pytest.mark.parametrize(
    ("cells", "code", "column"),
    [
        (["0912", "A", "", "t"], "phone.invalid", "SĐT"),
        (["8.49123E+10", "A", "", "t"], "phone.shortened", "SĐT"),
        (["", "A", "not-an-email", "t"], "email.invalid", "Email"),
        (["0912345678", "A", "", "t", "x"], "gender.unknown", "Giới tính"),
        (["", "A", "", "t"], "row.missing_target", "SĐT"),
        (["0912345678", "A", "", ""], "row.missing_tag", "Nhãn"),
    ],
)
def test_failures_name_the_column(cells: list[str], code: str, column: str) -> None:
    got = failure(normalizer().normalize(4, cells))
    assert (got.code, got.column, got.row) == (code, column, 4)
    assert got.message.startswith(f"row 4, column {column!r}")


def test_a_number_excel_shortened_fails_and_says_how_to_get_it_back() -> None:
    # Never imported as 84912300000: its last digits are lost, not zeros.
    got = failure(normalizer().normalize(4, ["8.49123E+10", "A", "", "t"]))
    assert "8.49123E+10" in got.message and "as text" in got.message
    ok = record(normalizer().normalize(5, ["8.4912345678E+10", "A", "", "t"]))
    assert ok.phone == "+84912345678"


def test_an_invalid_phone_is_masked_in_the_message() -> None:
    got = failure(normalizer().normalize(4, ["09123456789999", "A", "", "t"]))
    assert "09123456789999" not in got.message


@pytest.mark.parametrize(
    ("cell", "email"),
    [
        ("Nguyễn Văn A <a@example.vn>", "a@example.vn"),
        ("<a@example.vn>", "a@example.vn"),
        ("mailto:A@Example.vn", "A@Example.vn"),
        ('"Nowak, Anna" <anna@x.pl>', "anna@x.pl"),
    ],
)
def test_an_address_in_a_mail_program_form_is_taken_out(cell: str, email: str) -> None:
    got = record(normalizer().normalize(2, ["", "A", cell, "t"]))
    assert got.email == email


@pytest.mark.parametrize("cell", ["a@x.vn; b@y.vn", "Name <a@x.vn", "a@x.vn>", "<not-an-email>"])
def test_what_holds_no_single_address_still_fails(cell: str) -> None:
    assert failure(normalizer().normalize(2, ["", "A", cell, "t"])).code == "email.invalid"


def test_email_alone_is_a_target_and_constant_tags_count() -> None:
    rows = normalizer(constant_tags=("spring", " ", "vip"))
    got = record(rows.normalize(2, ["", "", "a@b.pl", "vip"]))
    assert got.phone is None and got.tags == ("vip", "spring")


@pytest.mark.parametrize(
    ("text", "gender"),
    [("F", "F"), ("m", "M"), ("K", "F"), ("kobieta", "F"), ("Mężczyzna", "M"), ("女", "F"),
     ("男", "M"), ("nữ", "F"), ("Nam", "M"), ("female", "F"), ("Male", "M"), ("", None),
     # salutations
     ("Bà", "F"), ("Chị", "F"), ("Ông", "M"), ("Anh", "M"), ("Mrs.", "F"), ("Mr.", "M"),
     ("Pani", "F"), ("Pan", "M"), ("女士", "F"), ("先生", "M"), ("Nữ giới", "F"),
     # not known, or neither: no gender, and the row is still imported
     ("-", None), ("N/A", None), ("Khác", None), ("không rõ", None), ("未知", None),
     ("inna", None), ("Unknown", None)],
)  # fmt: skip
def test_genders(text: str, gender: str | None) -> None:
    assert record(normalizer().normalize(2, ["0912345678", "", "", "t", text])).gender == gender


def test_polish_first_and_last_name_make_the_name() -> None:
    rows = RowNormalizer(
        propose_mapping(["Telefon", "Imię", "Nazwisko", "Płeć", "Tag"]),
        NormalizeOptions(kind=ImportKind.bulk_send, default_region="PL"),
    )
    got = record(rows.normalize(2, ["512 345 678", "Łukasz", "Nowak", "M", "a"]))
    assert (got.phone, got.name, got.gender) == ("+48512345678", "Łukasz Nowak", "M")
    assert record(rows.normalize(3, ["512345678", "", "Nowak", "K", "a"])).name == "Nowak"


# ------------------------------------------------------------ statuses

CRM_HEADERS = ["Identyfikator CRM", "Status", "Data kontaktu", "Agent"]


@pytest.mark.parametrize(
    ("text", "status", "mine"),
    [
        ("unprocessed", "unprocessed", False), ("未处理", "unprocessed", False),
        ("Chưa xử lý", "unprocessed", False), ("NIEPRZETWORZONY", "unprocessed", False),
        ("follow up", "follow_up", False), ("跟进", "follow_up", False),
        ("theo dõi", "follow_up", False), ("Do kontaktu", "follow_up", False),
        ("Failed", "failed", False), ("失败", "failed", False), ("thất bại", "failed", False),
        ("nieudany", "failed", False), ("succeeded", "succeeded", False),
        ("成功", "succeeded", False), ("THÀNH CÔNG", "succeeded", False),
        ("sukces", "succeeded", False), ("My record", "follow_up", True),
        ("Mój rekord", "follow_up", True), ("moje", "follow_up", True),
        ("我的记录", "follow_up", True), ("khách hàng của tôi", "follow_up", True),
        ("follow_up", "follow_up", False),
    ],
)  # fmt: skip
def test_status_words(text: str, status: str, mine: bool) -> None:
    assert parse_status(text) == ImportedStatus(status, mine)


def test_unknown_status() -> None:
    with pytest.raises(RowError) as caught:
        parse_status("maybe later")
    assert caught.value.code == "status.unknown"
    with pytest.raises(ValueError):
        ImportedStatus("later")


def test_crm_status_import_with_a_pinned_callback() -> None:
    rows = normalizer(CRM_HEADERS, "crm_status", timezone="Europe/Warsaw")
    got = record(rows.normalize(2, ["C-17", "Mój rekord", "05.06.2024 14:30", "6001"]))
    assert got.crm_id == "C-17" and got.status == "follow_up" and got.agent == "6001"
    assert got.callback_at == datetime(2024, 6, 5, 12, 30, tzinfo=UTC)
    plain = record(rows.normalize(3, ["C-18", "sukces", "", ""]))
    assert plain.status == "succeeded" and plain.callback_at is None


@pytest.mark.parametrize(
    ("cells", "code", "column"),
    [
        (["C-1", "moje", "", "6001"], "status.callback_incomplete", "Data kontaktu"),
        (["C-1", "moje", "2024-06-05", ""], "status.callback_incomplete", "Agent"),
        (["C-1", "moje", "someday", "6001"], "date.invalid", "Data kontaktu"),
        (["C-1", "whatever", "", ""], "status.unknown", "Status"),
        (["", "sukces", "", ""], "row.missing_crm_id", "Identyfikator CRM"),
        (["C-1", "", "", ""], "row.missing_status", "Status"),
    ],
)
def test_crm_status_failures(cells: list[str], code: str, column: str) -> None:
    got = failure(normalizer(CRM_HEADERS, "crm_status").normalize(9, cells))
    assert (got.code, got.column) == (code, column)


def test_mine_without_date_columns_names_the_status_column() -> None:
    got = failure(normalizer(["crm id", "status"], "crm_status").normalize(2, ["C", "mine"]))
    assert (got.code, got.column) == ("status.callback_incomplete", "status")


def test_calling_kind_needs_a_phone_but_no_tag() -> None:
    rows = normalizer(["phone", "name"], "calling")
    assert record(rows.normalize(2, ["0912345678", "A"])).tags == ()
    assert failure(rows.normalize(3, ["", "A"])).code == "row.missing_phone"


def test_positional_mapping_rows() -> None:
    mapping = positional_mapping(3, ["phone", "tag"])
    rows = RowNormalizer(mapping, NormalizeOptions(kind="bulk_send"))
    assert record(rows.normalize(1, ["0912345678", "a", "ignored"])).tags == ("a",)
    assert failure(rows.normalize(2, ["0912", "a"])).column == "column 1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-05", datetime(2024, 6, 5)),
        ("2024-06-05T14:30:00", datetime(2024, 6, 5, 14, 30)),
        ("2024-06-05 14:30", datetime(2024, 6, 5, 14, 30)),
        ("05/06/2024", datetime(2024, 6, 5)),
        ("5/6/2024 8:05", datetime(2024, 6, 5, 8, 5)),
        ("05.06.2024 14:30:15", datetime(2024, 6, 5, 14, 30, 15)),
        ("2024/06/05 14:30", datetime(2024, 6, 5, 14, 30)),
        ("31/02/2024", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    zone = timezone(timedelta(hours=7))
    got = parse_datetime(text, zone)
    assert got == (expected.replace(tzinfo=zone) if expected else None)


def test_aware_datetimes_keep_their_offset() -> None:
    got = parse_datetime("2024-06-05T14:30:00+02:00", UTC)
    assert got is not None and got.utcoffset() == timedelta(hours=2)


# ------------------------------------------------------------- options


def test_options_validation() -> None:
    assert NormalizeOptions(kind="calling").kind is ImportKind.calling
    with pytest.raises(ValueError):
        NormalizeOptions(kind="sms")
    with pytest.raises(InvalidInput) as caught:
        NormalizeOptions(kind="calling", default_region="XX")
    assert caught.value.code == "phone.unknown_region"
    with pytest.raises(InvalidInput) as caught:
        NormalizeOptions(kind="calling", timezone="Mars/Olympus")
    assert caught.value.code == "import.unknown_timezone"
    tagged = NormalizeOptions(kind="calling", constant_tags=[" a", "a", "", "b"])
    assert tagged.constant_tags == ("a", "b")


def test_imported_record_checks() -> None:
    with pytest.raises(ValueError):
        ImportedRecord(1, gender="X")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ImportedRecord(1, status="done")
    with pytest.raises(ValueError):
        ImportedRecord(1, callback_at=datetime(2024, 1, 1))
    made = ImportedRecord(1, fields={"a": "1"})
    assert made.fields == FieldValues({"a": "1"}) and isinstance(made.fields, FieldValues)
    with pytest.raises(AttributeError):
        made.phone = "+84912345678"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cells", "blank"),
    [([], True), (["", " ", "\t"], True), (["\ufeff", "\u200b", "\xa0"], True),
     (["", "x"], False), ([" 0 "], False)],
)  # fmt: skip
def test_is_blank(cells: list[str], blank: bool) -> None:
    assert is_blank(cells) is blank


# ------------------------------------------------------------ properties

CELL = st.one_of(
    st.text(max_size=15),
    st.sampled_from(["0912345678", "+84 91 234 5678", "a@b.vn", "F", "nam", "moje",
                     "sukces", "2024-06-05 10:00", "6001", "vip,a|b", ""]),
)  # fmt: skip
HEADERS = st.lists(
    st.sampled_from(["SĐT", "Email", "Họ tên", "Tag", "Płeć", "Status", "Data kontaktu",
                     "Agent", "crm id", "param1", "Số dư", "Imię", "Nazwisko", ""]),
    min_size=1, max_size=9,
)  # fmt: skip


@given(
    headers=HEADERS,
    rows=st.lists(st.lists(CELL, max_size=11), max_size=5),
    kind=st.sampled_from(list(ImportKind)),
    tags=st.lists(st.text(max_size=5), max_size=2),
)
def test_normalize_never_raises_and_is_deterministic(
    headers: list[str], rows: list[list[str]], kind: ImportKind, tags: list[str]
) -> None:
    options = NormalizeOptions(kind=kind, constant_tags=tuple(tags), timezone="Asia/Ho_Chi_Minh")
    first = RowNormalizer(propose_mapping(headers), options)
    second = RowNormalizer(propose_mapping(headers), options)
    for number, cells in enumerate(rows, start=2):
        got = first.normalize(number, cells)
        assert got == second.normalize(number, list(cells))
        assert got.row == number
        if isinstance(got, RowFailure):
            assert got.code and got.message.startswith(f"row {number}")
            assert got.column is None or got.column in headers
        else:
            assert got.phone is None or got.phone.startswith("+")
            assert len(set(got.tags)) == len(got.tags)
            assert all(t == t.strip() and t for t in got.tags)
            if kind is ImportKind.bulk_send:
                assert (got.phone or got.email) and got.tags
            if got.callback_at is not None:
                assert got.agent and got.status == "follow_up"


@given(st.lists(st.sampled_from(["", " ", "\t", "\ufeff", "\xa0", "\u200b"]), max_size=8))
def test_blank_rows_are_blank(cells: list[str]) -> None:
    assert is_blank(cells)
