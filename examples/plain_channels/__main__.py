"""``python -m examples.plain_channels``: the bus at work, and the command that checks it.

Two subscribers (a wildcard and a literal topic) get the messages sent to them, each in
send order; a message to another room reaches only the wildcard. Then the bus shuts down
gracefully, and the last line is the conformance command for this implementation.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as ``python examples/plain_channels``: find the repository
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.plain_channels.bus import Bus, Message


def main() -> int:
    received: dict[str, list[str]] = {"chat.rooms.*": [], "chat.rooms.lona": []}
    lock = threading.Lock()

    def handler(topic: str) -> object:
        def handle(message: Message) -> None:
            with lock:
                received[topic].append(f"{message.topic}: {message.data['text']}")

        return handle

    bus = Bus(workers=2)
    for topic in received:
        bus.subscribe(topic, handler(topic))
    for text in ("hello", "how are you?", "bye"):
        bus.publish("chat.rooms.lona", {"text": text})
    bus.publish("chat.rooms.releases", {"text": "2.0 is out"})
    bus.join()
    bus.shutdown()
    for topic, lines in received.items():
        print(f"subscriber {topic!r} received {len(lines)} messages, in send order:")
        for line in lines:
            print(f"  {line}")
    print("check this bus against the spec:")
    print("  python -m sim conform --impl examples.plain_channels.adapter:factory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
