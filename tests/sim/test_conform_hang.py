"""conform on a polling implementation whose shutdown() never returns (virtual time moves).

Such a run hits the step limit with its clock far past the last event. It is a liveness
finding by the settle bound (spec section 17) at the first cut; conform used to play it
again to MAX_STEPS first, for every hung schedule (an implementation written outside the
project cost 110 CPU seconds at the default budget, mostly in those replays).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.conform import MAX_STEPS, STEPS, _Conformance
from sim.scenario import ChannelSpec, Scenario, Send, Settle

IMPL = "tests.sim.impls.poll_forever:Adapter"


@pytest.mark.spec("S1")
def test_a_polling_hang_is_a_liveness_finding_without_a_replay(tmp_path: Path) -> None:
    c = _Conformance(IMPL, tmp_path, simulated=True)
    scenario = Scenario((ChannelSpec("a"),), ((Send(0), Settle()),), workers=1)
    run = c.play_sim(scenario, "random", 0)
    assert run.trace is not None
    assert run.trace.steps <= STEPS + 1 < MAX_STEPS  # decided at the first cut
    assert list(run.found) == ["S1"]
    assert "shutdown() did not return" in run.found["S1"]
    assert c.explored.unfinished == 0 and not c.livelock
