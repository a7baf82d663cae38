"""Mutants that keep a caller's subclass instead of its plain value (spec T1, E1; issue 11).

The refimpl adapter hands every topic and expiry over as a subclass whose own methods
raise (``sim.adapters.refimpl_adapter``), and checks what the runtime stored; these
mutants store the caller's object, as the reference implementation once did.
"""

from __future__ import annotations

from datetime import UTC, datetime

from refimpl.runtime import Runtime
from refimpl.topics import validate_topic

__all__ = ["RawExpiryRuntime", "RawTopicRuntime"]


class RawTopicRuntime(Runtime):
    """Bug (T1, V2): a valid topic is stored as given, so a ``str`` subclass's ``__eq__``
    and ``__hash__`` run in the broker, where an exception loses the message."""

    def _topic(self, topic: object) -> str:
        validate_topic(topic)
        return topic  # type: ignore[return-value]  # the bug: the caller's object


class RawExpiryRuntime(Runtime):
    """Bug (E1, V2): an expiry already in UTC is stored as given ("no conversion needed"),
    so a ``datetime`` subclass's comparisons run in the broker and the task worker."""

    def _deadline(self, expiry: object) -> datetime | None:
        if isinstance(expiry, datetime) and expiry.tzinfo is UTC:
            return expiry  # the bug: a subclass instance is kept
        return super()._deadline(expiry)
