/**
 * A fresh cluster of N combined `trib server` processes started for one chaos run: the
 * multi-process harness (BrokerCluster) on loopback, or the same processes each in a network
 * namespace of its own (NetnsCluster), which adds the link faults.
 */
import { ErrorCode } from '@tributary/protocol'
import { sleep } from './chaos-clock.ts'
import { BrokerCluster } from '../broker-cluster.ts'
import { isPidAlive } from '../controller-cluster.ts'
import { NetnsCluster } from '../netns/netns-cluster.ts'
import type { ChaosCluster, NetworkFaults, PartitionView } from './chaos-cluster.ts'
import { BROKER_SESSION_TIMEOUT_MS } from './chaos-limits.ts'

export class LocalChaosCluster implements ChaosCluster {
  readonly kind: 'local' | 'netns'
  /** The runner's nodes get NODE_OVERRIDES, which set it. */
  readonly sessionTimeoutMs = BROKER_SESSION_TIMEOUT_MS
  readonly network: NetworkFaults | null
  readonly networkUnavailableReason: string | null
  private readonly cluster: BrokerCluster
  private readonly closeAll: (keepDirs: boolean) => Promise<void>
  private readonly paused = new Set<number>()

  private constructor(cluster: BrokerCluster, network: NetworkFaults | null, networkUnavailableReason: string | null, closeAll: (keepDirs: boolean) => Promise<void>) {
    this.kind = network === null ? 'local' : 'netns'
    this.cluster = cluster
    this.network = network
    this.networkUnavailableReason = networkUnavailableReason
    this.closeAll = closeAll
  }

  /** On loopback, without network faults (`why` says why they are unavailable). */
  static async start(size: number, overrides: readonly string[], why = 'the loopback cluster has no network namespaces'): Promise<LocalChaosCluster> {
    const cluster = await BrokerCluster.start({ size, overrides, dirPrefix: 'trib-chaos-', startTimeoutMs: 60_000 })
    return new LocalChaosCluster(cluster, null, why, (keepDirs) => cluster.close({ keepDirs }))
  }

  /** One network namespace per node (needs root and `ip netns`: netnsAvailable()). */
  static async startInNamespaces(size: number, overrides: readonly string[]): Promise<LocalChaosCluster> {
    const netns = await NetnsCluster.start({ size, overrides, dirPrefix: 'trib-chaos-netns-', startTimeoutMs: 60_000 })
    const network: NetworkFaults = {
      cut: (a, b) => netns.cut(a, b),
      heal: (a, b) => netns.heal(a, b),
      isolate: (id) => netns.isolate(id),
      healAll: () => netns.healAll(),
    }
    return new LocalChaosCluster(netns.brokers, network, null, (keepDirs) => netns.close({ keepDirs }))
  }

  get ids(): readonly number[] {
    return this.cluster.ids
  }

  bootstrap(): string[] {
    return this.cluster.bootstrap()
  }

  dataDir(id: number): string {
    return this.cluster.processes.logDir(id)
  }

  isUp(id: number): boolean {
    return this.cluster.processes.isRunning(id)
  }

  isPaused(id: number): boolean {
    return this.paused.has(id)
  }

  async kill(id: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    this.paused.delete(id)
    const pid = this.cluster.processes.pid(id)
    try {
      await this.cluster.kill(id, signal)
    } catch (err) {
      // The harness gave up waiting (a clean stop slower than PROCESS_EXIT_TIMEOUT_MS on a
      // loaded machine) and forgot the process: make sure it is gone before anyone restarts
      // the node on the same ports and directory.
      await killAndWait(pid)
      throw err
    }
  }

  async start(id: number): Promise<void> {
    this.cluster.spawn(id)
    await this.cluster.processes.waitForServing(id, 60_000)
  }

  async pause(id: number): Promise<void> {
    this.cluster.pause(id)
    this.paused.add(id)
  }

  async resume(id: number): Promise<void> {
    this.cluster.resume(id)
    this.paused.delete(id)
  }

  async activeController(): Promise<number | null> {
    const q = await this.cluster.processes.leaderQuorum()
    return q === null || q.leaderId < 0 ? null : q.leaderId
  }

  async partitions(topic: string): Promise<PartitionView[]> {
    const view = await this.cluster.freshestView([topic])
    const t = view?.metadata.topics.find((x) => x.name === topic)
    if (t === undefined || t.errorCode !== ErrorCode.NONE.code) return []
    return t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes }))
      .sort((a, b) => a.partition - b.partition)
  }

  async waitWhole(timeoutMs: number): Promise<void> {
    for (const id of this.ids) if (this.paused.has(id)) await this.resume(id)
    for (const id of this.ids) if (!this.isUp(id)) await this.start(id)
    await this.cluster.waitForBrokers({ ids: this.ids, timeoutMs })
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Readonly<Record<string, string>>): Promise<void> {
    await this.cluster.createTopic(name, { partitions, replicationFactor, configs })
  }

  dump(): string {
    return this.cluster.dump()
  }

  async stopAll(): Promise<void> {
    for (const id of this.ids) if (this.paused.has(id)) await this.resume(id)
    // One at a time: each clean stop moves its leaderships to nodes still running.
    for (const id of this.ids) if (this.isUp(id)) await this.kill(id, 'SIGTERM')
  }

  async close(options: { keepDirs: boolean }): Promise<void> {
    await this.closeAll(options.keepDirs)
  }
}

/** Deadline for a SIGKILLed process to disappear. */
const SIGKILL_EXIT_TIMEOUT_MS = 10_000

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return
  }
  for (let waitedMs = 0; isPidAlive(pid) && waitedMs < SIGKILL_EXIT_TIMEOUT_MS; waitedMs += 50) await sleep(50)
}
