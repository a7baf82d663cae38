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
from datetime import UTC, datetime, timedelta
from typing import Any

from refimpl._safe import safe_repr, short_repr
from refimpl.deadline import deadline
from refimpl.topics import validate_topic

__all__ = ["Message", "owned_message", "shallow_copy"]


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _checked(
    topic: object, data: object, expiry: object, local: object, droppable: object
) -> tuple[str, dict[Any, Any], datetime | None]:
    """A hand-built message's arguments, checked and normalised as ``send()``'s are (V1, E1)."""
    from refimpl._seam import RealPlatform

    plain = validate_topic(topic)
    if data is None:
        copied: dict[Any, Any] = {}
    elif isinstance(data, dict):
        copied = shallow_copy(data)
    else:
        raise TypeError(f"data must be a dict or None, not {type(data).__name__}")
    if type(local) is not bool or type(droppable) is not bool:
        raise TypeError(
            f"local and droppable must be bools, not {short_repr(local)}, {short_repr(droppable)}"
        )
    real = RealPlatform()
    return plain, copied, deadline(expiry, real.now, real.to_aware)


def _fill(
    message: Message,
    topic: str,
    data: dict[Any, Any],
    expiry: datetime | None,
    local: bool,
    droppable: bool,
    seq: int,
    clock: Callable[[], datetime],
) -> Message:
    message.topic = topic  # the sender's topic, possibly a pattern
    message.data = data  # this holder's own shallow copy of the payload
    message.expiry = expiry  # absolute deadline, timezone-aware UTC, or None
    message.local = local
    message.droppable = droppable
    message.seq = seq  # position in the runtime's total send order (spec O1); -1: not sent
    message._clock = clock
    message._dropped = False
    message._origin = None  # the sender's message, for delivered copies
    message._payload = None  # the broker's copy (sender's message only)
    message._snapshot = None  # the registry it was sent through (sender's message only)
    return message


class Message:
    """One message, as the sender sees it or as one subscriber receives it."""

    # Slots keep the hot path lean; ``__dict__`` takes any attribute application code
    # (or Lona code) sets on a message, as on Lona's plain class (spec §18).
    topic: str
    data: dict[Any, Any]
    expiry: datetime | None
    local: bool
    droppable: bool
    seq: int
    _clock: Callable[[], datetime]
    _dropped: bool
    _origin: Message | None
    _payload: dict[Any, Any] | None
    _snapshot: Any

    __slots__ = (
        "__dict__",
        "_clock",
        "_dropped",
        "_origin",
        "_payload",
        "_snapshot",
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
        data: dict[Any, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> None:
        """``Message(topic, data=None, expiry=None, local=False, droppable=False)``, as in Lona.

        For a custom broker that builds messages: *data* is shallow-copied and checked
        like ``send()``'s arguments, and *expiry* (naive: local time; or a timedelta from
        now) becomes an aware UTC deadline. The runtime makes its messages with
        ``owned_message()`` from values it has already copied and checked.
        """
        plain, own, due = _checked(topic, data, expiry, local, droppable)
        _fill(self, plain, own, due, local, droppable, -1, _utc_now)

    def __repr__(self) -> str:
        # never raises, whatever the payload's own repr does (log lines in workers, V2)
        return f"<Message(topic={self.topic!r}, seq={self.seq}, data={safe_repr(self.data)})>"

    def is_expired(self) -> bool:
        """True once the runtime's clock has reached ``expiry``."""
        return self.expiry is not None and self.expiry <= self._clock()

    def is_dropped(self) -> bool:
        """True if this copy was dropped; for the sender's message, if any part of it was."""
        return self._dropped

    def copy(self) -> Message:
        """A copy with its own shallow copy of ``data`` (Lona's ``Message.copy()``).

        Dropping the copy marks this message dropped too (as a subscriber's copy marks
        the sender's, spec E4), so a custom broker can hand copies to ``schedule_task``.
        """
        message = owned_message(
            self.topic,
            shallow_copy(self.data),
            self.expiry,
            self.local,
            self.droppable,
            self.seq,
            self._clock,
        )
        message._origin = self._origin if self._origin is not None else self
        return message

    def _copy_for_subscriber(self) -> Message:
        """A subscriber's own copy, made from the broker's copy (never the sender's).

        A message built by hand (no snapshot: it never went through ``send()``) has no
        broker's copy; its own ``data`` is the payload.
        """
        payload = self._payload
        if payload is not None:
            data = payload.copy() if type(payload) is dict else shallow_copy(payload)
        else:
            data = {} if self._snapshot is not None else shallow_copy(self.data)
        # ``owned_message`` written out: this runs once per delivery (the fan-out hot path)
        message: Message = _new(Message)
        message.topic = self.topic
        message.data = data
        message.expiry = self.expiry
        message.local = self.local
        message.droppable = self.droppable
        message.seq = self.seq
        message._clock = self._clock
        message._dropped = False
        message._origin = self
        message._payload = None
        message._snapshot = None
        return message

    def _copy_or_bare(self) -> Message:
        """A subscriber's copy for a drop report; without the payload if copying fails."""
        try:
            return self._copy_for_subscriber()
        except BaseException:  # a failing __copy__ must not stop the report
            return self._bare_copy()

    def _bare_copy(self) -> Message:
        """A subscriber's copy without the payload (for reporting a failed copy)."""
        message = owned_message(
            self.topic, {}, self.expiry, self.local, self.droppable, self.seq, self._clock
        )
        message._origin = self
        return message

    def _mark_dropped(self) -> None:
        self._dropped = True
        if self._origin is not None:
            self._origin._dropped = True


_new = object.__new__


def owned_message(
    topic: str,
    data: dict[Any, Any],
    expiry: datetime | None,
    local: bool,
    droppable: bool,
    seq: int,
    clock: Callable[[], datetime],
) -> Message:
    """A message from values already copied and checked: the runtime's (hot) path.

    Written out rather than through ``_fill``: a Python call per message shows in fan-out.
    """
    message: Message = _new(Message)
    message.topic = topic
    message.data = data
    message.expiry = expiry
    message.local = local
    message.droppable = droppable
    message.seq = seq
    message._clock = clock
    message._dropped = False
    message._origin = None
    message._payload = None
    message._snapshot = None
    return message
