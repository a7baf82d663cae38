"""The adapter protocol: how the driver talks to an implementation of channels.

An adapter opens a *session*: one independent channel system. Unless the session declares
the ``same-object`` feature, the driver creates a fresh channel object for every
subscription, so a channel handle names exactly one subscription. Handlers receive the
message's topic and its ``data`` dict. The session reports what only the implementation
knows through ``report(kind, data, channel, detail)``: kind
``drop`` (detail: the reason; channel None for the whole message) and optionally
``route``, and ``fault`` (detail: ``<thread>: <exception>``) when an exception escaped
inside the implementation where the driver cannot see it (for example a worker that
died inside an executor's ``Future``). ``data`` is the dropped copy's data (the driver
reads its ``_id``).

When ``platform`` is a ``sim.primitives.SimPlatform`` the session must route *all*
its synchronisation, clock reads and thread starts through it (that is what makes a
run deterministic); when it is None the session uses real threads, and ``settle()``
must block until the implementation is idle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from refimpl._seam import Platform

__all__ = ["FEATURES", "Adapter", "Handler", "Report", "Session"]

#: What a session may declare in an optional ``features`` attribute: the operations of
#: scenario format 2 it passes to the implementation unchanged. A session without the
#: attribute (protocol version 1) gets none of them: the driver skips those operations and
#: the verdict lists them as not exercised.
#:
#: * ``expiry-datetime`` -- ``send()``'s expiry may be a naive or aware ``datetime``;
#: * ``same-object`` -- a handle may be subscribed again after ``unsubscribe()`` (with a new
#:   handler), and two threads may subscribe/unsubscribe one handle at once;
#: * ``bad-input`` -- bad ``data``/``expiry``/``local``/``droppable`` values and bad topics
#:   reach the implementation as given, and its exception propagates;
#: * ``bad-handler`` -- a non-callable handler reaches the implementation's ``subscribe()``.
FEATURES: frozenset[str] = frozenset({"expiry-datetime", "same-object", "bad-input", "bad-handler"})

Handler = Callable[[str, dict[str, Any]], None]  #: handler(message topic, message data)
Report = Callable[[str, "dict[str, Any] | None", Any, str], None]


class Session(Protocol):
    def start(self) -> None: ...

    def channel(self, topic: str) -> Any:
        """A new channel object for *topic* (not subscribed)."""
        ...

    def subscribe(self, channel: Any, handler: Handler) -> None: ...

    def unsubscribe(self, channel: Any) -> None: ...

    def send(
        self,
        channel: Any,
        data: dict[str, Any],
        expiry: timedelta | None,
        local: bool,
        droppable: bool,
    ) -> str:
        """Send; return the implementation's sequence number as text, or "" if it has none."""
        ...

    def settle(self) -> None:
        """Real threads only: block until every message sent so far is handled or dropped."""
        ...

    def shutdown(self) -> None: ...


class Adapter(Protocol):
    name: str

    def open(
        self, settings: dict[str, Any], platform: Platform | None, report: Report
    ) -> Session: ...
