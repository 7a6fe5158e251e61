/**
 * PartitionLog: the log of one partition replica on disk, `<log.dirs>/<topic>-<partition>/`.
 *
 *   <base offset, 20 digits>.log        RecordBatch v2 batches, stored exactly as received
 *   <base>.index / <base>.timeindex     sparse offset index and time index (log-segment.ts)
 *   leader-epoch-checkpoint             epoch -> start offset (KIP-101), Kafka's text format
 *   recovery-point-checkpoint           an offset below which everything is known durable
 *   clean-shutdown                      present only between a clean close and the next open
 *   *.tmp                               half-written checkpoints, deleted on open
 *
 *   <base>.log.cleaned / <base>.log.swap   the log cleaner's crash-safe swap (cleaner/):
 *                                       on open a .cleaned file is deleted (the old segments
 *                                       are intact), a .swap file is completed (it replaces
 *                                       the segments it covers)
 *
 * Invariants, between calls:
 *   - segments are sorted: each starts at or after the end of the previous one; the log is
 *     [logStartOffset, logEndOffset) = [first base, last segment's end); only the last
 *     (active) segment is written to. Offsets are contiguous unless the topic is compacted
 *     (cleaner/): a compacted log has offset gaps inside and between batches, and a read at
 *     an offset that was cleaned away returns the next batch (Kafka does the same);
 *   - every segment but the active one is fully durable, indexes included: a roll fdatasyncs
 *     the segment it closes before the new one takes writes. So active.base <= recoveryPoint
 *     <= logEndOffset, and recovery after a crash only ever has the active segment to check;
 *   - recoveryPoint (in memory) only counts flushed bytes; the checkpoint file may lag behind
 *     it but is never ahead of it: it is lowered, durably, before any truncation below it;
 *   - the leader epoch cache is written durably before the batches that need it, so the
 *     file may be ahead of the log after a crash (open trims it) but never misses an epoch of
 *     a flushed batch; epochs never decrease along the log;
 *   - after any I/O error in a mutation or a flush the log is failed: an fsync error leaves
 *     the page cache in an unknown state ("fsyncgate"), so the only safe move is to reopen and
 *     recover from what is really on disk. Every later call throws KAFKA_STORAGE_ERROR.
 *
 * Recovery (open) never drops data that may have been acknowledged: it cuts only a torn tail
 * (a damaged batch at the end of the last segment, at or after the recovery point, with no
 * intact batch after it) and reports every other damage as a StoreCorruptionError naming the
 * file and byte position. It reads and checks everything before it changes anything on disk.
 *
 * Concurrency: reads run alongside appends and flushes; truncation, retention and close run
 * alone (log-lock.ts). Durability is the caller's call: flush() is one fdatasync covering every
 * append that completed before it (group commit); the replica manager calls it before a
 * replica counts toward the high watermark.
 */
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { StoreCorruptionError, TMP_SUFFIX, assert, nodeSyncOps, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import {
  ErrorCode,
  MAGIC_V2,
  RecordBatchLayout,
  RecordBatchLimits,
  TributaryError,
  readBatchHeader,
  setBaseOffsetAndLeaderEpoch,
  type CompressionCodecs,
  type RecordBatchHeader,
} from '@tributary/protocol'
import { parseEpochField, parseOffsetField, readCheckpointFile, writeCheckpointFile } from './checkpoint-file.js'
import { LeaderEpochCache, invalidEpochEntries, type EpochEndOffset, type EpochEntry } from './leader-epoch-cache.js'
import { LogLock, type LockMode } from './log-lock.js'
import {
  INDEX_INTERVAL_BYTES_DEFAULT,
  MAX_MESSAGE_BYTES_DEFAULT,
  READ_BYTES_MAX,
  ROLL_MS_DEFAULT,
  SEGMENT_BYTES_DEFAULT,
  SEGMENT_BYTES_MAX,
  SEGMENT_BYTES_MIN,
  SEGMENT_OFFSET_SPAN_MAX,
} from './log-limits.js'
import { LOG_FILE_SUFFIX, LogSegment, indexTimestamp, parseSegmentFileName, segmentFileStem, type BatchSummary, type SegmentSettings, type TimestampAndOffset } from './log-segment.js'
import { validateAppend, type InvalidAppend } from './validate-append.js'
import { CLEANED_FILE_SUFFIX, deleteSegmentFiles, recoverCleanerSwaps, swapLogPath } from './cleaner/cleaner-swap.js'

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint'
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-checkpoint'
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown'

/** Per-topic settings, with Kafka's names. Retention is passed to deleteOldSegments. */
export interface PartitionLogConfig {
  /** `log.segment.bytes` (topic: `segment.bytes`). */
  readonly segmentBytes: number
  /** `log.roll.ms` (topic: `segment.ms`). */
  readonly rollMs: number
  /** `max.message.bytes`: the largest batch a leader accepts. */
  readonly maxMessageBytes: number
  /** `index.interval.bytes`. */
  readonly indexIntervalBytes: number
}

export const DEFAULT_PARTITION_LOG_CONFIG: PartitionLogConfig = {
  segmentBytes: SEGMENT_BYTES_DEFAULT,
  rollMs: ROLL_MS_DEFAULT,
  maxMessageBytes: MAX_MESSAGE_BYTES_DEFAULT,
  indexIntervalBytes: INDEX_INTERVAL_BYTES_DEFAULT,
}

export interface PartitionLogOptions {
  /** The partition directory (see partitionDir()); created if missing. */
  readonly dir: string
  readonly logger: Logger
  readonly config?: Partial<PartitionLogConfig>
  /** Wall clock, for `log.roll.ms` of segments whose batches carry no timestamps. Defaults to Date.now. */
  readonly clock?: () => number
  /** Injectable so tests can count or fail syncs; defaults to the real ones. */
  readonly syncOps?: FsSyncOps
  /** Compression codecs for validating and decoding compressed batches. */
  readonly codecs?: CompressionCodecs
}

export type AppendResult =
  | {
      readonly kind: 'appended'
      readonly firstOffset: bigint
      readonly lastOffset: bigint
      readonly batchCount: number
      /** Largest batch max timestamp appended (-1 if none carries one), and the last offset of its batch. */
      readonly maxTimestamp: bigint
      readonly offsetOfMaxTimestamp: bigint
    }
  | InvalidAppend
  /** A leader append with an epoch older than one already in the log: the caller was fenced. */
  | { readonly kind: 'stale_leader_epoch'; readonly leaderEpoch: number; readonly latestEpoch: number }
  /** A follower append that does not start at the log end offset. */
  | { readonly kind: 'offset_mismatch'; readonly expectedOffset: bigint; readonly actualOffset: bigint }

export type ReadResult =
  | {
      readonly kind: 'ok'
      /** Whole batches, as stored; empty when there is nothing to return. */
      readonly bytes: Buffer
      /** Base offset of the first returned batch (it may start before fromOffset), or null. */
      readonly firstOffset: bigint | null
      /** One past the last returned offset: where the next read continues. fromOffset if none. */
      readonly nextOffset: bigint
      readonly logStartOffset: bigint
      readonly logEndOffset: bigint
    }
  | { readonly kind: 'offset_out_of_range'; readonly logStartOffset: bigint; readonly logEndOffset: bigint }

export interface ReadOptions {
  /**
   * Return the first batch even if it is larger than maxBytes, so a consumer always makes
   * progress (KIP-74). Default true; a fetch sets it for its first partition only.
   */
  readonly minOneBatch?: boolean
}

export type ListOffsetsQuery = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly timestampMs: bigint }

