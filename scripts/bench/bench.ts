/**
 * `npm run bench [-- --quick] [-- --peer nats]`: issue 7's benchmark. For each durability
 * mode (log.flush.policy fsync, Tributary's default, then page-cache, Kafka's mode) it starts
 * a fresh 3-node local cluster (RF 3, acks=all, 6 partitions) and runs, with the `trib` perf
 * tools as client processes:
 *   - produce 100 B and 1 KiB records (producer-perf-test, unthrottled);
 *   - consume the same records (consumer-perf-test, one group member);
 *   - end-to-end latency at a fixed 10,000 records/s (end-to-end-latency);
 *   - sequential produce latency, one record in flight (what NATS's bench.mjs `lat` does).
 * With --peer nats it then runs the same workloads against a fresh 3-node NATS JetStream R3
 * cluster (../shared/peers/nats, its own bench.mjs) and prints the ratio table. The clusters
 * run one after another, never together: every process shares the machine's cores.
 *
 * Prints Markdown tables and writes bench-results/bench-<time>.json.
 */
import { access, readdir, readFile, stat } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { benchArgs, environment, writeResult } from './bench-report.ts'
import { latencyTargetLines, natsCoresLine, peerLatencyTable, peerTable, tributaryTable } from './bench-table.ts'
import { DEFAULT_NATS_DIR, NATS_SYNCED_RECORDS_100, natsSetupProblem, runNatsWorkloads, type NatsResults } from './nats-peer.ts'
import { runTributaryWorkloads, WORKLOADS, type FlushPolicy, type TributaryPlan, type TributaryResults, type Workload } from './tributary-workloads.ts'
import { REPO_ROOT, TRIB_BIN } from '../../test-cluster/src/controller-cluster.ts'

/** Full-run and --quick record counts. */
const COUNTS = {
  full: { records100: 1_000_000, records1k: 300_000, e2eSeconds: 20, latencyRecords: 5000 },
  quick: { records100: 100_000, records1k: 30_000, e2eSeconds: 5, latencyRecords: 1000 },
} as const

/**
 * Producer settings of the throughput runs: what a Kafka throughput benchmark would set
 * (acks=all as the issue asks, idempotence on, 256 KiB batches, a short linger, 5 requests
 * in flight per partition), with records handed to send() 100 at a time and as many such
 * calls unanswered as hold IN_FLIGHT_BYTES of records (100 B: 400 calls, 40,000 records;
 * 1 KiB: 39 calls). That is well inside Kafka's buffer.memory (32 MiB). Measured here, fsync
 * mode, old/new alternated: 100 B went 321-329k -> 478-491k records/s from 50 to 400 calls;
 * 1 KiB went 81-83 -> 68-70 MB/s from 50 to 400 calls (the buffer then holds 40 MB and
 * latency reaches 0.5 s), so the window is a byte budget, not a call count. The SDK also went
 * about 3x slower with its whole buffer.memory queued. `--sends-in-flight N` fixes the count.
 */
const THROUGHPUT_PROPS = ['acks=all', 'linger.ms=5', 'batch.size=262144', 'max.in.flight.requests.per.connection=5']
const RECORDS_PER_SEND = 100
const IN_FLIGHT_BYTES = 4_000_000
/** Sequential latency: acks=all, no linger (a record goes out as soon as a request slot is free). */
const LATENCY_PROPS = ['acks=all', 'linger.ms=0']
/**
 * End-to-end at a fixed rate: acks=all with a 1 ms linger. The tool sends about 10 records
 * per millisecond; with linger.ms=0 each turn's records leave at once, and this run sent
 * 1.7x the produce requests (757 vs 445 per second) for 1.7x the broker CPU and a 2-3x
 * worse p99 (page-cache, alternated: p99 40-49 ms vs 13-20 ms). `--e2e-prop` overrides.
 */
const E2E_PROPS = ['acks=all', 'linger.ms=1']

const { values } = benchArgs(
  'Issue 7 benchmark: 3-node cluster, RF 3, acks=all; produce/consume 100 B and 1 KiB, end-to-end latency at a fixed rate, sequential latency; fsync and page-cache modes. ' +
    `Record counts default to ${JSON.stringify(COUNTS.full)}, with --quick ${JSON.stringify(COUNTS.quick)}.`,
  {
    options: {
      quick: { type: 'boolean', default: false },
      peer: { type: 'string' },
      modes: { type: 'string', default: 'fsync,page-cache' },
      workloads: { type: 'string', default: WORKLOADS.join(',') },
      partitions: { type: 'string', default: '6' },
      'records-100': { type: 'string' },
      'records-1k': { type: 'string' },
      'e2e-rate': { type: 'string', default: '10000' },
      'e2e-seconds': { type: 'string' },
      'latency-records': { type: 'string' },
      producers: { type: 'string', default: '1' },
      'records-per-send': { type: 'string', default: String(RECORDS_PER_SEND) },
      'sends-in-flight': { type: 'string' },
      'producer-prop': { type: 'string', multiple: true, default: [] },
      'latency-prop': { type: 'string', multiple: true, default: [] },
      'e2e-prop': { type: 'string', multiple: true, default: [] },
      override: { type: 'string', multiple: true, default: [] },
      'nats-dir': { type: 'string', default: DEFAULT_NATS_DIR },
    },
  },
)

