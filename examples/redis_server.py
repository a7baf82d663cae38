"""A throwaway Redis server on a free loopback port (spec section 20, P1-P8).

One copy of the server-starting code for everything that needs a real server: the
multi-process tests (``tests/redis``), the several-processes example
(``examples.lona_cluster``) and ``make bench`` (``bench.redis_fanout``).
``make test`` installs Debian's ``redis-server``; ``CHANSPEC_REDIS_URL`` points all of them
at an existing server instead (then the restart scenarios, which need to stop the server,
fail with a message saying so: they never skip).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

__all__ = ["RedisServer", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` in *directory*; ``persist``: append-only file, fsync always."""

    def __init__(self, directory: Path, *, persist: bool) -> None:
        self.directory = directory
        self.persist = persist
        self.external = os.environ.get("CHANSPEC_REDIS_URL", "")
        self.port = 0 if self.external else free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.external or f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self.external:
            return self
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed: `make redis-server` installs it")
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self.persist
            else ["--appendonly", "no", "--save", ""]
        )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--protected-mode",
                "no",
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
        client.close()
        return self

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file first
            self.process.wait(10)
            self.process = None

    def restart(self) -> int:
        """Stop and start again on the same port; the wall clock (ms) when the old one was gone.

        Entries added after that instant have ids from it on (stream ids are the server's
        milliseconds), so only entries before it can have been lost with the stream.
        """
        assert not self.external, "restarts need their own server (unset CHANSPEC_REDIS_URL)"
        self.stop()
        stopped_at = int(time.time() * 1000)
        self.start()
        return stopped_at


def main() -> int:
    """``python examples/redis_server.py``: start a throwaway server, show it answers, stop it."""
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="redis-") as directory:
        try:
            with RedisServer(Path(directory), persist=False) as server:
                client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
                answer = client.ping()
                client.close()
                print(f"redis-server on {server.url}: PING -> {answer}; stopped again")
        except (RuntimeError, OSError, redis.RedisError) as error:
            print(f"redis_server: {error}".splitlines()[0], file=sys.stderr)
            return 2
    print("used by tests/redis, python -m examples.lona_cluster and make bench (redis)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