/** A ListOffsets answer; timestamp is -1 for earliest and latest; leaderEpoch null when unknown. */
export interface OffsetAndTimestamp {
  readonly offset: bigint
  readonly timestamp: bigint
  readonly leaderEpoch: number | null
}

export interface RetentionParams {
  readonly nowMs: number
  /** `log.retention.ms` (topic: `retention.ms`); -1 keeps data forever. */
  readonly retentionMs: number
  /** `log.retention.bytes` (topic: `retention.bytes`); -1 for no size limit. */
  readonly retentionBytes: number
  /** Only segments wholly below the high watermark may go: consumers and followers may still need the rest. */
  readonly highWatermark: bigint
}

export interface RetentionResult {
  readonly deletedSegments: number
  readonly deletedBytes: number
  readonly logStartOffset: bigint
}

/** A closed segment as the log cleaner sees it: endOffset is the next segment's base. */
export interface ClosedSegment {
  readonly segment: LogSegment
  readonly baseOffset: bigint
  readonly endOffset: bigint
  readonly size: number
  /**
   * The log's truncation count when this was taken: a truncation can cut a closed segment and
   * appends refill it to the same size (a follower below its HW), so identity and size alone
   * do not prove the cleaner still looks at the bytes it read.
   */
  readonly truncations: number
}

/** The steps of a cleaner swap after which a test may simulate a crash (cleaner-swap.ts). */
export type SwapStep = 'swap-renamed' | 'old-deleted' | 'swap-completed'

export type EpochAssignment = { readonly kind: 'assigned' } | { readonly kind: 'unchanged' } | { readonly kind: 'stale_leader_epoch'; readonly latestEpoch: number }

const INT32_MAX = 0x7fffffff

function resolveConfig(partial: Partial<PartitionLogConfig> | undefined): PartitionLogConfig {
  const config = { ...DEFAULT_PARTITION_LOG_CONFIG, ...partial }
  const check = (ok: boolean, key: string, value: number): void => assert(ok, `${key} ${value} is out of range`)
  check(Number.isInteger(config.segmentBytes) && config.segmentBytes >= SEGMENT_BYTES_MIN && config.segmentBytes <= SEGMENT_BYTES_MAX, 'log.segment.bytes', config.segmentBytes)
  check(Number.isSafeInteger(config.rollMs) && config.rollMs >= 1, 'log.roll.ms', config.rollMs)
  check(Number.isInteger(config.maxMessageBytes) && config.maxMessageBytes >= 0, 'max.message.bytes', config.maxMessageBytes)
  check(Number.isInteger(config.indexIntervalBytes) && config.indexIntervalBytes >= 0, 'index.interval.bytes', config.indexIntervalBytes)
  return config
}

type Phase = 'open' | 'failed' | 'closed'

export class PartitionLog {
  readonly dir: string
  private readonly logger: Logger
  private config: PartitionLogConfig
  private readonly clock: () => number
  private readonly syncOps: FsSyncOps
  private readonly settings: SegmentSettings
  private readonly codecs: CompressionCodecs | undefined
  private readonly lock = new LogLock()

  private phase: Phase = 'open'
  private failure: unknown = null
  private segments: LogSegment[]
  private readonly epochCache: LeaderEpochCache
  /** Every offset below this is durable (flushed). */
  private flushedOffset: bigint
  /** What recovery-point-checkpoint says: never above flushedOffset. */
  private checkpointedRecoveryPoint: bigint | null
  /** Counts completed appends and cuts; flush() is free when none happened since the last one. */
  private writeGeneration = 0
  private flushedGeneration = 0
  /** Counts truncations that cut bytes (see ClosedSegment.truncations). */
  private truncations = 0

  private constructor(
    options: PartitionLogOptions,
    dir: string,
    config: PartitionLogConfig,
    settings: SegmentSettings,
    segments: LogSegment[],
    epochCache: LeaderEpochCache,
    checkpointedRecoveryPoint: bigint | null,
  ) {
    this.dir = dir
    this.logger = options.logger
    this.config = config
    this.clock = options.clock ?? Date.now
    this.syncOps = options.syncOps ?? nodeSyncOps
    this.codecs = options.codecs
    this.settings = settings
    this.segments = segments
    this.epochCache = epochCache
    this.flushedOffset = segments[segments.length - 1].endOffset
    this.checkpointedRecoveryPoint = checkpointedRecoveryPoint
  }

  // ---- accessors ------------------------------------------------------------------------

  get logStartOffset(): bigint {
    return this.segments[0].baseOffset
  }

  get logEndOffset(): bigint {
    return this.active.endOffset
  }

  /** Whether an I/O error failed the log (every call but close throws until it is reopened). */
  get failed(): boolean {
    return this.phase === 'failed'
  }

  /** Every offset below this is on disk and fsynced. */
  get recoveryPoint(): bigint {
    return this.flushedOffset
  }

