"""Each pitfall of /work/shared/design/interposition.md section 2 that the stdlib tests do not
already cover, with a test that fails without its fix: garbage-collector finalizers (7), real
locks held across a switch (8), executor atexit and at-fork hooks (5), memory addresses
deciding set order (3). (1, 2, 4 and 6 are in test_virtual_stdlib.py.)
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from sim.interpose import stdlib
from tests.interpose.helpers import run


def test_no_collection_runs_finalizers_inside_an_execution() -> None:
    # pitfall 7: with a threshold of 1, any enabled collector would run Node.__del__ (a lock,
    # so a scheduling point) at allocation-dependent moments inside the execution
    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        enabled, sched = run(lambda m: m.cycles_with_finalizers(), "pitfalls")
    finally:
        gc.set_threshold(*thresholds)
    assert enabled is False  # the collector is off while the execution runs...
    assert gc.isenabled()  # ...and on again after it
    finalizer = f"acquire tests.interpose.impls.pitfalls:{_line('def __del__') + 1}"
    assert not any(kind == finalizer for _, kind in sched.log)
    gc.collect()  # the cycles are collected now, between executions: no scheduling point


def _line(text: str) -> int:
    from tests.interpose.impls import pitfalls

    source = Path(pitfalls.__file__).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if text in line)


class _RealLockHandler(logging.Handler):
    """A handler whose lock is a real, non-reentrant Lock: a switch while it is held would
    make the next virtual thread that logs block the process for ever (here: time out)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[str] = []
        self.stuck = 0

    def createLock(self) -> None:  # logging's name
        self.lock = threading.Lock()  # type: ignore[assignment]

    def acquire(self) -> None:
        if not self.lock.acquire(timeout=0.5):  # type: ignore[union-attr]
            self.stuck += 1
            raise RuntimeError("the handler's real lock is held by a suspended greenlet")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def test_real_code_runs_atomically_even_when_it_calls_back_into_virtual_code() -> None:
    # pitfall 8: formatting the record calls Loud.__repr__, which takes a virtual lock inside
    # Handler.handle, i.e. while the handler's real lock is held: no switch may happen there
    handler = _RealLockHandler()
    logger = logging.getLogger("chanspec.test.pitfall8")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for seed in range(5):
            run(lambda m: m.log_from_threads("chanspec.test.pitfall8"), "pitfalls", seed=seed)
    finally:
        logger.removeHandler(handler)
    assert handler.stuck == 0
    assert handler.records == ["<Loud>"] * 30


def test_executor_hooks_stay_in_the_virtual_world() -> None:
    # pitfall 5: the copies' os.register_at_fork calls are recorded, not registered (a fork
    # would run virtual code in the child), and their _register_atexit goes to the virtual
    # threading; interpreter-shutdown state is reset, so every execution can use executors
    built = stdlib.build()
    hooked = [h for hooks in stdlib.FORK_HOOKS for h in hooks.values()]
    assert built["threading"]._after_fork in hooked  # type: ignore[attr-defined]
    lock = built["concurrent.futures.thread"]._global_shutdown_lock  # type: ignore[attr-defined]
    assert lock._at_fork_reinit in hooked or any(
        getattr(h, "__self__", None) is not None for h in hooked
    )
    atexits = built["threading"]._threading_atexits  # type: ignore[attr-defined]
    assert [a.func.__name__ for a in atexits] == ["_python_exit"]
    real = threading._threading_atexits  # type: ignore[attr-defined]
    copies = [vars(module) for module in built.values()]
    assert not [a for a in real if getattr(a.func, "__globals__", None) in copies]
    for _ in range(2):  # as if the interpreter had shut down after the first execution
        assert run(lambda m: m.executor_used(), "pitfalls")[0] == [0, 1, 4]
        built["concurrent.futures.thread"]._shutdown = True  # type: ignore[attr-defined]
        built["threading"]._SHUTTING_DOWN = True  # type: ignore[attr-defined]


def test_fork_after_interposed_runs_runs_no_virtual_code() -> None:
    code = textwrap.dedent(
        """
        import os, sys, logging, random, threading, concurrent.futures.thread  # real ones first
        calls = []
        real = os.register_at_fork
        os.register_at_fork = lambda **hooks: calls.append(hooks) or real(**hooks)
        from tests.interpose.helpers import run
        assert run(lambda m: m.executor_used(), "pitfalls")[0] == [0, 1, 4]
        assert calls == [], calls  # nothing virtual was registered with the real os
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("ok", status)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert done.stdout.strip() == "ok 0", done.stderr
    assert "Exception ignored" not in done.stderr


def test_set_order_does_not_depend_on_memory_addresses() -> None:
    # pitfall 3: ThreadPoolExecutor._threads and sets of the implementation's own objects
    # iterate by hash; with identity hashes that is address order, which junk allocated
    # between two executions changes
    seen: set[Any] = set()
    junk: list[Any] = []
    for size in (1, 7, 50, 333, 1000):
        junk.append([object() for _ in range(size)])
        seen.add(repr(run(lambda m: m.set_orders(), "pitfalls")[0]))
    assert len(seen) == 1, seen
