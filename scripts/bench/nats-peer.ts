/**
 * The NATS JetStream peer (../shared/peers/nats): fresh 3-node R3 clusters through its
 * cluster.sh, measured with its own bench.mjs (throughput, consume, sequential latency; the
 * client logic is theirs, unchanged; README.md there says to copy it next to the installed
 * npm client) and with our nats-e2e.mjs (end-to-end latency at a fixed rate, the NATS side
 * of `trib end-to-end-latency`), both run as child processes in PEER_BASE. Each prints
 * `RESULT {json}` lines; this file only reads them.
 *
 * Two durability configurations, each on its own fresh cluster:
 *   - default: a publish is acknowledged once a majority wrote it to the page cache (fsync
 *     every 2 minutes); compared with Tributary's page-cache mode.
 *   - synced: `--sync streams`, chattr +S on every node's stream store, so every stream
 *     write is synchronous; the peer README's analogue of nats-server 2.10's
 *     `sync_interval: always` (this is 2.9). Compared with Tributary's fsync mode.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { copyFile, access } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../../test-cluster/src/controller-cluster.ts'
import { E2E_WARMUP_RECORDS, type Workload } from './tributary-workloads.ts'

const run = promisify(execFile)

export const DEFAULT_NATS_DIR = resolve(REPO_ROOT, '..', 'shared', 'peers', 'nats')
export const PEER_BASE = process.env.PEER_BASE ?? '/tmp/peer-nats'
/** Our fixed-rate end-to-end client; it imports the @nats-io packages, so it runs from PEER_BASE. */
const E2E_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'nats-e2e.mjs')
/**
 * Publishes of the synced 100 B throughput run in a full `npm run bench` (--quick skips it):
 * with every stream write synced NATS acknowledges about 2,700 msg/s (the peer README).
 */
export const NATS_SYNCED_RECORDS_100 = 20_000
/** The record size of the latency workloads, as Tributary's. */
const LATENCY_RECORD_BYTES = 100

export interface NatsPlan {
  readonly records100: number
  readonly records1k: number
  readonly latencyRecords: number
  /** The fixed-rate end-to-end run: Tributary's plan.e2eRate and plan.e2eRecords. */
  readonly e2eRate: number
  readonly e2eRecords: number
  /**
   * Publishes of the synced 100 B throughput run, or null to skip it: with every write synced
   * NATS acknowledges about 2,700 msg/s, and bench.mjs's throughput mode first publishes a
   * fixed 70,000-message warm-up (about 25 s synced).
   */
  readonly syncedRecords100: number | null
  /** Tributary's workload selection; the NATS workloads of the same names run. */
  readonly workloads: readonly Workload[]
}

/** bench.mjs's CPU figures: cores the three servers and the client used during the run. */
export interface NatsCores {
  readonly serverCores: number | null
  readonly clientCores: number | null
}

export interface NatsTput extends NatsCores {
  readonly msgsPerSec: number
  readonly MBps: number
  readonly count: number
  readonly window: number
}

export interface NatsConsume extends NatsCores {
  readonly msgsPerSec: number
  readonly MBps: number
  readonly count: number
  readonly batch: number
}

export interface NatsLatency {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
  readonly n: number
}

/** nats-e2e.mjs: fixed-rate publishes, each awaiting its PubAck, read back by a consumer. */
export interface NatsE2e extends NatsCores {
  /** From just before the publish to the consumer getting the message. */
  readonly e2e: NatsLatency
  /** From just before the publish to its PubAck. */
  readonly ack: NatsLatency
  /** The rate asked for, the rate the publishes went out at, and acks/s from the first send to the last ack. */
  readonly rate: number
  readonly sendRate: number
  readonly ackRate: number
  readonly count: number
  readonly acked: number
  readonly failed: number
  readonly received: number
  readonly timedOut: boolean
  /** push or pull, and the node it ran on ('leader' when on the stream leader). */
  readonly consumer: string
  readonly consumerOnLeader: boolean
}

/** The figures NatsResults holds, by name (for `skipped`). */
export type NatsFigure = 'produce100' | 'produce1k' | 'consume100' | 'consume1k' | 'sequential' | 'e2e' | 'syncedProduce100' | 'syncedSequential' | 'syncedE2e'

/**
 * A null figure was either not run (it is in `skipped`) or failed (its error is in `errors`).
 * The unprefixed figures are NATS's default config (page cache); `synced*` ran with every
 * stream write synchronous.
 */
