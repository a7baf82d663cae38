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
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from refimpl.errors import TopicError

__all__ = ["WILDCARD_CHARS", "is_pattern", "match", "plain_str", "validate_topic"]

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
    while j < n and topic[j] != "]":
        j += 1
    if j >= n:
        raise TopicError(f"bad topic {topic!r}: '[' at index {start} is never closed")
    return j + 1


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
    n = len(topic)
    while i < n:
        ch = topic[i]
        if ch == "[":
            end = _class_end(topic, i)
            # the class's own characters must not be surrogates either
            bad = next((k for k in range(i + 1, end) if "\ud800" <= topic[k] <= "\udfff"), None)
            if bad is not None:
                raise TopicError(f"bad topic {topic!r}: surrogate code point at index {bad}")
            i = end
            continue
        if "\ud800" <= ch <= "\udfff":
            raise TopicError(f"bad topic {topic!r}: surrogate code point at index {i}")
        i += 1
    return topic


def is_pattern(topic: str) -> bool:
    """True if *topic* contains a wildcard character."""
    return any(ch in WILDCARD_CHARS for ch in topic)


def match(topic_a: str, topic_b: str) -> bool:
    """The matching relation (spec T4): equal, or either matches the other as a pattern."""
    return topic_a == topic_b or fnmatchcase(topic_a, topic_b) or fnmatchcase(topic_b, topic_a)
