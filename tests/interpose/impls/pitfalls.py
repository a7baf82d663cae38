"""Programs that each trip one pitfall of running code on virtual threads (see test_pitfalls)."""

import gc
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

LOCK = threading.Lock()


class Node:
    """An object in a reference cycle whose finalizer takes a lock (a scheduling point)."""

    def __init__(self):
        self.me = self

    def __del__(self):
        with LOCK:
            pass


def cycles_with_finalizers(n: int = 200) -> int:
    """Make cyclic garbage while other threads run; a collection would run the finalizers."""

    def churn():
        for _ in range(n):
            Node()
            with LOCK:
                pass

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return gc.isenabled()


class Loud:
    """Its repr takes a virtual lock: formatting a log record runs interposed code."""

    def __repr__(self):
        with LOCK:
            return "<Loud>"


def log_from_threads(logger_name: str) -> None:
    log = logging.getLogger(logger_name)
    go = threading.Event()

    def worker():
        go.wait()
        for _ in range(3):
            log.warning("%r", Loud())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()


def executor_used() -> list:
    """Submit, then leave the executor to interpreter shutdown (no shutdown call)."""
    ex = ThreadPoolExecutor(max_workers=2)
    return [ex.submit(lambda i=i: i * i).result() for i in range(3)]


class Item:
    pass


def set_orders(n: int = 16) -> tuple:
    """Iteration order (as creation indices) of a set of our objects and of the pool's threads."""
    items = [Item() for _ in range(n)]
    index = {id(x): i for i, x in enumerate(items)}
    objects = [index[id(x)] for x in set(items)]
    with ThreadPoolExecutor(max_workers=6) as ex:
        list(ex.map(lambda _: threading.Event().wait(0.01), range(6)))
        names = [t.name for t in ex._threads]
    return objects, names
