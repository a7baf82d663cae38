"""Mutants that break the per-subscription order and serialisation (spec O2, O3).

Each overrides one of refimpl's small hooks (``Runtime._await_turn``,
``Runtime._schedule_locked``, ``Runtime._release``), so the rest of the commit path stays
refimpl's own and cannot drift from it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from refimpl import Message, Runtime, Settings
from refimpl.registry import Subscription

__all__ = ["SharedTaskQueueRuntime", "UnorderedCommitRuntime"]


class SharedTaskQueueRuntime(Runtime):
    """Bug (O2, O3): every delivery puts its subscription on the shared ready queue.

    Lona's design: one task per delivery on one shared queue, no per-subscription
    "scheduled" flag. With more than one task worker, two workers take the same
    subscription at once, so its handler runs concurrently with itself (O3) and a
    later message can start before an earlier one (O2).
    """

    def __init__(self, settings: object = None, **kwargs: Any) -> None:
        # one queue entry per delivery, one delivery per entry: no batching
        super().__init__(replace(Settings.from_any(settings), CHANNEL_TASK_BATCH=1), **kwargs)

    def _schedule_locked(self, sub: Subscription) -> None:
        sub.scheduled = True
        self._ready.put(sub)  # the bug: one queue entry per delivery, always

    def _release(self, sub: Subscription, done: int) -> None:
        with self._lock:  # nothing to hand back: each delivery had its own queue entry
            self._finish_locked(done)


class UnorderedCommitRuntime(Runtime):
    """Bug (O2): brokers commit a message's routing as soon as they have matched it.

    The seq-order turnstile is missing, so with more than one broker thread a later
    message can reach a subscriber's mailbox before an earlier one.
    """

    def _await_turn(self, message: Message) -> None:
        pass  # the bug: no wait for ``self._next_route == message.seq``
