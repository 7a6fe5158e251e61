/**
 * ReplicaManager: every partition replica on this broker (Kafka's ReplicaManager), behind
 * the ReplicaService contract (types.ts). It owns:
 *   - the partitions (partition/partition.ts), keyed by `<topic>-<partition>`;
 *   - their roles, driven by metadata: applyMetadata diffs the new image against the last one
 *     (localChanges) and makes each partition leader, follower, or deletes it, one image at a
 *     time and one partition transition at a time;
 *   - the leader-side request handlers (produce-, fetch-, offsets-handler.ts);
 *   - the follower side: one replica fetcher per leader broker (replica-fetcher.ts);
 *   - ISR changes: a periodic shrink check (replica.lag.time.max.ms / 2) and the expands that
 *     follower fetches propose, sent through AlterPartitionSender;
 *   - periodic work: checkpoints (recovery point, high watermark) and retention.
 *
 * Start-up: the first applyMetadata first cleans the log directory against that image
 * (log-dir-scan.ts: unassigned directories are moved aside as strays, never deleted), then
 * opens (recovers) each assigned partition as its transition needs it. A partition that does
 * not open answers KAFKA_STORAGE_ERROR; the error is logged and the broker carries on. The
 * caller should hand the first image once the broker has caught up with the metadata log
 * (Kafka's broker does the same), or directories of topics it has not seen yet become strays.
 *
 * Storage failure at run time (a failed write or fsync) fails that partition and calls
 * options.onStorageFailure once: the node should exit and recover from disk on restart.
 */
import { existsSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import {
  AssertionError,
  MetadataImage,
  localChanges,
  nodeSyncOps,
  type FsSyncOps,
  type LocalPartitionChange,
  type Logger,
  type PartitionRegistration,
} from '@tributary/metadata-quorum'
import { compressionCodecs, NO_NODE, type CompressionCodecs, type NodeId, type broker } from '@tributary/protocol'
import { LOG_CLEANER_BACKOFF_MS_DEFAULT, LOG_CLEANER_ENABLE_DEFAULT } from '../log/cleaner/cleaner-config.js'
import { partitionDir } from '../log/partition-dir.js'
import { moveAsideAsStray, recordedTopicId, scanLogDir } from '../partition/log-dir-scan.js'
import { Partition } from '../partition/partition.js'
import { topicSettings, type TopicSettings } from '../partition/topic-config.js'
import type { ProducerStateConfig } from '../producer/producer-state-manager.js'
import { AlterPartitionSender } from './alter-partition-sender.js'
import { FetchHandler } from './fetch-handler.js'
import { OffsetsHandler } from './offsets-handler.js'
import { ProduceHandler } from './produce-handler.js'
import { RecentAppends } from './recent-appends.js'
import { ReplicaFetcherManager } from './replica-fetcher.js'
import { PARTITION_OPEN_CONCURRENCY } from './replica-limits.js'
import type { ControllerChannel, LeaderChannels, ReplicaManagerConfig, ReplicaService } from './types.js'

/** The periodic rounds over every partition (log.flush.offset.checkpoint.interval.ms, log.retention.check.interval.ms). */
type PeriodicRound = 'checkpoint' | 'retention' | 'cleaner'

export interface ReplicaManagerOptions {
  readonly config: ReplicaManagerConfig
  /** How followers reach leaders (one channel per leader broker). */
  readonly leaderChannels: LeaderChannels
  /** How partition leaders reach the active controller (AlterPartition). */
  readonly controllerChannel: ControllerChannel
  readonly logger: Logger
  /**
   * A write or fsync failed: that partition answers KAFKA_STORAGE_ERROR from now on. Called
   * once per failed partition; the node should exit and recover from disk on restart.
   */
  readonly onStorageFailure?: (err: unknown) => void
  /** Time for replication decisions (lag, retention); Date.now by default. Timers stay real. */
  readonly clock?: () => number
  /** Injectable fsyncs (tests count or fail them). */
  readonly syncOps?: FsSyncOps
  /**
   * Codecs for validating (leader and follower appends) and recovering compressed batches; all
   * four (gzip, snappy, lz4, zstd) by default. The log keeps the producer's compressed bytes as
   * they are (Kafka re-compresses only when the topic's compression.type differs, which this
   * broker does not support). An empty object makes leaders refuse compressed batches
   * (UNSUPPORTED_COMPRESSION_TYPE).
   */
  readonly codecs?: CompressionCodecs
  readonly producerStateConfig?: ProducerStateConfig
}

/** Kafka's defaults for the settings ReplicaManagerConfig carries (all but brokerId and logDir). */
export const REPLICA_MANAGER_DEFAULTS: Omit<ReplicaManagerConfig, 'brokerId' | 'logDir'> = {
  durability: 'fsync',
  replicaLagTimeMaxMs: 30_000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 1024 * 1024,
  replicaFetchResponseMaxBytes: 10 * 1024 * 1024,
  replicaFetchBackoffMs: 1000,
  minInsyncReplicas: 1,
  segmentBytes: 1024 * 1024 * 1024,
  rollMs: 7 * 24 * 60 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  maxMessageBytes: 1024 * 1024 + 12,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  checkpointIntervalMs: 60_000,
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function nameOf(topic: string, partitionId: number): string {
  return `${topic}-${partitionId}`
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

export class ReplicaManager implements ReplicaService {
  private readonly config: ReplicaManagerConfig
  private readonly options: ReplicaManagerOptions
  private readonly logger: Logger
  private readonly clock: () => number
  private readonly syncOps: FsSyncOps
  private readonly partitions = new Map<string, Partition>()
  private image: MetadataImage = MetadataImage.EMPTY
  private started = false
  private closed = false
  private brokerEpoch = -1n
  private applying: Promise<void> = Promise.resolve()
  private readonly fetchers: ReplicaFetcherManager
  private readonly alterPartitions: AlterPartitionSender
  private readonly fetchHandler: FetchHandler
  private readonly produceHandler: ProduceHandler
  private readonly offsetsHandler: OffsetsHandler
  private readonly timers: NodeJS.Timeout[] = []
  private readonly roundsRunning = new Set<PeriodicRound>()

  constructor(options: ReplicaManagerOptions) {
    const config = options.config
    if (!(config.replicaLagTimeMaxMs > 0) || !(config.checkpointIntervalMs > 0) || !(config.retentionCheckIntervalMs > 0)) {
      throw new AssertionError('replica manager intervals must be positive')
    }
    this.config = config
    this.options = options
    this.logger = options.logger
    this.clock = options.clock ?? Date.now
    this.syncOps = options.syncOps ?? nodeSyncOps
    const lookup = (topic: string, partitionId: number): Partition | undefined => this.partitions.get(nameOf(topic, partitionId))
    this.fetchers = new ReplicaFetcherManager({
      config,
      channels: options.leaderChannels,
      image: () => this.image,
      brokerEpoch: () => this.brokerEpoch,
      logger: this.logger,
    })
    this.alterPartitions = new AlterPartitionSender({
      brokerId: config.brokerId,
      brokerEpoch: () => this.brokerEpoch,
      channel: options.controllerChannel,
      logger: this.logger,
    })
    // Appends the produce handler makes, served to followers at the tail by the fetch handler.
    const recentAppends = new RecentAppends()
    this.fetchHandler = new FetchHandler({ brokerId: config.brokerId, logger: this.logger, clock: this.clock, partition: lookup, recentAppends })
    this.produceHandler = new ProduceHandler({ logger: this.logger, partition: lookup, recentAppends })
    this.offsetsHandler = new OffsetsHandler({ logger: this.logger, partition: lookup })
    this.every(Math.max(1, Math.floor(config.replicaLagTimeMaxMs / 2)), () => this.checkIsr())
    this.every(config.checkpointIntervalMs, () => void this.checkpointAll())
    this.every(config.retentionCheckIntervalMs, () => void this.retainAll())
    // The log cleaner (log/cleaner/): compacted topics only, one partition at a time.
    if (config.logCleanerEnable ?? LOG_CLEANER_ENABLE_DEFAULT) this.every(config.logCleanerBackoffMs ?? LOG_CLEANER_BACKOFF_MS_DEFAULT, () => void this.cleanAll())
  }

  private every(intervalMs: number, fn: () => void): void {
    const timer = setInterval(fn, intervalMs)
    timer.unref()
    this.timers.push(timer)
  }

  // ---------------------------------------------------------------------------- inspection

  /** The local replica of a partition, if this broker hosts it. */
  partition(topic: string, partitionId: number): Partition | undefined {
    return this.partitions.get(nameOf(topic, partitionId))
  }

  /** Every local replica. */
  allPartitions(): Partition[] {
    return [...this.partitions.values()]
  }

  /** The image the replicas last acted on. */
  get metadataImage(): MetadataImage {
    return this.image
  }

  /** Replica fetchers running (one per leader broker followed). */
  get fetcherCount(): number {
    return this.fetchers.fetcherCount
  }

  // ---------------------------------------------------------------------------- ReplicaService

  setBrokerEpoch(brokerEpoch: bigint): void {
    this.brokerEpoch = brokerEpoch
  }

  leaderCount(): number {
    let count = 0
    for (const p of this.partitions.values()) if (p.isLeader) count++
    return count
  }

  produce(request: broker.ProduceRequest): Promise<broker.ProduceResponse | null> {
    return this.produceHandler.produce(request)
  }

  fetch(request: broker.FetchRequest, signal: AbortSignal): Promise<broker.FetchResponse> {
    return this.fetchHandler.fetch(request, signal)
  }

  listOffsets(request: broker.ListOffsetsRequest): Promise<broker.ListOffsetsResponse> {
    return this.offsetsHandler.listOffsets(request)
  }

  offsetsForLeaderEpoch(request: broker.OffsetsForLeaderEpochRequest): Promise<broker.OffsetsForLeaderEpochResponse> {
    return this.offsetsHandler.offsetsForLeaderEpoch(request)
  }

  applyMetadata(image: MetadataImage): Promise<void> {
    const next = this.applying.then(() => this.apply(image))
    // A failed apply (a bug: transitions report their own errors) must not block later ones.
    this.applying = next.catch(() => {})
    return next
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const timer of this.timers.splice(0)) clearInterval(timer)
    await this.applying
    await this.fetchers.close()
    await this.alterPartitions.close()
    this.fetchHandler.close()
    this.produceHandler.close()
    await forEachLimited([...this.partitions.values()], PARTITION_OPEN_CONCURRENCY, (p) => p.close())
    this.partitions.clear()
    this.logger.info({ brokerId: this.config.brokerId }, 'replica manager closed')
  }

  // ---------------------------------------------------------------------------- metadata

  private async apply(image: MetadataImage): Promise<void> {
    if (this.closed) return
    if (image.offset < this.image.offset) {
      this.logger.warn({ offset: image.offset, current: this.image.offset }, 'ignored an older metadata image')
      return
    }
    const previous = this.image
    if (!this.started) {
      await scanLogDir(this.config.logDir, image, this.config.brokerId, this.syncOps, this.logger)
      this.started = true
    }
    this.image = image
    const changes = localChanges(previous, image, this.config.brokerId)
    // Deletes first: a topic re-created under the same name reuses the directory names.
    for (const change of changes.deletes) {
      const partition = this.partitions.get(nameOf(change.topicName, change.partitionId))
      if (partition === undefined || partition.topicId !== change.topicId) continue
      this.fetchers.unfollow(partition)
      this.fetchHandler.onLeaderStopped(partition)
      this.partitions.delete(partition.name)
      this.logger.info({ partition: partition.name, reason: change.reason }, `stopped replica ${partition.name}`)
      await partition.delete()
    }
    if (image.topicConfigs !== previous.topicConfigs) {
      for (const partition of this.partitions.values()) {
        const settings = this.settingsFor(partition.topicName)
        if (!sameSettings(settings, partition.settings)) partition.reconfigure(settings)
      }
    }
    const nowMs = this.clock()
    await forEachLimited(changes.leaders, PARTITION_OPEN_CONCURRENCY, async (change) => {
      const partition = await this.partitionFor(change)
      if (partition !== null) await this.becomeLeader(partition, change.partition, nowMs)
    })
    await forEachLimited(changes.followers, PARTITION_OPEN_CONCURRENCY, async (change) => {
      const partition = await this.partitionFor(change)
      if (partition !== null) await this.becomeFollower(partition, change.partition, nowMs)
    })
  }

  private settingsFor(topic: string): TopicSettings {
    // The replication factor caps the broker's min.insync.replicas default (topic-config.ts).
    const replicationFactor = this.image.topicsByName.get(topic)?.partitions.get(0)?.replicas.length
    return topicSettings(this.image.topicConfigs.get(topic), this.config, topic, this.logger, replicationFactor)
  }

  private async becomeLeader(partition: Partition, registration: PartitionRegistration, nowMs: number): Promise<void> {
    this.fetchers.unfollow(partition)
    const update = await partition.applyMetadataUpdate(registration, nowMs)
    if (update === null || update.kind !== 'role_change_required') return
    if (await partition.makeLeader(registration, nowMs)) this.fetchHandler.onLeaderStarted(partition, registration.replicas)
  }

  private async becomeFollower(partition: Partition, registration: PartitionRegistration, nowMs: number): Promise<void> {
    const update = await partition.applyMetadataUpdate(registration, nowMs)
    if (update === null) {
      this.fetchers.unfollow(partition)
      return
    }
    if (update.kind === 'role_change_required') {
      const result = await partition.makeFollower(registration)
      this.fetchHandler.onLeaderStopped(partition)
      if (result === null) return
      switch (result.kind) {
        case 'fetch_from_leader':
          this.fetchers.follow(partition, result.leader, result.leaderEpoch, result.truncation)
          return
        case 'no_leader':
          this.fetchers.unfollow(partition)
          return
        case 'unchanged':
          if (registration.leader !== NO_NODE) this.fetchers.follow(partition, registration.leader, registration.leaderEpoch, null)
          return
        case 'stale_epoch':
          return
      }
    }
    // Same leader and epoch: keep fetching (a partition parked on a fenced epoch resumes).
    if (partition.role === 'follower' && registration.leader !== NO_NODE && registration.leader !== this.config.brokerId) {
      this.fetchers.follow(partition, registration.leader, registration.leaderEpoch, null)
    }
  }

  /** The local replica for `change`, opened (recovered) or created if needed; null if it failed to open. */
  private async partitionFor(change: LocalPartitionChange<string>): Promise<Partition | null> {
    const name = nameOf(change.topicName, change.partitionId)
    const existing = this.partitions.get(name)
    if (existing !== undefined) {
      if (existing.topicId === change.topicId) return existing.unavailable() === null ? existing : null
      // A different topic under the same name that localChanges did not report deleted: stop the old one.
      this.fetchers.unfollow(existing)
      this.fetchHandler.onLeaderStopped(existing)
      this.partitions.delete(name)
      await existing.delete()
    }
    const dir = partitionDir(this.config.logDir, change.topicName, change.partitionId)
    if (existsSync(dir)) {
      const recorded = await recordedTopicId(dir, this.logger)
      if (recorded !== null && recorded !== change.topicId) {
        await moveAsideAsStray(dirname(dir), basename(dir), recorded === 'unreadable' ? null : recorded, this.syncOps, this.logger, `holds topic id ${recorded}, the metadata has ${change.topicId}`)
      }
    }
    const partition = await Partition.open({
      dir,
      topicName: change.topicName,
      topicId: change.topicId,
      partitionId: change.partitionId,
      brokerId: this.config.brokerId,
      durability: this.config.durability,
      replicaLagTimeMaxMs: this.config.replicaLagTimeMaxMs,
      settings: this.settingsFor(change.topicName),
      logger: this.logger,
      clock: this.clock,
      syncOps: this.syncOps,
      codecs: this.options.codecs ?? compressionCodecs,
      producerStateConfig: this.options.producerStateConfig,
      onStorageFailure: (p, err) => this.onStorageFailure(p, err),
      onAlterPartitionReady: (p) => this.alterPartitions.offer(p),
      isrEligible: (replicaId, brokerEpoch) => this.isrEligible(replicaId, brokerEpoch),
    })
    this.partitions.set(name, partition)
    return partition.unavailable() === null ? partition : null
  }

  /**
   * Kafka's Partition.isReplicaIsrEligible against our image: the follower is registered, not
   * fenced (a broker in controlled shutdown is fenced at once by this controller), and fetches
   * with its current broker epoch (KIP-903). The controller checks the same and decides.
   */
  private isrEligible(replicaId: NodeId, brokerEpoch: bigint): boolean {
    const registration = this.image.brokers.get(replicaId)
    return registration !== undefined && !registration.fenced && registration.brokerEpoch === brokerEpoch
  }

  private onStorageFailure(partition: Partition, err: unknown): void {
    this.fetchers.unfollow(partition)
    this.fetchHandler.onLeaderStopped(partition)
    this.logger.error({ partition: partition.name, err: errorMessage(err) }, 'partition storage failed')
    try {
      this.options.onStorageFailure?.(err)
    } catch (callbackError) {
      this.logger.error({ err: errorMessage(callbackError) }, 'onStorageFailure callback threw')
    }
  }

  // ---------------------------------------------------------------------------- periodic

  /** Kafka's isr-expiration task: shrink lagging followers; (re)send pending AlterPartitions. */
  private checkIsr(): void {
    if (this.closed) return
    const nowMs = this.clock()
    for (const partition of this.partitions.values()) {
      if (!partition.isLeader) continue
      partition.tick(nowMs)
      this.alterPartitions.offer(partition)
    }
  }

  private checkpointAll(): Promise<void> {
    return this.eachPartitionRound('checkpoint', (partition, nowMs) => partition.checkpoint(nowMs))
  }

  private retainAll(): Promise<void> {
    return this.eachPartitionRound('retention', (partition, nowMs) => partition.deleteOldSegments(nowMs))
  }

  private cleanAll(): Promise<void> {
    return this.eachPartitionRound('cleaner', (partition, nowMs) => partition.clean(nowMs, this.settingsFor(partition.topicName)))
  }

  /** One periodic round over every partition; a round still running makes the next one a no-op. */
  private async eachPartitionRound(round: PeriodicRound, work: (partition: Partition, nowMs: number) => Promise<unknown>): Promise<void> {
    if (this.roundsRunning.has(round) || this.closed) return
    this.roundsRunning.add(round)
    try {
      const nowMs = this.clock()
      for (const partition of [...this.partitions.values()]) await work(partition, nowMs)
    } catch (err) {
      if (err instanceof AssertionError) throw err
      this.logger.error({ err: errorMessage(err) }, `${round} round failed`)
    } finally {
      this.roundsRunning.delete(round)
    }
  }
}

function sameSettings(a: TopicSettings, b: TopicSettings): boolean {
  return (
    a.segmentBytes === b.segmentBytes &&
    a.rollMs === b.rollMs &&
    a.retentionMs === b.retentionMs &&
    a.retentionBytes === b.retentionBytes &&
    a.maxMessageBytes === b.maxMessageBytes &&
    a.minInsyncReplicas === b.minInsyncReplicas
  )
}
