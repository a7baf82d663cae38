"""Copies (C1-C4): one shallow copy per holder, taken at the call."""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import pytest

from refimpl import Channel, Runtime
from tests.refimpl.helpers import Inbox


@pytest.mark.spec("C1")
def test_sender_mutating_its_dict_after_send_reaches_nobody() -> None:
    inbox = Inbox()
    # never started: the broker copies later, so only a copy taken at the call survives
    rt = Runtime()
    try:
        Channel("x", inbox, runtime=rt)
        payload = {"k": "original", "other": 1}
        m = Channel("x", runtime=rt).send(payload)
        payload["k"] = "changed by sender"
        payload["new"] = 1
        del payload["other"]
        rt.start()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert [g.data for g in inbox.messages] == [{"k": "original", "other": 1}]
    assert m.data == {"k": "original", "other": 1}


@pytest.mark.spec("C2")
def test_subscriber_mutation_reaches_no_other_holder() -> None:
    # one task worker: the mutating subscriber (first in subscription order) runs first
    first, second, third = Inbox(mutate=True), Inbox(), Inbox(mutate=True)
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}) as rt:
        Channel("x", first, runtime=rt)
        Channel("x", second, runtime=rt)
        Channel("*", third, runtime=rt)
        payload = {"k": "original", "other": 1}
        m = Channel("x", runtime=rt).send(payload)
        assert rt.join(10)
    changed = {"k": "changed by subscriber", "added": True}
    assert [g.data for g in first.messages] == [changed]
    assert [g.data for g in second.messages] == [{"k": "original", "other": 1}]
    assert [g.data for g in third.messages if g.seq == m.seq] == [changed]
    assert m.data == {"k": "original", "other": 1}
    assert payload == {"k": "original", "other": 1}


@pytest.mark.spec("C2")
def test_returned_message_data_is_isolated_from_subscribers() -> None:
    inbox = Inbox()
    rt = Runtime()
    try:
        Channel("x", inbox, runtime=rt)
        payload = {"k": "original"}
        m = Channel("x", runtime=rt).send(payload)
        assert m.data is not payload
        m.data["k"] = "changed via returned message"
        m.data["extra"] = 1
        rt.start()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert [g.data for g in inbox.messages] == [{"k": "original"}]
    assert inbox.messages[0].data is not m.data
    assert payload == {"k": "original"}


@pytest.mark.spec("C3")
def test_nested_objects_are_shared_by_reference() -> None:
    a, b = Inbox(), Inbox()
    nested_list = [1, 2]
    nested_dict = {"deep": object()}
    with Runtime() as rt:
        Channel("x", a, runtime=rt)
        Channel("x", b, runtime=rt)
        payload = {"list": nested_list, "dict": nested_dict}
        m = Channel("x", runtime=rt).send(payload)
        assert rt.join(10)
    holders = [payload, m.data, a.messages[0].data, b.messages[0].data]
    assert len({id(h) for h in holders}) == 4  # four distinct top-level dicts
    for h in holders:
        assert h["list"] is nested_list
        assert h["dict"] is nested_dict
        assert h["dict"]["deep"] is nested_dict["deep"]


class Payload(dict):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.note = "attribute"


@pytest.mark.spec("C3")
@pytest.mark.parametrize(
    "payload",
    [Payload(a=1), OrderedDict([("b", 1), ("a", 2)]), defaultdict(list, {"a": [1]})],
    ids=["attr-subclass", "OrderedDict", "defaultdict"],
)
def test_dict_subclasses_keep_their_type(payload: dict) -> None:
    a, b = Inbox(), Inbox()
    with Runtime() as rt:
        Channel("x", a, runtime=rt)
        Channel("x", b, runtime=rt)
        m = Channel("x", runtime=rt).send(payload)
        assert rt.join(10)
    for data in (m.data, a.messages[0].data, b.messages[0].data):
        assert type(data) is type(payload)
        assert data == payload
        assert data is not payload
        assert list(data) == list(payload)
    assert a.messages[0].data is not b.messages[0].data
    if isinstance(payload, Payload):
        assert a.messages[0].data.note == "attribute"
    if isinstance(payload, defaultdict):
        assert a.messages[0].data.default_factory is list
        assert a.messages[0].data["a"] is payload["a"]


@pytest.mark.spec("C4")
def test_none_gives_each_subscriber_a_fresh_empty_dict() -> None:
    a, b = Inbox(mutate=True), Inbox()
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}) as rt:
        Channel("x", a, runtime=rt)
        Channel("x", b, runtime=rt)
        sender = Channel("x", runtime=rt)
        m1 = sender.send()
        m2 = sender.send(None)
        assert rt.join(10)
    assert m1.data == {} and m2.data == {}
    assert m1.data is not m2.data
    assert [g.data for g in a.messages] == [{"k": "changed by subscriber", "added": True}] * 2
    assert [g.data for g in b.messages] == [{}, {}]
    datas = [g.data for g in a.messages + b.messages] + [m1.data, m2.data]
    assert len({id(d) for d in datas}) == 6


@pytest.mark.spec("C4", "V1")
@pytest.mark.parametrize("data", [0, "", [], (), False, "x", [("a", 1)], 1.0])
def test_non_dict_data_raises_type_error(data: object) -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("x", inbox, runtime=rt)
        with pytest.raises(TypeError):
            Channel("x", runtime=rt).send(data)  # type: ignore[arg-type]
        assert rt.join(10)
    assert inbox.messages == []
