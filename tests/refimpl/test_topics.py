"""Topics (T1-T6): validity, wildcards, the matching relation and its algebra.

The Hypothesis properties compare ``refimpl.topics.match`` with an independent matcher
written below: a tokenizer for the grammar plus a memoised backtracking matcher. It
uses neither ``fnmatch`` nor ``re``; its character-class rules are fnmatch's rules as
spec T2 adopts them (``]`` first is a member, ``a-z`` ranges, reversed ranges match
nothing, the chunking of ``-`` inside a class).
"""

from __future__ import annotations

import os
import threading
from functools import cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl import Channel, Runtime, TopicError, match, validate_topic

PROPS = settings(max_examples=300, deadline=None, derandomize=True)

# --- the independent matcher --------------------------------------------------------------

STAR = ("star",)
ANY = ("any",)


def _class_token(pattern: str, i: int, j: int) -> tuple:
    """The class whose content is ``pattern[i:j]`` (between '[' and its closing ']')."""
    content = pattern[i:j]
    if "-" not in content:
        chunks = [content]
    else:
        # Split at range hyphens. The first char (after a leading '!') is never a range
        # operator, and after a range 'x-y' the search resumes behind 'y'.
        chunks = []
        start = i
        k = i + 2 if pattern[i] == "!" else i + 1
        while True:
            k = pattern.find("-", k, j)
            if k < 0:
                break
            chunks.append(pattern[start:k])
            start = k + 1
            k += 3
        rest = pattern[start:j]
        if rest:
            chunks.append(rest)
        else:
            chunks[-1] += "-"  # a trailing hyphen is a member
        # A reversed range x-y (x > y) matches nothing: drop both of its end points.
        for k in range(len(chunks) - 1, 0, -1):
            if chunks[k - 1][-1] > chunks[k][0]:
                chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                del chunks[k]
    negated = chunks[0].startswith("!")
    if negated:
        chunks[0] = chunks[0][1:]
    if not any(chunks):
        return ("all",) if negated else ("none",)
    members = frozenset("".join(chunks))
    ranges = tuple((chunks[k - 1][-1], chunks[k][0]) for k in range(1, len(chunks)))
    return ("class", negated, members, ranges)


def tokenize(pattern: str) -> tuple:
    tokens: list[tuple] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
        elif c == "?":
            tokens.append(ANY)
        elif c == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                tokens.append(("lit", "["))  # an unclosed '[' is a literal
            else:
                tokens.append(_class_token(pattern, i, j))
                i = j + 1
        else:
            tokens.append(("lit", c))
    return tuple(tokens)


def _one(token: tuple, ch: str) -> bool:
    kind = token[0]
    if kind == "any" or kind == "all":
        return True
    if kind == "none":
        return False
    if kind == "lit":
        return token[1] == ch
    _, negated, members, ranges = token
    inside = ch in members or any(lo <= ch <= hi for lo, hi in ranges)
    return inside != negated


def pattern_matches(name: str, pattern: str) -> bool:
    """True if *name*, read as a plain string, matches *pattern* (backtracking)."""
    tokens = tokenize(pattern)

    @cache
    def at(ti: int, si: int) -> bool:
        if ti == len(tokens):
            return si == len(name)
        token = tokens[ti]
        if token is STAR:
            return any(at(ti + 1, k) for k in range(si, len(name) + 1))
        return si < len(name) and _one(token, name[si]) and at(ti + 1, si + 1)

    return at(0, 0)


def independent_match(a: str, b: str) -> bool:
    return a == b or pattern_matches(a, b) or pattern_matches(b, a)


# --- strategies ---------------------------------------------------------------------------

ALPHABET = ".*?[]!-aAbBzZéΩ"
LETTERS = "aAbBzZéΩ.-!]"

raw_topics = st.text(alphabet=ALPHABET, min_size=1, max_size=10)


@st.composite
def valid_topics(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["lit", "lit", "lit", "star", "any", "class"]))
        if kind == "lit":
            parts.append(draw(st.sampled_from(LETTERS)))
        elif kind == "star":
            parts.append("*")
        elif kind == "any":
            parts.append("?")
        else:
            bang = draw(st.sampled_from(["", "!"]))
            first = draw(st.sampled_from(["", "]"]))
            body = draw(st.text(alphabet="ab-zZ!é[*?", min_size=0 if first else 1, max_size=4))
            if not bang and not first and body.startswith("!"):
                body = "a" + body  # '[' '!' ']' alone is '[!]', an unclosed class
            parts.append(f"[{bang}{first}{body}]")
    topic = "".join(parts)
    try:
        validate_topic(topic)
    except TopicError:  # e.g. "[" + "!]": a body starting with "!" turned into a negation
        assume(False)
    return topic


def _instance_char(token: tuple, draw: st.DrawFn) -> str:
    candidates = [c for c in "aAbBzZéΩ.-!]*?[x" if _one(token, c)]
    assume(candidates)
    return draw(st.sampled_from(candidates))


