"""Scenario format 2 and what the driver does with it (specs/scenario-format.md).

Format: named fields, versioned, version 1 still read, anything else refused with a
one-line reason. Driver: re-subscription and two threads on one channel object, every
expiry kind, bad input, raising handlers and handler actions, all judged clean on the
reference implementation; operations a version-1 adapter cannot express are skipped and
reported as not exercised; the simulated settle lets a correct polling implementation
finish, and names its bound when an implementation is stuck.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sim.adapters import load_adapter
from sim.adapters.refimpl_adapter import RefimplAdapter
from sim.driver import play_real, play_sim
from sim.generate import scenario_from_seed
from sim.history import History
from sim.mutants.controls import PollingRuntime
from sim.oracle import Verdict, check
from sim.scenario import (
    BAD_INPUTS,
    Advance,
    Bad,
    ChannelSpec,
    Expiry,
    Scenario,
    ScenarioError,
    Send,
    Settle,
    Subscribe,
    Unsubscribe,
)
from sim.strategies.pct import PCT
from sim.strategies.random_walk import RandomWalk


def run(scenario: Scenario, impl: Any = "refimpl", seed: int = 0) -> tuple[History, Verdict]:
    adapter = load_adapter(impl) if isinstance(impl, str) else impl
    history, _ = play_sim(scenario, adapter, RandomWalk(seed))
    return history, check(history)


def kinds(history: History, kind: str) -> list[str]:
    return [e.info for e in history.events if e.kind == kind]


# the format ---------------------------------------------------------------------------------
def test_generated_scenarios_round_trip_through_json_text() -> None:
    for seed in range(40):
        scenario = scenario_from_seed(seed)
        text = json.dumps(scenario.to_json(), sort_keys=True)
        again = Scenario.from_json(json.loads(text))
        assert again == scenario
        assert json.dumps(again.to_json(), sort_keys=True) == text


def test_every_operation_round_trips() -> None:
    scenario = Scenario(
        (
            ChannelSpec("a", raises="base", actions=(Unsubscribe(0, True), Subscribe(0, True))),
            ChannelSpec("*", subscribed=False, raises=True, sleep=0.5, reply=0),
        ),
        (
            (
                Send(0, Expiry("offset", -1.5, 330), droppable=True, local=True),
                Send(1, 2.0),
                Subscribe(1, direct=True),
                Unsubscribe(1),
                Advance(0.5),
                Settle(),
                Bad(0, "topic-int"),
            ),
        ),
    )
    data = scenario.to_json()
    assert data["version"] == 2
    assert data["threads"][0][0] == {
        "op": "send",
        "channel": 0,
        "expiry": {"kind": "offset", "seconds": -1.5, "offset_minutes": 330},
        "droppable": True,
        "local": True,
    }
    assert Scenario.from_json(data) == scenario
    assert scenario.channels[1].raises == "exception"  # True still means "raises"


def test_version_1_scenarios_still_load() -> None:
    v1 = {
        "brokers": 1,
        "workers": 2,
        "timeout": 1.0,
        "shutdown": True,
        "channels": [["a", True, False, 0.0, None, False], ["a.*", False, True, 0.25, 0, True]],
        "threads": [[["send", 0, 1.5, False, False], ["sub", 1], ["unsub", 1], ["settle"]]],
    }
    scenario = Scenario.from_json(v1)
    assert scenario.channels[1] == ChannelSpec("a.*", False, "exception", 0.25, 0, True)
    assert scenario.threads[0] == (
        Send(0, Expiry("timedelta", 1.5)),
        Subscribe(1),
        Unsubscribe(1),
        Settle(),
    )
    assert scenario.task_batch == 128


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "a scenario is a JSON object"),
        ({"version": 3}, "version 3 is not supported"),
        ({"version": 2, "channels": "a"}, "channels: expected a list"),
        (
            {"version": 2, "channels": [{"topic": "a"}], "threads": [[{"op": "exec"}]]},
            "unknown scenario op 'exec'",
        ),
        (
            {
                "version": 2,
                "channels": [{"topic": "a"}],
                "threads": [[{"op": "send", "channel": 4}]],
            },
            "names role 4",
        ),
        (
            {
                "version": 2,
                "channels": [{"topic": "a"}],
                "threads": [[{"op": "send", "channel": 0, "expiry": {"kind": "eval"}}]],
            },
            "expiry seconds",
        ),
        (
            {
                "version": 2,
                "channels": [{"topic": "a"}],
                "threads": [[{"op": "bad", "channel": 0}]],
            },
            "bad what",
        ),
        ({"channels": [["a"]], "threads": [[["send", 0, 1, 2, 3, 4, 5]]]}, "wrong number"),
    ],
)
def test_malformed_scenarios_are_refused_with_a_reason(data: Any, reason: str) -> None:
    base = {"brokers": 1, "workers": 1, "timeout": 1.0, "shutdown": True}
    if isinstance(data, dict) and "channels" in data:
        data = {**base, **data}
    with pytest.raises(ScenarioError, match=reason):
        Scenario.from_json(data)


# the driver, on the reference implementation ------------------------------------------------
@pytest.mark.spec("A2", "W2", "W3")
def test_resubscribing_one_object_gives_the_new_handler_only_new_messages() -> None:
    scenario = Scenario(
        (ChannelSpec("a", sleep=1.0),),
        ((Send(0), Send(0), Advance(0.5), Unsubscribe(0, True), Subscribe(0, True), Send(0)),),
        workers=1,
    )
    for seed in range(10):
        history, verdict = run(scenario, seed=seed)
        assert verdict.ok, verdict.summary()
        assert history.objects == {0: 0, 1: 0}  # two subscriptions, one channel object
        assert ("start", 2, 1) in {(e.kind, e.msg, e.sub) for e in history.events}


@pytest.mark.spec("A2")
def test_two_threads_on_one_object_one_subscribe_wins() -> None:
    scenario = Scenario(
        (ChannelSpec("a", subscribed=False),),
        ((Subscribe(0, True), Send(0)), (Subscribe(0, True), Unsubscribe(0, True))),
        workers=2,
    )
    errors = 0
    for seed in range(30):
        history, verdict = run(scenario, seed=seed)
        assert verdict.ok, verdict.summary()
        errors += len(kinds(history, "sub_err"))
    assert errors  # some schedules subscribe twice: refimpl raises RuntimeError (A2)


@pytest.mark.spec("E1", "E2", "E3")
def test_every_expiry_kind_is_accepted_and_honoured() -> None:
    sends = tuple(
        Send(0, Expiry(kind, seconds, 330 if kind == "offset" else 0))
        for kind in ("timedelta", "naive", "utc", "offset")
        for seconds in (-2.0, 0.0, 3.0)
    )
    scenario = Scenario((ChannelSpec("a"),), (sends, (Advance(1.0), Settle())))
    history, verdict = run(scenario)
    assert verdict.ok, verdict.summary()
    expired = {e.msg for e in history.events if e.kind == "drop" and e.info == "expired"}
    started = {e.msg for e in history.events if e.kind == "start"}
    assert {m for m, info in history.messages.items() if info.expiry <= 0} <= expired  # type: ignore[operator]
    assert {2, 5, 8, 11} <= started  # the future deadlines, one per kind


@pytest.mark.spec("V1", "V2")
def test_bad_input_is_rejected_at_the_call_and_the_system_goes_on() -> None:
    ops = (*(Bad(0, what) for what in BAD_INPUTS), Send(0), Settle())
    history, verdict = run(Scenario((ChannelSpec("a"),), (ops,)))
    assert verdict.ok, verdict.summary()
    assert len(kinds(history, "bad_err")) == len(BAD_INPUTS) and not kinds(history, "bad_ret")
    assert ("start", 0, 0) in {(e.kind, e.msg, e.sub) for e in history.events}


@pytest.mark.spec("H1")
def test_handlers_raising_exception_or_baseexception_do_not_stop_delivery() -> None:
    channels = (ChannelSpec("a", raises="exception"), ChannelSpec("a", raises="base"))
    scenario = Scenario(channels, ((Send(0), Send(0), Send(0), Settle()),), workers=1)
    history, verdict = run(scenario)
    assert verdict.ok, verdict.summary()
    assert len(kinds(history, "start")) == 6 and not kinds(history, "fault")


@pytest.mark.spec("W3", "I1", "I2")
def test_handlers_subscribe_unsubscribe_and_send_on_their_own_and_other_channels() -> None:
    channels = (
        ChannelSpec("a", actions=(Unsubscribe(0, True), Subscribe(0, True), Send(1))),
        ChannelSpec("*", actions=(Subscribe(0),)),
    )
    scenario = Scenario(channels, ((Send(0), Send(0), Settle()),))
    for seed in range(10):
        _, verdict = run(scenario, seed=seed)
        assert verdict.ok, verdict.summary()


def test_real_threads_play_format_2_cleanly() -> None:
    scenario = Scenario(
        (ChannelSpec("a", raises="base"), ChannelSpec("*")),
        (
            (Send(0, Expiry("utc", 5.0)), Bad(0, "data-list"), Unsubscribe(0, True)),
            (Subscribe(0, True), Send(0, Expiry("naive", 5.0)), Settle()),
        ),
    )
    history = play_real(scenario, RefimplAdapter())
    assert check(history, tolerance=5.0).ok, check(history, tolerance=5.0).summary()


# version-1 adapters --------------------------------------------------------------------------
class _V1Adapter:
    """The reference implementation behind a session that declares no features (protocol 1)."""

    name = "refimpl-v1"

    def open(self, settings: dict[str, Any], platform: Any, report: Any) -> Any:
        session = RefimplAdapter().open(settings, platform, report)

        class V1:
            def __getattr__(self, name: str) -> Any:
                if name == "features":
                    raise AttributeError(name)
                return getattr(session, name)

        return V1()


@pytest.mark.spec("E1", "V1")
def test_operations_a_version_1_adapter_cannot_express_are_not_exercised() -> None:
    scenario = Scenario(
        (ChannelSpec("a"),),
        ((Send(0, Expiry("utc", 1.0)), Bad(0, "topic-int"), Unsubscribe(0, True), Send(0)),),
    )
    history, verdict = run(scenario, _V1Adapter())
    assert verdict.ok, verdict.summary()
    assert verdict.obligations.skipped == {
        "expiry-utc": 1,
        "bad-topic-int": 1,
        "unsubscribe-same-object": 1,
    }
    assert ("start", 0, 0) in {(e.kind, e.msg, e.sub) for e in history.events}


# settle: time-driven progress ------------------------------------------------------------------
@pytest.mark.spec("D2", "W1")
def test_a_correct_polling_implementation_conforms() -> None:
    moved = 0
    for seed in range(30):
        scenario = scenario_from_seed(seed)
        for strategy in (RandomWalk(seed), PCT(seed, depth=3, expected_steps=300)):
            history, _ = play_sim(scenario, load_adapter("control:polling"), strategy)
            verdict = check(history)
            assert verdict.ok, f"seed {seed}: {verdict.summary()}"
            settles = [e for e in history.events if e.kind in ("settle_call", "settle_ret")]
            moved += any(a.time < b.time for a, b in zip(settles[::2], settles[1::2], strict=False))
    assert moved  # settles had to let the clock run through the pollers' timeouts


class _LostWakeUp(PollingRuntime):
    poll_interval = None  # a put wakes nobody and nobody ever looks again


@pytest.mark.spec("D2")
def test_a_stuck_implementation_gets_a_finding_that_names_the_settle_bound() -> None:
    scenario = Scenario((ChannelSpec("a"),), ((Send(0), Settle()),), shutdown=False)
    history, verdict = run(scenario, RefimplAdapter(_LostWakeUp, name="lost-wake-up"))
    assert kinds(history, "settle_ret")[0] == "bound=10"
    v = verdict.violations[0]
    assert v.clause == "D2" and "gave up after 10 s of virtual time without progress" in v.text
