"""Several processes on one stream (P1-P4, P6-P7): the merged histories of a workload, judged.

Each process records its own ``chanspec-procs/1`` history: JSON Lines, one event per line,
in the order the events happened in that process (a lock-protected writer). Ids are
global strings (``p0/m3``, ``p0/s1``) and the stream ids of entries (``ms-n``) are the
one clock all processes share, so no per-process clock is ever compared with another's.
Events: ``begin``; ``sub_call``/``sub_ret``/``unsub_call``/``unsub_ret`` (``sub``,
``topic``, ``pos``: the process's stream position then); ``send_call`` (``msg``,
``topic``, ``local``), ``send_ret``; ``publish`` (``msg``, ``id``: its entry); ``start``,
``end`` (``msg``, ``sub``); ``drop`` (``msg``, ``sub`` or null, ``reason``); ``reset``
(the broker reported a lost stream); ``shutdown_call`` (``pos``), ``shutdown_ret``;
``join_call``, ``join_ret`` (optional: a history without them has no ``join()`` judged).

Rules (spec section 20):

* [P1] per subscription, the non-local messages it starts have increasing entry ids; and
  a local message whose ``send_ret`` its process recorded before the ``send_call`` of a
  non-local one is not started after that non-local one by a subscription of the process.
* [P2] MUST NOT: a start of a non-local message whose entry is at or before the
  subscription's ``sub_call`` position, or after its ``unsub_ret`` position. MUST: a
  published non-local message with a matching topic, entry after the ``sub_ret``
  position and at or before the ``unsub_call`` / ``shutdown_call`` position, in a
  process that reached ``shutdown_ret``, is started or reported dropped for it --
  unless the server lost the stream (``lost_before``: entries before that id) and
  that process reported the ``reset`` or began after the loss (``began_after_loss``: the
  stream it reads never held them) (P7: the permitted, reported loss).
* [P8] a message its sender reported dropped (``error``) without publishing it may still
  have an entry (the last ``XADD``'s reply was lost): it may be started, at no known place.
* [P7] across a lost stream, a message whose sender sent it before reporting the reset
  and published it at an entry after the loss may have had a first entry, lost, that some
  processes read: its place in the order and the late bound of P2 are not judged.
* [P3] a subscription starts a message twice.
* [P4] a ``local`` message is published, or started in another process.
* [P6] a process that reached ``shutdown_ret``: each non-local message it sent is
  published or reported dropped as a whole. And its own subscribers get its own messages
  (``_check_own_delivery``): once its ``shutdown()`` -- or a ``join()`` -- returned, each
  non-local message it sent (before that ``join()``) and published was started, or
  reported dropped, for each subscription of that process whose ``subscribe()`` returned
  before the message's ``send()`` began and that did not unsubscribe before the entry
  was read. P2 alone does not see this: its bound is the position when ``shutdown()``
  was called, and a process's last messages are read back after that.

A message reported dropped as a whole excuses the subscriptions of the process that
reported it (a published message's sender may report it not read back there, P6).

Reading never runs code: each line is parsed as JSON and checked; the first defect
raises ``ProcessHistoryError`` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refimpl.topics import match

__all__ = [
    "CLAUSES",
    "ProcessHistory",
    "ProcessHistoryError",
    "Violation",
    "check_processes",
    "load_process",
]

CLAUSES = ("P1", "P2", "P3", "P4", "P6", "P7")

StreamId = tuple[int, int]

_FIELDS: dict[str, tuple[str, ...]] = {
    "begin": ("proc",),
    "sub_call": ("sub", "topic", "pos"),
    "sub_ret": ("sub", "pos"),
    "unsub_call": ("sub", "pos"),
    "unsub_ret": ("sub", "pos"),
    "send_call": ("msg", "topic", "local"),
    "send_ret": ("msg",),
    "publish": ("msg", "id"),
    "start": ("msg", "sub"),
    "end": ("msg", "sub"),
    "drop": ("msg", "sub", "reason"),
    "reset": (),
    "shutdown_call": ("pos",),
    "shutdown_ret": (),
    "join_call": (),
    "join_ret": (),
}


class ProcessHistoryError(ValueError):
    """Not a ``chanspec-procs/1`` history; the message names the file and line."""


@dataclass(frozen=True)
class Violation:
    clause: str
    text: str


@dataclass
class ProcessHistory:
    """One process's events, as read (each a dict with the fields ``_FIELDS`` names)."""

    name: str
    events: list[dict[str, Any]] = field(default_factory=list)
    killed: bool = False


