"""sim.oracle.processes on small hand-written histories: what it reports, and what it does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.oracle.processes import ProcessHistoryError, check_processes, load_process


def _write(path: Path, events: list[dict[str, Any]], torn: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + torn, encoding="utf-8")
    return path


def _two(tmp_path: Path, starts: list[str], *, unsub: bool = False) -> list[Any]:
    """p0 sends m0 (entry 5-0) and m1 (6-0); p1's subscription s0 starts *starts*."""
    p0 = [{"ev": "begin", "proc": "p0"}]
    for i, sid in enumerate(["5-0", "6-0"]):
        p0 += [{"ev": "send_call", "msg": f"p0/m{i}", "topic": "chat", "local": False},
               {"ev": "send_ret", "msg": f"p0/m{i}"},
               {"ev": "publish", "msg": f"p0/m{i}", "id": sid}]
    p0 += [{"ev": "shutdown_call", "pos": "6-0"}, {"ev": "shutdown_ret"}]
    p1: list[dict[str, Any]] = [
        {"ev": "begin", "proc": "p1"},
        {"ev": "sub_call", "sub": "p1/s0", "topic": "chat", "pos": "1-0"},
        {"ev": "sub_ret", "sub": "p1/s0", "pos": "1-0"},
    ]
    if unsub:
        p1 += [{"ev": "unsub_call", "sub": "p1/s0", "pos": "1-0"},
               {"ev": "unsub_ret", "sub": "p1/s0", "pos": "1-0"}]
    p1 += [{"ev": "start", "msg": m, "sub": "p1/s0"} for m in starts]
    p1 += [{"ev": "shutdown_call", "pos": "6-0"}, {"ev": "shutdown_ret"}]
    return [load_process(_write(tmp_path / "p0.jsonl", p0)),
            load_process(_write(tmp_path / "p1.jsonl", p1))]


@pytest.mark.spec("P1", "P2", "P3")
def test_the_correct_history_passes(tmp_path: Path) -> None:
    found, counts = check_processes(_two(tmp_path, ["p0/m0", "p0/m1"]))
    assert found == [] and counts["must"] == 2


@pytest.mark.parametrize(
    ("starts", "unsub", "clause"),
    [
        (["p0/m1", "p0/m0"], False, "P1"),  # against the stream's order
        (["p0/m0", "p0/m0", "p0/m1"], False, "P3"),  # twice
        (["p0/m0"], False, "P2"),  # m1 is missing, nothing reported
        (["p0/m0"], True, "P2"),  # received after it unsubscribed
    ],
)
@pytest.mark.spec("P1", "P2", "P3")
def test_each_broken_rule_is_reported(
    tmp_path: Path, starts: list[str], unsub: bool, clause: str
) -> None:
    found, _ = check_processes(_two(tmp_path, starts, unsub=unsub))
    assert [v.clause for v in found] == [clause], found


@pytest.mark.spec("P2", "P7")
def test_a_reported_reset_excuses_only_entries_before_the_loss(tmp_path: Path) -> None:
    histories = _two(tmp_path, ["p0/m0"])
    histories[1].events.insert(3, {"ev": "reset"})
    found, counts = check_processes(histories, lost_before=(6, 0))
    assert found != []  # m1's entry (6-0) is not before the loss
    found, counts = check_processes(histories, lost_before=(7, 0))
    assert found == [] and counts["excused"] == 1


@pytest.mark.spec("P2")
def test_a_malformed_line_names_file_and_line_and_a_torn_one_after_a_kill_is_read(
    tmp_path: Path,
) -> None:
    good = [{"ev": "begin", "proc": "p0"}]
    with pytest.raises(ProcessHistoryError, match=r"p0.jsonl:2"):
        load_process(_write(tmp_path / "p0.jsonl", good, torn='{"ev": "start", "ms'))
    assert load_process(_write(tmp_path / "p0.jsonl", good, torn='{"ev"'), killed=True).events
    with pytest.raises(ProcessHistoryError, match="stream id"):
        load_process(_write(tmp_path / "p0.jsonl", [{"ev": "shutdown_call", "pos": "__import__"}]))


