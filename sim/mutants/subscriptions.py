"""Mutants that get the end of a subscription, re-subscription, notices or faults wrong.

Spec W3 (section 17 step 4), W2 (re-subscription), I1/I2 and V2. Each overrides one of
refimpl's hooks and calls the real method around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from refimpl import Message, Runtime, TaskWorker
from refimpl.channel import Channel
from refimpl.worker import MessageBroker, Task
from sim.mutants._base import SwapRuntime

__all__ = [
    "InternalNoticesRemovedRuntime",
    "NaiveExpiryKillsBrokerRuntime",
    "ResubscribeRunsOldMessagesRuntime",
    "UnsubscribeLeavesQueuedRuntime",
]


class UnsubscribeLeavesQueuedRuntime(Runtime):
    """Bug (W3): ``unsubscribe()`` takes the subscription out of the registry but leaves it
    active, so deliveries already queued for it still run -- after ``unsubscribe()`` returned,
    into a handler its owner has released."""

    def _unsubscribe(self, channel: Channel) -> None:
        sub = channel._sub
        super()._unsubscribe(channel)
        if sub is not None:
            sub.active = True  # the bug: queued deliveries are not cancelled


class _ChannelHandlerWorker(TaskWorker):
    def handler_of(self, task: Task) -> Callable[[Message], Any] | None:
        return task.channel.handler  # the bug: whatever handler the channel has *now*

    def drop_reason(self, task: Task) -> str | None:
        reason = super().drop_reason(task)
        if reason == "unsubscribed" and task.channel.handler is not None:
            return None  # the channel is subscribed (again): run it
        return reason


class ResubscribeRunsOldMessagesRuntime(SwapRuntime):
    """Bug (W2): the task worker looks the handler up on the channel when it runs a
    delivery (Lona's ``task.channel.handler``): a channel that unsubscribes and subscribes
    again runs messages queued for its old subscription with its new handler."""

    task_worker_class = _ChannelHandlerWorker


class InternalNoticesRemovedRuntime(Runtime):
    """Bug (I1, I2): ``subscribe()`` and ``unsubscribe()`` publish no internal notices."""

    def _send(
        self,
        topic: str,
        message_data: object,
        expiry: object,
        local: object,
        droppable: object,
        *,
        internal: bool = False,
    ) -> Message:
        if internal:  # the bug: the notice is never sent
            return Message(topic, {})
        return super()._send(topic, message_data, expiry, local, droppable)


class _FragileBroker(MessageBroker):
    def _run_failed(self, error: BaseException) -> None:
        raise error  # the bug: an exception in routing ends the broker thread


class NaiveExpiryKillsBrokerRuntime(SwapRuntime):
    """Bug (V2): a datetime expiry is stored as given, not normalised to aware UTC; the
    broker compares a naive one with its aware clock, ``TypeError`` ends the broker
    thread, and nothing is routed again (Lona's defect, the other way round)."""

    broker_class = _FragileBroker

    def _deadline(self, expiry: object) -> datetime | None:
        if isinstance(expiry, datetime):
            # the bug: copied as a plain datetime but not normalised to aware UTC
            return datetime.combine(expiry.date(), expiry.time(), expiry.tzinfo)
        return super()._deadline(expiry)
