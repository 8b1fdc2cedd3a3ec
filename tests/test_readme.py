"""The README's example runs as written (on a customer file the test makes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a Python example"
    (tmp_path / "customers.csv").write_text(
        "Số điện thoại,Họ tên,Email\n0912345678,An,an@example.vn\n12,Bad,\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MASSREACH_DB", raising=False)
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "done 2 1 1" in out.replace("PlanState.", "")
    assert "phone.invalid" in out


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert '.venv/bin/pip install -e ".[test]" && .venv/bin/massreach demo' in text
    assert ".venv/bin/python -m pytest" in text
    assert ".venv/bin/python -m pytest" in (README.parent / ".ci" / "run").read_text(
        encoding="utf-8"
    )
