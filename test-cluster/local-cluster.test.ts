/**
 * `trib cluster start` as `npm start` runs it: three controller nodes on the default ports
 * (19092..19094), a ready banner, `trib cluster status`, Ctrl-C (SIGINT) stopping every node
 * with exit code 0, and a restart that keeps the metadata. The ports are fixed by design, so the
 * test runs only when they are free and otherwise skips, saying why. Assumes `tsc -b` has built
 * packages/cli/dist.
 *
 * The nodes run in their own process group (the launcher's design), so a failing test would
 * orphan them; cleanup SIGKILLs every pid the state file names.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ControllerClient, isServiceError } from '@tributary/metadata-quorum'
import { ErrorCode, type quorum } from '@tributary/protocol'
import { REPO_ROOT, TRIB_BIN, nodeBinary, waitFor } from './src/controller-cluster.js'

const PORTS = [19092, 19093, 19094]
const ADDRESSES = PORTS.map((p) => `localhost:${p}`)
const READY = 'Tributary local cluster is ready'
/** Startup (three processes, an election) and shutdown deadlines. */
const READY_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 30_000
const BROKER_ID = 101

interface StateNode {
  readonly id: number
  readonly pid: number
  readonly exit: { readonly code: number | null; readonly signal: string | null } | null
}

