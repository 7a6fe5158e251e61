/**
 * NetnsTopology against the real kernel: who can reach whom after cuts, heals and an
 * isolation (a TCP connect from inside one node's namespace to another's address), and that
 * nothing is left behind after destroy(), after a process that exits without destroy(), and
 * after one that is SIGKILLed (the next create() sweeps it). Skipped with netnsAvailable()'s
 * reason where namespaces cannot be made (not root, no iproute2).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPidAlive, nodeBinary, waitFor } from '../controller-cluster.ts'
import { netnsAvailable, runNetCommand, type NetnsAvailability } from './net-command-runner.ts'
import { claimedRunIds, NetnsTopology, sweepStaleRuns } from './netns-topology.ts'

/** A connect that gets no answer within this long counts as cut (blackholed packets are never answered). */
const CONNECT_TIMEOUT_MS = 400
const PORT = 7070

/** Runs `node -e script` inside node n's namespace; resolves its exit code and stdout. */
function runIn(net: NetnsTopology, node: number, script: string): Promise<{ code: number | null; stdout: string }> {
  const [command, ...args] = [...net.execPrefix(node), nodeBinary(), '-e', script]
  return new Promise((resolveRun, reject) => {
    const child = spawn(command ?? 'ip', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    child.once('error', reject)
    child.once('exit', (code) => resolveRun({ code, stdout }))
  })
}

/** A TCP echo-less listener on node n's address, inside its namespace (killed by the caller). */
async function listenIn(net: NetnsTopology, node: number): Promise<() => void> {
  const script = `require('node:net').createServer((s) => s.end()).listen(${PORT}, '${net.addressOf(node)}', () => console.log('up'))`
  const [command, ...args] = [...net.execPrefix(node), nodeBinary(), '-e', script]
  const child = spawn(command ?? 'ip', args, { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolveUp, reject) => {
    child.stdout.once('data', () => resolveUp())
    child.once('exit', (code) => reject(new Error(`listener in node ${node} exited with ${code}`)))
  })
  return () => child.kill('SIGKILL')
}

/** Whether a TCP connect from node a's namespace (or the root namespace, a = 0) to node b gets through. */
async function reaches(net: NetnsTopology, a: number, b: number): Promise<boolean> {
  const script = `const s = require('node:net').connect(${PORT}, '${net.addressOf(b)}'); s.setTimeout(${CONNECT_TIMEOUT_MS}, () => process.exit(2)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1))`
  if (a === 0) {
    const child = spawn(nodeBinary(), ['-e', script], { stdio: 'ignore' })
    return new Promise((resolveCode) => child.once('exit', (code) => resolveCode(code === 0)))
  }
  return (await runIn(net, a, script)).code === 0
}

async function reachability(net: NetnsTopology): Promise<string[]> {
  const ok: string[] = []
  for (const a of net.nodes) for (const b of net.nodes) if (a !== b && await reaches(net, a, b)) ok.push(`${a}->${b}`)
  return ok
}

async function namespaces(): Promise<string[]> {
  return (await runNetCommand({ argv: ['ip', 'netns', 'list'] })).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '')
}

async function rootLinks(): Promise<string> {
  return runNetCommand({ argv: ['ip', '-o', 'link', 'show'] })
}

