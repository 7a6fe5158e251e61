/**
 * The NATS JetStream peer (../shared/peers/nats): a fresh 3-node R3 cluster through its
 * cluster.sh, measured with its own bench.mjs run as a child process (the client logic is
 * theirs, unchanged; README.md there says to copy it next to the installed npm client).
 * bench.mjs prints one `RESULT {json}` line per measurement; this file only reads them.
 *
 * NATS runs in its default durability: a publish is acknowledged once a majority wrote it
 * to the page cache (fsync every 2 minutes).
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { copyFile, access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../../test-cluster/src/controller-cluster.ts'

const run = promisify(execFile)

export const DEFAULT_NATS_DIR = resolve(REPO_ROOT, '..', 'shared', 'peers', 'nats')
export const PEER_BASE = process.env.PEER_BASE ?? '/tmp/peer-nats'

export interface NatsPlan {
  readonly records100: number
  readonly records1k: number
  readonly latencyRecords: number
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

export interface NatsResults {
  readonly version: string
  readonly produce100: NatsTput
  readonly produce1k: NatsTput
  readonly consume100: NatsConsume
  readonly consume1k: NatsConsume
  /** Sequential publish-and-wait-ack, 100 B, client on the stream leader. */
  readonly sequential: NatsLatency
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

/** One bench.mjs run; returns its RESULT objects. */
function benchMjs(args: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(PEER_BASE, 'bench.mjs'), ...args], { cwd: PEER_BASE, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEER_BASE } })
    const results: Record<string, unknown>[] = []
    let stderr = ''
    let pending = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      pending += d
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>)
        else if (line.trim() !== '') log(`  [nats] ${line}`)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench.mjs ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
      else resolvePromise(results)
    })
  })
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key]
  if (typeof v !== 'number') throw new Error(`bench.mjs RESULT without a numeric ${key}: ${JSON.stringify(o)}`)
  return v
}

function coresOf(o: Record<string, unknown>): NatsCores {
  return { serverCores: typeof o.serverCores === 'number' ? o.serverCores : null, clientCores: typeof o.clientCores === 'number' ? o.clientCores : null }
}

function tputOf(results: readonly Record<string, unknown>[]): NatsTput {
  const r = results.find((x) => x.kind === 'tput')
  if (r === undefined) throw new Error('bench.mjs printed no tput RESULT')
  return { msgsPerSec: num(r, 'msgsPerSec'), MBps: num(r, 'MBps'), count: num(r, 'count'), window: num(r, 'window'), ...coresOf(r) }
}

/** The better of bench.mjs's consumer batch sizes (it tries max_messages 1000 and 10000). */
function consumeOf(results: readonly Record<string, unknown>[]): NatsConsume {
  const all = results.filter((x) => x.kind === 'consume').map((r) => ({ msgsPerSec: num(r, 'msgsPerSec'), MBps: num(r, 'MBps'), count: num(r, 'count'), batch: num(r, 'batch'), ...coresOf(r) }))
  if (all.length === 0) throw new Error('bench.mjs printed no consume RESULT')
  return all.reduce((a, b) => (b.msgsPerSec > a.msgsPerSec ? b : a))
}

function latencyOf(results: readonly Record<string, unknown>[]): NatsLatency {
  const r = results.find((x) => x.kind === 'lat' && x.via === 'leader')
  if (r === undefined) throw new Error('bench.mjs printed no lat RESULT (via leader)')
  return { p50: num(r, 'p50'), p99: num(r, 'p99'), p999: num(r, 'p999'), max: num(r, 'max'), mean: num(r, 'mean'), n: num(r, 'n') }
}

/** Starts a fresh NATS cluster, runs bench.mjs for 100 B and 1 KiB, stops and wipes it. */
export async function runNatsWorkloads(natsDir: string, plan: NatsPlan, log: (line: string) => void): Promise<NatsResults> {
  const status = await clusterSh(natsDir, 'status')
  if (status.includes(' up ')) throw new Error(`a NATS peer cluster is already running (${status.trim().replace(/\n/g, ', ')}); stop it first: ${join(natsDir, 'cluster.sh')} stop`)
  await copyFile(join(natsDir, 'bench.mjs'), join(PEER_BASE, 'bench.mjs'))
  log('nats: starting 3 nodes (default config: page cache)')
  await clusterSh(natsDir, 'stop') // drops stale pid files of dead servers, which would block wipe
  await clusterSh(natsDir, 'wipe')
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
  await clusterSh(natsDir, 'start')
  try {
    const { stdout: versionLine } = await run('nats-server', ['--version'])
    const common = ['--pubs', 'lean', '--windows', '1024', '--batches', '1000,10000', '--label', 'tributary-bench']
    log(`nats: 100 B (${plan.records100} publishes, then consume, then ${plan.latencyRecords} sequential)`)
    const small = await benchMjs(['--size', '100', '--count-lean', String(plan.records100), '--lat', String(plan.latencyRecords), '--modes', 'tput,consume,lat', ...common], log)
    log(`nats: 1 KiB (${plan.records1k} publishes, then consume)`)
    const large = await benchMjs(['--size', '1024', '--count-lean', String(plan.records1k), '--modes', 'tput,consume', ...common], log)
    return {
      version: versionLine.trim(),
      produce100: tputOf(small),
      produce1k: tputOf(large),
      consume100: consumeOf(small),
      consume1k: consumeOf(large),
      sequential: latencyOf(small),
      raw: [...small, ...large],
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await clusterSh(natsDir, 'stop').catch(() => '')
    await clusterSh(natsDir, 'wipe').catch(() => '')
  }
}
