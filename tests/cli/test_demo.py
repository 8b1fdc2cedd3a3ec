"""``massreach demo`` runs the whole job on samples and its counts are right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from massreach.cli.main import main


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # every step is a copyable command
    assert out.count("$ massreach --db sqlite:///") >= 20
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["--db", db, "plan", "show", "1", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["total"], plan["succeeded"], plan["failed"], plan["duplicates"]) == (43, 36, 4, 3)
    assert main(["--db", db, "plan", "show", "2", "--json"]) == 0
    emails = json.loads(capsys.readouterr().out)
    assert (emails["total"], emails["succeeded"], emails["failed"], emails["duplicates"]) == (
        16,
        14,
        1,
        1,
    )
    assert main(["--db", db, "task-stats", "Khách hàng tháng 11", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["assigned"] == 36 and sorted(a["assigned"] for a in stats["agents"].values()) == [
        12,
        12,
        12,
    ]
    sms = list((tmp_path / "outbox").glob("sms-*.jsonl"))
    mail = list((tmp_path / "outbox").glob("email-*.jsonl"))
    assert sum(len(p.read_text(encoding="utf-8").splitlines()) for p in sms) == 36
    assert sum(len(p.read_text(encoding="utf-8").splitlines()) for p in mail) == 14
    assert len((tmp_path / "loi.csv").read_text(encoding="utf-8-sig").splitlines()) == 5


def test_demo_can_run_twice_in_one_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
