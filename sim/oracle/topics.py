"""Topics (T4): a handler runs only for messages whose topic matches its subscription's.

Starts of matching pairs are judged by ``window``; this checker looks at the rest: a
``start`` of a (message, subscription) pair whose topics do not match, and an
``internal`` delivery (a notice, or accepted bad input) to a subscription whose topic
does not match the delivered topic.
"""

from __future__ import annotations

from refimpl.topics import match
from sim.oracle.index import HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_topics", "notice_topic"]

CLAUSES = ("T4",)


def notice_topic(info: str) -> tuple[str, str]:
    """An ``internal`` event's info: (delivered topic, data topic); the latter may be ""."""
    topic, _, data_topic = info.partition("\n")
    return topic, data_topic


def check_topics(ix: HistoryIndex, found: Findings, paired_starts: int) -> None:
    """*paired_starts*: starts the pair checker saw; if all starts were seen, none is stray."""
    events, sub_topic = ix.events, ix.sub_topic
    for i in ix.internals:
        s = events[i].sub
        own = sub_topic.get(s)
        internal, _ = notice_topic(events[i].info)
        if own is not None and not match(own, internal):
            found.add(
                "T4",
                -1,
                s,
                (i,),
                f"{found.sub(s)} received an internal-topic message on {internal!r}, "
                f"which its topic does not match",
            )
    if paired_starts == len(ix.first_start):
        return
    for j in ix.first_start.values():
        m, s = events[j].msg, events[j].sub
        mt = ix.msg_topic.get(m)
        st = sub_topic.get(s)
        if mt is not None and st is not None and not match(mt, st):
            found.add(
                "T4",
                m,
                s,
                (j,),
                f"{found.sub(s)} received message {m} ({mt!r}), whose topic does not match",
            )
