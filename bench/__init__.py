"""chanspec's benchmark suite: ``python -m bench [--quick] [--only NAME,...]``.

One run measures, on this machine, and writes ``bench/results/latest.md`` (a Markdown
table plus a section per measurement) and ``bench/results/latest.json`` (every figure,
the raw samples and a description of the machine). A run with ``--quick`` or
``--only`` writes ``bench/results/partial.{md,json}`` instead, so that reproducing one
figure never overwrites the full record (``--out STEM`` chooses another place).

Measurements, one module each (the ``--only`` names):

* ``fanout`` (``bench.fanout``): real-thread fan-out throughput, refimpl vs Lona 1.16.2;
* ``blocking`` (``bench.blocking``): the same with handlers that sometimes sleep;
* ``send`` (``bench.send_cost``): ns per ``Channel.send()`` call, refimpl vs Lona;
* ``sim`` (``bench.sim_speed``): simulation steps/s and schedules/s vs a bare greenlet switch;
* ``oracle`` (``bench.oracle_speed``): history events checked per second;
* ``mutants`` (``bench.bugfinding``): schedules and seconds to each mutant's first counterexample;
* ``reorder`` (``bench.reorder``): a two-worker reordering bug, this harness vs frontrun 0.7;
* ``memory`` (``bench.memory``): resident memory through 1,000,000 messages and 1,000 seeds;
* ``redis`` (``bench.redis_fanout``): fan-out across 1, 2, 4 processes through one Redis server,
  refimpl's networked broker vs raw redis-py streams and pub/sub (throughput, p50/p99 latency).

Every figure is reported with its peer's figure, the ratio, the target and whether it
was met; a missed target is printed as NOT MET. No figure here is a pass/fail test:
the suite's own tests (``tests/bench``) only check that each measurement runs.
"""

__all__: list[str] = []
