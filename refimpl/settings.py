"""Runtime settings, named as in Lona (spec R1-R3)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from importlib import import_module
from numbers import Number
from typing import Any

from refimpl.topics import plain_str

__all__ = ["MAX_THREADS", "Settings", "resolve_class", "resolve_worker_class", "seconds"]

#: the most threads of one role a runtime may be given: each is an OS thread, started by
#: ``start()``; a mistyped 10**9 must fail at ``Runtime()``, not exhaust memory (R1)
MAX_THREADS = 10_000


@dataclass(frozen=True)
class Settings:
    """The five channel settings of Lona, with Lona's defaults.

    A runtime uses ``MAX_CHANNEL_MESSAGE_BROKER_THREADS + MAX_CHANNEL_TASK_WORKER_THREADS``
    threads, all from its ``channel_worker`` pool (spec R2).
    """

    MAX_CHANNEL_MESSAGE_BROKER_THREADS: int = 1
    MAX_CHANNEL_TASK_WORKER_THREADS: int = 4
    CHANNEL_MESSAGE_BROKER_CLASS: str | type = "refimpl.MessageBroker"
    CHANNEL_TASK_WORKER_CLASS: str | type = "refimpl.TaskWorker"
    CHANNEL_WORKER_TIMEOUT: float = 1.0
    #: chanspec's own: deliveries of one subscription a task worker runs before it puts the
    #: subscription back at the end of the ready queue (O4); 1 is strict round-robin
    CHANNEL_TASK_BATCH: int = 128
    #: chanspec's own: messages a broker routes before it commits them to the mailboxes
    #: together (it always commits before it would wait for a message; O2 order holds)
    CHANNEL_ROUTE_BATCH: int = 128
    #: chanspec's own: seconds the default runtime may spend at interpreter exit draining
    #: what is still pending, as ``shutdown()`` would (R7); what is left then is reported
    CHANNEL_EXIT_TIMEOUT: float = 30.0
    #: chanspec's own, for ``refimpl.redis_broker.RedisMessageBroker`` (spec P1-P8): the
    #: server, the stream all processes of one app share, and the seconds the broker
    #: retries an unreachable server before it reports a message dropped (P8)
    CHANNEL_REDIS_URL: str = "redis://127.0.0.1:6379/0"
    CHANNEL_REDIS_STREAM: str = "chanspec:channels"
    CHANNEL_REDIS_RETRY_TIMEOUT: float = 5.0

    def __post_init__(self) -> None:
        # Every value is stored as a plain int, float or str: a subclass with lying
        # comparisons must not reach the worker threads (V2).
        for name, high in (
            ("MAX_CHANNEL_MESSAGE_BROKER_THREADS", MAX_THREADS),
            ("MAX_CHANNEL_TASK_WORKER_THREADS", MAX_THREADS),
            ("CHANNEL_TASK_BATCH", None),
            ("CHANNEL_ROUTE_BATCH", None),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or int.__int__(value) < 1:
                raise ValueError(f"{name} must be an int >= 1, not {_show(value)}")
            if high is not None and int.__int__(value) > high:
                # start() would build that many workers and threads before failing (R1)
                raise ValueError(f"{name} must be at most {high:,} threads, not {_show(value)}")
            object.__setattr__(self, name, int.__int__(value))
        for name, low in (
            ("CHANNEL_WORKER_TIMEOUT", "> 0"),
            ("CHANNEL_EXIT_TIMEOUT", ">= 0"),
            ("CHANNEL_REDIS_RETRY_TIMEOUT", ">= 0"),
        ):
            object.__setattr__(self, name, seconds(name, getattr(self, name), low))
        for name in ("CHANNEL_REDIS_URL", "CHANNEL_REDIS_STREAM"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name} must be a non-empty str, not {_show(value)}")
            object.__setattr__(self, name, plain_str(value))
        for name in ("CHANNEL_MESSAGE_BROKER_CLASS", "CHANNEL_TASK_WORKER_CLASS"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, plain_str(value))
            elif not isinstance(value, type):
                raise TypeError(f"{name} must be a dotted path or a class, not {_show(value)}")

    @classmethod
    def from_any(cls, settings: object) -> Settings:
        """Settings from ``None``, a ``Settings``, a mapping, or an object with the attributes."""
        if settings is None:
            return cls()
        if isinstance(settings, Settings):
            return settings
        names = {f.name for f in fields(cls)}
        if isinstance(settings, Mapping):
            unknown = sorted(_show(k) for k in settings if type(k) is not str or k not in names)
            if unknown:
                raise TypeError(f"unknown channel settings: {', '.join(unknown)}")
            return cls(**dict(settings))
        if isinstance(settings, (Number, Collection)):
            # "abc", [1, 2] or 5 has no settings attributes; reading it as "all defaults"
            # would hide the mistake (R1).
            raise TypeError(
                "settings must be None, a Settings, a mapping or an object with the settings "
                f"as attributes (such as a module), not {type(settings).__name__}"
            )
        return cls(**{n: getattr(settings, n) for n in names if hasattr(settings, n)})


def _show(value: object) -> str:
    from refimpl._safe import short_repr

    return short_repr(value)


def seconds(name: str, value: object, low: str) -> float:
    """*value* as plain float seconds: finite, within ``threading.TIMEOUT_MAX``, and *low*.

    Above ``TIMEOUT_MAX`` every blocking ``get`` of a worker would raise
    ``OverflowError`` (R1); ``inf`` and ``nan`` are not a number of seconds.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    number = 0.0
    if ok:
        plain = int.__int__(value) if isinstance(value, int) else float.__float__(value)  # type: ignore[arg-type]
        ok = (plain > 0 if low == "> 0" else plain >= 0) and plain <= threading.TIMEOUT_MAX
        number = float(plain) if ok else 0.0
    if not ok:
        raise ValueError(
            f"{name} must be a number of seconds {low} and <= threading.TIMEOUT_MAX "
            f"({threading.TIMEOUT_MAX:g}), not {_show(value)}"
        )
    return number


