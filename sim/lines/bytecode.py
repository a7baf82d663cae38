"""What each line reads and writes, from its bytecode: the static half of race detection.

``accesses(code)`` runs a small abstract interpretation of a code object's bytecode
(CPython 3.11 opcodes) over its control-flow graph, exception handlers included. Stack
values are *expressions* the tracer can evaluate later without side effects: a local,
a global, a closure cell or a constant, followed by attribute names and subscripts
(``self._channels[self.topic]``). Everything else is unknown. At each instruction that
touches shared state it emits an ``Access``:

* ``read``/``write`` of an attribute (``LOAD_ATTR``, ``STORE_ATTR``, ``DELETE_ATTR``);
* ``get``/``set`` of a container's contents (``BINARY_SUBSCR``, ``STORE_SUBSCR``,
  ``DELETE_SUBSCR``, ``in``, iteration, ``len()`` and friends);
* ``call`` of a named method on an expression (``q.put(x)``, ``d.pop(k)``): whether
  that reads, writes or synchronises depends on the object, so the recorder decides;
* ``global-read``/``global-write`` of a module global;
* ``acquire``/``release`` of a ``with`` statement's context manager; the exit is linked
  to its entry through the stack (``BEFORE_WITH`` pushes a marker for ``__exit__``), so
  the normal and the exceptional exit both name the object entered.

Accesses are grouped into *segments*: maximal runs of instructions on one source line,
which is what one line event covers. ``CodeAccesses.at(offset)`` gives the accesses of
the segment a line event at *offset* starts, from that offset on.

Unknown opcodes (another CPython version) make the stack unknown but keep its depth, so
the analysis loses precision, never soundness of the stack shape; a receiver it cannot
name is simply not recorded.
"""

from __future__ import annotations

import bisect
import dis
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType
from typing import Any

__all__ = ["Access", "CodeAccesses", "Const", "Expr", "Item", "Ref", "accesses"]


@dataclass(frozen=True)
class Ref:
    """``root`` (``fast``/``deref``/``global``) name, then attributes: ``self._lock``."""

    root: str
    name: str
    attrs: tuple[str, ...] = ()

    def attr(self, name: str) -> Ref:
        return Ref(self.root, self.name, (*self.attrs, name))


@dataclass(frozen=True)
class Const:
    value: Any

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and other.value is self.value

    def __hash__(self) -> int:
        return 0


@dataclass(frozen=True)
class Item:
    """``container[key]``."""

    container: Expr
    key: Expr


Expr = Ref | Const | Item


@dataclass(frozen=True)
class _Method:
    receiver: Expr | None
    name: str


@dataclass(frozen=True)
class _ExitOf:
    receiver: Expr | None


@dataclass(frozen=True)
class Access:
    offset: int
    line: int
    kind: str  #: read write get set call global-read global-write acquire release
    target: Expr | None  #: the object accessed (None for globals)
    name: str = ""  #: attribute, method or global name
    argument: Expr | None = None  #: call: the first argument


_Value = Expr | _Method | _ExitOf | None
_Stack = tuple[_Value, ...]

