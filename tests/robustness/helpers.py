"""What the robustness tests check after every hostile input, in one place.

* ``Ledger``: an observer plus recording handlers, so that a test can ask whether every
  (message, subscriber) pair that had to be delivered was handled or reported dropped
  (D2), and whether the observer heard of every handler error (H1);
* ``bounded_shutdown``: ``shutdown()`` on another thread, failing the test instead of
  hanging it when it does not return within a bound (S1);
* ``workers_alive``: no broker or task-worker thread died (V2, R4).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from refimpl import Channel, Message, Runtime

#: seconds a shutdown() of these small tests may take before it counts as a hang
BOUND = 10.0

FAST = {"CHANNEL_WORKER_TIMEOUT": 0.05}

ALL = "<every subscriber>"  #: the channel name of a whole-message drop


class Ledger:
    """Records handled deliveries and the observer's reports, per channel name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.handled: list[tuple[str, int]] = []  # (channel name, seq)
        self.dropped: list[tuple[str, int, str]] = []  # (channel name, seq, reason)
        self.errors: list[tuple[str, int, str]] = []  # (channel name, seq, detail)
        self.names: dict[int, str] = {}  # id(channel) -> name

    def observer(
        self, kind: str, message: Message | None, channel: Channel | None, detail: str
    ) -> None:
        if message is None or kind not in ("drop", "error"):
            return
        with self._lock:
            # a whole message dropped by the broker (no channel) is dropped for everybody
            name = ALL if channel is None else self.names.get(id(channel), "?")
            (self.dropped if kind == "drop" else self.errors).append((name, message.seq, detail))

    def handler(
        self, name: str, then: Callable[[Message], Any] | None = None
    ) -> Callable[[Message], None]:
        def handle(message: Message) -> None:
            if message.topic.startswith("lona.channels."):
                return
            with self._lock:
                self.handled.append((name, message.seq))
            if then is not None:
                then(message)

        return handle

    def channel(
        self, runtime: Runtime, name: str, topic: str, then: Callable[[Message], Any] | None = None
    ) -> Channel:
        channel = Channel(topic, runtime=runtime)
        self.names[id(channel)] = name
        channel.subscribe(self.handler(name, then))
        return channel

    def unaccounted(self, name: str, seqs: list[int]) -> list[int]:
        """The seqs *name* had to get that were neither handled nor reported dropped (D2)."""
        with self._lock:
            seen = {s for n, s in self.handled if n == name}
            seen |= {s for n, s, _ in self.dropped if n in (name, ALL)}
        return [s for s in seqs if s not in seen]

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for n, _ in self.handled if n == name)


def bounded_shutdown(runtime: Runtime, bound: float = BOUND) -> BaseException | None:
    """Shut *runtime* down on another thread; fail if that takes longer than *bound*.

    Returns what ``shutdown()`` raised, if anything (some tests expect an error).
    """
    raised: list[BaseException] = []

    def stop() -> None:
        try:
            runtime.shutdown()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), f"shutdown() did not return within {bound} s: {runtime!r}"
    return raised[0] if raised else None


def workers_alive(runtime: Runtime) -> bool:
    """Every thread of a running runtime's pool is still alive."""
    return bool(runtime.pool.threads) and all(t.is_alive() for t in runtime.pool.threads)


ROOT = Path(__file__).resolve().parents[2]

EXIT_SCRIPT = """
import atexit, time
handled = []
atexit.register(lambda: print("handled", len(handled), flush=True))  # runs after the drain
from refimpl import Channel, set_default_runtime
from {module} import {name}
set_default_runtime({name}().start())
def handle(message):
    handled.append(message.seq)
    time.sleep(0.0005)
channel = Channel("a", handle)
for _ in range({n}):
    channel.send({{}})
"""


def run_script(source: str) -> subprocess.CompletedProcess[str]:
    """Run *source* in a fresh interpreter from the repository root (bounded: 60 s)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def handled_at_exit(runtime_class: type, n: int = 2000) -> int:
    """R7's check: a script sends *n* messages to a slow handler on the default runtime (of
    *runtime_class*) and ends; how many were handled by the time the process exited."""
    done = run_script(
        EXIT_SCRIPT.format(module=runtime_class.__module__, name=runtime_class.__name__, n=n)
    )
    assert done.returncode == 0, done.stderr
    word, count = done.stdout.split()
    assert word == "handled", done.stdout
    return int(count)
