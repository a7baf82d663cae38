"""Generated topics cover the whole grammar, are valid, and overlap enough to test matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.topics import is_pattern, match, validate_topic
from sim.generate import GenConfig, HypothesisSource, RandomSource, scenario_from_seed
from sim.topicgen import derive, literal, topic, topic_pool


def _pools(n: int = 20, size: int = 48) -> list[str]:
    return [t for seed in range(n) for t in topic_pool(RandomSource(seed), size)]


@pytest.mark.spec("T1")
def test_every_generated_topic_is_valid() -> None:
    for t in _pools():
        assert validate_topic(t) == t


@pytest.mark.spec("T2", "T3")
def test_the_grammar_features_all_occur() -> None:
    topics = _pools()
    joined = "".join(topics)
    for ch in "().+{}|^$\\-!]?":
        assert ch in joined, ch
    assert any("**" in t for t in topics)  # runs of *
    assert any("[!" in t for t in topics)  # negated classes
    assert any(t.startswith("[]") or "[]" in t for t in topics)  # ']' first in a class
    assert any(  # a reversed range
        "[" in t and any(t[i + 1] == "-" and t[i] > t[i + 2] for i in range(len(t) - 2))
        for t in topics
    )
    assert any(any(ord(c) > 127 for c in t) for t in topics)  # non-ASCII
    assert any(t != t.lower() for t in topics)  # case variants


@pytest.mark.spec("T4")
def test_pools_overlap_enough_for_a_differential_test() -> None:
    pool = topic_pool(RandomSource(3), 48)
    pairs = [(a, b) for a in pool for b in pool if a != b]
    matching = sum(match(a, b) for a, b in pairs)
    assert matching >= len(pairs) // 50  # stems make related topics; not all disjoint
    assert sum(is_pattern(t) for t in pool) >= len(pool) // 4


@pytest.mark.spec("T4")
def test_same_seed_same_topics() -> None:
    assert topic_pool(RandomSource(7), 30) == topic_pool(RandomSource(7), 30)
    assert derive(RandomSource(1), "a.b") == derive(RandomSource(1), "a.b")
    assert literal(RandomSource(2)) == literal(RandomSource(2))


@pytest.mark.spec("T1", "T4")
@given(st.data())
def test_hypothesis_draws_valid_topics(data: st.DataObject) -> None:
    t = topic(HypothesisSource(data), ("a.b", "é.b"))
    assert validate_topic(t) == t


@pytest.mark.spec("T2")
def test_generated_scenarios_use_grammar_topics_on_both_sides() -> None:
    config = GenConfig()
    seen_special = False
    for seed in range(300):
        for c in scenario_from_seed(seed, config).channels:
            validate_topic(c.topic)
            if any(ch in c.topic for ch in "()+{}|^$\\") or "]" in c.topic.split("[")[0]:
                seen_special = True
    assert seen_special
