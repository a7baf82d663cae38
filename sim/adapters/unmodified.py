"""Adapter protocol version 2: an unmodified implementation, run under the scheduler.

A version-2 adapter names the modules to load (``modules``) and maps the channel API; it
never sees a platform. ``Unmodified(adapter)`` wraps it into a version-1 adapter for the
driver: in simulation it activates the virtual world on the execution's scheduler
(``sim.interpose.begin``) and loads private copies of ``modules`` over the virtual standard
library; on real threads it loads private copies over the real one. Either way every
session gets fresh module state, so sessions never share class-level globals.

The version-2 methods (``system`` is whatever ``open`` returned; see
``specs/adapter-protocol.md`` for the contract and a worked example):

=======================================================  =====================================
``name``, ``modules``                                     attributes; also ``protocol = 2``
``open(mods, settings, report) -> system``                build it; ``mods["pkg.mod"]``
``start(system)``                                         optional: start its threads
``channel(system, topic) -> handle``                      a new, unsubscribed channel object
``subscribe(system, handle, handler)``                    ``handler(topic, data)`` per delivery
``unsubscribe(system, handle)``
``send(system, handle, data, expiry, local, droppable)``  returns the seq (int/str) or None
``shutdown(system)``
``settle(system)``                                        optional, real threads: wait for idle
``close(system)``                                         optional: release what ``open`` took
=======================================================  =====================================

In simulation the wrapper adds one scheduling point before every delivery (as a real
thread may be preempted between taking a delivery and the handler's first line), logged
with the implementation's line that calls the handler.
"""

from __future__ import annotations

import threading
import time
import warnings
import weakref
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from refimpl._seam import Platform
from sim import interpose
from sim.adapters.base import FEATURES, Handler, Report
from sim.interpose.vthread import serial

__all__ = ["REQUIRED", "Unmodified", "is_v2"]

__chanspec_virtual__ = True  # a delivery point is logged at the implementation's line

REQUIRED = ("name", "modules", "open", "channel", "subscribe", "unsubscribe", "send", "shutdown")
_QUIET_PERIOD = 0.2  #: real seconds without a delivery before the default settle returns
_SETTLE_LIMIT = 10.0


_live: weakref.WeakSet[_Session] = weakref.WeakSet()  # real-thread sessions not yet closed
_hooked: list[bool] = []


def _close_live() -> None:
    """At interpreter exit, before ``concurrent.futures`` joins its threads: ``close`` live
    real-thread sessions (an implementation's endless worker loops would hang the exit)."""
    for session in list(_live):
        session.close()


def _thread_failed(platform: Any, name: str, error: BaseException) -> None:
    """A thread of the implementation died of *error*: tell the driver, as a thread started
    through the platform would (its ``fault`` event: V2, or H1 if a handler raised it)."""
    on_end = getattr(platform, "on_end", None)
    if on_end is not None:
        on_end(name, error)


