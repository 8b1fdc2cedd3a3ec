"""``massreach dispatch``, ``opt-out``, ``report`` and ``messages`` in the shell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.dispatch.support import make_campaign, viettel, vinaphone

from massreach.cli.main import main
from massreach.engine import Reach


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite database with a sending care campaign of 3, and a config file
    sending to a file outbox."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cfg = tmp_path / "massreach.toml"
    cfg.write_text('[outbox]\nfolder = "out"\n\n[dispatch]\nbatch_size = 2\n', encoding="utf-8")
    with Reach(url) as reach:
        make_campaign(reach, "care", [viettel(1), viettel(2), vinaphone(3)])
    return url, cfg


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dispatch_json_counts_by_final_state(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, cfg = setup
    code, out, _ = run(capsys, "--db", url, "opt-out", "add", "096 000 0002")
    assert code == 0 and "+84960000002: added to the opt-out list" in out
    code, out, _ = run(
        capsys, "--db", url, "dispatch", "--config", str(cfg), "--until-idle", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["states"] == {"failed": 1, "sent": 2}
    assert data["completed"] == ["care"]
    assert data["batches"] == 2
    assert (
        len(
            (cfg.parent / "out").read_text()
            if False
            else list((cfg.parent / "out").glob("*.jsonl"))
        )
        == 1
    )
    code, out, _ = run(capsys, "--db", url, "messages", "care", "--state", "failed", "--json")
    [failed] = json.loads(out)
    assert failed["target"] == "+849****0002"
    assert failed["reason"].startswith("opt_out")
    code, out, _ = run(capsys, "--db", url, "messages", "care")
    assert "+849****0001" in out and "sent" in out


def test_global_config_and_human_output(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, cfg = setup
    code, out, _ = run(capsys, "--db", url, "--config", str(cfg), "dispatch", "--until-idle")
    assert code == 0
    assert "3 sent" in out and "completed: care" in out


def test_report_file_applies_known_and_lists_the_rest(
    setup: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, cfg = setup
    run(capsys, "--db", url, "--config", str(cfg), "dispatch", "--until-idle")
    reports = tmp_path / "reports.jsonl"
    reports.write_text(
        '{"client_id": "mr-1-1", "status": "delivered", "at": "2026-11-05T08:00:00"}\n'
        "\n"
        '{"provider_id": "nobody-knows", "status": "failed", "reason": "gone"}\n'
        '{"client_id": "mr-1-2", "status": "lost"}\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "--db", url, "report", str(reports), "--json")
    assert code == 1  # a bad line
    data = json.loads(out)
    assert (data["read"], data["matched"], data["unmatched"]) == (3, 1, 1)
    assert data["unknown_ids"] == ["nobody-knows"]
    assert data["errors"][0]["line"] == 4
    code, out, _ = run(capsys, "--db", url, "messages", "care", "--state", "delivered", "--json")
    assert [m["client_id"] for m in json.loads(out)] == ["mr-1-1"]


def test_errors_are_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--db", "memory:", "dispatch", "--until-idle", "--workers", "2")
    assert code == 1 and "dispatch.memory_workers" in err
    code, _, err = run(capsys, "--db", "memory:", "opt-out", "add", "hello")
    assert code == 1 and "opt_out.invalid_target" in err
    code, _, err = run(capsys, "--db", "memory:", "report", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "report.unreadable" in err
    code, _, err = run(capsys, "--db", "memory:", "messages", "nope")
    assert code == 1 and "campaign.not_found" in err
    code, _, err = run(capsys, "--db", "memory:", "messages", "nope", "--unmask", "--role", "agent")
    assert code == 1 and "permission" in err


@pytest.mark.slow
def test_two_worker_processes_from_the_shell(setup: tuple[str, Path], tmp_path: Path) -> None:
    url, cfg = setup
    with Reach(url) as reach:
        make_campaign(reach, "more", [vinaphone(n) for n in range(100, 160)])
    command = [sys.executable, "-m", "massreach.cli.main", "--db", url, "--config", str(cfg)]
    done = subprocess.run(
        [*command, "dispatch", "--until-idle", "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["workers"] == 2
    assert data["states"] == {"sent": 63}
    lines = [
        json.loads(line)
        for path in (tmp_path / "out").glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) == 63 and len({line["client_id"] for line in lines}) == 63


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_worker_runs_until_sigterm(setup: tuple[str, Path], tmp_path: Path, workers: str) -> None:
    """Without --until-idle the dispatcher keeps working (it sends what is sent later
    too) and stops cleanly on SIGTERM with its report."""
    url, cfg = setup
    command = [sys.executable, "-m", "massreach.cli.main", "--db", url, "--config", str(cfg)]
    worker = subprocess.Popen(
        [*command, "dispatch", "--workers", workers, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outbox = tmp_path / "out"

    def lines() -> int:
        return sum(len(p.read_text().splitlines()) for p in outbox.glob("*.jsonl"))

    try:
        deadline = time.monotonic() + 60
        while lines() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        with Reach(url) as reach:  # a campaign sent while the worker runs
            make_campaign(reach, "later", [vinaphone(n) for n in range(200, 205)])
        while lines() < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert lines() == 8
    data = json.loads(out)
    assert data["workers"] == int(workers)
    assert data["states"] == {"sent": 8}