/** The reason the default ports cannot be used, or null when they are free. */
async function portsBusy(): Promise<string | null> {
  for (const port of PORTS) {
    for (const host of ['127.0.0.1', '::1']) {
      const problem = await new Promise<string | null>((resolve) => {
        const server = createServer()
        server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use` : null))
        server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)))
      })
      if (problem !== null) return `${problem} (a local cluster running?); this test needs ${PORTS.join(', ')}`
    }
  }
  return null
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
}

/** One `trib cluster start` process and everything it printed. */
class Launcher {
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')))
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')))
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)))
  }

  static start(dataDir: string): Launcher {
    const child = spawn(nodeBinary(), [TRIB_BIN, 'cluster', 'start', '--nodes', '3', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return new Launcher(child)
  }

  async waitForBanner(): Promise<void> {
    let code: number | null | undefined
    void this.exited.then((c) => (code = c))
    await waitFor(() => {
      if (this.stdout.includes(READY)) return true
      if (code !== undefined) throw new Error(`the launcher exited with ${code} before the banner`)
      return null
    }, 'the ready banner', READY_TIMEOUT_MS).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${this.dump()}`)
    })
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGINT')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the launcher did not exit within ${EXIT_TIMEOUT_MS} ms of SIGINT\n${this.dump()}`)), EXIT_TIMEOUT_MS)))
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  dump(): string {
    return `--- launcher stdout\n${this.stdout}\n--- launcher stderr\n${this.stderr}`
  }
}

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(nodeBinary(), [TRIB_BIN, ...args], { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

async function stateNodes(dataDir: string): Promise<StateNode[]> {
  const json = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8')) as { nodes: StateNode[] }
  return json.nodes
}

/** A DescribeQuorum answer with a leader, from any node. */
async function leaderView(clients: readonly ControllerClient[]): Promise<quorum.DescribeQuorumResponse> {
  return waitFor(async () => {
    for (const c of clients) {
      try {
        const q = await c.describeQuorum()
        if (q.errorCode === 0 && q.leaderId >= 0) return q
      } catch {
        // Try the next node.
      }
    }
    return null
  }, 'a leader')
}

/** Registers a broker on the active controller (following NOT_CONTROLLER): one metadata record. */
async function registerBroker(clients: readonly ControllerClient[]): Promise<void> {
  const answer = await waitFor(async () => {
    for (const c of clients) {
      try {
        const r = await c.registerBroker({ brokerId: BROKER_ID, incarnationId: 'local-cluster-test', endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack: '' })
        if (r.errorCode !== ErrorCode.NOT_CONTROLLER.code) return r
      } catch (err) {
        if (!isServiceError(err)) throw err
      }
    }
    return null
  }, `broker ${BROKER_ID} to register`)
  expect(answer.errorCode, answer.errorMessage).toBe(0)
}

describe('trib cluster start (npm start)', () => {
  let dataDir: string | null = null
  const launchers: Launcher[] = []
  const clients: ControllerClient[] = []

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    for (const l of launchers.splice(0)) l.child.kill('SIGKILL')
    if (dataDir !== null) {
      // Whatever a failed test left running: the nodes are detached from the launcher.
      const nodes = await stateNodes(dataDir).catch(() => [])
      for (const n of nodes) if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL')
      await rm(dataDir, { recursive: true, force: true })
      dataDir = null
    }
  })

  it('starts three nodes, reports them, stops on SIGINT with 0, and keeps the metadata across a restart', async (ctx) => {
    const busy = await portsBusy()
    if (busy !== null) {
      // The note shows beside the skip in the verbose reporter; the default one shows this line.
      console.warn(`skipped: ${busy}`)
      ctx.skip(busy)
    }
    const started: Launcher[] = []
    // afterEach empties `launchers`; keep this test's own list for the failure report.
    ctx.onTestFailed(() => {
      for (const [i, l] of started.entries()) console.error(`launcher ${i + 1}:\n${l.dump()}`)
    })
    dataDir = await mkdtemp(join(tmpdir(), 'trib-local-cluster-'))
    clients.push(...ADDRESSES.map((a) => new ControllerClient(a, { timeoutMs: 2000 })))

    const first = Launcher.start(dataDir)
    launchers.push(first)
    started.push(first)
    await first.waitForBanner()
    expect(first.stdout).toContain('npx trib metadata-quorum --bootstrap-controller localhost:19092 describe --status')
    const nodes = await stateNodes(dataDir)
    expect(nodes.map((n) => n.id)).toEqual([1, 2, 3])
    for (const n of nodes) expect(isAlive(n.pid), `node ${n.id} pid ${n.pid}`).toBe(true)

    const status = await run(['cluster', 'status', '--data-dir', dataDir])
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(0)
    const rows = status.stdout.split('\n').filter((l) => /^\d+\s/.test(l))
    expect(rows).toHaveLength(3)
    for (const row of rows) expect(row).toMatch(/ running /)
    expect(rows.filter((r) => / leader /.test(r))).toHaveLength(1)

    await registerBroker(clients)
    const before = await leaderView(clients)
    const leaderBefore = before.voters.find((v) => v.replicaId === before.leaderId)!
    const imageBefore = await clients[before.leaderId - 1]!.describeMetadata({ topics: [] })
    expect(imageBefore.brokers.map((b) => b.brokerId)).toContain(BROKER_ID)

    expect(await first.stop()).toBe(0)
    expect(first.stdout).toContain('all nodes stopped')
    for (const n of nodes) expect(isAlive(n.pid), `node ${n.id} pid ${n.pid} after SIGINT`).toBe(false)
    const stopped = await stateNodes(dataDir)
    expect(stopped.map((n) => n.exit?.code)).toEqual([0, 0, 0])
    const after = await run(['cluster', 'status', '--data-dir', dataDir])
    expect(after.code).toBe(1)
    expect(after.stderr).toBe('trib cluster: not healthy: 0 of 3 nodes running, no leader\n')

    const second = Launcher.start(dataDir)
    launchers.push(second)
    started.push(second)
    await second.waitForBanner()
    const restarted = await leaderView(clients)
    const leaderAfter = restarted.voters.find((v) => v.replicaId === restarted.leaderId)!
    // The Raft hard state and log survived: a later epoch, a log that did not go backwards,
    // and once the new leader's image has replayed as far as before, the registered broker is
    // in it (a restarted leader may answer from an image that is still replaying).
    expect(restarted.leaderEpoch).toBeGreaterThan(before.leaderEpoch)
    expect(leaderAfter.logEndOffset).toBeGreaterThanOrEqual(leaderBefore.logEndOffset)
    const image = await waitFor(async () => {
      const md = await clients[restarted.leaderId - 1]!.describeMetadata({ topics: [] })
      return md.errorCode === 0 && md.metadataOffset >= imageBefore.metadataOffset ? md : null
    }, `the new leader's image to reach offset ${imageBefore.metadataOffset}`)
    expect(image.brokers.map((b) => b.brokerId)).toContain(BROKER_ID)

    expect(await second.stop()).toBe(0)
  }, 120_000)
})
