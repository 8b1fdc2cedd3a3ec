"""The plugin system: built-ins as defaults, entry points, blocking, one manager per engine."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from massreach.engine import Reach
from massreach.errors import StorageError
from massreach.plugins import DEFAULT_PLUGINS, Hooks, make_plugin_manager


def _write_distribution(root: Path, *, dist: str, module: str, source: str) -> None:
    """A minimal installed distribution: a module plus a dist-info with an entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[massreach]\n{dist} = {module}\n")


PLUGIN_SOURCE = """
    from massreach import hookimpl
    from massreach.adapters.memory_storage import MemoryStorage


    class TaggedMemoryStorage(MemoryStorage):
        from_plugin = True


    class Factory:
        schemes = ("memory",)

        def open(self, url, options):
            return TaggedMemoryStorage(url)


    @hookimpl
    def massreach_register_storage(register):
        register(Factory())
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    _write_distribution(
        tmp_path, dist="massreach-tagged", module="massreach_tagged", source=PLUGIN_SOURCE
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return "massreach-tagged"


def test_entry_point_plugin_is_found_and_overrides_the_builtin(installed_plugin: str) -> None:
    with Reach("memory:", env={}) as reach:
        assert getattr(reach.storage, "from_plugin", False) is True
        assert reach.plugin_manager.get_plugin(installed_plugin) is not None


def test_disabling_the_plugin_restores_the_builtin(installed_plugin: str) -> None:
    with Reach("memory:", env={"MASSREACH_DISABLE_PLUGINS": installed_plugin}) as reach:
        assert not getattr(reach.storage, "from_plugin", False)


def test_builtins_can_be_blocked_by_name() -> None:
    env = {"MASSREACH_DISABLE_PLUGINS": "massreach.adapters.memory_storage"}
    with pytest.raises(StorageError) as info:
        Reach("memory:", env=env, autoload=False)
    assert info.value.code == "storage.unknown_scheme"


def test_each_engine_has_its_own_plugin_manager() -> None:
    with (
        Reach("memory:", autoload=False, env={}) as one,
        Reach("memory:", autoload=False, env={}) as two,
    ):
        assert one.plugin_manager is not two.plugin_manager
        one.plugin_manager.register(object(), name="only-in-one")
        assert two.plugin_manager.get_plugin("only-in-one") is None


def test_builtins_are_registered_as_plugins() -> None:
    pm = make_plugin_manager(autoload=False, env={})
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert "massreach.adapters.memory_storage" in names
    assert set(DEFAULT_PLUGINS) - names <= {"massreach.adapters.calamine_reader"}


def test_a_plugin_given_by_the_host_wins_over_builtins() -> None:
    from massreach import hookimpl

    class Marker:
        schemes = ("memory",)

        def open(self, url: str, options: object) -> object:
            from massreach.adapters.memory_storage import MemoryStorage

            storage = MemoryStorage(url)
            storage.marked = True  # type: ignore[attr-defined]
            return storage

    class HostPlugin:
        @hookimpl
        def massreach_register_storage(self, register: object) -> None:
            register(Marker())  # type: ignore[operator]

    with Reach("memory:", plugins=[HostPlugin()], autoload=False, env={}) as reach:
        assert getattr(reach.storage, "marked", False)


def test_header_aliases_from_plugins() -> None:
    from massreach import hookimpl

    class Aliases:
        @hookimpl
        def massreach_header_aliases(self, register: object) -> None:
            register("phone", ["nr kom."])  # type: ignore[operator]

    pm = make_plugin_manager(autoload=False, plugins=[Aliases()], env={})
    assert Hooks(pm).header_aliases()["phone"] == ["nr kom."]
