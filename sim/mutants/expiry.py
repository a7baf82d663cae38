"""Mutants that get the expiry check at the task worker wrong (spec E2, E3, D2)."""

from __future__ import annotations

from logging import getLogger

from refimpl import Channel, Message, TaskWorker
from refimpl.runtime import Runtime
from refimpl.worker import Task
from sim.mutants._base import SwapRuntime

__all__ = [
    "BatchExpiryCheckRuntime",
    "ExpiredDropUnreportedRuntime",
    "ExpiryStrictCompareRuntime",
    "ExpiryUncheckedAtRunRuntime",
]

logger = getLogger("refimpl.channels")


class _ExpiryRuleTaskWorker(TaskWorker):
    """refimpl's ``drop_reason``, line for line, with the expiry test behind ``expired()``."""

    def expired(self, message: Message) -> bool:
        raise NotImplementedError

    def drop_reason(self, task: Task) -> str | None:
        message = task.message
        if message.droppable and not self.running:
            return "shutdown"
        if self.expired(message):
            return "expired"
        if not task.subscription.active:
            return "unsubscribed"
        return None


class _UncheckedTaskWorker(_ExpiryRuleTaskWorker):
    def expired(self, message: Message) -> bool:
        return False  # the bug: "the broker already checked"


class ExpiryUncheckedAtRunRuntime(SwapRuntime):
    """Bug (E2): the task worker does not check expiry before running the handler.

    Only the broker checks, so a message that expires while it waits behind a slow
    handler is still handled after its deadline.
    """

    task_worker_class = _UncheckedTaskWorker


class _StrictTaskWorker(_ExpiryRuleTaskWorker):
    def expired(self, message: Message) -> bool:
        now = self.runtime._now()
        return message.expiry is not None and message.expiry < now  # the bug: < not <=


class ExpiryStrictCompareRuntime(SwapRuntime):
    """Bug (E2): the task worker treats a message as expired only *after* its deadline.

    An off-by-one at the boundary: a handler starts when the clock reads exactly the
    expiry, which the spec counts as expired.
    """

    task_worker_class = _StrictTaskWorker


class ExpiredDropUnreportedRuntime(Runtime):
    """Bug (D2, E3): expiry drops are logged but not reported to the observer.

    The message is marked dropped and a DEBUG line is written, but the runtime's
    observer never hears of it, so the drop is indistinguishable from a silent loss.
    """

    def _drop(self, message: Message, channel: Channel | None, reason: str) -> None:
        if reason != "expired":
            super()._drop(message, channel, reason)
            return
        message._mark_dropped()
        logger.debug("dropped %r for %r: %s", message, channel, reason)  # the bug: no _emit


class _BatchExpiryTaskWorker(_ExpiryRuleTaskWorker):
    def expired(self, message: Message) -> bool:
        if self._held is not None:
            return False  # the bug: only the first delivery of a batch is checked
        return message.expiry is not None and message.expiry <= self.runtime._now()


class BatchExpiryCheckRuntime(SwapRuntime):
    """Bug (E2): the task worker checks expiry once per batch, not before each handler.

    The first delivery of a batch is checked; the ones it keeps delivering after it are
    not, so a copy whose deadline passed while an earlier handler of the same batch ran
    is still handled, late.
    """

    task_worker_class = _BatchExpiryTaskWorker
