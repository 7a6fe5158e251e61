/**
 * ControllerCluster: real `trib server` controller processes on loopback, for multi-process
 * tests (and, later, the chaos harness). It spawns `node packages/cli/dist/bin/trib.js
 * server ...` (so `tsc -b` must have run, as `npm test` does first), one temp log dir per
 * node, on free ports; it can SIGKILL, SIGSTOP/SIGCONT, stop cleanly and restart a node
 * with the same id, directory and port.
 *
 * It keeps every process's stdout and stderr so a failing test can print them (dump()).
 * Every wait has a deadline; nothing here sleeps a fixed time to "let things settle".
 *
 * The benchmarks (scripts/bench/) run on it too, so it also exposes what a measurement needs:
 * each node's pid and log dir, the monotonic and wall-clock time of its last spawn, clients
 * with a chosen deadline, and a spawn that does not wait for the node to serve.
 *
 * With `combined: true` every node runs `process.roles=broker,controller` and also gets a
 * PLAINTEXT broker listener on a port of its own (brokerAddress(id)); broker-cluster.ts
 * builds the broker-side helpers on that.
 *
 * Invariant: a node is either running (process and exited set) or not (both null).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { ControllerClient, isServiceError } from '@tributary/metadata-quorum'
import { ErrorCode, type quorum } from '@tributary/protocol'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const TRIB_BIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'bin', 'trib.js')

/** How long a process may take to exit after a signal before the harness gives up. */
export const PROCESS_EXIT_TIMEOUT_MS = 10_000
/** Default deadline of the wait helpers. */
export const WAIT_TIMEOUT_MS = 20_000
/** Poll interval of the wait helpers. */
export const POLL_INTERVAL_MS = 25
/** Output kept per process (the tail), for dump(). */
export const OUTPUT_BYTES_MAX = 64 * 1024
/** Default deadline of every call a cached client makes. */
export const CALL_TIMEOUT_MS = 2000

/** Node 24: the running one if it is recent enough, else the repository's pinned binary. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return process.execPath
  const pinned = join(REPO_ROOT, 'node_modules', '.bin', 'node')
  if (existsSync(pinned)) return pinned
  throw new Error(`Node ${process.versions.node} is too old and ${pinned} does not exist: run npm ci`)
}

/**
 * Lowest port the harness hands out. Ports come from below the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default): a port picked there
 * and released could be taken by any outgoing connection (a node's client channels) before
 * the node binds it, and the node would then refuse to start ("already in use").
 */
export const HARNESS_PORT_MIN = 20_000
/** Random picks tried before falling back to a kernel-chosen port. */
const PORT_PICKS_MAX = 200
/** Ports this process has handed out (never handed out twice). */
const handedOut = new Set<number>()

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer()
    server.once('error', () => resolveFree(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)))
  })
}

function ephemeralPortMin(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 0 ? low : 32768
  } catch {
    return 32768
  }
}

/** A free loopback port below the ephemeral range (see HARNESS_PORT_MIN), not handed out before. */
export async function freePort(): Promise<number> {
  const max = ephemeralPortMin() - 1
  if (max - HARNESS_PORT_MIN >= 1000) {
    for (let i = 0; i < PORT_PICKS_MAX; i++) {
      const port = HARNESS_PORT_MIN + Math.floor(Math.random() * (max - HARNESS_PORT_MIN + 1))
      if (handedOut.has(port) || !(await canListen(port))) continue
      handedOut.add(port)
      return port
    }
  }
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

/**
 * The first of `ports` something has bound on either loopback address (127.0.0.1, ::1), or null
 * when all are free: tests that need fixed ports (npm start's) skip rather than collide.
 */
export async function busyLoopbackPort(ports: readonly number[]): Promise<{ port: number; host: string } | null> {
  for (const port of ports) {
    for (const host of ['127.0.0.1', '::1']) {
      const busy = await new Promise<boolean>((resolve) => {
        const server = createServer()
        server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'))
        server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)))
      })
      if (busy) return { port, host }
    }
  }
  return null
}

/** Does process `pid` exist (signal 0 reaches it)? A zombie still counts. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Polls `probe` every `intervalMs` until it returns a value (not null); gives up after
 * `timeoutMs` (monotonic clock). Errors thrown by the probe count as "not yet".
 */