_LOADS = {"LOAD_FAST": "fast", "LOAD_CLOSURE": "deref", "LOAD_DEREF": "deref"}
_LOADS["LOAD_CLASSDEREF"] = "deref"
_TERMINAL = {"RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD"}
_TERMINAL |= {"JUMP_BACKWARD_NO_INTERRUPT", "JUMP_NO_INTERRUPT"}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
#: builtins whose first argument's contents are read
_READERS = {"len", "list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "min", "max"}
_READERS |= {"any", "all", "iter", "enumerate", "reversed", "zip", "map", "filter"}


def _words(text: str) -> list[str]:
    return text.split()


#: (pops, pushes) of opcodes whose operands are not followed
_SIMPLE: dict[str, tuple[int, int]] = {
    **dict.fromkeys(
        _words(
            "NOP RESUME CACHE EXTENDED_ARG PRECALL KW_NAMES JUMP_FORWARD JUMP_BACKWARD "
            "JUMP_BACKWARD_NO_INTERRUPT COPY_FREE_VARS MAKE_CELL SETUP_ANNOTATIONS DELETE_FAST "
            "DELETE_DEREF DELETE_NAME RETURN_GENERATOR"
        ),
        (0, 0),
    ),
    **dict.fromkeys(_words("POP_TOP STORE_FAST STORE_DEREF STORE_NAME RETURN_VALUE"), (1, 0)),
    **dict.fromkeys(_words("PRINT_EXPR POP_EXCEPT RERAISE IMPORT_STAR"), (1, 0)),
    **dict.fromkeys(_words("LIST_APPEND SET_ADD LIST_EXTEND SET_UPDATE DICT_UPDATE"), (1, 0)),
    "DICT_MERGE": (1, 0),
    "MAP_ADD": (2, 0),
    **dict.fromkeys(_words("PUSH_NULL LOAD_NAME LOAD_ASSERTION_ERROR LOAD_BUILD_CLASS"), (0, 1)),
    **dict.fromkeys(_words("UNARY_POSITIVE UNARY_NEGATIVE UNARY_NOT UNARY_INVERT"), (1, 1)),
    **dict.fromkeys(_words("LIST_TO_TUPLE CHECK_EXC_MATCH YIELD_VALUE ASYNC_GEN_WRAP"), (1, 1)),
    **dict.fromkeys(_words("GET_AWAITABLE GET_AITER GET_YIELD_FROM_ITER"), (1, 1)),
    **dict.fromkeys(_words("BINARY_OP COMPARE_OP IS_OP IMPORT_NAME PREP_RERAISE_STAR"), (2, 1)),
    "PUSH_EXC_INFO": (1, 2),
    "CHECK_EG_MATCH": (2, 2),
    "END_ASYNC_FOR": (2, 0),
    "GET_ANEXT": (1, 2),
    "BEFORE_ASYNC_WITH": (1, 2),
    "GET_LEN": (1, 2),
    "MATCH_MAPPING": (1, 2),
    "MATCH_SEQUENCE": (1, 2),
    "MATCH_KEYS": (2, 3),
    "MATCH_CLASS": (3, 1),
    "IMPORT_FROM": (1, 2),
}


def _counted(op: str, arg: int) -> tuple[int, int] | None:
    """(pops, pushes) of opcodes whose counts depend on the argument."""
    if op in ("BUILD_TUPLE", "BUILD_LIST", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE"):
        return arg, 1
    if op == "BUILD_MAP":
        return 2 * arg, 1
    if op == "BUILD_CONST_KEY_MAP":
        return arg + 1, 1
    if op == "FORMAT_VALUE":
        return 1 + (1 if arg & 4 else 0), 1
    if op == "UNPACK_SEQUENCE":
        return 1, arg
    if op == "UNPACK_EX":
        return 1, (arg & 0xFF) + (arg >> 8) + 1
    if op == "MAKE_FUNCTION":
        return 1 + bin(arg & 0xF).count("1"), 1
    if op == "RAISE_VARARGS":
        return arg, 0
    if op == "CALL_FUNCTION_EX":
        return 3 + (arg & 1), 1
    return None


class _Interpreter:
    def __init__(self, code: CodeType) -> None:
        self.code = code
        self.instructions = list(dis.get_instructions(code))
        self.index = {ins.offset: i for i, ins in enumerate(self.instructions)}
        self.lines: list[int] = []
        line = code.co_firstlineno
        for ins in self.instructions:
            if ins.positions is not None and ins.positions.lineno is not None:
                line = ins.positions.lineno
            self.lines.append(line)
        self.handlers = list(dis.Bytecode(code).exception_entries)  # type: ignore[attr-defined]

    def run(self) -> list[Access]:
        states: dict[int, _Stack] = {0: ()}
        work = [0]
        while work:
            i = work.pop()
            for target, stack in self._successors(i, states[i], None):
                old = states.get(target)
                new = stack if old is None else _merge(old, stack)
                if new != old:
                    states[target] = new
                    work.append(target)
        found: list[Access] = []
        for i in sorted(states):
            list(self._successors(i, states[i], found))
        return found

    def _successors(
        self, i: int, stack: _Stack, out: list[Access] | None
    ) -> Iterator[tuple[int, _Stack]]:
        ins = self.instructions[i]
        for entry in self.handlers:
            if entry.start <= ins.offset < entry.end and entry.target in self.index:
                kept = stack[: entry.depth] + (None,) * (entry.depth - len(stack))
                yield self.index[entry.target], kept + (None,) * (2 if entry.lasti else 1)
        fall, jump = self._step(ins, list(stack), out, self.lines[i])
        if fall is not None and ins.opname not in _TERMINAL and i + 1 < len(self.instructions):
            yield i + 1, tuple(fall)
        if ins.opcode in _JUMPS and isinstance(ins.argval, int) and ins.argval in self.index:
            yield self.index[ins.argval], tuple(jump if jump is not None else fall or [])

    def _step(
        self, ins: dis.Instruction, s: list[_Value], out: list[Access] | None, line: int
    ) -> tuple[list[_Value] | None, list[_Value] | None]:
        """The stack after *ins* falling through, and after it jumping (None: as falling)."""
        op, arg = ins.opname, ins.arg or 0

        def pop() -> _Value:
            return s.pop() if s else None

        def emit(kind: str, target: _Value, name: str = "", argument: _Value = None) -> None:
            if out is not None:
                expr = target if isinstance(target, Ref | Const | Item) else None
                argexpr = argument if isinstance(argument, Ref | Const | Item) else None
                if expr is not None or kind.startswith("global"):
                    out.append(Access(ins.offset, line, kind, expr, name, argexpr))

        if op in _LOADS:
            s.append(Ref(_LOADS[op], str(ins.argval)))
        elif op == "LOAD_CONST":
            s.append(Const(ins.argval))
        elif op == "LOAD_GLOBAL":
            if arg & 1:
                s.append(None)
            s.append(Ref("global", str(ins.argval)))
            emit("global-read", None, str(ins.argval))
        elif op == "LOAD_ATTR":
            obj = pop()
            emit("read", obj, str(ins.argval))
            s.append(obj.attr(str(ins.argval)) if isinstance(obj, Ref) else None)
        elif op == "LOAD_METHOD":
            obj = pop()
            s.append(_Method(obj if isinstance(obj, Ref | Const | Item) else None, ins.argval))
            s.append(obj)
        elif op in ("STORE_ATTR", "DELETE_ATTR"):
            obj = pop()
            if op == "STORE_ATTR":
                pop()
            emit("write", obj, str(ins.argval))
        elif op in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            if op == "STORE_GLOBAL":
                pop()
            emit("global-write", None, str(ins.argval))
        elif op == "BINARY_SUBSCR":
            key, container = pop(), pop()
            emit("get", container)
            ok = isinstance(container, Ref | Item) and isinstance(key, Ref | Const | Item)
            s.append(Item(container, key) if ok else None)  # type: ignore[arg-type]
        elif op in ("STORE_SUBSCR", "DELETE_SUBSCR"):
            pop()
            container = pop()
            if op == "STORE_SUBSCR":
                pop()
            emit("set", container)
        elif op == "CONTAINS_OP":
            container = pop()
            pop()
            emit("get", container)
            s.append(None)
        elif op == "GET_ITER":
            emit("get", pop())
            s.append(None)
        elif op == "FOR_ITER":
            jumped = list(s[:-1])
            s.append(None)
            return s, jumped
        elif op == "BEFORE_WITH":
            obj = pop()
            emit("acquire", obj)
            s.append(_ExitOf(obj if isinstance(obj, Ref | Const | Item) else None))
            s.append(None)
        elif op == "WITH_EXCEPT_START":
            if len(s) >= 4 and isinstance(s[-4], _ExitOf):
                emit("release", s[-4].receiver)
            s.append(None)
        elif op == "COPY":
            s.append(s[-arg] if 0 < arg <= len(s) else None)
        elif op == "SWAP":
            if 0 < arg <= len(s):
                s[-1], s[-arg] = s[-arg], s[-1]
        elif op == "CALL":
            args = [pop() for _ in range(arg)][::-1]
            self_slot, callable_slot = pop(), pop()
            first = args[0] if args else None
            if isinstance(callable_slot, _Method):
                emit("call", callable_slot.receiver, callable_slot.name, first)
            elif isinstance(callable_slot, _ExitOf):
                emit("release", callable_slot.receiver)
            elif _is_reader(self_slot) and args:
                emit("get", first)
            s.append(None)
        elif op.startswith("POP_JUMP"):
            pop()
        elif op in ("JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP"):
            jumped = list(s)
            pop()
            return s, jumped
        else:
            counts = _SIMPLE.get(op) or _counted(op, arg)
            if counts is None:  # an opcode this table does not know: keep the depth only
                try:
                    effect = dis.stack_effect(ins.opcode, ins.arg, jump=False)
                except ValueError:
                    effect = 0
                depth = max(0, len(s) + effect)
                return [None] * depth, None
            pops, pushes = counts
            for _ in range(pops):
                pop()
            s.extend([None] * pushes)
        return s, None


def _is_reader(value: _Value) -> bool:
    """A builtin such as ``len`` or ``list`` that reads its first argument's contents."""
    return (
        isinstance(value, Ref)
        and value.root == "global"
        and not value.attrs
        and value.name in _READERS
    )


def _merge(a: _Stack, b: _Stack) -> _Stack:
    if len(a) != len(b):
        depth = min(len(a), len(b))
        a, b = a[:depth], b[:depth]
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


class CodeAccesses:
    """The accesses of one code object, by segment."""

    def __init__(self, code: CodeType) -> None:
        interpreter = _Interpreter(code)
        self.all = sorted(interpreter.run(), key=lambda a: (a.offset, a.kind, a.name))
        # segment starts: the first instruction, and every change of line
        starts: list[int] = []
        previous = None
        for ins, line in zip(interpreter.instructions, interpreter.lines, strict=True):
            if line != previous:
                starts.append(ins.offset)
                previous = line
        self._starts = starts
        self._ends = [*starts[1:], 1 << 60]
        self._offsets = [a.offset for a in self.all]

    def at(self, offset: int) -> list[Access]:
        """The accesses a line event at *offset* is about to make (to the end of its segment)."""
        k = bisect.bisect_right(self._starts, offset) - 1
        if k < 0:
            return []
        end = self._ends[k]
        lo = bisect.bisect_left(self._offsets, offset)
        hi = bisect.bisect_left(self._offsets, end)
        return self.all[lo:hi]


def accesses(code: CodeType) -> CodeAccesses:
    return CodeAccesses(code)
