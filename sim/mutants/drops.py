"""Mutants that report a loss under a reason the spec does not permit for it (spec D2)."""

from __future__ import annotations

from refimpl import TaskWorker
from refimpl.worker import Task
from sim.mutants._base import SwapRuntime

__all__ = ["BacklogShedAsErrorRuntime"]

#: deliveries still queued for a subscription beyond which the mutant sheds the next one
BACKLOG = 1


class _SheddingTaskWorker(TaskWorker):
    def drop_reason(self, task: Task) -> str | None:
        if len(task.subscription.mailbox) >= BACKLOG:
            return "error"  # the bug: load shedding, reported as if something had failed
        return super().drop_reason(task)


class BacklogShedAsErrorRuntime(SwapRuntime):
    """Bug (D2): a task worker sheds load. A delivery whose subscription has more queued
    behind it is dropped and reported with reason ``error``, though nothing failed: D2
    permits ``error`` only for a failed payload copy, ``run()`` or start, so this is a
    loss wearing a permitted label."""

    task_worker_class = _SheddingTaskWorker
