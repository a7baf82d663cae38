"""One process of the cross-process fan-out benchmark (``bench.redis_fanout``).

``python -m bench.redis_child CONFIG_JSON send|recv``. *kind* (in the config) is what
carries the messages: ``refimpl`` (a ``Runtime`` with ``RedisMessageBroker``, one
``Channel`` subscription per receiving process), ``streams`` (raw redis-py ``XADD`` /
``XREAD BLOCK``, one round trip per message), ``streams-pipelined`` (the same, the
sender's ``XADD``s of a burst sent ``PIPELINE`` at a time in one pipeline) or ``pubsub``
(raw ``PUBLISH`` / ``SUBSCRIBE``). Every message carries its
number and the sender's ``time.monotonic_ns()`` at the send call (CLOCK_MONOTONIC: one
clock for every process of the machine); a receiver notes the same clock at delivery.

The parent steers through stdin/stdout, one line each way: a receiver prints ``ready``
once subscribed, then one JSON line per phase (``burst``: ``messages`` sent at once;
``paced``: ``paced`` more, one every ``interval`` s); the sender prints ``ready``, then
sends a phase for each ``burst`` / ``paced`` line it reads, then prints when it began and ended.
A receiver that waits ``idle`` s for a message reports the phase as it is (its losses).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import redis

__all__ = ["main"]

TOPIC = "bench.fanout"
#: ``XADD``s per pipeline of the ``streams-pipelined`` sender (refimpl batches up to 256)
PIPELINE = 256
BROKER = "refimpl.redis_broker.RedisMessageBroker"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Phases:
    """What one receiver saw: per phase, arrival order, duplicates and latencies."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.bounds = [
            ("burst", 0, config["messages"]),
            ("paced", config["messages"], config["messages"] + config["paced"]),
        ]
        self.idle = float(config["idle"])
        self.seen: set[int] = set()
        self.latest = -1
        self.stats = {
            name: {
                "received": 0,
                "duplicates": 0,
                "out_of_order": 0,
                "lat_us": [],
                "first_ns": None,
                "last_ns": None,
            }
            for name, _, _ in self.bounds
        }
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def note(self, i: int, sent_ns: int) -> None:
        now = time.monotonic_ns()
        with self.lock:
            name = "burst" if i < self.bounds[0][2] else "paced"
            s = self.stats[name]
            if i in self.seen:
                s["duplicates"] += 1
                return
            self.seen.add(i)
            if i < self.latest:
                s["out_of_order"] += 1
            self.latest = max(self.latest, i)
            s["received"] += 1
            s["lat_us"].append((now - sent_ns) / 1000)
            s["first_ns"] = s["first_ns"] or now
            s["last_ns"] = now
            self.changed.notify_all()

    def report(self) -> None:
        """Print each phase's line once it is complete or idle (from the main thread)."""
        for name, low, high in self.bounds:
            with self.lock:
                while not all(i in self.seen for i in range(low, high)):
                    before = len(self.seen)
                    self.changed.wait(self.idle)
                    if len(self.seen) == before:  # nothing for `idle` s: report the loss
                        break
                line = json.dumps({"phase": name, "expected": high - low, **self.stats[name]})
            _say(line)


def receive(config: dict[str, Any]) -> None:
    phases = Phases(config)
    kind, url = config["kind"], config["url"]
    if kind == "refimpl":
        from refimpl import Channel
        from refimpl.runtime import Runtime

        runtime = Runtime(_settings(config)).start()
        Channel(TOPIC, lambda m: phases.note(m.data["i"], m.data["t"]), runtime=runtime)
        _say("ready")
        phases.report()
        runtime.shutdown()
        return
    client = redis.Redis.from_url(url)
    if kind.startswith("streams"):
        last: Any = client.xrevrange(config["stream"], count=1)
        position = last[0][0] if last else b"0-0"

        def loop() -> None:
            nonlocal position
            while True:
                reply: Any = client.xread({config["stream"]: position}, count=512, block=1000)
                for _stream, entries in reply or ():
                    for entry_id, fields in entries:
                        phases.note(int(fields[b"i"]), int(fields[b"t"]))
                        position = entry_id
    else:
        pubsub = client.pubsub()
        pubsub.subscribe(TOPIC)
        while (pubsub.get_message(timeout=5) or {}).get("type") != "subscribe":
            pass

        def loop() -> None:
            for message in pubsub.listen():
                if message["type"] == "message":
                    i, t = message["data"].split(b" ")
                    phases.note(int(i), int(t))

    threading.Thread(target=loop, daemon=True).start()
    _say("ready")
    phases.report()


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "CHANNEL_MESSAGE_BROKER_CLASS": BROKER,
        "CHANNEL_REDIS_URL": config["url"],
        "CHANNEL_REDIS_STREAM": config["stream"],
        "MAX_CHANNEL_TASK_WORKER_THREADS": 1,
    }


def send(config: dict[str, Any]) -> None:
    kind = config["kind"]
    runtime: Any = None
    batch = PIPELINE
    if kind == "refimpl":
        from refimpl import Channel
        from refimpl.runtime import Runtime

        runtime = Runtime(_settings(config)).start()
        channel = Channel(TOPIC, runtime=runtime)

        def one(i: int) -> None:
            channel.send({"i": i, "t": time.monotonic_ns()})
    else:
        client = redis.Redis.from_url(config["url"])
        stream = config["stream"]
        pipe = client.pipeline(transaction=False)

        def one(i: int) -> None:
            if kind == "streams":
                client.xadd(stream, {"i": i, "t": time.monotonic_ns()})
            elif kind == "streams-pipelined":
                pipe.xadd(stream, {"i": i, "t": time.monotonic_ns()})
                if len(pipe) >= batch:
                    pipe.execute()
            else:
                client.publish(TOPIC, f"{i} {time.monotonic_ns()}")

    _say("ready")
    first = 0
    for line in sys.stdin:
        phase = line.strip()
        count = config["messages"] if phase == "burst" else config["paced"]
        interval = 0.0 if phase == "burst" else float(config["interval"])
        batch = 1 if interval else PIPELINE  # paced: each message on its own, no waiting
        start, start_ns = time.monotonic(), time.monotonic_ns()
        for k in range(count):
            if interval:
                time.sleep(max(0.0, start + k * interval - time.monotonic()))
            one(first + k)
        first += count
        if runtime is not None:
            runtime.join()  # every message is in the stream
        elif kind == "streams-pipelined" and len(pipe):
            pipe.execute()
        _say(json.dumps({"start_ns": start_ns, "end_ns": time.monotonic_ns()}))
    if runtime is not None:
        runtime.shutdown()


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    (send if argv[1] == "send" else receive)(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