export interface NatsResults {
  readonly version: string
  readonly produce100: NatsTput | null
  readonly produce1k: NatsTput | null
  readonly consume100: NatsConsume | null
  readonly consume1k: NatsConsume | null
  /** Sequential publish-and-wait-ack, 100 B, client on the stream leader. */
  readonly sequential: NatsLatency | null
  /** End-to-end at the fixed rate, 100 B. */
  readonly e2e: NatsE2e | null
  readonly syncedProduce100: NatsTput | null
  readonly syncedSequential: NatsLatency | null
  readonly syncedE2e: NatsE2e | null
  readonly errors: readonly string[]
  readonly skipped: readonly NatsFigure[]
  readonly raw: readonly Record<string, unknown>[]
}

/** null when ready, else the one line that says what to run. */
export async function natsSetupProblem(natsDir: string): Promise<string | null> {
  const how = `run: bash ${join(natsDir, 'setup.sh')} (installs nats-server with apt and the npm client into ${PEER_BASE})`
  for (const f of ['cluster.sh', 'bench.mjs']) {
    try {
      await access(join(natsDir, f))
    } catch {
      return `NATS peer files (${f}) not found in ${natsDir}; pass --nats-dir <the peers/nats directory of the shared files>`
    }
  }
  try {
    await run('nats-server', ['--version'])
  } catch {
    return `nats-server is not installed; ${how}`
  }
  try {
    await access(join(PEER_BASE, 'node_modules', '@nats-io', 'jetstream'))
  } catch {
    return `the NATS npm client is not in ${PEER_BASE}; ${how}`
  }
  return null
}

async function clusterSh(natsDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [join(natsDir, 'cluster.sh'), ...args], { env: { ...process.env, PEER_BASE } })
  return stdout
}

/** Every `RESULT {json}` line of a script's output, parsed; the other lines go to `other`. */
export function parseResultLines(lines: readonly string[], other: (line: string) => void = () => undefined): Record<string, unknown>[] {
  const results: Record<string, unknown>[] = []
  for (const line of lines) {
    if (line.startsWith('RESULT ')) {
      const v: unknown = JSON.parse(line.slice('RESULT '.length))
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`a RESULT line that is not a JSON object: ${line.slice(0, 120)}`)
      results.push(v as Record<string, unknown>)
    } else if (line.trim() !== '') other(line)
  }
  return results
}

/** One run of a script in PEER_BASE (bench.mjs or ours); returns its RESULT objects. */
function peerScript(script: string, args: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(PEER_BASE, script), ...args], { cwd: PEER_BASE, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEER_BASE } })
    const results: Record<string, unknown>[] = []
    let stderr = ''
    let pending = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      pending += d
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      try {
        results.push(...parseResultLines(lines, (line) => log(`  [nats] ${line}`)))
      } catch (err) {
        child.kill()
        reject(err)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
      else resolvePromise(results)
    })
  })
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key]
  if (typeof v !== 'number') throw new Error(`RESULT without a numeric ${key}: ${JSON.stringify(o)}`)
  return v
}

function coresOf(o: Record<string, unknown>): NatsCores {
  return { serverCores: typeof o.serverCores === 'number' ? o.serverCores : null, clientCores: typeof o.clientCores === 'number' ? o.clientCores : null }
}

export function tputOf(results: readonly Record<string, unknown>[]): NatsTput {
  const r = results.find((x) => x.kind === 'tput')
  if (r === undefined) throw new Error('bench.mjs printed no tput RESULT')
  return { msgsPerSec: num(r, 'msgsPerSec'), MBps: num(r, 'MBps'), count: num(r, 'count'), window: num(r, 'window'), ...coresOf(r) }
}

/** The better of bench.mjs's consumer batch sizes (it tries max_messages 1000 and 10000). */
export function consumeOf(results: readonly Record<string, unknown>[]): NatsConsume {
  const all = results.filter((x) => x.kind === 'consume').map((r) => ({ msgsPerSec: num(r, 'msgsPerSec'), MBps: num(r, 'MBps'), count: num(r, 'count'), batch: num(r, 'batch'), ...coresOf(r) }))
  if (all.length === 0) throw new Error('bench.mjs printed no consume RESULT')
  return all.reduce((a, b) => (b.msgsPerSec > a.msgsPerSec ? b : a))
}

function latencyFigures(r: Record<string, unknown>, n: string): NatsLatency {
  return { p50: num(r, 'p50'), p99: num(r, 'p99'), p999: num(r, 'p999'), max: num(r, 'max'), mean: num(r, 'mean'), n: num(r, n) }
}

export function latencyOf(results: readonly Record<string, unknown>[]): NatsLatency {
  const r = results.find((x) => x.kind === 'lat' && x.via === 'leader')
  if (r === undefined) throw new Error('bench.mjs printed no lat RESULT (via leader)')
  return latencyFigures(r, 'n')
}

