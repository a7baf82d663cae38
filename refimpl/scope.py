"""Scoped subscriptions: the analogue of Lona's ``View.subscribe`` (spec H2-H3).

A ``Scope`` owns channels. When a handler subscribed through it raises, the error is
reported to ``on_error`` (by default: logged) and that channel is unsubscribed; when
the scope closes, all its channels are unsubscribed.
"""

from __future__ import annotations

from collections.abc import Callable
from logging import getLogger
from typing import TYPE_CHECKING, Any

from refimpl._safe import short_repr
from refimpl._seam import RealPlatform
from refimpl.channel import Channel
from refimpl.runtime import Runtime, check_handler

if TYPE_CHECKING:
    from refimpl.message import Message

__all__ = ["Scope"]

logger = getLogger("refimpl.channels")

ErrorHandler = Callable[[BaseException, Channel, "Message"], None]


def _log_error(exc: BaseException, channel: Channel, message: Message) -> None:
    logger.error("handler of %r raised on %r", channel, message, exc_info=exc)


class Scope:
    """A group of subscriptions that end together."""

    def __init__(
        self, runtime: Runtime | None = None, on_error: ErrorHandler | None = None
    ) -> None:
        # checked here, not when a handler first raises inside a worker thread (V1, H2)
        if runtime is not None and not isinstance(runtime, Runtime):
            raise TypeError(f"runtime must be a refimpl.Runtime or None, not {short_repr(runtime)}")
        if on_error is not None:
            check_handler(on_error, "on_error")
        self._runtime = runtime
        self._on_error = on_error if on_error is not None else _log_error
        self._channels: list[Channel] = []
        self.closed = False
        # close() and subscribe() on different threads (a view closing while a handler
        # subscribes): a channel subscribed after close() took its list would stay live (H3)
        self._lock = (runtime.platform if runtime is not None else RealPlatform()).lock()

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels)

    def subscribe(self, topic: str, handler: Callable[[Message], Any]) -> Channel:
        if self.closed:
            raise RuntimeError("this scope is closed")
        check_handler(handler)
        channel = Channel(topic, runtime=self._runtime)

        def scoped(message: Message) -> None:
            try:
                handler(message)
            except Exception as exc:
                channel.unsubscribe()
                self._on_error(exc, channel, message)

        with self._lock:  # the runtime never calls back into the scope while subscribing
            if self.closed:
                raise RuntimeError("this scope is closed")
            channel.subscribe(scoped)
            self._channels.append(channel)
        return channel

    def close(self) -> None:
        """Unsubscribe every channel of this scope. Idempotent."""
        with self._lock:
            self.closed = True
            channels = list(self._channels)
        for channel in channels:
            channel.unsubscribe()

    def __enter__(self) -> Scope:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
