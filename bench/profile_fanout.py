"""Where refimpl's fan-out time goes: ``python -m bench.profile_fanout [MESSAGES] [TOP]``.

Not a figure: a diagnostic for the ``fanout`` measurement. It runs the same workload
(1 sender, 10 trivial subscribers, 1 broker + 4 task workers) with ``cProfile`` in
*every* thread -- the sender and each worker thread, which a plain ``cProfile.run``
would miss -- by handing the runtime a ``RealPlatform`` whose ``start_thread`` wraps
the thread's target in its own profiler (the seam makes that possible without
touching refimpl). The per-thread statistics are merged and the top entries printed,
by internal time and by cumulative time. Profiling slows everything several-fold;
the proportions are what matter.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
from collections.abc import Callable
from typing import Any

from refimpl import Channel, RealPlatform, Runtime
from refimpl._seam import ThreadHandle

__all__ = ["ProfilingPlatform", "main", "profile"]


class ProfilingPlatform(RealPlatform):
    """Real threads, each running under its own ``cProfile.Profile``."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def start_thread(self, name: str, target: Callable[[], None]) -> ThreadHandle:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append(profile)
        return super().start_thread(name, lambda: profile.runcall(target))


def profile(messages: int = 20_000, subscribers: int = 10) -> pstats.Stats:
    platform = ProfilingPlatform()
    runtime = Runtime(platform=platform).start()
    received = [0] * subscribers

    def handler_for(index: int) -> Callable[[Any], None]:
        def handler(message: Any) -> None:
            received[index] += 1

        return handler

    keep = [Channel("bench.profile", handler_for(i), runtime=runtime) for i in range(subscribers)]
    runtime.join()
    send = Channel("bench.profile", runtime=runtime).send
    sender = cProfile.Profile()
    sender.enable()
    for i in range(messages):
        send({"i": i})
    runtime.join()
    sender.disable()
    runtime.shutdown()
    del keep
    stats = pstats.Stats(sender, stream=io.StringIO())
    for p in platform.profiles:
        stats.add(p)
    return stats


def main(argv: list[str]) -> int:
    messages = int(argv[0]) if argv else 20_000
    top = int(argv[1]) if len(argv) > 1 else 25
    stats = profile(messages)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(key).print_stats(top)
        print(f"==== by {key} ====")
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
