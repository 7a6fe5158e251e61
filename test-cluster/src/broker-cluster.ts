/**
 * BrokerCluster: N real `trib server` processes in combined mode (process.roles
 * broker,controller) on loopback, for multi-process tests and the broker benchmarks.
 *
 * Process control (spawn, SIGKILL, SIGTERM, SIGSTOP/SIGCONT, restart with the same id, ports
 * and directory; output kept for dump()) is ControllerCluster's, started with `combined:
 * true`. This file adds what the broker side needs: clients of BrokerService (broker-client.ts),
 * waits on what Metadata says (brokers registered and unfenced, a topic's partitions led, an
 * ISR back to full size), and which node leads a partition.
 *
 * Cluster-state questions are asked of every running, unpaused node, and the answer with the
 * highest metadata offset wins: every node replays the same metadata log, so that one is
 * the freshest view. Every wait has a deadline.
 */
import { performance } from 'node:perf_hooks'
import { ErrorCode, errorInfo, type broker, type controller } from '@tributary/protocol'
import { BrokerClient, type BrokerClientOptions } from './broker-client.ts'
import { ControllerCluster, waitFor, WAIT_TIMEOUT_MS, type NodeNetwork } from './controller-cluster.ts'

/** Deadline of the cluster's own Metadata probes: short, so a hung node does not stall a wait. */
export const PROBE_TIMEOUT_MS = 500

export interface BrokerClusterOptions {
  readonly size?: number
  /** Extra `key=value` overrides for every node. */
  readonly overrides?: readonly string[]
  /** Deadline of the controller clients' calls (see ControllerCluster). */
  readonly callTimeoutMs?: number
  readonly dirPrefix?: string
  /** How long start() waits for every broker to be registered and unfenced. */
  readonly startTimeoutMs?: number
  /** Per-node host and command prefix: nodes in network namespaces (src/netns/netns-cluster.ts). */
  readonly network?: NodeNetwork
}

export interface TopicSpec {
  readonly partitions?: number
  readonly replicationFactor?: number
  readonly configs?: Readonly<Record<string, string>>
}

/** One node's answer to Metadata, with the node that gave it. */
export interface NodeView {
  readonly nodeId: number
  readonly metadata: broker.MetadataResponse
}

export class BrokerCluster {
  readonly processes: ControllerCluster
  private readonly paused = new Set<number>()
  private readonly clients: BrokerClient[] = []
  /** One client per node for probes (Metadata from that node only). */
  private readonly probes = new Map<number, BrokerClient>()

  private constructor(processes: ControllerCluster) {
    this.processes = processes
  }

