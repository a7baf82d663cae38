"""Adapters: implementations of channels behind one protocol (``sim.adapters.base``).

``load_adapter(name)`` understands:

* ``refimpl`` — the reference implementation;
* ``mutant:<name>`` — a deliberately broken variant (``sim.mutants``);
* ``lona`` / ``lona-1worker`` — Lona 1.16.2's unmodified channel code (``pip install .[lona]``);
* ``package.module:factory`` — any other implementation: *factory()* returns an Adapter of
  protocol version 1 (it accepts a ``platform``) or version 2 (``protocol = 2``: it names the
  modules to run unmodified under the scheduler; ``sim.adapters.unmodified`` wraps it).
"""

from __future__ import annotations

from importlib import import_module

from sim.adapters.base import Adapter, Session
from sim.adapters.refimpl_adapter import RefimplAdapter
from sim.adapters.unmodified import Unmodified, is_v2

__all__ = ["Adapter", "RefimplAdapter", "Session", "Unmodified", "load_adapter"]


def load_adapter(name: str) -> Adapter:
    if name == "refimpl":
        return RefimplAdapter()
    if name.startswith("mutant:"):
        from sim.mutants import MUTANTS

        key = name.split(":", 1)[1]
        if key not in MUTANTS:
            raise ValueError(f"no mutant {key!r}; known: {', '.join(sorted(MUTANTS))}")
        return MUTANTS[key].adapter()
    if name in ("lona", "lona-1worker"):
        from sim.adapters.lona_adapter import LonaAdapter

        return Unmodified(LonaAdapter(one_worker=name == "lona-1worker"))
    if ":" in name:
        module_name, _, attr = name.partition(":")
        factory = getattr(import_module(module_name), attr)
        made = factory()
        if is_v2(made):
            return Unmodified(made)
        adapter: Adapter = made
        return adapter
    raise ValueError(
        f"unknown implementation {name!r} (refimpl, mutant:NAME, lona, module:factory)"
    )
