// A small channels implementation in JavaScript, written to be judged by chanspec's oracle.
//
// The model is the spec's (specs/channels.md): a send is copied at the call and gets the next
// number of one global order; its receivers are the subscriptions matching its topic at that
// moment (W4); broker tasks route messages into per-subscription mailboxes, committing in send
// order (O2); task-worker tasks take one ready subscription at a time (O3) and run its handler
// on a fresh shallow copy (C2, C3); expired deliveries are dropped and reported (E2, E3);
// shutdown() drains everything, accepting sends only from handlers meanwhile (S1, S2, S4).
//
// "Threads" are async tasks. They interleave wherever a task awaits; the Loop makes every
// such point take a seeded random number of event-loop turns, so one seed is one interleaving
// and different seeds explore different ones. Time is virtual (Loop.time), moved only by the
// caller, so deadlines are exact. Internal notices (I1-I3) and networked brokers are not
// implemented.
//
// The option bug: "unordered-commit" plants the classic ordering defect: brokers commit as
// soon as they finish routing, not in send order, so with two brokers a subscriber can run a
// later message first (O2).

export class ShutdownError extends Error {
  constructor(message) {
    super(message);
    this.name = "ShutdownError";
  }
}

/** A seeded PRNG (mulberry32): the only source of randomness. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The scheduler of the async "threads": which task runs, and the virtual clock. */
export class Loop {
  constructor(seed) {
    this.random = prng(seed);
    this.current = "main"; // the task whose code is running now
    this.time = 0.0; // virtual seconds
  }

  /** A switch point: let other tasks run for 0-2 event-loop turns, then resume as *name*. */
  async pause(name) {
    const turns = Math.floor(this.random() * 3);
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    this.current = name;
  }

  /** Wait for *signal* as task *name*. */
  async wait(name, signal) {
    await signal.wait();
    await this.pause(name);
  }
}

/** A condition to wait on. No lost wake-ups: checking and waiting happen in one turn. */
class Signal {
  constructor() {
    this.waiters = [];
  }
  wait() {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notifyAll() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function globMatch(text, pattern) {
  const body = [...pattern]
    .map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.+^${}()|[\]\\*?]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "u").test(text);
}

/** The matching relation (T4): equal, or either matches the other as a `*`/`?` pattern. */
export function match(a, b) {
  return a === b || globMatch(a, b) || globMatch(b, a);
}

export class Channel {
  constructor(runtime, topic) {
    if (typeof topic !== "string" || topic === "") throw new TypeError("a topic is a non-empty string");
    this.runtime = runtime;
    this.topic = topic;
    this.subscription = null;
  }
  subscribe(handler) {
    this.runtime.subscribe(this, handler);
  }
  unsubscribe() {
    this.runtime.unsubscribe(this);
  }
  send(data, options = {}) {
    return this.runtime.send(this, data, options);
  }
}

export class Runtime {
  /**
   * @param {object} o
   * @param {Loop} o.loop the task scheduler and clock
   * @param {(kind: string, data: object, channel: Channel|null, reason: string) => void} o.observer
   *   told of every drop
   */
  constructor({ loop, observer = () => {}, brokers = 2, workers = 2, batch = 4, bug = "" }) {
    this.loop = loop;
    this.observer = observer;
    this.brokers = brokers;
    this.workers = workers;
    this.batch = batch;
    this.bug = bug;
    this.state = "new";
    this.nextSeq = 0;
    this.nextCommit = 0;
    this.routing = []; // accepted messages, in send order
    this.subscriptions = new Set();
    this.ready = []; // subscriptions with mail and no worker
    this.pending = 0; // messages not yet routed + deliveries not yet finished or dropped
    this.inHandler = false;
    this.work = new Signal(); // something to route or to deliver, or stopping
    this.committed = new Signal();
    this.idleSignal = new Signal();
    this.tasks = [];
    this.closing = null;
  }

  start() {
    if (this.state !== "new") return;
    this.state = "running";
    for (let i = 0; i < this.brokers; i++) this.tasks.push(this.broker(`broker-${i}`));
    for (let i = 0; i < this.workers; i++) this.tasks.push(this.worker(`worker-${i}`));
  }