def parse_id(text: str) -> StreamId:
    ms, _, n = text.partition("-")
    if not (ms.isdigit() and n.isdigit()):
        raise ValueError(f"not a stream id: {text[:40]!r}")
    return int(ms), int(n)


def load_process(path: Path, *, killed: bool = False) -> ProcessHistory:
    """Read one process's history; a killed process may end with a torn last line."""
    history = ProcessHistory(path.stem, killed=killed)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or event.get("ev") not in _FIELDS:
                raise ValueError("not an event object with a known 'ev'")
            for name in _FIELDS[event["ev"]]:
                if name not in event:
                    raise ValueError(f"{event['ev']} without {name!r}")
            if "pos" in event:
                parse_id(event["pos"])
            if "id" in event:
                parse_id(event["id"])
        except (ValueError, TypeError) as exc:
            if killed and number == len(lines):
                break  # the line it was writing when it died
            raise ProcessHistoryError(f"{path}:{number}: {exc}") from None
        history.events.append(event)
    return history


@dataclass
class _Sub:
    proc: str
    topic: str
    call: StreamId = (0, 0)
    ret: StreamId | None = None
    unsub_call: StreamId | None = None
    unsub_ret: StreamId | None = None
    starts: list[str] = field(default_factory=list)


def check_processes(
    histories: list[ProcessHistory],
    *,
    lost_before: StreamId | None = None,
    began_after_loss: frozenset[str] = frozenset(),
) -> tuple[list[Violation], dict[str, int]]:
    """The violations of the merged histories, and counts (``must``, ``delivered``, ...)."""
    found: list[Violation] = []
    topic: dict[str, str] = {}
    local: dict[str, bool] = {}
    sender: dict[str, str] = {}
    entry: dict[str, StreamId] = {}
    dropped: set[tuple[str, str | None]] = set()  # (msg, sub); sub None: the whole message
    whole: set[tuple[str, str]] = set()  # (msg, process): dropped as a whole there
    subs: dict[str, _Sub] = {}
    finished: dict[str, StreamId] = {}  # process -> position at shutdown_call, if it returned
    reset: set[str] = set()  # processes that reported the lost stream
    doubt: set[str] = set()  # messages that may have an entry other than the one known (P7, P8)
    order: dict[str, int] = {}  # "send_call m" / "send_ret m" -> index in its process
    counts = {"must": 0, "excused": 0, "delivered": 0, "published": 0, "dropped": 0}
    for h in histories:
        shutdown_pos: StreamId | None = None
        unsure: set[str] = set()  # sent, not yet published, when no reset was reported yet
        for index, e in enumerate(h.events):
            ev = e["ev"]
            if ev in ("send_call", "send_ret"):
                order[f"{ev} {e['msg']}"] = index
            if ev == "send_call":
                topic[e["msg"]], local[e["msg"]], sender[e["msg"]] = e["topic"], e["local"], h.name
                if not e["local"]:
                    unsure.add(e["msg"])
            elif ev == "publish":
                entry[e["msg"]] = parse_id(e["id"])
                counts["published"] += 1
                if lost_before is not None and entry[e["msg"]] >= lost_before and (
                    e["msg"] in unsure
                ):
                    doubt.add(e["msg"])  # its reset may come later in this history
                unsure.discard(e["msg"])
            elif ev == "drop":
                dropped.add((e["msg"], e["sub"]))
                if e["sub"] is None:
                    whole.add((e["msg"], h.name))
                if e["sub"] is None and e["reason"] == "error":
                    doubt.add(e["msg"])  # its last XADD may have been done, the reply lost (P8)
                counts["dropped"] += 1
            elif ev == "sub_call":
                subs[e["sub"]] = _Sub(h.name, e["topic"], parse_id(e["pos"]))
            elif ev == "sub_ret":
                subs[e["sub"]].ret = parse_id(e["pos"])
            elif ev == "unsub_call":
                subs[e["sub"]].unsub_call = parse_id(e["pos"])
            elif ev == "unsub_ret":
                subs[e["sub"]].unsub_ret = parse_id(e["pos"])
            elif ev == "start":
                subs[e["sub"]].starts.append(e["msg"])
                counts["delivered"] += 1
            elif ev == "reset":
                reset.add(h.name)
                unsure.clear()
            elif ev == "shutdown_call":
                shutdown_pos = parse_id(e["pos"])
            elif ev == "shutdown_ret" and shutdown_pos is not None:
                finished[h.name] = shutdown_pos
    killed = {h.name for h in histories if h.killed}
    for m, is_local in local.items():
        if is_local and m in entry:
            found.append(Violation("P4", f"local message {m} was added to the stream"))
    doubt = {m for m in doubt if m not in entry or sender[m] in reset or sender[m] in killed}
    unaware = reset | began_after_loss  # never read the lost entries, and may say so
    for s, sub in sorted(subs.items()):
        _check_starts(s, sub, local, sender, entry, killed, doubt, found)
        _check_local_first(s, sub, local, sender, order, found)
    for s, sub in sorted(subs.items()):
        if sub.proc not in finished or sub.ret is None:
            continue
        upper = sub.unsub_call if sub.unsub_call is not None else finished[sub.proc]
        started = set(sub.starts)
        for m, sid in sorted(entry.items(), key=lambda kv: kv[1]):
            if local[m] or not (sub.ret < sid <= upper) or not match(topic[m], sub.topic):
                continue
            missing = m not in started and (m, s) not in dropped and (m, sub.proc) not in whole
            if lost_before is not None and sid < lost_before and sub.proc in unaware:
                counts["excused"] += missing  # lost with the stream, and reported (P7)
                continue
            counts["must"] += 1
            if missing:
                found.append(Violation("P2", f"{s} never received {m} (entry {_show(sid)}, "
                                             f"inside its window) and no drop was reported"))
    for m, proc in sorted(sender.items()):
        if proc in finished and not local[m] and m not in entry and (m, None) not in dropped:
            found.append(Violation("P6", f"{proc} shut down, but its message {m} was neither "
                                         "added to the stream nor reported dropped"))
    for h in histories:
        found += _check_own_delivery(h, entry, local)
    return found, counts


