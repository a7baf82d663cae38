"""Messages: what ``Channel.send`` returns and what every handler receives.

Copy semantics (spec C1-C4): ``send()`` takes one shallow copy of the sender's dict
for the broker, and gives the sender its own ``Message``; every subscriber receives a
further shallow copy of the broker's copy. So nothing the sender or any subscriber
does to the top level of its dict reaches anybody else, while nested objects are
shared by reference, exactly as ``copy.copy`` shares them.

Drop state (spec E4, S3): each delivered copy knows whether *it* was dropped; the
sender's message reports ``is_dropped()`` when the message was dropped before
routing or any of its copies was dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from datetime import datetime
from typing import Any

from refimpl._safe import safe_repr

__all__ = ["Message", "shallow_copy"]


def shallow_copy(data: dict[Any, Any]) -> dict[Any, Any]:
    """``copy.copy(data)``, fast for plain dicts (subclasses keep their ``__copy__``).

    A dict subclass whose ``__copy__`` returns something that is not a dict is refused
    with ``TypeError`` (spec C4): handlers are promised a dict.
    """
    if type(data) is dict:
        return data.copy()
    copied: object = copy(data)
    if not isinstance(copied, dict):
        raise TypeError(
            f"copy.copy() of a {type(data).__name__} returned a {type(copied).__name__}, not a dict"
        )
    return copied


class Message:
    """One message, as the sender sees it or as one subscriber receives it."""

    __slots__ = (
        "_clock",
        "_dropped",
        "_origin",
        "_payload",
        "data",
        "droppable",
        "expiry",
        "local",
        "seq",
        "topic",
    )

    def __init__(
        self,
        topic: str,
        data: dict[Any, Any],
        expiry: datetime | None,
        local: bool,
        droppable: bool,
        seq: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.topic = topic  #: the sender's topic, possibly a pattern
        self.data = data  #: this holder's own shallow copy of the payload
        self.expiry = expiry  #: absolute deadline, timezone-aware UTC, or None
        self.local = local
        self.droppable = droppable
        self.seq = seq  #: position in the runtime's total send order (spec O1)
        self._clock = clock
        self._dropped = False
        self._origin: Message | None = None  # the sender's message, for delivered copies
        self._payload: dict[Any, Any] | None = None  # the broker's copy (sender's message only)

    def __repr__(self) -> str:
        # never raises, whatever the payload's own repr does (log lines in workers, V2)
        return f"<Message(topic={self.topic!r}, seq={self.seq}, data={safe_repr(self.data)})>"

    def is_expired(self) -> bool:
        """True once the runtime's clock has reached ``expiry``."""
        return self.expiry is not None and self.expiry <= self._clock()

    def is_dropped(self) -> bool:
        """True if this copy was dropped; for the sender's message, if any part of it was."""
        return self._dropped

    def _copy_for_subscriber(self) -> Message:
        """A subscriber's own copy, made from the broker's copy (never the sender's)."""
        payload = self._payload
        data: dict[Any, Any] = {} if payload is None else shallow_copy(payload)
        message = Message(
            self.topic, data, self.expiry, self.local, self.droppable, self.seq, self._clock
        )
        message._origin = self
        return message

    def _copy_or_bare(self) -> Message:
        """A subscriber's copy for a drop report; without the payload if copying fails."""
        try:
            return self._copy_for_subscriber()
        except BaseException:  # a failing __copy__ must not stop the report
            return self._bare_copy()

    def _bare_copy(self) -> Message:
        """A subscriber's copy without the payload (for reporting a failed copy)."""
        message = Message(
            self.topic, {}, self.expiry, self.local, self.droppable, self.seq, self._clock
        )
        message._origin = self
        return message

    def _mark_dropped(self) -> None:
        self._dropped = True
        if self._origin is not None:
            self._origin._dropped = True
