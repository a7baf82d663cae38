"""``AccessRecorder``: at each line event, evaluate what the line touches and feed the race table.

The static half (``sim.lines.bytecode``) says, per segment of a line, which expressions
the line reads, writes, calls methods on or synchronises with. Here, at the line event
(before the line runs), each expression is evaluated *without side effects*: locals and
globals are looked up, attributes fetched with ``inspect.getattr_static`` (a property is
not run: the chain stops there), subscripts taken only on plain dicts and lists with
plain keys. The object found decides what the access means:

* attributes of the implementation's own objects and classes (defined in the traced
  modules) and of modules: a read or write of (object, attribute);
* contents of containers (dict, list, set, deque): a read or write of (object, ``[]``),
  a write for a mutating method (``append``, ``pop``, ``setdefault``, ...);
* a queue (anything with ``put`` and ``get``): ``put``/``get`` and their ``_nowait``
  forms are *writes* of the queue's contents -- two puts conflict, as do a put and a get
  -- and also a release (``put``) or acquire (``get``) of the queue for happens-before;
* locks, conditions and events: ``with``, ``acquire``/``release``, ``wait``,
  ``notify``/``set`` are synchronisation only;
* module globals a line stores or reads (data, not functions, classes or modules).

Anything else (library objects, the harness) is not the implementation's shared state
and is not recorded. An acquire takes effect at the thread's next line event, after
the blocking call has returned. Objects are kept alive until the recording ends, so an
``id()`` is never reused for another object; ids are compared, never ordered or printed,
so what the recording reports does not depend on memory addresses.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Hashable
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any

from sim.lines.bytecode import Access, CodeAccesses, Const, Expr, Item
from sim.lines.hb import RaceTable

__all__ = ["AccessRecorder"]

_MISSING = object()
_CONTAINERS = (dict, list, set, deque, bytearray)
_PLAIN_KEYS = (str, int, bytes, bool, float, type(None))
#: container methods that change the contents
_MUTATORS = frozenset(
    {
        *("append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft"),
        *("popitem", "remove", "clear", "add", "discard", "update", "setdefault", "sort"),
        *("reverse", "rotate", "difference_update", "intersection_update"),
        *("symmetric_difference_update", "__setitem__", "__delitem__"),
    }
)
_QUEUE_PUT = frozenset({"put", "put_nowait"})
_QUEUE_GET = frozenset({"get", "get_nowait"})
_SKIP_GLOBALS = (FunctionType, type, ModuleType)


def _has(obj: Any, *names: str) -> bool:
    return all(callable(inspect.getattr_static(obj, n, None)) for n in names)


class AccessRecorder:
    """Records one or more executions into a ``RaceTable`` (``table.pairs``, ``table.lines()``)."""

    def __init__(self, modules: tuple[str, ...], table: RaceTable | None = None) -> None:
        self.modules = frozenset(modules)
        self.table = table if table is not None else RaceTable()
        self.events: dict[str, int] = {}  #: line events per line key, over all executions
        self.functions: dict[str, str] = {}  #: line key -> the qualified name of its function
        self._codes: dict[CodeType, CodeAccesses] = {}
        self._own: dict[type, bool] = {}
        self._kinds: dict[type, str] = {}
        self._alive: dict[int, Any] = {}
        self._pending: dict[int, list[Hashable]] = {}

    def new_execution(self) -> None:
        self.table.new_execution()
        self._alive = {}
        self._pending = {}

    # scheduler edges -------------------------------------------------------------------
    def spawned(self, parent: int | None, child: int) -> None:
        self.table.hb.spawned(parent, child)

    def woke(self, waker: int | None, wakee: int) -> None:
        self.table.hb.woke(waker, wakee)

    # line events ---------------------------------------------------------------------------
    def line(self, frame: FrameType, module: str, thread: int) -> None:
        pending = self._pending.pop(thread, None)
        if pending:
            for key in pending:
                self.table.hb.acquire(thread, key)
        code = frame.f_code
        found = self._codes.get(code)
        if found is None:
            found = self._codes[code] = CodeAccesses(code)
        key = f"{module}:{frame.f_lineno}"
        self.events[key] = self.events.get(key, 0) + 1
        self.functions.setdefault(key, code.co_qualname)
        todo = found.at(frame.f_lasti)
        if not todo:
            return
        scope = (frame.f_locals, frame.f_globals, frame.f_builtins)
        for access in todo:
            self._one(access, scope, thread, f"{module}:{access.line}", frame.f_globals)

    def _one(
        self,
        access: Access,
        scope: tuple[Any, Any, Any],
        thread: int,
        line: str,
        globals_: dict[str, Any],
    ) -> None:
        kind = access.kind
        if kind.startswith("global"):
            value = globals_.get(access.name, _MISSING)
            if kind == "global-read" and (value is _MISSING or isinstance(value, _SKIP_GLOBALS)):
                return
            location = (self._keep(globals_), access.name)
            self.table.access(thread, location, line, kind == "global-write")
            return
        assert access.target is not None
        obj = self._evaluate(access.target, scope)
        if obj is _MISSING:
            return
        what = self._kind(obj)
        if kind in ("read", "write"):
            if what == "own" or isinstance(obj, ModuleType):
                self.table.access(thread, (self._keep(obj), access.name), line, kind == "write")
        elif kind in ("get", "set"):
            if what in ("container", "queue"):
                self.table.access(thread, (self._keep(obj), "[]"), line, kind == "set")
        elif kind == "acquire":
            if what in ("lock", "event"):
                self._pending.setdefault(thread, []).append(self._keep(obj))
        elif kind == "release":
            if what == "lock":
                self.table.hb.release(thread, self._keep(obj))
        elif kind == "call":
            self._call(obj, what, access.name, thread, line)

    def _call(self, obj: Any, what: str, method: str, thread: int, line: str) -> None:
        hb = self.table.hb
        if what == "queue":
            key = self._keep(obj)
            if method in _QUEUE_PUT:
                self.table.access(thread, (key, "[]"), line, True)
                hb.release(thread, key)
            elif method in _QUEUE_GET:
                self.table.access(thread, (key, "[]"), line, True)
                self._pending.setdefault(thread, []).append(key)
            else:
                self.table.access(thread, (key, "[]"), line, False)
        elif what == "container":
            write = method in _MUTATORS
            self.table.access(thread, (self._keep(obj), "[]"), line, write)
        elif what in ("lock", "event"):
            key = self._keep(obj)
            if method in ("acquire", "wait", "wait_for"):
                if method != "acquire" and what == "lock":
                    hb.release(thread, key)  # Condition.wait releases, then re-acquires
                self._pending.setdefault(thread, []).append(key)
            elif method in ("release", "notify", "notify_all", "set"):
                hb.release(thread, key)

    # evaluation ---------------------------------------------------------------------------
    def _evaluate(self, expr: Expr, scope: tuple[Any, Any, Any]) -> Any:
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Item):
            container = self._evaluate(expr.container, scope)
            key = self._evaluate(expr.key, scope)
            if container is _MISSING or key is _MISSING or type(key) not in _PLAIN_KEYS:
                return _MISSING
            if type(container) is dict:
                return container.get(key, _MISSING)
            if (
                type(container) is list
                and type(key) is int
                and -len(container) <= key < len(container)
            ):
                return container[key]
            return _MISSING
        local, global_, builtin = scope
        if expr.root == "global":
            value = global_.get(expr.name, _MISSING)
            if value is _MISSING:
                value = builtin.get(expr.name, _MISSING)
        else:
            value = local.get(expr.name, _MISSING)
        for name in expr.attrs:
            if value is _MISSING:
                break
            value = _static_attr(value, name)
        return value

    def _kind(self, obj: Any) -> str:
        cls = type(obj)
        kind = self._kinds.get(cls)
        if kind is None:
            if isinstance(obj, _CONTAINERS):
                kind = "container"
            elif _has(obj, "put", "get"):
                kind = "queue"
            elif _has(obj, "acquire", "release"):
                kind = "lock"
            elif _has(obj, "set", "wait", "is_set"):
                kind = "event"
            elif self._is_own(cls):
                kind = "own"
            else:
                kind = "other"
            self._kinds[cls] = kind
        if kind == "other" and isinstance(obj, type) and self._is_own(obj):
            return "own"  # a class of the implementation: its class attributes
        return kind

    def _is_own(self, cls: type) -> bool:
        own = self._own.get(cls)
        if own is None:
            own = self._own[cls] = any(
                getattr(c, "__module__", None) in self.modules for c in cls.__mro__
            )
        return own

    def _keep(self, obj: Any) -> int:
        key = id(obj)
        self._alive[key] = obj
        return key


def _static_attr(obj: Any, name: str) -> Any:
    """``obj.name`` without running code: instance dict, slots, then plain class attributes."""
    try:
        value = inspect.getattr_static(obj, name, _MISSING)
    except Exception:  # an odd __dict__ or __mro__: give up on this chain
        return _MISSING
    if value is _MISSING:
        return _MISSING
    getter = getattr(type(value), "__get__", None)
    if getter is None:
        return value
    if type(value).__name__ == "member_descriptor":  # a __slots__ field: reading it is plain
        try:
            return value.__get__(obj, type(obj))
        except AttributeError:
            return _MISSING
    return _MISSING  # a method, property or other descriptor: not a shared value
