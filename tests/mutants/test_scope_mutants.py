"""Broken scopes, and proof that the scoped-subscription property catches each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import Phase, given, settings

from refimpl import Channel, Message, Scope
from tests.properties.test_prop_scopes import SCOPE_RUNS, check_scope


class CloseForgetsChannels(Scope):
    """Bug (H3): close() marks the scope closed but unsubscribes nothing."""

    def close(self) -> None:
        self.closed = True


class ErrorKeepsChannel(Scope):
    """Bug (H2): a raising handler is reported but its channel stays subscribed."""

    def subscribe(self, topic: str, handler: Callable[[Message], Any]) -> Channel:
        channel = Channel(topic, runtime=self._runtime)

        def scoped(message: Message) -> None:
            try:
                handler(message)
            except Exception as exc:
                self._on_error(exc, channel, message)  # the bug: no unsubscribe

        channel.subscribe(scoped)
        self._channels.append(channel)
        return channel


@pytest.mark.spec("H2", "H3")
@pytest.mark.parametrize("broken", [CloseForgetsChannels, ErrorKeepsChannel])
def test_the_scope_property_catches_a_broken_scope(broken: type[Scope]) -> None:
    @settings(phases=(Phase.generate,), database=None)  # finding it is enough: no shrinking
    @given(**SCOPE_RUNS)
    def prop(data: Any, raises: list[bool], sends: int, waits: int, workers: int) -> None:
        check_scope(broken, data, raises, sends, waits, workers)

    with pytest.raises(AssertionError):
        prop()
