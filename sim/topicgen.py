"""Topics drawn from the whole grammar of spec section 4, for scenarios, property tests and probes.

A fixed pool of topics hides whole classes of matcher bugs: an implementation that
turns a glob into a regular expression by string replacement agrees with
``fnmatchcase`` on every pool topic, because none contains ``(``, ``+``, ``{``, ``|``,
``^``, ``$`` or ``\\``, a reversed range or a ``]`` that opens a class. So topics are
*generated*: literal characters that are metacharacters in other pattern languages,
dots, case variants and non-ASCII letters; ``?``; runs of ``*``; classes with and
without ``!``, with ranges (reversed ones too) and with ``]`` as the first member.

Matching topics are rare among independent random strings, so most topics are derived
from a *stem* (a literal string): each character is kept, or replaced by something
that matches it (``?``, a class that holds it, a range around it, ``*``), or by
something that nearly does (its other case, a negated class that holds it, a reversed
range). A pattern and its stem then match or miss by one grammar feature, which is
what a differential test needs. Every topic generated is valid (spec T1).

All choices go through a ``sim.generate.Source`` (``integer(lo, hi)``), lowest first
being simplest, so Hypothesis shrinks generated topics towards short literal ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from refimpl.topics import validate_topic

__all__ = [
    "LITERALS",
    "METACHARACTERS",
    "SPECIAL_TOPICS",
    "derive",
    "literal",
    "topic",
    "topic_pool",
]

T = TypeVar("T")


class Source(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


#: characters with a meaning in regular expressions (or shells), literal in a topic
METACHARACTERS = "().+{}|^$\\-!]"
#: the literal alphabet: simplest first
LITERALS = "ab.cAB" + METACHARACTERS + "é日zZ0"
#: topics that pin down the grammar's odd corners (spec section 4's table and T5)
SPECIAL_TOPICS: tuple[str, ...] = (
    "[z-a]",
    "[!z-a]",
    "[]a]",
    "[!]]",
    "]",
    "a.(b|c)",
    "a+",
    "a{2}",
    "^a$",
    "a\\.b",
    "[^a]",
    "[\\]",
    "a.[b-d]",
    "[*]",
    "[?]",
    "[[]",
    "**",
    "a?*",
    "é",
    "e\u0301",
    "STRASSE",
    "straße",
)


def _pick(source: Source, options: Sequence[T]) -> T:
    return options[source.integer(0, len(options) - 1)]


def literal(source: Source, max_len: int = 4) -> str:
    """A literal topic (no wildcard): 1 to *max_len* characters of ``LITERALS``."""
    return "".join(_pick(source, LITERALS) for _ in range(source.integer(1, max_len)))


def _other_case(ch: str) -> str:
    swapped = ch.swapcase()
    return swapped if len(swapped) == 1 and swapped != ch else ch


def _element(source: Source, ch: str) -> str:
    """One grammar element standing for the literal character *ch* (or nearly)."""
    kind = source.integer(0, 11)
    if kind <= 2:
        return ch  # kept (the most likely, so most derived topics still match)
    if kind == 3:
        return "?"
    if kind == 4:
        return "*" * source.integer(1, 3)
    if kind == 5:  # a class holding it; ']' may only come first
        other = _pick(source, "bz.")
        if ch == "]":
            return f"[]{other}]"
        first = _pick(source, ("]", other))  # '!' never comes first: it would negate
        return f"[{first}{ch}]"
    if kind == 6:  # a negated class holding it: a near miss
        return f"[!{ch}]" if ch != "]" else "[!]]"
    if kind == 7:  # a negated class without it: matches
        return "[!]]" if ch != "]" else "[!a]"
    if kind == 8:  # a range around it, or reversed (matches nothing)
        lo, hi = chr(max(ord(ch) - 1, 0x21)), chr(ord(ch) + 1)
        if "]" in (lo, hi) or "\ud800" <= hi <= "\udfff":
            return f"[{ch}]"
        return f"[{lo}-{hi}]" if source.integer(0, 1) == 0 else f"[{hi}-{lo}]"
    if kind == 9:
        return _other_case(ch)  # a case variant: a near miss (T3)
    if kind == 10:  # a metacharacter literal in its place: a miss, unless read as a regex
        return _pick(source, ".()+{|^$\\")
    return ch + ch  # a doubled character ('+' or '{2}' read as a regex would match it)


def derive(source: Source, stem: str) -> str:
    """A topic derived from the literal *stem*: each character kept, generalised or perturbed."""
    out = "".join(_element(source, ch) for ch in stem)
    if source.integer(0, 5) == 0:
        out = out + "*" if source.integer(0, 1) == 0 else "*" + out
    return validate_topic(out)


def topic(source: Source, stems: Sequence[str] = ("a.b",)) -> str:
    """A topic: one of *stems*, a topic derived from one, a special one, or a new literal."""
    kind = source.integer(0, 9)
    if kind <= 2:
        return _pick(source, stems)
    if kind <= 7:
        return derive(source, _pick(source, stems))
    if kind == 8:
        return _pick(source, SPECIAL_TOPICS)
    return literal(source)


def topic_pool(source: Source, size: int) -> list[str]:
    """*size* distinct topics that overlap: stems, topics derived from them, special topics."""
    stems = [literal(source, 5) for _ in range(max(2, size // 12))]
    pool: list[str] = []
    seen: set[str] = set()
    for t in [*stems, *SPECIAL_TOPICS]:
        if t not in seen and len(pool) < size:
            seen.add(t)
            pool.append(t)
    attempts = 0
    while len(pool) < size and attempts < 50 * size:
        attempts += 1
        t = topic(source, stems)
        if t not in seen:
            seen.add(t)
            pool.append(t)
    return pool
