"""One chat user without a browser: Lona's websocket protocol, spoken as Lona's client does.

What the browser does for ``examples/lona_chat/app.py``, and nothing more: open a websocket
on the view's URL, ask for the view (``METHOD.VIEW``), read the HTML tree it sends, then
type into the text area (a ``CHANGE`` input event, acknowledged before the click, as the
browser's 300 ms debounce would) and click *Send*. The page's ``#messages`` element is
kept as the browser keeps it, by applying the server's node patches to its text nodes,
so ``lines`` is what the user would see. Node ids come from the server, never assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

__all__ = ["ChatUser", "ProtocolError"]

PREFIX = "lona:"
# lona.protocol's numbers (Lona 1.16.2): the client's methods, the server's, the events
VIEW, INPUT_EVENT = 101, 102
INPUT_EVENT_ACK, DATA, VIEW_START = 103, 203, 204
CLICK, CHANGE = 301, 302
NODE, TEXT_NODE, WIDGET = 401, 402, 403
HTML_TREE, HTML_UPDATE = 502, 503
NODES = 605
RESET, CLEAR, INSERT, REMOVE = 702, 704, 705, 706


class ProtocolError(RuntimeError):
    """The server said something this client does not understand (or nothing in time)."""


def _ids(node: list[Any], found: dict[str, list[Any]]) -> None:
    """HTML id -> serialised node, for every element of a serialised tree."""
    if node[0] == NODE:
        for html_id in node[4]:
            found[html_id] = node
        for child in node[8]:
            _ids(child, found)
    elif node[0] == WIDGET:
        for child in node[3]:
            _ids(child, found)


class ChatUser:
    """One user's page of the chat app, over one websocket (``open()``, ``say()``, ``lines``)."""

    def __init__(self, name: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.name = name
        self.ws = ws
        self.window = 1
        self.runtime: str | None = None  # the view runtime's id, from VIEW_START
        self.node_ids: dict[str, str] = {}  # HTML id (messages, text, send) -> Lona node id
        self.shown: list[tuple[str, str]] = []  # #messages' text nodes: (node id, text)
        self._acks: dict[int, asyncio.Event] = {}
        self._event_id = 0
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, base_url: str, name: str) -> ChatUser:
        url = f"{base_url.rstrip('/')}/{name}"
        user = cls(name, await session.ws_connect(url))
        await user._send([user.window, None, VIEW, [url, None]])
        while not user.node_ids:  # VIEW_START, then the page's HTML tree
            user._handle(await user._receive(10))
        user._reader = asyncio.create_task(user._read())
        return user

    @property
    def local_port(self) -> int:
        """This websocket's local TCP port (what the load balancer sees as the client)."""
        sockname = self.ws.get_extra_info("sockname")
        if not sockname:
            raise ProtocolError("the websocket has no socket")
        return int(sockname[1])

    @property
    def lines(self) -> list[str]:
        """The lines of ``#messages``, as the page shows them."""
        return [text.rstrip("\n") for _, text in self.shown]

    async def say(self, lines: list[str]) -> None:
        """Type *lines* into the text area and click Send (the view sends one message a line)."""
        text, button = self.node_ids["text"], self.node_ids["send"]
        await self._input(CHANGE, "\n".join(lines), [text, "TEXTAREA", "text", ""])
        await self._input(CLICK, {}, [button, "BUTTON", "send", ""])

    async def wait_for(self, count: int, timeout: float) -> list[str]:
        """The page's lines once it shows at least *count* (or what it shows at *timeout*)."""

        async def grown() -> None:
            while len(self.shown) < count:
                self._changed.clear()
                await self._changed.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(grown(), timeout)
        return self.lines

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.ws.close()

    # protocol -------------------------------------------------------------------------------
    async def _send(self, message: list[Any]) -> None:
        await self.ws.send_str(PREFIX + json.dumps(message))

    async def _receive(self, timeout: float) -> list[Any]:
        message = await self.ws.receive(timeout)
        if message.type != aiohttp.WSMsgType.TEXT or not message.data.startswith(PREFIX):
            raise ProtocolError(f"{self.name}: unexpected websocket message {message!r}")
        decoded: list[Any] = json.loads(message.data[len(PREFIX) :])
        return decoded

    async def _input(self, kind: int, data: Any, node: list[Any]) -> None:
        """One input event; returns once the server acknowledged it (in order, as a browser)."""
        self._event_id += 1
        ack = self._acks[self._event_id] = asyncio.Event()
        await self._send(
            [self.window, self.runtime, INPUT_EVENT, [self._event_id, kind, data, node, node]]
        )
        try:
            await asyncio.wait_for(ack.wait(), 10)
        except TimeoutError:
            raise ProtocolError(f"{self.name}: input event {self._event_id} not acked") from None

    async def _read(self) -> None:
        while True:
            try:
                message = await self._receive(3600)
            except (ProtocolError, TimeoutError):
                return  # closed: what was shown stays in ``shown``
            self._handle(message)

    def _handle(self, message: list[Any]) -> None:
        _window, runtime, method, payload = message
        if method == VIEW_START:
            self.runtime = runtime
        elif method == INPUT_EVENT_ACK and payload in self._acks:
            self._acks.pop(payload).set()
        elif method == DATA:
            _title, (kind, data) = payload
            if kind == HTML_TREE:
                found: dict[str, list[Any]] = {}
                _ids(data, found)
                self.node_ids = {html_id: node[1] for html_id, node in found.items()}
                pre = found["messages"]
                self.shown = [(n[1], n[2]) for n in pre[8] if n[0] == TEXT_NODE]
            elif kind == HTML_UPDATE:
                for patch in data:
                    self._patch(patch)
            self._changed.set()

    def _patch(self, patch: list[Any]) -> None:
        """A node patch of ``#messages`` (Lona's NodeList operations); others are not shown."""
        node_id, patch_type, operation, *args = patch
        if node_id != self.node_ids.get("messages") or patch_type != NODES:
            return
        if operation == INSERT:
            index, node = args
            self.shown.insert(index, (node[1], node[2]))
        elif operation == REMOVE:
            self.shown = [(i, t) for i, t in self.shown if i != args[0]]
        elif operation == CLEAR:
            self.shown = []
        elif operation == RESET:
            self.shown = [(n[1], n[2]) for n in args[0] if n[0] == TEXT_NODE]
        else:
            raise ProtocolError(f"{self.name}: unknown node operation {operation}")
