"""The language-neutral history format ``chanspec-history/1``: JSON Lines to and from ``History``.

Any implementation, in any language, that records its runs in this format can be
judged by the same oracle (``python -m sim check FILE.jsonl``); the format is defined in
``specs/history-format.md``. Reading never runs code: each line is parsed as JSON and
every field is checked, and the first defect raises ``HistoryFormatError`` naming the
file and line. Ids must be introduced before they are used (a ``start`` of a message
needs its ``send_call`` earlier in the file), so the oracle never meets a dangling id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.files import read_file
from sim.history import Event, History, MessageInfo

__all__ = ["FORMAT", "HistoryFormatError", "Recorded", "dumps", "load", "loads", "save"]

FORMAT = "chanspec-history/1"

COPY_SEEN = ("ok", "sender-change-seen", "other-holder-change-seen", "nested-not-shared")

#: kind -> (field, type) beyond ev/t/thread; "msg"/"sub" are ids, "msg?"/"sub?" may be null.
_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "send_call": (
        ("msg", "id"),
        ("topic", "str"),
        ("expiry", "num?"),
        ("droppable", "bool"),
        ("local", "bool"),
    ),
    "send_ret": (("msg", "id"), ("seq", "seq")),
    "send_err": (("msg", "id"), ("error", "str")),
    "sub_call": (("sub", "id"), ("topic", "str")),
    "sub_ret": (("sub", "id"),),
    "unsub_call": (("sub", "id"),),
    "unsub_ret": (("sub", "id"),),
    "start": (("msg", "id"), ("sub", "id"), ("copy", "copy")),
    "end": (("msg", "id"), ("sub", "id")),
    "drop": (("msg", "id"), ("sub", "id?"), ("reason", "str")),
    "route": (("msg", "id"), ("deliveries", "id")),
    "internal": (("sub", "id"), ("topic", "str")),
    "settle_call": (),
    "settle_ret": (),
    "shutdown_call": (),
    "shutdown_ret": (),
    "advance": (("seconds", "num"),),
    # scenario format 2 (sim/history.py documents them)
    "sub_err": (("sub", "id"), ("error", "str")),
    "fault": (("what", "str"),),
    "bad_call": (("op", "id"), ("what", "str")),
    "bad_ret": (("op", "id"), ("what", "str")),
    "bad_err": (("op", "id"), ("error", "str")),
    "skip": (("what", "str"),),
}
#: the internal notices (I1, I2) whose ``internal`` events must name their data's topic
NOTICE_TOPICS = ("lona.channels.subscribe", "lona.channels.unsubscribe")
#: optional fields, per event kind: ``object`` (the channel object a subscription is of:
#: re-subscriptions, A2), ``about`` (an internal notice's data topic, I1/I2), ``error``
#: (unsubscribe() raised, A2)
_OPTIONAL: dict[str, tuple[tuple[str, str], ...]] = {
    "sub_call": (("object", "id"),),
    "internal": (("about", "str"),),
    "unsub_ret": (("error", "str"),),
}


class HistoryFormatError(ValueError):
    """The file is not a ``chanspec-history/1`` history; the message names file and line."""


@dataclass
class Recorded:
    """A history read from a file, with what the header and thread names said."""

    history: History
    threads: list[str] = field(default_factory=list)  #: thread names, by History thread number
    impl: str = ""
    tolerance: float = 0.0
    complete: bool = True


# writing -----------------------------------------------------------------------------------
def _seq_field(info: Any) -> int | str | None:
    text = str(info)
    if text == "":
        return None
    try:
        number = int(text)
    except ValueError:
        return text
    return number if str(number) == text else text


def _event_fields(event: Event, history: History) -> dict[str, Any]:
    kind, msg, sub, info = event.kind, event.msg, event.sub, event.info
    if kind == "send_call":
        m = history.messages[msg]
        return {
            "msg": msg,
            "topic": m.topic,
            "expiry": m.expiry,
            "droppable": m.droppable,
            "local": m.local,
        }
    if kind == "send_ret":
        return {"msg": msg, "seq": _seq_field(info)}
    if kind == "send_err":
        return {"msg": msg, "error": str(info)}
    if kind == "sub_call":
        fields = {"sub": sub, "topic": history.topics.get(sub, str(info))}
        if sub in history.objects:
            fields["object"] = history.objects[sub]
        return fields
    if kind == "unsub_ret" and str(info).startswith("raised "):
        return {"sub": sub, "error": str(info).removeprefix("raised ")}
    if kind in ("sub_ret", "unsub_call", "unsub_ret"):
        return {"sub": sub}
    if kind in ("sub_err", "bad_err"):
        return {
            "sub" if kind == "sub_err" else "op": sub if kind == "sub_err" else msg,
            "error": info,
        }
    if kind in ("bad_call", "bad_ret"):
        return {"op": msg, "what": str(info)}
    if kind in ("fault", "skip"):
        return {"what": str(info)}
    if kind == "start":
        text = str(info)
        copy = text.removeprefix("bad:") if text.startswith("bad:") else "ok"
        return {"msg": msg, "sub": sub, "copy": copy}
    if kind == "end":
        return {"msg": msg, "sub": sub}
    if kind == "drop":
        return {"msg": msg, "sub": None if sub < 0 else sub, "reason": str(info)}
    if kind == "route":
        return {"msg": msg, "deliveries": int(info)}
    if kind == "internal":
        topic, newline, about = str(info).partition("\n")
        return {"sub": sub, "topic": topic, **({"about": about} if newline else {})}
    if kind == "advance":
        text = str(info)
        return {"seconds": int(text) if text.lstrip("-").isdigit() else float(text)}
    return {}


def dumps(
    history: History,
    *,
    impl: str = "",
    thread_names: Mapping[int, str] | None = None,
    tolerance: float = 0.0,
    complete: bool = True,
) -> str:
    """*history* as ``chanspec-history/1`` text (one header line, one line per event)."""
    names = dict(thread_names or {})
    header: dict[str, Any] = {"format": FORMAT, "clock": "s", "tolerance": tolerance}
    if impl:
        header["impl"] = impl
    if not complete:
        header["complete"] = False
    if history.notices:
        header["notices"] = True
    lines = [json.dumps(header, sort_keys=True)]
    for event in history.events:
        row: dict[str, Any] = {
            "ev": event.kind,
            "t": event.time,
            "thread": names.get(event.thread, f"thread-{event.thread}"),
        }
        row.update(_event_fields(event, history))
        lines.append(json.dumps(row, sort_keys=True))
    return "\n".join(lines) + "\n"


def save(path: str | Path, history: History, **options: Any) -> None:
    Path(path).write_text(dumps(history, **options), encoding="utf-8")


# reading -----------------------------------------------------------------------------------
def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: the largest time or duration a history may hold, in seconds (about 31,700 years): the
#: oracle counts in microseconds, and 1e308 s made that ``inf`` (``OverflowError``)
MAX_SECONDS = 1e12


def _is_num(value: Any) -> bool:
    return (
        (_is_int(value) or isinstance(value, float))
        and math.isfinite(value)
        and -MAX_SECONDS <= value <= MAX_SECONDS
    )


def _show(value: Any) -> str:
    """A JSON value quoted in an error line, at most about 80 characters of it."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (lambda v: _is_int(v) and 0 <= v < 1 << 31, "a non-negative integer"),
    "id?": (lambda v: v is None or (_is_int(v) and 0 <= v < 1 << 31), "an id or null"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "num": (_is_num, "a number of seconds within ±1e12"),
    "num?": (lambda v: v is None or _is_num(v), "a number of seconds within ±1e12, or null"),
    "seq": (lambda v: v is None or _is_int(v) or isinstance(v, str), "an integer or null"),
    "copy": (lambda v: v in COPY_SEEN, "one of " + ", ".join(COPY_SEEN)),
}


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.line = 0
        self.recorded = Recorded(History())
        self.thread_ids: dict[str, int] = {}

    def fail(self, text: str) -> HistoryFormatError:
        return HistoryFormatError(f"{self.source}:{self.line}: {text}")

    def parse(self, text: str) -> Any:
        try:
            return json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise self.fail("nested too deeply") from None
        except ValueError as exc:
            raise self.fail(f"not JSON: {exc}") from None

    def header(self, obj: Any) -> None:
        if not isinstance(obj, dict) or "format" not in obj:
            raise self.fail(f'the first line must be the header {{"format": "{FORMAT}", ...}}')
        if obj["format"] != FORMAT:
            raise self.fail(f"format {_show(obj['format'])} is not {FORMAT!r}")
        rec = self.recorded
        impl = obj.get("impl", "")
        tolerance = obj.get("tolerance", 0.0)
        complete = obj.get("complete", True)
        if not isinstance(impl, str):
            raise self.fail("header field 'impl' must be a string")
        if not _is_num(tolerance) or tolerance < 0:
            raise self.fail("header field 'tolerance' must be a number of seconds, 0 to 1e12")
        if not isinstance(complete, bool):
            raise self.fail("header field 'complete' must be true or false")
        if obj.get("clock", "s") != "s":
            raise self.fail(f"header field 'clock' must be \"s\", not {_show(obj.get('clock'))}")
        rec.impl, rec.tolerance, rec.complete = impl, float(tolerance), complete
        rec.history.notices = obj.get("notices") is True

    def event(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise self.fail("an event must be a JSON object")
        kind = obj.get("ev")
        if not isinstance(kind, str) or kind not in _FIELDS:  # a list or dict is unhashable
            raise self.fail(f"unknown event kind {_show(kind)}")
        values: dict[str, Any] = {}
        for name, check in (("t", "num"), ("thread", "str"), *_FIELDS[kind]):
            if name not in obj:
                raise self.fail(f"{kind} needs field {name!r}")
            ok, expected = _CHECKS[check]
            if not ok(obj[name]):
                raise self.fail(f"{kind} field {name!r} must be {expected}, not {_show(obj[name])}")
            values[name] = obj[name]
        for name, check in _OPTIONAL.get(kind, ()):
            if name in obj:
                ok, expected = _CHECKS[check]
                if not ok(obj[name]):
                    raise self.fail(f"{kind} field {name!r} must be {expected}")
                values[name] = obj[name]
        self.add(kind, values)

    def add(self, kind: str, v: dict[str, Any]) -> None:
        history = self.recorded.history
        thread = self.thread_ids.get(v["thread"])
        if thread is None:
            thread = self.thread_ids[v["thread"]] = len(self.thread_ids)
            self.recorded.threads.append(v["thread"])
        msg = v.get("msg", v.get("op", -1))
        sub = v.get("sub", -1)
        sub = -1 if sub is None else sub
        if kind == "send_call":
            if msg in history.messages:
                raise self.fail(f"message {msg} has a second send_call")
            history.messages[msg] = MessageInfo(
                v["topic"], v["expiry"], v["droppable"], v["local"], thread
            )
        elif "msg" in v and msg >= 0 and msg not in history.messages:
            raise self.fail(f"{kind} of message {msg} before its send_call")
        if kind == "sub_call":
            if sub in history.topics:
                raise self.fail(f"subscription {sub} has a second sub_call")
            history.topics[sub] = v["topic"]
            if "object" in v:
                history.objects[sub] = v["object"]
        elif sub >= 0 and sub not in history.topics:
            raise self.fail(f"{kind} of subscription {sub} before its sub_call")
        info: Any = ""
        if kind in ("send_call", "sub_call"):
            info = v["topic"]
        elif kind == "internal":  # a notice's data topic follows its own, after a newline
            if (
                history.notices
                and "about" not in v
                and "\n" not in v["topic"]
                and v["topic"] in NOTICE_TOPICS
            ):
                raise self.fail(
                    f"internal notice {v['topic']!r} needs field 'about' (its data's topic) "
                    'in a history whose header declares "notices": true'
                )
            info = v["topic"] if "about" not in v else f"{v['topic']}\n{v['about']}"
        elif kind == "unsub_ret":
            info = f"raised {v['error']}" if "error" in v else ""
        elif kind == "send_ret":
            info = "" if v["seq"] is None else str(v["seq"])
        elif kind in ("send_err", "sub_err", "bad_err"):
            info = v["error"]
        elif kind in ("fault", "skip", "bad_call", "bad_ret"):
            info = v["what"]
        elif kind == "start":
            info = "" if v["copy"] == "ok" else f"bad:{v['copy']}"
        elif kind == "drop":
            info = v["reason"]
        elif kind == "route":
            info = str(v["deliveries"])
        elif kind == "advance":
            info = repr(v["seconds"])
        history.add(float(v["t"]), thread, kind, msg, sub, info)


def loads(text: str, source: str = "history") -> Recorded:
    """Parse ``chanspec-history/1`` text; HistoryFormatError at the first defect."""
    reader = _Reader(source)
    seen_header = False
    for number, line in enumerate(text.splitlines(), 1):
        reader.line = number
        if not line.strip():
            continue
        obj = reader.parse(line)
        if seen_header:
            reader.event(obj)
        else:
            reader.header(obj)
            seen_header = True
    if not seen_header:
        raise HistoryFormatError(f"{source}: empty file (no header line)")
    return reader.recorded


def load(path: str | Path) -> Recorded:
    """Read a history file; HistoryFormatError (one line) for anything unreadable."""
    try:
        data = read_file(path)
    except OSError as exc:
        raise HistoryFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HistoryFormatError(f"{path}: not UTF-8 (byte {exc.start})") from None
    return loads(text, str(path))
