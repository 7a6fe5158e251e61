/**
 * `trib cluster start` as `npm start` runs it: three controller nodes on the default ports
 * (19092..19094), a ready banner, `trib cluster status`, Ctrl-C (SIGINT) stopping every node
 * with exit code 0, and a restart that keeps the metadata. The ports are fixed by design, so the
 * test runs only when they are free and otherwise skips, saying why. Assumes `tsc -b` has built
 * packages/cli/dist.
 *
 * A second test drives the node commands on a cluster moved by --port-offset: pause / resume,
 * kill-controller (the launcher and the other nodes keep running), stop, restart through the
 * launcher, and, once the launcher itself is SIGKILLed, restart without it and stop.
 *
 * The nodes run in their own process group (the launcher's design), so a failing test would
 * orphan them; cleanup SIGKILLs every pid the state file names.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ControllerClient, isServiceError } from '@tributary/metadata-quorum'
import { ErrorCode, type quorum } from '@tributary/protocol'
import { REPO_ROOT, TRIB_BIN, busyLoopbackPort, isPidAlive, nodeBinary, waitFor } from './src/controller-cluster.js'

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
  const busy = await busyLoopbackPort(PORTS)
  return busy === null ? null : `port ${busy.port} on ${busy.host} is in use (a local cluster running?); this test needs ${PORTS.join(', ')}`
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

  static start(dataDir: string, extra: readonly string[] = []): Launcher {
    const child = spawn(nodeBinary(), [TRIB_BIN, 'cluster', 'start', '--nodes', '3', '--data-dir', dataDir, ...extra], {
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

/** Free when neither loopback address has it bound. */
async function portsFree(ports: readonly number[]): Promise<string | null> {
  const busy = await busyLoopbackPort(ports)
  return busy === null ? null : `port ${busy.port} on ${busy.host} is in use; this test needs ${ports.join(', ')}`
}

interface StatusJson {
  readonly activeController: number | null
  readonly healthy: boolean
  readonly launcher: { readonly up: boolean }
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly pid: number; readonly up: boolean; readonly paused: boolean; readonly activeController: boolean }>
}

async function statusJson(dataDir: string): Promise<StatusJson> {
  const r = await run(['cluster', 'status', '--json', '--data-dir', dataDir])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as StatusJson
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
      for (const n of nodes) if (isPidAlive(n.pid)) process.kill(n.pid, 'SIGKILL')
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
    for (const n of nodes) expect(isPidAlive(n.pid), `node ${n.id} pid ${n.pid}`).toBe(true)

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
    for (const n of nodes) expect(isPidAlive(n.pid), `node ${n.id} pid ${n.pid} after SIGINT`).toBe(false)
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

  it('pauses, resumes, kills the controller, stops and restarts nodes, with and without the launcher', async (ctx) => {
    const offset = 433
    const busy = await portsFree([1, 2, 3].flatMap((id) => [9091 + offset + id, 19091 + offset + id]))
    if (busy !== null) {
      console.warn(`skipped: ${busy}`)
      ctx.skip(busy)
    }
    dataDir = await mkdtemp(join(tmpdir(), 'trib-node-control-'))
    const dir = dataDir
    const launcher = Launcher.start(dir, ['--port-offset', String(offset)])
    launchers.push(launcher)
    ctx.onTestFailed(() => console.error(launcher.dump()))
    await launcher.waitForBanner()
    const cmd = async (args: readonly string[], code = 0): Promise<string> => {
      const r = await run(['cluster', ...args, '--data-dir', dir])
      expect(r.code, `trib cluster ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(code)
      return code === 0 ? r.stdout : r.stderr
    }
    const nodes = await stateNodes(dir)
    const pidOf = (id: number): number => nodes.find((n) => n.id === id)!.pid

    // pause / resume: a paused node is up but paused, and the cluster is not healthy meanwhile.
    expect(await cmd(['pause', '1'])).toBe(`paused node 1 (pid ${pidOf(1)})\n`)
    expect(await cmd(['pause', '1'], 1)).toMatch(/^trib cluster: node 1 \(pid \d+\) is already paused/)
    const paused = await statusJson(dir)
    expect(paused.nodes.map((n) => [n.id, n.up, n.paused])).toEqual([[1, true, true], [2, true, false], [3, true, false]])
    expect(paused.healthy).toBe(false)
    expect(await cmd(['resume', '1'])).toBe(`resumed node 1 (pid ${pidOf(1)})\n`)
    expect(await cmd(['resume', '1'], 1)).toBe(`trib cluster: node 1 (pid ${pidOf(1)}) is not paused\n`)
    expect(await cmd(['kill', '7'], 1)).toBe('trib cluster: no node 7 in the local cluster in ' + dir + ' (its nodes: 1, 2, 3)\n')

    // kill-controller: the launcher reports it and keeps the others running; a new controller follows.
    const active = await waitFor(async () => (await statusJson(dir)).activeController, 'an active controller')
    expect(await cmd(['kill-controller'])).toBe(`killed node ${active} (pid ${pidOf(active)}), the active controller\n`)
    await waitFor(() => launcher.stderr.includes(`node ${active} exited (SIGKILL); not restarted`) || null, 'the launcher to report the kill')
    const next = await waitFor(async () => {
      const s = await statusJson(dir)
      return s.activeController !== null && s.activeController !== active ? s.activeController : null
    }, 'a new active controller')
    expect(launcher.child.exitCode).toBeNull()

    // stop (SIGTERM, waits), then restart both through the launcher.
    const other = [1, 2, 3].find((id) => id !== active && id !== next)!
    expect(await cmd(['stop', String(other)])).toBe(`stopped node ${other} (pid ${pidOf(other)})\n`)
    await waitFor(() => launcher.stderr.includes(`node ${other} exited (code 0)`) || null, 'the launcher to report the stop')
    expect(await cmd(['stop', String(other)], 1)).toMatch(new RegExp(`^trib cluster: node ${other} is not running \\(pid ${pidOf(other)} exited with code 0`))
    expect(await cmd(['restart', String(active)])).toMatch(new RegExp(`^restarted node ${active} \\(pid \\d+; it was down\\)\\n$`))
    expect(await cmd(['restart', String(other)])).toMatch(new RegExp(`^restarted node ${other} \\(pid \\d+; it was down\\)\\n$`))
    await waitFor(async () => (await statusJson(dir)).healthy || null, 'every node up again')

    // Without the launcher: restart starts the node detached, and stop still works.
    launcher.child.kill('SIGKILL')
    await launcher.exited
    const restarted = await cmd(['restart', String(next)])
    expect(restarted).toMatch(new RegExp(`^restarted node ${next} \\(pid (\\d+); stopped pid \\d+ with SIGTERM\\) without a launcher \\(launcher pid \\d+ is not running\\): it runs detached, its console output goes to ${dir}/node-${next}/server.log\\n$`))
    const newPid = Number(/\(pid (\d+);/.exec(restarted)![1])
    expect((await stateNodes(dir)).find((n) => n.id === next)!.pid).toBe(newPid)
    const detached = await waitFor(async () => {
      const s = await statusJson(dir)
      return s.healthy ? s : null
    }, 'the detached node to serve')
    expect(detached.launcher.up).toBe(false)
    for (const id of [1, 2, 3]) expect(await cmd(['stop', String(id)])).toMatch(new RegExp(`^stopped node ${id} \\(pid \\d+\\)\\n$`))
  }, 120_000)
})
