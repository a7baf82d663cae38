"""Histories: what one run did, as the oracle sees it.

A history is a list of ``Event`` in the order they happened (in simulation: the order
of the scheduler's steps; on real threads: the order of a lock-protected counter).
Events are recorded by the *driver*, around calls into the implementation and inside
the handlers it subscribes, so the oracle trusts no implementation's own account of
what it delivered. Only ``drop`` and ``route`` come from the implementation (through
its observer), to tell a reported drop from a silent loss.

Event kinds and fields (``msg`` and ``sub`` are the driver's ids; -1 when not used):

=================  =====  =====  =================================================
kind               msg    sub    info
=================  =====  =====  =================================================
``sub_call``       -1     sub    the topic
``sub_ret``        -1     sub    ""
``unsub_call``     -1     sub    ""
``unsub_ret``      -1     sub    "", or ``raised <class name>``: unsubscribe() raised
``send_call``      msg    -1     the sender's topic
``send_ret``       msg    -1     the implementation's seq, or "" if it has none
``send_err``       msg    -1     the exception's class name
``start``          msg    sub    "" (first line of the handler); ``bad:<what>`` if the
                                  payload it saw broke a copy rule
``end``            msg    sub    "" (handler returned or raised)
``drop``           msg    sub    reason (``expired``/``shutdown``/``unsubscribed``); sub -1:
                                  the whole message, before routing
``route``          msg    -1     number of deliveries scheduled
``sub_err``        -1     sub    the exception's class name: subscribe() raised
``internal``       -1     sub    a delivery without a driver id: the topic, and for a notice
                                  (I1, I2) a newline and its data's topic
``fault``          -1     -1     ``raised:``/``ended:``/``handler:`` + ``<thread>: <what>``: an
                                  implementation thread raised or ended early
``bad_call``       op     -1     bad input (``sim.scenario.BAD_INPUTS``); op: its number
``bad_ret``        op     -1     the bad input was accepted (V1)
``bad_err``        op     -1     the exception's class name: rejected at the call
``skip``           -1     -1     an operation the adapter cannot express (not exercised)
``settle_call``    -1     -1     "" (the driver waits for quiescence)
``settle_ret``     -1     -1     "", or ``bound=<s>`` if a simulated settle gave up
``shutdown_call``  -1     -1     ""
``shutdown_ret``   -1     -1     ""
``advance``        -1     -1     seconds of virtual time the driver sleeps
=================  =====  =====  =================================================

``History.messages[msg]`` holds what the oracle needs of each send: topic, expiry
(as an absolute time on the history's clock, or None), droppable, local, sender.
``History.topics[sub]`` holds each subscription's topic, ``History.objects[sub]`` its channel
object (subscriptions of one object are re-subscriptions; missing: an object of its own),
and ``History.notices`` says whether the recorder records internal notices (I1/I2 are
checked only then). ``unsub_call``/``unsub_ret`` name a subscription of the object they
unsubscribe; the oracle works out which subscription they ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["Event", "History", "MessageInfo", "make_event"]


class Event(NamedTuple):
    index: int  # type: ignore[assignment]  # position in the history (shadows tuple.index)
    time: float  #: the clock when it happened (virtual seconds, or seconds since start)
    thread: int  #: the thread that did it (virtual thread id, or a small real-thread number)
    kind: str
    msg: int
    sub: int
    info: str


#: ``make_event(Event, (index, time, thread, kind, msg, sub, info))``: an ``Event`` without
#: NamedTuple's ``__new__`` frame (recorders make several per simulated delivery)
make_event = tuple.__new__


@dataclass
class MessageInfo:
    topic: str
    expiry: float | None  #: absolute, on the history's clock
    droppable: bool
    local: bool
    sender: int  #: the sending thread


@dataclass
class History:
    """The events of one run plus what each message and subscription was."""

    events: list[Event] = field(default_factory=list)
    messages: dict[int, MessageInfo] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    #: sub -> the channel object it subscribed (a small number); a subscription missing here
    #: has an object of its own. Subscriptions of one object are re-subscriptions (A2).
    objects: dict[int, int] = field(default_factory=dict)
    #: the recorder records every delivery of an internal notice (I1, I2) as ``internal``,
    #: with the data's topic: only then are the notices checked
    notices: bool = False

    def add(
        self, time: float, thread: int, kind: str, msg: int = -1, sub: int = -1, info: str = ""
    ) -> None:
        events = self.events  # tuple.__new__: the same Event, without NamedTuple's __new__ frame
        events.append(make_event(Event, (len(events), time, thread, kind, msg, sub, info)))

    def to_json(self) -> dict[str, Any]:
        return {
            "events": [list(e) for e in self.events],
            "messages": {
                str(k): [m.topic, m.expiry, m.droppable, m.local, m.sender]
                for k, m in sorted(self.messages.items())
            },
            "topics": {str(k): t for k, t in sorted(self.topics.items())},
            **(
                {"objects": {str(k): o for k, o in sorted(self.objects.items())}}
                if self.objects
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        history = cls()
        history.events = [Event(*e) for e in data["events"]]
        history.messages = {int(k): MessageInfo(*v) for k, v in data["messages"].items()}
        history.topics = {int(k): v for k, v in data["topics"].items()}
        history.objects = {int(k): int(v) for k, v in data.get("objects", {}).items()}
        history.notices = data.get("notices") is True
        return history

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
