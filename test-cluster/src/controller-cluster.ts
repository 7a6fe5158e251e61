/**
 * ControllerCluster: real `trib server` controller processes on loopback, for multi-process
 * tests (and, later, the chaos harness). It spawns `node packages/cli/dist/bin/trib.js
 * server ...` (so `tsc -b` must have run, as `npm test` does first), one temp log dir per
 * node, on free ports; it can SIGKILL, SIGSTOP/SIGCONT, stop cleanly and restart a node
 * with the same id, directory and port.
 *
 * It keeps every process's stdout and stderr so a failing test can print them (dump()).
 * Every wait has a deadline; nothing here sleeps a fixed time to "let things settle".
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
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

/** Node 24: the running one if it is recent enough, else the repository's pinned binary. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return process.execPath
  const pinned = join(REPO_ROOT, 'node_modules', '.bin', 'node')
  if (existsSync(pinned)) return pinned
  throw new Error(`Node ${process.versions.node} is too old and ${pinned} does not exist: run npm ci`)
}

export async function freePort(): Promise<number> {
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

export async function waitFor<T>(probe: () => Promise<T | null> | T | null, what: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown = null
  for (;;) {
    try {
      const value = await probe()
      if (value !== null) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS))
  }
}

interface NodeState {
  readonly id: number
  readonly port: number
  readonly logDir: string
  process: ChildProcess | null
  exited: Promise<number | null> | null
  /** Set while the harness itself is stopping the process. */
  stopping: boolean
  output: string
}

export interface ControllerClusterOptions {
  readonly size?: number
  /** Extra `key=value` overrides for every node. */
  readonly overrides?: readonly string[]
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
  private readonly nodes = new Map<number, NodeState>()
  private readonly overrides: readonly string[]
  private readonly clients = new Map<number, ControllerClient>()

  private constructor(baseDir: string, nodes: NodeState[], overrides: readonly string[]) {
    this.baseDir = baseDir
    this.overrides = overrides
    for (const n of nodes) this.nodes.set(n.id, n)
  }

  /** Allocates ports and directories and starts every node. */
  static async start(options: ControllerClusterOptions = {}): Promise<ControllerCluster> {
    const size = options.size ?? 3
    if (!existsSync(TRIB_BIN)) throw new Error(`${TRIB_BIN} is missing: run \`npx tsc -b\` (npm test does) first`)
    const baseDir = await mkdtemp(join(tmpdir(), 'trib-cluster-'))
    const nodes: NodeState[] = []
    for (let id = 1; id <= size; id++) {
      nodes.push({ id, port: await freePort(), logDir: join(baseDir, `node-${id}`), process: null, exited: null, stopping: false, output: '' })
    }
    const cluster = new ControllerCluster(baseDir, nodes, options.overrides ?? [])
    for (const n of nodes) cluster.spawnNode(n)
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
    return [...this.nodes.values()].map((n) => `${n.id}@127.0.0.1:${n.port}`).join(',')
  }

  address(id: number): string {
    return `127.0.0.1:${this.node(id).port}`
  }

  isRunning(id: number): boolean {
    return this.node(id).process !== null
  }

  /** A cached client for node `id` (it reconnects by itself after a restart). */
  client(id: number): ControllerClient {
    let c = this.clients.get(id)
    if (c === undefined) {
      c = new ControllerClient(this.address(id), { timeoutMs: 2000 })
      this.clients.set(id, c)
    }
    return c
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
    const n = this.node(id)
    if (n.process !== null) throw new Error(`node ${id} is still running`)
    this.spawnNode(n)
    await this.waitForServing(id)
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

  /**
   * Runs a controller command against the active controller: starts at any running node,
   * follows NOT_CONTROLLER hints, and retries (a new leader answers NOT_CONTROLLER until it
   * has committed its leader_change entry). Returns the first answer that is not NOT_CONTROLLER.
   */
  async onController<R extends ControllerAnswer>(call: (client: ControllerClient) => Promise<R>, what: string, timeoutMs?: number): Promise<R> {
    let target: number | null = null
    return waitFor(async () => {
      const candidates = target !== null && this.isRunning(target) ? [target] : this.ids.filter((id) => this.isRunning(id))
      for (const id of candidates) {
        let answer: R
        try {
          answer = await call(this.client(id))
        } catch (err) {
          if (isServiceError(err)) continue
          throw err
        }
        if (answer.errorCode !== ErrorCode.NOT_CONTROLLER.code) return answer
        target = answer.controllerId >= 0 && this.nodes.has(answer.controllerId) ? answer.controllerId : null
      }
      return null
    }, what, timeoutMs)
  }

  /** Everything the processes printed, for a failing test's report. */
  dump(): string {
    return [...this.nodes.values()].map((n) => `--- node ${n.id} (port ${n.port}, ${n.logDir})\n${n.output}`).join('\n')
  }

  /** Kills whatever still runs, closes clients and removes the directories. */
  async close(options: { keepDirs?: boolean } = {}): Promise<void> {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
    await Promise.all(this.ids.filter((id) => this.isRunning(id)).map((id) => this.kill(id, 'SIGKILL').catch(() => null)))
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
      '--override', 'process.roles=controller',
      '--override', `controller.quorum.voters=${this.voters}`,
      '--override', `listeners=CONTROLLER://127.0.0.1:${n.port}`,
      '--override', `log.dirs=${n.logDir}`,
      ...this.overrides.flatMap((o) => ['--override', o]),
    ]
    // Keep the parent's TRIB_* variables out: the node must see only what the test sets.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
    const child = spawn(nodeBinary(), args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
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
