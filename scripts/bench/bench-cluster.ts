/**
 * BenchCluster: real `trib server` controller processes on loopback, for the benchmarks.
 *
 * It does what test-cluster's ControllerCluster does (and reuses its helpers: free ports,
 * the Node 24 binary, the trib bin path, waitFor), plus what a measurement needs and the
 * test harness does not expose:
 *   - each process's pid (RSS from /proc/<pid>/status) and log dir (sizes on disk);
 *   - the monotonic time (performance.now()) of each spawn and signal;
 *   - the tail of every node's stdout and stderr, for dump() when a run fails;
 *   - clients with a short deadline, so a poll loop is never stuck behind a dead peer.
 *
 * Invariant: a node is either running (process, pid and exited set) or not (all null).
 * Every wait has a deadline; nothing sleeps a fixed time to let things settle.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ControllerClient, isServiceError } from '@tributary/metadata-quorum'
import { ErrorCode, type quorum } from '@tributary/protocol'
import { REPO_ROOT, TRIB_BIN, freePort, nodeBinary, waitFor } from '../../test-cluster/src/controller-cluster.ts'

/** Deadline of every call a benchmark client makes: long enough for a 50-topic CreateTopics. */
export const BENCH_CALL_TIMEOUT_MS = 5000
/**
 * Deadline of the polling client's calls (DescribeQuorum during a failover). Short: a
 * follower may hold the call while it forwards to a hung leader.
 */
export const POLL_CALL_TIMEOUT_MS = 250
/** How long a process may take to exit after a signal. */
export const EXIT_TIMEOUT_MS = 10_000
/** Stdout lines kept per node (the tail). */
export const STDOUT_LINES_MAX = 2000

export interface StdoutLine {
  /** performance.now() when the line reached this process. */
  readonly atMs: number
  readonly line: string
}

interface BenchNode {
  readonly id: number
  readonly port: number
  readonly logDir: string
  process: ChildProcess | null
  exited: Promise<number | null> | null
  pid: number | null
  spawnedAtMs: number
  spawnedAtEpochMs: number
  lines: StdoutLine[]
  stderr: string
  partial: string
}

/** A controller answer: every ControllerService response has these two fields. */
interface ControllerAnswer {
  readonly errorCode: number
  readonly controllerId: number
}

export interface KillTiming {
  /** performance.now() just before the signal was sent. */
  readonly signalledAtMs: number
  readonly exitedAtMs: number
}

export class BenchCluster {
  readonly baseDir: string
  readonly overrides: readonly string[]
  private readonly nodes = new Map<number, BenchNode>()
  private readonly clients = new Map<string, ControllerClient>()
  /** The node that last answered a controller command as the active controller. */
  private lastController: number | null = null

  private constructor(baseDir: string, nodes: readonly BenchNode[], overrides: readonly string[]) {
    this.baseDir = baseDir
    this.overrides = overrides
    for (const n of nodes) this.nodes.set(n.id, n)
  }

