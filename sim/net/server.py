"""A simulated stream server: the part of Redis the networked broker uses, on virtual time.

Streams (``XADD``, ``XREAD``, ``XRANGE``, ``XREVRANGE``), string keys (``SET`` with ``NX``,
``GET``) and ``INFO server``'s ``run_id``, with Redis's semantics: an entry id is the
server's clock in milliseconds and a counter, always above the stream's last id; replies
are bytes, as redis-py returns them without ``decode_responses``. Each command runs
atomically (the server is single-threaded, like Redis).

Faults: ``stop()`` takes the server down (every command then fails at the network, see
``sim.net.client``); ``start(persist)`` brings it back with a new ``run_id`` and, without
persistence, with no data at all (as Redis restarted without an AOF or RDB file). With
persistence every acknowledged write survives (AOF with ``fsync always``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sim.primitives import EPOCH

__all__ = ["BASE_MS", "StreamServer", "show_id"]

#: the server clock at virtual time 0, in ms (EPOCH): ids look like a real server's
BASE_MS = int(EPOCH.timestamp() * 1000)

StreamId = tuple[int, int]
Entry = tuple[StreamId, dict[bytes, bytes]]


def show_id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def _parse(text: str | bytes) -> StreamId:
    raw = text.decode() if isinstance(text, bytes) else text
    ms, _, n = raw.partition("-")
    return int(ms), int(n or 0)


def _bytes(value: Any) -> bytes:
    """What redis-py sends for a value: bytes as given, str as UTF-8, numbers as text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).encode()
    raise TypeError(f"Invalid input of type: {type(value).__name__!r}")


class StreamServer:
    """One simulated server; *clock* gives virtual seconds, *rng* draws its ``run_id``s."""

    def __init__(self, clock: Callable[[], float], rng: random.Random) -> None:
        self._clock = clock
        self._rng = rng
        self.up = True
        self.incarnation = 0  #: bumped by every restart: connections to an older one are dead
        self.run_id = self._new_run_id()
        self.streams: dict[bytes, list[Entry]] = {}
        self.strings: dict[bytes, bytes] = {}
        self.last: dict[bytes, StreamId] = {}

    def _new_run_id(self) -> str:
        return f"{self._rng.getrandbits(160):040x}"

    # faults ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self.up = False

    def start(self, persist: bool) -> None:
        self.up = True
        self.incarnation += 1
        self.run_id = self._new_run_id()
        if not persist:
            self.streams.clear()
            self.strings.clear()
            self.last.clear()

    def now_ms(self) -> int:
        return BASE_MS + int(self._clock() * 1000)

    def last_id(self, stream: str) -> StreamId:
        """The stream's last entry id, (0, 0) if it has none (for the workload's harness)."""
        entries = self.streams.get(stream.encode())
        return entries[-1][0] if entries else (0, 0)

    # commands (each atomic) --------------------------------------------------------------
    def execute(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        command = getattr(self, "cmd_" + name, None)
        if command is None:
            raise NotImplementedError(f"the simulated server has no command {name!r}")
        return command(*args, **kw)

    def cmd_xadd(self, name: Any, fields: dict[Any, Any], id: str = "*") -> bytes:
        if id != "*":
            raise NotImplementedError("XADD with an explicit id")
        if not fields:
            raise ValueError("XADD needs at least one field")
        key = _bytes(name)
        ms = self.now_ms()
        last = self.last.get(key, (0, 0))
        sid = (ms, 0) if ms > last[0] else (last[0], last[1] + 1)
        self.last[key] = sid
        entry = {_bytes(k): _bytes(v) for k, v in fields.items()}
        self.streams.setdefault(key, []).append((sid, entry))
        return show_id(sid).encode()

    def cmd_xread(
        self, streams: dict[Any, Any], count: int | None = None, block: int | None = None
    ) -> list[list[Any]]:
        if block is not None:
            raise NotImplementedError("XREAD BLOCK (the broker polls)")
        reply: list[list[Any]] = []
        for name, after in streams.items():
            key = _bytes(name)
            start = _parse(after)
            found = [e for e in self.streams.get(key, ()) if e[0] > start]
            if count is not None:
                found = found[:count]
            if found:
                reply.append([key, [(show_id(s).encode(), dict(f)) for s, f in found]])
        return reply

    def cmd_xrange(
        self, name: Any, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        entries = self.streams.get(_bytes(name), [])
        found = [e for e in entries if self._above(e[0], min) and self._below(e[0], max)]
        if count is not None:
            found = found[:count]
        return [(show_id(s).encode(), dict(f)) for s, f in found]

    def cmd_xrevrange(
        self, name: Any, max: str = "+", min: str = "-", count: int | None = None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        entries = self.streams.get(_bytes(name), [])
        found = [e for e in reversed(entries) if self._above(e[0], min) and self._below(e[0], max)]
        if count is not None:
            found = found[:count]
        return [(show_id(s).encode(), dict(f)) for s, f in found]

    @staticmethod
    def _above(sid: StreamId, bound: str) -> bool:
        if bound == "-":
            return True
        if bound.startswith("("):
            return sid > _parse(bound[1:])
        return sid >= _parse(bound)

    @staticmethod
    def _below(sid: StreamId, bound: str) -> bool:
        if bound == "+":
            return True
        if bound.startswith("("):
            return sid < _parse(bound[1:])
        return sid <= _parse(bound)

    def cmd_set(self, name: Any, value: Any, nx: bool = False) -> bool | None:
        key = _bytes(name)
        if nx and key in self.strings:
            return None
        self.strings[key] = _bytes(value)
        return True

    def cmd_get(self, name: Any) -> bytes | None:
        return self.strings.get(_bytes(name))

    def cmd_info(self, section: str | None = None) -> dict[str, Any]:
        return {"run_id": self.run_id, "redis_version": "7.0.0-sim"}
