"""A small correct bus whose unsubscribe() frees its channel object before it leaves the registry.

``Channel.unsubscribe()`` marks the subscription dead and detaches it from the channel
object at once (so the object may be subscribed again), then finishes its teardown
(here: a short sleep) and only then removes the subscription from the registry. A
message sent in between is routed to the old subscription too, whose copy is dropped
``unsubscribed`` -- reported, like every drop here, with the channel object, which by
then holds a new subscription. Written the ordinary way (threading, queue, time).
"""

import fnmatch
import queue
import threading
import time


class Sub:
    def __init__(self, channel, handler):
        self.channel, self.handler, self.active = channel, handler, True


class Bus:
    def __init__(self, on_drop):
        self.on_drop = on_drop
        self.lock = threading.Lock()
        self.subs = []
        self.seq = 0
        self.pending = 0
        self.idle = threading.Condition(self.lock)
        self.inbox = queue.Queue()
        self.worker = threading.Thread(target=self._run)
        self.worker.start()

    def send(self, topic, data, expiry, local, droppable):
        with self.lock:
            seq, self.seq = self.seq, self.seq + 1
            to = [
                s
                for s in self.subs
                if fnmatch.fnmatchcase(topic, s.channel.topic)
                or fnmatch.fnmatchcase(s.channel.topic, topic)
            ]
            self.pending += len(to)
            for s in to:
                self.inbox.put((s, topic, dict(data)))
        return seq

    def _run(self):
        while True:
            item = self.inbox.get()
            if item is None:
                return
            sub, topic, data = item
            if sub.active:
                sub.handler(topic, data)
            else:
                self.on_drop(data, sub.channel, "unsubscribed")
            with self.lock:
                self.pending -= 1
                self.idle.notify_all()

    def shutdown(self):
        with self.lock:
            while self.pending:
                self.idle.wait()
        self.inbox.put(None)
        self.worker.join()


class Channel:
    def __init__(self, bus, topic):
        self.bus, self.topic, self.sub = bus, topic, None

    def subscribe(self, handler):
        with self.bus.lock:
            if self.sub is not None:
                raise RuntimeError("already subscribed")
            self.sub = Sub(self, handler)
            self.bus.subs.append(self.sub)

    def unsubscribe(self):
        with self.bus.lock:
            sub, self.sub = self.sub, None
            if sub is None:
                return
            sub.active = False
        time.sleep(0.1)  # teardown: the object is free, the registry not yet updated
        with self.bus.lock:
            self.bus.subs.remove(sub)


class Adapter:
    protocol = 2
    name = "lazy_unsubscribe"
    modules = ("tests.sim.impls.lazy_unsubscribe",)
    features = frozenset({"same-object"})

    def open(self, mods, settings, report):
        m = mods[self.modules[0]]
        bus = m.Bus(lambda data, channel, why: report("drop", data, channel, why))
        return (m, bus)

    def channel(self, system, topic):
        return system[0].Channel(system[1], topic)

    def subscribe(self, system, handle, handler):
        handle.subscribe(handler)

    def unsubscribe(self, system, handle):
        handle.unsubscribe()

    def send(self, system, handle, data, expiry, local, droppable):
        return system[1].send(handle.topic, data, expiry, local, droppable)

    def shutdown(self, system):
        system[1].shutdown()
