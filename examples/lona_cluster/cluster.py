"""The seed's deployment: one Lona app on several processes behind a load balancer.

``python -m examples.lona_cluster [--processes N] [--port PORT] [--redis-url URL]``

starts, on loopback: a Redis server (a throwaway one, unless ``--redis-url`` or
``CHANSPEC_REDIS_URL`` names one), N processes of the chat app ``examples/lona_chat/app.py``
on refimpl's channels (``python -m refimpl.lona``), each with the networked broker selected
by the seed's own setting, and a round-robin load balancer in front of them. Open
``http://127.0.0.1:PORT/Alice`` and ``/Bob`` in two browser tabs: they land on different
processes and still chat. Ctrl-C stops everything (each app process drains its channels).

The settings each process gets (one ``-O`` with all of them: Lona keeps only the last
``-O``; a settings file works the same)::

    CHANNEL_MESSAGE_BROKER_CLASS = 'refimpl.redis_broker.RedisMessageBroker'
    CHANNEL_REDIS_URL = 'redis://127.0.0.1:6379/0'
    CHANNEL_REDIS_STREAM = 'lona_chat'   # one stream per app: all its processes share it
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from examples.lona_cluster.balancer import Balancer
from examples.redis_server import RedisServer, free_port
from sim.inputs import OneLineParser

__all__ = ["APP", "BROKER", "Cluster", "main"]

APP = Path(__file__).resolve().parents[1] / "lona_chat" / "app.py"
ROOT = APP.parents[2]
BROKER = "refimpl.redis_broker.RedisMessageBroker"


class Cluster:
    """Redis, *processes* app processes and a balancer; ``async with`` starts and stops them.

    *broker* is the ``CHANNEL_MESSAGE_BROKER_CLASS`` of every process (refimpl's default
    in-memory broker shows the problem the networked one solves); *stream* defaults to a
    fresh name, so that runs sharing one server do not hear each other.
    """

    def __init__(
        self,
        processes: int = 2,
        *,
        port: int = 0,
        redis_url: str = "",
        broker: str = BROKER,
        stream: str = "",
        app: Path = APP,
    ) -> None:
        if processes < 1:
            raise ValueError(f"--processes must be at least 1, not {processes}")
        self.processes = processes
        self.port = port
        self.broker = broker
        self.stream = stream or f"lona_chat:{uuid.uuid4().hex[:12]}"
        self.app = app
        self._dir = tempfile.TemporaryDirectory(prefix="lona-cluster-")
        self.dir = Path(self._dir.name)
        self.redis: RedisServer | None = None
        self.redis_url = redis_url or os.environ.get("CHANSPEC_REDIS_URL", "")
        self.backends: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.balancer: Balancer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def backend_of(self, client_port: int) -> int:
        """The process (index) the balancer sent the connection from *client_port* to."""
        assert self.balancer is not None
        return self.balancer.routes[client_port]

    def log(self, index: int) -> str:
        return (self.dir / f"app{index}.log").read_text(encoding="utf-8", errors="replace")

    async def __aenter__(self) -> Cluster:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if not self.redis_url:
            self.redis = RedisServer(self.dir, persist=False).start()
            self.redis_url = self.redis.url
        settings = {
            "CHANNEL_MESSAGE_BROKER_CLASS": self.broker,
            "CHANNEL_REDIS_URL": self.redis_url,
            "CHANNEL_REDIS_STREAM": self.stream,
        }
        # one -O with every setting: Lona keeps only the last -O given
        overrides = ["-O", *(f"{name}={value!r}" for name, value in settings.items())]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for index in range(self.processes):
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "refimpl.lona",
                str(self.app),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *overrides,
            ]
            with (self.dir / f"app{index}.log").open("wb") as log:
                self.backends.append(
                    subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
                )
            self.ports.append(port)
        for index, port in enumerate(self.ports):
            await self._wait_for(index, port)
        self.balancer = Balancer([("127.0.0.1", p) for p in self.ports])
        self.port = await self.balancer.start("127.0.0.1", self.port)

    async def _wait_for(self, index: int, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.backends[index].poll() is not None:
                raise RuntimeError(f"app process {index} exited early:\n{self.log(index)[-2000:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"app process {index} did not listen on {port}") from None
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """Stop the balancer, then each app process gracefully (SIGINT: it drains), then Redis."""
        if self.balancer is not None:
            await self.balancer.stop()
        for process in self.backends:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.backends:
            try:
                await asyncio.to_thread(process.wait, 60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.redis is not None:
            self.redis.stop()
        self._dir.cleanup()


async def _serve(args: argparse.Namespace) -> None:
    async with Cluster(
        args.processes, port=args.port, redis_url=args.redis_url, stream=args.stream
    ) as cluster:
        backends = " ".join(f":{p}" for p in cluster.ports)
        print(
            f"the chat app on {args.processes} processes ({backends}), Redis at "
            f"{cluster.redis_url}, stream {cluster.stream!r}",
            flush=True,
        )
        print(f"open {cluster.url}/Alice and {cluster.url}/Bob; Ctrl-C stops", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print("stopping (each process drains its channels) ...", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m examples.lona_cluster", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--processes", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port (8080)")
    parser.add_argument("--redis-url", default="", help="an existing server (default: start one)")
    parser.add_argument("--stream", default="lona_chat", help="the app's stream (lona_chat)")
    args = parser.parse_args(argv)
    if args.processes < 1 or not 0 <= args.port < 65536:
        print("lona_cluster: --processes must be >= 1 and --port in 0..65535", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args))
    except (RuntimeError, OSError) as error:  # no redis-server, a port in use, an app crash
        print(f"lona_cluster: {error}".splitlines()[0], file=sys.stderr)
        return 2
    return 0
