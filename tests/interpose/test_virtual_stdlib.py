"""The virtual standard library keeps the standard library's semantics, on virtual threads and time.

Also the pitfalls of ``/work/shared/design/interposition.md`` that concern the stdlib copies:
C internals that block (4), clock names captured at import (6), state carried between
executions (2) and harness leakage into ``logging`` (1).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

from sim.interpose import private, virtual_modules
from sim.primitives import EPOCH
from tests.interpose.helpers import run


def test_rlock_and_local_belong_to_the_virtual_thread() -> None:
    # pitfall 4: the C RLock and _thread._local belong to the OS thread all greenlets share
    assert run(lambda m: m.rlock_is_per_thread())[0] == [False]
    assert run(lambda m: m.local_is_per_thread())[0] == [None, "main"]


def test_every_timeout_waits_in_virtual_time() -> None:
    # pitfalls 4 and 6: a C SimpleQueue would block the OS thread for 2 real seconds; a
    # `from time import monotonic` bound before interposition would read the real clock
    out, sched = run(lambda m: m.timeouts())
    assert out["simple_queue"] == 2.0
    assert out["queue"] == 3.0
    assert out["event"] == (False, 3.5)
    assert out["wait_for"] == (False, 3.75)
    assert out["lock"] == (True, 3.75) and out["lock_held"] == (False, 4.0)
    wall, mono_ns, now, today = out["clocks"]
    assert wall == EPOCH.timestamp() + 4.125 and mono_ns == 4_125_000_000
    assert now == datetime(2030, 1, 1, 0, 0, 4, 125000) and now.tzinfo is None
    assert today == EPOCH.date()
    assert out["isinstance"] is True
    assert sched.time == 4.125


def test_threads_pools_and_queues_are_virtual() -> None:
    out, sched = run(lambda m: m.pool())
    assert sorted(i for i, _ in out) == list(range(6))
    assert {name for _, name in out} <= {f"ThreadPoolExecutor-0_{k}" for k in range(3)}
    assert [t.name for t in sched.threads][:4] == [
        "main",
        "ThreadPoolExecutor-0_0",
        "ThreadPoolExecutor-0_1",
        "ThreadPoolExecutor-0_2",
    ]
    out, _ = run(lambda m: m.barrier_semaphore_timer())
    assert sorted(out[:3]) == [("in", 0), ("in", 1), ("in", 2)]
    assert sorted(out[3:6]) == [("past", 0), ("past", 1), ("past", 2)]
    assert out[6] == ("timer", 5.0) and out[7] == [1, 2, 3, 2, 1, 3]


def test_points_name_the_implementations_line() -> None:
    _, sched = run(lambda m: m.pool())
    kinds = {kind for _, kind in sched.log}
    assert any(k.startswith("acquire tests.interpose.impls.prims:") for k in kinds)
    assert not any(" threading:" in k or " queue:" in k for k in kinds)


def test_same_seed_same_execution_and_no_state_carried_over() -> None:
    # pitfall 2: thread names, idents and registries restart with every execution
    first = run(lambda m: m.pool(), seed=3)
    second = run(lambda m: m.pool(), seed=3)
    assert first[0] == second[0]
    assert first[1].log == second[1].log and first[1].decisions == second[1].decisions
    active, _ = run(lambda m: sorted(m.threading._active))
    assert active == [1]  # only the main thread: nothing of the executions before
    main, _ = run(lambda m: m.threading.main_thread().ident == m.threading.get_ident())
    assert main


def test_private_copies_are_fresh_and_the_harness_keeps_the_real_modules() -> None:
    a, b = private(["tests.interpose.impls"]), private(["tests.interpose.impls"])
    ma, mb = a["tests.interpose.impls.prims"], b["tests.interpose.impls.prims"]
    assert ma is not mb and ma.LOCK is not mb.LOCK
    assert ma.threading is virtual_modules()["threading"] is not threading
    assert "tests.interpose.impls.prims" not in sys.modules
    assert type(logging._lock) is type(threading.RLock())  # type: ignore[attr-defined]
    assert isinstance(datetime.now(UTC), ma.datetime)


def test_building_adds_no_real_module_and_logging_stays_real() -> None:
    # pitfall 1: in a fresh process where nothing imported logging yet, concurrent.futures
    # would bind logging to the virtual threading (logging._lock a virtual lock)
    code = textwrap.dedent(
        """
        import sys
        assert "logging" not in sys.modules, "the test needs a process without logging"
        from sim.interpose import virtual_modules
        mods = virtual_modules()
        import logging, _thread
        assert type(logging._lock) is _thread.RLock, type(logging._lock)
        assert mods["concurrent.futures._base"].logging is logging
        assert sys.modules["threading"] is not mods["threading"]
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
