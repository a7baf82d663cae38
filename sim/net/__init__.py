"""Simulation with faults for the networked broker (spec section 20, P1-P8).

Several processes -- each a group of virtual threads with its own runtime -- share one
simulated stream server on one virtual clock; connections are cut and slowed, processes
are killed (and replaced), the server restarts with and without persistence. The broker
of ``refimpl.redis_broker`` runs unchanged against a simulated redis-py client; the
merged histories are judged by ``sim.oracle.processes``, as the real-Redis workloads of
``tests/redis`` are.

Modules: ``server`` (the simulated server), ``client`` (what a process imports as
``redis``, ``time``, ``uuid``), ``scenario`` (drawn from a seed), ``node`` (one process),
``run`` (one run, its trace, replay), ``mutants`` (broken brokers), ``campaign`` and
``__main__`` (``python -m sim.net``, ``make sim-net``).
"""
