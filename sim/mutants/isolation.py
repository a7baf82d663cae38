"""A mutant whose runtimes cross (spec R8): the bug issue 12 found in the seed's broker.

The broker looks subscribers up in the process-wide default runtime, as a bare
``Channel.get_channels(topic=...)`` used to, and ``schedule_task`` takes any channel it
is given. Messages sent on one runtime then reach another runtime's subscribers, on
this runtime's threads, and this runtime's own subscribers get nothing. One runtime per
scenario cannot show it, so it is not in ``MUTANTS``: ``tests/mutants/
test_isolation_mutant.py`` runs the isolation check on it and must see it fail.
"""

from __future__ import annotations

from refimpl import Channel, Message, MessageBroker, default_runtime
from sim.mutants._base import SwapRuntime

__all__ = ["CrossingRuntime"]


class _DefaultRegistryBroker(MessageBroker):
    def get_channels(self, message: Message) -> list[Channel]:
        return default_runtime().get_channels(message.topic)  # the bug: not its runtime

    def _owns(self, channel: object) -> bool:
        return True  # the bug: schedules a channel of any runtime


class CrossingRuntime(SwapRuntime):
    """Bug (R8): routes with the default runtime's registry and delivers across runtimes."""

    broker_class = _DefaultRegistryBroker
