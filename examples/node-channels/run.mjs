// Plays generated workloads against channels.mjs and records each run as a chanspec history
// (specs/history-format.md, chanspec-history/1), to be judged with `python -m sim check FILE`.
//
//   node run.mjs --workload churn --seeds 0..9 --out-dir out [--bug unordered-commit]
//
// The recorder sits around the implementation, as chanspec's own driver does: send_call just
// before send(), send_ret just after, start as a handler's first action and end as its last;
// drops come from the runtime's observer. Payloads follow the copy protocol ({_id, v, n}),
// so each start says what the handler saw of its copy.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Channel, Loop, Runtime, prng } from "./channels.mjs";

const TOPICS = ["a.b", "a.c", "a.*", "*.b", "a.?", "b.c", "b.*"];

/** What each workload does, as probabilities and sizes. */
const WORKLOADS = {
  fanout: { roles: 4, threads: 2, ops: 6, churn: 0, advance: 0, expiry: 0, settle: 0.05, stop: 0, reply: 0 },
  churn: { roles: 4, threads: 3, ops: 6, churn: 0.35, advance: 0, expiry: 0, settle: 0.1, stop: 0, reply: 0 },
  expiry: { roles: 3, threads: 2, ops: 6, churn: 0.1, advance: 0.2, expiry: 0.4, settle: 0.1, stop: 0, reply: 0 },
  shutdown: { roles: 3, threads: 2, ops: 5, churn: 0.1, advance: 0.1, expiry: 0.2, settle: 0, stop: 0.15, reply: 0.5 },
};

export function generate(workload, seed) {
  const w = WORKLOADS[workload];
  const random = prng(seed * 7919 + 17);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const roles = Array.from({ length: w.roles }, () => ({
    topic: pick(TOPICS),
    subscribed: random() < 0.8,
    reply: random() < w.reply ? Math.floor(random() * w.roles) : null,
  }));
  const threads = Array.from({ length: 1 + Math.floor(random() * w.threads) }, () =>
    Array.from({ length: 1 + Math.floor(random() * w.ops) }, () => {
      const r = random();
      const role = Math.floor(random() * w.roles);
      if (r < w.stop) return { op: "shutdown" };
      if (r < w.stop + w.settle) return { op: "settle" };
      if (r < w.stop + w.settle + w.advance) return { op: "advance", seconds: pick([0.25, 0.5, 1]) };
      if (r < w.stop + w.settle + w.advance + w.churn) return { op: random() < 0.5 ? "sub" : "unsub", role };
      const expiry = random() < w.expiry ? pick([0.25, 0.5, 1]) : null;
      return { op: "send", role, expiry, droppable: random() < 0.3 };
    }),
  );
  return { roles, threads };
}

