/**
 * NetnsTopology: one run's network of node namespaces (layout and cut mechanism: see
 * netns-plan.ts). create() claims a free run id, sweeps what crashed runs left behind, and
 * builds the namespaces; cut/heal/isolate/healAll change which node pairs can talk; destroy()
 * removes everything.
 *
 * Ownership: a run id is claimed by creating STATE_DIR/<runId> exclusively, holding the
 * owner's pid and process start time. Several test processes may run at once (vitest files,
 * the chaos runner), so the sweep removes only runs whose owner is gone (or that have no
 * claim file at all), never a live one. The claim is made before any namespace exists and
 * dropped after the last one is gone, so a live run always has its file.
 *
 * If the process exits without destroy() (a failed test, process.exit), an 'exit' hook tears
 * the run down synchronously; after a SIGKILL the next create() anywhere sweeps it.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { netBinary, runNetCommand, runNetCommandSync, runNetPlan, runNetPlanSync } from './net-command-runner.ts'
import {
  allLinks, createPlan, cutPlan, cutRootPlan, destroyPlan, execPrefix, healPlan, healRootPlan, linkKey, NetnsNaming, parseNamespace, parseRootLink,
  RUN_ID_MAX, RUN_ID_MIN, sweepPlan, type NetCommand,
} from './netns-plan.ts'

/** Where run claims live (tmpfs on Linux: gone after a reboot, like the namespaces). */
export const STATE_DIR = '/run/tributary-netns'
/** Run ids tried before create() gives up. */
const CLAIM_ATTEMPTS_MAX = 32

const live = new Set<NetnsTopology>()
let exitHookInstalled = false

export class NetnsTopology {
  readonly naming: NetnsNaming
  readonly nodeCount: number
  /** Pairs cut now, as linkKey(a, b). */
  private readonly cutLinks = new Set<string>()
  /** Nodes whose link to the root namespace is cut now. */
  private readonly cutRoots = new Set<number>()
  private destroyed = false

  private constructor(naming: NetnsNaming, nodeCount: number) {
    this.naming = naming
    this.nodeCount = nodeCount
  }

  /** Sweeps stale runs, claims a run id and builds namespaces for nodes 1..nodeCount. */
  static async create(nodeCount: number): Promise<NetnsTopology> {
    await sweepStaleRuns()
    const runId = await claimRunId()
    const topology = new NetnsTopology(new NetnsNaming(runId), nodeCount)
    live.add(topology)
    installExitHook()
    try {
      await runNetPlan(createPlan(topology.naming, nodeCount))
    } catch (err) {
      await topology.destroy()
      throw err
    }
    return topology
  }

  get runId(): number {
    return this.naming.runId
  }

  get nodes(): number[] {
    return Array.from({ length: this.nodeCount }, (_, i) => i + 1)
  }

  /** Node n's address (IPv4, no port): what its listeners bind and advertise. */
  addressOf(node: number): string {
    this.checkNode(node)
    return this.naming.address(node)
  }

  namespaceOf(node: number): string {
    this.checkNode(node)
    return this.naming.namespace(node)
  }

  /** argv prefix that runs a command inside node n's namespace: `[/usr/sbin/ip, netns, exec, <ns>]`. */
  execPrefix(node: number): string[] {
    this.checkNode(node)
    const [name, ...rest] = execPrefix(this.naming, node)
    return [netBinary(name ?? 'ip') ?? 'ip', ...rest]
  }

  /** Whether a and b can talk now. */
  isConnected(a: number, b: number): boolean {
    return !this.cutLinks.has(linkKey(a, b))
  }

  /** Pairs cut now, [a, b] with a < b. */
  cuts(): Array<readonly [number, number]> {
    return allLinks(this.nodeCount).filter(([a, b]) => this.cutLinks.has(linkKey(a, b)))
  }

  /** Drops all traffic between a and b, both ways (idempotent). */
  async cut(a: number, b: number): Promise<void> {
    this.checkLive()
    this.checkNode(a)
    this.checkNode(b)
    const key = linkKey(a, b)
    if (this.cutLinks.has(key)) return
    await runNetPlan(cutPlan(this.naming, a, b))
    this.cutLinks.add(key)
  }

