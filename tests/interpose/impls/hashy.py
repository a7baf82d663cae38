"""A bus whose scheduling depends on string hashing: the negative control of the determinism check.

Before each publish it visits a set of names in set order, which ``PYTHONHASHSEED`` decides;
each visit takes the bus lock on its own line, so runs in processes with different hash seeds
take different steps, and the check must name the first one (thread and line).
"""

from examples.plain_channels.adapter import PlainChannelsAdapter
from examples.plain_channels.bus import Bus


class HashyBus(Bus):
    def publish(self, topic, data=None, expiry=None, droppable=False):
        for name in {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}:
            getattr(self, "_visit_" + name)()
        return super().publish(topic, data, expiry, droppable)

    def _visit_alpha(self):
        with self._lock:
            pass

    def _visit_beta(self):
        with self._lock:
            pass

    def _visit_gamma(self):
        with self._lock:
            pass

    def _visit_delta(self):
        with self._lock:
            pass

    def _visit_epsilon(self):
        with self._lock:
            pass

    def _visit_zeta(self):
        with self._lock:
            pass

    def _visit_eta(self):
        with self._lock:
            pass

    def _visit_theta(self):
        with self._lock:
            pass


class HashyAdapter(PlainChannelsAdapter):
    name = "hashy"
    modules = ("examples.plain_channels", "tests.interpose.impls.hashy")
    bus_module, bus_class = "tests.interpose.impls.hashy", "HashyBus"


factory = HashyAdapter
