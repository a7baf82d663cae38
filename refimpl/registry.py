"""The subscription registry: immutable snapshots, replaced on every subscribe and unsubscribe.

``send()`` captures the current snapshot with the message, in O(1), under the same
lock that orders sends. The broker later routes the message against *that* snapshot,
so the channels a message reaches are exactly those subscribed at the instant it was
sent (spec W1-W2), however late the broker gets to it. Subscribing copies the
snapshot (O(subscribers)); sends vastly outnumber subscriptions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from refimpl.topics import match

if TYPE_CHECKING:
    from refimpl.channel import Channel
    from refimpl.message import Message

__all__ = ["Snapshot", "Subscription"]

_CACHE_LIMIT = 1024


class Subscription:
    """One subscribe() of one channel: its handler and its mailbox of pending deliveries.

    Invariant: ``scheduled`` is True exactly while the subscription sits in the ready
    queue or a task worker holds it; so at most one worker runs its handler at a time
    (spec O3). ``mailbox`` and ``scheduled`` change only under the runtime's lock,
    except that the worker holding the subscription pops from ``mailbox``.
    """

    __slots__ = ("active", "channel", "handler", "id", "mailbox", "scheduled")

    def __init__(self, sub_id: int, channel: Channel, handler: Callable[[Message], Any]) -> None:
        self.id = sub_id
        self.channel = channel
        self.handler = handler
        self.active = True  # False once unsubscribe() has taken this subscription out
        self.mailbox: deque[Message] = deque()
        self.scheduled = False

    def __repr__(self) -> str:
        return f"<Subscription #{self.id} {self.channel.topic!r}>"


class Snapshot:
    """An immutable set of subscriptions, in subscription order, with a routing cache."""

    __slots__ = ("_cache", "by_channel", "subscriptions")

    def __init__(self, subscriptions: tuple[Subscription, ...] = ()) -> None:
        self.subscriptions = subscriptions
        self.by_channel: dict[Channel, Subscription] = {s.channel: s for s in subscriptions}
        self._cache: dict[str, tuple[Subscription, ...]] = {}

    def with_added(self, subscription: Subscription) -> Snapshot:
        return Snapshot((*self.subscriptions, subscription))

    def without(self, subscription: Subscription) -> Snapshot:
        return Snapshot(tuple(s for s in self.subscriptions if s is not subscription))

    def matching(self, topic: str) -> tuple[Subscription, ...]:
        """The subscriptions whose topic matches *topic*, in subscription order."""
        found = self._cache.get(topic)
        if found is None:
            found = tuple(s for s in self.subscriptions if match(s.channel.topic, topic))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[topic] = found
        return found
