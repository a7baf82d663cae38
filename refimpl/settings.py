"""Runtime settings, named as in Lona (spec R1-R3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import import_module
from typing import Any

__all__ = ["Settings", "resolve_class", "resolve_worker_class"]


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

    def __post_init__(self) -> None:
        for name in (
            "MAX_CHANNEL_MESSAGE_BROKER_THREADS",
            "MAX_CHANNEL_TASK_WORKER_THREADS",
            "CHANNEL_TASK_BATCH",
            "CHANNEL_ROUTE_BATCH",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, not {value!r}")
        timeout = self.CHANNEL_WORKER_TIMEOUT
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
            raise ValueError(f"CHANNEL_WORKER_TIMEOUT must be a number > 0, not {timeout!r}")
        for name in ("CHANNEL_MESSAGE_BROKER_CLASS", "CHANNEL_TASK_WORKER_CLASS"):
            value = getattr(self, name)
            if not isinstance(value, (str, type)):
                raise TypeError(f"{name} must be a dotted path or a class, not {value!r}")

    @classmethod
    def from_any(cls, settings: object) -> Settings:
        """Settings from ``None``, a ``Settings``, a mapping, or an object with the attributes."""
        if settings is None:
            return cls()
        if isinstance(settings, Settings):
            return settings
        names = {f.name for f in fields(cls)}
        if isinstance(settings, Mapping):
            unknown = sorted(str(k) for k in settings if k not in names)
            if unknown:
                raise TypeError(f"unknown channel settings: {', '.join(unknown)}")
            return cls(**dict(settings))
        return cls(**{n: getattr(settings, n) for n in names if hasattr(settings, n)})


def resolve_class(spec: str | type, setting: str) -> type:
    """Import ``'package.module.Class'`` (or pass a class through)."""
    if isinstance(spec, type):
        return spec
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"{setting}: {spec!r} is not a dotted path")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{setting}: cannot import {module_name!r}: {exc}") from exc
    found: Any = getattr(module, attr, None)
    if not isinstance(found, type):
        raise ValueError(f"{setting}: {spec!r} does not name a class")
    return found


def resolve_worker_class(spec: str | type, setting: str) -> type:
    """``resolve_class``, and the class must derive from ``refimpl.Worker`` (TypeError if not)."""
    from refimpl.worker import Worker

    found = resolve_class(spec, setting)
    if not issubclass(found, Worker):
        raise TypeError(f"{setting}: {found!r} is not a subclass of refimpl.Worker")
    return found
