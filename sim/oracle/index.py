"""The history index: every fact the checkers need, gathered in one forward pass.

The checkers never walk the raw event list themselves (except where they need an
event's time or info by index): they read the named facts below. Facts that depend on
the *moment* an event happened -- which handlers were running when a send began, which
start of a subscription was still open when the next began, whether a settle returned
with a handler still running -- are captured here, during the pass, because afterwards
they can no longer be seen.

Event ``i`` must be ``history.events[i]`` (``Event.index == i``), as ``History.add``
makes it. Only the first ``shutdown_call`` / ``shutdown_ret`` count. Unknown kinds are
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from refimpl.topics import match
from sim.history import Event, History, MessageInfo

__all__ = ["KEY", "HistoryIndex", "SubWindow", "build_index"]

KEY = 1 << 32  #: pair key: ``msg * KEY + sub`` (sub ids are small non-negative ints)


@dataclass(frozen=True)
class SubWindow:
    """One subscription's call intervals as event indices (``never``: after every event).

    ``unsub_call`` is the first unsubscribe of the channel object that could have ended
    this subscription (its call returned after this subscribe began); ``unsub_ret`` is the
    return of the first one that certainly did (its call began after this subscribe
    returned). An unsubscribe that overlaps the subscribe may have taken effect first and
    done nothing (A2), so it never makes the subscription certainly over.
    """

    sub: int
    sub_call: int
    sub_ret: int
    unsub_call: int
    unsub_ret: int


@dataclass
class HistoryIndex:
    """Named facts of one history, built once by ``build_index``; see the module docstring."""

    history: History
    events: list[Event]
    messages: dict[int, MessageInfo]
    tolerance: float
    never: int  #: an index after every event (``len(events) + 1``)

    # sends, per message id
    send_call: dict[int, int] = field(default_factory=dict)
    send_ret: dict[int, int] = field(default_factory=dict)
    send_err: dict[int, int] = field(default_factory=dict)
    seq: dict[int, int] = field(default_factory=dict)  #: integer seqs only
    #: msg -> the message with the largest seq returned before its send_call (-1: none)
    seq_cap: dict[int, int] = field(default_factory=dict)
    from_handler: set[int] = field(default_factory=set)  #: sent while its thread ran a handler
    accepted_after_shutdown: list[int] = field(default_factory=list)  #: send_ret indices

    # subscriptions, per sub id (each dict keeps the first event of its kind)
    sub_call: dict[int, int] = field(default_factory=dict)
    sub_ret: dict[int, int] = field(default_factory=dict)
    sub_err: dict[int, int] = field(default_factory=dict)  #: subscribe() raised
    unsub_calls: list[tuple[int, int]] = field(default_factory=list)  #: (sub named, index)
    unsub_rets: dict[int, int] = field(default_factory=dict)  #: unsub_call index -> unsub_ret

    # deliveries
    first_start: dict[int, int] = field(default_factory=dict)  #: pair key -> first start
    starts_of_sub: dict[int, list[int]] = field(default_factory=dict)  #: in history order
    n_starts: int = 0
    twice: list[tuple[int, int]] = field(default_factory=list)  #: (first start, later start)
    overlaps: list[tuple[int, int]] = field(default_factory=list)  #: (still open, new start)
    flagged_starts: list[int] = field(default_factory=list)  #: starts with an info (``bad:``)
    expiring_starts: list[int] = field(default_factory=list)  #: starts of expiring messages
    late_starts: list[int] = field(default_factory=list)  #: starts after ``shutdown_ret``
    drops: list[int] = field(default_factory=list)
    internals: list[int] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)
    bad_calls: dict[int, int] = field(default_factory=dict)  #: bad-input op id -> bad_call
    bad_rets: dict[int, int] = field(default_factory=dict)  #: accepted bad input
    bad_errs: dict[int, int] = field(default_factory=dict)  #: rejected bad input
    skips: list[int] = field(default_factory=list)

    # driver waits
    settles: list[tuple[int, int, bool]] = field(default_factory=list)  #: (call, ret, quiet)
    shutdown_call: int = -1
    shutdown_ret: int = -1

    # derived after the pass (``_derive``)
    sub_topic: dict[int, str] = field(default_factory=dict)
    msg_topic: dict[int, str] = field(default_factory=dict)
    objects: dict[int, int] = field(default_factory=dict)  #: sub -> channel object
    windows: dict[int, SubWindow] = field(default_factory=dict)
    #: message topic -> the windows of the subscriptions whose topic matches it
    matching: dict[str, list[SubWindow]] = field(default_factory=dict)

    def obj(self, sub: int) -> int:
        """The channel object of *sub* (by default each subscription has its own)."""
        return self.objects.get(sub, -1 - sub)


def build_index(history: History, tolerance: float = 0.0) -> HistoryIndex:
    events = history.events
    ix = HistoryIndex(history, events, history.messages, tolerance, len(events) + 1)
    send_call, send_ret, seq, seq_cap = ix.send_call, ix.send_ret, ix.seq, ix.seq_cap
    first_start, starts_of_sub = ix.first_start, ix.starts_of_sub
    twice, overlaps = ix.twice, ix.overlaps
    flagged, expiring_starts, late_starts = ix.flagged_starts, ix.expiring_starts, ix.late_starts
    expiring = {m for m, info in history.messages.items() if info.expiry is not None}
    K = KEY
    max_seq_msg = -1
    max_seq = 0
    sdr = -1
    open_starts: dict[int, list[int]] = {}  # sub -> starts without end, oldest first
    depth: dict[int, int] = {}  # thread -> handlers it is running
    running = 0
    settle_open: dict[int, int] = {}  # thread -> settle_call index
    unsub_open: dict[int, int] = {}  # thread -> unsub_call index
    n_starts = 0
    for i, _t, th, kind, m, s, info in events:
        if kind == "start":
            n_starts += 1
            first = first_start.setdefault(m * K + s, i)
            if first != i:
                twice.append((first, i))
            mine = starts_of_sub.get(s)
            if mine is None:
                mine = starts_of_sub[s] = []
                stack = open_starts[s] = []
            else:
                stack = open_starts[s]
            if stack:
                overlaps.append((stack[-1], i))
            stack.append(i)
            mine.append(i)
            depth[th] = depth.get(th, 0) + 1
            running += 1
            if info:
                flagged.append(i)
            if m in expiring:
                expiring_starts.append(i)
            if sdr >= 0:
                late_starts.append(i)
        elif kind == "end":
            stack = open_starts.get(s)  # type: ignore[assignment]
            if stack:
                if events[stack[-1]].msg == m:
                    stack.pop()
                else:
                    for j in range(len(stack) - 1, -1, -1):
                        if events[stack[j]].msg == m:
                            del stack[j]
                            break
                    else:
                        continue  # an end without a start: nothing to close
                running -= 1
                depth[th] = depth.get(th, 1) - 1
        elif kind == "route":
            continue
        elif kind == "send_call":
            if m in send_call:
                continue
            send_call[m] = i
            if depth.get(th):
                ix.from_handler.add(m)
            seq_cap[m] = max_seq_msg
        elif kind == "send_ret":
            send_ret[m] = i
            if info:
                try:
                    q = int(info)
                except ValueError:
                    pass
                else:
                    seq[m] = q
                    if max_seq_msg < 0 or q > max_seq:
                        max_seq = q
                        max_seq_msg = m
            if 0 <= sdr < send_call.get(m, i):
                ix.accepted_after_shutdown.append(i)
        elif kind == "drop":
            ix.drops.append(i)
        elif kind == "sub_call":
            ix.sub_call.setdefault(s, i)
        elif kind == "sub_ret":
            ix.sub_ret.setdefault(s, i)
        elif kind == "sub_err":
            ix.sub_err.setdefault(s, i)
        elif kind == "unsub_call":
            ix.unsub_calls.append((s, i))
            unsub_open[th] = i  # paired with this thread's next unsub_ret
        elif kind == "unsub_ret":
            call = unsub_open.pop(th, -1)
            if call >= 0:
                ix.unsub_rets[call] = i
        elif kind == "send_err":
            ix.send_err.setdefault(m, i)
        elif kind == "internal":
            ix.internals.append(i)
        elif kind == "settle_call":
            settle_open[th] = i
        elif kind == "settle_ret":
            ix.settles.append((settle_open.pop(th, -1), i, running == 0))
        elif kind == "shutdown_call":
            if ix.shutdown_call < 0:
                ix.shutdown_call = i
        elif kind == "shutdown_ret":
            if sdr < 0:
                sdr = ix.shutdown_ret = i
        elif kind == "fault":
            ix.faults.append(i)
        elif kind == "bad_call":
            ix.bad_calls.setdefault(m, i)
        elif kind == "bad_ret":
            ix.bad_rets.setdefault(m, i)
        elif kind == "bad_err":
            ix.bad_errs.setdefault(m, i)
        elif kind == "skip":
            ix.skips.append(i)
    ix.n_starts = n_starts
    _derive(ix)
    return ix


def _derive(ix: HistoryIndex) -> None:
    """Topics, channel objects, subscription windows and the matching relation."""
    history, events, never = ix.history, ix.events, ix.never
    sub_topic = ix.sub_topic
    sub_topic.update(history.topics)
    for s, i in ix.sub_call.items():
        if s not in sub_topic:
            sub_topic[s] = events[i].info
    msg_topic = ix.msg_topic
    for m, info in ix.messages.items():
        msg_topic[m] = info.topic
    for m, i in ix.send_call.items():
        if m not in msg_topic:
            msg_topic[m] = events[i].info
    ix.objects = dict(history.objects)
    obj = ix.obj
    # unsubscribes per channel object: (call, ret)
    unsubs: dict[int, list[tuple[int, int]]] = {}
    for s, call in ix.unsub_calls:
        unsubs.setdefault(obj(s), []).append((call, ix.unsub_rets.get(call, never)))
    windows = ix.windows
    for s in sorted(sub_topic):
        s_call = ix.sub_call.get(s, never)
        s_ret = ix.sub_ret.get(s, never)
        u_call = u_ret = never
        for call, ret in unsubs.get(obj(s), ()):
            if ret > s_call and call < u_call:
                u_call = call
            if call > s_ret and ret < u_ret:
                u_ret = ret
        windows[s] = SubWindow(s, s_call, s_ret, u_call, u_ret)
    recs = [windows[s] for s in sorted(windows) if s not in ix.sub_err]
    for topic in set(msg_topic.values()):
        ix.matching[topic] = [w for w in recs if match(topic, sub_topic[w.sub])]
