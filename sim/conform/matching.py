"""The differential matching probe: thousands of generated topic pairs, judged on evidence (T2-T5).

One scenario per round subscribes a pool of generated topics (``sim.topicgen``: the
whole grammar, related by stems so that about one pair in ten matches) and sends once
on every topic of the pool, then settles. Every (sender, subscriber) pair of the pool
is then compared with the reference relation ``refimpl.topics.match``, in both
directions: delivered iff the topics match. A pair with a reported drop is left out
(a drop is not a matching decision).

The first disagreeing pair is then made minimal: a two-channel scenario (one
subscriber, one sender) must show the same disagreement, and characters are removed
from either topic while it still does. The clause is the most specific one it breaks:
T5 if a topic misses its own message or the two directions differ, T3 if the topics
differ only by case or Unicode form, T2 if a wildcard or another language's
metacharacter is involved, T4 otherwise.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable

from refimpl.errors import TopicError
from refimpl.topics import is_pattern, match, validate_topic
from sim.conform.probes import Finding
from sim.conform.runner import Run
from sim.generate import RandomSource
from sim.scenario import ChannelSpec, Scenario, Send, Settle
from sim.topicgen import METACHARACTERS, topic_pool

__all__ = ["classify", "disagreement", "matching_text", "observed", "probe_matching"]

Play = Callable[[Scenario, str, int], Run]


def _pool_scenario(pool: list[str]) -> Scenario:
    channels = tuple(ChannelSpec(t) for t in pool)
    sends = tuple(Send(r) for r in range(len(pool)))
    return Scenario(channels, ((*sends, Settle()),), brokers=1, workers=2, shutdown=False)


def _pair_scenario(sender: str, subscriber: str) -> Scenario:
    return Scenario(
        (ChannelSpec(subscriber), ChannelSpec(sender, subscribed=False)),
        ((Send(1), Settle()),),
        brokers=1,
        workers=1,
        shutdown=False,
    )


def observed(run: Run) -> dict[tuple[str, str], bool]:
    """(sender topic, subscriber topic) -> delivered, for every pair the run decided."""
    history = run.history
    started = {(e.msg, e.sub) for e in history.events if e.kind == "start"}
    dropped = {(e.msg, e.sub) for e in history.events if e.kind == "drop"}
    whole = {e.msg for e in history.events if e.kind == "drop" and e.sub < 0}
    accepted = {e.msg for e in history.events if e.kind == "send_ret"}
    settled = any(e.kind == "settle_ret" for e in history.events)
    out: dict[tuple[str, str], bool] = {}
    if not settled:
        return out
    for m in sorted(accepted - whole):
        sender = history.messages[m].topic
        for s, subscriber in sorted(history.topics.items()):
            if (m, s) in dropped:
                continue
            out.setdefault((sender, subscriber), (m, s) in started)
    return out


def _case_or_form(a: str, b: str) -> bool:
    fold = a.casefold() == b.casefold() or a.lower() == b.lower()
    norm = unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
    return a != b and (fold or norm)


def classify(sender: str, subscriber: str, reverse: bool | None, got: bool) -> str:
    """The clause a disagreement on (sender, subscriber) breaks, the most specific first."""
    if sender == subscriber or (reverse is not None and reverse != got):
        return "T5"
    if _case_or_form(sender, subscriber):
        return "T3"
    if is_pattern(sender) or is_pattern(subscriber):
        return "T2"
    if any(ch in METACHARACTERS or ord(ch) > 127 for ch in sender + subscriber):
        return "T2"
    return "T4"


def matching_text(sender: str, subscriber: str, got: bool) -> str:
    want = match(sender, subscriber)
    return (
        f"sender {sender!r} to subscriber {subscriber!r}: "
        f"{'delivered' if got else 'not delivered'}, but the topics "
        f"{'match' if want else 'do not match'} (spec T4: equal, or either matches the "
        f"other read as an fnmatchcase pattern)"
    )


def disagreement(play: Play, sender: str, subscriber: str) -> tuple[bool, Run] | None:
    """Run the two-channel scenario; (observed, run) if it disagrees with the relation."""
    run = play(_pair_scenario(sender, subscriber), "random", 0)
    seen = observed(run).get((sender, subscriber))
    if seen is None or seen == match(sender, subscriber):
        return None
    return seen, run


def _shorter(topic: str) -> list[str]:
    out = []
    for i in range(len(topic)):
        candidate = topic[:i] + topic[i + 1 :]
        try:
            out.append(validate_topic(candidate))
        except (TopicError, TypeError):
            continue
    return out


def minimise(play: Play, sender: str, subscriber: str, limit: int = 150) -> tuple[str, str]:
    """Remove characters from either topic while the two-channel scenario still disagrees."""
    tries = 0
    improved = True
    while improved and tries < limit:
        improved = False
        for a, b in [(s, subscriber) for s in _shorter(sender)] + [
            (sender, s) for s in _shorter(subscriber)
        ]:
            tries += 1
            if tries > limit:
                break
            if (a == b) != (sender == subscriber):
                continue  # keep a reflexivity failure reflexive and the others not
            if disagreement(play, a, b) is not None:
                sender, subscriber, improved = a, b, True
                break
    return sender, subscriber


def probe_matching(
    play: Play, rounds: int = 3, pool: int = 48, seed: int = 0
) -> tuple[list[Finding], Counter[str], list[Run]]:
    """Judge T2-T5 on ``rounds * pool**2`` generated pairs; the first disagreement, minimal."""
    seen: dict[tuple[str, str], bool] = {}
    runs: list[Run] = []
    where: dict[tuple[str, str], Run] = {}
    for r in range(rounds):
        topics = topic_pool(RandomSource(seed * 1000 + r), pool)
        run = play(_pool_scenario(topics), "random", r)
        runs.append(run)
        for pair, got in observed(run).items():
            if pair not in seen:
                seen[pair] = got
                where[pair] = run
    exercised: Counter[str] = Counter()
    for (a, b), _ in seen.items():
        exercised["T4"] += 1
        if a == b or (b, a) in seen:
            exercised["T5"] += 1
        if is_pattern(a) or is_pattern(b) or any(c in METACHARACTERS for c in a + b):
            exercised["T2"] += 1
        if _case_or_form(a, b) or any(ord(c) > 127 for c in a + b):
            exercised["T3"] += 1
    bad = [(pair, got) for pair, got in seen.items() if got != match(*pair)]
    if not bad:
        return [], exercised, runs
    (sender, subscriber), got = bad[0]
    clause = classify(sender, subscriber, seen.get((subscriber, sender)), got)
    confirmed = disagreement(play, sender, subscriber)
    if confirmed is None:  # only the big scenario shows it: report it there
        text = matching_text(sender, subscriber, got)
        text += f" ({len(bad)} of {len(seen)} pairs disagree)"
        return [Finding(clause, text, where[(sender, subscriber)])], exercised, runs
    small_sender, small_subscriber = minimise(play, sender, subscriber)
    final = disagreement(play, small_sender, small_subscriber)
    if final is None:  # cannot happen unless the candidate is not deterministic
        small_sender, small_subscriber, final = sender, subscriber, confirmed
    got_small, run_small = final
    reverse = disagreement(play, small_subscriber, small_sender)
    back = None if reverse is None else reverse[0]
    if back is None and small_sender != small_subscriber:
        back = match(small_subscriber, small_sender)
    clause = classify(small_sender, small_subscriber, back, got_small)
    text = (
        matching_text(small_sender, small_subscriber, got_small)
        + f"; {len(bad)} of {len(seen)} generated pairs disagree, first "
        f"({sender!r}, {subscriber!r})"
    )
    findings = [Finding(clause, text, run_small)]
    if clause != "T4":
        findings.append(Finding("T4", text, run_small))
    return findings, exercised, runs
