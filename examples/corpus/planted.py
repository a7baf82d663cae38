"""The planted bugs: each class is one design of the corpus with one realistic mistake, the
kind a hurried change makes. ``CORPUS`` (``__init__.py``) says which clause each one breaks.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import datetime, timedelta

from . import mailbox, pollpool, relay, reorder


class OutOfOrderRuntime(pollpool.Runtime):
    """(a) Brokers commit as soon as they have matched: no turn. With two brokers a later
    message can reach a mailbox before an earlier one (O2)."""

    def _commit(self, envelope: pollpool._Envelope, deliver: bool) -> list[pollpool._Subscription]:
        gone = []
        with self._lock:
            if deliver:
                for sub in envelope.receivers:
                    if not sub.active:
                        gone.append(sub)
                        continue
                    sub.mail.append(envelope.message)
                    self._busy += 1
                    if not sub.queued:
                        sub.queued = True
                        self._ready.put(sub)
        return gone


class StrandingRuntime(pollpool.Runtime):
    """(b) ``shutdown()`` waits until the message queue is empty, then stops the loops: what
    is still in a mailbox (or being routed) is never delivered (S2)."""

    def shutdown(self) -> None:
        with self._lock:
            if self._state == "running":
                self._state = "closing"
        while not self._messages.empty():
            time.sleep(pollpool.POLL)
        with self._lock:
            self._state = "stopped"
            self._stop = True
        self._pool.shutdown(wait=True)


class ChannelHandlerRuntime(pollpool.Runtime):
    """(g) A worker runs the handler the channel has *now*, as Lona does: a channel that
    unsubscribes and subscribes again runs messages queued for its old subscription with its
    new handler (W2)."""

    def _run(self, sub: pollpool._Subscription, message: pollpool.Message) -> None:
        current = sub.channel._sub
        if current is None:
            self._dropped(message, sub.channel, "unsubscribed")
            return
        super()._run(current, message)


class LeavesQueuedHub(mailbox.Hub):
    """(c) A subscription's thread relies on the sentinel ``unsubscribe()`` puts behind its
    queue and does not look at ``active``: messages queued before it still start their
    handler after ``unsubscribe()`` returned (section 17 step 4, W3)."""

    def _deliver(self, sub: mailbox.Subscription, msg: mailbox.Message) -> None:
        with sub.gate:
            reason = self._drop_reason(msg)
            if reason is not None:
                self._drop(msg, sub.channel, reason)
                return
            try:
                sub.handler(mailbox.Message(msg.topic, dict(msg.data), msg.seq, msg.deadline))
            except BaseException:
                mailbox.log.exception("handler of %r raised", sub.channel.topic)


class NaiveClockHub(mailbox.Hub):
    """(e) The deadline is kept as the ``datetime`` given and compared with the naive
    ``datetime.now()``: an aware expiry raises ``TypeError`` in the dispatcher thread, which
    dies, and nothing is delivered again (V2)."""

    def _deadline(self, expiry: datetime | timedelta | None) -> float | None:
        if isinstance(expiry, timedelta):
            return datetime.now() + expiry  # type: ignore[return-value]
        return expiry  # type: ignore[return-value]

    def _drop_reason(self, msg: mailbox.Message) -> str | None:
        deadline: datetime | None = msg.deadline  # type: ignore[assignment]
        if deadline is not None and datetime.now() >= deadline:
            return "expired"
        if msg.droppable and self._state != "open":
            return "shutdown"
        return None


class CopyOutsideLockBus(relay.Bus):
    """(d) The new registry tuple is built before the lock is taken: two concurrent
    subscribe/unsubscribe calls each copy the old tuple and the later store loses the other's
    change (an unsubscribed channel comes back, W2; a subscription is lost, W1/D2)."""

    def _register(self, sub: relay.Subscription) -> None:
        registry = (*self._registry, sub)
        with self._registry_lock:
            if sub.live:
                self._registry = registry

    def _unregister(self, sub: relay.Subscription) -> None:
        registry = tuple(s for s in self._registry if s is not sub)
        with self._registry_lock:
            self._registry = registry


class LostWakeupBus(relay.Bus):
    """(f) A worker looks at the ready deque without the lock and only then waits: a
    subscription made ready in between is announced to nobody, and its messages wait until
    some later notify, or forever (W1/D2, S1)."""

    def _work_loop(self) -> None:
        with self._cond:
            self._worker_ids.add(threading.get_ident())
        while True:
            if not self._ready:
                if self._phase == "done":
                    return
                with self._cond:
                    self._cond.wait()
                continue
            with self._cond:
                if not self._ready:
                    continue
                sub = self._ready.popleft()
            self._drain(sub)


class NoBufferBus(reorder.Bus):
    """(h) Routing tasks post to the mailboxes as they finish, without the reorder buffer:
    with two pool threads a later message can reach a mailbox first (O2)."""

    def _route(self, env: reorder.Envelope, receivers: list[reorder.Sub]) -> None:
        expired = env.expired()
        with self._lock:
            if expired:
                self._drop(env, None, "expired")
            else:
                for s in receivers:
                    self._post(s, env)
            self._finished()


class _DeepEnvelope(reorder.Envelope):
    __slots__ = ()

    def clone(self) -> reorder.Envelope:
        return _DeepEnvelope(self.topic, copy.deepcopy(self.data), self.deadline, self.local,
                             self.droppable, self.seq)  # fmt: skip


class DeepCopyBus(reorder.Bus):
    """(i) Every holder gets a deep copy "to be safe": nested objects are not shared (C3)."""

    envelope_class = _DeepEnvelope


class _LateEnvelope(reorder.Envelope):
    __slots__ = ()

    def expired(self) -> bool:
        return self.deadline is not None and reorder.clock() > self.deadline


class StrictExpiryBus(reorder.Bus):
    """(j) A message counts as expired only strictly after its deadline: a handler can start
    at the very deadline (E2)."""

    envelope_class = _LateEnvelope