/** nats-e2e.mjs's RESULT; with `synced`, it must show every node's stream store synchronous. */
export function e2eOf(results: readonly Record<string, unknown>[], synced: boolean): NatsE2e {
  const r = results.find((x) => x.kind === 'e2e')
  if (r === undefined) throw new Error('nats-e2e.mjs printed no e2e RESULT')
  const attrs = r.syncAttrs
  if (synced && !(Array.isArray(attrs) && attrs.length === 3 && attrs.every((a) => typeof a === 'string' && a.endsWith(':sync')))) throw new Error(`the stream store is not synchronous on every node: ${JSON.stringify(attrs)}`)
  const sub = (key: string): Record<string, unknown> => {
    const v = r[key]
    if (typeof v !== 'object' || v === null) throw new Error(`nats-e2e.mjs RESULT without ${key}: ${JSON.stringify(r)}`)
    return v as Record<string, unknown>
  }
  return {
    e2e: latencyFigures(sub('e2e'), 'n'),
    ack: latencyFigures(sub('ack'), 'n'),
    rate: num(r, 'rate'),
    sendRate: num(r, 'sendRate'),
    ackRate: num(r, 'ackRate'),
    count: num(r, 'count'),
    acked: num(r, 'acked'),
    failed: num(r, 'failed'),
    received: num(r, 'received'),
    timedOut: r.timedOut === true,
    consumer: String(r.consumer),
    consumerOnLeader: r.consumerLeader === r.leader,
    ...coresOf(r),
  }
}

/** bench.mjs --modes for the wanted figures ('' = no run). */
function modesOf(parts: readonly (readonly [string, boolean])[]): string {
  return parts.filter(([, wanted]) => wanted).map(([mode]) => mode).join(',')
}

/**
 * Starts a fresh NATS cluster in the default config and runs bench.mjs (100 B and 1 KiB) and
 * nats-e2e.mjs, then a second fresh cluster for the synced figures; stops and wipes each.
 * A failed part leaves its figures null with its error in `errors`; the other parts still run.
 */