/** One run: the workload against a fresh runtime; returns the history as JSON Lines. */
export async function play(workload, seed, { bug = "", brokers = 2, workers = 2 } = {}) {
  const scenario = generate(workload, seed);
  const loop = new Loop(seed);
  const lines = [
    JSON.stringify({ format: "chanspec-history/1", impl: `node-channels${bug ? `+${bug}` : ""}`, clock: "s", tolerance: 0 }),
  ];
  const record = (ev, fields = {}) => lines.push(JSON.stringify({ ev, t: loop.time, thread: loop.current, ...fields }));
  const subOf = new Map(); // channel -> subscription id
  const nested = new Map(); // message id -> the nested object its sender passed
  const current = new Map(); // role -> channel
  let nextMsg = 0;
  let nextSub = 0;
  let shut = false;

  const runtime = new Runtime({
    loop,
    brokers,
    workers,
    bug,
    observer: (kind, data, channel, reason) => {
      if (kind !== "drop" || typeof data?._id !== "number") return;
      record("drop", { msg: data._id, sub: channel ? subOf.get(channel) ?? null : null, reason });
    },
  });
  const senders = scenario.roles.map((r) => new Channel(runtime, r.topic)); // used only to send

  function send(role, expiry, droppable, hop) {
    const msg = nextMsg++;
    const n = [msg];
    nested.set(msg, n);
    const data = { _id: msg, v: msg * 7, n, hop };
    const topic = scenario.roles[role].topic;
    const deadline = expiry === null ? null : loop.time + expiry;
    record("send_call", { msg, topic, expiry: deadline, droppable, local: false });
    let seq;
    try {
      seq = senders[role].send(data, { expiry, droppable });
    } catch (error) {
      record("send_err", { msg, error: error.name });
      return;
    }
    data.v = "changed by sender"; // C1: must reach nobody
    data.mark = -1;
    record("send_ret", { msg, seq });
  }

  function handlerFor(role, sub) {
    const spec = scenario.roles[role];
    return (message) => {
      const data = message.data;
      const msg = data._id;
      let copy = "ok";
      if (data.v !== msg * 7) copy = "sender-change-seen";
      else if ("mark" in data) copy = "other-holder-change-seen";
      else if (data.n !== nested.get(msg)) copy = "nested-not-shared";
      record("start", { msg, sub, copy });
      data.mark = sub;
      if (spec.reply !== null && data.hop === 0) send(spec.reply, null, false, 1);
      record("end", { msg, sub });
    };
  }

  function subscribe(role) {
    if (current.has(role)) return;
    const sub = nextSub++;
    const channel = new Channel(runtime, scenario.roles[role].topic);
    subOf.set(channel, sub);
    current.set(role, channel);
    record("sub_call", { sub, topic: channel.topic });
    channel.subscribe(handlerFor(role, sub));
    record("sub_ret", { sub });
  }

  function unsubscribe(role) {
    const channel = current.get(role);
    if (!channel) return;
    current.delete(role);
    const sub = subOf.get(channel);
    record("unsub_call", { sub });
    channel.unsubscribe();
    record("unsub_ret", { sub });
  }

  async function shutdown(name) {
    if (shut) return;
    shut = true;
    record("shutdown_call");
    await runtime.shutdown(name);
    record("shutdown_ret");
  }

  async function sender(name, ops) {
    await loop.pause(name);
    for (const op of ops) {
      if (op.op === "send") send(op.role, op.expiry, op.droppable, 0);
      else if (op.op === "sub") subscribe(op.role);
      else if (op.op === "unsub") unsubscribe(op.role);
      else if (op.op === "advance") {
        record("advance", { seconds: op.seconds });
        loop.time += op.seconds;
      } else if (op.op === "settle") {
        record("settle_call");
        await runtime.idle(name);
        record("settle_ret");
      } else if (op.op === "shutdown") await shutdown(name);
      await loop.pause(name);
    }
  }

  runtime.start();
  scenario.roles.forEach((role, index) => role.subscribed && subscribe(index));
  await Promise.all(scenario.threads.map((ops, i) => sender(`sender-${i}`, ops)));
  loop.current = "main";
  await shutdown("main");
  return `${lines.join("\n")}\n`;
}

function parseArgs(argv) {
  const args = { workload: "fanout", seeds: [0], outDir: "out", bug: "", brokers: 2, workers: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${key} needs a value`);
    if (key === "--workload") {
      if (!(value in WORKLOADS)) throw new Error(`unknown workload ${value} (${Object.keys(WORKLOADS).join(", ")})`);
      args.workload = value;
    } else if (key === "--seeds") {
      const [lo, hi = lo] = value.split("..").map(Number);
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`bad seed range ${value}`);
      args.seeds = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
    } else if (key === "--out-dir") args.outDir = value;
    else if (key === "--bug") args.bug = value;
    else if (key === "--brokers") args.brokers = Number(value);
    else if (key === "--workers") args.workers = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  return args;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(2);
  }
  mkdirSync(args.outDir, { recursive: true });
  for (const seed of args.seeds) {
    const text = await play(args.workload, seed, args);
    const path = join(args.outDir, `${args.workload}${args.bug ? `-${args.bug}` : ""}-seed${seed}.jsonl`);
    writeFileSync(path, text);
    process.stdout.write(`${path}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
