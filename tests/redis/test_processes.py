"""Channels across real processes on a real Redis server, judged by sim.oracle.processes.

Each workload runs three processes (``tests/redis/node.py``), each with its own runtime,
senders and subscribers; their histories are merged and checked against section 20 of
the spec. Faults: a process killed in the middle; the server restarted in the middle
(with and without persistence) while one process is paused across the restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.redis_server import RedisServer
from tests.redis.workload import Outcome, run_workload

REPLAY = "pytest tests/redis/test_processes.py -k {}"


def _clean(outcome: Outcome, name: str) -> None:
    assert not outcome.violations, outcome.report(REPLAY.format(name))
    # the workload really exercised the rules: deliveries across processes were owed
    assert outcome.counts["must"] >= 50, outcome.report(REPLAY.format(name))


@pytest.mark.spec("P1", "P2", "P3", "P4", "P6", "I1", "L2")
def test_three_processes_share_channels(server: RedisServer, tmp_path: Path) -> None:
    outcome = run_workload(tmp_path, server)
    _clean(outcome, "test_three_processes_share_channels")
    # every process received messages that other processes sent
    for h in outcome.histories:
        senders = {e["msg"].split("/")[0] for e in h.events if e["ev"] == "start"}
        assert senders - {h.name}, f"{h.name} received nothing from another process"


@pytest.mark.spec("P2", "P6")
def test_a_killed_process_does_not_hurt_the_others(server: RedisServer, tmp_path: Path) -> None:
    outcome = run_workload(tmp_path, server, fault="kill")
    _clean(outcome, "test_a_killed_process_does_not_hurt_the_others")
    killed = next(h for h in outcome.histories if h.killed)
    assert not any(e["ev"] == "shutdown_ret" for e in killed.events)


@pytest.mark.spec("P2", "P3", "P7")
def test_server_restart_resumes_from_the_last_position(
    any_server: RedisServer, tmp_path: Path
) -> None:
    outcome = run_workload(tmp_path, any_server, fault="restart")
    _clean(outcome, "test_server_restart_resumes_from_the_last_position")
    resets = {h.name for h in outcome.histories if any(e["ev"] == "reset" for e in h.events)}
    if any_server.persist:
        assert not resets, "the stream survived the restart: no loss may be reported"
        assert outcome.counts["excused"] == 0
    else:  # the stream was lost: every process says so (the permitted, reported loss)
        assert resets == {h.name for h in outcome.histories}


@pytest.mark.parametrize(
    ("mutant", "fault", "clause"),
    [
        ("ResumeFromEnd", "restart", "P2"),
        ("ForwardLocal", "none", "P4"),
        ("AckBeforeHandling", "none", "P6"),
        # its own subscribers never get its last burst: the oracle's own-delivery check
        ("SkipReadBackWhileClosing", "none", "P6"),
    ],
)
@pytest.mark.spec("P2", "P4", "P6", "P7")
def test_broker_mutants_are_caught(
    server: RedisServer, tmp_path: Path, mutant: str, fault: str, clause: str
) -> None:
    outcome = run_workload(tmp_path, server, fault=fault, broker=f"sim.net.mutants.{mutant}")
    assert clause in {v.clause for v in outcome.violations}, outcome.report(
        REPLAY.format(f"{mutant}")
    )
