"""A networked message broker: channels across processes through one Redis Stream (spec P1-P8).

Selected by the seed's own setting, ``CHANNEL_MESSAGE_BROKER_CLASS =
'refimpl.redis_broker.RedisMessageBroker'``, with ``CHANNEL_REDIS_URL`` naming the server.
The ``Channel`` API is unchanged. The broker runs on the runtime's one broker thread
(no thread of its own: R2 still counts B + W threads), and each ``run()`` does:

1. read, without blocking, the stream entries after ``position`` (``XREAD``) and hand
   each one to the runtime as a message of its own (``Runtime._send`` from the broker
   thread), so it gets a ``seq`` and the registry snapshot of *now*: the subscription
   window across processes is the stream position when a subscription takes effect (P2);
   it reads again only once every entry handed on was taken from the queue (one round
   trip per read of up to ``READ_COUNT`` entries, not one per message);
2. take the next message of this process (``get_message``, waiting a short poll: from
   ``POLL_MIN`` while entries keep arriving, doubling up to ``POLL`` while none do); a
   message read from the stream, or a ``local=True`` one, is routed to this process's
   subscribers; any other starts a *batch*: the messages already waiting in the queue
   are taken too, in ``seq`` order (up to ``BATCH`` non-local ones), each read-back or
   local one routed as it comes, and the non-local ones are appended to the stream in
   one ``MULTI``/``XADD``.../``EXEC`` (one round trip, all or none) and read back in step
   1, so that every process, this one included, delivers non-local messages in the
   stream's one order (P1) and local ones never leave (P4). A local message taken
   before a non-local one is routed before that one is even added (P1's local-first
   direction); the last message taken stays unfinished until the batch is read back, so
   ``join()`` and ``shutdown()`` wait for it (R5, P6). A message whose entry cannot be read
   back (the server gone for ``CHANNEL_REDIS_RETRY_TIMEOUT`` after the ``EXEC``, the entry
   lost with the stream) is reported dropped here, never left in doubt; while closing, no
   entry after this process's own last one is read (P6).

The position only moves past an entry once that entry was handed to the runtime, and
a lost connection resumes ``XREAD`` from it (P7); each entry names its origin process
and that process's ``seq``, so a batch retried after a lost reply looks for the entries
it may have added and adds only the others: each message is delivered once (P3).
Payloads cross as JSON (never pickle: nothing read may run code).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from logging import ERROR, WARNING, getLogger
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from refimpl._safe import log_safely
from refimpl._seam import Empty
from refimpl.message import Message
from refimpl.runtime import STOP, Runtime, State
from refimpl.worker import MessageBroker

__all__ = ["RedisMessageBroker", "StreamId", "parse_id"]

logger = getLogger("refimpl.channels")

StreamId = tuple[int, int]

#: seconds ``get_message`` waits at most before the broker polls the stream again: the
#: bound on how late a remote message is noticed by an idle process
POLL = 0.02
#: the wait while entries keep arriving: it doubles after each read that found nothing, up
#: to ``POLL``, and starts here again after one that found some (low latency under
#: traffic, few idle round trips)
POLL_MIN = 0.001
#: entries one ``XREAD`` returns at most
READ_COUNT = 512
#: non-local messages one batch adds at most (one ``MULTI``/``EXEC``)
BATCH = 256
#: the errors that mean "the server is not reachable now" (retry; never fatal)
NETWORK_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


def parse_id(text: str | bytes) -> StreamId:
    """``'1700000000000-3'`` as ``(1700000000000, 3)``: stream ids compare as int pairs."""
    raw = text.decode() if isinstance(text, bytes) else text
    ms, _, n = raw.partition("-")
    return int(ms), int(n or 0)


def show_id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


class RedisMessageBroker(MessageBroker):
    """The broker of one process of a multi-process app, over a Redis Stream (P1-P8)."""

    def __init__(
        self, runtime: Runtime | None = None, timeout: float | None = None, **kw: Any
    ) -> None:
        super().__init__(runtime, timeout, **kw)
        rt = self.runtime
        s = rt.settings
        if s.MAX_CHANNEL_MESSAGE_BROKER_THREADS != 1:
            # one reader keeps the stream's order and one position per process (P1, P7)
            raise ValueError(
                "RedisMessageBroker needs MAX_CHANNEL_MESSAGE_BROKER_THREADS = 1, not "
                f"{s.MAX_CHANNEL_MESSAGE_BROKER_THREADS}"
            )
        self.timeout = min(self.timeout, POLL)
        self._longest_wait = self.timeout  # ``timeout`` is the current poll wait, up to this
        self.stream = s.CHANNEL_REDIS_STREAM
        self.retry_timeout = s.CHANNEL_REDIS_RETRY_TIMEOUT
        self.origin = uuid.uuid4().hex  # this process's runtime, in every entry it adds
        # No silent retries inside redis-py: a lost connection is the broker's to handle,
        # by resuming from its own position (P7), and is seen by tests and mutants alike.
        self.client: redis.Redis = redis.Redis.from_url(
            s.CHANNEL_REDIS_URL,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        #: the last stream entry handed to the runtime (entries up to it are read) (P2, P7)
        self.position: StreamId = (0, 0)
        #: ``position`` once the runtime holds the entry (``position`` moves first)
        self.injected: StreamId = (0, 0)
        self._remote: set[int] = set()  # seqs of messages read from the stream
        self._own_last: StreamId = (0, 0)  # this process's last entry (a retry looks after it)
        #: seq -> this process's message whose entry is in the stream but not yet read back
        self._unread: dict[int, Message] = {}
        self._last_seq: dict[str, int] = {}  # origin -> the largest seq delivered (P3)
        self.epoch = ""
        self._lost = False  # a network error happened since the last successful read (P7)
        self.resets = 0
        self._start()

    # connection ---------------------------------------------------------------------------
    def _start(self) -> None:
        """Start reading at the stream's end: a new process sees what is added from now (P2)."""
        deadline = time.monotonic() + self.retry_timeout
        while True:
            try:
                last: Any = self.client.xrevrange(self.stream, count=1)
                self.epoch = self._epoch()
                break
            except NETWORK_ERRORS:
                self._lost = True
                if time.monotonic() >= deadline:
                    raise
                time.sleep(POLL)
        self.position = self.injected = parse_id(last[0][0]) if last else (0, 0)
        self._own_last = self.position

    def _epoch(self) -> str:
        """The stream's epoch token; a server that lost the stream has none, or another."""
        key = f"{self.stream}:epoch"
        self.client.set(key, uuid.uuid4().hex, nx=True)
        value = self.client.get(key)
        return value.decode() if isinstance(value, bytes) else str(value)

    def _check_epoch(self) -> None:
        """The epoch read with the last XREAD was not ours: report that the stream was lost (P7)."""
        epoch = self._epoch()
        if epoch != self.epoch:
            self.epoch = epoch
            self.resets += 1
            log_safely(
                logger,
                WARNING,
                "the Redis server lost stream %r (restarted without persistence?): entries "
                "added before that and not yet read here are lost",
                self.stream,
            )
            self.runtime._emit("error", None, None, "stream-reset")

    def resume_position(self) -> StreamId:
        """Where ``XREAD`` goes on after a lost connection: the last position read (P7).

        Called before the first read once the connection was lost (by a read or an
        ``XADD``); it may raise a network error (it is then called again next time).
        """
        return self.position

    # reading ------------------------------------------------------------------------------
    def poll(self) -> bool:
        """Read and hand on the entries after ``position`` (no wait); False if unreachable."""
        try:
            if self._lost:  # the first read since a network error, in poll() or publish()
                self.position = self.resume_position()
                self._lost = False
            # The epoch is read with every XREAD, before it: a server restarted without
            # persistence is noticed even by a process that saw no error during the outage.
            pipe = self.client.pipeline(transaction=False)
            pipe.get(f"{self.stream}:epoch")
            pipe.xread({self.stream: show_id(self.position)}, count=READ_COUNT)
            epoch, reply = pipe.execute()
            if epoch is None or epoch.decode() != self.epoch:
                self._check_epoch()
        except NETWORK_ERRORS:
            self._lost = True
            return False
        found = False
        for _stream, entries in reply or ():
            for raw_id, fields in entries:
                sid = parse_id(raw_id)
                if sid > self._own_last and self.runtime._state >= State.CLOSING:
                    break  # not this process's to deliver any more (P6); position stays
                found = True
                self._hand_on(sid, fields)
        # Traffic: look again soon; none: back off towards POLL.
        self.timeout = min(POLL_MIN if found else 2 * self.timeout, self._longest_wait)
        return True

    def _hand_on(self, sid: StreamId, fields: dict[bytes, bytes]) -> None:
        """One entry: to the runtime as a message, with the registry snapshot of now (P2)."""
        self.position = sid
        rt = self.runtime
        try:
            origin = fields[b"origin"].decode()
            seq = int(fields[b"seq"])
            topic = fields[b"topic"].decode()
            data = json.loads(fields[b"data"])
            expiry_text = fields[b"expiry"].decode()
            droppable = fields[b"droppable"] == b"1"
            expiry = datetime.fromisoformat(expiry_text) if expiry_text else None
            if not isinstance(data, dict):
                raise TypeError("data is not a JSON object")
        except (KeyError, ValueError, TypeError) as exc:
            log_safely(logger, ERROR, "stream entry %s is malformed; skipped", show_id(sid),
                       exc_info=exc)
            self.injected = sid
            return
        if origin == self.origin:
            self._unread.pop(seq, None)  # read back (or a repeat of one read back)
        if seq <= self._last_seq.get(origin, -1):  # an XADD retried after a lost reply (P3)
            self.injected = sid
            return
        self._last_seq[origin] = seq
        try:
            message = rt._send(topic, data, expiry, False, droppable)
        except Exception as exc:  # the runtime stopped under us: nobody is left to deliver to
            log_safely(logger, WARNING, "entry %s not delivered: %s", show_id(sid), exc)
        else:
            self._remote.add(message.seq)
        self.injected = sid

    def _find_own(self, seqs: set[int]) -> dict[int, StreamId]:
        """The entries this process added for *seqs* after its last known one: a batch
        whose reply was lost may have been added (all of it: one ``MULTI``/``EXEC``)."""
        found: dict[int, StreamId] = {}
        origin = self.origin.encode()
        wanted = {str(seq).encode(): seq for seq in seqs}
        start = "(" + show_id(self._own_last)
        while True:
            page: Any = self.client.xrange(self.stream, min=start, count=READ_COUNT)
            for raw_id, fields in page:
                seq = wanted.get(fields.get(b"seq"))
                if seq is not None and fields.get(b"origin") == origin:
                    found[seq] = parse_id(raw_id)
            if len(page) < READ_COUNT or len(found) == len(seqs):
                return found
            start = "(" + show_id(parse_id(page[-1][0]))

    # the broker's run() --------------------------------------------------------------------
    def run(self) -> None:
        # Read only once every entry read before was taken: one XREAD per READ_COUNT
        # entries, not one per message. While closing, only publish() reads (P6).
        if not self._remote and self.runtime._state < State.CLOSING:
            self.poll()
        message = self.get_message()
        if self._routed_here(message):
            return
        batch = [message]
        self._gather(batch)
        self.publish(batch)

    def get_message(self) -> Message:
        """``Worker.get_message``; a message read from the stream that it drops (expired,
        closing) is no longer waited for: ``run()`` reads again once none is (P5, S3)."""
        try:
            return super().get_message()
        except Empty:
            dropped = self._message  # taken and dropped (expired, closing); None: none came
            if dropped is not None:
                self._remote.discard(dropped.seq)
            raise

    def _routed_here(self, message: Message) -> bool:
        """Route *message* here if it was read from the stream or is local (P4, L2)."""
        if message.seq in self._remote:
            self._remote.discard(message.seq)
        elif not message.local:
            return False
        self.route_here(message)
        return True

    def _gather(self, batch: list[Message]) -> None:
        """Take the messages already waiting (no wait), in ``seq`` order: route each local
        or read-back one now, add each other one to *batch*, up to ``BATCH`` of them.

        Taken as ``get_message`` takes one, except that the message in hand is finished
        only once a next one is in hand: the last one taken stays unfinished until
        ``run()`` returns, so the runtime is not idle before the batch is read back
        (R5, P6); ``get_message`` would finish it, and commit, on finding the queue empty.
        """
        rt = self.runtime
        while len(batch) < BATCH:
            try:
                message = rt._messages.get(timeout=0)
            except Empty:
                return
            if message is STOP:  # never while a message is unfinished; kept for the loop
                rt._messages.put(STOP)
                return
            self._finish()
            self._message = message
            self._deliveries = []
            reason = self._refused(message)
            if reason is not None:
                self._remote.discard(message.seq)
                rt._drop(message, None, reason)
            elif not self._routed_here(message):
                batch.append(message)

    def _refused(self, message: Message) -> str | None:
        """Why ``get_message`` would drop *message* when taking it (R7, S3, E2), or None."""
        rt = self.runtime
        if rt._exiting:
            return "exit"
        if message.droppable and rt._state >= State.CLOSING:
            return "shutdown"
        if message.expiry is not None and message.expiry <= rt._now():
            return "expired"
        return None

    def route_here(self, message: Message) -> None:
        for channel in self.get_channels(message):
            self.schedule_task(channel=channel, message=message)

    def _fields(self, message: Message) -> dict[str, str] | None:
        """*message* as a stream entry; None (dropped and reported) if it cannot cross (P8)."""
        data = message._payload if message._payload is not None else message.data
        try:
            text = json.dumps(data)
            if json.loads(text) != data:
                raise TypeError("it does not survive a JSON round trip unchanged")
        except (TypeError, ValueError) as exc:
            log_safely(logger, ERROR, "%s cannot cross processes (%s); dropped", message, exc)
            self.runtime._drop(message, None, "error")
            return None
        return {
            "origin": self.origin,
            "seq": str(message.seq),
            "topic": message.topic,
            "data": text,
            "expiry": message.expiry.isoformat() if message.expiry is not None else "",
            "droppable": "1" if message.droppable else "0",
        }

    def publish(self, batch: list[Message]) -> None:
        """Add *batch* (in ``seq`` order) to the stream in one ``MULTI``/``EXEC``, retrying
        for ``CHANNEL_REDIS_RETRY_TIMEOUT``, else drop what is not in (P8); read it back."""
        rt = self.runtime
        todo = [(m, f) for m in batch if (f := self._fields(m)) is not None]
        added: dict[int, StreamId] = {}
        deadline = time.monotonic() + self.retry_timeout
        retry = False
        while todo:
            try:
                if retry:
                    # The lost reply may have come after the EXEC: those entries are the
                    # ones every process delivers at (P1, P3); add only the others.
                    added.update(self._find_own({m.seq for m, _ in todo}))
                    todo = self._still_to_add(todo, added)
                if todo:
                    pipe = self.client.pipeline(transaction=True)
                    for _, fields in todo:
                        pipe.xadd(self.stream, fields)  # type: ignore[arg-type]
                    for (m, _), raw_id in zip(todo, pipe.execute(), strict=True):
                        added[m.seq] = parse_id(raw_id)
                break
            except NETWORK_ERRORS:
                self._lost = retry = True
                if time.monotonic() >= deadline:
                    for m, _ in todo:  # none of them is known to be in the stream
                        self._unsent(m, f"Redis unreachable for {self.retry_timeout:g} s "
                                        "(CHANNEL_REDIS_RETRY_TIMEOUT)")
                    break
                time.sleep(POLL)
            except redis.RedisError as exc:  # refused (out of memory, a wrong key type): each
                for m, _ in todo:  # of the batch is reported, not only the last taken (D2)
                    self._unsent(m, f"Redis refused the batch ({exc})")
                break
        last = (0, 0)
        for m in batch:
            sid = added.get(m.seq)
            if sid is not None:
                rt._emit("publish", m, None, show_id(sid))
                self._unread[m.seq] = m
                last = max(last, sid)
        if not added:
            return
        self._own_last = max(self._own_last, last)
        self._read_back(last)

    def _read_back(self, last: StreamId) -> None:
        """Read the stream up to this process's entry *last* before ``run()`` returns: the
        runtime is not idle while its own entries are on the way back, so ``shutdown()``
        and ``join()`` wait until its own subscribers got them (P1, P6, R5).

        The server just answered the ``EXEC``; if it is unreachable for
        ``CHANNEL_REDIS_RETRY_TIMEOUT`` from now, or the stream moved past *last* without
        an entry of the batch (lost with the stream, P7), the messages not read back are
        reported dropped here (``error``; D2, P8): other processes may deliver them, this
        one does not, also if it reads them later.
        """
        deadline = time.monotonic() + self.retry_timeout
        while self._unread and self.position < last and time.monotonic() < deadline:
            if not self.poll():
                time.sleep(POLL)
        if not self._unread:
            return
        why = (f"Redis unreachable for {self.retry_timeout:g} s (CHANNEL_REDIS_RETRY_TIMEOUT)"
               if self.position < last else "its entry was lost with the stream (P7)")
        for seq in sorted(self._unread):
            self._unsent(self._unread.pop(seq), f"in the stream, but not read back here: {why}")
            # never delivered here now, also if it is read later (one outcome per pair, D2)
            self._last_seq[self.origin] = max(self._last_seq.get(self.origin, -1), seq)

    def _still_to_add(
        self, todo: list[tuple[Message, dict[str, str]]], added: dict[int, StreamId]
    ) -> list[tuple[Message, dict[str, str]]]:
        """*todo* without what is in the stream. One ``EXEC`` adds all or none, so what is
        missing comes after what was added; should one not, it cannot be added any more
        (readers would take it for a repeat, P3): it is dropped and reported."""
        top = max(added, default=-1)
        rest = []
        for m, fields in todo:
            if m.seq in added:
                continue
            if m.seq < top:
                self._unsent(m, "a later message of its batch is in the stream without it")
            else:
                rest.append((m, fields))
        return rest

    def _unsent(self, message: Message, why: str) -> None:
        log_safely(logger, ERROR, "%s: %s; dropped", message, why)
        self.runtime._drop(message, None, "error")
