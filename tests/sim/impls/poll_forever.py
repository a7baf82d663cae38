"""A small bus whose worker polls its queue every second and whose shutdown() never returns
(it waits for an event nobody sets): a hang that the virtual clock keeps moving through.
unsubscribe() of a topic starting with ``stuck`` and send() on one never return either."""

import queue
import threading
import time


class Bus:
    def __init__(self):
        self.inbox = queue.Queue()
        self.stopped = threading.Event()
        self.seq = 0
        self.worker = threading.Thread(target=self._run, daemon=True)
        self.worker.start()
        self.heartbeat = threading.Thread(target=self._beat, daemon=True)
        self.heartbeat.start()

    def _beat(self):
        while not self.stopped.is_set():
            time.sleep(1.0)

    def _run(self):
        while not self.stopped.is_set():
            try:
                handler, topic, data = self.inbox.get(timeout=1.0)
            except queue.Empty:
                continue
            try:
                handler(topic, data)
            except BaseException:  # a raising handler must not end the worker (spec H1)
                continue

    def send(self, subs, topic, data):
        if topic.startswith("stuck"):
            self.stopped.wait()
        self.seq += 1
        for handler in subs:
            self.inbox.put((handler, topic, dict(data)))
        return self.seq - 1

    def shutdown(self):
        self.stopped.wait()  # the bug: the worker was never told to stop


class Adapter:
    protocol = 2
    name = "poll_forever"
    modules = ("tests.sim.impls.poll_forever",)
    features = frozenset()

    def open(self, mods, settings, report):
        return {"bus": mods[self.modules[0]].Bus(), "subs": {}}

    def channel(self, system, topic):
        return [topic]

    def subscribe(self, system, handle, handler):
        system["subs"][id(handle)] = (handle[0], handler)

    def unsubscribe(self, system, handle):
        if handle[0].startswith("stuck"):
            system["bus"].stopped.wait()
        system["subs"].pop(id(handle), None)

    def send(self, system, handle, data, expiry, local, droppable):
        to = [h for topic, h in system["subs"].values() if topic == handle[0]]
        return system["bus"].send(to, handle[0], data)

    def shutdown(self, system):
        system["bus"].shutdown()
