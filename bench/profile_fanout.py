"""Where refimpl's fan-out time goes: ``python -m bench.profile_fanout [MESSAGES] [TOP]``.

``python -m bench.profile_fanout --phases [MESSAGES]`` prints instead the CPU cost per
delivery of each stage (send, route, deliver), run one after the other on one thread.

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
import time
from collections.abc import Callable
from typing import Any

from refimpl import Channel, RealPlatform, Runtime
from refimpl._seam import ThreadHandle

__all__ = ["ProfilingPlatform", "main", "phases", "profile"]


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


def phases(messages: int = 50_000, subscribers: int = 10, repeats: int = 5) -> dict[str, float]:
    """CPU microseconds per delivery of each stage, run one after the other on this thread:
    ``send()`` of every message, then one broker routing them all, then one task worker
    delivering them all (median of *repeats* by total). No thread switches, no GIL
    hand-offs: what each stage itself costs, the figure the lean paths cut."""
    from refimpl.runtime import STOP, State
    from refimpl.worker import MessageBroker, TaskWorker

    def once() -> tuple[float, float, float]:
        runtime = Runtime({"CHANNEL_TASK_BATCH": 1 << 30})  # one subscription per take
        runtime._state = State.RUNNING  # the stages run on this thread, not on the pool's
        received = [0]

        def handler(message: Any) -> None:
            received[0] += 1

        keep = [Channel("bench.phases", handler, runtime=runtime) for _ in range(subscribers)]
        broker, worker = MessageBroker(runtime, 0.0), TaskWorker(runtime, 0.0)
        broker.queue_name, worker.queue_name = "messages", "ready"
        runtime._messages.put(STOP)
        broker._loop()  # the subscribe notices
        runtime._ready.put(STOP)
        worker._loop()
        received[0] = 0
        send = Channel("bench.phases", runtime=runtime).send
        clock = time.process_time
        t0 = clock()
        for i in range(messages):
            send({"i": i})
        t1 = clock()
        runtime._messages.put(STOP)
        broker._loop()
        t2 = clock()
        runtime._ready.put(STOP)
        worker._loop()
        t3 = clock()
        del keep
        deliveries = messages * subscribers
        assert received[0] == deliveries, (received[0], deliveries)
        return tuple(1e6 * t / deliveries for t in (t1 - t0, t2 - t1, t3 - t2))  # type: ignore[return-value]

    runs = sorted((once() for _ in range(repeats)), key=sum)
    send_us, route_us, deliver_us = median = runs[len(runs) // 2]
    return {"send": send_us, "route": route_us, "deliver": deliver_us, "total": sum(median)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--phases"]:
        p = phases(int(argv[1]) if len(argv) > 1 else 50_000)
        print(
            "CPU microseconds per delivery (1 thread, 10 subscribers): "
            + ", ".join(f"{k} {v:.3f}" for k, v in p.items())
        )
        return 0
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
