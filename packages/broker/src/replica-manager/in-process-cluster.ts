/**
 * Test support (not exported from the package): several ReplicaManagers in one process,
 * wired the way the node wires them over gRPC, so scenario tests can tell replication stories.
 *
 *   - The controller is the real ControllerStateMachine over a fake Raft log that commits at
 *     once: topic creation, fencing, registration and AlterPartition validation are the real
 *     ones. Every committed image is handed to every running manager, in order.
 *   - LeaderChannels call the leader manager's fetch / offsetsForLeaderEpoch directly; a link
 *     from a follower to a leader can be cut (calls reject like a broken connection).
 *   - Time for replication decisions is a fake clock the test moves (lag, ISR shrink), so no
 *     follower drops out of the ISR unless a story says so. Timers (long polls, fetch back-off)
 *     stay real and short.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ControllerStateMachine,
  DEFAULT_CONTROLLER_CONFIG,
  SeededRandom,
  encodeMetadataRecordBatch,
  silentLogger,
  type ControllerCommand,
  type ControllerResult,
  type Logger,
  type MetadataImage,
  type RaftEntry,
} from '@tributary/metadata-quorum'
import { encodeRecordBatch, iterateBatches, decodeRecords, type NodeId, type broker, type controller } from '@tributary/protocol'
import { ReplicaManager } from './replica-manager.js'
import type { ControllerChannel, LeaderChannel, LeaderChannels, ReplicaManagerConfig } from './types.js'

const CONTROLLER_ID = 100 as NodeId

export interface ClusterOptions {
  readonly brokers?: readonly number[]
  readonly config?: Partial<ReplicaManagerConfig>
  readonly logger?: Logger
}

export class TransportError extends Error {
  override name = 'TransportError'
}

export class InProcessCluster {
  readonly root: string
  readonly managers = new Map<number, ReplicaManager>()
  readonly brokerEpochs = new Map<number, bigint>()
  /** `${from}->${to}`: fetches from broker `from` to leader `to` fail. */
  readonly cutLinks = new Set<string>()
  /** The fake clock replication decisions read. */
  nowMs = 1_700_000_000_000
  readonly storageFailures: unknown[] = []
  private readonly sm: ControllerStateMachine
  private readonly raftLog: RaftEntry[] = []
  private readonly options: ClusterOptions
  private publishing: Promise<void> = Promise.resolve()

  private constructor(root: string, options: ClusterOptions) {
    this.root = root
    this.options = options
    this.sm = new ControllerStateMachine({ ...DEFAULT_CONTROLLER_CONFIG, brokerSessionTimeoutMs: 60_000, defaultReplicationFactor: 3 }, new SeededRandom(7), silentLogger, CONTROLLER_ID)
    const entry: RaftEntry = { epoch: 1, offset: 0, kind: 'leader_change', data: new Uint8Array(0) }
    this.raftLog.push(entry)
    this.sm.applyCommitted(entry)
    this.sm.becomeActive(1, this.nowMs)
  }

  static async start(options: ClusterOptions = {}): Promise<InProcessCluster> {
    const cluster = new InProcessCluster(await mkdtemp(join(tmpdir(), 'tributary-replicas-')), options)
    for (const id of options.brokers ?? [1, 2, 3]) await cluster.startBroker(id)
    return cluster
  }

  get image(): MetadataImage {
    return this.sm.committedImage
  }

  manager(id: number): ReplicaManager {
    const m = this.managers.get(id)
    if (m === undefined) throw new Error(`broker ${id} is not running`)
    return m
  }

  configOf(id: number): ReplicaManagerConfig {
    return {
      brokerId: id as NodeId,
      logDir: join(this.root, `node-${id}`),
      durability: 'fsync',
      replicaLagTimeMaxMs: 200,
      replicaFetchWaitMaxMs: 50,
      replicaFetchMaxBytes: 1024 * 1024,
      replicaFetchResponseMaxBytes: 4 * 1024 * 1024,
      replicaFetchBackoffMs: 20,
      minInsyncReplicas: 1,
      segmentBytes: 64 * 1024,
      rollMs: 7 * 24 * 3600 * 1000,
      retentionMs: -1,
      retentionBytes: -1,
      maxMessageBytes: 1024 * 1024 + 12,
      retentionCheckIntervalMs: 60_000,
      checkpointIntervalMs: 100,
      ...this.options.config,
    }
  }

  /** Starts (or restarts) broker `id` from its directory: registers it, unfences it, hands it the image. */
  async startBroker(id: number): Promise<ReplicaManager> {
    if (this.managers.has(id)) throw new Error(`broker ${id} already runs`)
    const manager = new ReplicaManager({
      config: this.configOf(id),
      leaderChannels: this.leaderChannels(id),
      controllerChannel: this.controllerChannel(),
      logger: this.options.logger ?? (process.env.TRIB_TEST_LOG !== undefined ? consoleLogger(id) : silentLogger),
      clock: () => this.nowMs,
      onStorageFailure: (err) => this.storageFailures.push(err),
    })
    const registered = this.run({
      type: 'register_broker',
      request: { brokerId: id, incarnationId: `broker-${id}-${this.raftLog.length}`, endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9000 + id }], rack: '' },
    })
    if (registered.response.type !== 'register_broker' || registered.response.response.errorCode !== 0) throw new Error(`registration of ${id} failed`)
    const brokerEpoch = registered.response.response.brokerEpoch
    this.brokerEpochs.set(id, brokerEpoch)
    manager.setBrokerEpoch(brokerEpoch)
    await this.publish()
    this.managers.set(id, manager)
    await manager.applyMetadata(this.image)
    await this.heartbeat(id, {})
    return manager
  }

  async stopBroker(id: number): Promise<void> {
    const manager = this.manager(id)
    this.managers.delete(id)
    await manager.close()
  }

  async heartbeat(id: number, fields: Partial<controller.BrokerHeartbeatRequest>): Promise<controller.BrokerHeartbeatResponse> {
    const result = this.run({
      type: 'broker_heartbeat',
      request: { brokerId: id, brokerEpoch: this.brokerEpochs.get(id) ?? -1n, currentMetadataOffset: BigInt(this.image.offset), wantFence: false, wantShutdown: false, ...fields },
    })
    await this.publish()
    if (result.response.type !== 'broker_heartbeat') throw new Error('not a heartbeat answer')
    return result.response.response
  }

  async createTopic(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<void> {
    const result = this.run({ type: 'create_topics', request: { topics: [{ name, numPartitions, replicationFactor, configs }], validateOnly: false } })
    if (result.response.type !== 'create_topics' || result.response.response.topics[0]?.errorCode !== 0) throw new Error(`create ${name} failed: ${JSON.stringify(result.response.response)}`)
    await this.publish()
  }

  async deleteTopic(name: string): Promise<void> {
    this.run({ type: 'delete_topics', request: { names: [name] } })
    await this.publish()
  }

  async electPreferred(topic: string, partition: number): Promise<void> {
    this.run({ type: 'elect_leaders', request: { electionType: 0, topicPartitions: [{ topic, partitions: [partition] }] } })
    await this.publish()
  }

  partitionOf(topic: string, partition: number): { leader: number; leaderEpoch: number; isr: readonly number[]; replicas: readonly number[] } {
    const p = this.image.topic(topic)?.partitions.get(partition)
    if (p === undefined) throw new Error(`no partition ${topic}-${partition}`)
    return p
  }

  leaderOf(topic: string, partition = 0): number {
    return this.partitionOf(topic, partition).leader
  }

  async close(): Promise<void> {
    for (const id of [...this.managers.keys()]) await this.stopBroker(id)
    await rm(this.root, { recursive: true, force: true })
  }

  // ---------------------------------------------------------------------------- controller

  private run(command: ControllerCommand): ControllerResult {
    const result = this.sm.handle(command, this.nowMs)
    if (result.records.length > 0) {
      const offset = this.raftLog.length
      this.sm.recordProposed(offset, result.records)
      const entry: RaftEntry = { epoch: 1, offset, kind: 'data', data: encodeMetadataRecordBatch(result.records) }
      this.raftLog.push(entry)
      this.sm.applyCommitted(entry)
    }
    return result
  }

  /** Hands the committed image to every running manager, in image order. */
  private publish(): Promise<void> {
    const image = this.image
    const managers = [...this.managers.values()]
    this.publishing = this.publishing.then(() => Promise.all(managers.map((m) => m.applyMetadata(image))).then(() => {}))
    return this.publishing
  }

  private controllerChannel(): ControllerChannel {
    return {
      alterPartition: async (request) => {
        const result = this.run({ type: 'alter_partition', request })
        await this.publish()
        if (result.response.type !== 'alter_partition') throw new Error('not an AlterPartition answer')
        return result.response.response
      },
    }
  }

  private leaderChannels(from: number): LeaderChannels {
    return {
      open: (leaderId): LeaderChannel => {
        let closed = false
        const inFlight = new Set<{ abort: AbortController; reject: (err: Error) => void }>()
        const call = async <T>(fn: (target: ReplicaManager, signal: AbortSignal) => Promise<T>): Promise<T> => {
          const target = this.managers.get(leaderId)
          if (closed) throw new TransportError('channel closed')
          if (target === undefined || this.cutLinks.has(`${from}->${leaderId}`)) throw new TransportError(`no route from ${from} to ${leaderId}`)
          const abort = new AbortController()
          return new Promise<T>((resolve, reject) => {
            const entry = { abort, reject }
            inFlight.add(entry)
            fn(target, abort.signal).then(
              (value) => {
                inFlight.delete(entry)
                if (this.cutLinks.has(`${from}->${leaderId}`)) reject(new TransportError('link cut during the call'))
                else resolve(value)
              },
              (err: unknown) => {
                inFlight.delete(entry)
                reject(err instanceof Error ? err : new Error(String(err)))
              },
            )
          })
        }
        return {
          fetch: (request: broker.FetchRequest) => call((target, signal) => target.fetch(request, signal)),
          offsetsForLeaderEpoch: (request: broker.OffsetsForLeaderEpochRequest) => call((target) => target.offsetsForLeaderEpoch(request)),
          close: () => {
            closed = true
            for (const entry of inFlight) {
              entry.abort.abort()
              entry.reject(new TransportError('channel closed'))
            }
            inFlight.clear()
          },
        }
      },
    }
  }

  // ---------------------------------------------------------------------------- data

  /** Produces `values` as one batch to the partition's leader (or `via`). */
  async produce(topic: string, partition: number, values: readonly string[], options: { acks?: number; via?: number; timeoutMs?: number; producer?: { id: bigint; epoch: number; sequence: number } } = {}): Promise<broker.ProducePartitionResponse> {
    const via = options.via ?? this.leaderOf(topic, partition)
    const records = encodeRecordBatch({
      producerId: options.producer?.id,
      producerEpoch: options.producer?.epoch,
      baseSequence: options.producer?.sequence,
      records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), headers: [], timestamp: BigInt(this.nowMs) })),
    })
    const response = await this.manager(via).produce({
      acks: options.acks ?? -1,
      timeoutMs: options.timeoutMs ?? 5000,
      transactionalId: '',
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, records }] }],
    })
    const answer = response?.topics[0]?.partitions[0]
    if (answer === undefined) throw new Error('no produce answer')
    return answer
  }

  /** Bytes of broker `id`'s log of the partition in [log start, end), where `end` defaults to its HW. */
  async logBytes(id: number, topic: string, partition: number, end?: bigint): Promise<Buffer> {
    const p = this.manager(id).partition(topic, partition)
    if (p === undefined) throw new Error(`broker ${id} has no ${topic}-${partition}`)
    const stop = end ?? p.highWatermark
    const chunks: Buffer[] = []
    let offset = p.logStartOffset
    while (offset < stop) {
      const read = await p.read(offset, 16 * 1024 * 1024, stop, true)
      if (read.kind !== 'ok') throw new Error(`read failed: ${read.kind}`)
      if (read.nextOffset <= offset) break
      chunks.push(read.bytes)
      offset = read.nextOffset
    }
    return Buffer.concat(chunks)
  }

  /** The values of the records in broker `id`'s log, up to its HW (or `end`). */
  async values(id: number, topic: string, partition: number, end?: bigint): Promise<string[]> {
    return valuesIn(await this.logBytes(id, topic, partition, end))
  }
}

/** TRIB_TEST_LOG=debug|info|warn prints each broker's log lines (for debugging a story). */
function consoleLogger(id: number): Logger {
  const levels = ['debug', 'info', 'warn', 'error']
  const min = Math.max(0, levels.indexOf(process.env.TRIB_TEST_LOG ?? 'info'))
  const at = (level: string) => (fields: object, msg: string): void => {
    if (levels.indexOf(level) < min) return
    const text = JSON.stringify(fields, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
    process.stdout.write(`[broker ${id}] ${level} ${msg} ${text}\n`)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export function valuesIn(bytes: Buffer): string[] {
  const out: string[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') throw new Error('not whole batches')
    for (const r of decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes))) out.push(r.value?.toString() ?? '')
  }
  return out
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