describe('NetnsTopology (real namespaces)', () => {
  let available: NetnsAvailability = { ok: false, reason: 'not probed' }
  let net: NetnsTopology | null = null
  const stops: Array<() => void> = []

  beforeAll(async () => {
    available = await netnsAvailable()
    if (!available.ok) {
      console.warn(`netns topology tests skipped: ${available.reason}`)
      return
    }
    net = await NetnsTopology.create(3)
    for (const n of net.nodes) stops.push(await listenIn(net, n))
  })

  afterAll(async () => {
    for (const stop of stops) stop()
    await net?.destroy()
  })

  it('connects every pair and the root namespace to every node; a cut drops both ways; heal restores it', async (ctx) => {
    if (net === null) return ctx.skip(available.ok ? 'topology not created' : available.reason)
    const all = ['1->2', '1->3', '2->1', '2->3', '3->1', '3->2']
    expect(await reachability(net)).toEqual(all)
    for (const n of net.nodes) expect(await reaches(net, 0, n)).toBe(true)

    await net.cut(1, 2)
    expect(net.isConnected(2, 1)).toBe(false)
    expect(await reachability(net)).toEqual(['1->3', '2->3', '3->1', '3->2'])
    await net.heal(2, 1)
    expect(await reachability(net)).toEqual(all)
  })

  it('isolates a node from its peers but not from the root namespace, and healAll undoes every cut', async (ctx) => {
    if (net === null) return ctx.skip(available.ok ? 'topology not created' : available.reason)
    await net.isolate(3)
    expect(net.cuts()).toEqual([[1, 3], [2, 3]])
    expect(await reachability(net)).toEqual(['1->2', '2->1'])
    expect(await reaches(net, 0, 3)).toBe(true)
    await net.healAll()
    expect(net.cuts()).toEqual([])
    expect(await reachability(net)).toHaveLength(6)
  })

  it('cuts a node off from the root namespace only, and heals it', async (ctx) => {
    if (net === null) return ctx.skip(available.ok ? 'topology not created' : available.reason)
    await net.cutRoot(2)
    expect(net.isRootConnected(2)).toBe(false)
    expect(await reaches(net, 0, 2)).toBe(false)
    expect(await reaches(net, 0, 1)).toBe(true)
    expect(await reachability(net)).toHaveLength(6)
    await net.healAll()
    expect(await reaches(net, 0, 2)).toBe(true)
  })

  it('removes its namespaces, root links and claim on destroy, ending a process left inside', async (ctx) => {
    if (!available.ok) return ctx.skip(available.reason)
    const t = await NetnsTopology.create(2)
    const runId = t.runId
    const [command, ...args] = [...t.execPrefix(2), nodeBinary(), '-e', 'setInterval(() => {}, 1000)']
    const leftover = spawn(command ?? 'ip', args, { stdio: 'ignore' })
    const leftoverExited = new Promise<NodeJS.Signals | null>((r) => leftover.once('exit', (_code, signal) => r(signal)))
    await waitFor(async () => ((await runNetCommand({ argv: ['ip', 'netns', 'pids', t.namespaceOf(2)] })).trim() === String(leftover.pid) ? true : null), 'the process to show in node 2\'s namespace', 5000)
    expect(await namespaces()).toEqual(expect.arrayContaining([`trib-${runId}-n1`, `trib-${runId}-n2`]))
    expect(claimedRunIds()).toContain(runId)
    await t.destroy()
    expect(await leftoverExited).toBe('SIGKILL')
    expect((await namespaces()).filter((n) => n.startsWith(`trib-${runId}-`))).toEqual([])
    expect(await rootLinks()).not.toMatch(new RegExp(`trib${runId}r\\d`))
    expect(claimedRunIds()).not.toContain(runId)
    await expect(t.cut(1, 2)).rejects.toThrow(/destroyed/)
  })

  it('leaves nothing behind when its process exits without destroy, or is SIGKILLed (the next create sweeps)', async (ctx) => {
    if (!available.ok) return ctx.skip(available.reason)
    const dir = await mkdtemp(join(tmpdir(), 'trib-netns-child-'))
    try {
      const topologyModule = fileURLToPath(new URL('./netns-topology.ts', import.meta.url))
      const child = join(dir, 'child.ts')
      // Prints the run id, then exits (hook) or waits to be SIGKILLed.
      // In 'wait' mode it also leaves a process running inside node 1's namespace (as a crashed run leaves its nodes).
      await writeFile(child, [
        `import { spawn } from 'node:child_process'`,
        `import { NetnsTopology } from ${JSON.stringify(topologyModule)}`,
        `const t = await NetnsTopology.create(2)`,
        `if (process.argv[2] === 'exit') { console.log(t.runId); process.exit(3) }`,
        `const [command, ...args] = [...t.execPrefix(1), process.execPath, '-e', 'setInterval(() => {}, 1000)']`,
        `const orphan = spawn(command, args, { stdio: 'ignore', detached: true })`,
        `orphan.unref()`,
        `console.log(t.runId, orphan.pid)`,
        `setInterval(() => {}, 1000)`,
      ].join('\n'))
      const runChild = (mode: string): Promise<{ runId: number; orphanPid: number; kill: () => void; exited: Promise<number | null> }> => new Promise((resolveRun, reject) => {
        const p = spawn(nodeBinary(), [child, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
        const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)))
        p.stdout.once('data', (c: Buffer) => {
          const [runId, orphanPid] = c.toString('utf8').trim().split(' ').map(Number)
          resolveRun({ runId: runId ?? -1, orphanPid: orphanPid ?? -1, kill: () => p.kill('SIGKILL'), exited })
        })
        p.once('exit', (code) => reject(new Error(`child exited with ${code} before printing its run id`)))
      })

      const exiting = await runChild('exit')
      expect(await exiting.exited).toBe(3)
      expect((await namespaces()).filter((n) => n.startsWith(`trib-${exiting.runId}-`))).toEqual([])
      expect(claimedRunIds()).not.toContain(exiting.runId)

      const killed = await runChild('wait')
      // spawn() returns before `ip netns exec` has entered the namespace and exec'd node: wait for that.
      await waitFor(async () => ((await readFile(`/proc/${killed.orphanPid}/cmdline`, 'utf8')).includes('setInterval') ? true : null), 'the orphan to run inside its namespace', 5000)
      killed.kill()
      await killed.exited
      expect((await namespaces()).filter((n) => n.startsWith(`trib-${killed.runId}-`))).toHaveLength(2)
      expect(isPidAlive(killed.orphanPid)).toBe(true)
      expect(await sweepStaleRuns()).toContain(killed.runId)
      await waitFor(() => (isPidAlive(killed.orphanPid) ? null : true), `the crashed run's process ${killed.orphanPid} to be ended by the sweep`, 5000)
      expect((await namespaces()).filter((n) => n.startsWith(`trib-${killed.runId}-`))).toEqual([])
      expect(claimedRunIds()).not.toContain(killed.runId)
      // This process's own run is live and survives every sweep.
      if (net !== null) expect(await namespaces()).toContain(net.namespaceOf(1))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
