"""Mutants that route a message to the wrong set of subscriptions (spec T, W, D1)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from refimpl import Channel, Message, MessageBroker, match
from refimpl.registry import LIVE
from refimpl.runtime import UNSUBSCRIBE_TOPIC, Runtime
from refimpl.topics import is_pattern
from sim.mutants._base import SwapRuntime, live_subscriptions

if TYPE_CHECKING:
    from refimpl.registry import Subscription

__all__ = [
    "AsymmetricMatchRuntime",
    "BrokerTimeRoutingRuntime",
    "CaseInsensitiveMatchRuntime",
    "DuplicateOnOverlapRuntime",
    "UnsubscribeKeepsRoutingRuntime",
]


class BrokerTimeRoutingRuntime(Runtime):
    """Bug (W2, W4): the broker routes against the registry as it is when it routes.

    Lona's broker reads the live channel list, so a channel that subscribed after
    ``send()`` returned (but before the broker got to the message) receives it.
    """

    def _route(self, topic: str, seq: int) -> list[Subscription]:
        return super()._route(topic, LIVE - 1)  # the bug: who is live *now*, not at seq


class _DuplicatingBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        subs = live_subscriptions(self.runtime, message.seq)
        topic = message.topic
        exact = [s.channel for s in subs if s.channel.topic == topic]
        wild = [
            s.channel
            for s in subs
            if (is_pattern(topic) or is_pattern(s.channel.topic))
            and (fnmatchcase(topic, s.channel.topic) or fnmatchcase(s.channel.topic, topic))
        ]
        return exact + wild  # the bug: a wildcard subscriber equal to the topic is in both


class DuplicateOnOverlapRuntime(SwapRuntime):
    """Bug (D1, T6): routing concatenates the exact-topic and the wildcard matches.

    An index of exact topics plus a scan of wildcard subscriptions: a subscriber whose
    topic both equals and pattern-matches the sender's (sender 'a.*', subscriber
    'a.*') is scheduled twice, so its handler runs twice on one message.
    """

    broker_class = _DuplicatingBroker


class _AsymmetricBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        topic = message.topic
        return [  # the bug: only the subscriber's topic is read as a pattern
            s.channel
            for s in live_subscriptions(self.runtime, message.seq)
            if s.channel.topic == topic or fnmatchcase(topic, s.channel.topic)
        ]


class AsymmetricMatchRuntime(SwapRuntime):
    """Bug (T4, T5): matching is ``fnmatchcase(sender, subscriber)`` only.

    Wildcard subscribers work, but a wildcard *sender* ('a.*') reaches no plain
    subscriber ('a.b'); the relation is no longer symmetric.
    """

    broker_class = _AsymmetricBroker


class _CaseFoldingBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        topic = message.topic.lower()  # the bug: os.path.normcase on Windows lowercases
        return [
            s.channel
            for s in live_subscriptions(self.runtime, message.seq)
            if match(s.channel.topic.lower(), topic)
        ]


class CaseInsensitiveMatchRuntime(SwapRuntime):
    """Bug (T3): matching folds case, as ``fnmatch.fnmatch`` does on Windows.

    A subscriber to 'Chat.Room' receives messages sent to 'chat.room'.
    """

    broker_class = _CaseFoldingBroker


class UnsubscribeKeepsRoutingRuntime(Runtime):
    """Bug (W2): unsubscribe() only detaches the channel; the registry keeps routing to it.

    The subscription keeps its open window in the index and stays active (nothing
    marks it unsubscribed for the workers), so messages sent after ``unsubscribe()``
    returned are still delivered to the old handler.
    """

    def _unsubscribe(self, channel: Channel) -> None:
        with self._send_lock:
            if channel._sub is None:
                return
            channel._sub = None  # the bug: no ``sub.active = False``, no ``end``, no retire
        self._send(UNSUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)
