"""The networked broker's batches under simulated faults (sim.net): lost replies mid-burst.

A burst of sends is added in batches, one ``MULTI``/``XADD``.../``EXEC`` round trip each;
a batch's reply lost after the server ran it must not add its entries again (P3), and
``join()`` must wait until a batch is in the stream (R5). Replay a failure with
``python -m sim.net run --seed N --broker NAME`` for a generated seed.
"""

from __future__ import annotations

import random

import pytest

from sim.net.client import Link, Network, Window, redis_module
from sim.net.run import run
from sim.net.scenario import NetScenario
from sim.net.server import StreamServer
from sim.scheduler import Scheduler
from sim.strategies.random_walk import RandomWalk


def _bursts(seed: int) -> NetScenario:
    """Two sender threads per process, 2 ms apart, on a slow network with lost replies:
    batches of several messages, and some of their replies lost."""
    return NetScenario.from_json({"seed": seed, "procs": 3, "senders": 2, "sends": 16,
                                  "pause": 0.002, "latency": 0.003, "drop_rate": 0.05})


@pytest.mark.spec("P3")
def test_a_batch_is_one_round_trip_done_whole_or_not_at_all() -> None:
    sched = Scheduler(RandomWalk(0))
    server = StreamServer(lambda: sched.time, random.Random(0))
    net = Network(sched, server, random.Random(1), latency=0.01)
    redis = redis_module(Link(net, "p0"))["redis"]
    seen: list[str] = []

    def batch(client: object, tag: str) -> None:
        pipe = client.pipeline(transaction=True)  # type: ignore[attr-defined]
        for k in range(3):
            pipe.xadd("s", {"a": f"{tag}{k}"})
        try:
            seen.append(str(len(pipe.execute())))
        except redis.ConnectionError:
            seen.append("lost")

    def main() -> None:
        client = redis.Redis.from_url("sim://server", socket_timeout=1.0)
        batch(client, "a")
        # the request arrives before the cut, the reply after it starts (as in test_server)
        net.windows.append(Window("cut", "p0", sched.time + 0.0151, sched.time + 1.0))
        batch(client, "b")
        batch(client, "c")  # refused: nothing of it is done

    sched.run(main)
    assert seen == ["3", "lost", "lost"]
    assert [f[b"a"] for _, f in server.streams[b"s"]] == [b"a0", b"a1", b"a2", b"b0", b"b1", b"b2"]
    assert net.batches == 2 and net.lost_batches == 1
    # a round trip carrying n entries risks its connection as n single ones would
    net.drop_rate = 0.1
    assert net.drop(0) == net.drop(1) == pytest.approx(0.1)
    assert net.drop(3) == pytest.approx(1 - 0.9**3)


@pytest.mark.spec("P1", "P3", "R5")
def test_lost_batch_replies_in_bursts_leave_every_message_once_in_order() -> None:
    lost = 0
    for seed in range(4):
        outcome = run(_bursts(seed))
        assert not outcome.failed, outcome.headline()
        assert outcome.counts["batches"] >= 5 and outcome.counts["must"] > 50
        lost += outcome.counts["lost_batches"]
    assert lost >= 4  # replies of whole batches were lost, and the retries found them


@pytest.mark.parametrize(("mutant", "clause"), [
    ("blind-retry", "P3"),  # a batch retried blindly: its entries twice in the stream
    ("commit-before-adding", "R5"),  # join() returns while a batch is on its way
    ("deliver-own-at-once", "P1"),  # own batch delivered without reading it back
])
@pytest.mark.spec("P1", "P3", "R5")
def test_the_batching_mutants_are_caught_in_bursts(mutant: str, clause: str) -> None:
    clauses = {v.clause for seed in range(4) for v in run(_bursts(seed), mutant).violations}
    assert clause in clauses, f"{mutant}: no {clause} violation in 4 burst scenarios"