def _own(tmp_path: Path, sends: list[tuple[str, bool]], starts: list[str]) -> list[Any]:
    """p0 sends *sends* (name, local) in order and its own subscription s0 starts *starts*."""
    p0: list[dict[str, Any]] = [
        {"ev": "begin", "proc": "p0"},
        {"ev": "sub_call", "sub": "p0/s0", "topic": "chat", "pos": "1-0"},
        {"ev": "sub_ret", "sub": "p0/s0", "pos": "1-0"},
    ]
    for k, (m, is_local) in enumerate(sends):
        p0 += [{"ev": "send_call", "msg": m, "topic": "chat", "local": is_local},
               {"ev": "send_ret", "msg": m}]
        if not is_local:
            p0.append({"ev": "publish", "msg": m, "id": f"{5 + k}-0"})
    p0 += [{"ev": "start", "msg": m, "sub": "p0/s0"} for m in starts]
    p0 += [{"ev": "shutdown_call", "pos": "9-0"}, {"ev": "shutdown_ret"}]
    return [load_process(_write(tmp_path / "p0.jsonl", p0))]


@pytest.mark.spec("P1")
def test_a_local_message_sent_first_is_started_first_but_not_the_other_way(
    tmp_path: Path,
) -> None:
    local_then_remote = [("p0/m0", True), ("p0/m1", False)]
    found, _ = check_processes(_own(tmp_path, local_then_remote, ["p0/m1", "p0/m0"]))
    assert [v.clause for v in found] == ["P1"], found
    assert check_processes(_own(tmp_path, local_then_remote, ["p0/m0", "p0/m1"]))[0] == []
    # a local message sent after a non-local one may overtake it (no order that way)
    remote_then_local = [("p0/m0", False), ("p0/m1", True)]
    assert check_processes(_own(tmp_path, remote_then_local, ["p0/m1", "p0/m0"]))[0] == []


@pytest.mark.spec("P2", "P7")
def test_a_process_that_began_after_the_loss_is_not_owed_the_lost_entries(
    tmp_path: Path,
) -> None:
    histories = _two(tmp_path, [])  # p1 never received m0 (5-0) nor m1 (6-0)
    found, _ = check_processes(histories, lost_before=(7, 0))
    assert {v.clause for v in found} == {"P2"}  # p1 reported nothing: it must have them
    found, counts = check_processes(histories, lost_before=(7, 0),
                                    began_after_loss=frozenset({"p1"}))
    assert found == [] and counts["excused"] == 2


@pytest.mark.spec("P4", "P8")
def test_a_message_reported_dropped_for_error_may_still_arrive_but_not_a_silent_one(
    tmp_path: Path,
) -> None:
    histories = _own(tmp_path, [("p0/m0", False)], [])
    sender = histories[0].events
    sender.remove({"ev": "publish", "msg": "p0/m0", "id": "5-0"})
    sender.insert(-2, {"ev": "start", "msg": "p0/m0", "sub": "p0/s0"})
    found, _ = check_processes(histories)
    assert {v.clause for v in found} == {"P4", "P6"}  # never added, yet received; unreported
    sender.insert(-3, {"ev": "drop", "msg": "p0/m0", "sub": None, "reason": "error"})
    assert check_processes(histories)[0] == []  # its last XADD's reply may have been lost


@pytest.mark.spec("P1", "P7")
def test_across_a_lost_stream_only_a_message_in_flight_then_has_no_judged_place(
    tmp_path: Path,
) -> None:
    # p0 sends m0 and m1; m1 is published at 8-0, m0 (its first XADD's reply lost in the
    # outage, added again) at 9-0; p1 read m0's first, lost, entry before m1
    histories = _two(tmp_path, ["p0/m0", "p0/m1"])
    p0 = histories[0].events
    p0[3]["id"], p0[6]["id"] = "9-0", "8-0"
    found, _ = check_processes(histories, lost_before=(7, 0))
    assert [v.clause for v in found] == ["P1"]  # no reset reported: the order is judged
    p0.insert(7, {"ev": "reset"})  # p0 noticed the loss after publishing both
    histories[1].events.insert(3, {"ev": "reset"})
    assert check_processes(histories, lost_before=(7, 0))[0] == []
    assert [v.clause for v in check_processes(histories, lost_before=(10, 0))[0]] == ["P1"]