def _checked_report(report: Report) -> Report:
    """*report* for an adapter that may pass the dropped ``Message`` itself instead of its
    data dict (an easy slip): its ``data`` dict is used. Anything else that is no dict
    cannot be matched to a message: said once on stderr, since every such drop would then
    be judged a silent loss (D2) of a correct implementation."""

    def checked(kind: str, data: Any, channel: Any, detail: str) -> None:
        if kind in ("drop", "route") and data is not None and not isinstance(data, dict):
            inner = getattr(data, "data", None)
            if isinstance(inner, dict):
                data = inner
            else:
                warnings.warn(
                    f"adapter report({kind!r}, data, ...): data is a {type(data).__name__}, "
                    "not the message's data dict: this report is ignored",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return
        report(kind, data, channel, detail)

    return checked


def _seq_text(seq: object) -> str:
    """``send()``'s position in the send order as text; anything but an int or a str (a
    ``Message`` returned whole, say) is no position: said once, and O1 goes unchecked
    rather than a repr (with a memory address) entering the history."""
    if seq is None:
        return ""
    if isinstance(seq, int | str) and not isinstance(seq, bool):
        return str(seq)
    warnings.warn(
        f"adapter send() returned a {type(seq).__name__}, not an int, a str or None "
        "(the message's position in the send order): O1 is not checked",
        RuntimeWarning,
        stacklevel=2,
    )
    return ""


def is_v2(adapter: object) -> bool:
    return getattr(adapter, "protocol", 1) == 2


class _Delivery:
    """The handler given to the implementation: a point, then the driver's handler."""

    __slots__ = ("_hash", "calls", "handler", "running", "sim")

    def __init__(self, handler: Handler, sim: bool) -> None:
        self.handler = handler
        self.sim = sim
        self.calls = 0
        self.running = 0
        self._hash = serial()

    def __hash__(self) -> int:  # sets of handlers iterate in an order free of addresses
        return self._hash

    def __call__(self, topic: str, data: dict[str, Any]) -> None:
        self.calls += 1
        self.running += 1
        try:
            if self.sim:
                interpose.point("deliver")
            self.handler(topic, data)
        finally:
            self.running -= 1


class _Session:
    def __init__(self, adapter: Any, system: Any, sim: bool) -> None:
        #: scenario-format-2 operations passed on unchanged (``sim.adapters.base.FEATURES``);
        #: the handler is always wrapped, so a bad one cannot be expressed
        self.features = frozenset(getattr(adapter, "features", FEATURES - {"bad-handler"}))
        self.adapter = adapter
        self.system = system
        self.sim = sim
        self.deliveries: list[_Delivery] = []
        self._closed = False

    def start(self) -> None:
        start = getattr(self.adapter, "start", None)
        if start is not None:
            start(self.system)

    def channel(self, topic: str) -> Any:
        return self.adapter.channel(self.system, topic)

    def subscribe(self, channel: Any, handler: Handler) -> None:
        delivery = _Delivery(handler, self.sim)
        self.deliveries.append(delivery)
        self.adapter.subscribe(self.system, channel, delivery)

    def unsubscribe(self, channel: Any) -> None:
        self.adapter.unsubscribe(self.system, channel)

    def send(
        self,
        channel: Any,
        data: dict[str, Any],
        expiry: timedelta | None,
        local: bool,
        droppable: bool,
    ) -> str:
        return _seq_text(self.adapter.send(self.system, channel, data, expiry, local, droppable))

    def settle(self) -> None:
        settle = getattr(self.adapter, "settle", None)
        if settle is not None:
            settle(self.system)
            return
        # No settle in the adapter: wait until no delivery happened for a quiet period.
        deadline = time.monotonic() + _SETTLE_LIMIT
        last = -1
        while time.monotonic() < deadline:
            now = sum(d.calls for d in self.deliveries)
            if now == last and not any(d.running for d in self.deliveries):
                return
            last = now
            time.sleep(_QUIET_PERIOD)

    def shutdown(self) -> None:
        self.adapter.shutdown(self.system)
        if not self.sim:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _live.discard(self)
        close: Callable[[Any], None] | None = getattr(self.adapter, "close", None)
        if close is not None:
            close(self.system)


class Unmodified:
    """A version-2 adapter presented as a version-1 one (``sim.adapters.base.Adapter``)."""

    def __init__(self, adapter: Any) -> None:
        missing = [name for name in REQUIRED if not hasattr(adapter, name)]
        if missing:
            raise TypeError(
                f"{type(adapter).__name__} declares adapter protocol 2 but lacks "
                f"{', '.join(missing)} (see specs/adapter-protocol.md)"
            )
        if isinstance(adapter.modules, str) or not adapter.modules:
            raise TypeError("an adapter's 'modules' must be a non-empty list of module names")
        self.adapter = adapter
        self.name: str = adapter.name
        #: modules whose lines are scheduling points by default (``sim.lines``), if it opts in
        self.preempt_lines: tuple[str, ...] = tuple(getattr(adapter, "preempt_lines", ()))

    def open(self, settings: dict[str, Any], platform: Platform | None, report: Report) -> Any:
        sched = getattr(platform, "sched", None)
        if platform is not None and sched is None:
            raise TypeError("an unmodified implementation runs on a SimPlatform or real threads")
        holder: list[_Session] = []

        def close() -> None:
            for session in holder:
                session.close()

        if sched is not None:
            interpose.begin(sched, on_end=[close])
            interpose.on_thread_error(partial(_thread_failed, platform))
            mods = interpose.private(self.adapter.modules)
        else:
            mods = interpose.real_private(self.adapter.modules)
        system = self.adapter.open(mods, settings, _checked_report(report))
        holder.append(_Session(self.adapter, system, sched is not None))
        if sched is None:
            if not _hooked:  # after the implementation's imports registered their hooks
                _hooked.append(True)
                threading._register_atexit(_close_live)  # type: ignore[attr-defined]
            _live.add(holder[0])
        return holder[0]
