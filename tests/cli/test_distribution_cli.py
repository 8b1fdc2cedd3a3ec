"""The distribution commands: agents, distribute, assign, mark, task-stats, --unmask."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from massreach.cli.main import main


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    source = tmp_path / "task.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["SĐT", "Họ tên", "Nhãn"])
        for i in range(10):
            w.writerow([f"09120000{i:02d}", f"Khách {i}", "vip" if i % 2 else "new"])
    assert main(["--db", url, "import", str(source), "--list", "task", "--kind", "calling"]) == 0
    for agent in ("6001", "6002", "6003"):
        assert main(["--db", url, "agents", "add", agent, "--weight", "1"]) == 0
    return url


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_distribute_even_and_stats(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    agents = run_json(capsys, "--db", db, "agents")
    assert [a["id"] for a in agents] == ["6001", "6002", "6003"]  # type: ignore[index]
    result = run_json(
        capsys, "--db", db, "distribute", "task", "--even", "--agents", "6001,6002,6003"
    )
    assert result["agents"] == {"6001": 4, "6002": 3, "6003": 3}  # type: ignore[index]
    stats = run_json(capsys, "--db", db, "task-stats", "task")
    assert (stats["total"], stats["assigned"], stats["unassigned"]) == (10, 10, 0)  # type: ignore[index]


def test_counts_too_many_is_a_clear_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", db, "distribute", "task", "--counts", "6001=8,6002=8"]) == 1
    err = capsys.readouterr().err
    assert "distribution.not_enough_records" in err and "Traceback" not in err
    result = run_json(
        capsys, "--db", db, "distribute", "task", "--counts", "6001=8,6002=8", "--partial"
    )
    assert result["agents"] == {"6001": 8, "6002": 2}  # type: ignore[index]


def test_assign_mark_and_reclaim(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(
        capsys, "--db", db, "assign", "task", "--agent", "6002", "--tag", "vip", "--limit", "3"
    )
    assert result["assigned"] == 3  # type: ignore[index]
    contacts = run_json(capsys, "--db", db, "contacts", "task")
    first_vip = next(c for c in contacts if "vip" in c["tags"])  # type: ignore[union-attr]
    run_json(capsys, "--db", db, "mark", str(first_vip["id"]), "succeeded")
    again = run_json(
        capsys,
        "--db",
        db,
        "distribute",
        "task",
        "--even",
        "--agents",
        "6001",
        "--scope",
        "unprocessed",
    )
    assert again["assigned"] == 9  # type: ignore[index]
    stats = run_json(capsys, "--db", db, "task-stats", "task")
    assert stats["completed"] == 1 and stats["agents"]["6002"] == {
        "assigned": 1,
        "worked": 1,
        "remaining": 0,
    }  # type: ignore[index]


def test_scheduled_distribution(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    plan = run_json(
        capsys, "--db", db, "distribute", "task", "--even", "--at", "2099-01-01T08:00+07:00"
    )
    assert plan["state"] == "pending"  # type: ignore[index]
    assert run_json(capsys, "--db", db, "distributions", "run-due") == []


def test_phones_are_masked_unless_an_admin_unmasks(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--db", db, "contacts", "task"]) == 0
    table = capsys.readouterr().out
    assert "+84912000001" not in table and "****" in table
    assert main(["--db", db, "contacts", "task", "--unmask", "--role", "supervisor"]) == 1
    assert "permission.denied" in capsys.readouterr().err
    assert main(["--db", db, "contacts", "task", "--unmask", "--role", "admin"]) == 0
    assert "+84912000001" in capsys.readouterr().out