export async function waitFor<T>(probe: () => Promise<T | null> | T | null, what: string, timeoutMs = WAIT_TIMEOUT_MS, intervalMs = POLL_INTERVAL_MS): Promise<T> {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown = null
  for (;;) {
    try {
      const value = await probe()
      if (value !== null) return value
    } catch (err) {
      lastError = err
    }
    if (performance.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

interface NodeState {
  readonly id: number
  readonly port: number
  /** The PLAINTEXT (broker) listener's port in combined mode, else null. */
  readonly brokerPort: number | null
  readonly logDir: string
  process: ChildProcess | null
  exited: Promise<number | null> | null
  /** Set while the harness itself is stopping the process. */
  stopping: boolean
  output: string
  /** performance.now() and Date.now() of the last spawn. */
  spawnedAtMonoMs: number
  spawnedAtEpochMs: number
}

/**
 * Where each node lives on the network, for clusters whose nodes run in network namespaces
 * (src/netns/): the host node `id` binds and advertises, and the argv its command runs under.
 * Without it every node is on 127.0.0.1 and runs directly.
 */
export interface NodeNetwork {
  hostOf(id: number): string
  /** Prepended to the node's command, e.g. `ip netns exec <ns>`; it must exec (not fork), so the child's pid is the node's. */
  commandPrefix(id: number): readonly string[]
}

export interface ControllerClusterOptions {
  readonly size?: number
  /** Extra `key=value` overrides for every node. */
  readonly overrides?: readonly string[]
  /** Deadline of the cached clients' calls (client(id) without a timeout); CALL_TIMEOUT_MS by default. */
  readonly callTimeoutMs?: number
  /** Prefix of the temp base directory's name. */
  readonly dirPrefix?: string
  /** Combined mode: process.roles=broker,controller and a PLAINTEXT listener per node. */
  readonly combined?: boolean
  /** Per-node host and command prefix (network namespaces); default: 127.0.0.1, no prefix. */
  readonly network?: NodeNetwork
}

export interface LeaderInfo {
  readonly leaderId: number
  readonly epoch: number
  readonly quorum: quorum.DescribeQuorumResponse
}

/** A controller response: every ControllerService response has these two fields. */
interface ControllerAnswer {
  readonly errorCode: number
  readonly controllerId: number
}

export class ControllerCluster {
  readonly baseDir: string
  readonly overrides: readonly string[]
  readonly combined: boolean
  readonly network: NodeNetwork | null
  private readonly callTimeoutMs: number
  private readonly nodes = new Map<number, NodeState>()
  /** Keyed by `${id}:${timeoutMs}`: each deadline gets its own channel. */
  private readonly clients = new Map<string, ControllerClient>()
  /** The node that last answered a controller command as the active controller. */
  private lastController: number | null = null

  private constructor(baseDir: string, nodes: NodeState[], overrides: readonly string[], callTimeoutMs: number, combined: boolean, network: NodeNetwork | null) {
    this.baseDir = baseDir
    this.network = network
    this.overrides = overrides
    this.combined = combined
    this.callTimeoutMs = callTimeoutMs
    for (const n of nodes) this.nodes.set(n.id, n)
  }

  /** Allocates ports and directories and starts every node. */
  static async start(options: ControllerClusterOptions = {}): Promise<ControllerCluster> {
    const size = options.size ?? 3
    if (!existsSync(TRIB_BIN)) throw new Error(`${TRIB_BIN} is missing: run \`npx tsc -b\` (npm test does) first`)
    const baseDir = await mkdtemp(join(tmpdir(), options.dirPrefix ?? 'trib-cluster-'))
    const combined = options.combined ?? false
    const nodes: NodeState[] = []
    for (let id = 1; id <= size; id++) {
      nodes.push({
        id, port: await freePort(), brokerPort: combined ? await freePort() : null, logDir: join(baseDir, `node-${id}`),
        process: null, exited: null, stopping: false, output: '', spawnedAtMonoMs: 0, spawnedAtEpochMs: 0,
      })
    }
    const cluster = new ControllerCluster(baseDir, nodes, options.overrides ?? [], options.callTimeoutMs ?? CALL_TIMEOUT_MS, combined, options.network ?? null)
    for (const n of nodes) cluster.spawn(n.id)
    try {
      await Promise.all(nodes.map((n) => cluster.waitForServing(n.id)))
    } catch (err) {
      const dump = cluster.dump()
      await cluster.close()
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${dump}`)
    }
    return cluster
  }

  /**
   * Waits until node `id` answers DescribeQuorum at all (any answer, leader or not). A gRPC
   * channel that failed to connect fails calls fast during its reconnect backoff, so this
   * polls instead of trusting one attempt.
   */
  async waitForServing(id: number, timeoutMs?: number): Promise<void> {
    await waitFor(async () => {
      if (!this.isRunning(id)) throw new Error(`node ${id} is not running`)
      await this.client(id).describeQuorum()
      return true
    }, `node ${id} to serve`, timeoutMs)
  }

  get ids(): number[] {
    return [...this.nodes.keys()]
  }

  get voters(): string {
    return [...this.nodes.values()].map((n) => `${n.id}@${this.host(n.id)}:${n.port}`).join(',')
  }

  address(id: number): string {
    return `${this.host(id)}:${this.node(id).port}`
  }

  /** The host node `id` binds and advertises (127.0.0.1 unless the cluster has a NodeNetwork). */
  host(id: number): string {
    return this.network?.hostOf(id) ?? '127.0.0.1'
  }

  /** host:port of node `id`'s broker (PLAINTEXT) listener; combined mode only. */
  brokerAddress(id: number): string {
    const port = this.node(id).brokerPort
    if (port === null) throw new Error(`node ${id} has no broker listener (the cluster is not in combined mode)`)
    return `${this.host(id)}:${port}`
  }

  isRunning(id: number): boolean {
    return this.node(id).process !== null
  }

  runningIds(): number[] {
    return this.ids.filter((id) => this.isRunning(id))
  }

  /** The OS pid of a running node (for /proc/<pid>/status). */
  pid(id: number): number {
    const pid = this.node(id).process?.pid
    if (pid === undefined) throw new Error(`node ${id} is not running`)
    return pid
  }

  logDir(id: number): string {
    return this.node(id).logDir
  }

  /** performance.now() (monoMs) and Date.now() (epochMs) of the node's last spawn. */
  spawnedAt(id: number): { readonly monoMs: number; readonly epochMs: number } {
    const n = this.node(id)
    return { monoMs: n.spawnedAtMonoMs, epochMs: n.spawnedAtEpochMs }
  }

  /**
   * A cached client for node `id` (it reconnects by itself after a restart). A `timeoutMs`
   * other than the cluster's default gets a client (and channel) of its own, so a poll loop
   * with a short deadline does not share a channel with slow calls.
   */
  client(id: number, timeoutMs: number = this.callTimeoutMs): ControllerClient {
    const key = `${id}:${timeoutMs}`
    let c = this.clients.get(key)
    if (c === undefined) {
      c = new ControllerClient(this.address(id), { timeoutMs })
      this.clients.set(key, c)
    }
    return c
  }

  /**
   * A new client of its own (the caller closes it). A cached client that failed to connect
   * waits out gRPC's reconnect backoff (100-500 ms) before it tries again; a timed probe of a
   * restarting node uses a fresh one per attempt so that backoff is not measured.
   */
  freshClient(id: number, timeoutMs: number = this.callTimeoutMs): ControllerClient {
    return new ControllerClient(this.address(id), { timeoutMs })
  }

  /** Signals a node and waits for it to exit; returns its exit code (null if killed by a signal). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const n = this.node(id)
    if (n.process === null || n.exited === null) throw new Error(`node ${id} is not running`)
    const exited = n.exited
    n.stopping = true
    n.process.kill(signal)
    try {
      return await withTimeout(exited, PROCESS_EXIT_TIMEOUT_MS, `node ${id} to exit after ${signal}`)
    } finally {
      n.stopping = false
      n.process = null
      n.exited = null
    }
  }

  /** Clean shutdown (SIGTERM: a leader resigns first). */
  stop(id: number): Promise<number | null> {
    return this.kill(id, 'SIGTERM')
  }

  pause(id: number): void {
    this.node(id).process?.kill('SIGSTOP')
  }

  resume(id: number): void {
    this.node(id).process?.kill('SIGCONT')
  }

  /** Starts a stopped node again with the same id, port and log dir; waits until it serves. */
  async restart(id: number): Promise<void> {
    this.spawn(id)
    await this.waitForServing(id)
  }

  /**
   * Starts node `id` (again, with the same id, port and log dir) without waiting for it to
   * serve. Returns performance.now() of the spawn.
   */
  spawn(id: number): number {
    const n = this.node(id)
    if (n.process !== null) throw new Error(`node ${id} is still running`)
    this.spawnNode(n)
    return n.spawnedAtMonoMs
  }

  /**
   * Waits until a running node answers DescribeQuorum as leader (possibly through a
   * follower's forward) and that leader is one of the running nodes other than `exclude`.
   */
  async waitForLeader(options: { exclude?: readonly number[]; minEpoch?: number; timeoutMs?: number } = {}): Promise<LeaderInfo> {
    const exclude = options.exclude ?? []
    return waitFor(async () => {
      for (const id of this.ids) {
        if (!this.isRunning(id)) continue
        let q: quorum.DescribeQuorumResponse
        try {
          q = await this.client(id).describeQuorum()
        } catch {
          continue
        }
        if (q.errorCode !== 0 || exclude.includes(q.leaderId) || !this.isRunning(q.leaderId)) continue
        if (q.leaderEpoch < (options.minEpoch ?? 0)) continue
        return { leaderId: q.leaderId, epoch: q.leaderEpoch, quorum: q }
      }
      return null
    }, `a leader${exclude.length > 0 ? ` other than ${exclude.join(',')}` : ''}`, options.timeoutMs)
  }

  /** DescribeQuorum as answered by the leader (directly or through a follower's forward), or null. */
  async leaderQuorum(): Promise<quorum.DescribeQuorumResponse | null> {
    for (const id of this.runningIds()) {
      try {
        const q = await this.client(id).describeQuorum()
        if (q.errorCode === ErrorCode.NONE.code && this.isRunning(q.leaderId)) return q
      } catch {
        // Try the next node.
      }
    }
    return null
  }

  /**
   * Waits until one running node leads and every running voter (or every one of `ids`) has
   * fetched up to the leader's log end (the leader's own DescribeQuorum view).
   */
  async waitForCaughtUp(options: { timeoutMs?: number; ids?: readonly number[] } = {}): Promise<quorum.DescribeQuorumResponse> {
    return waitFor(async () => {
      const q = await this.leaderQuorum()
      if (q === null) return null
      const leader = q.voters.find((v) => v.replicaId === q.leaderId)
      if (leader === undefined) return null
      for (const id of options.ids ?? this.runningIds()) {
        const v = q.voters.find((r) => r.replicaId === id)
        if (v === undefined || v.logEndOffset !== leader.logEndOffset) return null
      }
      return q
    }, 'every running voter to reach the leader\'s log end', options.timeoutMs)
  }

  /**
   * Runs a controller command against the active controller: starts at the node that
   * answered as controller last time (else any running node), follows NOT_CONTROLLER hints,
   * and retries every poll interval (a new leader answers NOT_CONTROLLER until it has
   * committed its leader_change entry). Returns the first answer that is not NOT_CONTROLLER.
   * Remembering the controller keeps a stream of requests from paying a redirect each.
   */
  async onController<R extends ControllerAnswer>(call: (client: ControllerClient) => Promise<R>, what: string, timeoutMs?: number): Promise<R> {
    return waitFor(async () => {
      const tried = new Set<number>()
      let next = this.lastController
      for (;;) {
        const id = next !== null && this.isRunning(next) && !tried.has(next) ? next : this.runningIds().find((i) => !tried.has(i))
        if (id === undefined) return null
        tried.add(id)
        next = null
        let answer: R
        try {
          answer = await call(this.client(id))
        } catch (err) {
          if (!isServiceError(err)) throw err
          if (this.lastController === id) this.lastController = null
          continue
        }
        if (answer.errorCode !== ErrorCode.NOT_CONTROLLER.code) {
          this.lastController = id
          return answer
        }
        next = answer.controllerId >= 0 && this.nodes.has(answer.controllerId) ? answer.controllerId : null
      }
    }, what, timeoutMs)
  }

  /** Everything the processes printed, for a failing test's report. */
  dump(): string {
    return [...this.nodes.values()].map((n) => `--- node ${n.id} (port ${n.port}${n.brokerPort === null ? '' : `, broker port ${n.brokerPort}`}, ${n.logDir})\n${n.output}`).join('\n')
  }

  /** Kills whatever still runs, closes clients and removes the directories. */
  async close(options: { keepDirs?: boolean } = {}): Promise<void> {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
    await Promise.all(this.runningIds().map((id) => this.kill(id, 'SIGKILL').catch(() => null)))
    if (options.keepDirs !== true) await rm(this.baseDir, { recursive: true, force: true })
  }

  private node(id: number): NodeState {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  private spawnNode(n: NodeState): void {
    const args = [
      TRIB_BIN,
      'server',
      '--override', `node.id=${n.id}`,
      '--override', `process.roles=${n.brokerPort === null ? 'controller' : 'broker,controller'}`,
      '--override', `controller.quorum.voters=${this.voters}`,
      '--override', `listeners=${n.brokerPort === null ? '' : `PLAINTEXT://${this.host(n.id)}:${n.brokerPort},`}CONTROLLER://${this.host(n.id)}:${n.port}`,
      '--override', `log.dirs=${n.logDir}`,
      ...this.overrides.flatMap((o) => ['--override', o]),
    ]
    // Keep the parent's TRIB_* variables out: the node must see only what the test sets.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
    n.spawnedAtEpochMs = Date.now()
    n.spawnedAtMonoMs = performance.now()
    const [command, ...prefixArgs] = [...(this.network?.commandPrefix(n.id) ?? []), nodeBinary(), ...args]
    const child = spawn(command ?? nodeBinary(), prefixArgs, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (chunk: Buffer): void => {
      n.output = (n.output + chunk.toString('utf8')).slice(-OUTPUT_BYTES_MAX)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    n.process = child
    n.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)))
    void n.exited.then((code) => {
      if (n.process === child && !n.stopping) {
        // Exited on its own (a crash or a startup error): record it; tests look at dump().
        n.output += `\n[harness] node ${n.id} exited by itself with code ${code}\n`
        n.process = null
        n.exited = null
      }
    })
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolveValue, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolveValue(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
