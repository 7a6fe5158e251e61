/**
 * Partition: one partition replica on this broker, Kafka's Partition.scala with its log.
 * It joins three things and keeps them consistent:
 *   - the PartitionLog (segments on disk),
 *   - the PartitionState (role, leader epoch, ISR, high watermark; pure),
 *   - the ProducerStateManager (idempotence; pure, rebuilt from the log on open),
 * plus the replica manager's own files in the partition directory (partition-files.ts).
 *
 * Concurrency: everything that changes the partition (leader and follower appends,
 * truncation, role transitions, checkpoints, close) runs under one FIFO mutex, so a produce
 * never races a role change: an append that started as leader finishes before the replica
 * becomes a follower, and a follower append from a fetch of an old leader epoch is refused
 * once the epoch moved. Reads (fetch, ListOffsets) do not take it: the log serves them
 * alongside appends, and they look at the state synchronously.
 *
 * Group commit (durability 'fsync', the default): after leader appends a flusher runs
 * PartitionLog.flush(); at most one flush is in flight, and one requested while it runs is
 * run after it, covering every append completed by then (one fdatasync for many batches).
 * Only then does the leader count the data toward the high watermark (onLeaderFlushed).
 *
 * Storage failure: an I/O error in a mutation or a flush fails the log (see PartitionLog);
 * the partition then answers KAFKA_STORAGE_ERROR to everything and reports the failure once.
 *
 * Waiters (delayed produces, parked fetches) subscribe to changes: every log end move, high
 * watermark move, role change, failure or close calls them.
 */
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { AssertionError, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import {
  ErrorCode,
  NO_NODE,
  TributaryError,
  decodeRecords,
  iterateBatches,
  producerId as toProducerId,
  type CompressionCodecs,
  type ErrorCodeInfo,
  type NodeId,
  type RecordBatchHeader,
} from '@tributary/protocol'
import { DEFAULT_COMPACTION_SETTINGS, isCompacted, isDeleteRetained } from '../log/cleaner/cleaner-config.js'
import { cleanLog, lowerCleanerCheckpoint, type CleanResult } from '../log/cleaner/log-cleaner.js'
import type { EpochEndOffset } from '../log/leader-epoch-cache.js'
import { PartitionLog, type ListOffsetsQuery, type OffsetAndTimestamp, type ReadResult } from '../log/partition-log.js'
import { DEFAULT_PRODUCER_STATE_CONFIG, ProducerStateManager, type ProducerStateConfig } from '../producer/producer-state-manager.js'
import type { LocalEpochView } from '../replica/follower-truncation.js'
import type { AlterPartitionRequest } from '../replica/isr-state.js'
import {
  PartitionState,
  type AlterPartitionOutcome,
  type AlterPartitionResponse,
  type BecomeFollowerResult,
  type Durability,
  type FollowerFetchResult,
  type MetadataUpdateResult,
  type PartitionMetadata,
  type PartitionRole,
  type PartitionStateView,
} from '../replica/partition-state.js'
import { PRODUCER_STATE_REBUILD_READ_BYTES } from '../replica-manager/replica-limits.js'
import { AsyncMutex } from './async-mutex.js'
import { readHighWatermarkCheckpoint, readPartitionMetadata, writeHighWatermarkCheckpoint, writePartitionMetadata } from './partition-files.js'
import type { TopicSettings } from './topic-config.js'

export interface PartitionOptions {
  /** The partition directory, `<logDir>/<topic>-<partition>`. */
  readonly dir: string
  readonly topicName: string
  readonly topicId: string
  readonly partitionId: number
  readonly brokerId: NodeId
  readonly durability: Durability
  readonly replicaLagTimeMaxMs: number
  readonly settings: TopicSettings
  readonly logger: Logger
  /** Time for replication decisions (lag, retention, roll); Date.now in production. */
  readonly clock: () => number
  readonly syncOps: FsSyncOps
  readonly codecs?: CompressionCodecs
  readonly producerStateConfig?: ProducerStateConfig
  /** A flush or mutation failed on disk: the partition is failed until the node recovers from disk. */
  readonly onStorageFailure: (partition: Partition, err: unknown) => void
  /** The partition has an AlterPartition request ready (an ISR expand proposed on a follower fetch). */
  readonly onAlterPartitionReady: (partition: Partition) => void
  /** Whether the metadata lets follower `replicaId`, fetching with `brokerEpoch`, join an ISR now. */
  readonly isrEligible?: (replicaId: NodeId, brokerEpoch: bigint) => boolean
}

export type LeaderAppendOutcome =
  | { readonly kind: 'appended'; readonly firstOffset: bigint; readonly lastOffset: bigint; readonly leaderEpoch: number; readonly logStartOffset: bigint }
  /**
   * An idempotent retry of batches already in the log: answered with the original offsets.
   * With acks=all it still waits for the HW to pass lastOffset (Kafka's DelayedProduce does):
   * the original may have timed out uncommitted, and only the leader may hold it.
   */
  | { readonly kind: 'duplicate'; readonly firstOffset: bigint; readonly lastOffset: bigint; readonly leaderEpoch: number; readonly logStartOffset: bigint }
  | { readonly kind: 'error'; readonly error: ErrorCodeInfo; readonly message: string }
  | { readonly kind: 'not_leader'; readonly leaderId: NodeId; readonly leaderEpoch: number }

export type FollowerAppendOutcome =
  | { readonly kind: 'appended'; readonly lastOffset: bigint }
  /** The partition is no longer a follower in that leader epoch: the fetched data is dropped. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'offset_mismatch'; readonly expectedOffset: bigint; readonly actualOffset: bigint }
  | { readonly kind: 'invalid'; readonly error: ErrorCodeInfo; readonly reason: string }

export type ReadOutcome = ReadResult | { readonly kind: 'error'; readonly error: ErrorCodeInfo; readonly message: string }

export type AcksAllStatus =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'done'; readonly error: ErrorCodeInfo }

type Phase = 'open' | 'failed' | 'closed'

/** A Logger that adds `fields` to every line. */
function withFields(logger: Logger, fields: object): Logger {
  return {
    debug: (f, m) => logger.debug({ ...fields, ...f }, m),
    info: (f, m) => logger.info({ ...fields, ...f }, m),
    warn: (f, m) => logger.warn({ ...fields, ...f }, m),
    error: (f, m) => logger.error({ ...fields, ...f }, m),
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export class Partition {
  readonly dir: string
  readonly topicName: string
  readonly topicId: string
  readonly partitionId: number
  /** `<topic>-<partition>`, as in logs and directory names. */
  readonly name: string
  private readonly options: PartitionOptions
  private readonly logger: Logger
  private readonly mutex = new AsyncMutex()
  private readonly log: PartitionLog | null
  private readonly producers: ProducerStateManager
  private state: PartitionState
  private settingsNow: TopicSettings
  private phase: Phase
  private failure: unknown
  private readonly listeners = new Set<() => void>()
  /** Role facts cached from the state after each transition (cheap reads for every request). */
  private roleNow: PartitionRole = 'none'
  private leaderNow: NodeId = NO_NODE
  private leaderEpochNow = -1
  /** The log end the state was last told about (leader only). */
  private reportedLogEnd = 0n
  private flushing = false
  private flushAgain = false
  private checkpointedHighWatermark: bigint | null
  /** The high watermark last sent to each follower, so a parked follower fetch wakes when it moves. */
  private readonly highWatermarkSent = new Map<NodeId, bigint>()

  private constructor(options: PartitionOptions, log: PartitionLog | null, highWatermark: bigint, checkpointedHighWatermark: bigint | null, failure: unknown) {
    this.options = options
    this.dir = options.dir
    this.topicName = options.topicName
    this.topicId = options.topicId
    this.partitionId = options.partitionId
    this.name = `${options.topicName}-${options.partitionId}`
    this.logger = withFields(options.logger, { partition: this.name })
    this.log = log
    this.producers = new ProducerStateManager(options.producerStateConfig ?? DEFAULT_PRODUCER_STATE_CONFIG)
    this.state = this.newState(highWatermark)
    this.settingsNow = options.settings
    this.phase = failure === null ? 'open' : 'failed'
    this.failure = failure
    this.checkpointedHighWatermark = checkpointedHighWatermark
  }

  /**
   * Opens (recovers) the log in options.dir, or creates it. The directory must belong to
   * options.topicId (the caller moved a stray one aside). Never throws for a damaged log: the
   * partition comes back failed, answering KAFKA_STORAGE_ERROR, and the error is logged.
   */
  static async open(options: PartitionOptions): Promise<Partition> {
    let log: PartitionLog | null = null
    try {
      log = await PartitionLog.open({
        dir: options.dir,
        logger: options.logger,
        syncOps: options.syncOps,
        clock: options.clock,
        codecs: options.codecs,
        config: { segmentBytes: options.settings.segmentBytes, rollMs: options.settings.rollMs, maxMessageBytes: options.settings.maxMessageBytes },
      })
      const recordedTopicId = await readPartitionMetadata(options.dir)
      if (recordedTopicId === null) await writePartitionMetadata(options.dir, options.topicId, options.syncOps)
      else if (recordedTopicId !== options.topicId) throw new Error(`${options.dir} belongs to topic id ${recordedTopicId}, not ${options.topicId}`)
      const checkpoint = await readHighWatermarkCheckpoint(options.dir)
      // The HW only covers what this log still holds, and is never below its start.
      let highWatermark = checkpoint ?? log.logStartOffset
      if (highWatermark > log.logEndOffset) highWatermark = log.logEndOffset
      if (highWatermark < log.logStartOffset) highWatermark = log.logStartOffset
      const partition = new Partition(options, log, highWatermark, checkpoint, null)
      await partition.rebuildProducerState()
      partition.logger.info(
        { logStartOffset: String(log.logStartOffset), logEndOffset: String(log.logEndOffset), highWatermark: String(highWatermark), producers: partition.producers.size },
        'opened partition',
      )
      return partition
    } catch (err) {
      if (err instanceof AssertionError) throw err
      options.logger.error({ partition: `${options.topicName}-${options.partitionId}`, dir: options.dir, err: errorMessage(err) }, 'could not open partition; it answers KAFKA_STORAGE_ERROR until the node restarts')
      if (log !== null) await log.close().catch(() => {})
      return new Partition(options, null, 0n, null, err)
    }
  }

  private newState(highWatermark: bigint): PartitionState {
    return new PartitionState({
      config: { localReplicaId: this.options.brokerId, replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs, durability: this.options.durability },
      logger: this.logger,
      highWatermark,
    })
  }

  // ---------------------------------------------------------------------------- reading

  get settings(): TopicSettings {
    return this.settingsNow
  }

  get role(): PartitionRole {
    return this.roleNow
  }

  get isLeader(): boolean {
    return this.roleNow === 'leader' && this.phase === 'open'
  }

  get leaderId(): NodeId {
    return this.leaderNow
  }

  get leaderEpoch(): number {
    return this.leaderEpochNow
  }

  get highWatermark(): bigint {
    return this.state.highWatermark
  }

  get logStartOffset(): bigint {
    return this.log === null || this.phase !== 'open' ? -1n : this.log.logStartOffset
  }

  get logEndOffset(): bigint {
    return this.log === null || this.phase !== 'open' ? -1n : this.log.logEndOffset
  }

  /** Every offset below this is fsynced. */
  get durableEndOffset(): bigint {
    return this.log === null || this.phase !== 'open' ? -1n : this.log.recoveryPoint
  }

  get latestEpoch(): number | null {
    return this.log === null || this.phase !== 'open' ? null : this.log.latestEpoch()
  }

  get isClosed(): boolean {
    return this.phase === 'closed'
  }

  /** Why the partition cannot serve, or null when it can. */
  unavailable(): ErrorCodeInfo | null {
    if (this.phase === 'failed') return ErrorCode.KAFKA_STORAGE_ERROR
    if (this.phase === 'closed') return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return null
  }

  view(): PartitionStateView {
    return this.state.view()
  }

  /** The leader's answer to OffsetsForLeaderEpoch (KIP-101/279). */
  endOffsetForEpoch(leaderEpoch: number): EpochEndOffset {
    return this.requireLog().endOffsetForEpoch(leaderEpoch)
  }

  /** Whole batches from `fetchOffset`, up to maxOffset (the HW for consumers). Errors are values. */
  async read(fetchOffset: bigint, maxBytes: number, maxOffset: bigint | undefined, minOneBatch: boolean): Promise<ReadOutcome> {
    const unavailable = this.unavailable()
    if (unavailable !== null) return { kind: 'error', error: unavailable, message: `${this.name} is not available` }
    try {
      return await this.requireLog().read(fetchOffset, maxBytes, maxOffset, { minOneBatch })
    } catch (err) {
      if (err instanceof AssertionError) throw err
      this.logger.error({ fetchOffset: String(fetchOffset), err: errorMessage(err) }, 'read failed')
      return { kind: 'error', error: this.phase === 'closed' ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.KAFKA_STORAGE_ERROR, message: errorMessage(err) }
    }
  }

  async listOffsets(query: ListOffsetsQuery): Promise<OffsetAndTimestamp | null> {
    return this.requireLog().listOffsets(query)
  }

  /** The local view the pure truncation rule needs (follower-truncation.ts). */
  truncationView(): LocalEpochView {
    const log = this.requireLog()
    return {
      endOffsetFor: (epoch) => log.endOffsetForEpoch(epoch),
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      highWatermark: this.state.highWatermark,
    }
  }

  // ---------------------------------------------------------------------------- waiters

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }

  /** Where an acks=all produce whose last offset is `lastOffset`, appended in `leaderEpoch`, stands. */
  acksAllStatus(lastOffset: bigint, leaderEpoch: number, minInsyncReplicas: number): AcksAllStatus {
    if (this.phase === 'failed') return { kind: 'done', error: ErrorCode.KAFKA_STORAGE_ERROR }
    if (this.phase === 'closed' || this.roleNow !== 'leader' || this.leaderEpochNow !== leaderEpoch) return { kind: 'done', error: ErrorCode.NOT_LEADER_OR_FOLLOWER }
    if (!this.state.acksAllReady(lastOffset)) return { kind: 'waiting' }
    // Kafka's DelayedProduce: committed, but by fewer replicas than min.insync.replicas asks.
    if (this.state.isr.length < minInsyncReplicas) return { kind: 'done', error: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND }
    return { kind: 'done', error: ErrorCode.NONE }
  }

  /** The HW last sent to follower `replicaId` in a fetch response (-1 if none in this leader epoch). */
  highWatermarkSentTo(replicaId: NodeId): bigint {
    return this.highWatermarkSent.get(replicaId) ?? -1n
  }

  recordHighWatermarkSent(replicaId: NodeId, highWatermark: bigint): void {
    this.highWatermarkSent.set(replicaId, highWatermark)
  }

  // ---------------------------------------------------------------------------- transitions

  /**
   * Kafka's Partition.makeLeader: record the new epoch's start offset in the epoch cache
   * (durably, so OffsetsForLeaderEpoch answers it at once) before accepting any produce, then
   * take the leader role. Returns whether the replica leads now.
   */
  async makeLeader(registration: PartitionMetadata, nowMs: number): Promise<boolean> {
    return this.mutex.run(async () => {
      if (this.phase !== 'open') return false
      const log = this.requireLog()
      const assignment = await this.guard(() => log.assignEpochStartOffset(registration.leaderEpoch))
      if (assignment === null) return false
      if (assignment.kind === 'stale_leader_epoch') {
        this.logger.error({ leaderEpoch: registration.leaderEpoch, latestEpoch: assignment.latestEpoch }, 'refused to lead: the log holds a newer leader epoch than the metadata')
        return false
      }
      const logEndOffset = log.logEndOffset
      const durable = log.recoveryPoint < logEndOffset ? log.recoveryPoint : logEndOffset
      const result = this.state.becomeLeader({
        leaderEpoch: registration.leaderEpoch,
        partitionEpoch: registration.partitionEpoch,
        replicas: registration.replicas,
        isr: registration.isr,
        logEndOffset,
        durableEndOffset: durable,
        nowMs,
      })
      if (result.kind === 'stale_epoch') {
        this.logger.warn({ leaderEpoch: registration.leaderEpoch, currentLeaderEpoch: result.currentLeaderEpoch }, 'ignored a stale leader transition')
        return false
      }
      this.reportedLogEnd = logEndOffset
      this.highWatermarkSent.clear()
      this.refreshRole()
      this.logger.info({ leaderEpoch: registration.leaderEpoch, isr: registration.isr, logEndOffset: String(logEndOffset), highWatermark: String(this.state.highWatermark) }, `became leader of ${this.name} in epoch ${registration.leaderEpoch}`)
      if (durable < logEndOffset) this.scheduleFlush()
      this.notify()
      return true
    })
  }

  /** Kafka's Partition.makeFollower: take the follower role; the fetcher truncates and fetches. */
  async makeFollower(registration: PartitionMetadata): Promise<BecomeFollowerResult | null> {
    return this.mutex.run(async () => {
      if (this.phase !== 'open') return null
      const wasLeader = this.roleNow === 'leader'
      const result = this.state.becomeFollower({
        leaderEpoch: registration.leaderEpoch,
        partitionEpoch: registration.partitionEpoch,
        leader: registration.leader,
        replicas: registration.replicas,
        isr: registration.isr,
        latestLocalEpoch: this.requireLog().latestEpoch(),
      })
      this.refreshRole()
      if (result.kind === 'fetch_from_leader' || result.kind === 'no_leader') {
        this.logger.info({ leader: registration.leader, leaderEpoch: registration.leaderEpoch, wasLeader }, `became follower of ${this.name} in epoch ${registration.leaderEpoch}`)
      } else if (result.kind === 'stale_epoch') {
        this.logger.warn({ leaderEpoch: registration.leaderEpoch, currentLeaderEpoch: result.currentLeaderEpoch }, 'ignored a stale follower transition')
      }
      this.notify()
      return result
    })
  }

  /** A registration with the same leader and leader epoch: ISR and partition epoch only. */
  async applyMetadataUpdate(registration: PartitionMetadata, nowMs: number): Promise<MetadataUpdateResult | null> {
    return this.mutex.run(async () => {
      if (this.phase !== 'open') return null
      const result = this.state.onMetadataUpdate(registration, nowMs)
      if (result.kind === 'applied') this.notify()
      return result
    })
  }

  /** New topic settings from the metadata image. */
  reconfigure(settings: TopicSettings): void {
    this.settingsNow = settings
    if (this.phase === 'open') this.requireLog().reconfigure({ segmentBytes: settings.segmentBytes, rollMs: settings.rollMs, maxMessageBytes: settings.maxMessageBytes })
  }

  private refreshRole(): void {
    const view = this.state.view()
    this.roleNow = view.role
    this.leaderNow = view.leader
    this.leaderEpochNow = view.leaderEpoch
  }

  // ---------------------------------------------------------------------------- leader

  /**
   * A produce's append (Kafka's Partition.appendRecordsToLeader): leader check, acks=all
   * admission, idempotence, then the log. Offsets are assigned by the log, which writes them
   * into `records` in place.
   */
  async appendAsLeader(records: Buffer, requiredAcks: number): Promise<LeaderAppendOutcome> {
    return this.mutex.run(async () => {
      const unavailable = this.unavailable()
      if (unavailable !== null) return { kind: 'error', error: unavailable, message: `${this.name} is not available` }
      if (this.roleNow !== 'leader') return { kind: 'not_leader', leaderId: this.leaderNow, leaderEpoch: this.leaderEpochNow }
      const minInsync = this.settingsNow.minInsyncReplicas
      if (requiredAcks === -1) {
        const admission = this.state.canAcceptAcksAll(minInsync)
        if (admission.kind === 'not_enough_replicas') {
          return { kind: 'error', error: ErrorCode.NOT_ENOUGH_REPLICAS, message: `The ISR of ${this.name} has ${admission.isrSize} replica(s), fewer than min.insync.replicas ${minInsync}.` }
        }
      }
      const log = this.requireLog()
      const headers = batchHeaders(records)
      if (headers === null) return { kind: 'error', error: ErrorCode.CORRUPT_MESSAGE, message: 'The records are not whole RecordBatch v2 batches.' }
      if (isCompacted(this.settingsNow) && this.hasKeylessRecord(records)) {
        // Kafka's LogValidator: "Compacted topic cannot accept message without key".
        return { kind: 'error', error: ErrorCode.INVALID_RECORD, message: `${this.topicName} is compacted (cleanup.policy=${this.settingsNow.cleanupPolicy}): every record needs a key.` }
      }
      const check = this.checkProducers(headers)
      if (check !== null) {
        if (check.kind === 'duplicate') return { ...check, leaderEpoch: this.leaderEpochNow, logStartOffset: log.logStartOffset }
        return check
      }
      const leaderEpoch = this.leaderEpochNow
      const result = await this.guard(() => log.append(records, leaderEpoch))
      if (result === null) return { kind: 'error', error: ErrorCode.KAFKA_STORAGE_ERROR, message: `${this.name}: the log failed` }
      switch (result.kind) {
        case 'invalid_batch':
          return { kind: 'error', error: result.error, message: result.reason }
        case 'stale_leader_epoch':
          return { kind: 'not_leader', leaderId: this.leaderNow, leaderEpoch: this.leaderEpochNow }
        case 'offset_mismatch':
          throw new AssertionError('a leader append cannot have an offset mismatch')
        case 'appended':
          break
      }
      // The log stamped the real offsets into the buffer.
      for (const scan of iterateBatches(records)) if (scan.kind === 'batch') this.producers.onAppended(scan.header)
      const advanced = this.syncLeaderLogEnd()
      if (this.options.durability === 'fsync') this.scheduleFlush()
      this.logger.debug({ firstOffset: String(result.firstOffset), lastOffset: String(result.lastOffset), highWatermarkAdvanced: advanced }, 'appended as leader')
      this.notify()
      return { kind: 'appended', firstOffset: result.firstOffset, lastOffset: result.lastOffset, leaderEpoch, logStartOffset: log.logStartOffset }
    })
  }

  /** Whether a produced buffer holds a record without a key; batches that do not decode are left to the log's validation. */
  private hasKeylessRecord(records: Buffer): boolean {
    for (const scan of iterateBatches(records)) {
      if (scan.kind !== 'batch' || scan.header.isControl) continue
      try {
        if (decodeRecords(records.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs: this.options.codecs }).some((r) => r.key === null)) return true
      } catch {
        // Corrupt or unsupported: log.append answers with the precise error.
      }
    }
    return false
  }

  /**
   * Idempotence for the batches of one produce: a retried batch is answered with its original
   * offsets. An idempotent batch must be the only batch of its partition in the request (Kafka
   * refuses more than one batch per partition since produce v3): with several, a duplicate
   * answer would acknowledge the batches after it without writing them, and a partial write
   * cannot be answered with one offset range.
   */
  private checkProducers(headers: readonly RecordBatchHeader[]): LeaderAppendOutcome | null {
    const idempotent = headers.filter((header) => header.producerId >= 0n && !header.isControl)
    if (idempotent.length === 0) return null
    if (headers.length > 1) {
      return { kind: 'error', error: ErrorCode.INVALID_RECORD, message: `An idempotent batch must be the only batch for its partition in a produce request; this one has ${headers.length}.` }
    }
    const header = idempotent[0]
    const check = this.producers.checkAppend(header)
    if (check.kind === 'duplicate') {
      this.logger.debug({ producerId: String(header.producerId), baseSequence: header.baseSequence }, 'answered a duplicate batch with its original offsets')
      return { kind: 'duplicate', firstOffset: check.firstOffset, lastOffset: check.lastOffset, leaderEpoch: this.leaderEpochNow, logStartOffset: 0n }
    }
    if (check.kind === 'error') return { kind: 'error', error: ErrorCode[check.code], message: check.message }
    return null
  }

  /** Tells the state the log end the log really has (appends complete before the state hears). */
  private syncLeaderLogEnd(): boolean {
    if (this.roleNow !== 'leader' || this.log === null) return false
    const end = this.log.logEndOffset
    if (end <= this.reportedLogEnd) return false
    this.reportedLogEnd = end
    return this.state.onLeaderLogAppend(end).highWatermarkAdvanced
  }

  /** At most one flush in flight; one asked for meanwhile runs after it and covers every append so far. */
  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true
      return
    }
    this.flushing = true
    void this.flushLoop()
  }

  private async flushLoop(): Promise<void> {
    try {
      do {
        this.flushAgain = false
        if (this.phase !== 'open') return
        const log = this.requireLog()
        const durable = await this.guard(() => log.flush())
        if (durable === null) return
        this.onFlushed(durable)
      } while (this.flushAgain)
    } finally {
      this.flushing = false
    }
  }

  private onFlushed(durable: bigint): void {
    if (this.roleNow !== 'leader' || this.phase !== 'open') return
    this.syncLeaderLogEnd()
    const bound = durable < this.reportedLogEnd ? durable : this.reportedLogEnd
    if (this.state.onLeaderFlushed(bound).highWatermarkAdvanced) this.notify()
  }

  /**
   * A follower fetched at `fetchOffset` (validated by the caller): Kafka's
   * updateFollowerFetchState. May move the HW (waking produces) and propose an ISR expand.
   */
  onFollowerFetch(replicaId: NodeId, fetchOffset: bigint, brokerEpoch: bigint, nowMs: number): FollowerFetchResult {
    if (this.phase !== 'open') return { kind: 'not_leader' }
    this.syncLeaderLogEnd()
    const isrEligible = this.options.isrEligible?.(replicaId, brokerEpoch) ?? true
    const result = this.state.onFollowerFetch({ replicaId, fetchOffset, brokerEpoch: brokerEpoch >= 0n ? brokerEpoch : undefined, nowMs, isrEligible })
    if (result.kind === 'ok') {
      if (result.highWatermarkAdvanced) this.notify()
      if (result.isrChange !== null) this.options.onAlterPartitionReady(this)
    }
    return result
  }

  /** Periodic ISR shrink check; true when an AlterPartition request is ready. */
  tick(nowMs: number): boolean {
    if (this.phase !== 'open' || this.roleNow !== 'leader') return false
    this.syncLeaderLogEnd()
    return this.state.tick(nowMs).isrChange !== null
  }

  takeAlterPartitionRequest(): AlterPartitionRequest | null {
    if (this.phase !== 'open') return null
    return this.state.takeAlterPartitionRequest()
  }

  onAlterPartitionResponse(request: AlterPartitionRequest, response: AlterPartitionResponse): AlterPartitionOutcome {
    const outcome = this.state.onAlterPartitionResponse(request, response)
    if (outcome.kind === 'applied') this.notify()
    return outcome
  }

  // ---------------------------------------------------------------------------- follower

  /** Whether this replica follows in `leaderEpoch` (a fetcher's work is for that epoch only). */
  followsIn(leaderEpoch: number): boolean {
    return this.phase === 'open' && this.roleNow === 'follower' && this.leaderEpochNow === leaderEpoch
  }

  /** Appends what the leader sent (Kafka's appendRecordsToFollowerOrFutureReplica). */
  async appendAsFollower(leaderEpoch: number, records: Buffer): Promise<FollowerAppendOutcome> {
    return this.mutex.run(async () => {
      if (!this.followsIn(leaderEpoch)) return { kind: 'stale' }
      const log = this.requireLog()
      const result = await this.guard(() => log.appendAsFollower(records))
      if (result === null) return { kind: 'stale' }
      switch (result.kind) {
        case 'appended':
          for (const scan of iterateBatches(records)) if (scan.kind === 'batch') this.producers.onAppended(scan.header)
          this.notify()
          return { kind: 'appended', lastOffset: result.lastOffset }
        case 'offset_mismatch':
          return result
        case 'invalid_batch':
          return { kind: 'invalid', error: result.error, reason: result.reason }
        case 'stale_leader_epoch':
          throw new AssertionError('a follower append does not check leader epochs')
      }
    })
  }

  /** Truncates the follower's log to `offset` (KIP-101/279). Returns the new log end, or null if stale. */
  async truncateAsFollower(leaderEpoch: number, offset: bigint, reason: string): Promise<bigint | null> {
    return this.mutex.run(async () => {
      if (!this.followsIn(leaderEpoch)) return null
      const log = this.requireLog()
      const endBefore = log.logEndOffset
      // The cleaner checkpoint comes down first, durably (as the recovery point does): a crash
      // right after the cut must not leave it above records the new leader will send, which the
      // cleaner would then count as clean (afterTruncation lowers it to the exact new end).
      if ((await this.guard(() => lowerCleanerCheckpoint(this.dir, offset, this.options.syncOps))) === null) return null
      const newEnd = await this.guard(() => log.truncateTo(offset))
      if (newEnd === null) return null
      if (newEnd < endBefore || newEnd < this.state.highWatermark) await this.afterTruncation(newEnd, reason)
      return newEnd
    })
  }

  /** Empties the follower's log and starts it at `offset` (behind the leader's log start). */
  async truncateFullyAsFollower(leaderEpoch: number, offset: bigint): Promise<boolean> {
    return this.mutex.run(async () => {
      if (!this.followsIn(leaderEpoch)) return false
      const log = this.requireLog()
      // Before the cut, as in truncateAsFollower: a crash between must not leave it above the new log.
      if ((await this.guard(() => lowerCleanerCheckpoint(this.dir, offset, this.options.syncOps))) === null) return false
      const done = await this.guard(() => log.truncateFullyAndStartAt(offset))
      if (done === null) return false
      this.producers.rebuild([])
      if (this.state.highWatermark > offset) {
        this.lowerFollowerHighWatermark(offset, 'the leader log starts after the local log')
        await this.writeHighWatermark()
      }
      this.logger.info({ logStartOffset: String(offset) }, 'truncated log fully to follow the leader')
      return true
    })
  }

  private async afterTruncation(newEnd: bigint, reason: string): Promise<void> {
    // What is appended from here on is dirty for the log cleaner.
    await this.guard(() => lowerCleanerCheckpoint(this.dir, newEnd, this.options.syncOps))
    const producers = this.producers.truncateTo(newEnd)
    if (!producers.exact) await this.rebuildProducerStateLogged()
    if (newEnd < this.state.highWatermark) {
      this.lowerFollowerHighWatermark(newEnd, reason)
      // Durably now, not at the next checkpoint round: the log refills from the leader, and a
      // restart must not take the old, higher checkpoint as covering the new records.
      await this.writeHighWatermark()
    }
    this.logger.info({ logEndOffset: String(newEnd), reason }, 'truncated follower log')
  }

  /**
   * Truncation below the high watermark: with unclean election off and fsync durability this
   * cannot happen (KIP-101 never cuts committed data); in page-cache mode a crashed leader can
   * lose acknowledged data. Kafka truncates anyway and warns; we do the same, loudly, because
   * a replica that keeps records its leader lacks would diverge forever. The state restarts
   * from the lower HW (PartitionState never moves one back).
   */
  private lowerFollowerHighWatermark(newHighWatermark: bigint, reason: string): void {
    const view = this.state.view()
    this.logger.error(
      { highWatermark: String(view.highWatermark), newHighWatermark: String(newHighWatermark), leader: view.leader, leaderEpoch: view.leaderEpoch, reason },
      'TRUNCATED BELOW THE HIGH WATERMARK: records this replica counted as committed are gone; the leader lacks them',
    )
    const state = this.newState(newHighWatermark)
    const result = state.becomeFollower({
      leaderEpoch: view.leaderEpoch,
      partitionEpoch: view.partitionEpoch,
      leader: view.leader,
      replicas: view.replicas,
      isr: view.isr,
      latestLocalEpoch: this.requireLog().latestEpoch(),
    })
    if (result.kind === 'stale_epoch') throw new AssertionError('a fresh state cannot hold a newer epoch')
    this.state = state
    this.refreshRole()
  }

  /** The follower learned the leader's HW; min(leader HW, what it holds durably). */
  updateFollowerHighWatermark(leaderEpoch: number, leaderHighWatermark: bigint): void {
    if (!this.followsIn(leaderEpoch)) return
    const log = this.requireLog()
    const held = this.options.durability === 'fsync' ? log.recoveryPoint : log.logEndOffset
    if (this.state.onFollowerHighWatermark(leaderHighWatermark, held)) this.notify()
  }

  /** Group commit for a follower: one fdatasync for everything fetched so far. Null on failure. */
  async flush(): Promise<bigint | null> {
    if (this.phase !== 'open') return null
    const log = this.requireLog()
    return this.guard(() => log.flush())
  }

  // ---------------------------------------------------------------------------- periodic

  /**
   * Checkpoints (Kafka's log.flush.offset.checkpoint.interval.ms): in page-cache mode this is
   * when data reaches the disk; then the recovery point and the HW. Also expires idle producers.
   */
  async checkpoint(nowMs: number): Promise<void> {
    if (this.phase !== 'open') return
    if (this.options.durability === 'page-cache') {
      // Outside the mutex: the fsync runs alongside appends (the log allows it), so a large
      // page-cache flush never stalls produce.
      const log = this.requireLog()
      const durable = await this.guard(() => log.flush())
      if (durable === null) return
      this.onFlushed(durable)
    }
    await this.mutex.run(async () => {
      if (this.phase !== 'open') return
      const log = this.requireLog()
      if ((await this.guard(() => log.checkpointRecoveryPoint())) === null) return
      await this.writeHighWatermark()
      this.producers.expire(nowMs)
    })
  }

  private async writeHighWatermark(): Promise<void> {
    const highWatermark = this.state.highWatermark
    if (highWatermark === this.checkpointedHighWatermark) return
    const done = await this.guard(async () => {
      await writeHighWatermarkCheckpoint(this.dir, highWatermark, this.options.syncOps)
      return true
    })
    if (done !== null) this.checkpointedHighWatermark = highWatermark
  }

  /** Retention by time and size, never at or above the HW; only when cleanup.policy includes delete (Kafka). */
  async deleteOldSegments(nowMs: number): Promise<void> {
    await this.mutex.run(async () => {
      if (this.phase !== 'open') return
      const log = this.requireLog()
      const { retentionMs, retentionBytes } = this.settingsNow
      if (retentionMs < 0 && retentionBytes < 0) return
      if (!isDeleteRetained(this.settingsNow)) return
      await this.guard(() => log.deleteOldSegments({ nowMs, retentionMs, retentionBytes, highWatermark: this.state.highWatermark }))
    })
  }

  /**
   * One log cleaner pass (log/cleaner/log-cleaner.ts) when cleanup.policy includes compact;
   * `settings` are the topic's current ones (a config change reaches the cleaner at its next
   * round). Not under the partition's mutex: the cleaner reads alongside appends and takes the
   * log alone only to swap a cleaned segment in, after checking the segments it cleaned are
   * still there (retention or a truncation meanwhile makes the pass stop). Replicas clean
   * their own logs independently, as Kafka's do. Null when there was nothing to do.
   */
  async clean(nowMs: number, settings: TopicSettings = this.settingsNow, options: { readonly ignoreDirtyRatio?: boolean } = {}): Promise<CleanResult | null> {
    // The replica manager reconfigures partitions when a numeric setting changes; a change of
    // the compaction keys alone reaches retention and the keyless-record check from here.
    const now = this.settingsNow
    if (
      settings.cleanupPolicy !== now.cleanupPolicy ||
      settings.deleteRetentionMs !== now.deleteRetentionMs ||
      settings.minCompactionLagMs !== now.minCompactionLagMs ||
      settings.minCleanableDirtyRatio !== now.minCleanableDirtyRatio
    ) {
      this.settingsNow = { ...now, cleanupPolicy: settings.cleanupPolicy, deleteRetentionMs: settings.deleteRetentionMs, minCompactionLagMs: settings.minCompactionLagMs, minCleanableDirtyRatio: settings.minCleanableDirtyRatio }
    }
    if (this.phase !== 'open' || !isCompacted(settings)) return null
    const log = this.requireLog()
    const compaction = { ...DEFAULT_COMPACTION_SETTINGS, ...settings }
    const pass = (): Promise<CleanResult> =>
      cleanLog(log, {
        nowMs,
        highWatermark: this.state.highWatermark,
        deleteRetentionMs: compaction.deleteRetentionMs,
        minCompactionLagMs: compaction.minCompactionLagMs,
        minCleanableDirtyRatio: compaction.minCleanableDirtyRatio,
        segmentBytes: settings.segmentBytes,
        syncOps: this.options.syncOps,
        logger: this.logger,
        codecs: this.options.codecs,
        isLastBatchOfProducer: (producerId, lastOffset) => this.producers.get(toProducerId(producerId))?.batches.at(-1)?.lastOffset === lastOffset,
        ignoreDirtyRatio: options.ignoreDirtyRatio,
      })
    try {
      return await pass()
    } catch (err) {
      if (err instanceof AssertionError) throw err
      // Closed (or deleted) meanwhile: the pass just stops; a .cleaned file left behind is
      // removed by the next open.
      if (this.phase !== 'open') return null
      // A failed swap failed the log: the partition fails with it (a restart finishes the swap).
      if (log.failed) return this.guard(() => Promise.reject(err))
      // Anything else (a batch the cleaner cannot decode, say) leaves the log as it was: Kafka
      // marks such a partition uncleanable; here the next round tries again.
      this.logger.error({ err: errorMessage(err) }, 'log cleaner pass failed; the log is unchanged')
      return null
    }
  }

  // ---------------------------------------------------------------------------- lifecycle

  /** Flushes, checkpoints the HW and closes the log cleanly (clean-shutdown marker). Waiters are told. */
  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.phase === 'closed') return
      const wasOpen = this.phase === 'open'
      this.phase = 'closed'
      const log = this.log
      if (log !== null) {
        try {
          if (wasOpen) {
            await log.flush()
            if (this.state.highWatermark !== this.checkpointedHighWatermark) await writeHighWatermarkCheckpoint(this.dir, this.state.highWatermark, this.options.syncOps)
          }
          await log.close()
        } catch (err) {
          if (err instanceof AssertionError) throw err
          this.logger.error({ err: errorMessage(err) }, 'partition did not close cleanly; the next open recovers it')
          await log.close().catch(() => {})
        }
      }
    })
    this.notify()
  }

  /**
   * Kafka's StopReplica with delete: close, move the directory aside under a name no partition
   * directory can have, then remove it. A crash in between leaves a `-delete` directory that
   * the next start removes.
   */
  async delete(): Promise<void> {
    await this.close()
    const doomed = join(dirname(this.dir), `${basename(this.dir)}.${this.topicId}-delete`)
    try {
      await rename(this.dir, doomed)
      await this.options.syncOps.syncDir(dirname(this.dir))
      await rm(doomed, { recursive: true, force: true })
      this.logger.info({ dir: this.dir }, `deleted partition ${this.name}`)
    } catch (err) {
      this.logger.error({ dir: this.dir, err: errorMessage(err) }, 'could not delete the partition directory')
    }
  }

  // ---------------------------------------------------------------------------- internals

  private requireLog(): PartitionLog {
    if (this.log === null) throw new TributaryError(ErrorCode.KAFKA_STORAGE_ERROR, `${this.name}: ${errorMessage(this.failure)}`)
    return this.log
  }

  /**
   * Runs a log operation. An error fails the partition (the log failed itself already: after
   * an I/O error only a restart can tell what is on disk) and is reported once; the caller
   * gets null. Assertion failures are bugs and propagate.
   */
  private async guard<T>(fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AssertionError) throw err
      if (this.phase === 'closed') return null
      if (this.phase === 'open') {
        this.phase = 'failed'
        this.failure = err
        this.logger.error({ err: errorMessage(err) }, `storage failure in partition ${this.name}; it answers KAFKA_STORAGE_ERROR`)
        this.notify()
        this.options.onStorageFailure(this, err)
      }
      return null
    }
  }

  private async rebuildProducerStateLogged(): Promise<void> {
    try {
      await this.rebuildProducerState()
    } catch (err) {
      if (err instanceof AssertionError) throw err
      this.logger.error({ err: errorMessage(err) }, 'could not rebuild producer state from the log')
    }
  }

  /** Producer state from every batch header in the log (Kafka rebuilds from snapshots; we have none). */
  private async rebuildProducerState(): Promise<void> {
    const log = this.requireLog()
    this.producers.rebuild([])
    let offset = log.logStartOffset
    while (offset < log.logEndOffset) {
      const read = await log.read(offset, PRODUCER_STATE_REBUILD_READ_BYTES, undefined, { minOneBatch: true })
      if (read.kind !== 'ok' || read.nextOffset <= offset) break
      for (const scan of iterateBatches(read.bytes)) if (scan.kind === 'batch') this.producers.onAppended(scan.header)
      offset = read.nextOffset
    }
  }
}

/** The headers of whole batches in `records`, or null if it is not a sequence of whole batches. */
function batchHeaders(records: Buffer): RecordBatchHeader[] | null {
  if (records.length === 0) return null
  const headers: RecordBatchHeader[] = []
  for (const scan of iterateBatches(records)) {
    if (scan.kind !== 'batch') return null
    headers.push(scan.header)
  }
  return headers
}

