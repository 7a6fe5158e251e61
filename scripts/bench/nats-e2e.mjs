// End-to-end latency at a fixed rate against the NATS JetStream peer cluster: the NATS side
// of Tributary's `trib end-to-end-latency` (packages/cli/src/perf/end-to-end-latency.ts).
//
// One process publishes `--count` messages of `--size` bytes at `--rate` messages/s into a
// fresh R3 file stream, throttled as Kafka's ThroughputThrottler (and our throttle.ts): the
// n-th message is due n/rate seconds after the start; a publisher ahead of schedule sleeps,
// one behind sends at once (a burst), so the average rate is the target. Every publish
// awaits its JetStream PubAck (ack latency). A consumer in the same process reads the
// stream; a message's end-to-end latency runs from just before its publish to the consumer
// getting it, both on this process's monotonic clock (the send time travels in the first
// 8 bytes of the payload, then an 8-byte run id).
//
// Publisher: the "lean" JetStream publish — a core publish with a per-message reply
// subject under one inbox, and ONE wildcard subscription receiving the PubAcks (what the Go
// client's PublishAsync does). js.publish() costs a request() per message (own timer and
// mux entry) and would bill the Node client's overhead to NATS; every PubAck is still
// parsed and an error PubAck counts as a failed publish.
// Consumer: an ephemeral, R1, memory-storage consumer with no acks (what an ordered consumer
// is), created before the first measured publish and positioned after the warm-up. `push`
// (default) has the server deliver each message to a core subscription as soon as the
// stream stored it; `pull` uses the JetStream client's consume() with pending pull requests.
// The publisher connects to the stream leader and the consumer to the consumer's leader,
// as a Kafka client talks to partition leaders.
//
// Usage: node nats-e2e.mjs [--rate 10000] [--count 50000] [--size 100] [--warmup 500]
//          [--sync none|streams] [--consumer push|pull] [--consumer-on leader|any]
//          [--timeout-ms N] [--label x]
// --sync streams: chattr +S on every node's stream store directory (<store>/jetstream/$G/
// streams, inherited by new stream directories), so every stream write is synchronous: the
// analogue of nats-server 2.10's `sync_interval: always` on this 2.9 server (its raft log
// under $SYS stays unsynced, as 2.10 leaves it).
// Prints progress lines and one `RESULT {json}` line; exits 1 when nothing was measured.
import { connect, createInbox } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const opt = new Map();
for (let i = 2; i < process.argv.length; i += 2) {
  if (!process.argv[i].startsWith("--")) throw new Error(`unexpected argument ${process.argv[i]}`);
  opt.set(process.argv[i].slice(2), process.argv[i + 1]);
}
const numberOpt = (name, fallback) => {
  const v = Number(opt.get(name) ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0`);
  return v;
};
const RATE = numberOpt("rate", 10_000);
const COUNT = numberOpt("count", 50_000);
const SIZE = numberOpt("size", 100);
const WARMUP = numberOpt("warmup", 500);
const SYNC = opt.get("sync") ?? "none";
const CONSUMER = opt.get("consumer") ?? "push";
const CONSUMER_ON = opt.get("consumer-on") ?? "leader";
// The slowest case, every write synced, acknowledges a few thousand messages per second.
const TIMEOUT_MS = numberOpt("timeout-ms", Math.max(30_000, COUNT));
const LABEL = opt.get("label") ?? "e2e";
const BASE = process.env.PEER_BASE ?? "/tmp/peer-nats";
const NODES = { n1: 14221, n2: 14222, n3: 14223 };
const STREAM = "E2E";
const SUBJECT = "e2e.x";
/** Payload layout: send time (float64 LE, performance.now() ms), run id (8 bytes), filler. */
const HEADER_BYTES = 16;
/** Sleep only when the next message is at least this far ahead (our THROTTLE_SLACK_MS). */
const THROTTLE_SLACK_MS = 1;

if (SIZE < HEADER_BYTES) throw new Error(`--size must be at least ${HEADER_BYTES}`);
if (SYNC !== "none" && SYNC !== "streams") throw new Error("--sync must be none or streams");
if (CONSUMER !== "push" && CONSUMER !== "pull") throw new Error("--consumer must be push or pull");
if (CONSUMER_ON !== "leader" && CONSUMER_ON !== "any") throw new Error("--consumer-on must be leader or any");

// ---- CPU: the three servers (utime + stime from /proc) and this process.
const TICKS_PER_SEC = 100;
function serversCpuSeconds() {
  let total = 0;
  for (const node of Object.keys(NODES)) {
    try {
      const pid = readFileSync(`${BASE}/pids/${node}.pid`, "utf8").trim();
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
    } catch {
      // A node that is not running uses no CPU.
    }
  }
  return total;
}
function clientCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Percentile by nearest rank over a sorted array. */
function percentile(sorted, p) {
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))];
}
function summary(samples, n) {
  if (n === 0) return { n: 0, p50: null, p99: null, p999: null, max: null, mean: null };
  const sorted = samples.slice(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return { n, p50: r3(percentile(sorted, 50)), p99: r3(percentile(sorted, 99)), p999: r3(percentile(sorted, 99.9)), max: r3(sorted[n - 1]), mean: r3(sum / n) };
}

const conns = {};
for (const [node, port] of Object.entries(NODES)) {
  conns[node] = await connect({ servers: [`127.0.0.1:${port}`], name: `tributary-e2e-${node}`, noRandomize: true });
}
const jsm = await jetstreamManager(conns.n1);

function streamsDirs() {
  return Object.keys(NODES).map((node) => `${BASE}/data/${node}/jetstream/$G/streams`);
}
if (SYNC === "streams") {
  // The streams directory exists once any stream does; a small R3 holder stream keeps it (and
  // its +S attribute) while E2E is deleted and created again.
  try {
    await jsm.streams.info("E2E_HOLD");
  } catch {
    await jsm.streams.add({ name: "E2E_HOLD", subjects: ["e2e.hold"], num_replicas: 3, storage: "file" });
  }
  for (let tries = 0; ; tries++) {
    try {
      for (const dir of streamsDirs()) execFileSync("chattr", ["+S", dir], { stdio: ["ignore", "ignore", "pipe"] });
      break;
    } catch (err) {
      if (tries >= 100) throw err;
      await sleep(100); // a follower has not created its directory yet
    }
  }
}

/** A fresh E2E stream; resolves with its leader once both followers are current. */
async function freshStream() {
  try {
    await jsm.streams.delete(STREAM);
  } catch {
    // It did not exist.
  }
  await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], num_replicas: 3, storage: "file", max_msgs: -1, max_bytes: -1, max_msg_size: -1 });
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const info = await jsm.streams.info(STREAM);
    const replicas = info.cluster?.replicas ?? [];
    if (info.cluster?.leader !== undefined && replicas.length === 2 && replicas.every((r) => r.current)) return info.cluster.leader;
    await sleep(50);
  }
  throw new Error(`stream ${STREAM} has no leader with current followers after 30 s`);
}

/** The +S attribute of each node's E2E message directory ("S" in the flags = synchronous). */
function syncFlags() {
  return Object.keys(NODES).map((node) => {
    try {
      const out = execFileSync("lsattr", ["-d", `${BASE}/data/${node}/jetstream/$G/streams/${STREAM}/msgs`], { stdio: ["ignore", "pipe", "ignore"] }).toString();
      return `${node}:${out.split(" ")[0].includes("S") ? "sync" : "nosync"}`;
    } catch {
      return `${node}:?`;
    }
  });
}

const leader = await freshStream();
const pubConn = conns[leader];
const filler = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) filler[i] = (i * 131 + 17) & 0xff;

// Warm-up: acknowledged publishes before anything is measured (connections, JIT, the
// stream's first block file), then the consumer starts after them.
const warmJs = jetstream(pubConn, { timeout: 30_000 });
for (let i = 0; i < WARMUP; i++) await warmJs.publish(SUBJECT, filler);
const warmedSeq = (await jsm.streams.info(STREAM)).state.last_seq;

const runId = randomBytes(8);
const e2e = new Float64Array(COUNT);
let received = 0;
let foreign = 0;
let allReceived = () => undefined;
const receivedAll = new Promise((resolve) => (allReceived = resolve));
function onMessage(data) {
  const now = performance.now();
  if (data.length < HEADER_BYTES || !runId.equals(data.subarray(8, 16))) {
    foreign++;
    return;
  }
  if (received < COUNT) e2e[received] = now - new DataView(data.buffer, data.byteOffset, HEADER_BYTES).getFloat64(0, true);
  if (++received === COUNT) allReceived();
}

const consumerConfig = {
  ack_policy: AckPolicy.None,
  deliver_policy: DeliverPolicy.StartSequence,
  opt_start_seq: warmedSeq + 1,
  mem_storage: true,
  num_replicas: 1,
  inactive_threshold: 60_000_000_000, // ns: cleaned up if this process dies
};
/**
 * Creates the consumer, again until it lands on the stream leader (with --consumer-on leader):
 * the server places an R1 consumer on any of the stream's peers, and one on a follower
 * sees a message only once that follower learns it was committed, a later round trip.
 * A Kafka consumer fetches from the partition leader.
 */
async function placedConsumer(config) {
  for (let attempt = 1; ; attempt++) {
    const info = await jsm.consumers.add(STREAM, config);
    if (CONSUMER_ON !== "leader" || info.cluster?.leader === leader || attempt === 20) return info;
    await jsm.consumers.delete(STREAM, info.name);
  }
}
let stopConsumer;
let consumerNode;
if (CONSUMER === "push") {
  const deliverSubject = createInbox();
  const info = await placedConsumer({ ...consumerConfig, deliver_subject: deliverSubject });
  consumerNode = info.cluster?.leader ?? leader;
  const sub = conns[consumerNode].subscribe(deliverSubject, { callback: (err, m) => (err ? console.error(`push consumer: ${err.message}`) : onMessage(m.data)) });
  // The interest must reach the consumer's server before the first publish.
  await conns[consumerNode].flush();
  stopConsumer = async () => sub.unsubscribe();
} else {
  const info = await placedConsumer(consumerConfig);
  consumerNode = info.cluster?.leader ?? leader;
  const consumer = jetstream(conns[consumerNode]).consumers.getConsumerFromInfo(info);
  const messages = await consumer.consume({ max_messages: 1000, callback: (m) => onMessage(m.data) });
  stopConsumer = async () => messages.stop();
}
await sleep(200); // lets the consumer's first pull (or the push interest) settle

// ---- The measured run.
const syncAttrs = syncFlags();
const inbox = createInbox();
const sentAt = new Float64Array(COUNT);
const ack = new Float64Array(COUNT);
let acked = 0;
let failed = 0;
let firstError = null;
let lastAckMs = 0;
let allAcked = () => undefined;
const ackedAll = new Promise((resolve) => (allAcked = resolve));
const ackSub = pubConn.subscribe(`${inbox}.*`, {
  callback: (err, m) => {
    const now = performance.now();
    if (err) {
      firstError ??= err.message;
      return;
    }
    const n = Number(m.subject.slice(inbox.length + 1));
    let reply;
    try {
      reply = JSON.parse(m.string());
    } catch {
      reply = { error: { description: `unparsable PubAck ${m.string().slice(0, 80)}` } };
    }
    if (reply.error !== undefined || typeof reply.seq !== "number") {
      failed++;
      firstError ??= JSON.stringify(reply.error ?? reply);
    } else {
      ack[acked++] = now - sentAt[n];
      lastAckMs = now;
    }
    if (acked + failed === COUNT) allAcked();
  },
});
await pubConn.flush();

const cpuServers0 = serversCpuSeconds();
const cpuClient0 = clientCpuSeconds();
const startMs = performance.now();
for (let sent = 0; sent < COUNT; sent++) {
  const dueMs = (sent / RATE) * 1000;
  const aheadMs = dueMs - (performance.now() - startMs);
  if (aheadMs >= THROTTLE_SLACK_MS) await sleep(aheadMs);
  const payload = new Uint8Array(SIZE);
  payload.set(filler.subarray(HEADER_BYTES), HEADER_BYTES);
  payload.set(runId, 8);
  const t0 = performance.now();
  new DataView(payload.buffer).setFloat64(0, t0, true);
  sentAt[sent] = t0;
  pubConn.publish(SUBJECT, payload, { reply: `${inbox}.${sent}` });
}
const sendEndMs = performance.now();
console.log(`sent ${COUNT} messages in ${((sendEndMs - startMs) / 1000).toFixed(2)} s; waiting for acks and deliveries`);

let timer;
const timedOut = await Promise.race([
  Promise.all([ackedAll, receivedAll]).then(() => false),
  new Promise((resolve) => (timer = setTimeout(() => resolve(true), TIMEOUT_MS))),
]);
clearTimeout(timer);
const endMs = performance.now();
const wallSec = (endMs - startMs) / 1000;
const serverCores = Math.round(((serversCpuSeconds() - cpuServers0) / wallSec) * 100) / 100;
const clientCores = Math.round(((clientCpuSeconds() - cpuClient0) / wallSec) * 100) / 100;
ackSub.unsubscribe();
await stopConsumer();
try {
  await jsm.streams.delete(STREAM);
} catch {
  // Gone with the cluster anyway.
}

const version = pubConn.info?.version ?? null;
for (const nc of Object.values(conns)) await nc.close();

const result = {
  kind: "e2e",
  label: LABEL,
  version,
  sync: SYNC,
  syncAttrs,
  publisher: "lean",
  consumer: CONSUMER,
  leader,
  consumerLeader: consumerNode,
  size: SIZE,
  rate: RATE,
  count: COUNT,
  warmup: WARMUP,
  sent: COUNT,
  acked,
  failed,
  received,
  foreign,
  timedOut,
  firstError,
  sendSecs: Math.round(sendEndMs - startMs) / 1000,
  sendRate: Math.round(COUNT / ((sendEndMs - startMs) / 1000)),
  // Acknowledged messages per second over the span from the first send to the last ack:
  // below `rate` when the cluster could not keep up.
  ackRate: acked === 0 ? 0 : Math.round(acked / ((lastAckMs - startMs) / 1000)),
  e2e: summary(e2e, Math.min(received, COUNT)),
  ack: summary(ack, acked),
  serverCores,
  clientCores,
};
const l = (s) => `p50=${s.p50} p99=${s.p99} p99.9=${s.p999} max=${s.max} ms (n=${s.n})`;
console.log(`e2e size=${SIZE} rate=${RATE} sync=${SYNC} consumer=${CONSUMER} (leader ${leader}, consumer on ${consumerNode}, ${syncAttrs.join(" ")}): sent ${result.sendRate}/s, acked ${result.ackRate}/s; end-to-end ${l(result.e2e)}; ack ${l(result.ack)}; received ${received}, failed ${failed}${timedOut ? ", TIMED OUT" : ""}`);
console.log("RESULT " + JSON.stringify(result));
if (acked === 0 || received === 0) process.exit(1);