export async function runNatsWorkloads(natsDir: string, plan: NatsPlan, log: (line: string) => void): Promise<NatsResults> {
  const status = await clusterSh(natsDir, 'status')
  if (status.includes(' up ')) throw new Error(`a NATS peer cluster is already running (${status.trim().replace(/\n/g, ', ')}); stop it first: ${join(natsDir, 'cluster.sh')} stop`)
  await copyFile(join(natsDir, 'bench.mjs'), join(PEER_BASE, 'bench.mjs'))
  await copyFile(E2E_SCRIPT, join(PEER_BASE, 'nats-e2e.mjs'))
  const { stdout: versionLine } = await run('nats-server', ['--version'])
  const wants = (w: Workload): boolean => plan.workloads.includes(w)
  const errors: string[] = []
  const skipped: NatsFigure[] = []
  const raw: Record<string, unknown>[] = []
  const failed = (what: string, err: unknown): null => {
    const message = `nats ${what}: ${err instanceof Error ? err.message : String(err)}`
    log(`  FAILED: ${message}`)
    errors.push(message)
    return null
  }
  /** One script run, or null when nothing is wanted from it (modes '') or it failed. */
  const script = async (what: string, file: string, args: readonly string[]): Promise<Record<string, unknown>[] | null> => {
    log(`nats: ${what}`)
    try {
      const results = await peerScript(file, args, log)
      raw.push(...results)
      return results
    } catch (err) {
      return failed(what, err)
    }
  }
  /** A figure from a run's results: null when not wanted (skipped), its run failed, or it is missing. */
  const figure = <T>(name: NatsFigure, wanted: boolean, results: readonly Record<string, unknown>[] | null, parse: (r: readonly Record<string, unknown>[]) => T): T | null => {
    if (!wanted) {
      skipped.push(name)
      return null
    }
    if (results === null) return null
    try {
      return parse(results)
    } catch (err) {
      return failed(name, err)
    }
  }
  const e2eArgs = (sync: string): string[] => ['--rate', String(plan.e2eRate), '--count', String(plan.e2eRecords), '--size', String(LATENCY_RECORD_BYTES), '--sync', sync, '--warmup', String(E2E_WARMUP_RECORDS), '--label', 'tributary-bench']
  /** A fresh cluster around `work`; a cluster that does not start counts as `work` failing. */
  const onCluster = async (config: string, work: () => Promise<void>): Promise<void> => {
    log(`nats: starting 3 nodes (${config})`)
    try {
      await clusterSh(natsDir, 'stop') // drops stale pid files of dead servers, which would block wipe
      await clusterSh(natsDir, 'wipe')
      await clusterSh(natsDir, 'start')
    } catch (err) {
      failed(`${config} cluster start`, err)
      return
    }
    try {
      await work()
    } finally {
      await clusterSh(natsDir, 'stop').catch(() => '')
      await clusterSh(natsDir, 'wipe').catch(() => '')
    }
  }
  // A Ctrl-C (or SIGTERM) stops the servers before the process ends: they are daemons and
  // would outlive the benchmark. Synchronous, so it finishes before any other handler exits.
  const onSignal = (): void => {
    try {
      execFileSync('bash', [join(natsDir, 'cluster.sh'), 'stop'], { env: { ...process.env, PEER_BASE }, stdio: 'ignore' })
    } catch {
      // Nothing more to do on the way out.
    }
    process.exit(130)
  }
  process.prependOnceListener('SIGINT', onSignal)
  process.prependOnceListener('SIGTERM', onSignal)

  let small: Record<string, unknown>[] | null = null
  let large: Record<string, unknown>[] | null = null
  let e2eRun: Record<string, unknown>[] | null = null
  let syncedRun: Record<string, unknown>[] | null = null
  let syncedE2eRun: Record<string, unknown>[] | null = null
  /** What a bench.mjs run does, for the progress line. */
  const describe = (modes: string, publishes: number): string =>
    modes.split(',').map((m) => (m === 'tput' ? `${publishes} pipelined publishes` : m === 'consume' ? 'consume them' : `${plan.latencyRecords} sequential publishes`)).join(', ')
  const common = ['--pubs', 'lean', '--windows', '1024', '--batches', '1000,10000', '--label', 'tributary-bench']
  const smallModes = modesOf([['tput', wants('produce-100')], ['consume', wants('consume-100')], ['lat', wants('sequential')]])
  const largeModes = modesOf([['tput', wants('produce-1k')], ['consume', wants('consume-1k')]])
  const syncedProduce = plan.syncedRecords100 !== null && wants('produce-100')
  const syncedModes = modesOf([['tput', syncedProduce], ['lat', wants('sequential')]])
  try {
    if (smallModes !== '' || largeModes !== '' || wants('e2e')) {
      await onCluster('default config: page cache', async () => {
        if (smallModes !== '') small = await script(`100 B: ${describe(smallModes, plan.records100)}`, 'bench.mjs', ['--size', '100', '--count-lean', String(plan.records100), '--lat', String(plan.latencyRecords), '--modes', smallModes, ...common])
        if (largeModes !== '') large = await script(`1 KiB: ${describe(largeModes, plan.records1k)}`, 'bench.mjs', ['--size', '1024', '--count-lean', String(plan.records1k), '--modes', largeModes, ...common])
        if (wants('e2e')) e2eRun = await script(`end-to-end at ${plan.e2eRate} msg/s (${plan.e2eRecords} messages)`, 'nats-e2e.mjs', e2eArgs('none'))
      })
    }
    if (syncedModes !== '' || wants('e2e')) {
      await onCluster('every stream write synced: bench.mjs --sync streams, chattr +S', async () => {
        if (syncedModes !== '') syncedRun = await script(`synced 100 B: ${describe(syncedModes, plan.syncedRecords100 ?? 0)}`, 'bench.mjs', ['--size', '100', '--sync', 'streams', '--count-lean', String(plan.syncedRecords100 ?? 1), '--lat', String(plan.latencyRecords), '--modes', syncedModes, '--pubs', 'lean', '--windows', '1024', '--label', 'tributary-bench-synced'])
        if (wants('e2e')) syncedE2eRun = await script(`synced end-to-end at ${plan.e2eRate} msg/s (${plan.e2eRecords} messages)`, 'nats-e2e.mjs', e2eArgs('streams'))
      })
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const results: NatsResults = {
    version: versionLine.trim(),
    produce100: figure('produce100', wants('produce-100'), small, tputOf),
    produce1k: figure('produce1k', wants('produce-1k'), large, tputOf),
    consume100: figure('consume100', wants('consume-100'), small, consumeOf),
    consume1k: figure('consume1k', wants('consume-1k'), large, consumeOf),
    sequential: figure('sequential', wants('sequential'), small, latencyOf),
    e2e: figure('e2e', wants('e2e'), e2eRun, (r) => e2eOf(r, false)),
    syncedProduce100: figure('syncedProduce100', syncedProduce, syncedRun, tputOf),
    syncedSequential: figure('syncedSequential', wants('sequential'), syncedRun, latencyOf),
    syncedE2e: figure('syncedE2e', wants('e2e'), syncedE2eRun, (r) => e2eOf(r, true)),
    errors,
    skipped,
    raw,
  }
  for (const [name, e] of [['e2e', results.e2e], ['synced e2e', results.syncedE2e]] as const) {
    if (e !== null && (e.timedOut || e.failed > 0)) errors.push(`nats ${name}: ${e.failed} publishes failed, ${e.received} of ${e.count} received${e.timedOut ? ' before the timeout' : ''}; its latencies cover only what arrived`)
  }
  return results
}
