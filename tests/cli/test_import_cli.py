"""The import commands as a user runs them: ``import``, ``plans``, ``plan show|export|
delete``, ``plans run-due`` and ``contacts``, their JSON contracts and exit codes, the
progress bar on a real terminal and a reader that goes away."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from massreach.cli.main import _run, main
from massreach.cli.output import GuardedOutput, OutputClosed
from massreach.engine import Reach
from massreach.model import ImportOptions

HEADER = ["Số điện thoại", "Họ tên", "Email", "Ghi chú", "Nhãn"]
ROWS = [
    ["0912 345 678", "An", "an@example.vn", '=HYPERLINK("http://x")', "vip"],
    ["+84 912 345 678", "An again", "", "", "vip"],  # the same phone: a duplicate
    ["12ab", "Bad", "", "@SUM(A1)", "vip"],  # not a phone number
    ["", "", "", "", ""],  # blank: no record
    ["84987654321.0", "Bình", "BINH@EXAMPLE.VN", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], **fmt: Any) -> Path:
    with path.open("w", encoding=fmt.pop("encoding", "utf-8"), newline="") as f:
        csv.writer(f, **fmt).writerows(rows)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    """Run the CLI in this process; returns the JSON it printed (``--json``) or its text."""
    capsys.readouterr()
    assert main(list(argv)) == code
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in argv else out


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "customers.csv", [HEADER, *ROWS])


def test_import_prints_the_plan_and_contacts_prints_what_it_stored(
    db: str, customers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = run(capsys, "--db", db, "import", str(customers), "--list", "nov", "--tag", "q4",
               "--user", "ann", "--json")  # fmt: skip
    assert {"plan_id", "state", "total", "succeeded", "failed", "duplicates", "error"} <= set(plan)
    assert (plan["state"], plan["error"]) == ("done", None)
    assert (plan["total"], plan["succeeded"], plan["failed"], plan["duplicates"]) == (4, 2, 1, 1)
    assert (plan["encoding"], plan["delimiter"], plan["creator"]) == ("utf-8", ",", "ann")
    assert plan["list"] == "nov"
    assert ["Số điện thoại", "phone"] in plan["mapping"]
    contacts = run(capsys, "--db", db, "contacts", "nov", "--json")
    assert [(c["phone"], c["email"], c["name"]) for c in contacts] == [
        ("+84912345678", "an@example.vn", "An"),
        ("+84987654321", "BINH@EXAMPLE.VN", "Bình"),  # kept as written
    ]
    assert [sorted(c["tags"]) for c in contacts] == [["q4", "vip"], ["q4"]]
    assert contacts[0]["fields"] == {}
    assert contacts[0]["status"] == "unprocessed"
    # The table masks the numbers; --json is the data interface and does not.
    text = run(capsys, "--db", db, "contacts", "nov")
    assert "+84912345678" not in text and "678" in text


@pytest.mark.parametrize(
    ("name", "data", "extra", "code"),
    [
        ("empty.csv", b"", [], "file.empty"),
        ("noise.csv", bytes(range(256)) * 40, [], "file.binary"),
        ("archive.csv", gzip.compress(b"phone,name\n0912345678,An\n"), [], "file.binary"),
        ("renamed.xlsx", b"PK\x03\x04" + b"\x00" * 200, [], None),
        ("latin.csv", b"phone,name\n0912345678,Z\xf3\xb3w\n", ["--encoding", "utf-8"], None),
    ],
)
def test_a_file_that_is_no_table_fails_the_plan_with_exit_1_and_no_traceback(
    db: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    name: str,
    data: bytes,
    extra: list[str],
    code: str | None,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    capfd.readouterr()
    assert main(["--db", db, "import", str(path), "--list", "x", "--tag", "t", *extra,
                 "--json"]) == 1  # fmt: skip
    out, err = capfd.readouterr()
    plan = json.loads(out)
    assert plan["state"] == "failed"
    assert plan["error"]["message"] and name in plan["error"]["message"]
    assert plan["error"]["code"].startswith("file.")
    if code:
        assert plan["error"]["code"] == code
    assert "Traceback" not in err
    shown = run(capfd, "--db", db, "plan", "show", str(plan["plan_id"]))  # type: ignore[arg-type]
    assert "state:" in shown and "failed" in shown and "error:" in shown


def test_every_reading_option_reaches_the_plan(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ["Eksport z CRM", "", ""],
        ["wygenerowano 2026-11-23", "", ""],
        ["Nr", "Imię i nazwisko", "Płeć"],
        ["601 234 567", "Łucja Żak", "K"],
        ["+48 602 345 678", "Paweł Nowak", "M"],
    ]
    path = write_csv(tmp_path / "pl.csv", rows, encoding="windows-1250", delimiter="|")
    plan = run(capsys, "--db", db, "import", str(path), "--list", "pl", "--region", "pl",
               "--encoding", "windows-1250", "--delimiter", "|", "--skip-rows", "2",
               "--map", "Nr=phone", "--tag", "a", "--tag", "b", "--json")  # fmt: skip
    assert (plan["succeeded"], plan["failed"]) == (2, 0)
    assert (plan["encoding"], plan["delimiter"]) == ("windows-1250", "|")
    assert ["Nr", "phone"] in plan["mapping"]
    contacts = run(capsys, "--db", db, "contacts", "pl", "--json")
    assert [(c["phone"], c["name"], sorted(c["tags"])) for c in contacts] == [
        ("+48601234567", "Łucja Żak", ["a", "b"]),
        ("+48602345678", "Paweł Nowak", ["a", "b"]),
    ]


def test_no_header_with_columns_by_position(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "bare.csv", [["0912345678", "An", "vip"], ["0987654321", "Bo", ""]])
    plan = run(capsys, "--db", db, "import", str(path), "--list", "bare", "--no-header",
               "--columns", "phone,name,tag", "--tag", "all", "--json")  # fmt: skip
    assert (plan["total"], plan["succeeded"]) == (2, 2)
    contacts = run(capsys, "--db", db, "contacts", "bare", "--json")
    assert [(c["name"], sorted(c["tags"])) for c in contacts] == [
        ("An", ["all", "vip"]),
        ("Bo", ["all"]),
    ]


def test_duplicate_flags_update_and_move(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_csv(tmp_path / "a.csv", [["phone", "name", "tag"], ["0912345678", "Old", "t"]])
    run(capsys, "--db", db, "import", str(first), "--list", "a", "--json")
    second = write_csv(tmp_path / "b.csv", [["phone", "name", "tag"], ["0912345678", "New", "t"]])
    # Another list, skip: the record stays where it is.
    plan = run(capsys, "--db", db, "import", str(second), "--list", "b", "--json")
    assert (plan["succeeded"], plan["duplicates"]) == (0, 1)
    # Move it here, updating it and making it new, redistributable data.
    plan = run(capsys, "--db", db, "import", str(second), "--list", "b", "--on-duplicate",
               "update", "--move", "--clear-owner", "--reset-status", "--json")  # fmt: skip
    assert (plan["succeeded"], plan["updated"], plan["duplicates"]) == (1, 1, 0)
    assert run(capsys, "--db", db, "contacts", "a", "--json") == []
    (moved,) = run(capsys, "--db", db, "contacts", "b", "--json")
    assert (moved["phone"], moved["name"], moved["owner"]) == ("+84912345678", "New", None)


def test_plans_show_export_and_delete(
    db: str, customers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_id = run(capsys, "--db", db, "import", str(customers), "--list", "nov", "--tag", "q4",
                  "--json")["plan_id"]  # fmt: skip
    listed = run(capsys, "--db", db, "plans", "--json")
    assert [(p["plan_id"], p["list"], p["file_name"], p["state"]) for p in listed] == [
        (plan_id, "nov", "customers.csv", "done")
    ]
    shown = run(capsys, "--db", db, "plan", "show", str(plan_id))
    assert "customers.csv" in shown and "success rate:" in shown and "utf-8" in shown

    failed = tmp_path / "failed.csv"
    run(capsys, "--db", db, "plan", "export", str(plan_id), "failed", "-o", str(failed))
    with failed.open(encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header[: len(HEADER)] == HEADER and "reason" in header
    (row,) = rows
    assert row[header.index("row")] == "4"
    assert row[header.index("column")] == "Số điện thoại"
    assert row[header.index("reason")]
    assert not row[header.index("Ghi chú")].startswith("@")  # neutralised for Excel

    succeeded = tmp_path / "ok.csv"
    run(capsys, "--db", db, "plan", "export", str(plan_id), "succeeded", "-o", str(succeeded))
    with succeeded.open(encoding="utf-8-sig", newline="") as f:
        ok = list(csv.DictReader(f))
    assert [r["row"] for r in ok] == ["2", "6"]
    assert not ok[0]["Ghi chú"].startswith("=")
    duplicates = tmp_path / "dup.csv"
    run(capsys, "--db", db, "plan", "export", str(plan_id), "duplicates", "-o", str(duplicates))
    with duplicates.open(encoding="utf-8-sig", newline="") as f:
        assert [r["row"] for r in csv.DictReader(f)] == ["3"]
    original = tmp_path / "original.csv"
    run(capsys, "--db", db, "plan", "export", str(plan_id), "original", "-o", str(original))
    assert original.read_bytes() == customers.read_bytes()

    assert run(capsys, "--db", db, "plan", "delete", str(plan_id), "--json") == {
        "plan_id": plan_id,
        "deleted": True,
    }
    assert run(capsys, "--db", db, "plans", "--json") == []
    run(capsys, "--db", db, "plan", "show", str(plan_id), code=1)
    run(capsys, "--db", db, "plan", "export", str(plan_id), "original", "-o",
        str(tmp_path / "gone.csv"), code=1)  # fmt: skip
    assert len(run(capsys, "--db", db, "contacts", "nov", "--json")) == 2  # the data stays


def test_a_scheduled_plan_waits_until_run_due_finds_it_due(
    db: str, customers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    plan = run(capsys, "--db", db, "import", str(customers), "--list", "nov", "--at", later,
               "--json")  # fmt: skip
    assert (plan["state"], plan["total"]) == ("pending", 0)
    assert run(capsys, "--db", db, "plans", "run-due", "--json") == []
    assert "no plan is due" in run(capsys, "--db", db, "plans", "run-due")
    # Its time comes (the engine's clock, as a host product's scheduler sees it).
    with Reach(db, clock=lambda: datetime.now(UTC) + timedelta(hours=2)) as reach:
        (ran,) = reach.imports.run_due()
    assert (ran.id, ran.state.value, ran.counts.total) == (plan["plan_id"], "done", 4)
    # A time in the past runs now.
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    again = run(capsys, "--db", db, "import", str(customers), "--list", "nov", "--at", earlier,
                "--json")  # fmt: skip
    assert (again["state"], again["total"], again["duplicates"]) == ("done", 4, 2)


def test_plans_run_due_runs_a_due_plan(
    db: str, customers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Reach(db) as reach:
        plan = reach.imports.create_plan(
            customers,
            list_name="nov",
            options=ImportOptions(tags=("q4",)),
            run_at=datetime.now(UTC) - timedelta(minutes=1),
        )
    (ran,) = run(capsys, "--db", db, "plans", "run-due", "--json")
    assert (ran["plan_id"], ran["state"], ran["succeeded"]) == (plan.id, "done", 2)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_progress_bar_is_drawn_on_a_terminal_only(db: str, tmp_path: Path) -> None:
    import pty

    rows = [["phone", "name", "tag"]] + [[f"0912{i:06d}", f"N{i}", "t"] for i in range(2500)]
    path = write_csv(tmp_path / "big.csv", rows)
    command = [sys.executable, "-m", "massreach", "--db", db, "import", str(path), "--list", "p"]
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=follower, check=False)
        os.close(follower)
        follower = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0
    # The bar names the file row reached (the header is row 1) and the counts.
    assert b"\rrow 2501  ok 2500 failed 0 dup 0" in drawn
    assert b"\r" not in done.stdout and b"plan:" in done.stdout
    piped = subprocess.run(
        [*command[:-1], "q", "--json"], capture_output=True, check=False
    )  # stderr no terminal: no bar
    assert piped.returncode == 0 and b"\r" not in piped.stderr and piped.stderr == b""


def test_a_reader_that_goes_away_ends_the_command_quietly(db: str, tmp_path: Path) -> None:
    rows = [["phone", "name", "tag"]] + [[f"0912{i:06d}", f"N{i}", "t"] for i in range(3000)]
    path = write_csv(tmp_path / "many.csv", rows)
    assert main(["--db", db, "import", str(path), "--list", "many"]) == 0
    reader = subprocess.Popen(
        [sys.executable, "-m", "massreach", "--db", db, "contacts", "many", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # as `| head -c 10` does
    err = reader.stderr.read()
    reader.wait()
    assert reader.returncode == 141
    assert err == b""


def test_a_broken_pipe_elsewhere_is_no_reader_going_away(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A gateway's socket closing under a command is a fault to report, not a quiet end.
    def command(reach: object, args: argparse.Namespace) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert _run(argparse.Namespace(func=command, no_engine=True)) == 2
    assert "internal error: BrokenPipeError" in capsys.readouterr().err


def test_writing_to_a_pipe_whose_reader_is_gone_is_output_closed() -> None:
    reader, writer = os.pipe()
    os.close(reader)
    raw = os.fdopen(writer, "wb", buffering=0)  # unbuffered: nothing left to flush at close
    with io.TextIOWrapper(raw, encoding="utf-8", write_through=True) as stream:
        guarded = GuardedOutput(stream)
        with pytest.raises(OutputClosed):
            guarded.write("x" * 100_000)
        assert guarded.isatty() is False  # the rest is the stream's own
