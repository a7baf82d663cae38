"""Adapter protocol version 2 on the worked example: an ordinary threading implementation,
run unmodified under the scheduler, conforms; its broken variant is caught and replays exactly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from sim.adapters import load_adapter
from sim.adapters.unmodified import Unmodified
from sim.conform import conform
from sim.driver import play_real
from sim.runs import replay
from sim.scenario import ChannelSpec, Scenario, Send, Settle
from sim.trace import load

IMPL = "examples.plain_channels.adapter:factory"
BROKEN = "examples.plain_channels.adapter:broken_factory"


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    logger = logging.getLogger("refimpl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def test_the_name_resolves_to_a_wrapped_version_2_adapter() -> None:
    adapter = load_adapter(IMPL)
    assert isinstance(adapter, Unmodified) and adapter.name == "plain_channels"


def test_a_version_2_adapter_that_lacks_a_method_is_refused_at_once() -> None:
    class Incomplete:
        protocol = 2
        name = "x"
        modules = ("examples.plain_channels",)

    with pytest.raises(TypeError, match="lacks open, channel, subscribe"):
        Unmodified(Incomplete())


@pytest.mark.spec("W1", "W2", "W3", "W4", "D1", "D2", "O1", "O2", "O3", "C1", "C2", "C3")
@pytest.mark.spec("E2", "E3", "S1", "S2", "S3", "S4", "S5", "S6", "T4", "H1")
def test_plain_channels_conforms_in_simulation_and_on_real_threads(tmp_path: Path) -> None:
    report = conform(IMPL, budget=8, trace_dir=tmp_path, real_runs=2, shrink_seeds=1)
    # the bus publishes no lona.channels.* notices: I1/I2 are all it lacks
    assert set(report.violated) <= {"I1", "I2"} and report.real_findings == {}, report.table()
    assert report.schedules == 16 and report.real_runs == 2


@pytest.mark.spec("O2", "O3")
def test_the_broken_variant_is_caught_and_its_counterexample_replays(tmp_path: Path) -> None:
    report = conform(BROKEN, budget=12, trace_dir=tmp_path, real_runs=0, shrink_seeds=1)
    assert set(report.violated) & {"O2", "O3"}, report.table()
    assert set(report.violated) <= {"O2", "O3", "I1", "I2"}  # nothing else is wrong with it
    found = next(c.counterexample for c in report.clauses if c.counterexample is not None)
    assert found.replay.endswith(f"--impl {BROKEN}")  # a file never chooses code to import
    assert replay(load(found.trace_path), adapter=load_adapter(BROKEN)).ok


def test_real_threads_deliver_everything_and_settle_waits() -> None:
    channels = (ChannelSpec("t", sleep=3.0), ChannelSpec("t*"))
    scenario = Scenario(channels, ((Send(0), Send(1), Send(0), Settle()),), workers=2)
    history = play_real(scenario, load_adapter(IMPL))
    starts = sorted((e.msg, e.sub) for e in history.events if e.kind == "start")
    assert starts == [(m, s) for m in range(3) for s in (0, 1)]
    settled = next(e.index for e in history.events if e.kind == "settle_ret")
    assert all(e.index < settled for e in history.events if e.kind == "end")


def test_the_cli_refuses_a_bad_implementation_name_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sim.cli import main

    for impl in ("tests.interpose.impls.incomplete:Incomplete", "examples.nosuch:factory"):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "--seed", "0", "--impl", impl])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"cannot load implementation {impl!r}" in err and err.count("\n") == 1
