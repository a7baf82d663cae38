"""A process's own messages when the read-back after their ``EXEC`` fails (sim.net): P6, D2.

The server goes away right after a batch's ``EXEC`` -- the process's connection is cut for
longer than the retry timeout, or the server restarts without its data -- while the
process sends. Each message of its own that it then cannot read back must be delivered to
its own subscribers or reported dropped before ``join()`` and ``shutdown()`` return; the
oracle's own-delivery check (``sim.oracle.processes._check_own_delivery``) judges it.
These scenarios are written here, not generated from a seed: a failing run's trace is
saved, and the failure prints the ``python -m sim.net replay FILE`` command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.net.run import Outcome, run
from sim.net.scenario import NetScenario


def _outage(kind: str, at: float) -> NetScenario:
    fault = ({"kind": "cut", "proc": "p0", "at": at, "seconds": 2.0} if kind == "cut"
             else {"kind": "restart", "at": at, "seconds": 0.5})
    return NetScenario.from_json({"seed": int(at * 1000), "procs": 2, "sends": 12,
                                  "pause": 0.005, "latency": 0.003, "retry": 0.3,
                                  "faults": [fault]})


OUTAGES = [("cut", 0.032), ("cut", 0.039), ("restart", 0.032), ("restart", 0.067)]


def _not_read_back(outcome: Outcome) -> int:
    """Messages a process published and then reported dropped as a whole (not read back)."""
    published, count = set(), 0
    for line in outcome.trace.splitlines():
        e = json.loads(line)
        if e.get("ev") == "publish":
            published.add((e["p"], e["msg"]))
        elif e.get("ev") == "drop" and e.get("sub") is None and (e["p"], e["msg"]) in published:
            count += 1
    return count


@pytest.mark.spec("P6", "R5", "D2", "P8")
def test_a_message_not_read_back_is_reported_before_join_and_shutdown_return(
    tmp_path: Path,
) -> None:
    reported = 0
    for kind, at in OUTAGES:
        outcome = run(_outage(kind, at))
        if outcome.failed:
            trace = tmp_path / f"simnet-{kind}-{at}.jsonl"
            trace.write_text(outcome.trace, encoding="utf-8")
            pytest.fail(f"{outcome.headline()}\nreplay: python -m sim.net replay {trace}")
        reported += _not_read_back(outcome)
    assert reported >= 8  # the read-back failed, and each such message was reported


@pytest.mark.parametrize(("mutant", "least"), [
    ("forget-unread-back", 2),  # the broker before the fix: stops reading back, silently
    ("skip-read-back-closing", len(OUTAGES)),  # shutdown() does not read its last batch back
])
@pytest.mark.spec("P6")
def test_the_read_back_mutants_are_caught_by_the_own_delivery_check(
    mutant: str, least: int
) -> None:
    caught = sum("P6" in {v.clause for v in run(_outage(kind, at), mutant).violations}
                 for kind, at in OUTAGES)
    assert caught >= least, f"{mutant}: P6 on {caught} of {len(OUTAGES)} outages"
