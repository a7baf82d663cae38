"""Every trace committed under ``conformance/traces`` replays exactly.

The conformance reports in ``conformance/`` print a replay command next to each
counterexample; a change to the simulator, the driver or an implementation that alters
those executions must regenerate them (``make conform``), or the printed commands lie.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim

TRACES = sorted((Path(__file__).parents[2] / "conformance" / "traces").glob("*.json"))


def test_there_are_committed_traces() -> None:
    assert len(TRACES) >= 10


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_a_committed_counterexample_replays_exactly(path: Path) -> None:
    again = sim.replay(path)
    assert again.same, f"{path.name}: {again.divergences[:1]}"
    assert again.status != "ok"  # a counterexample still fails