def _check_own_delivery(
    h: ProcessHistory, entry: dict[str, StreamId], local: dict[str, bool]
) -> list[Violation]:
    """P6 (and R5): when *h*'s ``shutdown()`` or a ``join()`` returns, its own subscribers
    have got its own published non-local messages, or a drop was reported for them.

    A non-local message is delivered in its own process only when the broker reads it back
    from the stream (P1); a broker that stops reading back early (a lost reply, a timeout,
    closing) must still either deliver it here or report it. Owed: message *m* sent by
    *h* (``send_ret`` before the ``join_call``; for ``shutdown_ret``, every one), with an
    entry, to each subscription *s* of *h* whose ``sub_ret`` came before *m*'s
    ``send_call``, whose topic matches, and that had not called ``unsubscribe()`` at a
    position before *m*'s entry.
    """
    found: list[Violation] = []
    topics: dict[str, str] = {}  # sub -> its topic, from its sub_call
    subs: dict[str, tuple[str, int]] = {}  # sub -> (topic, index of its sub_ret)
    unsub: dict[str, StreamId] = {}  # sub -> position at its unsub_call
    sent: dict[str, tuple[int, str]] = {}  # own non-local msg -> (index of send_call, topic)
    returned: set[str] = set()  # own messages whose send() returned
    settled: set[tuple[str, str | None]] = set()  # (msg, sub) started or dropped; None: whole
    before_join: list[str] = []  # sends that returned before the pending join_call
    for index, e in enumerate(h.events):
        ev = e["ev"]
        if ev == "sub_call":
            topics[e["sub"]] = e["topic"]
        elif ev == "sub_ret" and e["sub"] in topics:
            subs[e["sub"]] = (topics[e["sub"]], index)
        elif ev == "unsub_call":
            unsub[e["sub"]] = parse_id(e["pos"])
        elif ev == "send_call" and not e["local"]:
            sent[e["msg"]] = (index, e["topic"])
        elif ev == "send_ret":
            returned.add(e["msg"])
        elif ev in ("start", "drop"):
            settled.add((e["msg"], e["sub"]))
        elif ev == "join_call":
            before_join = [m for m in sent if m in returned]
        elif ev in ("join_ret", "shutdown_ret"):
            owed = before_join if ev == "join_ret" else list(sent)
            what = "a join()" if ev == "join_ret" else "its shutdown()"
            for m in owed:
                sid = entry.get(m)
                if sid is None or local.get(m, False) or (m, None) in settled:
                    continue  # not published (P6 above, R5), or reported dropped here
                at, m_topic = sent[m]
                for s, (topic, ret) in sorted(subs.items()):
                    if ret > at or not match(m_topic, topic) or (m, s) in settled:
                        continue
                    if s in unsub and unsub[s] < sid:
                        continue  # unsubscribed before its entry was read: not owed (P2)
                    found.append(Violation("P6", (
                        f"{h.name}: {what} returned before its own subscription {s} got its "
                        f"own message {m} (entry {_show(sid)}), and no drop was reported: a "
                        "process delivers its non-local messages when it reads them back "
                        "from the stream, and may not stop reading back before that")))
            before_join = []
    return found


