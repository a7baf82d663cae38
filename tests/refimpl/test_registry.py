"""The subscription index (T4, W1, W2, W4): the same receivers as a scan with the
independent matcher, for literal and pattern senders, under subscribe, unsubscribe,
resubscribe, late routing and sweeping; and its memory stays bounded."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import Channel, Runtime
from refimpl.errors import TopicError
from refimpl.registry import LIVE, PrefixTree, Registry, SortedKeys, Subscription
from refimpl.topics import CACHE_CHARS, CACHE_ENTRIES, _cache, match, validate_topic
from tests.refimpl.test_topics import ALPHABET, independent_match

PROPS = settings(max_examples=200, deadline=None, derandomize=True)
_RT = Runtime()  # never started: it only owns the channels below


def _valid(topic: str) -> bool:
    try:
        validate_topic(topic)
    except TopicError:
        return False
    return True


# topics over the grammar's alphabet (case, Unicode, classes), and some that share prefixes
shared = st.sampled_from(["a", "a.b", "a.b.c", "a.*", "a.b*", "a.[bc]", "A.b", "é", "é*", "*"])
topics = st.one_of(st.text(ALPHABET, min_size=1, max_size=8).filter(_valid), shared)


@pytest.mark.spec("T4", "W1", "W2", "W4")
@PROPS
@given(st.data())
def test_the_index_routes_like_a_scan_with_the_independent_matcher(data: st.DataObject) -> None:
    reg = Registry()
    subs: list[Subscription] = []
    live: dict[str, Subscription] = {}  # a channel subscribes at most once at a time
    channels: dict[str, Channel] = {}
    pending: list[tuple[str, int]] = []  # sent, not routed yet
    seq = 0
    for _ in range(data.draw(st.integers(1, 40))):
        op = data.draw(st.sampled_from(["sub", "sub", "unsub", "send", "send", "route"]))
        horizon = min((s for _, s in pending), default=seq)
        if op == "sub":
            topic = data.draw(topics)
            channel = channels.setdefault(topic, Channel(topic, runtime=_RT))
            if topic in live:
                continue
            sub = Subscription(len(subs), channel, print, seq)
            subs.append(sub)
            live[topic] = sub
            reg.add(sub)
        elif op == "unsub" and live:
            sub = live.pop(data.draw(st.sampled_from(sorted(live))))
            sub.end = seq
            reg.retire(sub, horizon)
        elif op == "send":
            pending.append((data.draw(topics), seq))
            seq += 1
        elif op == "route" and pending:
            topic, at = pending.pop(data.draw(st.integers(0, len(pending) - 1)))
            expected = [
                s.id for s in subs if s.start <= at < s.end and independent_match(topic, s.topic)
            ]
            assert [s.id for s in reg.matching(topic, at)] == expected, (topic, at)
            if data.draw(st.booleans()):
                reg.sweep(min((s for _, s in pending), default=seq))
    now = [s.id for s in subs if s.end == LIVE]
    assert sorted(s.id for t in ["*"] for s in reg.matching(t, LIVE - 1)) == now


@pytest.mark.spec("T4", "W2")
def test_a_resubscribed_pattern_survives_the_sweep_of_its_predecessor() -> None:
    reg = Registry()
    channel = Channel("room.*", runtime=_RT)
    old = Subscription(0, channel, print, 0)
    reg.add(old)
    old.end = 1
    reg.retire(old, 0)  # message 0 is not routed yet: old stays indexed
    new = Subscription(1, channel, print, 2)
    reg.add(new)
    reg.sweep(5)  # old is swept; its bucket (same prefix) still holds new
    assert reg.matching("room.1", 0) == []  # swept: routed messages never ask again
    assert reg.matching("room.1", 2) == [new]
    assert len(reg) == 1


@pytest.mark.spec("T4")
def test_the_prefix_tree_forgets_what_was_removed() -> None:
    tree = PrefixTree()
    keys = ["room.1", "room.12", "room.2", "r", "", "rooms", "room.123"]
    buckets = [tree.bucket(k) for k in keys]
    assert sorted(b.key for b in tree.along("room.123x")) == [
        "",
        "r",
        "room.1",
        "room.12",
        "room.123",
    ]
    assert sorted(b.key for b in tree.along("room.12", proper=True)) == ["", "r", "room.1"]
    assert sorted(b.key for b in tree.under("room.")) == ["room.1", "room.12", "room.123", "room.2"]
    assert sorted(b.key for b in tree.under("room.12")) == ["room.12", "room.123"]
    assert list(tree.under("x")) == []
    for bucket in buckets:
        tree.drop(bucket)
    assert list(tree.under("")) == []
    assert not tree._root.children  # no node left behind


@pytest.mark.spec("T4")
@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.text("ab.", max_size=4), max_size=600), st.text("ab.", max_size=2))
def test_sorted_keys_range_by_prefix(keys: list[str], prefix: str) -> None:
    sk = SortedKeys()
    distinct = sorted(set(keys))
    for key in dict.fromkeys(keys):
        sk.add(key)
    assert list(sk.starting_with(prefix)) == [k for k in distinct if k.startswith(prefix)]
    for key in distinct[::2]:
        sk.remove(key)
    rest = distinct[1::2]
    assert len(sk) == len(rest)
    assert list(sk.starting_with("")) == rest


@pytest.mark.spec("T4")
def test_unsubscribed_subscriptions_leave_the_index_once_routed() -> None:
    with Runtime() as rt:
        chans = [Channel(f"room.{i}*", lambda m: None, runtime=rt) for i in range(300)]
        chans += [Channel(f"room.{i}", lambda m: None, runtime=rt) for i in range(300)]
        for ch in chans:
            ch.unsubscribe()
        assert rt.join(10)
        Channel("x", runtime=rt).send()  # a commit after the last unsubscribe sweeps
        assert rt.join(10)
        assert len(rt._registry) == 0
        assert not rt._registry._patterns._root.children
        assert len(rt._registry._keys) == 0


@pytest.mark.spec("T4")
def test_compiled_patterns_are_bounded_and_literals_never_compiled() -> None:
    before = fnmatch._compile_pattern.cache_info().currsize  # type: ignore[attr-defined]
    for i in range(CACHE_ENTRIES + 10):
        assert match(f"t.{i}*", f"t.{i}x")
        assert not match(f"lit.{i}", f"lit.{i}.x")
    assert len(_cache) <= CACHE_ENTRIES
    long = "p" * (CACHE_CHARS // 3) + "*"
    for i in range(4):
        assert match(long + str(i), long + str(i))
        assert match(long + str(i), "p" * (CACHE_CHARS // 3) + "q" + str(i))
    assert sum(map(len, _cache)) <= CACHE_CHARS
    assert "lit.0" not in _cache
    assert fnmatch._compile_pattern.cache_info().currsize == before  # type: ignore[attr-defined]


@pytest.mark.spec("T4", "W2")
def test_the_route_cache_sees_a_bucket_made_on_an_existing_node() -> None:
    # a sender-side pattern's route is cached until the index changes shape; a pattern whose
    # prefix is an existing bucketless node (made by an edge split) must still be found
    reg = Registry()
    subs = [
        Subscription(i, Channel(t, runtime=_RT), print, 0)
        for i, t in enumerate(["a.bc*", "a.bd*", "a.b*", "a.bq"])
    ]
    reg.add(subs[0])
    reg.add(subs[1])  # splits the edge: node "a.b" without a bucket
    assert [s.id for s in reg.matching("a.bq", 0)] == []
    assert [s.id for s in reg.matching("a.b?", 0)] == []
    reg.add(subs[2])  # a bucket on that node
    assert [s.id for s in reg.matching("a.bq", 0)] == [2]
    assert [s.id for s in reg.matching("a.b?", 0)] == [2]
    reg.add(subs[3])  # a new literal key
    assert [s.id for s in reg.matching("a.bq", 0)] == [2, 3]
    assert [s.id for s in reg.matching("a.b?", 0)] == [2, 3]
    subs[3].end = 1
    reg.retire(subs[3], 1)  # swept: its key leaves the index
    assert [s.id for s in reg.matching("a.b?", 1)] == [2]


@pytest.mark.spec("T4")
def test_the_route_cache_is_bounded() -> None:
    reg = Registry()
    reg.add(Subscription(0, Channel("x*", runtime=_RT), print, 0))
    for i in range(Registry.ROUTE_ENTRIES + 10):
        assert [s.id for s in reg.matching(f"x{i}?", 0)] == [0]  # sender-side patterns
    assert [s.id for s in reg.matching("x" * Registry.ROUTE_CHARS + "?", 0)] == [0]
    assert reg._routes
    assert len(reg._routes) <= Registry.ROUTE_ENTRIES
    assert all(len(topic) <= Registry.ROUTE_CHARS for topic in reg._routes)
