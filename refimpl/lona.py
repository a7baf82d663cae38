"""Run a Lona application on refimpl's channels: ``refimpl.lona.install()``.

One call, before the application imports anything from Lona::

    import refimpl.lona; refimpl.lona.install()

(or run a script unchanged with ``python -m refimpl.lona script.py [args]``). From then on:

* ``lona.Channel`` and the names Lona's own modules use (``lona.channels.Channel``,
  ``Message``, ``Task``, ``Worker``, ``MessageBroker``, ``TaskWorker``; ``lona.view.Channel``,
  so ``View.subscribe`` keeps its 500 page and its unsubscribes; ``lona.pytest.Channel``,
  whose ``_clear_state()`` Lona's pytest plugin calls after each test) are refimpl's.
* Each Lona server gets its own ``Runtime``, sized by the app's settings
  (``MAX_CHANNEL_MESSAGE_BROKER_THREADS``, ``MAX_CHANNEL_TASK_WORKER_THREADS``,
  ``CHANNEL_WORKER_TIMEOUT``, the two worker classes), made when the server starts and
  made the default runtime, so bare ``Channel(...)`` calls anywhere in the app use it.
  Lona's server builds the workers as always (``MessageBroker(server=, executor=,
  timeout=)``) and they run on its ``channel_worker`` pool.
* When the server stops, its views stop and run their cleanup, and the middlewares'
  ``on_shutdown`` runs, on a runtime that still runs (their sends and unsubscribes
  work; Lona's ``worker.shutdown()`` calls only mark the workers); then the runtime
  shuts down gracefully: every non-droppable message is delivered before the
  threads end (spec S1, S2), and only then does Lona join its thread pools.

Lona must be importable (``pip install 'chanspec[lona]'``). ``uninstall()`` puts Lona's own
classes back; ``installed()`` is the same pair as a context manager.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import refimpl
from refimpl import runtime as _runtime
from refimpl.runtime import Runtime, set_default_runtime
from refimpl.settings import Settings

__all__ = ["LONA_NAMES", "install", "installed", "is_installed", "server_settings", "uninstall"]

#: module -> the names rebound there to refimpl's classes of the same name
LONA_NAMES: dict[str, tuple[str, ...]] = {
    "lona": ("Channel",),
    "lona.channels": ("Channel", "Message", "Task", "Worker", "MessageBroker", "TaskWorker"),
    "lona.view": ("Channel",),
    "lona.pytest": ("Channel",),
}

# (module, name) -> Lona's original, while installed
_saved: dict[tuple[str, str], Any] = {}
_server_saved: dict[str, Callable[..., Any]] = {}


def is_installed() -> bool:
    return bool(_saved)


def install() -> None:
    """Make Lona use refimpl's channels (idempotent)."""
    if _saved:
        return
    for module_name, names in LONA_NAMES.items():
        module = importlib.import_module(module_name)
        for name in names:
            _saved[module_name, name] = getattr(module, name)
            setattr(module, name, getattr(refimpl, name))
    from lona.server import Server

    for name, wrap in (("__init__", _wrap_init), ("_start", _wrap_start)):
        original = getattr(Server, name)
        _server_saved[name] = original
        setattr(Server, name, wrap(original))


def uninstall() -> None:
    """Put Lona's own classes and server methods back (idempotent)."""
    for (module_name, name), original in _saved.items():
        setattr(importlib.import_module(module_name), name, original)
    _saved.clear()
    if _server_saved:
        from lona.server import Server

        for name, original in _server_saved.items():
            setattr(Server, name, original)
        _server_saved.clear()


@contextmanager
def installed() -> Iterator[None]:
    """``install()`` for the duration of a ``with`` block (if it was not installed already)."""
    was = is_installed()
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()


def server_settings(lona_settings: Any) -> Settings:
    """The channel settings of a Lona server's settings (missing ones take the defaults)."""
    # Lona's Settings raises KeyError, not AttributeError, for a missing name: use get().
    values = {}
    for name in Settings.__dataclass_fields__:
        value = lona_settings.get(name)
        if value is not None:
            values[name] = value
    return Settings.from_any(values)


def _wrap_init(original: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(original)
    def __init__(server: Any, *args: Any, **kwargs: Any) -> None:
        original(server, *args, **kwargs)
        # Last of the server's own shutdown steps (after the views' cleanup and the
        # middlewares' on_shutdown), before anyone joins the channel_worker pool.
        server._app.on_shutdown.append(_drain)

    return __init__


def _wrap_start(original: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(original)
    async def _start(server: Any, *args: Any, **kwargs: Any) -> Any:
        runtime = Runtime(server_settings(server.settings))
        server.channel_runtime = runtime  # the workers Lona's _start builds join it
        set_default_runtime(runtime)
        return await original(server, *args, **kwargs)

    return _start


async def _drain(app: Any) -> None:
    """Shut the server's runtime down gracefully, off the event loop (handlers may
    need the loop to show their views while the runtime drains)."""
    server = app["lona_server"]
    runtime: Runtime | None = getattr(server, "channel_runtime", None)
    if runtime is None:  # the server never started
        return
    await server.loop.run_in_executor(None, runtime.shutdown)
    with _runtime._default_lock:  # the next bare Channel() gets a fresh default runtime
        if _runtime._default is runtime:
            _runtime._default = None


def main(argv: list[str] | None = None) -> int:
    """``python -m refimpl.lona SCRIPT [ARGS...]``: run a Lona script on refimpl's channels."""
    import os
    import runpy
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print("usage: python -m refimpl.lona SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    if not os.path.isfile(args[0]):
        why = "is a directory, not a script" if os.path.isdir(args[0]) else "no such script"
        print(f"refimpl.lona: {args[0]}: {why}", file=sys.stderr)
        return 2
    # the imported module, not this __main__ copy, holds what install() saved
    importlib.import_module("refimpl.lona").install()
    sys.argv = list(args)
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