def _check_starts(
    s: str,
    sub: _Sub,
    local: dict[str, bool],
    sender: dict[str, str],
    entry: dict[str, StreamId],
    killed: set[str],
    doubt: set[str],
    found: list[Violation],
) -> None:
    seen: set[str] = set()
    last: tuple[StreamId, str] | None = None
    for m in sub.starts:
        if m in seen:
            found.append(Violation("P3", f"{s} received {m} twice"))
            continue
        seen.add(m)
        if local.get(m, False):
            if sender.get(m) != sub.proc:
                found.append(Violation("P4", f"local message {m} reached {s} in another process"))
            continue
        sid = entry.get(m)
        if sid is None and (sender.get(m) in killed or m in doubt):
            continue  # killed between its XADD and recording it, or its XADD's reply was lost
        if sid is None:
            found.append(Violation("P4", f"{s} received {m}, which was never added to the stream"))
            continue
        if m in doubt:  # it may have been read at a first entry, lost with the stream (P7)
            if sid <= sub.call:
                found.append(Violation("P2", f"{s} received {m}, whose entry {_show(sid)} was "
                                             f"read before it subscribed"))
            continue
        if last is not None and sid <= last[0]:
            found.append(Violation("P1", f"{s} received {m} (entry {_show(sid)}) after "
                                         f"{last[1]} (entry {_show(last[0])})"))
        last = (sid, m) if last is None or sid > last[0] else last
        if sid <= sub.call:
            found.append(Violation("P2", f"{s} received {m}, whose entry {_show(sid)} was read "
                                         f"before it subscribed (position {_show(sub.call)})"))
        if sub.unsub_ret is not None and sid > sub.unsub_ret:
            found.append(Violation("P2", f"{s} received {m} (entry {_show(sid)}), read after it "
                                         "unsubscribed"))


def _check_local_first(
    s: str,
    sub: _Sub,
    local: dict[str, bool],
    sender: dict[str, str],
    order: dict[str, int],
    found: list[Violation],
) -> None:
    """P1: a local message sent (returned) before a non-local one of its process begins."""
    started_remote: list[str] = []  # non-local messages of sub's own process started so far
    for m in sub.starts:
        if sender.get(m) != sub.proc:
            continue
        if not local.get(m, False):
            started_remote.append(m)
            continue
        ret = order.get(f"send_ret {m}")
        if ret is None:
            continue
        for r in started_remote:
            if ret < order.get(f"send_call {r}", -1):
                found.append(Violation("P1", f"{s} received the local {m} after {r}, a non-local "
                                             f"message its process sent after {m}'s send() "
                                             "returned"))
                break


def _show(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"
