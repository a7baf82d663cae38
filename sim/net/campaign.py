"""The fault campaign: the correct brokers on many seeds, each mutant on the first 50.

A control (a correct variant of the networked broker) must come out clean on every seed;
a mutant must be caught, on the clause it breaks, within its seeds (its catch rate is
printed). Every failing run (a flagged control, an error) has its trace written to *out*
and prints the one-line command that replays it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.net.run import CONTROLS, MUTANTS, Outcome, run
from sim.net.scenario import generate

__all__ = ["MUTANT_SEEDS", "Summary", "campaign"]

#: seeds each mutant runs on (its catch rate is reported over them)
MUTANT_SEEDS = 50


@dataclass
class Summary:
    runs: int = 0
    failures: list[Outcome] = field(default_factory=list)
    caught: dict[str, int | None] = field(default_factory=dict)  # mutant -> first seed
    must: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and all(v is not None for v in self.caught.values())


def campaign(
    seeds: range,
    controls: list[str] | None = None,
    mutants: list[str] | None = None,
    out: Path | None = None,
    say: Callable[[str], None] = print,
) -> Summary:
    """Run *controls* on every seed, and each of *mutants* on the first ``MUTANT_SEEDS``."""
    logging.getLogger("refimpl").setLevel(logging.CRITICAL)  # drops and resets are expected
    summary = Summary()
    for broker in CONTROLS if controls is None else controls:
        bad = 0
        for seed in seeds:
            outcome = run(generate(seed), broker)
            summary.runs += 1
            summary.must += outcome.counts.get("must", 0)
            if outcome.failed:
                bad += 1
                summary.failures.append(outcome)
                say(f"  FAIL {outcome.headline()}")
                say(f"       replay: {_saved(outcome, out)}")
        say(f"control {broker}: {len(seeds)} seeds, {bad} flagged")
    for name in MUTANTS if mutants is None else mutants:
        _spec, clause = MUTANTS[name]
        summary.caught[name] = None
        tried = hits = 0
        for seed in seeds[:MUTANT_SEEDS]:
            outcome = run(generate(seed), name)
            summary.runs += 1
            tried += 1
            if outcome.error is None and clause in {v.clause for v in outcome.violations}:
                hits += 1
                if summary.caught[name] is None:
                    summary.caught[name] = seed
                    first = outcome.violations[0].text[:110]
        if summary.caught[name] is None:
            say(f"  ESCAPED mutant {name}: no {clause} violation in {tried} seeds")
        else:
            say(f"mutant {name}: caught ({clause}) on {hits}/{tried} seeds, first at seed "
                f"{summary.caught[name]}: {first}")
    return summary


def _saved(outcome: Outcome, out: Path | None) -> str:
    if out is None:
        return outcome.replay_command()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"simnet-{outcome.broker}-{outcome.scenario.seed}.jsonl"
    path.write_text(outcome.trace, encoding="utf-8")
    return f"python -m sim.net replay {path}   (or: {outcome.replay_command()})"
