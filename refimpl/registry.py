"""The subscription index: who receives a message, found without scanning every subscription.

Windows, not snapshots (spec W1, W2, W4). Each subscription carries the ``seq`` window
``[start, end)`` in which it is live: ``start`` is the ``seq`` the next send got when it
subscribed, ``end`` the one the next send got when it unsubscribed (``LIVE`` until
then). A message reaches exactly the subscriptions whose window holds its ``seq``, so
the receivers are fixed at ``send()`` however late a broker routes it, and ``send()``
never touches the index. Subscribe and unsubscribe are O(log n) and copy nothing.

The index (all of it guarded by the runtime's ``_index_lock``):

* literal subscriber topics in an exact map, topic -> bucket;
* pattern subscriptions in a radix tree keyed by their literal prefix (the text before
  the first wildcard), so a literal send topic walks one path of the tree and checks
  only the patterns whose prefix it starts with;
* a sender-side pattern (sending to ``chat.*``) takes its own path: the literal topics
  starting with its prefix (a sorted key list), and the pattern buckets on and under
  its prefix.

An unsubscribed subscription stays indexed (its window excludes later messages) until
every message it may still receive is routed (``sweep``); then it is removed, a
bucket compacted only once half of it is gone, so removal is amortised O(1).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from refimpl.topics import is_pattern, literal_prefix, match, pattern_matches

if TYPE_CHECKING:
    from refimpl.channel import Channel
    from refimpl.message import Message

__all__ = ["LIVE", "Bucket", "PrefixTree", "Registry", "SortedKeys", "Subscription"]

#: ``end`` of a subscription that has not been unsubscribed.
LIVE = 1 << 62

_by_id = attrgetter("id")
_start = attrgetter("start")


class Subscription:
    """One subscribe() of one channel: its handler, its window and its mailbox.

    Invariant: ``scheduled`` is True exactly while the subscription sits in the ready
    queue or a task worker holds it; so at most one worker runs its handler at a time
    (spec O3). ``mailbox`` and ``scheduled`` change only under the runtime's lock,
    except that the worker holding the subscription pops from ``mailbox``. ``start``
    and ``end`` are set under the runtime's ``_send_lock``, as ``seq`` is.
    """

    __slots__ = (
        "active",
        "bucket",
        "channel",
        "end",
        "handler",
        "id",
        "mailbox",
        "scheduled",
        "start",
        "swept",
        "topic",
    )

    def __init__(
        self, sub_id: int, channel: Channel, handler: Callable[[Message], Any], start: int = 0
    ) -> None:
        self.id = sub_id
        self.channel = channel
        self.topic = channel.topic
        self.handler = handler
        self.active = True  # False once unsubscribe() has taken this subscription out
        self.start = start  # first seq it receives
        self.end = LIVE  # first seq it does not receive
        self.mailbox: deque[Message] = deque()
        self.scheduled = False
        self.bucket: Bucket | None = None  # where the index keeps it
        self.swept = False  # removed from the index

    def __repr__(self) -> str:
        return f"<Subscription #{self.id} {self.topic!r} [{self.start}, {self.end})>"


class Bucket:
    """The subscriptions of one index key, in ``id`` (and so ``start``) order.

    ``ended`` counts the subscriptions with an ``end`` (live ones have none): while it
    is zero the window test is one bisection on ``start``. ``gone`` counts swept ones
    still in ``subs``.
    """

    __slots__ = ("ended", "gone", "key", "node", "subs")

    def __init__(self, key: str) -> None:
        self.key = key
        self.subs: list[Subscription] = []
        self.ended = 0
        self.gone = 0
        self.node: _Node | None = None

    def live_at(self, seq: int) -> list[Subscription]:
        """The subscriptions whose window holds *seq*."""
        subs = self.subs
        if not self.ended:
            if not subs or subs[-1].start <= seq:
                return subs[:]
            return subs[: bisect_right(subs, seq, key=_start)]
        return [s for s in subs if s.start <= seq < s.end]


class _Node:
    """A radix-tree node: the edge ``label`` from its parent, children by first character."""

    __slots__ = ("bucket", "children", "label", "parent")

    def __init__(self, label: str, parent: _Node | None) -> None:
        self.label = label
        self.parent = parent
        self.children: dict[str, _Node] = {}
        self.bucket: Bucket | None = None


def _common(label: str, key: str, at: int) -> int:
    """Length of the common prefix of *label* and ``key[at:]`` (their first chars agree)."""
    lo, hi = 1, min(len(label), len(key) - at)
    while lo < hi:  # invariant: the first lo characters agree
        mid = (lo + hi + 1) // 2
        if key.startswith(label[:mid], at):
            lo = mid
        else:
            hi = mid - 1
    return lo


class PrefixTree:
    """Buckets keyed by strings, in a radix tree: which keys are prefixes of a text, or
    start with a prefix, in time proportional to the text, not to the number of keys."""

    __slots__ = ("_make", "_root", "version")

    def __init__(self, make: Callable[[str], Bucket] = Bucket) -> None:
        self._root = _Node("", None)
        self._make = make
        #: bumped whenever a node or a bucket is made or dropped (``Registry``'s route cache)
        self.version = 0

    def bucket(self, key: str) -> Bucket:
        """The bucket of *key*, made if missing."""
        node = self._root
        i, n = 0, len(key)
        while i < n:
            child = node.children.get(key[i])
            if child is None:
                self.version += 1
                child = _Node(key[i:], node)
                node.children[key[i]] = child
                node = child
                break
            label = child.label
            if key.startswith(label, i):
                node, i = child, i + len(label)
                continue
            k = _common(label, key, i)  # split the edge after k characters
            self.version += 1
            mid = _Node(label[:k], node)
            node.children[key[i]] = mid
            child.label = label[k:]
            child.parent = mid
            mid.children[child.label[0]] = child
            node, i = mid, i + k
        if node.bucket is None:
            self.version += 1
            node.bucket = self._make(key)
            node.bucket.node = node
        return node.bucket

    def drop(self, bucket: Bucket) -> None:
        """Remove an empty bucket, and the nodes that served only it."""
        node = bucket.node
        assert node is not None
        self.version += 1
        node.bucket = None
        while node.parent is not None and node.bucket is None and not node.children:
            parent = node.parent
            del parent.children[node.label[0]]
            node = parent
        if node.parent is not None and node.bucket is None and len(node.children) == 1:
            (child,) = node.children.values()  # merge a node left with one child
            child.label = node.label + child.label
            child.parent = node.parent
            node.parent.children[node.label[0]] = child

    def empty(self) -> bool:
        root = self._root
        return root.bucket is None and not root.children

    def along(self, text: str, proper: bool = False) -> Iterator[Bucket]:
        """The buckets whose key is a prefix of *text* (a proper prefix if *proper*)."""
        node = self._root
        i, n = 0, len(text)
        if node.bucket is not None and (n or not proper):
            yield node.bucket
        while i < n:
            child = node.children.get(text[i])
            if child is None or not text.startswith(child.label, i):
                return
            node, i = child, i + len(child.label)
            if node.bucket is not None and (i < n or not proper):
                yield node.bucket

    def under(self, prefix: str) -> Iterator[Bucket]:
        """The buckets whose key starts with *prefix*."""
        node = self._root
        i, n = 0, len(prefix)
        while i < n:
            child = node.children.get(prefix[i])
            if child is None:
                return
            label = child.label
            if n - i <= len(label):
                if not prefix.startswith(label[: n - i], i):
                    return
            elif not prefix.startswith(label, i):
                return
            node, i = child, i + len(label)
        stack = [node]
        while stack:
            node = stack.pop()
            if node.bucket is not None:
                yield node.bucket
            stack.extend(node.children.values())


class SortedKeys:
    """A sorted set of strings in blocks of at most ``2 * LOAD``: O(log n + LOAD) insert
    and remove, and the keys starting with a prefix as one range."""

    LOAD = 256
    __slots__ = ("_blocks", "_maxes", "version")

    def __init__(self) -> None:
        self._blocks: list[list[str]] = []
        self._maxes: list[str] = []
        self.version = 0  #: bumped by every change (``Registry``'s route cache)

    def add(self, key: str) -> None:
        self.version += 1
        if not self._blocks:
            self._blocks.append([key])
            self._maxes.append(key)
            return
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            i -= 1
            block = self._blocks[i]
            block.append(key)
            self._maxes[i] = key
        else:
            block = self._blocks[i]
            insort(block, key)
        if len(block) > 2 * self.LOAD:
            half = block[self.LOAD :]
            del block[self.LOAD :]
            self._blocks.insert(i + 1, half)
            self._maxes[i] = block[-1]
            self._maxes.insert(i + 1, half[-1])

    def remove(self, key: str) -> None:
        self.version += 1
        i = bisect_left(self._maxes, key)
        block = self._blocks[i]
        del block[bisect_left(block, key)]
        if not block:
            del self._blocks[i]
            del self._maxes[i]
        else:
            self._maxes[i] = block[-1]

    def starting_with(self, prefix: str) -> Iterator[str]:
        i = bisect_left(self._maxes, prefix)
        for block in self._blocks[i:]:
            for key in block[bisect_left(block, prefix) :]:
                if not key.startswith(prefix):
                    return
                yield key

    def __len__(self) -> int:
        return sum(map(len, self._blocks))


#: ``Registry._routes`` values: (keys, keys.version, tree version, literal keys, nodes)
_Route = tuple["SortedKeys", int, int, "tuple[str, ...]", "tuple[_Node, ...]"]


class Registry:
    """The index of one runtime's subscriptions; the caller holds ``_index_lock``.

    ``add``/``retire``/``sweep`` change it, ``matching(topic, seq)`` routes a message.
    Extension points for the mutants: ``bucket_class`` (the window test) and
    ``_compact`` (removal).
    """

    __slots__ = ("_dead", "_keys", "_literals", "_patterns", "_routes")

    bucket_class: type[Bucket] = Bucket
    #: The route cache's bounds: topics up to ROUTE_CHARS characters, ROUTE_ENTRIES of them
    #: (emptied when full), so at most ROUTE_ENTRIES * ROUTE_CHARS characters of topics.
    ROUTE_ENTRIES = 1024
    ROUTE_CHARS = 256

    def __init__(self) -> None:
        self._literals: dict[str, Bucket] = {}  # literal topic -> bucket
        self._keys = SortedKeys()  # the literal topics, for sender-side patterns
        self._patterns = PrefixTree(self.bucket_class)  # pattern subscriptions by prefix
        self._dead: deque[Subscription] = deque()  # retired, in ``end`` order
        # sender-side pattern -> (the ``_keys`` and the versions it was worked out for, the literal
        # keys a sender-side pattern matches, the pattern-tree nodes whose buckets can hold
        # matches): what routing finds by walking the index, kept until the index's shape
        # changes. The windows and the per-subscription matches are still checked per route.
        self._routes: dict[str, _Route] = {}

    # changes ---------------------------------------------------------------------------
    def add(self, sub: Subscription) -> None:
        """Index *sub* (subscriptions arrive in ``id`` order)."""
        topic = sub.topic
        if is_pattern(topic):
            bucket = self._patterns.bucket(literal_prefix(topic))
        else:
            found = self._literals.get(topic)
            if found is None:
                found = self._literals[topic] = self.bucket_class(topic)
                self._keys.add(topic)
            bucket = found
        sub.bucket = bucket
        bucket.subs.append(sub)

    def retire(self, sub: Subscription, horizon: int) -> None:
        """*sub* got its ``end``; remove whatever no unrouted message can reach any more."""
        assert sub.bucket is not None
        sub.bucket.ended += 1
        self._dead.append(sub)
        self.sweep(horizon)

    def sweepable(self, horizon: int) -> bool:
        """Whether ``sweep(horizon)`` has work: a retired subscription no message needs."""
        dead = self._dead
        if not dead:  # the common case, and no exception raised for it
            return False
        try:  # read without the index lock (from a commit): a benign race at worst
            return dead[0].end <= horizon
        except IndexError:
            return False

    def sweep(self, horizon: int) -> None:
        """Remove the retired subscriptions whose window ends at or before *horizon*
        (every message with a smaller ``seq`` has been routed)."""
        dead = self._dead
        while dead and dead[0].end <= horizon:
            sub = dead.popleft()
            bucket = sub.bucket
            assert bucket is not None
            sub.swept = True
            bucket.gone += 1
            if bucket.gone * 2 >= len(bucket.subs):
                self._compact(bucket)

    def _compact(self, bucket: Bucket) -> None:
        """Take the swept subscriptions out of *bucket*; drop it once empty."""
        bucket.subs = [s for s in bucket.subs if not s.swept]
        bucket.ended -= bucket.gone
        bucket.gone = 0
        if not bucket.subs:
            self._drop_bucket(bucket)

    def _drop_bucket(self, bucket: Bucket) -> None:
        if bucket.node is not None:
            self._patterns.drop(bucket)
        else:
            del self._literals[bucket.key]
            self._keys.remove(bucket.key)

    # routing ---------------------------------------------------------------------------
    def matching(self, topic: str, seq: int) -> list[Subscription]:
        """The subscriptions live at *seq* whose topic matches *topic* (T4), in ``id`` order."""
        if is_pattern(topic):
            return self._matching_pattern(topic, seq)
        found: list[Subscription] = []
        parts = 0
        bucket = self._literals.get(topic)
        if bucket is not None:
            found = bucket.live_at(seq)
            parts = 1
        if self._patterns.empty():
            return found
        for bucket in self._patterns.along(topic):
            hits = [s for s in bucket.live_at(seq) if pattern_matches(topic, s.topic)]
            if hits:
                found += hits
                parts += 1
        if parts > 1:
            found.sort(key=_by_id)
        return found

    def _route(self, topic: str) -> _Route:
        """Walk the index for the sender-side pattern *topic*: the literal keys it matches
        and the pattern nodes sharing its literal prefix. Cached while the index keeps its
        shape (a literal send topic walks only its own prefixes: it is not cached)."""
        keys = self._keys
        route = self._routes.get(topic)
        if (
            route is not None
            and route[0] is keys
            and route[1] == keys.version
            and route[2] == self._patterns.version
        ):
            return route
        prefix = literal_prefix(topic)
        literal = tuple(k for k in keys.starting_with(prefix) if pattern_matches(k, topic))
        buckets = [*self._patterns.along(prefix, proper=True), *self._patterns.under(prefix)]
        nodes = tuple(b.node for b in buckets if b.node is not None)
        route = (keys, keys.version, self._patterns.version, literal, nodes)
        if len(topic) <= self.ROUTE_CHARS:
            if len(self._routes) >= self.ROUTE_ENTRIES:
                self._routes.clear()
            self._routes[topic] = route
        return route

    def _matching_pattern(self, topic: str, seq: int) -> list[Subscription]:
        """A sender-side pattern: only keys and pattern buckets that share its literal
        prefix can match (found by ``_route``)."""
        route = self._route(topic)
        found: list[Subscription] = []
        literals = self._literals
        for key in route[3]:
            bucket = literals.get(key)  # (a key swept since is simply gone)
            if bucket is not None:
                found += bucket.live_at(seq)
        for node in route[4]:
            bucket = node.bucket
            if bucket is not None:
                found += [s for s in bucket.live_at(seq) if match(topic, s.topic)]
        found.sort(key=_by_id)
        return found

    def live(self, seq: int) -> list[Subscription]:
        """Every subscription live at *seq*, in ``id`` order (a scan: for checks only)."""
        buckets = [*self._literals.values(), *self._patterns.under("")]
        return sorted((s for b in buckets for s in b.live_at(seq)), key=_by_id)

    def __len__(self) -> int:
        """Subscriptions indexed (live or not yet swept)."""
        literal = sum(len(b.subs) - b.gone for b in self._literals.values())
        prefix_buckets = self._patterns.under("")
        return literal + sum(len(b.subs) - b.gone for b in prefix_buckets)
