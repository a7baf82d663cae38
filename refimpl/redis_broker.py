"""A networked message broker: channels across processes through one Redis Stream (spec P1-P8).

Selected by the seed's own setting, ``CHANNEL_MESSAGE_BROKER_CLASS =
'refimpl.redis_broker.RedisMessageBroker'``, with ``CHANNEL_REDIS_URL`` naming the server.
The ``Channel`` API is unchanged. The broker runs on the runtime's one broker thread
(no thread of its own: R2 still counts B + W threads), and each ``run()`` does:

1. read, without blocking, the stream entries after ``position`` (``XREAD``) and hand
   each one to the runtime as a message of its own (``Runtime._send`` from the broker
   thread), so it gets a ``seq`` and the registry snapshot of *now*: the subscription
   window across processes is the stream position when a subscription takes effect (P2);
2. take the next message of this process (``get_message``, waiting a short poll: from
   ``POLL_MIN`` while entries keep arriving, doubling up to ``POLL`` while none do); a
   message read from the stream, or a ``local=True`` one, is routed to this process's
   subscribers; any other is appended to the stream (``XADD``) and then read back in
   step 1, so that every process, this one included, delivers non-local messages in
   the stream's one order (P1) and local ones never leave (P4).

The position only moves past an entry once that entry was handed to the runtime, and
a lost connection resumes ``XREAD`` from it (P7); each entry names its origin process
and that process's ``seq``, so an ``XADD`` retried after a lost reply is delivered
once (P3). Payloads cross as JSON (never pickle: nothing read may run code).
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
from refimpl.runtime import Runtime, State
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
                found = True
                self._hand_on(parse_id(raw_id), fields)
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

    def _find_own(self, seq: int) -> bytes | None:
        """The id of this process's entry for *seq*, if the stream has it after our last one."""
        start = "(" + show_id(self._own_last)
        while True:
            page: Any = self.client.xrange(self.stream, min=start, count=READ_COUNT)
            for raw_id, fields in page:
                if fields.get(b"origin") == self.origin.encode() and fields.get(b"seq") == str(
                    seq
                ).encode():
                    return bytes(raw_id)
            if len(page) < READ_COUNT:
                return None
            start = "(" + show_id(parse_id(page[-1][0]))

    # the broker's run() --------------------------------------------------------------------
    def run(self) -> None:
        if self.runtime._state < State.CLOSING:
            self.poll()  # while closing, only publish() reads (its own entries back, P6)
        message = self.get_message()
        if message.seq in self._remote:
            self._remote.discard(message.seq)
            self.route_here(message)
        elif message.local:
            self.route_here(message)  # P4, L2: never leaves the process
        else:
            self.publish(message)

    def route_here(self, message: Message) -> None:
        for channel in self.get_channels(message):
            self.schedule_task(channel=channel, message=message)

    def publish(self, message: Message) -> None:
        """``XADD`` *message*, retrying for ``CHANNEL_REDIS_RETRY_TIMEOUT``; else drop it (P8)."""
        rt = self.runtime
        data = message._payload if message._payload is not None else message.data
        try:
            text = json.dumps(data)
            if json.loads(text) != data:
                raise TypeError("it does not survive a JSON round trip unchanged")
        except (TypeError, ValueError) as exc:
            log_safely(logger, ERROR, "%s cannot cross processes (%s); dropped", message, exc)
            rt._drop(message, None, "error")
            raise Empty from None
        fields = {
            "origin": self.origin,
            "seq": str(message.seq),
            "topic": message.topic,
            "data": text,
            "expiry": message.expiry.isoformat() if message.expiry is not None else "",
            "droppable": "1" if message.droppable else "0",
        }
        deadline = time.monotonic() + self.retry_timeout
        retry = False
        while True:
            try:
                # A retry first looks for the entry: the failed XADD may have been done,
                # its reply lost; the entry's id is the one every process delivers at (P1).
                found = self._find_own(message.seq) if retry else None
                raw_id = found or self.client.xadd(self.stream, fields)  # type: ignore[arg-type]
                break
            except NETWORK_ERRORS:
                self._lost = retry = True
                if time.monotonic() >= deadline:
                    log_safely(
                        logger,
                        ERROR,
                        "%s: Redis unreachable for %g s (CHANNEL_REDIS_RETRY_TIMEOUT); dropped",
                        message,
                        self.retry_timeout,
                    )
                    rt._drop(message, None, "error")
                    raise Empty from None
                time.sleep(POLL)
        sid = self._own_last = parse_id(raw_id)
        rt._emit("publish", message, None, show_id(sid))
        # Read it back now, before this run() returns: the runtime is not idle while its
        # own entry is on the way back, so shutdown() and join() wait for it (P1, P6).
        while self.position < sid and time.monotonic() < deadline:
            if not self.poll():
                time.sleep(POLL)
