"""The seed's deployment, driven: the chat app on several processes behind a load balancer.

``examples/lona_cluster`` starts a Redis server, the chat app ``examples/lona_chat/app.py``
as separate Lona server processes on refimpl's channels, and a round-robin balancer; users
connect through the balancer as Lona's browser client does (``examples.lona_cluster.client``)
and land on different processes. With the networked broker every page shows every line, in
one order for all (P1), each sender's lines in the order sent; with the default in-memory
broker (the control: the seed's problem) users on other processes miss each other's lines.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from examples.lona_cluster.client import ChatUser
from examples.lona_cluster.cluster import Cluster

USERS = ("Ann", "Bob", "Cid", "Dee")
BURST = 8
REPLAY = "replay: python -m pytest tests/examples/test_lona_cluster.py -k {}"


def _mates(placed: dict[str, int], user: str) -> set[str]:
    return {u for u in USERS if placed[u] == placed[user]}


async def _chat(processes: int, broker: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Every user says a burst at once; (user -> process, user -> the lines their page shows).

    A page is read once it shows what it is owed (every line with the networked broker,
    its process mates' lines without), then once more a moment later: a page still
    growing would show a duplicate.
    """
    async with Cluster(processes, broker=broker) as cluster, aiohttp.ClientSession() as session:
        users = [await ChatUser.open(session, cluster.url, name) for name in USERS]
        placed = {u.name: cluster.backend_of(u.local_port) for u in users}
        await asyncio.gather(*(u.say([f"{u.name} {i}" for i in range(BURST)]) for u in users))
        local = broker == "refimpl.MessageBroker"
        owed = {u.name: BURST * len(_mates(placed, u.name) if local else USERS) for u in users}
        await asyncio.gather(*(u.wait_for(owed[u.name], timeout=20) for u in users))
        await asyncio.sleep(0.3)
        seen = {u.name: u.lines for u in users}
        for u in users:
            await u.close()
    return placed, seen


@pytest.mark.spec("P1", "P2", "P3")
def test_users_on_different_processes_see_every_line_in_one_order() -> None:
    placed, seen = asyncio.run(_chat(3, "refimpl.redis_broker.RedisMessageBroker"))
    replay = REPLAY.format("one_order")
    assert len(set(placed.values())) == 3, (placed, replay)  # every process serves a user
    sent = [f"{u}: {u} {i}" for u in USERS for i in range(BURST)]
    first = seen[USERS[0]]
    for user, lines in seen.items():
        assert sorted(lines) == sorted(sent), (user, placed, lines, replay)  # all, once each
        assert lines == first, (user, placed, seen, replay)  # one order for every page
    for user in USERS:  # each sender's lines in the order sent
        assert [x for x in first if x.startswith(f"{user}: ")] == [
            f"{user}: {user} {i}" for i in range(BURST)
        ], (first, replay)


@pytest.mark.spec("P1")
def test_without_the_networked_broker_other_processes_miss_the_lines() -> None:
    # the control: each process has its own in-memory channels (the seed's problem), so the
    # checks above would fail; a user sees exactly the lines of the users on its process
    placed, seen = asyncio.run(_chat(2, "refimpl.MessageBroker"))
    assert len(set(placed.values())) == 2, placed
    for user, lines in seen.items():
        mates = _mates(placed, user)
        assert {line.split(":")[0] for line in lines} == mates, (user, placed, lines)
        assert len(lines) == BURST * len(mates), (user, lines)


def test_the_launcher_refuses_bad_arguments_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from examples.lona_cluster.cluster import main

    assert main(["--processes", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--processes" in err
    with pytest.raises(ValueError, match="at least 1"):
        Cluster(0)
