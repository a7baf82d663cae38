"""The multi-user chat of Lona's channels tutorial, on whichever channels Lona uses.

On refimpl's channels::

    python -m refimpl.lona examples/lona_chat/app.py --port 8080

On Lona's own channels (the same file, unchanged)::

    python examples/lona_chat/app.py --port 8080

then open http://localhost:8080/Alice and http://localhost:8080/Bob. As in the tutorial,
each view subscribes to the topic ``chat`` with ``View.subscribe`` and shows every message.
Two additions, so that a test can see what a chat room loses: each line of the text
area goes out as its own message (paste a block to send a burst), and with
``CHAT_TRANSCRIPT=path`` a middleware keeps the room's transcript, one JSON line per
message it receives (``CHAT_TRANSCRIPT_DELAY`` seconds each: a slow archive, so that
messages queue up behind it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lona import App, Channel, View
from lona.html import H1, HTML, Button, Div, Pre, TextArea

app = App(__file__)


@app.middleware
class Transcript:
    """Appends every message of the room to ``CHAT_TRANSCRIPT``, in the order received."""

    async def on_startup(self, data: Any) -> Any:
        path = os.environ.get("CHAT_TRANSCRIPT")
        if path:
            self.delay = float(os.environ.get("CHAT_TRANSCRIPT_DELAY", "0"))
            self.file = open(path, "a", buffering=1)  # noqa: SIM115 (open while the server runs)
            self.channel = Channel("chat", self.record)
        return data

    def record(self, message: Any) -> None:
        time.sleep(self.delay)
        self.file.write(json.dumps(message.data) + "\n")


@app.route("/<name>")
class ChatView(View):
    def handle_request(self, request: Any) -> HTML:
        self.name = request.match_info["name"]
        self.messages = Pre(_id="messages")
        self.text_area = TextArea(_id="text", placeholder="Say something nice")
        self.status = Div(_id="status")
        self.html = HTML(
            H1(f"Chatting as {self.name}"),
            self.messages,
            self.text_area,
            Button("Send", _id="send", handle_click=self.send_message),
            self.status,
        )
        self.sent = 0
        self.channel = self.subscribe(topic="chat", handler=self.handle_message)
        return self.html

    def send_message(self, input_event: Any) -> None:
        for line in self.text_area.value.splitlines():
            if line.strip():
                self.channel.send({"name": self.name, "message": line.strip()})
                self.sent += 1
        self.text_area.value = ""
        self.status.set_text(f"sent {self.sent}")

    def handle_message(self, message: Any) -> None:
        self.messages.write_line(f"{message.data['name']}: {message.data['message']}")


if __name__ == "__main__":
    app.run()
