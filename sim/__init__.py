"""chanspec's deterministic simulation harness.

Layers, from the bottom (loom's map): ``scheduler`` (virtual threads, one running at a
time, every choice recorded) and ``primitives`` (the seam's simulated twins) are the
runtime; ``strategies`` pick the next thread; ``scenario``/``generate`` say what a run
does; ``driver`` plays a scenario against an ``adapters`` implementation and records a
``history``; ``oracle`` judges the history clause by clause; ``trace`` stores a run and
replays it exactly; ``explore`` drives many runs; ``cli`` is ``python -m sim``.
"""

__all__: list[str] = []
