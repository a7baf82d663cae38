"""pytest plugin of ``make lona-compat``: Lona's own tests, unmodified, on refimpl.

It makes the one call a Lona application makes (``refimpl.lona.install()``) before any
test module is imported, and points Playwright's Chromium at the system's browser
(``playwright install`` downloads are not used): ``CHANSPEC_CHROMIUM`` or
``/usr/bin/chromium``, headless, with the flags a sandboxless CI container needs.
"""

from __future__ import annotations

from typing import Any

import refimpl.lona
from examples.lona_chat.drive import CHROMIUM_FLAGS, chromium_path


def _use_system_chromium() -> None:
    from playwright.async_api import BrowserType

    original = BrowserType.launch
    if getattr(original, "_chanspec", False):
        return

    async def launch(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == "chromium" and kwargs.get("executable_path") is None:
            kwargs["executable_path"] = chromium_path()
            kwargs["args"] = [*CHROMIUM_FLAGS, *(kwargs.get("args") or [])]
        return await original(self, *args, **kwargs)

    launch._chanspec = True  # type: ignore[attr-defined]
    BrowserType.launch = launch  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    refimpl.lona.install()
    _use_system_chromium()
