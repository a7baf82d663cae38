"""Line-level preemption: scheduling points before the lines of chosen modules.

Opt-in per module (``--preempt-lines MODULE[,MODULE]``, or an adapter's
``preempt_lines`` attribute). Two ways to use the points:

* every line of the modules is a point (``LinePoints(modules)``) under any strategy --
  thorough, and slow to search: a race needs its preemption at one line out of thousands;
* race-directed (``--strategy race``, ``sim.lines.race``): a few recording runs find the
  lines whose accesses to shared state conflict without being ordered, and only those
  are points, driven by ``sim.strategies.race_pct.RacePCT``.

Modules: ``config`` (which lines; stored in traces), ``guard`` (parking at tracing depth 0
across greenlet switches), ``tracer`` (the ``sys.settrace`` instrument), ``bytecode`` and
``recorder`` (what each line touches), ``hb`` (happens-before and the race table),
``race`` (recording runs, then the race-directed plan).
"""

from sim.lines.config import LinePoints, LineTracingUnavailable, check_available, parse_modules

__all__ = ["LinePoints", "LineTracingUnavailable", "check_available", "parse_modules"]
