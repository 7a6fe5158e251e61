/**
 * One cleaning pass over one compacted partition log: Kafka's LogCleaner (Cleaner.clean) for
 * a single log, wired to PartitionLog and the pure core in ../compaction/.
 *
 * What is cleaned (Kafka's cleanableOffsets):
 *   - only closed segments lying wholly below the first uncleanable offset, min(high
 *     watermark, active segment base), and older than min.compaction.lag.ms (KIP-58: a segment
 *     whose largest timestamp is younger is not compacted, nor anything after it);
 *   - the dirty part starts at the cleaner checkpoint (`cleaner-offset-checkpoint` in the
 *     partition directory; the log start when there is none) and a pass runs when dirty bytes
 *     / cleanable bytes >= min.cleanable.dirty.ratio.
 * How (two passes, like Kafka):
 *   1. the offset map: the latest offset of every key in the dirty part (bounded by
 *      CLEANER_OFFSET_MAP_KEYS_MAX; a pass that reaches it stops at that segment);
 *   2. every segment from the log start to the end of the mapped part is rewritten, in groups of
 *      consecutive segments whose sizes add up to at most segment.bytes (Kafka's
 *      groupSegmentsBySize), each group into one segment with the first one's base offset.
 *      A record stays when it is the latest for its key; a tombstone (null value) that is the
 *      latest stays while its segment was last modified (largest timestamp, else file mtime)
 *      after the last clean segment's modification minus delete.retention.ms (Kafka's
 *      deleteHorizonMs; every tombstone stays while nothing is clean yet); keyless records
 *      stay (see compact-batch.ts).
 * Batches keep their header (base and last offset, producer id/epoch/base sequence, leader
 * epoch, attributes); the CRC is recomputed; compressed batches are re-compressed with their
 * own codec. A batch left with no record is dropped, except that it is kept as an empty batch
 * when it is a producer's last batch (the producer state rebuilt from the log at open needs it,
 * as Kafka's cleaner keeps it) or the last batch of its group (so the cleaned segment ends
 * where the group ended: the swap's crash recovery relies on it, see cleaner-swap.ts).
 *
 * Never blocks produce or fetch for long: segments are read in chunks under the log's shared
 * 'read' lock (alongside appends and reads), the cleaned segment is written and fsynced without
 * any lock, and only the swap takes the log alone (PartitionLog.swapCleanedSegment). The
 * partition's FIFO mutex is not taken at all: the swap checks the group is still in the log as
 * it was (retention or a follower truncation meanwhile makes the pass stop, changing nothing).
 */
