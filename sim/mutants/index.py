"""Mutants of the subscription index (spec W1, W2, W4, T4): a subscription routed by
the wrong window, or lost by the index's own housekeeping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from refimpl.registry import Bucket, Registry
from refimpl.runtime import Runtime

if TYPE_CHECKING:
    from refimpl.registry import Subscription

__all__ = ["SweepDropsPrefixRuntime", "WindowOffByOneRuntime"]


class _EarlyWindowBucket(Bucket):
    def live_at(self, seq: int) -> list[Subscription]:
        # the bug: the window starts at the last seq handed out, not at the next one
        return [s for s in self.subs if s.start - 1 <= seq < s.end]


class _EarlyWindowRegistry(Registry):
    bucket_class = _EarlyWindowBucket


class WindowOffByOneRuntime(Runtime):
    """Bug (W2, W4): a subscription's window opens one ``seq`` early.

    ``start`` is read as the seq of the last message sent instead of the next one, so
    the message sent just before ``subscribe()`` was called reaches the new subscriber
    whenever the broker routes it after the subscribe.
    """

    registry_class = _EarlyWindowRegistry


class _PrefixDroppingRegistry(Registry):
    def _compact(self, bucket: Bucket) -> None:
        # the bug: sweeping a retired subscription drops its whole key, as if it had been
        # the only one there; a resubscription under the same key is lost with it
        for sub in bucket.subs:
            sub.swept = True
        bucket.subs = []
        bucket.ended = bucket.gone = 0
        still_indexed = (
            bucket.node.bucket is bucket
            if bucket.node is not None
            else self._literals.get(bucket.key) is bucket
        )
        if still_indexed:
            self._drop_bucket(bucket)


class SweepDropsPrefixRuntime(Runtime):
    """Bug (W1): the sweep of an unsubscribed subscription removes its whole index key.

    Unsubscribe and resubscribe the same pattern while a message sent before the
    unsubscribe is still unrouted: when that message is routed, the old subscription is
    swept and takes the new one (same literal prefix, same bucket) with it, so messages
    sent afterwards never reach the resubscribed channel.
    """

    registry_class = _PrefixDroppingRegistry