  /** Lets a and b talk again (idempotent). */
  async heal(a: number, b: number): Promise<void> {
    this.checkLive()
    this.checkNode(a)
    this.checkNode(b)
    const key = linkKey(a, b)
    if (!this.cutLinks.has(key)) return
    await runNetPlan(healPlan(this.naming, a, b))
    this.cutLinks.delete(key)
  }

  /**
   * Cuts node n off from the root namespace: the test process, its clients and the harness's
   * probes (BrokerCluster waits that ask every live node then time out: pass `on`). Its links
   * to other nodes stay as they are. Idempotent.
   */
  async cutRoot(node: number): Promise<void> {
    this.checkLive()
    this.checkNode(node)
    if (this.cutRoots.has(node)) return
    await runNetPlan(cutRootPlan(this.naming, node))
    this.cutRoots.add(node)
  }

  async healRoot(node: number): Promise<void> {
    this.checkLive()
    this.checkNode(node)
    if (!this.cutRoots.has(node)) return
    await runNetPlan(healRootPlan(this.naming, node))
    this.cutRoots.delete(node)
  }

  /** Whether the root namespace (the test) reaches node n now. */
  isRootConnected(node: number): boolean {
    return !this.cutRoots.has(node)
  }

  /** Cuts n from every other node; its link to the root namespace (the test) stays up. */
  async isolate(node: number): Promise<void> {
    for (const other of this.nodes) if (other !== node) await this.cut(node, other)
  }

  /** Cuts every link between the two sides (a partition into `side` and the rest). */
  async partition(side: readonly number[]): Promise<void> {
    for (const a of side) for (const b of this.nodes) if (!side.includes(b)) await this.cut(a, b)
  }

  /** Heals every cut link, root links included. */
  async healAll(): Promise<void> {
    for (const [a, b] of this.cuts()) await this.heal(a, b)
    for (const node of [...this.cutRoots]) await this.healRoot(node)
  }

  /**
   * Removes the namespaces (their veths and the root routes go with them) and the claim,
   * after SIGKILLing any process still inside them (close the cluster first: this is the
   * backstop for a node the harness lost track of). Idempotent.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    live.delete(this)
    for (const n of this.nodes) killPids(parsePids(await runNetCommand(pidsCommand(this.naming.namespace(n)))))
    await runNetPlan(destroyPlan(this.naming, this.nodeCount))
    await rm(join(STATE_DIR, String(this.runId)), { force: true })
  }

  private destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const n of this.nodes) killPids(parsePids(runNetCommandSync(pidsCommand(this.naming.namespace(n)))))
    runNetPlanSync(destroyPlan(this.naming, this.nodeCount))
    try {
      rmSync(join(STATE_DIR, String(this.runId)), { force: true })
    } catch {
      // The next sweep sees a dead owner and removes the claim.
    }
  }

  private checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 1 || node > this.nodeCount) throw new Error(`node ${node} is not in this topology (1..${this.nodeCount})`)
  }

  private checkLive(): void {
    if (this.destroyed) throw new Error(`netns run ${this.runId} is destroyed`)
  }

  /**
   * Tears down every live topology of this process synchronously (the 'exit' hook uses it; a
   * signal handler that exits at once may call it too). Never throws.
   */
  static destroyAllSync(): void {
    for (const t of [...live]) t.destroySync()
    live.clear()
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => NetnsTopology.destroyAllSync())
}

/** pid and start time (clock ticks since boot, /proc/<pid>/stat field 22) of this process. */
function ownerStamp(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return `${pid} ${fields[19] ?? '?'}`
  } catch {
    return null
  }
}

function ownerAlive(stamp: string): boolean {
  const pid = Number(stamp.split(' ')[0])
  return Number.isInteger(pid) && pid > 0 && ownerStamp(pid) === stamp.trim()
}

async function claimRunId(): Promise<number> {
  await mkdir(STATE_DIR, { recursive: true })
  const stamp = ownerStamp(process.pid)
  if (stamp === null) throw new Error('cannot read /proc/self/stat')
  const taken = new Set((await readdir(STATE_DIR)).map(Number))
  const free: number[] = []
  for (let id = RUN_ID_MIN; id <= RUN_ID_MAX; id++) if (!taken.has(id)) free.push(id)
  for (let i = 0; i < CLAIM_ATTEMPTS_MAX && free.length > 0; i++) {
    const runId = free.splice(Math.floor(Math.random() * free.length), 1)[0] ?? RUN_ID_MIN
    try {
      const file = await open(join(STATE_DIR, String(runId)), 'wx')
      await file.writeFile(stamp)
      await file.close()
      return runId
    } catch {
      // Taken meanwhile by another process: try another id.
    }
  }
  throw new Error(`no free netns run id in ${STATE_DIR}`)
}