import { open, stat, utimes } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { StoreCorruptionError, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import { RecordBatchLayout, decodeRecords, iterateBatches, readBatchHeader, type CompressionCodecs } from '@tributary/protocol'
import { parseOffsetField, readCheckpointFile, writeCheckpointFile } from '../checkpoint-file.js'
import { compactBatch } from '../compaction/compact-batch.js'
import { OffsetMap } from '../compaction/offset-map.js'
import { SEGMENT_OFFSET_SPAN_MAX } from '../log-limits.js'
import type { ClosedSegment, PartitionLog, SwapStep } from '../partition-log.js'
import { CLEANER_OFFSET_MAP_KEYS_MAX, CLEANER_READ_CHUNK_BYTES } from './cleaner-config.js'
import { cleanedLogPath, deleteCleanedFiles } from './cleaner-swap.js'

export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint'

/** The largest int64: a delete horizon past every timestamp drops every latest tombstone. */
const DROP_ALL_TOMBSTONES = (1n << 63n) - 1n

export interface CleanParams {
  readonly nowMs: number
  /** Nothing at or above the high watermark is cleaned: followers and consumers may not have it yet. */
  readonly highWatermark: bigint
  readonly deleteRetentionMs: number
  readonly minCompactionLagMs: number
  readonly minCleanableDirtyRatio: number
  /** segment.bytes: the most bytes of original segments cleaned into one. */
  readonly segmentBytes: number
  readonly syncOps: FsSyncOps
  readonly logger: Logger
  readonly codecs?: CompressionCodecs
  /** Whether the batch of `producerId` ending at `lastOffset` is that producer's last one in the log. */
  readonly isLastBatchOfProducer?: (producerId: bigint, lastOffset: bigint) => boolean
  /** Clean even below min.cleanable.dirty.ratio (tests, tools). */
  readonly ignoreDirtyRatio?: boolean
  /** Tests: stop the first group's swap after this step, as a crash would ('cleaned': before the swap starts). */
  readonly crashAfter?: SwapStep | 'cleaned'
}

export type CleanResult =
  | { readonly kind: 'idle'; readonly reason: string }
  | {
      readonly kind: 'cleaned'
      /** The first dirty offset from now on (the checkpoint written). */
      readonly cleanedUpTo: bigint
      readonly segmentsBefore: number
      readonly segmentsAfter: number
      readonly bytesBefore: number
      readonly bytesAfter: number
      readonly recordsRemoved: number
      readonly batchesDropped: number
    }
  /** The log changed under the pass (retention, truncation, close); nothing was swapped for the rest. */
  | { readonly kind: 'aborted'; readonly reason: string }

/** The log no longer holds a segment the pass was reading. */
class SegmentGone extends Error {}

/** The cleaner checkpoint of the partition in `dir`: the first offset not yet cleaned, or null. */
export async function readCleanerCheckpoint(dir: string): Promise<bigint | null> {
  const path = join(dir, CLEANER_CHECKPOINT_FILE)
  const entries = await readCheckpointFile(path, 1)
  if (entries === null) return null
  if (entries.length !== 1) throw new StoreCorruptionError(path, `holds ${entries.length} entries, expected 1`)
  return parseOffsetField(path, entries[0][0], 'first dirty offset')
}

/**
 * One checkpoint change at a time per partition directory: a pass's write (under the log's
 * read lock) and a truncation's lowering (under the partition's mutex) may otherwise overlap,
 * and they share one temp file (a writer's rename then fails, or renames the other's bytes),
 * and a lowering reads before it writes.
 */
const checkpointChanges = new Map<string, Promise<void>>()

function oneChangeAtATime(dir: string, change: () => Promise<void>): Promise<void> {
  const key = resolve(dir) // the partition passes its directory as configured, the log resolved
  const run = (checkpointChanges.get(key) ?? Promise.resolve()).then(change)
  const settled = run.catch(() => {})
  checkpointChanges.set(key, settled)
  void settled.then(() => {
    if (checkpointChanges.get(key) === settled) checkpointChanges.delete(key)
  })
  return run
}

export async function writeCleanerCheckpoint(dir: string, offset: bigint, syncOps: FsSyncOps): Promise<void> {
  await oneChangeAtATime(dir, () => writeCheckpointFile(join(dir, CLEANER_CHECKPOINT_FILE), dir, [[offset]], syncOps))
}

/** After a truncation to `offset`: what lies at or above it is new, hence dirty (Kafka's LogCleanerManager.maybeTruncateCheckpoint). */
export async function lowerCleanerCheckpoint(dir: string, offset: bigint, syncOps: FsSyncOps): Promise<void> {
  await oneChangeAtATime(dir, async () => {
    const current = await readCleanerCheckpoint(dir)
    if (current !== null && current > offset) await writeCheckpointFile(join(dir, CLEANER_CHECKPOINT_FILE), dir, [[offset]], syncOps)
  })
}

/** The whole batches of a closed segment, in order, read in chunks under the log's read lock. */
async function* batchesOf(log: PartitionLog, closed: ClosedSegment): AsyncGenerator<Buffer> {
  let position = 0
  while (position < closed.size) {
    const chunk = await log.readClosedSegment(closed, position, Math.min(CLEANER_READ_CHUNK_BYTES, closed.size - position))
    if (chunk === null) throw new SegmentGone()
    let consumed = 0
    let need = 0
    for (const scan of iterateBatches(chunk)) {
      if (scan.kind === 'batch') {
        yield chunk.subarray(scan.position, scan.position + scan.header.sizeBytes)
        consumed = scan.position + scan.header.sizeBytes
        continue
      }
      const atFileEnd = position + chunk.length >= closed.size
      if (scan.kind === 'corrupt' || atFileEnd) {
        throw new StoreCorruptionError(closed.segment.logPath, `the cleaner found no whole batch at byte ${position + scan.position}: ${scan.reason}`, position + scan.position)
      }
      // A batch running past this chunk, its framing possibly cut too: the next read starts at it.
      if (chunk.length - scan.position >= RecordBatchLayout.logOverheadBytes) need = chunk.readInt32BE(scan.position + RecordBatchLayout.batchLengthPos) + RecordBatchLayout.logOverheadBytes
      break
    }
    if (consumed === 0 && need > 0) {
      // One batch larger than the chunk: read it whole.
      const whole = await log.readClosedSegment(closed, position, need)
      if (whole === null) throw new SegmentGone()
      yield whole
      consumed = need
    }
    position += consumed
  }
}

/** The segment's age for tombstones and KIP-58: its largest record timestamp, else its file's mtime (Kafka uses the mtime). */
async function lastModifiedMs(closed: ClosedSegment): Promise<number> {
  return closed.segment.largestTimestampMs()
}

/** Splits consecutive segments into groups of at most `segmentBytes` original bytes and one index's offset span. */
function groupBySize(segments: readonly ClosedSegment[], segmentBytes: number): ClosedSegment[][] {
  const groups: ClosedSegment[][] = []
  let current: ClosedSegment[] = []
  let bytes = 0
  for (const segment of segments) {
    const first = current[0]
    const fits = first !== undefined && bytes + segment.size <= segmentBytes && segment.endOffset - first.baseOffset <= BigInt(SEGMENT_OFFSET_SPAN_MAX)
    if (first !== undefined && !fits) {
      groups.push(current)
      current = []
      bytes = 0
    }
    current.push(segment)
    bytes += segment.size
  }
  if (current.length > 0) groups.push(current)
  return groups
}

interface GroupOutcome {
  readonly changed: boolean
  readonly bytesAfter: number
  readonly recordsRemoved: number
  readonly batchesDropped: number
}

/** Writes the cleaned form of `group` to its .cleaned file (fsynced). */
async function writeCleanedGroup(log: PartitionLog, group: readonly ClosedSegment[], map: OffsetMap, params: CleanParams, path: string, tombstoneHorizonMs: number): Promise<GroupOutcome> {
  const file = await open(path, 'w')
  let written = 0
  let recordsRemoved = 0
  let batchesDropped = 0
  let changed = group.length > 1
  let newestMtimeMs = 0
  try {
    const pending: Buffer[] = []
    let pendingBytes = 0
    const flushPending = async (): Promise<void> => {
      const bytes = Buffer.concat(pending)
      pending.length = 0
      pendingBytes = 0
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await file.write(bytes, done, bytes.length - done, written + done)
        done += bytesWritten
      }
      written += bytes.length
    }
    for (let g = 0; g < group.length; g++) {
      const closed = group[g]
      newestMtimeMs = Math.max(newestMtimeMs, (await stat(closed.segment.logPath)).mtimeMs)
      const retainDeletes = (await lastModifiedMs(closed)) > tombstoneHorizonMs
      const deleteHorizonMs = retainDeletes ? undefined : DROP_ALL_TOMBSTONES
      let previous: Buffer | null = null
      const emit = async (batch: Buffer, isGroupLast: boolean): Promise<void> => {
        const before = readBatchHeader(batch)
        const cleaned = compactBatch(batch, (key, offset) => map.isLatest(key, offset), { codecs: params.codecs, deleteHorizonMs })
        if (cleaned !== batch) {
          changed = true
          recordsRemoved += before.recordCount - readBatchHeader(cleaned).recordCount
        }
        const after = readBatchHeader(cleaned)
        const keepEmpty = isGroupLast || (after.producerId >= 0n && (params.isLastBatchOfProducer?.(after.producerId, after.lastOffset) ?? true))
        if (after.recordCount === 0 && !after.isControl && !keepEmpty) {
          batchesDropped++
          changed = true
          return
        }
        pending.push(cleaned)
        pendingBytes += cleaned.length
        if (pendingBytes >= CLEANER_READ_CHUNK_BYTES) await flushPending()
      }
      // One batch of look-ahead, so the group's last batch is known when it is emitted.
      for await (const batch of batchesOf(log, closed)) {
        if (previous !== null) await emit(previous, false)
        previous = batch
      }
      if (previous !== null) await emit(previous, g === group.length - 1)
    }
    await flushPending()
    await params.syncOps.fsync(file, path)
  } finally {
    await file.close()
  }
  // Keep the group's age: retention (by mtime when records carry no timestamp) and the
  // tombstone horizon must not restart because the cleaner rewrote the bytes.
  if (newestMtimeMs > 0) await utimes(path, new Date(), new Date(newestMtimeMs))
  return { changed, bytesAfter: written, recordsRemoved, batchesDropped }
}

