/**
 * A running local cluster (`npm start`, `trib cluster start`) as a ChaosCluster: processes
 * are controlled only through the `trib cluster` command (status --json, kill, stop,
 * restart, pause, resume N; its JSON shape is /work/notes/cluster-json.md, fields only ever
 * added), so the runner signals exactly the processes the launcher started. Cluster state
 * (metadata, ISR) comes from the brokers themselves, as for a fresh cluster.
 *
 * Each node's log.dirs is `<data dir>/node-<id>` (the launcher's layout). Links cannot be cut
 * (every node shares loopback), so partition faults are unavailable. close() leaves the
 * cluster running: the runner restarted whatever it killed before it got here.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ErrorCode, errorInfo } from '@tributary/protocol'
import { BrokerClient } from '../broker-client.ts'
import { nodeBinary, REPO_ROOT, TRIB_BIN, waitFor } from '../controller-cluster.ts'
import type { ChaosCluster, NetworkFaults, PartitionView } from './chaos-cluster.ts'

/** Deadline of one `trib cluster ...` command. */
const TRIB_COMMAND_TIMEOUT_MS = 30_000
/** Deadline of one Metadata probe of one broker. */
const PROBE_TIMEOUT_MS = 1000
/** broker.session.timeout.ms when the launcher's state file sets none (the server's default, DESIGN.md). */
const DEFAULT_SESSION_TIMEOUT_MS = 9000
/** server.log bytes kept per node in dump(). */
const DUMP_TAIL_BYTES = 16 * 1024

/** The part of `trib cluster status --json` the runner reads. */
export interface TribStatusNode {
  readonly id: number
  readonly pid: number
  readonly up: boolean
  readonly paused: boolean
  readonly brokerAddress: string | null
}
export interface TribStatus {
  readonly dataDir: string
  readonly activeController: number | null
  readonly nodes: readonly TribStatusNode[]
}

/** Parses status --json output, keeping the fields above (throws on anything else). */
export function parseTribStatus(text: string): TribStatus {
  const raw: unknown = JSON.parse(text)
  if (typeof raw !== 'object' || raw === null) throw new Error('trib cluster status --json: not an object')
  const o = raw as Record<string, unknown>
  if (typeof o.dataDir !== 'string' || !Array.isArray(o.nodes)) throw new Error('trib cluster status --json: no dataDir or nodes')
  const nodes = o.nodes.map((n: unknown): TribStatusNode => {
    const r = (typeof n === 'object' && n !== null ? n : {}) as Record<string, unknown>
    if (typeof r.id !== 'number' || typeof r.up !== 'boolean') throw new Error('trib cluster status --json: a node without id or up')
    return { id: r.id, pid: typeof r.pid === 'number' ? r.pid : -1, up: r.up, paused: r.paused === true, brokerAddress: typeof r.brokerAddress === 'string' ? r.brokerAddress : null }
  })
  return { dataDir: o.dataDir, activeController: typeof o.activeController === 'number' ? o.activeController : null, nodes }
}

export class TribChaosCluster implements ChaosCluster {
  readonly kind = 'bootstrap'
  readonly network: NetworkFaults | null = null
  readonly networkUnavailableReason = 'a running `npm start` cluster shares loopback: its links cannot be cut'
  readonly sessionTimeoutMs: number
  private readonly dataDirPath: string
  private readonly bootstrapAddress: string
  private status: TribStatus
  private readonly probes = new Map<string, BrokerClient>()

  private constructor(bootstrapAddress: string, dataDir: string, status: TribStatus) {
    this.bootstrapAddress = bootstrapAddress
    this.dataDirPath = dataDir
    this.status = status
    this.sessionTimeoutMs = sessionTimeoutFrom(dataDir)
  }

  static async connect(bootstrap: string, dataDir: string): Promise<TribChaosCluster> {
    const dir = resolve(dataDir)
    const status = parseTribStatus(await trib(['status', '--json'], dir))
    if (status.nodes.length === 0) throw new Error(`the cluster in ${dir} has no nodes`)
    return new TribChaosCluster(bootstrap, dir, status)
  }

  get ids(): readonly number[] {
    return this.status.nodes.map((n) => n.id)
  }

  bootstrap(): string[] {
    const others = this.status.nodes.flatMap((n) => (n.brokerAddress === null ? [] : [n.brokerAddress]))
    return [...new Set([this.bootstrapAddress, ...others])]
  }

  dataDir(id: number): string {
    return join(this.dataDirPath, `node-${id}`)
  }

  isUp(id: number): boolean {
    return this.node(id).up
  }

  isPaused(id: number): boolean {
    return this.node(id).paused
  }

  async kill(id: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    await trib([signal === 'SIGKILL' ? 'kill' : 'stop', String(id)], this.dataDirPath)
    await waitFor(async () => ((await this.refresh()).nodes.find((n) => n.id === id)?.up === false ? true : null), `node ${id} to exit`, TRIB_COMMAND_TIMEOUT_MS)
  }

  async start(id: number): Promise<void> {
    await trib(['restart', String(id)], this.dataDirPath)
    await waitFor(async () => {
      const n = (await this.refresh()).nodes.find((x) => x.id === id)
      if (n?.up !== true || n.brokerAddress === null) return null
      await this.metadataFrom(n.brokerAddress, [])
      return true
    }, `node ${id} to serve`, 60_000)
  }

  async pause(id: number): Promise<void> {
    await trib(['pause', String(id)], this.dataDirPath)
    await this.refresh()
  }