/** How long an empty claim (its owner between creating and writing it) counts as live. */
const EMPTY_CLAIM_GRACE_MS = 10_000

/** Every claim file's run id, and whether its owner is alive. */
async function readClaims(): Promise<Map<number, boolean>> {
  const claims = new Map<number, boolean>()
  let files: string[]
  try {
    files = await readdir(STATE_DIR)
  } catch {
    return claims
  }
  for (const f of files) {
    const runId = Number(f)
    if (!Number.isInteger(runId)) continue
    try {
      const path = join(STATE_DIR, f)
      const stamp = await readFile(path, 'utf8')
      claims.set(runId, stamp === '' ? Date.now() - (await stat(path)).mtimeMs < EMPTY_CLAIM_GRACE_MS : ownerAlive(stamp))
    } catch {
      // Removed meanwhile: its run is gone.
    }
  }
  return claims
}

/**
 * Removes the namespaces, root links and routes of every run whose owner is gone (after
 * SIGKILLing the processes still inside those namespaces: the crashed run's nodes), their
 * claims, and probe namespaces (netnsAvailable) of dead processes. Exported for tests and
 * for `npm run chaos` to call at start.
 *
 * Races with runs starting or ending meanwhile: the namespaces and links are listed BEFORE
 * the claims are read. A run claims before it makes its first namespace and unclaims after
 * its last is gone, so every listed namespace of a live run has its claim by the time the
 * claims are read, and a claim made after that belongs to namespaces this sweep never saw.
 */
export async function sweepStaleRuns(): Promise<number[]> {
  const namespaces = (await runNetCommand({ argv: ['ip', 'netns', 'list'] })).split('\n').map((l) => l.trim().split(' ')[0] ?? '').filter((n) => n !== '')
  const rootLinks = (await runNetCommand({ argv: ['ip', '-o', 'link', 'show'] })).split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '').filter((n) => n !== '')
  const claims = await readClaims()
  const stale = new Set<number>()
  for (const p of [...namespaces.map(parseNamespace), ...rootLinks.map(parseRootLink)]) {
    if (p !== null && claims.get(p.runId) !== true) stale.add(p.runId)
  }
  const staleClaims = [...claims].filter(([, alive]) => !alive).map(([runId]) => runId)
  for (const runId of staleClaims) stale.add(runId)
  // Nodes a crashed run started outlive it (they keep its namespace alive): end them first,
  // by pid, and only those inside a stale namespace of ours.
  for (const name of namespaces) {
    const p = parseNamespace(name)
    if (p !== null && stale.has(p.runId)) killPids(parsePids(await runNetCommand(pidsCommand(name))))
  }
  const plan = sweepPlan(stale, namespaces, rootLinks)
  for (const name of namespaces) {
    const probePid = /^trib-probe-(\d+)$/.exec(name)?.[1]
    if (probePid !== undefined && ownerStamp(Number(probePid)) === null) plan.push({ argv: ['ip', 'netns', 'del', name], mayFail: true })
  }
  await runNetPlan(plan)
  for (const runId of staleClaims) await rm(join(STATE_DIR, String(runId)), { force: true })
  return [...stale].sort((a, b) => a - b)
}

function pidsCommand(namespace: string): NetCommand {
  return { argv: ['ip', 'netns', 'pids', namespace], mayFail: true }
}

/** `ip netns pids` output: one pid a line. */
function parsePids(stdout: string): number[] {
  return stdout.split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 1 && pid !== process.pid)
}

/**
 * SIGKILLs processes found inside one of our namespaces: only the harness puts processes
 * there (the nodes it spawned with execPrefix), so these are nodes it lost track of.
 */
function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Gone already.
    }
  }
}

/** Run ids with a claim file (live or not): for tests. */
export function claimedRunIds(): number[] {
  try {
    return readdirSync(STATE_DIR).map(Number).filter((n) => Number.isInteger(n))
  } catch {
    return []
  }
}
