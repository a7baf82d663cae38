"""Drive the chat app with two browser sessions and report what each user saw.

``python -m examples.lona_chat.drive [--impl refimpl|lona] [--burst N] [--stop-burst N]``, or
``--compare --runs N`` for both implementations side by side (in ``.venv-lona``, which
``make lona-compat`` sets up: Playwright, Debian's Chromium).

One run: a Lona server on loopback (``refimpl``: the app through ``python -m refimpl.lona``;
``lona``: the same file on Lona's own channels, 4 task workers), Alice and Bob in two
browser contexts. Both send a burst of lines at once; each page must then show every
line. Then Alice sends a second burst, and as soon as her view has sent it the server
is told to stop (SIGINT) while the slow transcript subscriber still has messages in
flight. What the pages showed, the transcript and the exit status are returned as a
``ChatRun`` (the test asserts on it; the comparison prints it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.inputs import OneLineParser, positive_int

APP = Path(__file__).with_name("app.py")

#: flags for Chromium in a container without a sandbox or a GPU, and without the network
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    return os.environ.get("CHANSPEC_CHROMIUM", "/usr/bin/chromium")


@dataclass
class ChatRun:
    impl: str
    sent: dict[str, list[str]]  # user -> the lines they sent, in order
    seen: dict[str, list[str]]  # user -> the lines their page showed after the first burst
    burst: int = 0  # the first burst: lines each user sent at the same time
    transcript: list[str] = field(default_factory=list)  # what the archive recorded, in order
    archived_at_stop: int = 0  # transcript lines written when the server was told to stop
    exit_code: int | None = None
    log: str = ""

    def in_send_order(self, user: str, lines: list[str], first: bool = False) -> bool:
        """Whether *user*'s lines (of the first burst only?) are in *lines*, in send order."""
        sent = self.sent[user][: self.burst] if first else self.sent[user]
        own = [line for line in lines if line.startswith(f"{user}: ")]
        return own == [f"{user}: {text}" for text in sent]

    @property
    def all_sent(self) -> list[str]:
        return [f"{user}: {text}" for user, lines in self.sent.items() for text in lines]

    def summary(self) -> dict[str, Any]:
        first = {f"{u}: {t}" for u in self.sent for t in self.sent[u][: self.burst]}
        return {
            "impl": self.impl,
            "pages_identical_order": len({tuple(v) for v in self.seen.values()}) == 1,
            "pages_missing": {u: len(first - set(v)) for u, v in self.seen.items()},
            "pages_in_send_order": {
                u: all(self.in_send_order(s, v, first=True) for s in self.sent)
                for u, v in self.seen.items()
            },
            "messages_sent": len(self.all_sent),
            "archived_at_stop": self.archived_at_stop,
            "archived_in_the_end": len(self.transcript),
            "archive_lost": len(set(self.all_sent) - set(self.transcript)),
            "archive_in_send_order": all(self.in_send_order(u, self.transcript) for u in self.sent),
            "exit_code": self.exit_code,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the chat server exited early: {process.communicate()[0]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the chat server did not listen on port {port}")


def start_server(impl: str, port: int, transcript: Path, delay: float) -> subprocess.Popen[str]:
    runner = ["-m", "refimpl.lona"] if impl == "refimpl" else []
    command = [sys.executable, *runner, str(APP), "--host", "127.0.0.1", "--port", str(port)]
    command += ["-O", "MAX_CHANNEL_TASK_WORKER_THREADS=4"]
    env = {**os.environ, "CHAT_TRANSCRIPT": str(transcript), "CHAT_TRANSCRIPT_DELAY": str(delay)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _wait_for_port(port, process)
    return process


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [f"{r['name']}: {r['message']}" for r in records]


async def _send(page: Any, lines: list[str]) -> None:
    await page.fill("#text", "\n".join(lines))
    # Lona's client sends a text area's new value 300 ms after its last change (the
    # "302:300" of its data-lona-events); the click must come after that
    await page.wait_for_timeout(600)
    await page.click("#send")


async def _shown(page: Any) -> list[str]:
    text: str = await page.inner_text("#messages")
    return [line for line in text.splitlines() if line.strip()]


async def chat(impl: str = "refimpl", burst: int = 20, stop_burst: int = 100) -> ChatRun:
    """One run as the module docstring says; the server is stopped in every case."""
    from playwright.async_api import async_playwright

    users = ("Alice", "Bob")
    run = ChatRun(impl, sent={u: [] for u in users}, seen={}, burst=burst)
    stopped = False
    with tempfile.TemporaryDirectory() as tmp:
        transcript = Path(tmp) / "transcript.jsonl"
        port = _free_port()
        server = start_server(impl, port, transcript, delay=0.02)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=chromium_path(), args=list(CHROMIUM_FLAGS)
                )
                pages = {}
                for user in users:  # one browser context each: two sessions
                    context = await browser.new_context()
                    pages[user] = page = await context.new_page()
                    await page.goto(f"http://127.0.0.1:{port}/{user}")
                    await page.wait_for_selector(f"h1:has-text('Chatting as {user}')")
                # both send a burst at the same time
                for user in users:
                    run.sent[user] = [f"line {i}" for i in range(burst)]
                await asyncio.gather(*(_send(pages[u], run.sent[u]) for u in users))
                expected = burst * len(users)
                for _ in range(300):
                    shown = {u: await _shown(p) for u, p in pages.items()}
                    if all(len(lines) >= expected for lines in shown.values()):
                        break
                    await asyncio.sleep(0.1)
                run.seen = shown
                # a burst, then stop the server while the archive is still behind
                stop_lines = [f"stop {i}" for i in range(stop_burst)]
                run.sent["Alice"] += stop_lines
                await _send(pages["Alice"], stop_lines)
                await pages["Alice"].wait_for_selector(
                    f"#status:has-text('sent {burst + stop_burst}')"
                )
                run.archived_at_stop = len(_lines(transcript))
                server.send_signal(signal.SIGINT)  # once: a second one would kill the drain
                stopped = True
                await browser.close()
        finally:
            if not stopped:
                server.send_signal(signal.SIGINT)
            try:
                run.log = server.communicate(timeout=120)[0]
            except subprocess.TimeoutExpired:
                server.kill()
                run.log = server.communicate()[0]
            run.exit_code = server.returncode
        run.transcript = _lines(transcript)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m examples.lona_chat.drive", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--impl", choices=("refimpl", "lona"), default="refimpl")
    parser.add_argument("--burst", type=positive_int, default=20)
    parser.add_argument("--stop-burst", type=positive_int, default=100)
    parser.add_argument("--compare", action="store_true", help="both implementations, --runs each")
    parser.add_argument("--runs", type=positive_int, default=1)
    args = parser.parse_args(argv)
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        parser.error("needs Playwright: run it in .venv-lona (make lona-compat sets it up)")
    impls = ("refimpl", "lona") if args.compare else (args.impl,)
    for impl in impls:
        for _ in range(args.runs):
            run = asyncio.run(chat(impl, args.burst, args.stop_burst))
            print(json.dumps(run.summary(), separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
