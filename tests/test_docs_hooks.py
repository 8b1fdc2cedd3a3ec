"""docs/plugins.md cannot drift from the code: every hook with its exact signature and
the first sentence of its docstring, no hook that does not exist, and every public name
of ``massreach.testing``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import massreach.testing
import massreach.testing.channels

ROOT = Path(__file__).resolve().parents[1]
HOOKSPECS = ROOT / "src" / "massreach" / "hookspecs.py"
PLUGINS_DOC = ROOT / "docs" / "plugins.md"


def _specs() -> list[ast.FunctionDef]:
    tree = ast.parse(HOOKSPECS.read_text(encoding="utf-8"))
    return [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("massreach_")
    ]


def _signature(spec: ast.FunctionDef) -> str:
    """``def name(params) -> ret`` exactly as written in hookspecs.py."""
    returns = ast.unparse(spec.returns) if spec.returns is not None else "None"
    return f"def {spec.name}({ast.unparse(spec.args)}) -> {returns}"


def _first_sentence(spec: ast.FunctionDef) -> str:
    """The docstring's first sentence, whitespace folded: up to the first '.', '!' or
    '?' followed by a space and a capital (or by the end)."""
    text = " ".join((ast.get_docstring(spec) or "").split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text, maxsplit=1)[0]


def _doc() -> str:
    return PLUGINS_DOC.read_text(encoding="utf-8")


def _folded(text: str) -> str:
    """Markdown with whitespace folded and blockquote markers removed."""
    lines = (re.sub(r"^\s*>\s?", "", line) for line in text.splitlines())
    return " ".join(" ".join(lines).split())


HOOKS = [spec.name for spec in _specs()]


def test_hookspecs_are_found() -> None:
    assert len(HOOKS) >= 8
    assert "massreach_register_channels" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    [spec] = [s for s in _specs() if s.name == name]
    assert _signature(spec) in _doc(), f"docs/plugins.md lacks `{_signature(spec)}`"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_quotes_the_first_sentence_of_its_docstring(name: str) -> None:
    [spec] = [s for s in _specs() if s.name == name]
    sentence = _first_sentence(spec)
    assert sentence.endswith((".", "!", "?")), sentence
    assert sentence in _folded(_doc()), f"docs/plugins.md does not quote: {sentence}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_reference_heading(name: str) -> None:
    assert re.search(rf"^#+ {name}$", _doc(), re.MULTILINE), f"no '### {name}' heading"


def test_the_docs_define_no_hook_that_does_not_exist() -> None:
    documented = set(re.findall(r"\bdef (massreach_\w+)\(", _doc()))
    assert documented, "the reference shows no hook signature"
    assert documented <= set(HOOKS), sorted(documented - set(HOOKS))


def test_the_first_sentence_rule_reads_a_sentence() -> None:
    spec = ast.parse('def f():\n    """One (``a.b``) two. Three."""\n').body[0]
    assert isinstance(spec, ast.FunctionDef)
    assert _first_sentence(spec) == "One (``a.b``) two."


@pytest.mark.parametrize("name", sorted(massreach.testing.__all__))
def test_every_public_testing_name_is_documented(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", _doc()), f"docs/plugins.md never names {name}"


@pytest.mark.parametrize("name", sorted(massreach.testing.channels.__all__))
def test_the_channel_suite_names_are_documented(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", _doc()), f"docs/plugins.md never names {name}"


def test_the_disable_switch_and_entry_point_group_are_documented() -> None:
    from massreach.markers import PROJECT_NAME
    from massreach.plugins import DISABLE_ENV

    doc = _doc()
    assert DISABLE_ENV in doc
    assert f"[project.entry-points.{PROJECT_NAME}]" in doc
