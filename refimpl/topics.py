"""Topics: the grammar of topic strings and the matching relation between two topics.

A topic is a non-empty ``str``. It may be a pattern in the ``fnmatch`` style, matched
case-sensitively on every platform (spec T1-T6):

* ``*`` matches any run of characters, including none and including dots;
* ``?`` matches exactly one character;
* ``[seq]`` matches one character in *seq*, ``[!seq]`` one character not in it; a ``]``
  right after ``[`` or ``[!`` is a member; ``a-z`` inside is a range (a reversed range
  such as ``z-a`` matches nothing, as in ``fnmatch``);
* every other character matches itself.

A ``[`` that does not open a complete class and surrogate code points are errors,
reported where the topic is given (``fnmatch`` would read such a ``[`` as a literal).

Two topics match when they are equal, or either one, read as a string, matches the
other read as a pattern. The relation is reflexive and symmetric, not transitive.

Memory: only patterns are ever compiled, and only into this module's own cache, bounded
in entries and in pattern characters (``CACHE_ENTRIES``, ``CACHE_CHARS``; a compiled
pattern costs about 18 bytes per character, so the cache stays under ~20 MB). Neither
``fnmatch``'s process-wide cache (32,768 entries of any size) nor ``re``'s (512) is used:
a stream of distinct long topics cannot grow memory.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from fnmatch import translate
from re import Match
from typing import Any

from refimpl._safe import short_repr
from refimpl.errors import TopicError

__all__ = [
    "CACHE_CHARS",
    "CACHE_ENTRIES",
    "WILDCARD_CHARS",
    "is_pattern",
    "literal_prefix",
    "match",
    "pattern_matches",
    "plain_str",
    "validate_topic",
]

#: Characters that make a topic a pattern.
WILDCARD_CHARS = frozenset("*?[")


def _class_end(topic: str, start: int) -> int:
    """Index just past the class opened at ``topic[start] == '['`` (fnmatch's own rule)."""
    j = start + 1
    n = len(topic)
    if j < n and topic[j] == "!":
        j += 1
    if j < n and topic[j] == "]":
        j += 1
    j = topic.find("]", j)
    if j < 0:
        raise TopicError(f"bad topic {short_repr(topic)}: '[' at index {start} is never closed")
    return j + 1


#: A surrogate code point: searched for in C, so a long topic validates in microseconds.
_SURROGATE = re.compile("[\ud800-\udfff]")


def plain_str(text: str) -> str:
    """*text* as a plain ``str``: an instance of a subclass becomes its ``str`` value.

    ``str.__str__`` is the base type's own slot, so none of the subclass's methods runs
    (spec T1, V2: a subclass whose ``__eq__`` or ``__hash__`` raises or lies must never
    reach a broker).
    """
    return text if type(text) is str else str.__str__(text)


def validate_topic(topic: object) -> str:
    """*topic* as a plain ``str`` if it is well-formed; ``TypeError``/``TopicError`` if not."""
    if not isinstance(topic, str):
        raise TypeError(f"a topic must be a str, not {type(topic).__name__}")
    topic = plain_str(topic)
    if not topic:
        raise TopicError("a topic must not be empty")
    i = 0
    while True:  # the text between classes, then each class's own characters
        opening = topic.find("[", i)
        bad = _SURROGATE.search(topic, i, len(topic) if opening < 0 else opening)
        if bad is None and opening >= 0:
            i = _class_end(topic, opening)
            bad = _SURROGATE.search(topic, opening + 1, i)
        if bad is not None:
            raise TopicError(
                f"bad topic {short_repr(topic)}: surrogate code point at index {bad.start()}"
            )
        if opening < 0:
            return topic


def is_pattern(topic: str) -> bool:
    """True if *topic* contains a wildcard character."""
    return "*" in topic or "?" in topic or "[" in topic


def literal_prefix(topic: str) -> str:
    """The text before the first wildcard: every topic a pattern matches starts with it."""
    cut = len(topic)
    for ch in "*?[":
        i = topic.find(ch, 0, cut)
        if i >= 0:
            cut = i
    return topic[:cut]


#: Bounds of the compiled-pattern cache: entries, and the sum of the patterns' lengths.
CACHE_ENTRIES = 4096
CACHE_CHARS = 1 << 20


# ``re._compiler.compile`` compiles without entering ``re``'s module-level cache (which
# would keep 512 compiled patterns of any size alive); ``re.compile`` where it is missing.
def _uncached_compiler() -> Callable[[str, int], Any]:
    try:
        compiler: Callable[[str, int], Any] = importlib.import_module("re._compiler").compile
    except (ImportError, AttributeError):  # not CPython 3.11+
        compiler = re.compile
    return compiler


_compile = _uncached_compiler()

_Matcher = Callable[[str], "Match[str] | None"]
_cache: dict[str, _Matcher] = {}
_cache_chars = 0


def _matcher(pattern: str) -> _Matcher:
    """``pattern`` compiled, from the bounded cache (emptied when a bound would be passed).

    Safe under threads without a lock: a race can only compile a pattern twice or
    empty the cache early; the character count is approximate only under such a race.
    """
    global _cache_chars
    found = _cache.get(pattern)
    if found is not None:
        return found
    compiled: _Matcher = _compile(translate(pattern), 0).match
    size = len(pattern)
    if size <= CACHE_CHARS:
        if len(_cache) >= CACHE_ENTRIES or _cache_chars + size > CACHE_CHARS:
            _cache.clear()
            _cache_chars = 0
        _cache[pattern] = compiled
        _cache_chars += size
    return compiled


def pattern_matches(name: str, pattern: str) -> bool:
    """``fnmatch.fnmatchcase(name, pattern)`` for a *pattern* that is a pattern (T2, T3)."""
    return _matcher(pattern)(name) is not None


def match(topic_a: str, topic_b: str) -> bool:
    """The matching relation (spec T4): equal, or either matches the other as a pattern.

    A topic without wildcards matches only itself as a pattern, so it is never compiled.
    """
    if topic_a == topic_b:
        return True
    return (is_pattern(topic_b) and _matcher(topic_b)(topic_a) is not None) or (
        is_pattern(topic_a) and _matcher(topic_a)(topic_b) is not None
    )