def resolve_class(spec: str | type, setting: str) -> type:
    """Import ``'package.module.Class'`` (or pass a class through)."""
    if isinstance(spec, type):
        return spec
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not all(part.isidentifier() for part in spec.split(".")):
        raise ValueError(f"{setting}: {_show(spec)} is not a dotted path (package.module.Class)")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{setting}: cannot import {_show(module_name)}: {exc}") from exc
    found: Any = getattr(module, attr, None)
    if not isinstance(found, type):
        raise ValueError(f"{setting}: {_show(spec)} does not name a class")
    return found


def resolve_worker_class(spec: str | type, setting: str) -> type:
    """``resolve_class``, checked for the role *setting* gives it (spec R4; TypeError if not).

    The role comes from the setting, not from the class: a class derived straight from
    ``refimpl.Worker``, as in the seed's listing ``class TaskWorker(Worker)``, serves the
    role of the setting that names it. A class derived from the *other* role's class, or
    one without its own ``run()``, can only hang the runtime, so it is refused here.
    """
    from refimpl.worker import MessageBroker, TaskWorker, Worker

    found = resolve_class(spec, setting)
    broker = setting == "CHANNEL_MESSAGE_BROKER_CLASS"
    own, other = (MessageBroker, TaskWorker) if broker else (TaskWorker, MessageBroker)
    what = f"derive it from refimpl.{own.__name__} (or from refimpl.Worker, with a run())"
    if not issubclass(found, Worker):
        raise TypeError(f"{setting}: {found.__qualname__} is not a worker class; {what}")
    if issubclass(found, other):
        raise TypeError(
            f"{setting}: {found.__qualname__} is a refimpl.{other.__name__}, the other role; {what}"
        )
    if found.run is Worker.run:
        raise TypeError(f"{setting}: {found.__qualname__} does not define run(); {what}")
    return found
