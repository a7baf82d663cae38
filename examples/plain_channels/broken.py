"""A broken variant of the bus, as a hurried refactoring would write it: every delivery becomes
its own pool task, so one subscription's handler runs on several workers at once and its
messages can overtake each other (spec clauses O2, O3). The conformance check must find it.
"""

from __future__ import annotations

from .bus import Bus, Subscription, _Envelope


class UnorderedBus(Bus):
    def _route(self) -> None:
        while (env := self._inbox.get()) is not None:
            reason = self._drop_reason(env)
            if reason is None:
                with self._lock:
                    self._busy += len(env.receivers)
                for sub in env.receivers:
                    self._pool.submit(self._deliver_one, sub, env)
            else:
                self._drop(env, None, reason)
            self._finish()

    def _deliver_one(self, sub: Subscription, env: _Envelope) -> None:
        try:
            self._run_handler(sub, env)
        finally:
            self._finish()
