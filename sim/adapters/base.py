"""The adapter protocol: how the driver talks to an implementation of channels.

An adapter opens a *session*: one independent channel system. The driver creates a
fresh channel object for every subscription, so a channel handle names exactly one
subscription. Handlers receive the message's topic and its ``data`` dict. The session reports what
only the implementation knows through ``report(kind, data, channel, detail)``: kind
``drop`` (detail: the reason; channel None for the whole message) and optionally
``route``. ``data`` is the dropped copy's data (the driver reads its ``_id``).

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

__all__ = ["Adapter", "Handler", "Report", "Session"]

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
