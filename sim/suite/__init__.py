"""The property suite, shipped with chanspec so that any project can run it.

Each ``test_prop_*`` module states spec clauses as Hypothesis properties over generated
scenarios and schedules (``sim.properties.check_sim``) or real-thread runs
(``check_real``), against the implementation the ``chanspec_impl`` fixture names. The
pytest plugin (``sim.pytest_plugin``, entry point ``pytest11``) collects these modules
when ``--chanspec-impl NAME`` is given; chanspec's own ``tests/properties`` runs the same
functions. ``SUITE`` holds the settings every property needs wherever it runs: no
per-example deadline (a simulated run may take longer on a loaded machine).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["SUITE"]

SUITE = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
