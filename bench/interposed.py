"""Interposition's cost: the same implementation and scenario, through the seam and unmodified.

refimpl runs two ways on ``bench.sim_speed.STANDARD`` under ``RandomWalk`` seeds 0, 1, ...:

* *seam*: ``load_adapter("refimpl")``: its ``Platform`` is ``sim.primitives.SimPlatform``;
* *interposed*: ``RefimplUnmodified``, an adapter of protocol version 2 naming ``refimpl``:
  a private copy of the package over the virtual standard library (``sim.interpose``), with
  ``platform=None`` -- its own ``RealPlatform`` on virtual ``threading``, ``queue`` and
  ``datetime``, exactly as it runs in production.

Reported: steps/s of each (a step is one scheduling point; the interposed run has more,
inside the virtual stdlib's locks and queues) and schedules/s, as ratios measured in one
run. Target: interposed >= 0.5x the seam's steps/s.
"""

from __future__ import annotations

import time
from typing import Any

from bench.figure import Figure, Measurement, ratio
from bench.sim_speed import STANDARD

__all__ = ["NAME", "RefimplUnmodified", "measure", "run"]

NAME = "interposed"
TARGET = 0.5


class RefimplUnmodified:
    """refimpl behind adapter protocol version 2: nothing of the simulator reaches it."""

    protocol = 2
    name = "refimpl-unmodified"
    modules = ("refimpl",)

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        refimpl = mods["refimpl"]

        def observer(kind: str, message: Any, channel: Any, detail: str) -> None:
            if kind in ("drop", "route") and message is not None:
                report(kind, message.data, channel, detail)

        # the worker classes of this private copy (by name, refimpl would import the real ones:
        # importlib.import_module is outside interposition)
        settings = {
            **settings,
            "CHANNEL_MESSAGE_BROKER_CLASS": refimpl.MessageBroker,
            "CHANNEL_TASK_WORKER_CLASS": refimpl.TaskWorker,
        }
        return refimpl.Runtime(settings, observer=observer), refimpl.Channel

    def start(self, system: Any) -> None:
        system[0].start()

    def channel(self, system: Any, topic: str) -> Any:
        return system[1](topic, runtime=system[0])

    def subscribe(self, system: Any, handle: Any, handler: Any) -> None:
        handle.subscribe(lambda message: handler(message.topic, message.data))

    def unsubscribe(self, system: Any, handle: Any) -> None:
        handle.unsubscribe()

    def send(self, system: Any, handle: Any, data: Any, expiry: Any, local: Any, drop: Any) -> Any:
        return handle.send(data, expiry=expiry, local=local, droppable=drop).seq

    def settle(self, system: Any) -> None:
        system[0].join()

    def shutdown(self, system: Any) -> None:
        system[0].shutdown()


def _side(adapter: Any, schedules: int) -> dict[str, Any]:
    from sim.driver import play_sim
    from sim.strategies import RandomWalk

    play_sim(STANDARD, adapter, RandomWalk(10_000))  # warm-up: imports, the virtual stdlib
    steps = 0
    begin = time.perf_counter()
    for seed in range(schedules):
        steps += play_sim(STANDARD, adapter, RandomWalk(seed))[1].steps
    seconds = time.perf_counter() - begin
    return {
        "schedules": schedules,
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
    }


def measure(schedules: int = 40) -> Measurement:
    from sim.adapters import Unmodified, load_adapter

    seam = _side(load_adapter("refimpl"), schedules)
    interposed = _side(Unmodified(RefimplUnmodified()), schedules)
    m = Measurement(NAME, "Interposition: refimpl unmodified vs through its seam")
    m.notes.append(
        f"{schedules} schedules each of the standard scenario (bench.sim_speed.STANDARD), "
        "random walk, after one warm-up run; measured in one run on a shared machine. Steps per "
        f"schedule: seam {seam['steps'] / schedules:.0f}, interposed "
        f"{interposed['steps'] / schedules:.0f}."
    )
    value, peer = interposed["steps_per_s"], seam["steps_per_s"]
    m.figures.append(
        Figure(
            f"{NAME}.steps_ratio",
            "Interposed steps/s (refimpl unmodified under the virtual stdlib)",
            round(value),
            "steps/s",
            "refimpl through its seam (SimPlatform)",
            round(peer),
            ratio(value, peer),
            f">= {TARGET}x the seam",
            value >= TARGET * peer,
        )
    )
    per_a = schedules / interposed["seconds"]
    per_b = schedules / seam["seconds"]
    m.figures.append(
        Figure(
            f"{NAME}.schedules_ratio",
            "Interposed schedules/s, same scenario",
            round(per_a, 1),
            "schedules/s",
            "refimpl through its seam (SimPlatform)",
            round(per_b, 1),
            ratio(per_a, per_b),
            "none set",
            None,
        )
    )
    m.raw = {"seam": seam, "interposed": interposed}
    return m


def run(quick: bool) -> Measurement:
    return measure(8 if quick else 40)
