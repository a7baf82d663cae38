"""One process of a multi-process workload (spec P1-P8): its own runtime, senders, subscribers.

``python -m tests.redis.node CONFIG.json NAME``; the driver (``workload.py``) writes the
config and steers the phases through files in the run's directory (``go``, ``stop``).
Every call and every delivery is recorded, by this program and not by the broker, as one
JSON line of the ``chanspec-procs/1`` history (``sim/oracle/processes.py``), flushed at
once, so a killed process leaves what it did up to its death.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis

from refimpl import Channel
from refimpl.runtime import Runtime


class Recorder:
    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8")
        self.lock = threading.Lock()

    def __call__(self, **event: Any) -> None:
        with self.lock:
            self.file.write(json.dumps(event) + "\n")
            self.file.flush()


def wait_for(path: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"{path.name} never came")
        time.sleep(0.01)


def main(config_path: str, name: str) -> None:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    run = Path(config["dir"])
    record = Recorder(run / f"{name}.jsonl")
    subs: dict[int, str] = {}  # id(channel) -> sub id (only for this program's own channels)

    def observer(kind: str, message: Any, channel: Any, detail: str) -> None:
        mid = message.data.get("id") if message is not None else None
        if kind == "publish" and mid:
            record(ev="publish", msg=mid, id=detail)
        elif kind == "drop" and mid:
            record(ev="drop", msg=mid, sub=subs.get(id(channel)), reason=detail)
        elif kind == "error" and detail == "stream-reset":
            record(ev="reset")

    settings = {
        "CHANNEL_MESSAGE_BROKER_CLASS": config["broker"],
        "CHANNEL_REDIS_URL": config["url"],
        "CHANNEL_REDIS_STREAM": config["stream"],
        "CHANNEL_REDIS_RETRY_TIMEOUT": config["retry"],
        "MAX_CHANNEL_TASK_WORKER_THREADS": 2,
    }
    runtime = Runtime(settings, observer=observer).start()
    broker: Any = runtime.workers[0]
    record(ev="begin", proc=name)

    def pos(which: str) -> str:
        sid = getattr(broker, which)
        return f"{sid[0]}-{sid[1]}"

    def handler_for(sub: str) -> Any:
        def handle(message: Any) -> None:
            mid = message.data.get("id")
            if mid is None:  # an internal notice (I1, I2): local by rule
                return
            record(ev="start", msg=mid, sub=sub)
            record(ev="end", msg=mid, sub=sub)

        return handle

    channels = []
    for k, topic in enumerate(config["topics"]):
        sub = f"{name}/s{k}"
        channel = Channel(topic, runtime=runtime)
        subs[id(channel)] = sub
        record(ev="sub_call", sub=sub, topic=topic, pos=pos("injected"))
        channel.subscribe(handler_for(sub))
        record(ev="sub_ret", sub=sub, pos=pos("position"))
        channels.append((sub, channel))
    (run / f"{name}.ready").touch()
    wait_for(run / "go")
    sends = config["sends"]
    for i in range(sends):
        topic = config["send_topics"][i % len(config["send_topics"])]
        local = config["local_every"] > 0 and i % config["local_every"] == 0
        mid = f"{name}/m{i}"
        record(ev="send_call", msg=mid, topic=topic, local=local)
        Channel(topic, runtime=runtime).send({"id": mid, "from": name}, local=local)
        record(ev="send_ret", msg=mid)
        if i == sends // 2 and config["unsubscribe"]:
            sub, channel = channels[-1]
            record(ev="unsub_call", sub=sub, pos=pos("injected"))
            channel.unsubscribe()
            record(ev="unsub_ret", sub=sub, pos=pos("position"))
        time.sleep(config["pause"])
    record(ev="join_call")
    runtime.join()  # every message of this process is in the stream (or reported dropped)
    record(ev="join_ret")  # ... and its own subscribers have them (P6, R5)
    (run / f"{name}.sent").touch()
    wait_for(run / "stop", 60.0)
    # Catch up with the stream's end as it is now, so that every entry added before is
    # a MUST of this process's subscriptions (P2), then settle and shut down.
    client = redis.Redis.from_url(config["url"])
    last: Any = client.xrevrange(config["stream"], count=1)
    end = last[0][0].decode() if last else "0-0"
    target = tuple(int(x) for x in end.split("-"))
    deadline = time.monotonic() + 20
    while broker.injected < target and time.monotonic() < deadline:
        time.sleep(0.01)
    record(ev="join_call")
    runtime.join()
    record(ev="join_ret")
    # A last burst right before shutdown(): it returns only once these are in the stream
    # or reported dropped (P6).
    for i in range(5):
        mid = f"{name}/bye{i}"
        record(ev="send_call", msg=mid, topic="chat", local=False)
        Channel("chat", runtime=runtime).send({"id": mid, "from": name})
        record(ev="send_ret", msg=mid)
    record(ev="shutdown_call", pos=pos("injected"))
    runtime.shutdown()
    record(ev="shutdown_ret")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
