"""A corpus of small channel implementations written the ordinary way, to measure ``conform``.

Four designs, each correct, written from the channels documentation with ``threading``,
``queue``, ``concurrent.futures`` and ``datetime`` (not from ``refimpl``):

* ``mailbox``: a thread and a ``queue.Queue`` per subscription, one dispatcher thread;
* ``pollpool``: Lona-style endless broker and worker loops on a ``ThreadPoolExecutor``, whose
  idle loops poll their queues every 5 ms;
* ``relay``: a copy-on-write registry, one relay thread, workers woken by a condition;
* ``reorder``: routing and delivery as ``ThreadPoolExecutor`` tasks, routed messages released
  in send order from a buffer keyed by sequence number.

``planted.py`` holds one realistic bug per class of issue 10, each in one of the designs.
``CORPUS`` is what ``make conform-corpus`` (``python -m examples.corpus``) checks: every
control conforms, every planted bug is reported on a clause of its family (others it also
breaks are listed beside it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORPUS", "Entry", "impl"]


@dataclass(frozen=True)
class Entry:
    name: str  #: the factory in ``examples.corpus.adapters``
    expect: frozenset[str]  #: the clauses its bug breaks; empty: a control, must conform
    what: str

    @property
    def design(self) -> str:
        """The correct design the bug was planted in (its control)."""
        return self.name.split("_", 1)[0]


def _bug(name: str, clauses: str, what: str) -> Entry:
    return Entry(name, frozenset(clauses.split()), what)


CORPUS: tuple[Entry, ...] = (
    Entry("mailbox", frozenset(), "control: a thread and a queue per subscription"),
    Entry("pollpool", frozenset(), "control: Lona-style loops polling every 5 ms"),
    Entry("relay", frozenset(), "control: copy-on-write registry, condition-woken workers"),
    Entry("reorder", frozenset(), "control: pool tasks, a reorder buffer by sequence number"),
    _bug("pollpool_out_of_order", "O2", "(a) brokers commit out of send order"),
    _bug("pollpool_stranding", "S2", "(b) shutdown strands non-droppable mail"),
    _bug("mailbox_leaves_queued", "W3", "(c) queued deliveries start after unsubscribe()"),
    _bug("relay_copy_outside_lock", "W1 W2 D2 S2", "(d) registry copy built outside the lock"),
    _bug("mailbox_naive_clock", "V2", "(e) aware expiry vs naive now(): the dispatcher dies"),
    _bug("relay_lost_wakeup", "W1 D2 S1 S2", "(f) lost wake-up: ready deque checked unlocked"),
    _bug("pollpool_channel_handler", "W2", "(g) re-subscribed channel runs old mail, new handler"),
    _bug("reorder_no_buffer", "O2", "(h) routing tasks post as they finish: no reorder buffer"),
    _bug("reorder_deep_copy", "C3", "(i) deep copies for every holder"),
    _bug("reorder_strict_expiry", "E2", "(j) expired only strictly after the deadline"),
)


def impl(name: str) -> str:
    """The ``--impl`` name of a corpus entry."""
    return f"examples.corpus.adapters:{name}"
