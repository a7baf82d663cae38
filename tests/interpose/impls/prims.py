"""Plain threading code for the interposition tests: written as any program would be."""

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from time import monotonic  # captured at import (pitfall 6)

LOCK = threading.Lock()  # created at import time
EVENTS: list = []


def rlock_is_per_thread() -> list:
    """Thread A holds an RLock across a sleep; thread B must not get it meanwhile."""
    rlock = threading.RLock()
    seen = []

    def holder():
        with rlock:
            time.sleep(1.0)

    def prober():
        time.sleep(0.5)
        seen.append(rlock.acquire(blocking=False))

    threads = [threading.Thread(target=holder), threading.Thread(target=prober)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def local_is_per_thread() -> list:
    local = threading.local()
    local.value = "main"
    seen = []

    def child():
        seen.append(getattr(local, "value", None))
        local.value = "child"

    t = threading.Thread(target=child)
    t.start()
    t.join()
    seen.append(local.value)
    return seen


def timeouts() -> dict:
    """Every blocking call with a timeout waits in virtual time."""
    out = {}
    try:
        queue.SimpleQueue().get(timeout=2.0)
    except queue.Empty:
        out["simple_queue"] = monotonic()
    try:
        queue.Queue().get(timeout=1.0)
    except queue.Empty:
        out["queue"] = monotonic()
    out["event"] = threading.Event().wait(0.5), monotonic()
    cond = threading.Condition()
    with cond:
        out["wait_for"] = cond.wait_for(lambda: False, 0.25), monotonic()
    out["lock"] = LOCK.acquire(timeout=1.0), monotonic()
    out["lock_held"] = LOCK.acquire(timeout=0.25), monotonic()
    LOCK.release()
    time.sleep(0.125)
    out["clocks"] = (time.time(), time.monotonic_ns(), datetime.now(), date.today())
    out["isinstance"] = isinstance(datetime(2000, 1, 1), datetime)
    return out


def pool(n: int = 6) -> list:
    def work(i: int) -> tuple:
        import threading as inner  # an import inside a function is covered too

        time.sleep(0.1 * (i % 3))
        return i, inner.current_thread().name

    with ThreadPoolExecutor(max_workers=3) as ex:
        return [f.result() for f in [ex.submit(work, i) for i in range(n)]]


def barrier_semaphore_timer() -> list:
    out = []
    barrier = threading.Barrier(3)
    sem = threading.BoundedSemaphore(1)

    def party(i):
        with sem:
            out.append(("in", i))
            time.sleep(0.1)
        barrier.wait()
        out.append(("past", i))

    threads = [threading.Thread(target=party, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    timer = threading.Timer(5.0, lambda: out.append(("timer", monotonic())))
    timer.start()
    for t in threads:
        t.join()
    timer.join()
    q = queue.PriorityQueue()
    for x in (3, 1, 2):
        q.put(x)
    lq = queue.LifoQueue()
    for x in (3, 1, 2):
        lq.put(x)
    out.append([q.get() for _ in range(3)] + [lq.get() for _ in range(3)])
    return out
