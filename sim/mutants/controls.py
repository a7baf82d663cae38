"""Controls: *correct* variants of the reference implementation, built differently.

A checker is proven by what it catches (the mutants) and by what it does not falsely
report: each control here conforms to the spec, yet does something the harness could
mistake for a bug. ``control:<name>`` names one for ``load_adapter``; the test suite and
``python -m sim run --impl control:<name>`` require a clean verdict.

* ``polling`` -- idle workers poll their queue every 5 ms instead of blocking on it:
  ``put`` wakes nobody, so after a send nothing happens until the virtual clock moves.
  A settle that judged at "no thread can run" would call its messages lost; the
  simulated settle lets time run through the pollers' timeouts (section 17, "Settle").
"""

from __future__ import annotations

from typing import Any

from refimpl import Runtime
from refimpl._seam import Empty, Platform
from sim.adapters.refimpl_adapter import RefimplAdapter

__all__ = ["CONTROLS", "PollingQueue", "PollingRuntime"]

POLL_INTERVAL = 0.005  #: seconds between two polls of an empty queue


class PollingQueue:
    """A queue whose ``get`` polls: a non-blocking get, then a timed wait nobody ends early.

    ``interval=None`` never wakes up at all: a lost wake-up, which the tests use to show
    that the settle bound turns a stuck implementation into a finding naming the bound.
    """

    def __init__(self, platform: Platform, interval: float | None = POLL_INTERVAL) -> None:
        self._inner = platform.queue()
        self._lock = platform.lock()
        self._nap = platform.condition(self._lock)  # never notified: only its timeout ends it
        self._interval = interval

    def put(self, item: Any) -> None:
        self._inner.put(item)  # wakes nobody: the pollers see it at their next poll

    def get(self, timeout: float | None = None) -> Any:
        waited = 0.0
        while True:
            try:
                return self._inner.get(timeout=0)
            except Empty:
                if timeout is not None and waited >= timeout:
                    raise
            with self._lock:
                self._nap.wait(self._interval)
            waited += self._interval if self._interval is not None else 0.0


class PollingRuntime(Runtime):
    """refimpl whose brokers and task workers poll their queues (correct, time-driven)."""

    poll_interval: float | None = POLL_INTERVAL

    def __init__(self, settings: object = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._messages = PollingQueue(self.platform, self.poll_interval)
        self._ready = PollingQueue(self.platform, self.poll_interval)


CONTROLS: dict[str, RefimplAdapter] = {
    "polling": RefimplAdapter(PollingRuntime, name="control:polling"),
}
