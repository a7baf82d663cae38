"""refimpl.lona on a Lona server: its runtime, its threads, its stop (besides Lona's own tests)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import refimpl
from refimpl import Runtime, State


def _app_with(settings: dict[str, Any], views: Any = None) -> Any:
    def setup_app(app: Any) -> None:
        for name, value in settings.items():
            setattr(app.settings, name, value)
        if views is not None:
            views(app)

    return setup_app


@pytest.mark.spec("R1", "R2", "R3")
async def test_the_server_hosts_a_runtime_sized_by_its_settings(lona_app_context: Any) -> None:
    import lona
    import lona.channels
    import lona.view
    from lona.pytest import eventually

    settings = {"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 2, "MAX_CHANNEL_TASK_WORKER_THREADS": 3}
    context = await lona_app_context(_app_with(settings))
    runtime = context.server.channel_runtime
    assert isinstance(runtime, Runtime) and runtime.state is State.RUNNING
    assert lona.Channel is lona.channels.Channel is lona.view.Channel is refimpl.Channel
    assert lona.channels.Message is refimpl.Message
    assert [w.queue_name for w in runtime.workers] == ["messages"] * 2 + ["ready"] * 3
    threads: list[str] = []
    channel = lona.Channel("room", lambda m: threads.append(threading.current_thread().name))
    assert channel.runtime is runtime  # a bare Channel() in the app uses the server's runtime
    channel.send()
    for attempt in eventually():
        async with attempt:
            assert threads and threads[0].startswith("LonaChannelWorker")  # Lona's pool


@pytest.mark.spec("S1", "S2", "H3")
async def test_a_stopping_server_lets_view_cleanup_send_then_drains(lona_app_context: Any) -> None:
    from lona import Channel, View
    from playwright.async_api import async_playwright

    from examples.lona_chat.drive import CHROMIUM_FLAGS, chromium_path

    def views(app: Any) -> None:
        @app.route("/")
        class Room(View):
            def handle_request(self, request: Any) -> str:
                self.subscribe("room", lambda message: None)
                return "ROOM"

            def on_cleanup(self) -> None:
                Channel("room.left").send({"who": "view"})  # after the server began to stop

    context = await lona_app_context(_app_with({}, views))
    runtime = context.server.channel_runtime
    archive: list[Any] = []
    Channel("room.*", lambda message: archive.append(message.data))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_FLAGS)
        )
        page = await browser.new_page()
        await page.goto(context.make_url("/"))
        await page.wait_for_selector("#lona:has-text('ROOM')")
        assert "room" in Channel._channels
        await context.client.close()  # the server stops: views, cleanup, then the drain
        await browser.close()
    assert runtime.state is State.STOPPED
    assert archive == [{"who": "view"}]  # sent by on_cleanup, delivered by the drain
    # the view's channel was unsubscribed when it closed; the test's own is left
    assert [s.channel.topic for s in runtime._live_subscriptions()] == ["room.*"]