def _own_late(tmp_path: Path, tail: list[dict[str, Any]]) -> list[Any]:
    """p0 sends m0 (published 5-0, after its shutdown_call position 4-0: P2 does not owe
    it) to its own subscription s0; *tail* comes between shutdown_call and shutdown_ret."""
    p0: list[dict[str, Any]] = [
        {"ev": "begin", "proc": "p0"},
        {"ev": "sub_call", "sub": "p0/s0", "topic": "chat", "pos": "1-0"},
        {"ev": "sub_ret", "sub": "p0/s0", "pos": "1-0"},
        {"ev": "send_call", "msg": "p0/m0", "topic": "chat", "local": False},
        {"ev": "send_ret", "msg": "p0/m0"},
        {"ev": "shutdown_call", "pos": "4-0"},
        {"ev": "publish", "msg": "p0/m0", "id": "5-0"},
        *tail,
        {"ev": "shutdown_ret"},
    ]
    return [load_process(_write(tmp_path / "p0.jsonl", p0))]


@pytest.mark.parametrize(("tail", "flagged"), [
    ([], True),  # shutdown() returned, its own subscriber never got m0, nothing reported
    ([{"ev": "start", "msg": "p0/m0", "sub": "p0/s0"}], False),
    ([{"ev": "drop", "msg": "p0/m0", "sub": None, "reason": "error"}], False),  # not read back
    ([{"ev": "drop", "msg": "p0/m0", "sub": "p0/s0", "reason": "shutdown"}], False),
    ([{"ev": "unsub_call", "sub": "p0/s0", "pos": "4-0"}], False),  # gone before 5-0 was read
])
@pytest.mark.spec("P6")
def test_own_subscribers_get_own_messages_before_shutdown_returns(
    tmp_path: Path, tail: list[dict[str, Any]], flagged: bool
) -> None:
    found, counts = check_processes(_own_late(tmp_path, tail))
    assert counts["must"] == 0  # P2 does not owe it: after the shutdown_call position
    assert [v.clause for v in found] == (["P6"] if flagged else []), found
    if flagged:
        assert "its own subscription p0/s0" in found[0].text and "p0/m0" in found[0].text


@pytest.mark.spec("P6", "R5")
def test_own_subscribers_get_own_messages_sent_before_a_join_before_it_returns(
    tmp_path: Path,
) -> None:
    histories = _own_late(tmp_path, [])
    p0 = histories[0].events
    start = {"ev": "start", "msg": "p0/m0", "sub": "p0/s0"}
    p0[5:5] = [{"ev": "join_call"}, {"ev": "join_ret"}]  # m0 not started by then
    p0.insert(-1, start)  # ... only before shutdown() returned
    found, _ = check_processes(histories)
    assert [v.text.split(":")[1].strip()[:8] for v in found] == ["a join()"], found
    p0.remove(start)
    p0.insert(6, start)  # between join_call and join_ret: in time
    assert check_processes(histories)[0] == []
    # a join() called before m0's send() returned does not owe it
    p0.remove(start)
    p0.insert(-1, start)
    p0.remove({"ev": "join_call"})
    p0.insert(4, {"ev": "join_call"})
    assert check_processes(histories)[0] == []


@pytest.mark.spec("P2", "P6")
def test_a_senders_drop_of_a_published_message_excuses_only_its_own_process(
    tmp_path: Path,
) -> None:
    """p0 reports m1 not read back there: p1 still owes it (it is in the stream)."""
    histories = _two(tmp_path, ["p0/m0"])
    histories[0].events.insert(-2, {"ev": "drop", "msg": "p0/m1", "sub": None,
                                    "reason": "error"})
    found, _ = check_processes(histories)
    assert [v.clause for v in found] == ["P2"] and "p0/m1" in found[0].text
