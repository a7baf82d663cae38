"""The simulated stream server and client (sim.net): Redis's semantics, and the faults."""

from __future__ import annotations

import random

import pytest

from sim.net.client import Link, Network, Window, redis_module
from sim.net.server import BASE_MS, StreamServer
from sim.scheduler import Scheduler
from sim.strategies.random_walk import RandomWalk


def _server(now: list[float]) -> StreamServer:
    return StreamServer(lambda: now[0], random.Random(0))


@pytest.mark.spec("P1", "P7")
def test_ids_grow_within_and_across_milliseconds_and_a_volatile_restart_loses_all() -> None:
    now = [0.0]
    server = _server(now)
    first = server.cmd_xadd("s", {"a": "1"})
    second = server.cmd_xadd("s", {"a": "2"})
    now[0] = 0.005
    third = server.cmd_xadd("s", {"a": "3"})
    assert [first, second, third] == [f"{BASE_MS}-0".encode(), f"{BASE_MS}-1".encode(),
                                      f"{BASE_MS + 5}-0".encode()]
    assert [e[0] for e in server.cmd_xrange("s", min=f"({BASE_MS}-0")] == [second, third]
    assert server.cmd_xread({"s": f"{BASE_MS}-1"}, count=5) == [[b"s", [(third, {b"a": b"3"})]]]
    assert server.cmd_xrevrange("s", count=1)[0][0] == third
    assert server.cmd_set("k", "v", nx=True) and server.cmd_set("k", "w", nx=True) is None
    run_id = server.cmd_info("server")["run_id"]
    server.stop()
    server.start(persist=True)
    assert server.cmd_get("k") == b"v" and server.last_id("s")[0] == BASE_MS + 5
    assert server.cmd_info()["run_id"] != run_id
    server.stop()
    server.start(persist=False)
    assert server.cmd_get("k") is None and server.cmd_xread({"s": "0-0"}) == []


@pytest.mark.spec("P3", "P7")
def test_a_cut_fails_the_call_and_a_reply_lost_in_a_cut_leaves_the_command_done() -> None:
    sched = Scheduler(RandomWalk(0))
    server = StreamServer(lambda: sched.time, random.Random(0))
    net = Network(sched, server, random.Random(1), latency=0.01)
    redis = redis_module(Link(net, "p0"))["redis"]
    seen: list[str] = []

    def main() -> None:
        client = redis.Redis.from_url("sim://server", socket_timeout=1.0)
        client.xadd("s", {"a": "1"})
        # one way takes 0.005-0.015 s: the request arrives before the cut; with these
        # seeds the reply arrives after it starts (the assertions check that path)
        net.windows.append(Window("cut", "p0", sched.time + 0.0151, sched.time + 1.0))
        try:
            client.xadd("s", {"a": "2"})
        except redis.ConnectionError:
            seen.append("lost")
        try:
            client.get("k")
        except redis.ConnectionError:
            seen.append("refused")

    sched.run(main)
    assert seen == ["lost", "refused"]
    assert len(server.streams[b"s"]) == 2  # the lost reply's XADD was done
