"""Import plans through the service, on the memory backend: options, policies, reports."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from massreach.core.distribution import ProcessingStatus
from massreach.engine import Reach
from massreach.model import ContactQuery, DuplicatePolicy, ImportOptions, PlanState


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reach(clock: Clock):
    with Reach("memory:", autoload=False, env={}, clock=clock) as engine:
        yield engine


def write_csv(
    path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


HEADER = ["Số điện thoại", "Họ tên", "Email", "Nhãn"]


def test_counts_blank_rows_and_reasons(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            HEADER,
            ["0912 345 678", "An", "an@x.vn", "vip"],
            ["+84912345678", "Dup", "", "vip"],
            ["12ab", "Bad", "", "vip"],
            ["", "", "", ""],
            ["0987654321", "No tag", "", ""],
        ]
        + [["", "", "", ""]] * 20,
    )
    plan = reach.imports.import_file(path, list_name="l")
    assert plan.state == PlanState.done
    c = plan.counts
    assert (c.total, c.succeeded, c.failed, c.duplicates) == (4, 1, 2, 1)
    failed = reach.storage.row_results(plan.id, outcome="failed")
    assert [(r.row, r.column) for r in failed] == [(4, "Số điện thoại"), (6, None)] or [
        r.row for r in failed
    ] == [4, 6]
    assert all(r.message for r in failed)


def test_constant_tags_and_detected_encoding(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "pl.csv",
        [["Telefon", "Imię", "Płeć"], ["+48 601 234 567", "Łucja", "K"]],
        encoding="windows-1250",
        delimiter=";",
    )
    plan = reach.imports.import_file(
        path, list_name="pl", options=ImportOptions(region="PL", tags=("kampania",))
    )
    assert plan.counts.succeeded == 1, reach.storage.row_results(plan.id)
    assert plan.delimiter == ";"
    assert plan.encoding in {"windows-1250", "cp1250", "iso-8859-2"}
    (contact,) = reach.storage.find_contacts(ContactQuery())
    assert contact.phone == "+48601234567"
    assert contact.gender == "F"
    assert contact.tags == ("kampania",)


def test_an_excel_sep_hint_line_is_read_and_hidden_as_excel_hides_it(
    reach: Reach, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "sep=;\r\nTelefon;Imię, nazwisko;Płeć\r\n+48 601 234 567;Nowak, Anna;K\r\n"
        "12ab;Kowalski, Jan;M\r\n".encode("windows-1250")
    )
    plan = reach.imports.import_file(
        path, list_name="pl", options=ImportOptions(region="PL", tags=("t",))
    )
    assert plan.delimiter == ";"
    assert (plan.counts.total, plan.counts.succeeded, plan.counts.failed) == (2, 1, 1)
    (failed,) = reach.storage.row_results(plan.id, outcome="failed")
    assert (failed.row, failed.column) == (3, "Telefon")  # as Excel numbers it
    (contact,) = reach.storage.find_contacts(ContactQuery())
    assert (contact.phone, contact.name, contact.gender) == ("+48601234567", "Nowak, Anna", "F")


def test_same_file_twice_with_skip_adds_nothing(reach: Reach, tmp_path: Path) -> None:
    rows = [HEADER] + [[f"09123456{i:02d}", f"N{i}", "", "t"] for i in range(30)]
    path = write_csv(tmp_path / "a.csv", rows)
    first = reach.imports.import_file(path, list_name="l")
    second = reach.imports.import_file(path, list_name="l")
    assert first.counts.succeeded == 30
    assert second.counts.succeeded == 0 and second.counts.duplicates == 30
    assert reach.storage.count_contacts(ContactQuery()) == 30


def test_update_policy_clear_owner_and_reset_status(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [HEADER, ["0912345678", "Old", "", "t"], ["0912345679", "Other", "", "t"]],
    )
    reach.imports.import_file(path, list_name="l")
    contacts = reach.storage.find_contacts(ContactQuery())
    reach.distribution.add_agent("6001")
    reach.distribution.assign("l", agent="6001", query=ContactQuery(), limit=1)
    reach.storage.mark_processed(
        contacts[1].id, status=ProcessingStatus.succeeded, now=reach.context.now()
    )
    newer = write_csv(
        tmp_path / "b.csv",
        [HEADER, ["0912345678", "New", "", "t2"], ["0912345679", "New2", "", "t2"]],
    )

    keep = ImportOptions(duplicates=DuplicatePolicy(on_duplicate="update"))
    plan = reach.imports.import_file(newer, list_name="l", options=keep)
    codes = {r.code for r in reach.storage.row_results(plan.id)}
    assert codes == {"duplicate.owned", "duplicate.processed"}

    fresh = ImportOptions(
        duplicates=DuplicatePolicy(on_duplicate="update", clear_owner=True, reset_status=True)
    )
    plan = reach.imports.import_file(newer, list_name="l", options=fresh)
    assert plan.counts.updated == 2
    after = reach.storage.find_contacts(ContactQuery())
    assert [c.name for c in after] == ["New", "New2"]
    assert all(c.owner is None and c.status == ProcessingStatus.unprocessed for c in after)
    assert after[0].tags == ("t", "t2")


def test_move_from_another_list(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADER, ["0912345678", "A", "", "t"]])
    reach.imports.import_file(path, list_name="one")
    skipped = reach.imports.import_file(path, list_name="two")
    assert skipped.counts.duplicates == 1
    moved = reach.imports.import_file(
        path, list_name="two", options=ImportOptions(duplicates=DuplicatePolicy(other_list="move"))
    )
    assert moved.counts.succeeded == 1
    two = reach.storage.get_list("two")
    assert two is not None
    assert reach.storage.count_contacts(ContactQuery(list_id=two.id)) == 1
    one = reach.storage.get_list("one")
    assert one is not None and reach.storage.count_contacts(ContactQuery(list_id=one.id)) == 0


def test_scheduled_plan_runs_when_due(reach: Reach, clock: Clock, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADER, ["0912345678", "A", "", "t"]])
    plan = reach.imports.create_plan(path, list_name="l")
    assert plan.state == PlanState.pending
    assert plan.run_at == clock.now + timedelta(minutes=1)
    assert reach.imports.run_due() == []
    clock.now += timedelta(minutes=2)
    (done,) = reach.imports.run_due()
    assert done.state == PlanState.done and done.counts.succeeded == 1


def test_unreadable_file_fails_the_plan_with_a_reason(reach: Reach, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    plan = reach.imports.import_file(path, list_name="l")
    assert plan.state == PlanState.failed
    assert plan.error_code and plan.error_code.startswith("file.")
    assert "x.csv" in (plan.error_message or "")


@pytest.mark.parametrize("batch_size", [3, 300])
@pytest.mark.parametrize("url", ["memory:", "sqlite"])
def test_a_quote_never_closed_fails_the_plan_after_storing_every_row_before_it(
    tmp_path: Path, clock: Clock, url: str, batch_size: int
) -> None:
    if url == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    lines = ["phone,name,tag"] + [f"09123{i:05d},N{i},t" for i in range(1000)]
    lines[900] = '0912300899,"N899 Jr,t'  # row 901 opens a quote nothing closes
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ImportOptions(batch_size=batch_size)
    with Reach(url, autoload=False, env={}, clock=clock) as reach:
        plan = reach.imports.import_file(path, list_name="l", options=options)
        assert (plan.state, plan.error_code) == (PlanState.failed, "file.csv_unclosed_quote")
        assert "row 901" in (plan.error_message or "")
        assert (plan.counts.total, plan.counts.succeeded) == (899, 899)
        assert plan.cursor == 900
        assert reach.storage.count_contacts(ContactQuery()) == 899
        # Run again (the same stored file): nothing doubled, the same error.
        again = reach.imports.run(plan.id)
        assert (again.state, again.counts.total) == (PlanState.failed, 899)
        assert reach.storage.count_contacts(ContactQuery()) == 899


def test_a_title_above_the_header_is_passed_over(reach: Reach, tmp_path: Path) -> None:
    rows = [
        ["DANH SÁCH KHÁCH HÀNG THÁNG 11", "", "", ""],
        ["Ngày xuất: 23/11/2026", "", "", ""],
        ["", "", "", ""],
        HEADER,
        ["0912 345 678", "An", "an@x.vn", "vip"],
        ["0912 345 679", "Bình", "", "vip"],
    ]
    path = write_csv(tmp_path / "report.csv", rows)
    preview = reach.imports.inspect(path)
    assert preview.header_row == 4
    assert dict(preview.mapping)["Số điện thoại"] == "phone"
    plan = reach.imports.import_file(path, list_name="l")
    assert (plan.counts.total, plan.counts.succeeded) == (2, 2)
    # Skipped rows are the user's word: no search then.
    told = reach.imports.inspect(path, ImportOptions(skip_rows=1))
    assert told.header_row == 2


def test_a_header_row_is_not_passed_over_for_rows_below_it(reach: Reach, tmp_path: Path) -> None:
    # "Khách hàng" (the name) alone names one field; once the data begins (a phone
    # number), no later row is taken for the header, however it reads.
    rows = [["Khách hàng", "Mã", "Ghi"], ["An", "0912 345 678", "x"], ["Bình", "phone", "email"]]
    path = write_csv(tmp_path / "one.csv", rows)
    assert reach.imports.inspect(path).header_row == 1
    rows = [["SĐT", "Họ tên", "Nhãn"], ["Nhãn", "Email", "Phone"]]  # a data row of field names
    path = write_csv(tmp_path / "two.csv", rows)
    assert reach.imports.inspect(path).header_row == 1


def test_no_header_with_positional_columns(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["0912345678", "An", "t"], ["0912345679", "Binh", "t"]])
    options = ImportOptions(has_header=False, columns=("phone", "name", "tag"))
    plan = reach.imports.import_file(path, list_name="l", options=options)
    assert plan.counts.succeeded == 2


def test_mapping_override_and_memory(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["mobile", "Nazwa", "grupa"], ["0912345678", "An", "t"]])
    preview = reach.imports.inspect(path)
    assert dict(preview.mapping)["mobile"] == "phone"
    options = ImportOptions(mapping=(("Nazwa", "name"), ("grupa", "tag")))
    plan = reach.imports.import_file(path, list_name="l", options=options)
    assert plan.counts.succeeded == 1
    again = reach.imports.inspect(path)
    assert again.remembered and dict(again.mapping)["grupa"] == "tag"


def test_exports_are_safe_for_excel(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [HEADER, ["=cmd|' /C calc'!A0", "@SUM(1)", "", "t"], ["0912345678", "-x", "", "t"]],
    )
    plan = reach.imports.import_file(path, list_name="l")
    out = tmp_path / "failed.csv"
    assert reach.imports.export(plan.id, "failed", out) == 1
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][-4:] == ["row", "reason_code", "column", "reason"]
    assert rows[1][0].startswith("'=") and rows[1][1].startswith("'@")
    ok = tmp_path / "ok.csv"
    assert reach.imports.export(plan.id, "succeeded", ok) == 1
    assert list(csv.reader(ok.read_text(encoding="utf-8-sig").splitlines()))[1][1] == "'-x"
    original = tmp_path / "orig.csv"
    reach.imports.export(plan.id, "original", original)
    assert original.read_bytes() == path.read_bytes()


def test_exported_rows_keep_their_cells_under_their_headers(reach: Reach, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "phone,name,tag\n0912345678,An\n0912345679,Bo,t,extra,more\n0912345670,Cy,t\n0912345671\n",
        encoding="utf-8",
    )
    plan = reach.imports.import_file(path, list_name="l", options=ImportOptions(tags=("x",)))
    failed = tmp_path / "failed.csv"
    assert reach.imports.export(plan.id, "failed", failed) == 1
    with failed.open(encoding="utf-8-sig", newline="") as f:
        header, misaligned = list(csv.reader(f))
    assert header == ["phone", "name", "tag", "row", "reason_code", "column", "reason"]
    # Every cell is kept; the ones beyond the headers come after the reason.
    assert misaligned[:5] == ["0912345679", "Bo", "t", "3", "row.misaligned"]
    assert misaligned[7:] == ["extra", "more"]
    ok = tmp_path / "ok.csv"
    assert reach.imports.export(plan.id, "succeeded", ok) == 3
    with ok.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    # Short rows are padded, so that the row number stays in its column.
    assert rows == [["0912345678", "An", "", "2"], ["0912345670", "Cy", "t", "4"],
                    ["0912345671", "", "", "5"]]  # fmt: skip


def test_delete_plan(reach: Reach, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADER, ["0912345678", "A", "", "t"]])
    plan = reach.imports.import_file(path, list_name="l")
    reach.imports.delete(plan.id)
    assert reach.storage.get_plan(plan.id) is None
    assert reach.storage.count_contacts(ContactQuery()) == 1


def test_progress_hook_fires_per_batch(tmp_path: Path, clock: Clock) -> None:
    from massreach import hookimpl

    seen: list[tuple[int, int, int | None]] = []

    class Progress:
        @hookimpl
        def massreach_import_progress(self, plan, rows_done, rows_total):  # type: ignore[no-untyped-def]
            seen.append((plan.id, rows_done, rows_total))

    rows = [HEADER] + [[f"09123456{i:02d}", "N", "", "t"] for i in range(25)]
    path = write_csv(tmp_path / "a.csv", rows)
    with Reach("memory:", autoload=False, env={}, clock=clock, plugins=[Progress()]) as engine:
        plan = engine.imports.import_file(path, list_name="l", options=ImportOptions(batch_size=10))
    assert [done for _, done, _ in seen] == [11, 21, 26]
    assert {pid for pid, _, _ in seen} == {plan.id}
