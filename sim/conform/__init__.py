"""Conformance: is another implementation a correct implementation of the spec, clause by clause?

``python -m sim conform --impl NAME`` runs, against the candidate:

1. *probes* (``sim.conform.probes``, ``sim.conform.matching``): the differential matching
   probe (T2-T5 on thousands of generated topic pairs) and targeted scenarios for H1,
   W4, S3, S4 and E2, each checking what its clause promises, with controls;
2. a *campaign*: generated scenarios under a mix of strategies (random walk, PCT, and
   any race-directed strategy registered in ``sim.strategies``), every history judged
   by the oracle;
3. *real threads*: generated scenarios, with expiries, and the expiry probe, on real
   threads, each judged with a clock tolerance measured for that run.

With ``real_only`` (``--real-only``), or when the adapter declines simulation
(``simulation = False``), everything runs on real threads. Every call into the
candidate is bounded (``sim.conform.runner``): a hung call is a liveness finding.

Every violated clause gets its smallest counterexample (``sim.conform.shrink``), a saved
trace, the one-line replay command, the minimal scenario in readable form and the first
history event where the candidate differs from the reference implementation. A clause
"conforms" only if it is judged and some run exercised it (``sim.conform.coverage``);
otherwise it is "not exercised" or "not observable" (``sim.conform.observability``).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sim.adapters import load_adapter
from sim.conform.coverage import exercise
from sim.conform.matching import classify, disagreement, matching_text, probe_matching
from sim.conform.observability import ALL_CLAUSES, TABLE
from sim.conform.probes import (
    ProbeResult,
    probe_draining_sends,
    probe_droppable,
    probe_expiry,
    probe_handler_errors,
    probe_registry,
    probe_same_object,
    probe_snapshot,
)
from sim.conform.report import ClauseResult, ConformanceReport, Counterexample, Explored
from sim.conform.runner import Run, declines_simulation, liveness, real, simulate
from sim.conform.shrink import fewest, readable, shrink
from sim.generate import GenConfig, scenario_from_seed
from sim.history import History
from sim.inputs import replay_command
from sim.lines.plan import modules_for
from sim.oracle import CLAUSES, check
from sim.runs import save_trace
from sim.scenario import Advance, Scenario, Send, Shutdown, Subscribe, Unsubscribe
from sim.strategies import STRATEGIES
from sim.trace import Trace

__all__ = [
    "ALL_CLAUSES",
    "DEFAULT_BUDGET",
    "ClauseResult",
    "ConformanceReport",
    "conform",
    "first_difference",
    "main",
    "strategy_mix",
]

#: simulated schedules per strategy of the mix. Chosen from ``python -m sim mutants
#: --budget 3000`` (schedules each strategy needs to catch each mutant in generated
#: scenarios): the rarest, ``registry_race``, needs 371 random-walk schedules and PCT never
#: finds it; 2000 per strategy leaves a factor of five, and the whole check stays well
#: under two minutes on 2 cores (README, "Conformance").
DEFAULT_BUDGET = 2000
#: simulated steps the whole campaign may take (``conform(steps=...)``): a candidate whose
#: idle threads poll costs ten to thirty times the steps per schedule of one that blocks
#: (``examples/corpus``: 10,000 against 400), so it gets fewer schedules than the budget,
#: and the report says how many; about 90 s on one unloaded core at 90,000 steps/s
DEFAULT_STEPS = 8_000_000
#: once a clause is violated, the campaign goes on until it has run as many schedules again
#: as it had when it found its latest new clause (at least this many) without another one
PATIENCE = 400
DEFAULT_REAL_RUNS = 24
#: clauses the probes judge, beyond the oracle's
PROBED = frozenset({"T2", "T3", "T4", "T5", "H1", "W4", "S3", "S4", "E2", "E3"})
#: clauses decided through another clause's check
THROUGH = {"T6": ("D1",), "L1": ("W1", "D2")}
#: generated scenarios for real threads: expiries long enough to be decided there
REAL_CONFIG = GenConfig(expiries=(None, None, 0.0, 1.0, 4.0, 12.0))
STEPS = 20_000  #: the first livelock bound of a simulated run (refimpl needs under 2,000)
MAX_STEPS = 100_000  #: the bound a livelock is confirmed at
REAL_SCALE = 0.02  #: real seconds per scenario second, generated real runs
SLOW_SCALE = 0.05  #: the expiry probe on real threads

Play = Callable[[Scenario, str, int], Run]


def strategy_mix(with_lines: bool = True) -> tuple[str, ...]:
    """Random walk and PCT, plus every other registered exploring strategy (race-directed,
    which needs line points: only *with_lines*)."""
    skip = {"random", "pct", "replay"} | (set() if with_lines else {"race"})
    extra = tuple(sorted(n for n in STRATEGIES if n not in skip))
    return ("random", "pct", *extra)


def features(scenario: Scenario) -> set[str]:
    """The scenario features a report counts (operation kinds by name, and combinations)."""
    out = {f"op {type(op).__name__}" for ops in scenario.threads for op in ops}
    unsubscribed: set[int] = set()
    touched: dict[int, set[int]] = {}
    for t, ops in enumerate(scenario.threads):
        for i, op in enumerate(ops):
            if isinstance(op, Unsubscribe):
                unsubscribed.add(op.channel)
            if isinstance(op, (Subscribe, Unsubscribe)):
                touched.setdefault(op.channel, set()).add(t)
                if isinstance(op, Subscribe) and (
                    op.channel in unsubscribed or not scenario.channels[op.channel].subscribed
                ):
                    out.add("re-subscribe" if op.channel in unsubscribed else "late subscribe")
            if isinstance(op, Send):
                e = op.expiry_spec()
                if e is not None:  # each expiry kind (scenario format 2), past or future
                    out.add(f"expiry {e.kind} {'<= 0' if e.seconds <= 0 else '> 0'}")
                if op.droppable:
                    out.add("droppable")
                if op.local:
                    out.add("local")
            if isinstance(op, Shutdown):
                out.add("shutdown mid-thread" if i < len(ops) - 1 else "shutdown by a thread")
                if len(scenario.threads) > 1:
                    out.add("shutdown concurrent with other threads")
            if isinstance(op, Advance):
                out.add("time passes")
    if any(len(ts) > 1 for ts in touched.values()):
        out.add("same channel (un)subscribed from two threads")
    for c in scenario.channels:
        if c.raises:
            out.add("raising handler")
        if c.sleep:
            out.add("slow handler")
        if c.reply is not None:
            out.add("handler sends")
    if scenario.shutdown:
        out.add("shutdown at the end")
    return out


# side by side --------------------------------------------------------------------------------
def _event_key(e: list[Any]) -> tuple[Any, ...]:
    return (e[3], e[4], e[5], e[6])


def first_difference(candidate: Trace, reference: Trace) -> str:
    """Where the candidate's history first differs from the reference's (user-level events)."""
    a = [e for e in candidate.history["events"] if e[3] not in ("route",)]
    b = [e for e in reference.history["events"] if e[3] not in ("route",)]
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if _event_key(x) != _event_key(y):
            return (
                f"event {i}: {candidate.impl} has {x[3]} m{x[4]} s{x[5]} {x[6]!r}, "
                f"refimpl has {y[3]} m{y[4]} s{y[5]} {y[6]!r}"
            )
    if len(a) != len(b):
        return (
            f"after {min(len(a), len(b))} events: {candidate.impl} has {len(a)}, refimpl {len(b)}"
        )
    return "no difference in the user-level events"


# the run -------------------------------------------------------------------------------------
class _Conformance:
    """One conformance check in progress: the findings so far and what was explored."""

    def __init__(
        self, impl: str, trace_dir: Path, simulated: bool, wall: float = 20.0, lines: str = ""
    ) -> None:
        self.impl = impl
        self.lines = lines  #: ``--preempt-lines`` given (empty: the adapter's default)
        self.line_points = bool(simulated and modules_for(impl, lines))
        #: what probes and the main campaign play with: line points cost several times the
        #: schedule, so by default they are kept for a share of the budget (``campaign``)
        self.base_lines = lines if lines else "none"
        self.wall = wall  #: seconds any one play may take before it counts as hung
        self.hung: dict[str, str] = {}  #: world ("sim", "real") -> the hang that stopped it
        self.shrink_limit = 120  #: candidate scenarios tried per counterexample
        self.steps = STEPS  #: the current livelock bound (see ``play_sim``)
        self.livelock = False  #: a livelock was confirmed at ``MAX_STEPS``
        self.longest = 0  #: steps of the longest simulated run that finished
        #: 4x the most steps a time-driven hang took to show (0: none seen): the first cut
        #: of later runs once hangs are seen, so each further hang costs that, not 8x longest
        self.hang_steps = 0
        self.trace_dir = trace_dir
        self.simulated = simulated
        self.found: dict[str, tuple[str, Run]] = {}
        self.exercised: Counter[str] = Counter()
        self.explored = Explored()
        self.real_findings: dict[str, str] = {}
        self.pinned: set[str] = set()  #: clauses whose counterexample a probe made minimal
        self.explained: dict[str, str] = {}  #: symptom clause -> the cause it was reported as

    def _bounded(
        self,
        scenario: Scenario,
        strategy: str,
        seed: int,
        play: Callable[[], Run],
        world: str = "sim",
    ) -> Run:
        """After one call hung in a *world* ("sim" or "real"), every later play there is
        skipped: each would hang as well. The other world goes on: threads abandoned on real
        threads do not block simulated runs (each simulated run is bounded too), so a
        candidate that hangs on real threads still gets its simulated campaign."""
        if world in self.hung:
            return Run(scenario, History(), {}, "skipped", strategy, seed)
        run = play()
        if run.hung:
            self.hung[world] = next(iter(run.found.values()), "a call did not return")
        return run

    @property
    def stuck(self) -> str:
        """The liveness finding that stopped further plays (in either world), or ""."""
        return "; ".join(f"{w}: {t}" for w, t in sorted(self.hung.items()))

    def _simulate(
        self, scenario: Scenario, strategy: str, seed: int, steps: int, lines: str
    ) -> Run:
        return self._bounded(
            scenario,
            strategy,
            seed,
            lambda: simulate(
                self.impl,
                scenario,
                strategy,
                seed,
                max_steps=steps,
                wall=self.wall,
                lines=lines,
            ),
        )

    def play_sim(
        self, scenario: Scenario, strategy: str, seed: int, lines: str | None = None
    ) -> Run:
        """One schedule, with an adaptive step limit (livelock bound).

        *lines*: ``--preempt-lines`` for this play (None: ``base_lines``).

        The limit starts at ``STEPS`` and follows 8 times the longest run that finished
        (at least 5,000);
        a run that hits it is played again at ``MAX_STEPS`` before a livelock is reported
        (a slow but live implementation is never called livelocked), and only if the
        virtual clock stood still between the two cuts (``time_driven`` otherwise); a run whose
        clock already ran a settle bound past its last event is decided at once (a polling
        implementation stuck in a call: ``time_driven``). Once one livelock is confirmed,
        later runs that hit the limit are not replayed (that would cost ``MAX_STEPS`` each)
        and claim no liveness finding of their own.
        """
        steps = self.steps
        if self.livelock:  # found already: a run that hits a tighter bound is not replayed
            steps = min(steps, max(3 * self.longest, 3_000))
        elif self.hang_steps:  # hangs seen: cut sooner (a longer live run is replayed below)
            steps = min(steps, max(2 * self.longest, self.hang_steps, 2_000))
        lines = self.base_lines if lines is None else lines
        run = self._simulate(scenario, strategy, seed, steps, lines)
        if run.trace is None:
            return run
        if run.trace.outcome["status"] != "livelock":
            self.longest = max(self.longest, run.trace.steps)
            self.steps = min(MAX_STEPS, max(5_000, 8 * self.longest))
            return run
        if self.quiet_for(run) >= scenario.settle_bound:
            # the clock already ran a settle bound past the last event: a hang of a polling
            # implementation, decided now (playing on to MAX_STEPS cost ~5x the steps)
            self.hang_steps = max(self.hang_steps, 4 * self.steps_to_show(run))
            return self.time_driven(run)
        if steps >= MAX_STEPS:  # at the cap already: the same schedule cut at half
            half = self._simulate(scenario, strategy, seed, MAX_STEPS // 2, lines)
            if half.trace is not None and run.trace.time > half.trace.time:
                return self.time_driven(run)
            self.livelock = True
            return run
        if not self.livelock:
            again = self._simulate(scenario, strategy, seed, MAX_STEPS, lines)
            if again.trace is not None and again.trace.outcome["status"] == "livelock":
                if again.trace.time > run.trace.time:  # same schedule, later: the clock moves
                    return self.time_driven(again)
                self.livelock = True
            elif again.trace is not None:
                self.longest = max(self.longest, again.trace.steps)
                self.steps = min(MAX_STEPS, max(5_000, 8 * self.longest))
            return again
        run.found = {c: t for c, t in run.found.items() if not t.startswith("liveness")}
        return run

    @staticmethod
    def quiet_for(run: Run) -> float:
        """Virtual seconds between the last history event and the end of a simulated run."""
        assert run.trace is not None
        events = run.history.events
        return run.trace.time - (events[-1].time if events else 0.0)

    def shrink_cap(self, run: Run) -> int | None:
        """The step limit of the runs that shrink *run*'s counterexample (None: the adaptive
        one): 8 times its own steps if it ended, or 4 times the steps its clock took to run a
        settle bound past its last event if it hung (time-driven). A simpler candidate that
        hangs is then judged at that cut instead of being played on to ``MAX_STEPS`` (on a
        polling candidate each cost up to a second, and shrinking tries a hundred)."""
        trace = run.trace
        if trace is None:
            return None
        if trace.outcome["status"] != "livelock":
            return min(MAX_STEPS, max(5_000, 8 * trace.steps))
        decided = self.steps_to_show(run)
        if not decided:  # a livelock on a frozen clock: the adaptive limit decides
            return None
        return min(MAX_STEPS, max(2_000, 4 * decided))

    @staticmethod
    def steps_to_show(run: Run) -> int:
        """The steps a hung run took until its clock ran a settle bound past its last event
        (0 if it never did: a livelock on a frozen clock)."""
        assert run.trace is not None
        events = run.history.events
        due = (events[-1].time if events else 0.0) + run.scenario.settle_bound
        return next((step for step, time in run.trace.clock if time >= due), 0)

    def play_capped(
        self, scenario: Scenario, strategy: str, seed: int, cap: int, lines: str
    ) -> Run:
        """One schedule cut at *cap* steps; a cut run is judged there (``time_driven``)."""
        run = self._simulate(scenario, strategy, seed, cap, lines)
        if run.trace is not None and run.trace.outcome["status"] == "livelock":
            return self.time_driven(run, count=False)
        return run

    def time_driven(self, run: Run, count: bool = True) -> Run:
        """A run cut at ``MAX_STEPS`` whose virtual clock kept moving is no livelock (that is
        busy work on a frozen clock): its idle threads poll. It is a liveness finding only
        if the implementation made no progress (no history event) for the scenario's settle
        bound of virtual time before the cut (spec section 17, "Settle"); otherwise it was
        still at work, too long to simulate to its end: its liveness is not judged (counted
        in the report), what its history shows so far is."""
        quiet = self.quiet_for(run)
        bound = run.scenario.settle_bound
        kept = {c: t for c, t in run.found.items() if not t.startswith("liveness")}
        if quiet >= bound:
            clause, text = liveness(
                run.history, f"{bound:g} virtual seconds without progress", "in simulation"
            )
            kept.setdefault(clause, text)
        elif count:
            self.explored.unfinished += 1
        run.found = kept
        return run

    def play_real(self, scenario: Scenario, strategy: str, seed: int) -> Run:
        return self._bounded(
            scenario,
            strategy,
            seed,
            lambda: real(self.impl, scenario, seed, scale=REAL_SCALE, wall=self.wall),
            "real",
        )

    def play_slow(self, scenario: Scenario, strategy: str, seed: int) -> Run:
        return self._bounded(
            scenario,
            strategy,
            seed,
            lambda: real(self.impl, scenario, seed, scale=SLOW_SCALE, wall=self.wall),
            "real",
        )

    @property
    def play(self) -> Play:
        return self.play_sim if self.simulated else self.play_real

    def at_lines(self, seeds: int) -> tuple[Play, int, tuple[str, ...]]:
        """(play, seeds, strategies) of a probe for races between two lines: with the
        candidate's line points (race-directed, and the random walk at every line) where it
        has them."""
        if not self.simulated:  # real threads: the strategy is not theirs to choose
            return self.play, seeds, ("real",)
        if not self.line_points:
            return self.play, seeds, ("random", "pct")
        return partial(self.play_sim, lines=self.lines), seeds, ("race", "random")

    def note(self, run: Run, count: bool = True) -> None:
        """Account for one run: coverage, exploration, and its findings."""
        if run.mode == "skipped":
            return
        complete = not any(t.startswith("liveness") for t in run.found.values())
        self.exercised.update(exercise(run.history, check(run.history, complete=complete)))
        if run.mode == "real":
            self.explored.real_runs += count
            if run.tolerance:
                self.explored.tolerances.append(run.tolerance)
        for clause, text in run.found.items():
            if run.mode == "real":
                self.real_findings.setdefault(clause, f"seed {run.seed}: {text}")
            self.keep(clause, text, run)

    def keep(self, clause: str, text: str, run: Run, pinned: bool = False) -> None:
        """Remember *run* as *clause*'s counterexample if it is the first or a smaller one."""
        old = self.found.get(clause)
        if clause in self.pinned:
            return
        replayable = (run.trace is not None, -run.size)  # replayable first, then smaller
        if old is None or pinned or replayable > (old[1].trace is not None, -old[1].size):
            self.found[clause] = (text, run)
        if pinned:
            self.pinned.add(clause)

    def explain_losses(self) -> None:
        """A loss (W1/D2) of a pair the candidate does not match is a matching failure (T2-T5):
        reported there, not as the symptom."""
        for clause in ("W1", "D2"):
            if clause not in self.found or clause in self.pinned:
                continue
            _, run = self.found[clause]
            pair = run.pair(clause)
            if pair is None:
                continue
            sender, subscriber = pair
            seen = disagreement(self.play, sender, subscriber)
            if seen is None:
                continue
            got, small = seen
            del self.found[clause]
            self.explained[clause] = f"explained by the matching failure on {pair}"
            kind = classify(sender, subscriber, None, got)
            self.keep(kind, matching_text(sender, subscriber, got), small, pinned=True)
            if kind != "T4":
                self.keep("T4", matching_text(sender, subscriber, got), small, pinned=True)

    def probe(self, result: ProbeResult) -> None:
        for run in result.runs:
            self.explored.probe_runs += 1
            self.note(run, count=False)
        self.exercised.update(result.exercised)
        for f in result.findings:
            self.keep(f.clause, f.text, f.run, pinned=True)

    def plan(self, budget: int) -> list[tuple[str, str, int]]:
        """(strategy, ``--preempt-lines``, schedules) of the campaign.

        Random walk and PCT at synchronisation points get *budget* each. When the candidate
        has line points (its adapter names modules, or ``--preempt-lines``), a tenth of the
        budget each goes to the random walk at line points and to every strategy that
        needs them (the race-directed one): a schedule there costs several times more.
        """
        out = [("random", self.base_lines, budget), ("pct", self.base_lines, budget)]
        if self.line_points:
            share = max(1, budget // 10)
            if self.base_lines == "none":
                out.append(("random", self.lines, share))
            out += [(s, self.lines, share) for s in strategy_mix(True)[2:]]
        return out

    def campaign(self, budget: int, offset: int, steps: int = DEFAULT_STEPS) -> str:
        """Play the plan's strategies round-robin over the seeds (seed ``offset + i`` under
        each strategy before seed ``offset + i + 1``), so that a campaign cut short still
        gave every strategy its share. Returns why it stopped early, or "".

        It stops early (1) when the simulated steps reach *steps* (a candidate whose idle
        threads poll costs many steps per schedule), or (2) once clauses are violated and
        no new one appeared in ``max(PATIENCE, schedules at the latest new one)`` further
        schedules: the counterexamples are what the report is for, and each is shrunk.
        """
        plan = self.plan(budget)
        spent = played = last_new = 0
        known = len(self.found)
        for i in range(max((n for _, _, n in plan), default=0)):
            for strategy, lines, n in plan:
                if i >= n:
                    continue
                if "sim" in self.hung:
                    return ""
                if spent >= steps:
                    return f"step budget ({steps:,} simulated steps) spent"
                if self.found and played - last_new >= max(PATIENCE, last_new):
                    return (
                        f"{len(self.found)} clause(s) violated, no new one in the last "
                        f"{played - last_new} schedules"
                    )
                seed = offset + i
                label = strategy if lines == "none" or not self.line_points else f"{strategy}@lines"
                scenario = scenario_from_seed(seed, GenConfig())
                run = self.play_sim(scenario, strategy, seed, lines)
                played += 1
                spent += run.trace.steps if run.trace is not None else 0
                self.explored.schedules[label] += 1
                self.explored.seed_end[label] = seed + 1
                self.explored.interleavings.add(run.digest)
                self.explored.configs[f"{scenario.brokers}x{scenario.workers}"] += 1
                self.explored.features.update(features(scenario))
                self.note(run)
                if len(self.found) > known:
                    known, last_new = len(self.found), played
        return ""

    def real_campaign(self, runs: int, offset: int) -> None:
        for seed in range(offset, offset + runs):
            if "real" in self.hung:
                return
            scenario = scenario_from_seed(seed, REAL_CONFIG)
            run = self.play_real(scenario, "real", seed)
            self.explored.configs[f"{scenario.brokers}x{scenario.workers}"] += 1
            self.explored.features.update(features(scenario))
            self.explored.interleavings.add(run.digest)
            self.note(run)

    # counterexamples ---------------------------------------------------------------------
    def counterexample(self, clause: str, text: str, run: Run, shrink_seeds: int) -> Counterexample:
        if run.trace is not None and clause in CLAUSES and clause in run.found:
            # the oracle judges the clause, so any scenario may be shrunk, a probe's too
            cap = self.shrink_cap(run)
            play: Play = (
                partial(self.play_sim, lines=run.lines)
                if cap is None
                else partial(self.play_capped, cap=cap, lines=run.lines)
            )
            run = shrink(play, run, clause, shrink_seeds, limit=self.shrink_limit)
            run = fewest(play, run, clause, seeds=max(1, self.shrink_limit // 6))
            if clause not in self.pinned:  # a probe's text says what the probe checked
                text = run.found.get(clause, text)
        self.trace_dir.mkdir(parents=True, exist_ok=True)
        stem = f"conform-{self.impl.replace(':', '-').replace('/', '-')}-{clause}"
        differs = ""
        if run.trace is not None:
            path = save_trace(run.trace, self.trace_dir, f"{stem}.json")
            replay = replay_command(path, self.impl)
            name = run.strategy if run.strategy in ("random", "pct") else "random"
            reference = simulate("refimpl", run.scenario, name, run.seed)
            if reference.trace is not None:
                differs = first_difference(run.trace, reference.trace)
        else:
            path = self.trace_dir / f"{stem}-scenario.json"
            path.write_text(
                json.dumps(run.scenario.to_json(), sort_keys=True) + "\n", encoding="utf-8"
            )
            replay = f"python -m sim run --scenario {path} --impl {self.impl} --real"
            differs = "real threads: not replayable; the command runs the scenario again"
        return Counterexample(
            clause=clause,
            text=text,
            scenario=run.scenario.to_json(),
            readable=readable(run.scenario),
            strategy=run.strategy,
            seed=run.seed,
            preemptions=run.preemptions,
            trace_path=str(path),
            replay=replay,
            differs_from_refimpl=differs,
        )

    def verdicts(self, shrink_seeds: int) -> list[ClauseResult]:
        judged = set(CLAUSES) | PROBED
        out: list[ClauseResult] = []
        for clause in ALL_CLAUSES:
            row = TABLE[clause]
            if clause in self.found:
                text, run = self.found[clause]
                ce = self.counterexample(clause, text, run, shrink_seeds)
                out.append(ClauseResult(clause, "violated", ce))
            elif clause in self.explained:
                note = "undecided: " + self.explained[clause]
                out.append(ClauseResult(clause, "not exercised", None, note))
            elif clause in THROUGH:
                via = THROUGH[clause]
                broken = [c for c in via if c in self.found]
                if broken:
                    out.append(
                        ClauseResult(
                            clause,
                            "not exercised",
                            None,
                            f"undecided: decided through {'/'.join(via)}, which "
                            f"{'is' if len(broken) == 1 else 'are'} violated",
                        )
                    )
                else:
                    out.append(self._by_count(clause, row.decided_by))
            elif clause in judged:
                out.append(self._by_count(clause, row.decided_by))
            else:
                out.append(ClauseResult(clause, "not observable", None, row.decided_by))
        return out

    def _by_count(self, clause: str, how: str) -> ClauseResult:
        n = self.exercised[clause]
        if n > 0:
            return ClauseResult(clause, "conforms", None, f"exercised {n} times: {how}")
        return ClauseResult(clause, "not exercised", None, f"no run exercised it: {how}")


def conform(
    impl: str,
    budget: int = DEFAULT_BUDGET,
    trace_dir: Path = Path("traces"),
    real_runs: int = DEFAULT_REAL_RUNS,
    shrink_seeds: int = 4,
    *,
    real_only: bool = False,
    seed_offset: int = 0,
    probe_seeds: int = 6,
    wall: float = 20.0,
    shrink_limit: int = 120,
    lines: str = "",
    steps: int = DEFAULT_STEPS,
) -> ConformanceReport:
    """Check *impl* clause by clause; see the module docstring. *lines*: ``--preempt-lines``;
    *steps*: the campaign's simulated step budget (``_Conformance.campaign``)."""
    started = time.perf_counter()
    simulated = not real_only and not declines_simulation(impl)
    c = _Conformance(impl, trace_dir, simulated, wall, lines)
    c.shrink_limit = shrink_limit
    play = c.play
    seeds = probe_seeds if simulated else max(1, probe_seeds // 3)
    findings, counted, runs = probe_matching(play)
    c.probe(ProbeResult(list(findings), counted, runs))
    c.probe(probe_same_object(*c.at_lines(seeds)))  # first: W2's own case before W4's
    for probe in (
        probe_handler_errors,
        probe_snapshot,
        probe_registry,
        probe_droppable,
        probe_draining_sends,
        probe_expiry,
    ):
        c.probe(probe(play, seeds))
    if real_runs > 0:  # timing on real threads, expiries well outside the run's tolerance
        c.probe(probe_expiry(c.play_slow, 2))
    cut = ""
    if simulated:
        cut = c.campaign(budget, seed_offset, steps)
        c.real_campaign(real_runs, seed_offset)
        mode = "simulation and real threads"
    else:
        c.real_campaign(max(real_runs, budget // 20), seed_offset)
        mode = "real threads only"
    c.explain_losses()
    c.explored.seeds = (
        ", ".join(f"{k} {seed_offset}..{end - 1}" for k, end in sorted(c.explored.seed_end.items()))
        + (f" (budget {budget} per strategy; campaign stopped early: {cut})" if cut else "")
        if simulated
        else f"{seed_offset}.. (real threads)"
    )
    if cut:
        mode += "; campaign cut short"
    if c.stuck:
        mode += f"; stopped early: {c.stuck}"
    report = ConformanceReport(impl, budget, mode)
    report.clauses = c.verdicts(shrink_seeds)
    report.real_findings = c.real_findings
    c.explored.seconds = time.perf_counter() - started
    report.explored = c.explored
    return report


def main(
    impl: str,
    report_path: str | None,
    budget: int,
    trace_dir: Path,
    *,
    real_only: bool = False,
    fresh: bool = False,
    lines: str = "",
) -> int:
    try:
        load_adapter(impl)
    except Exception as exc:  # a bad name or a broken factory: one line, exit 2
        print(f"error: cannot load implementation {impl!r}: {exc}", file=sys.stderr)
        return 2
    offset = 0
    if fresh:
        import secrets

        offset = secrets.randbelow(10**9) * 100_000  # the only randomness: which seeds, printed
        print(f"fresh seeds from {offset}", flush=True)
    report = conform(impl, budget, trace_dir, real_only=real_only, seed_offset=offset, lines=lines)
    print(report.table())
    for c in report.clauses:
        ce = c.counterexample
        if ce is None:
            continue
        print(f"\n{c.clause}: {ce.text}")
        print("  minimal scenario:")
        print("\n".join("    " + line for line in ce.readable.splitlines()))
        print(f"  schedule: {ce.strategy} seed {ce.seed}, {ce.preemptions} preemptions")
        print(f"  vs refimpl: {ce.differs_from_refimpl}")
        print(f"  replay: {ce.replay}")
    if report_path:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(
            json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    return 1 if report.violated else 0
