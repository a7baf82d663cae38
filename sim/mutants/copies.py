"""Mutants that get the copy semantics of message data wrong (spec C1-C3)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from refimpl import Message, Runtime, TaskWorker
from sim.mutants._base import SwapRuntime

__all__ = ["DeepCopyRuntime", "NoSendCopyRuntime", "SharedSubscriberCopyRuntime"]


class _RecopyingWorker(TaskWorker):
    """Copies as refimpl does, then replaces the copy's data via ``data_for``."""

    def copy_for_subscriber(self, message: Message) -> Message:
        copy_ = super().copy_for_subscriber(message)
        copy_.data = self.data_for(message, copy_)
        return copy_

    def data_for(self, message: Message, copy_: Message) -> dict[Any, Any]:
        raise NotImplementedError


class _DeepCopyWorker(_RecopyingWorker):
    def data_for(self, message: Message, copy_: Message) -> dict[Any, Any]:
        return deepcopy(copy_.data)  # the bug: nested objects are copied too


class DeepCopyRuntime(SwapRuntime):
    """Bug (C3): each subscriber gets ``copy.deepcopy`` of the payload, not a shallow copy.

    Nested objects are no longer shared by reference between sender and subscribers.
    """

    task_worker_class = _DeepCopyWorker


class _SharedCopyWorker(_RecopyingWorker):
    def data_for(self, message: Message, copy_: Message) -> dict[Any, Any]:
        if message._payload is None:
            message._payload = {}
        return message._payload  # the bug: the broker's one copy, for every subscriber


class SharedSubscriberCopyRuntime(SwapRuntime):
    """Bug (C2): all subscribers of one message receive the same dict object.

    One copy per message instead of one per subscriber, so a change
    one handler makes to its dict is seen by the other subscribers.
    """

    task_worker_class = _SharedCopyWorker


class NoSendCopyRuntime(Runtime):
    """Bug (C1): send() keeps a reference to the sender's dict; copies are made at routing.

    A top-level change the sender makes after ``send()`` returned, but before the
    broker routed the message, reaches every subscriber.
    """

    def _broker_copy(self, message_data: dict[Any, Any]) -> dict[Any, Any]:
        return message_data  # the bug: the broker's "copy" is the sender's dict
