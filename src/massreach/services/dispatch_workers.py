"""Several dispatcher processes on one database (``dispatch --workers N``).

Each worker is a fresh process (``spawn``: no connection, socket or thread is
inherited) that opens its own :class:`~massreach.engine.Reach` on the same storage URL
with the parent's environment and configuration, and runs the dispatcher as worker
``<id>/<n>``. Leases and shared counters keep them from sending anything twice or
exceeding a cap; several hosts pointed at one PostgreSQL database work the same way.

``memory:`` storage lives inside one process, so it allows one worker only. Plugins
reach the workers when they are installed (entry points) or given to ``Reach`` as
importable modules; plugin *instances* given to ``Reach`` stay in the parent.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Mapping
from datetime import timedelta
from types import ModuleType
from typing import Any, Protocol

import attrs
from attrs import frozen

from massreach.config import MassreachConfig
from massreach.errors import InvalidInput, MassreachError
from massreach.plugins import DEFAULT_PLUGINS
from massreach.services.context import ServiceContext
from massreach.services.dispatch_outcomes import DispatchReport

__all__ = ["StopEvent", "WorkerSpec", "run_workers"]

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.2


class StopEvent(Protocol):
    """A ``threading.Event`` or a ``multiprocessing`` event."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@frozen
class WorkerSpec:
    """Everything a worker process needs to open the same engine (picklable)."""

    url: str
    env: Mapping[str, str]
    config: Mapping[str, Any]
    plugin_modules: tuple[str, ...]
    worker_id: str
    until_idle: bool
    batch_size: int | None
    lease: timedelta | None


def portable_config(config: MassreachConfig) -> dict[str, Any]:
    """A loaded configuration as picklable parts (its tables are read-only views)."""
    return {
        "source": config.source,
        "channel_tables": {
            kind: tuple(dict(table) for table in tables)
            for kind, tables in config.channel_tables.items()
        },
        "quota": config.quota,
        "send_window": config.send_window,
        "dispatch": config.dispatch,
        "outbox": config.outbox,
    }


def _plugin_modules(context: ServiceContext) -> tuple[str, ...]:
    """Modules registered by hand on the parent's engine (not built-in, not entry points)."""
    pm = context.hooks.pm
    from_entry_points = {id(plugin) for plugin, _ in pm.list_plugin_distinfo()}
    names = []
    for name, plugin in pm.list_name_plugin():
        if (
            isinstance(plugin, ModuleType)
            and name not in DEFAULT_PLUGINS
            and id(plugin) not in from_entry_points
        ):
            names.append(plugin.__name__)
    return tuple(names)


def run_workers(
    context: ServiceContext,
    *,
    workers: int,
    worker_id: str,
    until_idle: bool,
    batch_size: int | None,
    lease: timedelta | None,
    stop_event: StopEvent | None = None,
) -> DispatchReport:
    """Run ``workers`` dispatcher processes and add up their reports.

    With ``until_idle`` each process stops when it finds nothing due; otherwise they
    run until ``stop_event`` is set. A worker that fails raises
    :class:`MassreachError` ``dispatch.worker_failed`` after the others have stopped.
    """
    url = context.storage.url
    if url.startswith("memory:"):
        raise InvalidInput(
            "memory: storage lives inside one process, so it allows one dispatch worker; "
            "use SQLite or PostgreSQL for several",
            code="dispatch.memory_workers",
            details={"workers": workers},
        )
    mp = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[str, Any]] = mp.Queue()
    stop = mp.Event()
    base = WorkerSpec(
        url=url,
        env=dict(context.env),
        config=portable_config(context.config),
        plugin_modules=_plugin_modules(context),
        worker_id=worker_id,
        until_idle=until_idle,
        batch_size=batch_size,
        lease=lease,
    )
    processes = []
    for number in range(1, workers + 1):
        spec = attrs.evolve(base, worker_id=f"{worker_id}/{number}")
        process = mp.Process(
            target=worker_main, args=(spec, results, stop), name=f"massreach-dispatch-{number}"
        )
        process.start()
        processes.append(process)
    watcher = None
    if stop_event is not None:
        watcher = threading.Thread(target=_relay, args=(stop_event, stop, processes), daemon=True)
        watcher.start()
    report: DispatchReport | None = None
    errors: list[str] = []
    answered = 0
    while answered < workers:
        try:
            kind, payload = results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not any(p.is_alive() for p in processes) and results.empty():
                break
            continue
        answered += 1
        if kind == "report":
            report = payload if report is None else report.merged(payload)
        else:
            errors.append(str(payload))
            stop.set()
    for process in processes:
        process.join()
    stop.set()
    missing = workers - answered
    if missing:
        codes = [p.exitcode for p in processes]
        errors.append(f"{missing} worker(s) ended without a report (exit codes {codes})")
    if errors:
        raise MassreachError(
            "dispatch worker failed: " + "; ".join(errors),
            code="dispatch.worker_failed",
            details={"errors": errors},
        )
    assert report is not None
    return report


def _relay(stop_event: StopEvent, stop: Any, processes: list[Any]) -> None:
    """Pass the caller's stop event on to the workers."""
    while any(p.is_alive() for p in processes):
        if stop_event.wait(_POLL_SECONDS):
            stop.set()
            return


def worker_main(spec: WorkerSpec, results: Any, stop: Any) -> None:
    """The body of one worker process: open the engine, dispatch, report.

    Ctrl-C reaches every process of the terminal's group; a worker ignores it and
    stops when the parent sets ``stop`` (after the batch in hand).
    """
    import importlib
    import signal

    from massreach.engine import Reach

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        plugins = [importlib.import_module(name) for name in spec.plugin_modules]
        config = MassreachConfig(**spec.config)
        with Reach(spec.url, env=spec.env, config=config, plugins=plugins) as reach:
            report = reach.dispatch.run(
                until_idle=spec.until_idle,
                worker_id=spec.worker_id,
                batch_size=spec.batch_size,
                lease=spec.lease,
                stop_event=stop,
            )
        results.put(("report", report))
    except BaseException as exc:  # the parent must hear about every failure
        _log.exception("dispatch worker %s failed", spec.worker_id)
        code = exc.code if isinstance(exc, MassreachError) else type(exc).__name__
        results.put(("error", f"{spec.worker_id}: {exc} [{code}]"))
