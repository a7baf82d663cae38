"""What several mutants share: a ``Runtime`` that runs substitute worker classes, and
the naive scan of the subscriptions live at a message's ``seq``.

A mutant that breaks a broker or a task worker subclasses ``MessageBroker`` /
``TaskWorker`` and names the subclass here; the runtime swaps it into its own
settings, so the scenario's thread counts and timeout are kept and nothing global
(no refimpl module, no default runtime) is touched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from refimpl import Runtime, Settings, Worker
from refimpl._seam import Platform
from refimpl.registry import Subscription
from refimpl.runtime import Observer

__all__ = ["SwapRuntime", "live_subscriptions"]


def live_subscriptions(runtime: Runtime, seq: int) -> list[Subscription]:
    """Every subscription live at *seq*, in subscription order (what a scan would see)."""
    return runtime._live_subscriptions(seq)


class SwapRuntime(Runtime):
    """A ``Runtime`` whose broker and/or task-worker class is replaced by a subclass."""

    broker_class: ClassVar[type[Worker] | None] = None
    task_worker_class: ClassVar[type[Worker] | None] = None

    def __init__(
        self,
        settings: object = None,
        *,
        platform: Platform | None = None,
        observer: Observer | None = None,
    ) -> None:
        resolved = Settings.from_any(settings)
        if self.broker_class is not None:
            resolved = replace(resolved, CHANNEL_MESSAGE_BROKER_CLASS=self.broker_class)
        if self.task_worker_class is not None:
            resolved = replace(resolved, CHANNEL_TASK_WORKER_CLASS=self.task_worker_class)
        super().__init__(resolved, platform=platform, observer=observer)