function count(name: string, raw: string | undefined, fallback: number): number {
  const n = raw === undefined ? fallback : Number(raw)
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer, not ${String(raw)}`)
    process.exit(2)
  }
  return n
}

/** key=value props: later ones replace earlier ones with the same key. */
function mergeProps(base: readonly string[], extra: readonly string[]): string[] {
  const m = new Map<string, string>()
  for (const p of [...base, ...extra]) m.set(p.slice(0, p.indexOf('=')), p)
  return [...m.values()]
}

const counts = values.quick === true ? COUNTS.quick : COUNTS.full
const modes = values.modes.split(',').map((s) => s.trim()).filter((s) => s !== '')
for (const m of modes) {
  if (m !== 'fsync' && m !== 'page-cache') {
    console.error(`bench: --modes: '${m}' is not fsync or page-cache`)
    process.exit(2)
  }
}
const workloads = values.workloads.split(',').map((s) => s.trim()).filter((s) => s !== '')
for (const w of workloads) {
  if (!(WORKLOADS as readonly string[]).includes(w)) {
    console.error(`bench: --workloads: '${w}' is not one of ${WORKLOADS.join(', ')}`)
    process.exit(2)
  }
}
const e2eRate = count('e2e-rate', values['e2e-rate'], 10_000)
const plan: TributaryPlan = {
  partitions: count('partitions', values.partitions, 6),
  records100: count('records-100', values['records-100'], counts.records100),
  records1k: count('records-1k', values['records-1k'], counts.records1k),
  e2eRate,
  e2eRecords: e2eRate * count('e2e-seconds', values['e2e-seconds'], counts.e2eSeconds),
  latencyRecords: count('latency-records', values['latency-records'], counts.latencyRecords),
  producers: count('producers', values.producers, 1),
  throughputProps: mergeProps(THROUGHPUT_PROPS, values['producer-prop']),
  recordsPerSend: count('records-per-send', values['records-per-send'], RECORDS_PER_SEND),
  sendsInFlight: values['sends-in-flight'] === undefined ? null : count('sends-in-flight', values['sends-in-flight'], 1),
  inFlightBytes: IN_FLIGHT_BYTES,
  latencyProps: mergeProps(LATENCY_PROPS, values['latency-prop']),
  e2eProps: mergeProps(E2E_PROPS, values['e2e-prop']),
  overrides: values.override,
  workloads: workloads as Workload[],
}
const peer = values.peer ?? null
if (peer !== null && peer !== 'nats') {
  console.error(`bench: --peer: '${peer}' is not a known peer (nats)`)
  process.exit(2)
}
try {
  await access(TRIB_BIN)
} catch {
  console.error(`bench: ${TRIB_BIN} is missing; build first: npm run build`)
  process.exit(1)
}
/** Packages whose sources changed after their last build: the run would measure old code. */
async function staleBuilds(): Promise<string[]> {
  const newest = async (dir: string, suffix: string): Promise<number> => {
    let max = 0
    for (const f of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
      if (f.endsWith(suffix) && !f.endsWith(`.test${suffix}`)) max = Math.max(max, (await stat(join(dir, f))).mtimeMs)
    }
    return max
  }
  const stale: string[] = []
  for (const pkg of ['protocol', 'metadata-quorum', 'broker', 'client', 'cli']) {
    const dir = join(REPO_ROOT, 'packages', pkg)
    if ((await newest(join(dir, 'src'), '.ts')) > (await newest(join(dir, 'dist'), '.js'))) stale.push(pkg)
  }
  return stale
}
/**
 * Processes of other benchmarks (trib servers, perf tools, nats-server) already running: they
 * share the cores, so the run's figures would be disturbed. Read from /proc (Linux only).
 */
async function foreignLoad(): Promise<string[]> {
  const found: string[] = []
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ')
    if (/trib\.js (server|producer-perf-test|consumer-perf-test|end-to-end-latency)\b/.test(cmd) || /(^|\/)nats-server /.test(cmd)) found.push(`pid ${pid} ${cmd.slice(Math.max(0, cmd.search(/trib\.js|nats-server/)), 60)}`)
  }
  return found
}
const foreign = await foreignLoad()
if (foreign.length > 0) console.error(`bench: WARNING: ${foreign.length} other server/tool process(es) are running and share the cores; figures will be disturbed (${foreign.slice(0, 3).join('; ')}${foreign.length > 3 ? '; ...' : ''})`)
const loadAtStart = loadavg()
const stale = await staleBuilds()
if (stale.length > 0) console.error(`bench: WARNING: sources newer than the build in ${stale.join(', ')}; this run measures the last build (npm run build first)`)
if (peer === 'nats') {
  const problem = await natsSetupProblem(values['nats-dir'])
  if (problem !== null) {
    console.error(`bench: --peer nats: ${problem}`)
    process.exit(1)
  }
}

const log = (line: string): void => console.log(line)
log('tributary benchmark (issue 7)')
for (const [k, v] of Object.entries(environment())) log(`  ${k.padEnd(22)} ${v}`)
log(`  ${'plan'.padEnd(22)} ${JSON.stringify(plan)}`)
log('  note: the cluster, the clients and the peer share this machine\'s cores; compare figures within one run')
log(`  ${'load average'.padEnd(22)} ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}${foreign.length > 0 ? ` (${foreign.length} other server/tool processes running!)` : ''}`)

const runs: TributaryResults[] = []
let nats: NatsResults | null = null
const failures: string[] = []
const failed = (what: string, err: unknown): void => {
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`
  console.error(`bench: ${message}`)
  failures.push(message)
}
// A failure ends only its own part: the other modes and the peer still run.
for (const mode of modes as FlushPolicy[]) {
  try {
    const r = await runTributaryWorkloads(mode, plan, log)
    runs.push(r)
    failures.push(...r.errors)
  } catch (err) {
    failed(`tributary (${mode})`, err)
  }
}
if (peer === 'nats') {
  try {
    nats = await runNatsWorkloads(values['nats-dir'], { records100: plan.records100, records1k: plan.records1k, latencyRecords: plan.latencyRecords, e2eRate: plan.e2eRate, e2eRecords: plan.e2eRecords, syncedRecords100: values.quick === true ? null : NATS_SYNCED_RECORDS_100, workloads: plan.workloads }, log)
    failures.push(...nats.errors)
  } catch (err) {
    failed('nats', err)
  }
}
if (failures.length > 0) process.exitCode = 1