/** One cleaning pass over `log` (see the module header). Errors from the log's I/O propagate. */
export async function cleanLog(log: PartitionLog, params: CleanParams): Promise<CleanResult> {
  const closed = log.closedSegments()
  if (closed.length === 0) return { kind: 'idle', reason: 'no closed segment' }
  const uncleanable = params.highWatermark < log.activeBaseOffset ? params.highWatermark : log.activeBaseOffset
  const lagHorizonMs = params.nowMs - params.minCompactionLagMs
  const cleanable: ClosedSegment[] = []
  for (const segment of closed) {
    if (segment.endOffset > uncleanable) break
    if (params.minCompactionLagMs > 0 && (await lastModifiedMs(segment)) > lagHorizonMs) break
    cleanable.push(segment)
  }
  if (cleanable.length === 0) return { kind: 'idle', reason: 'no segment below the high watermark and min.compaction.lag.ms' }
  const checkpoint = await readCleanerCheckpoint(log.dir)
  const firstDirty = checkpoint !== null && checkpoint > log.logStartOffset ? checkpoint : log.logStartOffset
  const dirty = cleanable.filter((s) => s.endOffset > firstDirty)
  if (dirty.length === 0) return { kind: 'idle', reason: 'nothing dirty' }
  const totalBytes = cleanable.reduce((sum, s) => sum + s.size, 0)
  const dirtyBytes = dirty.reduce((sum, s) => sum + s.size, 0)
  const dirtyRatio = totalBytes === 0 ? 1 : dirtyBytes / totalBytes
  if (!params.ignoreDirtyRatio && dirtyRatio < params.minCleanableDirtyRatio) return { kind: 'idle', reason: `dirty ratio ${dirtyRatio.toFixed(3)} below min.cleanable.dirty.ratio` }

  // Kafka's deleteHorizonMs: delete.retention.ms below the last modification of the last clean
  // segment (0, keeping every tombstone, while nothing is clean). Measured from the wall clock
  // instead, a cleaner that lagged behind by delete.retention.ms dropped a tombstone in the very
  // pass that first removed its key's older values, before a reader could see the delete.
  const lastClean = closed.filter((s) => s.baseOffset < firstDirty).at(-1)
  // Capped by the clock: a producer's far-future CreateTime in the clean part must not move it ahead.
  const tombstoneHorizonMs = lastClean === undefined ? 0 : Math.min(await lastModifiedMs(lastClean), params.nowMs) - params.deleteRetentionMs

  // Pass 1: the offset map over the dirty part.
  const map = new OffsetMap()
  let cleanEnd = firstDirty
  try {
    for (const segment of dirty) {
      for await (const batch of batchesOf(log, segment)) {
        const header = readBatchHeader(batch)
        if (header.isControl || header.lastOffset < firstDirty) continue
        for (const record of decodeRecords(batch, { codecs: params.codecs })) {
          if (record.key !== null && record.offset >= firstDirty) map.put(record.key, record.offset)
        }
      }
      cleanEnd = segment.endOffset
      if (map.size >= CLEANER_OFFSET_MAP_KEYS_MAX) break
    }
  } catch (err) {
    if (err instanceof SegmentGone) return { kind: 'aborted', reason: 'a segment left the log while it was mapped' }
    throw err
  }

  // Pass 2: rewrite everything from the log start to the end of the mapped part.
  const rewrite = cleanable.filter((s) => s.endOffset <= cleanEnd)
  const bytesBefore = rewrite.reduce((sum, s) => sum + s.size, 0)
  let bytesAfter = 0
  let recordsRemoved = 0
  let batchesDropped = 0
  let segmentsAfter = 0
  for (const group of groupBySize(rewrite, params.segmentBytes)) {
    const base = group[0].baseOffset
    const path = cleanedLogPath(log.dir, base)
    let outcome: GroupOutcome
    try {
      outcome = await writeCleanedGroup(log, group, map, params, path, tombstoneHorizonMs)
    } catch (err) {
      await deleteCleanedFiles(log.dir, base)
      if (err instanceof SegmentGone) return { kind: 'aborted', reason: 'a segment left the log while it was cleaned' }
      throw err
    }
    if (params.crashAfter === 'cleaned') throw new Error("simulated crash after the swap step 'cleaned'")
    if (!outcome.changed) {
      await deleteCleanedFiles(log.dir, base)
      bytesAfter += group[0].size
      segmentsAfter++
      continue
    }
    let swapped: boolean
    try {
      swapped = await log.swapCleanedSegment(group, params.crashAfter)
    } catch (err) {
      // Before the swap began (indexing the cleaned file, the log closed): nothing changed.
      if (!log.failed) await deleteCleanedFiles(log.dir, base)
      throw err
    }
    if (!swapped) {
      await deleteCleanedFiles(log.dir, base)
      return { kind: 'aborted', reason: 'the log changed while a group was cleaned' }
    }
    bytesAfter += outcome.bytesAfter
    recordsRemoved += outcome.recordsRemoved
    batchesDropped += outcome.batchesDropped
    segmentsAfter++
  }
  // A truncation during the pass (a follower) made what lies above it dirty again.
  const recorded = await log.unlessTruncatedSince(closed[0], () => writeCleanerCheckpoint(log.dir, cleanEnd, params.syncOps))
  if (!recorded) return { kind: 'aborted', reason: 'the log was truncated during the pass' }
  params.logger.info(
    { dir: log.dir, cleanedUpTo: String(cleanEnd), segmentsBefore: rewrite.length, segmentsAfter, bytesBefore, bytesAfter, recordsRemoved, batchesDropped, keys: map.size },
    'cleaned log',
  )
  return { kind: 'cleaned', cleanedUpTo: cleanEnd, segmentsBefore: rewrite.length, segmentsAfter, bytesBefore, bytesAfter, recordsRemoved, batchesDropped }
}
