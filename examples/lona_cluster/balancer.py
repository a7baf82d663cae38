"""A round-robin TCP load balancer in a few lines of asyncio, standing in for Apache's.

The seed's deployment puts one proxy in front of several processes of one Lona app. Each
new connection goes to the next backend; bytes are copied both ways unchanged, so HTTP
and Lona's websocket (an upgraded HTTP connection) pass alike. No sticky sessions: a
Lona view lives on the process that holds its websocket, and the channels (through
Redis) are what joins the processes.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

__all__ = ["Balancer"]


class Balancer:
    """Round-robin over *backends* (``(host, port)``); ``routes``: client port -> backend index."""

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        if not backends:
            raise ValueError("a load balancer needs at least one backend")
        self.backends = backends
        self.routes: dict[int, int] = {}
        self._next = itertools.cycle(range(len(backends)))
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on *host*:*port* (0: a free port); returns the port."""
        self._server = await asyncio.start_server(self._serve, host, port)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = next(self._next)
        self.routes[writer.get_extra_info("peername")[1]] = index
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.backends[index])
        except OSError:
            writer.close()  # the backend is down: the client sees a closed connection
            return
        up_writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        for w in (writer, up_writer):
            w.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes from *reader* to *writer* until end of file, which is passed on (half-close)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # a reset on either side ends both directions
        writer.close()