  subscribe(channel, handler) {
    if (typeof handler !== "function") throw new TypeError("a handler is a function");
    if (channel.subscription) this.unsubscribe(channel);
    const sub = { topic: channel.topic, channel, handler, mailbox: [], live: true, held: false };
    channel.subscription = sub;
    this.subscriptions.add(sub);
  }

  unsubscribe(channel) {
    const sub = channel.subscription;
    if (!sub) return;
    channel.subscription = null;
    sub.live = false;
    this.subscriptions.delete(sub);
    for (const message of sub.mailbox.splice(0)) this.drop(message, sub, "unsubscribed");
  }

  send(channel, data, { expiry = null, droppable = false, local = false } = {}) {
    if (this.state === "stopped" || (this.state === "closing" && !this.inHandler)) {
      throw new ShutdownError("the runtime is shut down");
    }
    if (data === null || typeof data !== "object") throw new TypeError("data is an object");
    const seq = this.nextSeq++;
    const message = {
      seq,
      topic: channel.topic,
      data: { ...data }, // C1: the sender's later changes reach nobody
      deadline: expiry === null ? null : this.loop.time + expiry,
      droppable,
      local,
      // W4: the receivers are fixed now
      receivers: [...this.subscriptions].filter((s) => match(s.topic, channel.topic)),
    };
    this.pending += 1;
    this.routing.push(message);
    this.work.notifyAll();
    return seq;
  }

  drop(message, sub, reason) {
    this.pending -= 1;
    this.observer("drop", message.data, sub ? sub.channel : null, reason);
    this.checkIdle();
  }

  checkIdle() {
    if (this.pending === 0 && !this.inHandler) this.idleSignal.notifyAll();
  }

  /** Resolves when every accepted message is routed and every delivery finished or dropped. */
  async idle(name) {
    while (this.pending > 0) await this.loop.wait(name, this.idleSignal);
  }

  async broker(name) {
    await this.loop.pause(name);
    for (;;) {
      while (this.routing.length === 0) {
        if (this.state === "stopped") return;
        await this.loop.wait(name, this.work);
      }
      const message = this.routing.shift();
      await this.loop.pause(name); // routing takes time: other tasks run
      if (this.bug !== "unordered-commit") {
        while (this.nextCommit !== message.seq) await this.loop.wait(name, this.committed);
      }
      for (const sub of message.receivers) {
        if (!sub.live) {
          this.pending += 1;
          this.drop(message, sub, "unsubscribed");
          continue;
        }
        this.pending += 1;
        sub.mailbox.push(message);
        if (!sub.held && !this.ready.includes(sub)) this.ready.push(sub);
      }
      this.nextCommit = Math.max(this.nextCommit, message.seq + 1);
      this.pending -= 1; // routed
      this.committed.notifyAll();
      this.work.notifyAll();
      this.checkIdle();
    }
  }

  async worker(name) {
    await this.loop.pause(name);
    for (;;) {
      while (this.ready.length === 0) {
        if (this.state === "stopped") return;
        await this.loop.wait(name, this.work);
      }
      const sub = this.ready.shift();
      sub.held = true; // O3: one worker per subscription at a time
      for (let n = 0; n < this.batch && sub.mailbox.length > 0; n++) {
        const message = sub.mailbox.shift();
        if (message.deadline !== null && this.loop.time >= message.deadline) {
          this.drop(message, sub, "expired");
        } else {
          this.inHandler = true;
          try {
            sub.handler({ topic: message.topic, data: { ...message.data }, seq: message.seq });
          } catch {
            // H1: a raising handler does not stop its worker
          } finally {
            this.inHandler = false;
          }
          this.pending -= 1;
          this.checkIdle();
        }
        await this.loop.pause(name);
      }
      sub.held = false;
      if (sub.live && sub.mailbox.length > 0) {
        this.ready.push(sub);
        this.work.notifyAll();
      }
    }
  }

  /** Drain (handlers may still send), then stop every task. Idempotent; callers share it. */
  async shutdown(name) {
    if (!this.closing) {
      this.closing = (async () => {
        this.start();
        this.state = "closing";
        await this.idle(name);
        this.state = "stopped";
        this.work.notifyAll();
        this.committed.notifyAll();
        await Promise.all(this.tasks);
      })();
    }
    await this.closing;
    this.loop.current = name;
  }
}
