"""Mutants of the networked broker (spec P1, P2, P3, P4, P6, P7, R5): each must be caught.

Each plants one realistic bug in ``refimpl.redis_broker.RedisMessageBroker`` by
subclassing it. The real-Redis workloads (``tests/redis``) select them by dotted path as
``CHANNEL_MESSAGE_BROKER_CLASS``; the fault simulation (``sim.net``) loads this module as a
private copy over the simulated client, by name (``sim.net.run.MUTANTS``).
"""

from __future__ import annotations

import time
from typing import Any

from refimpl._seam import Empty
from refimpl.message import Message
from refimpl.redis_broker import (
    BATCH,
    NETWORK_ERRORS,
    POLL,
    RedisMessageBroker,
    StreamId,
    parse_id,
)
from refimpl.runtime import State


class ResumeFromEnd(RedisMessageBroker):
    """After a reconnect, reads on from the stream's end (``$``): skips the outage (P7).

    redis-py silently replaces a pooled connection that died while idle, so a broken
    connection is not always seen as an error; this mutant notices the new server by its
    ``run_id`` too, as a real implementation that re-subscribes on reconnect would.
    """

    _run_id = ""

    def poll(self) -> bool:
        try:
            run_id = str(self.client.info("server")["run_id"])
        except NETWORK_ERRORS:
            return super().poll()
        if self._run_id and run_id != self._run_id:
            self._lost = True
        self._run_id = run_id
        return super().poll()

    def resume_position(self) -> StreamId:
        last: Any = self.client.xrevrange(self.stream, count=1)
        return parse_id(last[0][0]) if last else self.position


class ForwardLocal(RedisMessageBroker):
    """Adds ``local=True`` messages (internal notices too) to the stream (P4, L2)."""

    def run(self) -> None:
        if self.runtime._state < State.CLOSING:
            self.poll()
        message = self.get_message()
        if message.seq in self._remote:
            self._remote.discard(message.seq)
            self.route_here(message)
        else:
            self.publish([message])


class AckBeforeHandling(RedisMessageBroker):
    """Counts a message as handled when it takes it, and adds it to the stream only on a
    later ``run()`` while running: ``shutdown()`` returns with messages never added (P6)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._later: list[Any] = []

    def run(self) -> None:
        if self.runtime._state < State.CLOSING:
            later, self._later = self._later, []
            if later:
                super().publish(later)
        super().run()

    def publish(self, batch: list[Message]) -> None:
        self._later += batch


class RemoteBeforeLocal(RedisMessageBroker):
    """Routes a local message only behind the next message read from the stream (P1).

    Batches routing by stream reads: a ``local=True`` message waits until a message read
    back from the stream has been routed, then follows it. In the sender's process a
    non-local message sent after a local one is then delivered first.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._locals: list[Any] = []

    def run(self) -> None:
        if self.runtime._state < State.CLOSING:
            self.poll()
        message = self.get_message()
        if message.seq in self._remote:
            self._remote.discard(message.seq)
            self.route_here(message)
            held, self._locals = self._locals, []
            for local in held:
                self.route_here(local)
        elif message.local:
            self._locals.append(message)
        else:
            self.publish([message])


class SilentReset(RedisMessageBroker):
    """Takes the new epoch of a server that lost the stream without reporting it (P7)."""

    def _check_epoch(self) -> None:
        self.epoch = self._epoch()


class BlindRetry(RedisMessageBroker):
    """Retries a batch without looking for the entries a lost reply may have added (P3):
    its messages get two entries each, and their sender names the second ones (P1, P2)."""

    def _find_own(self, seqs: set[int]) -> dict[int, StreamId]:
        return {}


class CommitBeforeAdding(RedisMessageBroker):
    """Gathers a batch with ``get_message`` (no wait), which finishes the message in hand
    and commits on finding the queue empty: the runtime is idle, and ``join()`` returns,
    while the batch is still on its way to the stream (R5; ``shutdown()`` likewise, P6)."""

    def _gather(self, batch: list[Message]) -> None:
        wait, self.timeout = self.timeout, 0.0
        try:
            while len(batch) < BATCH:
                try:
                    message = self.get_message()
                except Empty:
                    if self._message is None:  # none waiting
                        return
                    continue  # taken and dropped
                if not self._routed_here(message):
                    batch.append(message)
        finally:
            self.timeout = wait


class DeliverOwnAtOnce(RedisMessageBroker):
    """Routes its own non-local messages here as it takes them, adds them in a batch, and
    skips its own entries when reading: the batch's ids are known, why read them back?
    Because an entry of another process before them in the stream is then delivered
    after them here, and before them everywhere else (P1)."""

    def _routed_here(self, message: Message) -> bool:
        if message.seq not in self._remote and not message.local:
            self.route_here(message)
            return False
        return super()._routed_here(message)

    def _hand_on(self, sid: StreamId, fields: dict[bytes, bytes]) -> None:
        if fields.get(b"origin") == self.origin.encode():
            self.position = self.injected = sid
            self._unread.pop(int(fields.get(b"seq", b"-1")), None)
            return
        super()._hand_on(sid, fields)


class SkipReadBackWhileClosing(RedisMessageBroker):
    """While closing, adds a batch and does not read it back: its subscriptions are about
    to end, why wait? ``shutdown()`` returns before the process's own subscribers got its
    last messages, and no drop is reported (P6: they are owed, as in S2)."""

    def _read_back(self, last: StreamId) -> None:
        if self.runtime._state >= State.CLOSING:
            self._unread.clear()
            return
        super()._read_back(last)


class ForgetUnreadBack(RedisMessageBroker):
    """The broker before this was fixed: a read-back that times out (server gone after the
    ``EXEC``) just stops; ``join()`` and ``shutdown()`` return while the process's own
    subscribers never got those messages, and nothing is reported (P6, D2)."""

    def _read_back(self, last: StreamId) -> None:
        deadline = time.monotonic() + self.retry_timeout
        while self.position < last and time.monotonic() < deadline:
            if not self.poll():
                time.sleep(POLL)
        self._unread.clear()