@st.composite
def pattern_and_instance(draw: st.DrawFn) -> tuple[str, str]:
    """A valid pattern and a string built token by token to match it."""
    pattern = draw(valid_topics())
    out = []
    for token in tokenize(pattern):
        if token is STAR:
            out.append(draw(st.text(alphabet="ab.é", max_size=3)))
        else:
            out.append(_instance_char(token, draw))
    instance = "".join(out)
    assume(instance)
    return pattern, instance


# --- T1 -----------------------------------------------------------------------------------

VALID = [
    "a",
    "*",
    "?",
    "chat.rooms.lona-*",
    "[]]",
    "[!]]",
    "[]a]",
    "[*]",
    "a[*]b",
    "[z-a]",
    "[a-]",
    "[-a]",
    "]",
    "a]b",
    "é.Ω",
    "[[]",
    "!",
    "-",
    " ",
]

INVALID = [
    "",
    "[",
    "a[",
    "[]",
    "[!]",
    "[!",
    "a[b",
    "a[!]b",
    "x[]",
    "\ud800",
    "a\udfffb",
    "[\ud800]",
    "[!\udc00a]",
    "[a-\udbff]",
]


@pytest.mark.spec("T1")
@pytest.mark.parametrize("topic", VALID)
def test_valid_topics_are_accepted(topic: str) -> None:
    assert validate_topic(topic) == topic
    with Runtime() as rt:
        assert Channel(topic, runtime=rt).topic == topic
        assert rt.get_channels(topic) == []


@pytest.mark.spec("T1", "V1")
@pytest.mark.parametrize("topic", INVALID)
def test_malformed_topics_raise_topic_error_at_the_call_site(topic: str) -> None:
    assert issubclass(TopicError, ValueError)
    with pytest.raises(TopicError):
        validate_topic(topic)
    with Runtime() as rt:
        watcher = Channel("*", lambda m: None, runtime=rt)
        with pytest.raises(TopicError):
            Channel(topic, runtime=rt)
        with pytest.raises(TopicError):
            Channel(topic, lambda m: None, runtime=rt)
        with pytest.raises(TopicError):
            rt.get_channels(topic)
        with pytest.raises(TopicError):
            Channel.get_channels(topic, runtime=rt)
        assert rt.get_channels("*") == [watcher]


@pytest.mark.spec("T1", "T6", "V1")
@pytest.mark.parametrize("topic", [None, 1, b"a", ["a"], ("a", "b"), {"a"}, 1.5])
def test_non_str_topic_raises_type_error(topic: object) -> None:
    with pytest.raises(TypeError):
        validate_topic(topic)
    with Runtime() as rt:
        with pytest.raises(TypeError):
            Channel(topic, runtime=rt)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            rt.get_channels(topic)  # type: ignore[arg-type]
        assert rt.get_channels("*") == []


# --- T2 / T3 / T4: a table of examples ----------------------------------------------------

EXAMPLES = [
    # (topic a, topic b, match)
    ("a.b", "a.b", True),
    ("a.b", "a.c", False),
    ("a*", "a", True),  # '*' matches the empty run
    ("a.*", "a.b.c", True),  # ... and dots
    ("*", "lona.channels.subscribe", True),
    ("chat.rooms.lona-*", "chat.rooms.lona-releases", True),
    ("chat.rooms.lona-*", "chat.rooms.lona", False),
    ("chat.rooms.*", "chat.rooms.lona", True),
    ("a?", "a", False),  # '?' is exactly one char
    ("a?", "ab", True),
    ("a?", "abc", False),
    ("a?b", "a.b", True),
    ("[ab]", "a", True),
    ("[ab]", "c", False),
    ("[!ab]", "a", False),
    ("[!ab]", "c", True),
    ("[]]", "]", True),  # ']' first is a member
    ("[]a]", "a", True),
    ("[!]]", "]", False),
    ("[!]]", "a", True),
    ("[a-c]", "b", True),
    ("[a-c]", "d", False),
    ("[z-a]", "z", False),  # a reversed range matches nothing
    ("[z-a]", "a", False),
    ("[z-a]", "m", False),
    ("[a-]", "-", True),
    ("[-a]", "-", True),
    ("[*]", "*", True),  # escaping a wildcard with a class
    ("[*]", "a", False),
    ("a[*]b", "a*b", True),
    ("a[*]b", "axb", False),
    ("[?]", "x", False),
    ("[?]", "?", True),
    ("a]b", "a]b", True),
    ("a-b", "a-b", True),
    ("!", "!", True),
    # T3: case-sensitive, code points, no normalisation
    ("A", "a", False),
    ("Chat.*", "chat.rooms", False),
    ("[a-z]", "A", False),
    ("[A-Z]", "q", False),
    ("é", "É", False),
    ("é", "e\u0301", False),
    ("[é]", "é", True),
    ("?", "Ω", True),
    # T4: either side may be the pattern; not pattern intersection
    ("a.b", "a.*", True),
    ("a.*", "a.?", True),
    ("a?", "a*", True),
    ("?", "*", True),
    ("*a", "b*", False),
    ("a*", "*b", False),
    ("a*", "*a", False),
]


