"""Channels: a topic plus at most one handler, bound to a runtime (spec A1-A4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from refimpl._safe import short_repr
from refimpl.runtime import Runtime, check_handler, current_runtime
from refimpl.topics import validate_topic

if TYPE_CHECKING:
    from refimpl.message import Message
    from refimpl.registry import Subscription

__all__ = ["Channel"]


class _ChannelsByTopic:
    """``Channel._channels``: Lona's registry view, ``{topic: [channel, ...]}``.

    Read on the class, it shows the current runtime (R8); on a channel, that channel's
    runtime. A fresh dict each time, in subscription order: changing it changes nothing.
    """

    def __get__(self, channel: Channel | None, cls: type[Channel]) -> dict[str, list[Channel]]:
        runtime = channel._runtime if channel is not None else current_runtime()
        by_topic: dict[str, list[Channel]] = {}
        for sub in runtime._live_subscriptions():
            by_topic.setdefault(sub.channel.topic, []).append(sub.channel)
        return by_topic


class Channel:
    """``Channel(topic, handler=None, *, runtime=None)``.

    Without ``runtime=`` the channel belongs to the current runtime: the runtime whose
    handler or broker is running on this thread, elsewhere the process-wide default
    runtime, so that the seed's bare ``Channel('chat.rooms.lona', handler)`` calls work
    (spec R3, R8).
    """

    # ``__dict__`` takes attributes application code sets (``channel.view = ...``).
    __slots__ = ("__dict__", "__weakref__", "_runtime", "_sub", "_topic")

    _channels = _ChannelsByTopic()

    def __init__(
        self,
        topic: str,
        handler: Callable[[Message], Any] | None = None,
        *,
        runtime: Runtime | None = None,
    ) -> None:
        # Every argument is checked before anything else happens, the default runtime's
        # creation included (T1, A1, A2, V1).
        validate_topic(topic)
        if handler is not None:
            check_handler(handler)
        self._runtime = _runtime_of(runtime)
        self._topic = self._runtime._topic(topic)  # a plain str: no subclass method runs later
        self._sub: Subscription | None = None
        if handler is not None:
            self.subscribe(handler)

    def __repr__(self) -> str:
        return f"<Channel(topic={self._topic!r}, handler={self.handler!r})>"

    @classmethod
    def get_channels(cls, topic: str, *, runtime: Runtime | None = None) -> list[Channel]:
        """The channels subscribed to a topic matching *topic* (current runtime unless given)."""
        validate_topic(topic)
        return _runtime_of(runtime).get_channels(topic)

    @classmethod
    def _clear_state(cls, *, runtime: Runtime | None = None) -> None:
        """Unsubscribe every channel of the current runtime (Lona's pytest plugin calls it
        after each test). Their pending deliveries are dropped and reported, not lost
        silently (W3, D2); messages still queued then reach nobody."""
        rt = _runtime_of(runtime)
        for sub in rt._live_subscriptions():
            sub.channel.unsubscribe()

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def handler(self) -> Callable[[Message], Any] | None:
        sub = self._sub
        return None if sub is None else sub.handler

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def subscribe(self, handler: Callable[[Message], Any]) -> None:
        """Subscribe *handler*: RuntimeError if already subscribed, TypeError if not callable."""
        self._runtime._subscribe(self, handler)

    def unsubscribe(self) -> None:
        """Unsubscribe; a no-op when not subscribed."""
        self._runtime._unsubscribe(self)

    def send(
        self,
        message_data: dict[Any, Any] | None = None,
        expiry: Any = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        """Send a message to all channels subscribed to a matching topic.

        :message_data: a dict (shallow-copied with ``copy.copy``) or None (an empty dict).
        :expiry: a ``datetime`` (naive: local time) or ``timedelta`` (from now); the message
            is dropped for any subscriber whose handler has not started by then.
        :local: handle process-locally; no effect with the default broker.
        :droppable: may be dropped by a graceful shutdown instead of delivered.

        Raises TypeError on a bad argument and ShutdownError once the runtime is shutting
        down (from outside a handler) or shut down.
        """
        return self._runtime._send(self._topic, message_data, expiry, local, droppable)


def _runtime_of(runtime: object) -> Runtime:
    """The ``runtime=`` argument, or the current runtime for None; TypeError otherwise (A1)."""
    if runtime is None:
        return current_runtime()
    if not isinstance(runtime, Runtime):
        raise TypeError(f"runtime must be a refimpl.Runtime or None, not {short_repr(runtime)}")
    return runtime