  static async start(options: { size?: number; overrides?: readonly string[] } = {}): Promise<BenchCluster> {
    const size = options.size ?? 3
    if (!existsSync(TRIB_BIN)) throw new Error(`${TRIB_BIN} is missing: run \`npx tsc -b\` first`)
    const baseDir = await mkdtemp(join(tmpdir(), 'trib-bench-'))
    const nodes: BenchNode[] = []
    for (let id = 1; id <= size; id++) {
      nodes.push({
        id, port: await freePort(), logDir: join(baseDir, `node-${id}`),
        process: null, exited: null, pid: null, spawnedAtMs: 0, spawnedAtEpochMs: 0, lines: [], stderr: '', partial: '',
      })
    }
    const cluster = new BenchCluster(baseDir, nodes, options.overrides ?? [])
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

  get ids(): number[] {
    return [...this.nodes.keys()]
  }

  get voters(): string {
    return [...this.nodes.values()].map((n) => `${n.id}@127.0.0.1:${n.port}`).join(',')
  }

  runningIds(): number[] {
    return this.ids.filter((id) => this.isRunning(id))
  }

  isRunning(id: number): boolean {
    return this.node(id).process !== null
  }

  pid(id: number): number {
    const pid = this.node(id).pid
    if (pid === null) throw new Error(`node ${id} is not running`)
    return pid
  }

  logDir(id: number): string {
    return this.node(id).logDir
  }

  /** performance.now() and Date.now() of the node's last spawn. */
  spawnedAt(id: number): { readonly monoMs: number; readonly epochMs: number } {
    const n = this.node(id)
    return { monoMs: n.spawnedAtMs, epochMs: n.spawnedAtEpochMs }
  }

  /**
   * A cached client for node `id` (it reconnects by itself after a restart). `kind` keeps
   * polling traffic on its own channel with its own short deadline.
   */
  client(id: number, kind: 'admin' | 'poll' = 'admin'): ControllerClient {
    const key = `${kind}:${id}`
    let c = this.clients.get(key)
    if (c === undefined) {
      c = new ControllerClient(`127.0.0.1:${this.node(id).port}`, { timeoutMs: kind === 'poll' ? POLL_CALL_TIMEOUT_MS : BENCH_CALL_TIMEOUT_MS })
      this.clients.set(key, c)
    }
    return c
  }

  /**
   * A new client of its own (the caller closes it). A cached client that failed to connect
   * waits out gRPC's reconnect backoff (100-500 ms) before it tries again; a timed probe of a
   * restarting node uses a fresh one per attempt so that backoff is not measured.
   */
  freshClient(id: number, timeoutMs: number = POLL_CALL_TIMEOUT_MS): ControllerClient {
    return new ControllerClient(`127.0.0.1:${this.node(id).port}`, { timeoutMs })
  }

  /** Starts node `id` (again), with the same id, port and log dir. Returns performance.now() of the spawn. */
  spawn(id: number): number {
    const n = this.node(id)
    if (n.process !== null) throw new Error(`node ${id} is still running`)
    const args = [
      TRIB_BIN,
      'server',
      '--override', `node.id=${n.id}`,
      '--override', 'process.roles=controller',
      '--override', `controller.quorum.voters=${this.voters}`,
      '--override', `listeners=CONTROLLER://127.0.0.1:${n.port}`,
      '--override', `log.dirs=${n.logDir}`,
      ...this.overrides.flatMap((o) => ['--override', o]),
    ]
    // The node must see only what the benchmark sets, not the caller's TRIB_* variables.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
    n.partial = ''
    n.spawnedAtEpochMs = Date.now()
    n.spawnedAtMs = performance.now()
    const child = spawn(nodeBinary(), args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => {
      const atMs = performance.now()
      const parts = (n.partial + chunk).split('\n')
      n.partial = parts.pop() ?? ''
      for (const line of parts) n.lines.push({ atMs, line })
      if (n.lines.length > STDOUT_LINES_MAX) n.lines.splice(0, n.lines.length - STDOUT_LINES_MAX)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      n.stderr = (n.stderr + chunk).slice(-16 * 1024)
    })
    n.process = child
    n.pid = child.pid ?? null
    n.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)))
    void n.exited.then((code) => {
      if (n.process === child) {
        // Not through kill(): the node died on its own. Keep a trace for dump().
        n.stderr += `\n[bench] node ${n.id} exited by itself with code ${code}\n`
        n.process = null
        n.exited = null
        n.pid = null
      }
    })
    return n.spawnedAtMs
  }

  /** Sends `signal` and waits for the exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<KillTiming> {
    const n = this.node(id)
    const child = n.process
    const exited = n.exited
    if (child === null || exited === null) throw new Error(`node ${id} is not running`)
    n.process = null
    n.exited = null
    n.pid = null
    const signalledAtMs = performance.now()
    child.kill(signal)
    await withTimeout(exited, EXIT_TIMEOUT_MS, `node ${id} to exit after ${signal}`)
    return { signalledAtMs, exitedAtMs: performance.now() }
  }

  /** SIGSTOP: the process hangs with its sockets open (no connection reset tells the peers). */
  pause(id: number): void {
    const child = this.node(id).process
    if (child === null) throw new Error(`node ${id} is not running`)
    child.kill('SIGSTOP')
  }

  /** Waits until node `id` answers DescribeQuorum at all (leader or not). */
  async waitForServing(id: number, timeoutMs?: number): Promise<void> {
    await waitFor(async () => {
      if (!this.isRunning(id)) throw new Error(`node ${id} is not running`)
      await this.client(id).describeQuorum()
      return true
    }, `node ${id} to serve`, timeoutMs)
  }

  /** DescribeQuorum as answered by the leader (directly or through a follower's forward). */
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
   * Waits until one running node leads and every running voter has fetched up to the
   * leader's log end (the leader's own DescribeQuorum view).
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
   * Runs a controller command on the active controller: starts at the controller that
   * answered last time, follows NOT_CONTROLLER hints, and retries (every 25 ms, waitFor's
   * poll) until an answer other than NOT_CONTROLLER comes back. Remembering the controller
   * keeps a stream of requests from paying a redirect each.
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

  /** Stdout tails and stderr of every node, for a failed run. */
  dump(): string {
    return [...this.nodes.values()]
      .map((n) => `--- node ${n.id} (port ${n.port}, ${n.logDir})\n${n.lines.slice(-40).map((l) => l.line).join('\n')}\n${n.stderr}`)
      .join('\n')
  }

  /** Kills whatever still runs, closes the clients and (unless kept) removes the directories. */
  async close(options: { keepDirs?: boolean } = {}): Promise<void> {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
    await Promise.all(this.runningIds().map((id) => this.kill(id, 'SIGKILL').catch(() => null)))
    if (options.keepDirs !== true) await rm(this.baseDir, { recursive: true, force: true })
  }

  private node(id: number): BenchNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