@pytest.mark.spec("T2", "T3", "T4")
@pytest.mark.parametrize(("a", "b", "expected"), EXAMPLES)
def test_match_examples(a: str, b: str, expected: bool) -> None:
    assert match(a, b) is expected
    assert match(b, a) is expected
    assert independent_match(a, b) is expected


@pytest.mark.spec("T2", "T3", "T4", "A4")
@pytest.mark.parametrize(("a", "b", "expected"), EXAMPLES)
def test_routing_follows_the_relation(a: str, b: str, expected: bool) -> None:
    """The runtime routes by the same relation, in both directions."""
    got: list[tuple[str, int]] = []
    with Runtime() as rt:
        ca = Channel(a, lambda m: got.append(("a", m.seq)), runtime=rt)
        cb = Channel(b, lambda m: got.append(("b", m.seq)), runtime=rt)
        assert (ca in rt.get_channels(b)) is expected
        assert (cb in rt.get_channels(a)) is expected
        from_b = Channel(b, runtime=rt).send()
        from_a = Channel(a, runtime=rt).send()
        assert rt.join(10)
    # every channel matches itself; the other one iff the relation holds
    assert (("a", from_b.seq) in got) is expected
    assert (("b", from_a.seq) in got) is expected
    assert ("a", from_a.seq) in got and ("b", from_b.seq) in got


@pytest.mark.spec("T4")
def test_not_pattern_intersection() -> None:
    # both patterns match 'ba', yet they do not match each other
    assert match("*a", "ba") and match("b*", "ba")
    assert not match("*a", "b*")


@pytest.mark.spec("T5")
def test_not_transitive_witness() -> None:
    assert match("a.*", "a.b")
    assert match("a.b", "*.b")
    assert not match("a.*", "*.b")


@pytest.mark.spec("T3")
def test_matching_ignores_os_path_normcase(monkeypatch: pytest.MonkeyPatch) -> None:
    # fnmatch.fnmatch (not fnmatchcase) would apply os.path.normcase; simulate a
    # case-folding platform and check that matching stays case-sensitive.
    monkeypatch.setattr(os.path, "normcase", lambda s: s.lower())
    assert not match("ABC", "abc")
    assert not match("A*", "abc")
    assert match("A*", "Abc")


# --- T5 and T2-T4 properties --------------------------------------------------------------


@pytest.mark.spec("T5")
@PROPS
@given(valid_topics())
def test_reflexive(topic: str) -> None:
    assert match(topic, topic)


@pytest.mark.spec("T5")
@PROPS
@given(raw_topics, raw_topics)
def test_symmetric(a: str, b: str) -> None:
    assert match(a, b) == match(b, a)


@pytest.mark.spec("T2", "T3", "T4")
@PROPS
@given(raw_topics, raw_topics)
def test_differential_against_independent_matcher(a: str, b: str) -> None:
    assert match(a, b) == independent_match(a, b)


@pytest.mark.spec("T2", "T4")
@PROPS
@given(pattern_and_instance())
def test_generated_instances_match(pair: tuple[str, str]) -> None:
    pattern, instance = pair
    assert pattern_matches(instance, pattern)
    assert match(pattern, instance)
    assert match(instance, pattern)


@pytest.mark.spec("T2", "T3", "T4")
@PROPS
@given(pattern_and_instance(), st.integers(0, 20), st.sampled_from("aAbBéΩ.-x]"))
def test_differential_near_misses(pair: tuple[str, str], pos: int, ch: str) -> None:
    pattern, instance = pair
    pos %= len(instance)
    mutated = instance[:pos] + ch + instance[pos + 1 :]
    for other in (mutated, instance[:pos] + instance[pos + 1 :] or "x", instance + ch):
        assert match(pattern, other) == independent_match(pattern, other)


@pytest.mark.spec("T1")
@PROPS
@given(st.text(alphabet=ALPHABET + "\ud800\udfff", min_size=0, max_size=8))
def test_validity_property(topic: str) -> None:
    """A topic is valid iff non-empty, no surrogate, and every '[' opens a closed class."""
    tokens = tokenize(topic)
    expected = (
        bool(topic)
        and not any("\ud800" <= c <= "\udfff" for c in topic)
        and ("lit", "[") not in tokens
    )
    if expected:
        assert validate_topic(topic) == topic
    else:
        with pytest.raises(TopicError):
            validate_topic(topic)


# --- T6 -----------------------------------------------------------------------------------


@pytest.mark.spec("T6", "D1")
def test_channel_receives_once_even_if_topic_matches_several_ways() -> None:
    received: list[tuple[str, int]] = []
    lock = threading.Lock()

    def handler_for(name: str):
        def handler(message) -> None:
            with lock:
                received.append((name, message.seq))

        return handler

    with Runtime() as rt:
        # 'a*' vs 'a*': equal, and each matches the other as a pattern (three ways)
        Channel("a*", handler_for("a*"), runtime=rt)
        # '*' vs 'a*': both fnmatch directions hold
        Channel("*", handler_for("*"), runtime=rt)
        Channel("a?", handler_for("a?"), runtime=rt)
        m = Channel("a*", runtime=rt).send()
        assert rt.join(10)
    mine = sorted(name for name, seq in received if seq == m.seq)
    assert mine == ["*", "a*", "a?"]