  async resume(id: number): Promise<void> {
    await trib(['resume', String(id)], this.dataDirPath)
    await this.refresh()
  }

  async activeController(): Promise<number | null> {
    return (await this.refresh()).activeController
  }

  async partitions(topic: string): Promise<PartitionView[]> {
    await this.refresh()
    let best: { offset: bigint; views: PartitionView[] } | null = null
    for (const n of this.status.nodes) {
      if (!n.up || n.paused || n.brokerAddress === null) continue
      try {
        const m = await this.metadataFrom(n.brokerAddress, [topic])
        const t = m.topics.find((x) => x.name === topic)
        if (t === undefined || t.errorCode !== ErrorCode.NONE.code) continue
        if (best !== null && m.metadataOffset <= best.offset) continue
        best = { offset: m.metadataOffset, views: t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes })).sort((a, b) => a.partition - b.partition) }
      } catch {
        // The next node.
      }
    }
    return best?.views ?? []
  }

  async waitWhole(timeoutMs: number): Promise<void> {
    const status = await this.refresh()
    for (const n of status.nodes) if (n.up && n.paused) await this.resume(n.id)
    for (const n of status.nodes) if (!n.up) await this.start(n.id)
    await waitFor(async () => {
      const s = await this.refresh()
      for (const n of s.nodes) {
        if (!n.up || n.paused || n.brokerAddress === null) return null
        const listed = new Set((await this.metadataFrom(n.brokerAddress, [])).brokers.map((b) => b.nodeId))
        if (!s.nodes.every((x) => listed.has(x.id))) return null
      }
      return true
    }, 'every node up and listed as an unfenced broker by every node', timeoutMs)
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Readonly<Record<string, string>>): Promise<void> {
    const c = new BrokerClient({ bootstrap: this.bootstrap() })
    try {
      const res = await c.createTopics([{ name, numPartitions: partitions, replicationFactor, configs: { ...configs } }])
      const code = res.errorCode !== ErrorCode.NONE.code ? res.errorCode : (res.topics.find((t) => t.name === name)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code)
      if (code !== ErrorCode.NONE.code) throw new Error(`CreateTopics ${name}: ${errorInfo(code).name}`)
    } finally {
      c.close()
    }
    await waitFor(async () => {
      const views = await this.partitions(name)
      return views.length === partitions && views.every((p) => p.leader >= 0) ? true : null
    }, `topic ${name} with ${partitions} led partitions`, 30_000)
  }

  dump(): string {
    return this.ids.map((id) => {
      let tail = ''
      try {
        tail = readFileSync(join(this.dataDir(id), 'server.log'), 'utf8').slice(-DUMP_TAIL_BYTES)
      } catch {
        tail = '(no server.log)'
      }
      return `--- node ${id} (${this.dataDir(id)}/server.log, tail)\n${tail}`
    }).join('\n')
  }

  /** Not used: a running cluster's replicas are read while idle (see run-chaos.ts). */
  async stopAll(): Promise<void> {}

  async close(): Promise<void> {
    for (const p of this.probes.values()) p.close()
    this.probes.clear()
  }

  private node(id: number): TribStatusNode {
    const n = this.status.nodes.find((x) => x.id === id)
    if (n === undefined) throw new Error(`no node ${id} in the cluster`)
    return n
  }

  private async refresh(): Promise<TribStatus> {
    this.status = parseTribStatus(await trib(['status', '--json'], this.dataDirPath))
    return this.status
  }

  private metadataFrom(address: string, topics: readonly string[]): ReturnType<BrokerClient['metadataFrom']> {
    let probe = this.probes.get(address)
    if (probe === undefined) {
      probe = new BrokerClient({ bootstrap: [address], callTimeoutMs: PROBE_TIMEOUT_MS })
      this.probes.set(address, probe)
    }
    return probe.metadataFrom(address, topics)
  }
}

/**
 * The largest broker.session.timeout.ms among the overrides the launcher recorded for its
 * nodes (<data dir>/cluster.json), else the server's default.
 */
function sessionTimeoutFrom(dataDir: string): number {
  const found: number[] = []
  try {
    const state: unknown = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8'))
    const nodes = typeof state === 'object' && state !== null && Array.isArray((state as { nodes?: unknown }).nodes) ? (state as { nodes: unknown[] }).nodes : []
    for (const n of nodes) {
      const overrides = typeof n === 'object' && n !== null && Array.isArray((n as { overrides?: unknown }).overrides) ? (n as { overrides: unknown[] }).overrides : []
      for (const o of overrides) {
        const m = typeof o === 'string' ? /^broker\.session\.timeout\.ms=([0-9]+)$/.exec(o) : null
        if (m !== null) found.push(Number(m[1]))
      }
    }
  } catch {
    // No readable state file: the default.
  }
  return found.length === 0 ? DEFAULT_SESSION_TIMEOUT_MS : Math.max(...found)
}

/** Runs `trib cluster <args> --data-dir <dir>`; resolves with stdout, rejects with its one stderr line. */
function trib(args: readonly string[], dataDir: string): Promise<string> {
  return new Promise((resolveOut, reject) => {
    execFile(nodeBinary(), [TRIB_BIN, 'cluster', ...args, '--data-dir', dataDir], { cwd: REPO_ROOT, timeout: TRIB_COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`trib cluster ${args.join(' ')}: ${stderr.trim() || error.message}`))
      else resolveOut(stdout)
    })
  })
}