  /** Bytes of all segments. */
  get sizeInBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0)
  }

  get segmentCount(): number {
    return this.segments.length
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset)
  }

  latestEpoch(): number | null {
    return this.epochCache.latestEpoch()
  }

  epochEntries(): readonly EpochEntry[] {
    return this.epochCache.entries()
  }

  /** OffsetsForLeaderEpoch for this replica (KIP-101/279); see LeaderEpochCache.endOffsetFor. */
  endOffsetForEpoch(leaderEpoch: number): EpochEndOffset {
    this.checkUsable()
    return this.epochCache.endOffsetFor(leaderEpoch, this.logEndOffset)
  }

  /** Applies new per-topic settings (a topic config change); retention is passed per call. */
  reconfigure(config: Partial<PartitionLogConfig>): void {
    this.config = resolveConfig({ ...this.config, ...config })
    this.settings.indexIntervalBytes = this.config.indexIntervalBytes
  }

  private get active(): LogSegment {
    assert(this.segments.length > 0, 'a log always has an active segment')
    return this.segments[this.segments.length - 1]
  }

  // ---- open: recovery -------------------------------------------------------------------

  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const dir = resolve(options.dir)
    const config = resolveConfig(options.config)
    const syncOps = options.syncOps ?? nodeSyncOps
    const clock = options.clock ?? Date.now
    const logger = options.logger
    const settings: SegmentSettings = { indexIntervalBytes: config.indexIntervalBytes, syncOps, logger, codecs: options.codecs }

    const created = await mkdir(dir, { recursive: true })
    if (created !== undefined) {
      // The new directory's entries up to the first one created must be durable, or a crash
      // could take the partition directory (and everything later flushed into it) away.
      for (let path = dir; dirname(path) !== path; path = dirname(path)) {
        await syncOps.syncDir(dirname(path))
        if (path === created) break
      }
    }
    // A log cleaner's swap interrupted by a crash is finished (or its unfinished output
    // dropped) before anything else looks at the segments.
    await recoverCleanerSwaps(dir, await readdir(dir), syncOps, logger, options.codecs)
    const names = await readdir(dir)

    // 1. Read and check everything; change nothing on disk yet.
    const recoveryPointPath = join(dir, RECOVERY_POINT_CHECKPOINT_FILE)
    const recoveryEntries = await readCheckpointFile(recoveryPointPath, 1)
    if (recoveryEntries !== null && recoveryEntries.length !== 1) throw new StoreCorruptionError(recoveryPointPath, `holds ${recoveryEntries.length} entries, expected 1`)
    const recoveryPoint = recoveryEntries === null ? null : parseOffsetField(recoveryPointPath, recoveryEntries[0][0], 'recovery point')

    const epochPath = join(dir, LEADER_EPOCH_CHECKPOINT_FILE)
    const epochLines = (await readCheckpointFile(epochPath, 2)) ?? []
    const epochEntries: EpochEntry[] = epochLines.map(([epoch, startOffset]) => ({
      epoch: parseEpochField(epochPath, epoch, 'leader epoch'),
      startOffset: parseOffsetField(epochPath, startOffset, 'epoch start offset'),
    }))
    const invalidEpochs = invalidEpochEntries(epochEntries)
    if (invalidEpochs !== null) throw new StoreCorruptionError(epochPath, invalidEpochs)

    const bases: bigint[] = []
    for (const name of names) {
      const parsed = parseSegmentFileName(name)
      if (parsed !== null && parsed.suffix === LOG_FILE_SUFFIX) bases.push(parsed.baseOffset)
    }
    bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

    const segments: LogSegment[] = []
    try {
      for (const base of bases) segments.push(await LogSegment.existing(dir, base, settings, clock()))
      return await PartitionLog.recover(options, { dir, config, settings, clock, syncOps, logger, names, segments, recoveryPoint, recoveryPointPath, epochEntries })
    } catch (err) {
      // A log that refuses to open leaves no file open behind it.
      for (const segment of segments) await segment.close().catch(() => {})
      throw err
    }
  }

  private static async recover(
    options: PartitionLogOptions,
    opening: {
      readonly dir: string
      readonly config: PartitionLogConfig
      readonly settings: SegmentSettings
      readonly clock: () => number
      readonly syncOps: FsSyncOps
      readonly logger: Logger
      readonly names: readonly string[]
      readonly segments: LogSegment[]
      readonly recoveryPoint: bigint | null
      readonly recoveryPointPath: string
      readonly epochEntries: readonly EpochEntry[]
    },
  ): Promise<PartitionLog> {
    const { dir, config, settings, clock, syncOps, logger, names, segments, recoveryPoint, recoveryPointPath, epochEntries } = opening
    const cleanShutdown = names.includes(CLEAN_SHUTDOWN_FILE)
    const segmentStems = new Set(segments.map((s) => segmentFileStem(s.baseOffset)))
    const orphanIndexes = names.filter((name) => parseSegmentFileName(name) !== null && !segmentStems.has(name.slice(0, name.indexOf('.'))))
    const staleTmps = names.filter((name) => name.endsWith(TMP_SUFFIX))

    interface TornTail {
      readonly segment: LogSegment
      readonly validBytes: number
      readonly position: number
      readonly reason: string
      readonly fileBytes: number
    }
    let tornTail: TornTail | null = null
    const recovered: LogSegment[] = []
    const recoveredBatches: BatchSummary[] = []
    let previousEpoch = 0
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]
      const isLast = i === segments.length - 1
      const nextBase = isLast ? null : segments[i + 1].baseOffset
      let needsRecovery = isLast ? !cleanShutdown : recoveryPoint === null || (nextBase !== null && nextBase > recoveryPoint)
      if (!needsRecovery) {
        const distrust = await segment.loadTrusted(nextBase, isLast)
        if (distrust !== null) {
          logger.warn({ path: segment.logPath, reason: distrust }, 'segment files fail their checks; recovering the segment from its log')
          needsRecovery = true
        }
      }
      if (!needsRecovery) continue
      const fileBytes = segment.size
      const scan = await segment.recover(previousEpoch, (batch) => recoveredBatches.push(batch))
      recovered.push(segment)
      previousEpoch = recoveredBatches.at(-1)?.partitionLeaderEpoch ?? previousEpoch
      if (scan.damage !== null) {
        const { position, reason } = scan.damage
        const where = `damaged batch at byte ${position} (offset ${scan.endOffset}): ${reason}`
        if (!isLast) throw new StoreCorruptionError(segment.logPath, `${where}; later segments exist, so this is not a torn tail`, position)
        if (recoveryPoint !== null && scan.endOffset < recoveryPoint) {
          throw new StoreCorruptionError(segment.logPath, `${where}; it lies below the recovery point ${recoveryPoint}, so it was flushed and may have been acknowledged`, position)
        }
        const intactAt = await segment.intactBatchAfter(position, fileBytes, scan.endOffset)
        if (intactAt !== null) {
          throw new StoreCorruptionError(segment.logPath, `${where}; an intact batch follows at byte ${intactAt}, so this is not a torn tail (refusing to drop data that may have been acknowledged)`, position)
        }
        tornTail = { segment, validBytes: scan.validBytes, position, reason, fileBytes }
      } else if (nextBase !== null && scan.endOffset > nextBase) {
        // Below nextBase is fine: a compacted segment may end with a gap.
        throw new StoreCorruptionError(segment.logPath, `batches end at offset ${scan.endOffset}, after the next segment's start ${nextBase}`)
      }
    }
    const logEndOffset = segments.length === 0 ? null : segments[segments.length - 1].endOffset
    if (logEndOffset !== null && recoveryPoint !== null && recoveryPoint > logEndOffset) {
      throw new StoreCorruptionError(recoveryPointPath, `recovery point ${recoveryPoint} is beyond the log end offset ${logEndOffset}: flushed data is missing`)
    }

    // 2. Everything checked: now change the directory.
    for (const name of [...staleTmps, ...orphanIndexes]) {
      logger.warn({ path: join(dir, name) }, 'removing leftover file')
      await unlink(join(dir, name))
    }
    if (tornTail !== null) {
      logger.warn(
        { path: tornTail.segment.logPath, position: tornTail.position, reason: tornTail.reason, bytesCut: tornTail.fileBytes - tornTail.validBytes },
        'cut torn tail of partition log',
      )
      await tornTail.segment.cutTornTail(tornTail.validBytes)
    }
    if (segments.length === 0) {
      const start = recoveryPoint ?? 0n
      if (recoveryPoint !== null) logger.warn({ dir, startOffset: String(start) }, 'partition directory has checkpoints but no segments; starting an empty log')
      segments.push(await LogSegment.create(dir, start, settings, clock()))
    }
    for (const segment of recovered) {
      // Recovered bytes may sit only in the page cache: sync them, so the recovery point can
      // be the log end. Old segments also get their index files back.
      await segment.datasync()
      if (segment !== segments[segments.length - 1]) await segment.writeIndexFiles(true)
    }

    const log = new PartitionLog(options, dir, config, settings, segments, new LeaderEpochCache(epochEntries, logger), recoveryPoint)
    let epochsChanged = log.epochCache.truncateFromEnd(log.logEndOffset)
    for (const batch of recoveredBatches) {
      if (batch.baseOffset >= log.logEndOffset) break
      const latest = log.epochCache.latestEpoch()
      if (latest === null || batch.partitionLeaderEpoch > latest) epochsChanged = log.epochCache.assign(batch.partitionLeaderEpoch, batch.baseOffset) || epochsChanged
    }
    epochsChanged = log.epochCache.truncateFromStart(log.logStartOffset) || epochsChanged
    if (epochsChanged) await log.writeEpochCheckpoint()
    // Segments were synced above and inactive ones at their roll: the whole log is durable.
    await log.writeRecoveryCheckpoint(log.logEndOffset)
    if (cleanShutdown) {
      // From here on the active segment's index files are stale until the next clean close.
      await unlink(join(dir, CLEAN_SHUTDOWN_FILE))
      await syncOps.syncDir(dir)
    }
    logger.info(
      {
        dir,
        logStartOffset: String(log.logStartOffset),
        logEndOffset: String(log.logEndOffset),
        segments: segments.length,
        recoveredSegments: recovered.length,
        cleanShutdown,
      },
      'opened partition log',
    )
    return log
  }

  // ---- appends --------------------------------------------------------------------------

  /**
   * A leader append (produce): validates every batch, assigns offsets from the log end by
   * writing baseOffset and partitionLeaderEpoch into each batch's header in place (outside
   * the CRC, so nothing is re-encoded; `batches` is modified), and appends the bytes with one
   * write. Not durable until flush().
   */
  async append(batches: Buffer, leaderEpoch: number): Promise<AppendResult> {
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0 && leaderEpoch <= INT32_MAX, `leader epoch ${leaderEpoch} out of range`)
    this.checkUsable()
    const validation = validateAppend(batches, { origin: 'leader', maxMessageBytes: this.config.maxMessageBytes, segmentBytes: this.config.segmentBytes, codecs: this.codecs })
    if (validation.kind !== 'ok') return validation
    return this.locked('append', async () => {
      const latestEpoch = this.epochCache.latestEpoch()
      if (latestEpoch !== null && leaderEpoch < latestEpoch) return { kind: 'stale_leader_epoch', leaderEpoch, latestEpoch }
      let next = this.logEndOffset
      const assigned: BatchSummary[] = validation.batches.map((batch) => {
        const baseOffset = next
        const lastOffset = baseOffset + (batch.lastOffset - batch.baseOffset)
        next = lastOffset + 1n
        return { ...batch, baseOffset, lastOffset, partitionLeaderEpoch: leaderEpoch }
      })
      await this.appendAssigned(batches, assigned, () => {
        for (const batch of assigned) setBaseOffsetAndLeaderEpoch(batches, batch.baseOffset, leaderEpoch, batch.position)
      })
      return this.appended(assigned)
    })
  }

  /**
   * A follower append (replica fetch): the batches carry the leader's offsets and epochs and
   * must start at or after this log's end offset (after it when the leader's log was compacted
   * and the batch at the end offset was cleaned away; Kafka's follower accepts the same).
   * Each batch's header and CRC-32C are checked, not its records (the leader validated them at
   * produce; validateReplicatedBatch, as Kafka's follower), without the size policy. Not
   * durable until flush().
   */
  async appendAsFollower(batches: Buffer): Promise<AppendResult> {
    this.checkUsable()
    const validation = validateAppend(batches, { origin: 'follower', maxMessageBytes: this.config.maxMessageBytes, segmentBytes: this.config.segmentBytes, codecs: this.codecs })
    if (validation.kind !== 'ok') return validation
    return this.locked('append', async () => {
      const first = validation.batches[0]
      if (first.baseOffset < this.logEndOffset) return { kind: 'offset_mismatch', expectedOffset: this.logEndOffset, actualOffset: first.baseOffset }
      const latestEpoch = this.epochCache.latestEpoch()
      if (latestEpoch !== null && first.partitionLeaderEpoch < latestEpoch) {
        // The leader's log never has an epoch go down; ours would, so this replica should have
        // truncated first (KIP-101). Refuse rather than diverge.
        return { kind: 'invalid_batch', error: ErrorCode.CORRUPT_MESSAGE, batchIndex: 0, reason: `replicated batch has leader epoch ${first.partitionLeaderEpoch}, below this log's latest epoch ${latestEpoch}` }
      }
      await this.appendAssigned(batches, validation.batches, () => {})
      return this.appended(validation.batches)
    })
  }

  private appended(batches: readonly BatchSummary[]): AppendResult {
    let maxTimestamp = -1n
    let offsetOfMaxTimestamp = batches[0].lastOffset
    for (const batch of batches) {
      if (batch.maxTimestamp > maxTimestamp) {
        maxTimestamp = batch.maxTimestamp
        offsetOfMaxTimestamp = batch.lastOffset
      }
    }
    return {
      kind: 'appended',
      firstOffset: batches[0].baseOffset,
      lastOffset: batches[batches.length - 1].lastOffset,
      batchCount: batches.length,
      maxTimestamp,
      offsetOfMaxTimestamp,
    }
  }

  /** Rolls if needed, records new epochs durably, then writes. Holds the 'append' lock. */
  private async appendAssigned(bytes: Buffer, batches: readonly BatchSummary[], stamp: () => void): Promise<void> {
    await this.maybeRoll(bytes.length, batches)
    let epochsChanged = false
    for (const batch of batches) {
      const latest = this.epochCache.latestEpoch()
      if (latest === null || batch.partitionLeaderEpoch > latest) epochsChanged = this.epochCache.assign(batch.partitionLeaderEpoch, batch.baseOffset) || epochsChanged
    }
    // Epochs first: a crash may leave the checkpoint ahead of the log (open trims it), never behind.
    if (epochsChanged) await this.writeEpochCheckpoint()
    stamp()
    await this.active.append(bytes, batches)
    this.writeGeneration++
  }

  /**
   * Kafka's LogSegment.shouldRoll: the active segment is not empty and the append would take
   * it past log.segment.bytes, or past the offsets its index can address, or it is older than
   * log.roll.ms, measured from its first batch's timestamp to the new batches' (or, without
   * timestamps, by the wall clock since the segment was opened).
   */
  private async maybeRoll(appendBytes: number, batches: readonly BatchSummary[]): Promise<void> {
    const segment = this.active
    if (segment.isEmpty) return
    const lastOffset = batches[batches.length - 1].lastOffset
    const incomingMaxTimestamp = Math.max(...batches.map((b) => indexTimestamp(b.maxTimestamp)))
    const rollBasis = segment.firstBatchMaxTimestampMs
    const agedMs = rollBasis !== null && rollBasis >= 0 ? incomingMaxTimestamp - rollBasis : this.clock() - segment.createdMs
    let reason: string | null = null
    if (segment.size + appendBytes > this.config.segmentBytes) reason = 'size'
    else if (lastOffset - segment.baseOffset > BigInt(SEGMENT_OFFSET_SPAN_MAX)) reason = 'offset span'
    else if (agedMs > this.config.rollMs) reason = 'age'
    if (reason !== null) await this.roll(reason)
  }

  /**
   * Closes the active segment durably (log, then index files) and starts a new one at the
   * log end. The recovery-point checkpoint moves to the new base, and its directory fsync also
   * makes the new segment's file durable.
   */
  private async roll(reason: string): Promise<void> {
    const old = this.active
    await old.datasync()
    await old.writeIndexFiles(true)
    const segment = await LogSegment.create(this.dir, old.endOffset, this.settings, this.clock())
    this.segments.push(segment)
    if (old.endOffset > this.flushedOffset) this.flushedOffset = old.endOffset
    await this.writeRecoveryCheckpoint(this.flushedOffset)
    this.logger.info({ dir: this.dir, baseOffset: String(segment.baseOffset), reason }, 'rolled new log segment')
  }

  /**
   * Records that `leaderEpoch` starts at the log end offset: a replica becoming leader calls
   * this before it appends (Kafka's Partition.makeLeader), so that OffsetsForLeaderEpoch
   * answers for the new epoch at once. Durable when it resolves.
   */
  async assignEpochStartOffset(leaderEpoch: number): Promise<EpochAssignment> {
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0 && leaderEpoch <= INT32_MAX, `leader epoch ${leaderEpoch} out of range`)
    this.checkUsable()
    return this.locked('append', async () => {
      const latest = this.epochCache.latestEpoch()
      if (latest !== null && leaderEpoch < latest) return { kind: 'stale_leader_epoch', latestEpoch: latest }
      if (!this.epochCache.assign(leaderEpoch, this.logEndOffset)) return { kind: 'unchanged' }
      await this.writeEpochCheckpoint()
      return { kind: 'assigned' }
    })
  }

  // ---- durability -----------------------------------------------------------------------

  /**
   * Makes every append that completed before this call durable, with one fdatasync of the
   * active segment (older segments were synced when they rolled), and returns the new
   * recovery point. Cheap when nothing was written since the last flush. The checkpoint file
   * is not rewritten here (that would cost three more fsyncs per flush); see
   * checkpointRecoveryPoint.
   */
  async flush(): Promise<bigint> {
    this.checkUsable()
    if (this.writeGeneration === this.flushedGeneration) return this.flushedOffset
    return this.locked(
      'read',
      async () => {
        // Captured together, before the fsync: appends that complete later are not covered.
        const generation = this.writeGeneration
        const endOffset = this.logEndOffset
        await this.active.datasync()
        if (generation > this.flushedGeneration) this.flushedGeneration = generation
        if (endOffset > this.flushedOffset) this.flushedOffset = endOffset
        return this.flushedOffset
      },
      true,
    )
  }

  /**
   * Writes the recovery point to its checkpoint file if it moved. The caller schedules this
   * (Kafka: every `log.flush.offset.checkpoint.interval.ms`); rolls and clean closes write it
   * too. A later checkpoint narrows what recovery must treat as possibly torn.
   */
  async checkpointRecoveryPoint(): Promise<void> {
    this.checkUsable()
    await this.locked('append', async () => {
      if (this.checkpointedRecoveryPoint !== this.flushedOffset) await this.writeRecoveryCheckpoint(this.flushedOffset)
    })
  }

  private async writeRecoveryCheckpoint(offset: bigint): Promise<void> {
    assert(offset <= this.flushedOffset, `recovery checkpoint ${offset} must not pass the flushed offset ${this.flushedOffset}`)
    await writeCheckpointFile(join(this.dir, RECOVERY_POINT_CHECKPOINT_FILE), this.dir, [[offset]], this.syncOps)
    this.checkpointedRecoveryPoint = offset
  }

  private async writeEpochCheckpoint(): Promise<void> {
    const entries = this.epochCache.entries().map((e) => [e.epoch, e.startOffset] as const)
    await writeCheckpointFile(join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE), this.dir, entries, this.syncOps)
  }

  // ---- reads ----------------------------------------------------------------------------

  /**
   * Whole batches from the one holding `fromOffset`, up to `maxBytes` and only batches that
   * end below `maxOffset` (the high watermark, for consumers; omitted for followers, which read
   * to the log end). Reads from one segment at a time, as Kafka does; the caller continues at
   * nextOffset. Reads run alongside appends and see only appends that completed.
   */
  async read(fromOffset: bigint, maxBytes: number, maxOffset?: bigint, options: ReadOptions = {}): Promise<ReadResult> {
    assert(Number.isInteger(maxBytes) && maxBytes >= 0 && maxBytes <= READ_BYTES_MAX, `read maxBytes ${maxBytes} out of [0, ${READ_BYTES_MAX}]`)
    this.checkUsable()
    const minOneBatch = options.minOneBatch ?? true
    return this.locked('read', async () => {
      const logStartOffset = this.logStartOffset
      const logEndOffset = this.logEndOffset
      if (fromOffset < logStartOffset || fromOffset > logEndOffset) return { kind: 'offset_out_of_range', logStartOffset, logEndOffset }
      const empty: ReadResult = { kind: 'ok', bytes: Buffer.alloc(0), firstOffset: null, nextOffset: fromOffset, logStartOffset, logEndOffset }
      const bound = maxOffset === undefined || maxOffset > logEndOffset ? logEndOffset : maxOffset
      if (fromOffset >= bound) return empty
      // The first batch ending at or after fromOffset; in a compacted log it may lie in a later
      // segment (fromOffset fell in a gap that was cleaned away).
      let segment = this.segmentFor(fromOffset)
      let sizeLimit = 0
      let found: { readonly position: number; readonly header: RecordBatchHeader } | null = null
      for (let i = this.segments.indexOf(segment); i < this.segments.length; i++) {
        segment = this.segments[i]
        // Capture the size now: bytes appended after this point are not part of this read.
        sizeLimit = segment.size
        found = await segment.locate(fromOffset, sizeLimit)
        if (found !== null || segment.baseOffset >= bound) break
      }
      if (found === null || found.header.lastOffset >= bound) return empty
      const start = found.position
      const window = await segment.read(start, Math.min(sizeLimit - start, maxBytes))
      let end = 0
      let nextOffset = fromOffset
      let expected = found.header.baseOffset
      for (const { position, header } of completeBatches(window, segment.logPath, start)) {
        if (header.baseOffset < expected) throw new StoreCorruptionError(segment.logPath, `batch at byte ${start + position} holds offset ${header.baseOffset}, expected at least ${expected}`, start + position)
        if (header.lastOffset >= bound) break
        end = position + header.sizeBytes
        nextOffset = header.lastOffset + 1n
        expected = nextOffset
      }
      if (end === 0) {
        if (!minOneBatch) return empty
        // KIP-74: the first batch alone, though larger than maxBytes.
        const bytes = await segment.read(start, found.header.sizeBytes)
        return { kind: 'ok', bytes, firstOffset: found.header.baseOffset, nextOffset: found.header.lastOffset + 1n, logStartOffset, logEndOffset }
      }
      return { kind: 'ok', bytes: window.subarray(0, end), firstOffset: found.header.baseOffset, nextOffset, logStartOffset, logEndOffset }
    })
  }

  /** The segment whose range holds `offset` (which must lie in [logStartOffset, logEndOffset)): the last one starting at or before it. */
  private segmentFor(offset: bigint): LogSegment {
    let lo = 0
    let hi = this.segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.segments[mid].baseOffset <= offset) lo = mid
      else hi = mid - 1
    }
    const segment = this.segments[lo]
    const end = lo === this.segments.length - 1 ? segment.endOffset : this.segments[lo + 1].baseOffset
    assert(segment.baseOffset <= offset && offset < end, `offset ${offset} lies in segment ${segment.baseOffset}..${end}`)
    return segment
  }

  /**
   * ListOffsets (Kafka's fetchOffsetByTimestamp): the log start, the log end, or the first
   * record with a timestamp >= the given one (null if there is none). The caller applies
   * isolation (a consumer must not see an offset at or above the high watermark).
   */
  async listOffsets(query: ListOffsetsQuery): Promise<OffsetAndTimestamp | null> {
    this.checkUsable()
    if (query.kind === 'earliest') return { offset: this.logStartOffset, timestamp: -1n, leaderEpoch: this.epochCache.epochForOffset(this.logStartOffset) }
    if (query.kind === 'latest') return { offset: this.logEndOffset, timestamp: -1n, leaderEpoch: this.epochCache.latestEpoch() }
    const target = query.timestampMs
    assert(target >= 0n, `ListOffsets timestamp ${target} must be >= 0 (use earliest or latest)`)
    if (target > BigInt(Number.MAX_SAFE_INTEGER)) return null
    const targetMs = Number(target)
    return this.locked('read', async () => {
      for (const segment of [...this.segments]) {
        const sizeLimit = segment.size
        if (segment.maxTimestampMs < targetMs) continue
        const found: TimestampAndOffset | null = await segment.findOffsetByTimestamp(targetMs, sizeLimit)
        if (found !== null) return { offset: found.offset, timestamp: found.timestamp, leaderEpoch: found.leaderEpoch }
      }
      return null
    })
  }

  // ---- truncation and retention ---------------------------------------------------------

  /**
   * Removes every offset >= `targetOffset` (KIP-101/279 truncation of a follower to the
   * divergence point). Batches are never split: a batch holding targetOffset goes whole, so the
   * log may end below it. Returns the new log end offset. A target below the log start empties
   * the log (truncateFullyAndStartAt). The recovery point and epoch cache are lowered durably
   * before any byte is cut; the cut itself is made durable by the next flush.
   */
  async truncateTo(targetOffset: bigint): Promise<bigint> {
    assert(targetOffset >= 0n, `truncation offset ${targetOffset} must be >= 0`)
    this.checkUsable()
    return this.locked('exclusive', async () => {
      if (targetOffset >= this.logEndOffset) {
        // No bytes to cut, but an epoch entry that starts at the log end must still go (Kafka's
        // UnifiedLog.truncateTo does the same): a replica that became leader and wrote nothing
        // before losing leadership has such an entry, and keeping it would make its next
        // fetches claim an epoch the new leader never had (KIP-320 divergence, forever).
        if (this.epochCache.truncateFromEnd(this.logEndOffset)) await this.writeEpochCheckpoint()
        return this.logEndOffset
      }
      if (targetOffset < this.logStartOffset) {
        await this.truncateFully(targetOffset)
        return targetOffset
      }
      const index = this.segments.indexOf(this.segmentFor(targetOffset))
      const segment = this.segments[index]
      const cut = await segment.findCut(targetOffset)
      const newEnd = cut.endOffset
      this.truncations++
      await this.lowerRecoveryPoint(newEnd)
      if (this.epochCache.truncateFromEnd(newEnd)) await this.writeEpochCheckpoint()
      // Newest first, one directory fsync each: a crash leaves a contiguous prefix.
      while (this.segments.length - 1 > index) {
        const doomed = this.segments[this.segments.length - 1]
        this.segments.pop()
        await doomed.delete()
        await this.syncOps.syncDir(this.dir)
      }
      await segment.cutAt(cut.position, newEnd)
      this.writeGeneration++
      this.logger.info({ dir: this.dir, targetOffset: String(targetOffset), logEndOffset: String(newEnd) }, 'truncated log')
      return newEnd
    })
  }

  /**
   * Deletes every segment and starts an empty log at `newOffset` (a follower whose fetch
   * offset fell below the leader's log start). The epoch cache is cleared.
   */
  async truncateFullyAndStartAt(newOffset: bigint): Promise<void> {
    assert(newOffset >= 0n, `new log start ${newOffset} must be >= 0`)
    this.checkUsable()
    await this.locked('exclusive', () => this.truncateFully(newOffset))
  }

  /** Before cutting below it: the recovery point, and durably its checkpoint, come down first. */
  private async lowerRecoveryPoint(offset: bigint): Promise<void> {
    if (this.flushedOffset > offset) this.flushedOffset = offset
    if (this.checkpointedRecoveryPoint === null || this.checkpointedRecoveryPoint > offset) await this.writeRecoveryCheckpoint(this.flushedOffset)
  }

  private async truncateFully(newOffset: bigint): Promise<void> {
    this.truncations++
    await this.lowerRecoveryPoint(newOffset)
    if (this.epochCache.clear()) await this.writeEpochCheckpoint()
    // Oldest first, one directory fsync each: a crash leaves a contiguous suffix.
    while (this.segments.length > 0) {
      const doomed = this.segments[0]
      await doomed.delete()
      this.segments.shift()
      await this.syncOps.syncDir(this.dir)
    }
    this.segments = [await LogSegment.create(this.dir, newOffset, this.settings, this.clock())]
    // An empty log is durable once its file's directory entry is, which this checkpoint's
    // directory fsync provides.
    this.flushedOffset = newOffset
    await this.writeRecoveryCheckpoint(newOffset)
    this.writeGeneration++
    this.logger.info({ dir: this.dir, logStartOffset: String(newOffset) }, 'truncated log fully')
  }

  /**
   * Retention (Kafka's deleteRetentionMsBreachedSegments and deleteRetentionSizeBreachedSegments):
   * deletes whole segments from the oldest while the oldest is past `retentionMs` (by its
   * largest timestamp) or the log stays at or above `retentionBytes` without it. Never the
   * active segment, and only segments wholly below the high watermark. Advances the log start.
   */
  async deleteOldSegments(params: RetentionParams): Promise<RetentionResult> {
    const { nowMs, retentionMs, retentionBytes, highWatermark } = params
    assert(Number.isSafeInteger(retentionMs) && retentionMs >= -1 && Number.isSafeInteger(retentionBytes) && retentionBytes >= -1, `retention ${retentionMs} ms / ${retentionBytes} bytes out of range`)
    this.checkUsable()
    return this.locked('exclusive', async () => {
      let remainingBytes = this.sizeInBytes
      let deletable = 0
      for (let i = 0; i < this.segments.length - 1; i++) {
        const segment = this.segments[i]
        if (segment.endOffset > highWatermark) break
        const timeBreached = retentionMs >= 0 && nowMs - (await segment.largestTimestampMs()) > retentionMs
        const sizeBreached = retentionBytes >= 0 && remainingBytes - segment.size >= retentionBytes
        if (!timeBreached && !sizeBreached) break
        remainingBytes -= segment.size
        deletable++
      }
      let deletedBytes = 0
      for (let i = 0; i < deletable; i++) {
        const doomed = this.segments[0]
        deletedBytes += doomed.size
        await doomed.delete()
        this.segments.shift()
        // Oldest first, one directory fsync each: a crash leaves a contiguous suffix.
        await this.syncOps.syncDir(this.dir)
      }
      if (deletable > 0) {
        if (this.epochCache.truncateFromStart(this.logStartOffset)) await this.writeEpochCheckpoint()
        this.logger.info({ dir: this.dir, deletedSegments: deletable, deletedBytes, logStartOffset: String(this.logStartOffset) }, 'deleted old log segments')
      }
      return { deletedSegments: deletable, deletedBytes, logStartOffset: this.logStartOffset }
    })
  }

  // ---- log cleaner (cleaner/) -----------------------------------------------------------

  /** Base offset of the active segment: the cleaner never touches it or anything after it. */
  get activeBaseOffset(): bigint {
    return this.active.baseOffset
  }

  /** The closed segments, oldest first, each with where its offset range ends (the next segment's base). */
  closedSegments(): readonly ClosedSegment[] {
    this.checkUsable()
    return this.segments.slice(0, -1).map((segment, i) => ({ segment, baseOffset: segment.baseOffset, endOffset: this.segments[i + 1].baseOffset, size: segment.size, truncations: this.truncations }))
  }

  /**
   * `length` bytes at `position` of a closed segment, read alongside appends; null once the
   * segment is no longer part of the log (retention, truncation or another swap removed it).
   */
  async readClosedSegment(closed: ClosedSegment, position: number, length: number): Promise<Buffer | null> {
    this.checkUsable()
    return this.locked('read', async () => {
      const segment = closed.segment
      if (!this.segments.includes(segment) || segment === this.active || segment.size !== closed.size || this.truncations !== closed.truncations || position + length > segment.size) return null
      return segment.read(position, length)
    })
  }

  /**
   * Replaces `group` (consecutive closed segments, as closedSegments() described them) with the
   * cleaned segment the cleaner wrote and fsynced at cleanedLogPath(dir, group base), by the
   * crash-safe steps of cleaner-swap.ts. Runs alone ('exclusive'): the only moment the cleaner holds up reads and
   * appends of this log, for a few renames and unlinks and the new segment's index. Returns
   * false, changing nothing, when the log no longer holds the group as it was. `crashAfter`
   * stops after a step as a crash would (tests of the recovery at open); the log is then failed.
   */
  async swapCleanedSegment(group: readonly ClosedSegment[], crashAfter?: SwapStep): Promise<boolean> {
    assert(group.length > 0, 'a cleaned group holds at least one segment')
    this.checkUsable()
    const base = group[0].baseOffset
    // The new segment's indexes are built and fsynced beside it before the lock is taken, so
    // the swap itself is renames and unlinks only (plus a bounded tail walk).
    const detached = await LogSegment.detached(this.dir, base, this.settings, CLEANED_FILE_SUFFIX)
    try {
      await detached.indexCleaned()
    } finally {
      await detached.close()
    }
    return this.locked('exclusive', async () => {
      const first = this.segments.indexOf(group[0].segment)
      const unchanged =
        first >= 0 &&
        first + group.length < this.segments.length &&
        group.every((g, i) => this.segments[first + i] === g.segment && g.segment.size === g.size && g.truncations === this.truncations)
      if (!unchanged) return false
      const crash = (step: SwapStep): void => {
        if (crashAfter === step) throw new Error(`simulated crash after the swap step '${step}'`)
      }
      await rename(detached.logPath, swapLogPath(this.dir, base))
      await this.syncOps.syncDir(this.dir)
      crash('swap-renamed')
      for (const g of group.slice(1)) await g.segment.delete()
      await group[0].segment.close()
      await deleteSegmentFiles(this.dir, base, true)
      await this.syncOps.syncDir(this.dir)
      crash('old-deleted')
      await rename(swapLogPath(this.dir, base), group[0].segment.logPath)
      // The index files go in after the log: a crash between leaves a log without indexes,
      // which the next open rebuilds, never an old log beside new indexes.
      await rename(detached.offsetIndexPath, group[0].segment.offsetIndexPath)
      await rename(detached.timeIndexPath, group[0].segment.timeIndexPath)
      await this.syncOps.syncDir(this.dir)
      crash('swap-completed')
      const cleaned = await LogSegment.existing(this.dir, base, this.settings, this.clock())
      const distrust = await cleaned.loadTrusted(this.segments[first + group.length].baseOffset, false)
      if (distrust !== null) {
        this.logger.warn({ path: cleaned.logPath, reason: distrust }, 'cleaned segment index fails its checks; rebuilding it')
        await cleaned.indexCleaned()
      }
      this.segments.splice(first, group.length, cleaned)
      return true
    })
  }

  /**
   * Runs `record` (the cleaner's checkpoint write) unless the log was truncated since `closed`
   * was taken, and returns whether it ran. It runs alongside reads and appends but never
   * alongside a truncation, so a truncation either comes after it (and the partition lowers
   * the checkpoint it wrote) or makes it skip: the checkpoint never stays above new records.
   */
  async unlessTruncatedSince(closed: ClosedSegment, record: () => Promise<void>): Promise<boolean> {
    this.checkUsable()
    return this.locked(
      'read',
      async () => {
        if (this.truncations !== closed.truncations) return false
        await record()
        return true
      },
      false,
    )
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /**
   * Flushes, writes the active segment's index files and the recovery point, and leaves the
   * clean-shutdown marker, so the next open trusts the files instead of re-checking the active
   * segment. A failed log only closes its files (the next open recovers).
   */
  async close(): Promise<void> {
    if (this.phase === 'closed') return
    if (this.phase === 'failed') {
      this.phase = 'closed'
      await this.closeSegmentsQuietly()
      return
    }
    await this.locked('exclusive', async () => {
      const active = this.active
      await active.datasync()
      this.flushedOffset = this.logEndOffset
      this.flushedGeneration = this.writeGeneration
      await active.writeIndexFiles(true)
      await this.writeRecoveryCheckpoint(this.flushedOffset)
      const markerPath = join(this.dir, CLEAN_SHUTDOWN_FILE)
      const marker = await open(markerPath, 'w')
      try {
        await this.syncOps.fsync(marker, markerPath)
      } finally {
        await marker.close()
      }
      await this.syncOps.syncDir(this.dir)
      this.phase = 'closed'
      for (const segment of this.segments) await segment.close()
    })
    this.logger.info({ dir: this.dir, logEndOffset: String(this.logEndOffset) }, 'closed partition log')
  }

  private async closeSegmentsQuietly(): Promise<void> {
    for (const segment of this.segments) {
      try {
        await segment.close()
      } catch {
        // The log already failed; its first error is the one that matters.
      }
    }
  }

  private checkUsable(): void {
    if (this.phase === 'open') return
    if (this.phase === 'closed') throw new TributaryError(ErrorCode.KAFKA_STORAGE_ERROR, `${this.dir}: partition log is closed`)
    const cause = this.failure instanceof Error ? this.failure.message : String(this.failure)
    throw new TributaryError(ErrorCode.KAFKA_STORAGE_ERROR, `${this.dir}: partition log failed earlier (${cause}); reopen it to recover`, { cause: this.failure })
  }

  /**
   * Runs `fn` under the lock. Any error from a mutation (or from a flush: `failOnError`) fails
   * the log. Read errors do not: a corrupt batch found by a read is that read's problem.
   */
  private async locked<T>(mode: LockMode, fn: () => Promise<T>, failOnError = mode !== 'read'): Promise<T> {
    return this.lock.run(mode, async () => {
      this.checkUsable()
      try {
        return await fn()
      } catch (err) {
        if (failOnError && this.phase === 'open') {
          this.phase = 'failed'
          this.failure = err
          this.logger.error({ dir: this.dir, err: err instanceof Error ? err.message : String(err) }, 'partition log failed')
          await this.closeSegmentsQuietly()
          if (err instanceof StoreCorruptionError || err instanceof TributaryError) throw err
          throw new TributaryError(ErrorCode.KAFKA_STORAGE_ERROR, `${this.dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
        }
        throw err
      }
    })
  }
}

/**
 * The complete batches at the start of `window`, which was read from a batch boundary and
 * ends wherever maxBytes fell. Stored bytes were validated on the way in, so only framing is
 * checked; a header that cannot be right is corruption, named by file and byte.
 */
function* completeBatches(window: Buffer, path: string, filePosition: number): Generator<{ readonly position: number; readonly header: RecordBatchHeader }> {
  let position = 0
  while (window.length - position >= RecordBatchLayout.headerBytes) {
    const header = readBatchHeader(window, position)
    if (header.magic !== MAGIC_V2 || header.sizeBytes < RecordBatchLayout.headerBytes || header.sizeBytes > RecordBatchLimits.batchBytesMax) {
      throw new StoreCorruptionError(path, `stored batch has magic ${header.magic} and ${header.sizeBytes} bytes at byte ${filePosition + position}`, filePosition + position)
    }
    if (position + header.sizeBytes > window.length) return
    yield { position, header }
    position += header.sizeBytes
  }
}
