"""Mutants that route a message to the wrong set of subscriptions (spec T, W, D1)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from refimpl import Channel, Message, MessageBroker, match
from refimpl.registry import Subscription
from refimpl.runtime import SUBSCRIBE_TOPIC, UNSUBSCRIBE_TOPIC, Runtime
from refimpl.topics import is_pattern
from sim.mutants._base import SwapRuntime

__all__ = [
    "AsymmetricMatchRuntime",
    "BrokerTimeRoutingRuntime",
    "CaseInsensitiveMatchRuntime",
    "DuplicateOnOverlapRuntime",
    "RegexByReplacementRuntime",
    "RegistryRaceRuntime",
    "UnsubscribeKeepsRoutingRuntime",
]


class _BrokerTimeBroker(MessageBroker):
    def get_message(self) -> Message:
        message = super().get_message()
        message._snapshot = self.runtime._snapshot  # the bug: the registry as it is *now*
        return message


class BrokerTimeRoutingRuntime(SwapRuntime):
    """Bug (W2, W4): the broker routes against the registry as it is when it routes.

    Lona's broker reads the live channel list, so a channel that subscribed after
    ``send()`` returned (but before the broker got to the message) receives it.
    """

    broker_class = _BrokerTimeBroker


class _DuplicatingBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        subs = message._snapshot.subscriptions
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
            for s in message._snapshot.subscriptions
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
            for s in message._snapshot.subscriptions
            if match(s.channel.topic.lower(), topic)
        ]


class CaseInsensitiveMatchRuntime(SwapRuntime):
    """Bug (T3): matching folds case, as ``fnmatch.fnmatch`` does on Windows.

    A subscriber to 'Chat.Room' receives messages sent to 'chat.room'.
    """

    broker_class = _CaseFoldingBroker


class UnsubscribeKeepsRoutingRuntime(Runtime):
    """Bug (W2): unsubscribe() only detaches the channel; the registry keeps routing to it.

    The subscription stays in the registry snapshot and stays active (nothing marks
    it unsubscribed for the workers), so messages sent after ``unsubscribe()``
    returned are still delivered to the old handler.
    """

    def _unsubscribe(self, channel: Channel) -> None:
        with self._lock:
            if channel._sub is None:
                return
            channel._sub = None  # the bug: no ``sub.active = False``, no ``snapshot.without``
        self._send(UNSUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)


def _as_regex(pattern: str) -> str:
    # the bug: only the glob characters are translated; '.', '(', '+', '{', '|', '^',
    # '$' and '\\' keep their regular-expression meaning
    return pattern.replace("*", ".*").replace("?", ".").replace("[!", "[^")


def _regex_match(pattern: str, text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # re's "possible nested set"
        try:
            return re.fullmatch(_as_regex(pattern), text) is not None
        except re.error:
            return False


class _RegexBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        topic = message.topic
        return [
            s.channel
            for s in message._snapshot.subscriptions
            if s.channel.topic == topic
            or _regex_match(topic, s.channel.topic)
            or _regex_match(s.channel.topic, topic)
        ]


class RegexByReplacementRuntime(SwapRuntime):
    """Bug (T2, T4): a glob is turned into a regular expression by string replacement.

    ``*`` becomes ``.*``, ``?`` becomes ``.`` and ``[!`` becomes ``[^``, nothing is
    escaped: ``a.b`` matches ``axb``, ``a+`` matches ``aa``, ``(x)`` matches ``x``. It
    agrees with ``fnmatchcase`` on every topic without such characters.
    """

    broker_class = _RegexBroker


class RegistryRaceRuntime(Runtime):
    """Bug (W1, W2, D2): the copy-on-write registry snapshot is built outside the lock.

    ``subscribe()`` and ``unsubscribe()`` read the current snapshot, build the new one,
    and only then take the lock to install it: two concurrent calls each install their
    own change on the same old snapshot, and one of the changes is lost (a lost
    subscription receives nothing; a lost unsubscribe keeps receiving).
    """

    def _subscribe(self, channel: Channel, handler: Callable[[Message], Any]) -> None:
        if not callable(handler):
            raise TypeError(f"a handler must be callable, not {handler!r}")
        if channel._sub is not None:
            raise RuntimeError("channel is already subscribed")
        old = self._snapshot  # the bug: read outside the lock ...
        with self._lock:
            sub = Subscription(self._next_sub_id, channel, handler)
            self._next_sub_id += 1
            channel._sub = sub
        new = old.with_added(sub)
        with self._lock:
            self._snapshot = new  # ... and installed over whatever changed meanwhile
        self._send(SUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    def _unsubscribe(self, channel: Channel) -> None:
        sub = channel._sub
        if sub is None:
            return
        old = self._snapshot  # the bug: read outside the lock
        with self._lock:
            channel._sub = None
            sub.active = False
        new = old.without(sub)
        with self._lock:
            self._snapshot = new
        self._send(UNSUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)
