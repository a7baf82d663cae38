"""The static half of race detection: what each line of a function reads, writes and syncs.

Each case is a small function whose accesses are written out by hand; a wrong stack
model shows up as a missing, extra or misattributed access. Harness tests: no clause.
"""

from __future__ import annotations

import dis
from typing import Any

from sim.lines.bytecode import _SIMPLE, Const, Item, Ref, accesses

SELF = Ref("fast", "self")
registry: dict[str, list[Any]] = {}
counter = 0


def _kinds(fn: Any) -> list[tuple[str, Any, str]]:
    return [(a.kind, a.target, a.name) for a in accesses(fn.__code__).all]


def check_then_act(self: Any, handler: Any) -> None:
    if self.handler:
        raise RuntimeError("already")
    self.handler = handler


def test_attribute_read_and_write() -> None:
    found = _kinds(check_then_act)
    assert ("read", SELF, "handler") in found
    assert ("write", SELF, "handler") in found


def nested(self: Any) -> None:
    self.channels[self.topic].append(self)
    self.count += 1
    del self.table["k"]


def test_subscripts_methods_and_augmented_assignment() -> None:
    found = _kinds(nested)
    channels = SELF.attr("channels")
    item = Item(channels, SELF.attr("topic"))
    assert ("get", channels, "") in found
    assert ("call", item, "append") in found  # the list inside the dict, not the dict
    assert ("read", SELF, "count") in found and ("write", SELF, "count") in found
    assert ("set", SELF.attr("table"), "") in found


def locked(self: Any) -> int:
    with self.lock:
        value = self.value
    return value


def test_with_exit_is_linked_to_its_entry() -> None:
    found = accesses(locked.__code__).all
    lock = SELF.attr("lock")
    assert [a.kind for a in found if a.target == lock] == ["acquire", "release", "release"]
    # the normal exit and the exceptional one (WITH_EXCEPT_START) both name the lock
    lines = {a.line for a in found if a.kind == "release"}
    assert lines == {locked.__code__.co_firstlineno + 1}


def globals_and_builtins() -> int:
    global counter
    counter = len(registry)
    return counter


def test_globals_and_reading_builtins() -> None:
    found = _kinds(globals_and_builtins)
    assert ("global-write", None, "counter") in found
    assert ("get", Ref("global", "registry"), "") in found  # len(registry) reads its contents


def queue_user(queue: Any, item: int) -> Any:
    queue.put(item)
    return queue.get(timeout=1.0)


def test_method_calls_name_their_receiver_and_first_argument() -> None:
    found = accesses(queue_user.__code__).all
    calls = [(a.name, a.target, a.argument) for a in found if a.kind == "call"]
    queue = Ref("fast", "queue")
    # the first argument, keyword or not
    assert calls == [("put", queue, Ref("fast", "item")), ("get", queue, Const(1.0))]


def test_segments_start_where_line_events_fire() -> None:
    code = check_then_act.__code__
    table = accesses(code)
    write_offset = next(a.offset for a in table.all if a.kind == "write")
    starts = [
        ins.offset
        for ins in dis.get_instructions(code)
        if ins.positions is not None and ins.positions.lineno == code.co_firstlineno + 3
    ]
    assert [a.kind for a in table.at(starts[0])] == ["write"]
    assert table.at(write_offset + 2) == []  # past the write: nothing left on that line
    assert Const(None) == Const(None) and Const(1) != Const(True)


def test_the_stack_table_agrees_with_cpython() -> None:
    """Each (pops, pushes) of the table has the net effect ``dis.stack_effect`` reports."""
    wrong = []
    for name, (pops, pushes) in _SIMPLE.items():
        opcode = dis.opmap.get(name)
        if opcode is None or name in ("CACHE", "RETURN_GENERATOR"):
            continue
        arg = 0 if opcode >= dis.HAVE_ARGUMENT else None
        try:
            effect = dis.stack_effect(opcode, arg, jump=False)
        except ValueError:
            continue
        if effect != pushes - pops:
            wrong.append((name, pops, pushes, effect))
    assert wrong == []
