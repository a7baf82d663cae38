"""Mutants that route a message to the wrong set of subscriptions (spec T, W, D1)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from refimpl import Channel, Message, MessageBroker, match
from refimpl.registry import LIVE, Bucket, Registry, SortedKeys, Subscription
from refimpl.runtime import SUBSCRIBE_TOPIC, UNSUBSCRIBE_TOPIC, Runtime
from refimpl.topics import is_pattern, literal_prefix
from sim.mutants._base import SwapRuntime, live_subscriptions

__all__ = [
    "AsymmetricMatchRuntime",
    "BrokerTimeRoutingRuntime",
    "CaseInsensitiveMatchRuntime",
    "DuplicateOnOverlapRuntime",
    "RegexByReplacementRuntime",
    "RegistryRaceRuntime",
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
            for s in live_subscriptions(self.runtime, message.seq)
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


class _TolerantRegistry(Registry):
    def _drop_bucket(self, bucket: Bucket) -> None:
        # housekeeping that survives the race below (a lost bucket is not in the map)
        if bucket.node is None and self._literals.get(bucket.key) is not bucket:
            return
        super()._drop_bucket(bucket)


class RegistryRaceRuntime(Runtime):
    """Bug (W1, D2): the index is updated copy-on-write from a copy taken too early.

    ``subscribe()`` and ``unsubscribe()`` first copy the index's topic -> bucket map and
    their topic's bucket (literal topic) or prefix bucket (pattern), then do their work
    under the send lock, then install the changed copies: a subscribe concurrent with
    another subscribe or unsubscribe can be overwritten by the other's older copy and
    lost (it receives nothing, silently).
    """

    registry_class = _TolerantRegistry

    def _subscribe(self, channel: Channel, handler: Callable[[Message], Any]) -> None:
        if not callable(handler):
            raise TypeError(f"a handler must be callable, not {handler!r}")
        copied = self._copy(channel.topic)  # the bug: the copy is taken here ...
        with self._send_lock:
            if channel._sub is not None:
                raise RuntimeError("channel is already subscribed")
            sub = Subscription(self._next_sub_id, channel, handler, self._seq)
            self._next_sub_id += 1
            channel._sub = sub
        self._install(copied, sub)  # ... and installed over whatever changed meanwhile
        self._send(SUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    def _unsubscribe(self, channel: Channel) -> None:
        copied = self._copy(channel.topic)
        with self._send_lock:
            sub = channel._sub
            if sub is None:
                return
            channel._sub = None
            sub.active = False
            sub.end = self._seq
        self._install(copied, None)
        with self._index_lock:
            self._registry.retire(sub, self._next_route)
        self._send(UNSUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    def _copy(self, topic: str) -> tuple[str, dict[str, Bucket], Bucket | None]:
        reg = self._registry
        with self._index_lock:
            if is_pattern(topic):
                old = reg._patterns.bucket(literal_prefix(topic))
                return topic, {}, old
            return topic, dict(reg._literals), reg._literals.get(topic)

    def _install(
        self, copied: tuple[str, dict[str, Bucket], Bucket | None], sub: Subscription | None
    ) -> None:
        topic, literals, old = copied
        reg = self._registry
        key = old.key if old is not None else topic
        bucket = reg.bucket_class(key)  # a new bucket, copied from the old one
        if old is not None:
            bucket.subs = list(old.subs)
            bucket.ended, bucket.gone, bucket.node = old.ended, old.gone, old.node
        if sub is not None:
            bucket.subs.append(sub)
        with self._index_lock:
            for indexed in bucket.subs:
                indexed.bucket = bucket
            if bucket.node is not None:
                bucket.node.bucket = bucket
                return
            if bucket.subs:
                literals[topic] = bucket
            reg._literals = literals
            reg._keys = SortedKeys()
            for known in sorted(literals):
                reg._keys.add(known)