  /** Starts every node and waits until each one's Metadata lists every broker as unfenced. */
  static async start(options: BrokerClusterOptions = {}): Promise<BrokerCluster> {
    const processes = await ControllerCluster.start({
      size: options.size ?? 3,
      overrides: options.overrides ?? [],
      ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
      dirPrefix: options.dirPrefix ?? 'trib-brokers-',
      combined: true,
      ...(options.network === undefined ? {} : { network: options.network }),
    })
    const cluster = new BrokerCluster(processes)
    try {
      await cluster.waitForBrokers({ timeoutMs: options.startTimeoutMs ?? WAIT_TIMEOUT_MS })
    } catch (err) {
      const dump = cluster.dump()
      await cluster.close()
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${dump}`)
    }
    return cluster
  }

  get ids(): number[] {
    return this.processes.ids
  }

  runningIds(): number[] {
    return this.processes.runningIds()
  }

  /** Running and not paused: the nodes that can answer. */
  liveIds(): number[] {
    return this.runningIds().filter((id) => !this.paused.has(id))
  }

  brokerAddress(id: number): string {
    return this.processes.brokerAddress(id)
  }

  /** Every node's broker address: a client's bootstrap list. */
  bootstrap(): string[] {
    return this.ids.map((id) => this.brokerAddress(id))
  }

  /** A new client bootstrapped with every node (closed by close()). */
  client(options: Partial<BrokerClientOptions> = {}): BrokerClient {
    const c = new BrokerClient({ bootstrap: this.bootstrap(), ...options })
    this.clients.push(c)
    return c
  }

  // ---- process control (ControllerCluster's) ------------------------------------------

  /** Signals a node and waits for it to exit (SIGKILL by default). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.paused.has(id)) this.resume(id)
    return this.processes.kill(id, signal)
  }

  /** SIGTERM: a controlled shutdown (leaderships move away first). */
  stop(id: number): Promise<number | null> {
    return this.kill(id, 'SIGTERM')
  }

  pause(id: number): void {
    this.processes.pause(id)
    this.paused.add(id)
  }

  resume(id: number): void {
    this.processes.resume(id)
    this.paused.delete(id)
  }

  /** Starts a stopped node without waiting; returns performance.now() of the spawn. */
  spawn(id: number): number {
    return this.processes.spawn(id)
  }

  /** Starts a stopped node again and waits until it serves as a registered, unfenced broker. */
  async restart(id: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    this.processes.spawn(id)
    await this.processes.waitForServing(id, timeoutMs)
    await this.waitForBrokers({ timeoutMs })
  }

  // ---- views ---------------------------------------------------------------------------

  /** Metadata as node `id` answers it (throws if it does not answer within PROBE_TIMEOUT_MS). */
  async metadataFrom(id: number, topics: readonly string[] = []): Promise<broker.MetadataResponse> {
    let probe = this.probes.get(id)
    if (probe === undefined) {
      probe = new BrokerClient({ bootstrap: [this.brokerAddress(id)], callTimeoutMs: PROBE_TIMEOUT_MS })
      this.probes.set(id, probe)
    }
    return probe.metadataFrom(this.brokerAddress(id), topics)
  }

  /** Every live node's Metadata (nodes that do not answer are left out). */
  async views(topics: readonly string[] = []): Promise<NodeView[]> {
    const answers = await Promise.all(this.liveIds().map(async (nodeId) => {
      try {
        return { nodeId, metadata: await this.metadataFrom(nodeId, topics) }
      } catch {
        return null
      }
    }))
    return answers.filter((a): a is NodeView => a !== null)
  }

  /** The freshest view (highest metadata offset) among the live nodes, or null if none answers. */
  async freshestView(topics: readonly string[] = []): Promise<NodeView | null> {
    const views = await this.views(topics)
    let best: NodeView | null = null
    for (const v of views) if (best === null || v.metadata.metadataOffset > best.metadata.metadataOffset) best = v
    return best
  }

  /** The partition as the freshest view has it, or null if no node knows it. */
  async partitionState(topic: string, partition: number): Promise<broker.MetadataPartition | null> {
    const view = await this.freshestView([topic])
    return view === null ? null : findPartition(view.metadata, topic, partition)
  }

  // ---- waits ---------------------------------------------------------------------------

  /**
   * Waits until every live node (or each of `on`) lists each of `ids` (default: the running
   * nodes) among its brokers. Metadata lists unfenced brokers only, so this also means
   * "registered and unfenced".
   */
  async waitForBrokers(options: { ids?: readonly number[]; on?: readonly number[]; timeoutMs?: number } = {}): Promise<void> {
    await waitFor(async () => {
      const ids = options.ids ?? this.runningIds()
      for (const nodeId of options.on ?? this.liveIds()) {
        const m = await this.metadataFrom(nodeId)
        const listed = new Set(m.brokers.map((b) => b.nodeId))
        if (!ids.every((id) => listed.has(id))) return null
      }
      return true
    }, `brokers ${(options.ids ?? this.runningIds()).join(',')} to be listed by every live node`, options.timeoutMs)
  }

  /**
   * Creates a topic through a broker (forwarded to the active controller) and waits until
   * every live node's Metadata has every partition with a live leader. Throws on an error.
   */
  async createTopic(name: string, spec: TopicSpec = {}, timeoutMs = WAIT_TIMEOUT_MS): Promise<controller.CreateTopicResult> {
    const c = this.client()
    try {
      const res = await c.createTopics([{ name, numPartitions: spec.partitions ?? 1, replicationFactor: spec.replicationFactor ?? 3, configs: { ...spec.configs } }], timeoutMs)
      const result = res.topics.find((t) => t.name === name)
      if (res.errorCode !== ErrorCode.NONE.code) throw new Error(`CreateTopics ${name}: ${errorInfo(res.errorCode).name} ${res.errorMessage}`)
      if (result === undefined) throw new Error(`CreateTopics ${name}: no result for the topic`)
      if (result.errorCode !== ErrorCode.NONE.code) throw new Error(`CreateTopics ${name}: ${errorInfo(result.errorCode).name} ${result.errorMessage}`)
      await this.waitForTopic(name, result.numPartitions, timeoutMs)
      return result
    } finally {
      c.close()
    }
  }

  /** Waits until every live node sees `partitions` partitions of `topic`, each led by a running node. */
  async waitForTopic(topic: string, partitions: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    await waitFor(async () => {
      for (const nodeId of this.liveIds()) {
        const m = await this.metadataFrom(nodeId, [topic])
        const t = m.topics.find((x) => x.name === topic)
        if (t === undefined || t.errorCode !== ErrorCode.NONE.code || t.partitions.length !== partitions) return null
        if (!t.partitions.every((p) => p.leaderId >= 0 && this.processes.isRunning(p.leaderId))) return null
      }
      return true
    }, `topic ${topic} with ${partitions} led partitions on every live node`, timeoutMs)
  }

  /** Waits until the freshest view of the partition satisfies `accept`; returns that state. */
  async waitForPartition(topic: string, partition: number, accept: (p: broker.MetadataPartition) => boolean, what: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<broker.MetadataPartition> {
    return waitFor(async () => {
      const p = await this.partitionState(topic, partition)
      return p !== null && accept(p) ? p : null
    }, `${topic}-${partition}: ${what}`, timeoutMs)
  }

  /** The node leading the partition now (waits until one running node leads it). */
  async leaderOf(topic: string, partition: number, options: { exclude?: readonly number[]; timeoutMs?: number } = {}): Promise<number> {
    const exclude = options.exclude ?? []
    const p = await this.waitForPartition(topic, partition, (s) => s.leaderId >= 0 && !exclude.includes(s.leaderId) && this.processes.isRunning(s.leaderId), `a running leader${exclude.length > 0 ? ` other than ${exclude.join(',')}` : ''}`, options.timeoutMs)
    return p.leaderId
  }

  /** Waits until the ISR is exactly `ids` (any order; default: every replica). */
  async waitForIsr(topic: string, partition: number, ids?: readonly number[], timeoutMs = WAIT_TIMEOUT_MS): Promise<broker.MetadataPartition> {
    return this.waitForPartition(topic, partition, (p) => sameSet(p.isrNodes, ids ?? p.replicaNodes), `ISR ${ids === undefined ? '= every replica' : `= {${ids.join(',')}}`}`, timeoutMs)
  }

  /**
   * Polls until `probe` returns a value; returns it with performance.now() of the answer.
   * (test-cluster's waitFor, timed.)
   */
  async timed<T>(probe: () => Promise<T | null>, what: string, timeoutMs = WAIT_TIMEOUT_MS, intervalMs = 10): Promise<{ value: T; atMs: number }> {
    const value = await waitFor(probe, what, timeoutMs, intervalMs)
    return { value, atMs: performance.now() }
  }

  dump(): string {
    return this.processes.dump()
  }

  /** Closes every client, kills whatever still runs, and removes the directories (unless keepDirs). */
  async close(options: { keepDirs?: boolean } = {}): Promise<void> {
    for (const c of this.clients.splice(0)) c.close()
    for (const p of this.probes.values()) p.close()
    this.probes.clear()
    for (const id of [...this.paused]) this.resume(id)
    await this.processes.close(options)
  }
}

export function findPartition(m: broker.MetadataResponse, topic: string, partition: number): broker.MetadataPartition | null {
  return m.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition) ?? null
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
