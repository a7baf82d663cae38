"""Private module copies (``sim.interpose.loader``) load code written the ordinary way."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from sim.interpose.loader import PrivateModules


def test_a_dataclass_with_string_annotations_loads_without_the_real_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # @dataclass reads sys.modules[cls.__module__] for string annotations; the corpus found
    # that a private copy failed unless the real module happened to be imported already
    (tmp_path / "dcmod.py").write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            from dataclasses import dataclass, field

            @dataclass
            class Message:
                topic: str
                data: dict[str, int] = field(default_factory=dict)
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "dcmod" not in sys.modules
    mod = PrivateModules(["dcmod"])["dcmod"]
    assert mod.Message("t").data == {}
    assert "dcmod" not in sys.modules  # the copy stood in only while its body ran