if (runs.length > 0) {
  log('')
  log(`Tributary, 3 nodes, RF 3, acks=all, ${plan.partitions} partitions, ${plan.producers} producer process(es); throughput producer: ${plan.throughputProps.join(' ')}, ${plan.recordsPerSend} records per send(), ${plan.sendsInFlight ?? `${plan.inFlightBytes / 1e6} MB of records`} send() calls in flight; sequential latency producer: ${plan.latencyProps.join(' ')}; end-to-end at ${plan.e2eRate} records/s with ${plan.e2eProps.join(' ')}; consume figures leave out the group join (Kafka's fetch.* columns); MB = 10^6 bytes`)
  log('')
  for (const line of tributaryTable(runs)) log(line)
}
if (nats !== null) {
  log('')
  const throughput = peerTable(runs, nats)
  if (throughput.length > 0) {
    log(`Tributary vs NATS JetStream R3 (${nats.version}), throughput, NATS in its default config (acknowledged after a majority wrote to the page cache); bench.mjs lean publisher, window ${nats.produce100?.window ?? nats.produce1k?.window ?? '-'}; consume = the better of its batch sizes. Tributary fsync = replicas fsync before they count toward the high watermark; page-cache = Kafka's mode.`)
    log('')
    for (const line of throughput) log(line)
    log('')
  }
  log(`Tributary vs NATS JetStream R3 (${nats.version}), latency by durability: Tributary fsync vs NATS synced (bench.mjs --sync streams: chattr +S on every node's stream store, so every stream write is synchronous; the analogue of nats-server 2.10's sync_interval: always, its raft log unsynced), Tributary page-cache vs NATS default. 100 B records. End-to-end = ${plan.e2eRate} records/s for ${plan.e2eRecords} records, each publish awaiting its ack, read back by a consumer in the same process (NATS: scripts/bench/nats-e2e.mjs, lean publisher on the stream leader, push consumer); sequential = publish-and-wait-ack on the stream leader (bench.mjs lat).${values.quick === true ? ' NATS synced throughput skipped (--quick).' : ` NATS synced throughput: ${NATS_SYNCED_RECORDS_100} publishes, window 1024.`}`)
  log('')
  for (const line of peerLatencyTable(runs, nats, plan.e2eRate)) log(line)
  log('')
  log('Issue 7 latency target (end-to-end p99 at the fixed rate):')
  for (const line of latencyTargetLines(runs, nats)) log(line)
  log('')
  log(natsCoresLine(nats))
}
const file = await writeResult('bench', { environment: environment(), loadavg: { start: loadAtStart, end: loadavg() }, foreignProcessesAtStart: foreign, plan, peer, failures, tributary: runs, nats })
log('')
if (failures.length > 0) {
  log(`${failures.length} part(s) failed:`)
  for (const f of failures) log(`  ${f}`)
}
log(`result: ${file}`)
