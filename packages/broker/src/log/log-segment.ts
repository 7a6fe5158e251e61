/**
 * One segment of a partition log: `<base offset, 20 digits>.log` with its sparse offset index
 * (`.index`) and time index (`.timeindex`), Kafka's layout and file formats.
 *
 * Owns: the segment's bytes (appending, range reads, cutting), its two indexes (kept in memory
 * while it is active, written to disk when it stops being active or the log closes cleanly,
 * loaded lazily for old segments), and the scans over its batches (header walks for lookups,
 * full CRC validation for recovery).
 *
 * Invariants, between calls:
 *   - bytes [0, size) of the .log file are whole RecordBatch v2 batches with increasing offsets
 *     in [baseOffset, endOffset), endOffset being one past the last batch; the file holds nothing
 *     after `size` except during an append. Offsets are contiguous unless the log was compacted
 *     (log/cleaner): then batches may hold fewer records than their offset range (see
 *     validate-stored-batch.ts), and offsets may jump between batches, before the first batch
 *     and after the last one (the next segment's base may lie beyond endOffset);
 *   - when indexes are loaded they describe exactly those batches: the same entries an index
 *     rebuilt from the log would hold (noteBatch is the only code that adds entries);
 *   - maxTimestampMs is the largest batch max timestamp in the segment (-1 for none), and
 *     offsetOfMaxTimestamp the last offset of the batch that carried it.
 *
 * A segment does not decide policy: the partition log decides when to roll, what a damaged
 * batch means (torn tail or corruption), and serialises calls (see log-lock.ts).
 */
import type { FileHandle } from 'node:fs/promises'
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreCorruptionError, assert, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import {
  MAGIC_V2,
  RecordBatchLayout,
  RecordBatchLimits,
  decodeRecords,
  iterateBatches,
  readBatchHeader,
  type CompressionCodecs,
  type RecordBatchHeader,
} from '@tributary/protocol'
import { isMissing } from './checkpoint-file.js'
import { HEADER_SCAN_CHUNK_BYTES, OFFSET_INDEX_ENTRY_BYTES, RECOVERY_READ_CHUNK_BYTES, SEGMENT_OFFSET_SPAN_MAX, TIME_INDEX_ENTRY_BYTES } from './log-limits.js'
import { OffsetIndex } from './offset-index.js'
import { TimeIndex } from './time-index.js'
import { validateStoredBatch } from './validate-stored-batch.js'

export const LOG_FILE_SUFFIX = '.log'
export const OFFSET_INDEX_FILE_SUFFIX = '.index'
export const TIME_INDEX_FILE_SUFFIX = '.timeindex'
const SEGMENT_FILE_NAME = /^(\d{20})\.(log|index|timeindex)$/
const HEADER_BYTES = RecordBatchLayout.headerBytes
const INT64_MAX = (1n << 63n) - 1n

/** `00000000000000001234`: Kafka's 20-digit file stem for a segment's base offset. */
export function segmentFileStem(baseOffset: bigint): string {
  assert(baseOffset >= 0n && baseOffset <= INT64_MAX, `segment base offset ${baseOffset} out of range`)
  return String(baseOffset).padStart(20, '0')
}

/** The segment a file belongs to, or null for any other file. */
export function parseSegmentFileName(name: string): { readonly baseOffset: bigint; readonly suffix: string } | null {
  const match = SEGMENT_FILE_NAME.exec(name)
  if (match === null) return null
  const baseOffset = BigInt(match[1])
  if (baseOffset > INT64_MAX) return null
  return { baseOffset, suffix: `.${match[2]}` }
}

/** A batch max timestamp as the indexes hold it: -1 for none (any negative), capped to a safe integer. */
export function indexTimestamp(maxTimestamp: bigint): number {
  if (maxTimestamp < 0n) return -1
  return maxTimestamp > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(maxTimestamp)
}

/** Shared by every segment of one log; the log updates indexIntervalBytes on a config change. */
export interface SegmentSettings {
  indexIntervalBytes: number
  readonly syncOps: FsSyncOps
  readonly logger: Logger
  readonly codecs?: CompressionCodecs
}

/** What the segment needs to know of each batch it stores. `position` is relative to the buffer it came in. */
export interface BatchSummary {
  readonly position: number
  readonly sizeBytes: number
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly maxTimestamp: bigint
  readonly partitionLeaderEpoch: number
}

export function summarize(position: number, header: RecordBatchHeader): BatchSummary {
  return {
    position,
    sizeBytes: header.sizeBytes,
    baseOffset: header.baseOffset,
    lastOffset: header.lastOffset,
    maxTimestamp: header.maxTimestamp,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
  }
}

/** Where a recovery scan stopped. `damage` is null when every byte of the file was a good batch. */
export interface RecoveryScan {
  readonly validBytes: number
  readonly endOffset: bigint
  readonly damage: { readonly position: number; readonly reason: string } | null
}

/** The first record at or after a timestamp. */
export interface TimestampAndOffset {
  readonly timestamp: bigint
  readonly offset: bigint
  readonly leaderEpoch: number
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err) {
    if (!isMissing(err)) throw err
  }
}

async function readWholeFile(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
}

export class LogSegment {
  readonly baseOffset: bigint
  readonly logPath: string
  readonly offsetIndexPath: string
  readonly timeIndexPath: string

  /** Bytes of whole batches in the .log file. */
  size = 0
  /** One past the last offset stored; baseOffset when empty. */
  endOffset: bigint
  maxTimestampMs = -1
  offsetOfMaxTimestamp: bigint
  /** Max timestamp of the first batch (Kafka's rolling-based timestamp), null while empty. */
  firstBatchMaxTimestampMs: number | null = null
  /** When this process created or opened the segment: the roll clock for segments without timestamps. */
  readonly createdMs: number

  private bytesSinceLastIndexEntry = 0
  private offsetIndex: OffsetIndex | null = null
  private timeIndex: TimeIndex | null = null
  private indexLoad: Promise<void> | null = null
  private handle: FileHandle | null = null
  private handleOpen: Promise<FileHandle> | null = null

  private constructor(
    dir: string,
    baseOffset: bigint,
    private readonly settings: SegmentSettings,
    createdMs: number,
    /** Appended to all three file names: the log cleaner's `.cleaned` segment, before its swap. */
    fileSuffix = '',
  ) {
    const stem = segmentFileStem(baseOffset)
    this.baseOffset = baseOffset
    this.endOffset = baseOffset
    this.offsetOfMaxTimestamp = baseOffset
    this.logPath = join(dir, stem + LOG_FILE_SUFFIX + fileSuffix)
    this.offsetIndexPath = join(dir, stem + OFFSET_INDEX_FILE_SUFFIX + fileSuffix)
    this.timeIndexPath = join(dir, stem + TIME_INDEX_FILE_SUFFIX + fileSuffix)
    this.createdMs = createdMs
  }

  /**
   * A segment file the log cleaner wrote under `<stem>.log<fileSuffix>`, not part of any log:
   * only indexCleaned() is meant for it, which writes `<stem>.index<fileSuffix>` and
   * `<stem>.timeindex<fileSuffix>` beside it (the swap renames all three).
   */
  static async detached(dir: string, baseOffset: bigint, settings: SegmentSettings, fileSuffix: string): Promise<LogSegment> {
    const segment = new LogSegment(dir, baseOffset, settings, 0, fileSuffix)
    segment.size = (await stat(segment.logPath)).size
    return segment
  }

  /** A new, empty segment file (the caller makes the directory entry durable). */
  static async create(dir: string, baseOffset: bigint, settings: SegmentSettings, nowMs: number): Promise<LogSegment> {
    const segment = new LogSegment(dir, baseOffset, settings, nowMs)
    // Index files of an older segment with this base (deleted before a crash) are stale.
    await unlinkIfPresent(segment.offsetIndexPath)
    await unlinkIfPresent(segment.timeIndexPath)
    segment.handle = await open(segment.logPath, 'wx+')
    segment.offsetIndex = new OffsetIndex()
    segment.timeIndex = new TimeIndex()
    return segment
  }

  /** An existing segment file; nothing is read yet (see loadTrusted and recover). */
  static async existing(dir: string, baseOffset: bigint, settings: SegmentSettings, nowMs: number): Promise<LogSegment> {
    const segment = new LogSegment(dir, baseOffset, settings, nowMs)
    segment.size = (await stat(segment.logPath)).size
    return segment
  }

  get isEmpty(): boolean {
    return this.size === 0
  }

  private corruption(detail: string, position: number | null = null): StoreCorruptionError {
    return new StoreCorruptionError(this.logPath, position === null ? detail : `${detail} at byte ${position}`, position)
  }

  private relative(offset: bigint): number {
    const relative = offset - this.baseOffset
    assert(relative >= 0n && relative <= BigInt(SEGMENT_OFFSET_SPAN_MAX), `offset ${offset} is outside segment ${this.baseOffset}`)
    return Number(relative)
  }

  private async file(): Promise<FileHandle> {
    if (this.handle !== null) return this.handle
    // Concurrent readers of an old segment share one open.
    this.handleOpen ??= open(this.logPath, 'r+').then((handle) => {
      this.handle = handle
      return handle
    })
    return this.handleOpen
  }

  // ---- indexing -------------------------------------------------------------------------

  /**
   * Accounts for one batch stored at `filePosition`: the only place index entries are made, so
   * appending, rebuilding and recovering produce the same indexes (Kafka's LogSegment.append).
   */
  private noteBatch(filePosition: number, batch: BatchSummary): void {
    const offsetIndex = this.offsetIndex
    const timeIndex = this.timeIndex
    assert(offsetIndex !== null && timeIndex !== null, 'indexes are loaded before batches are noted')
    const maxTimestampMs = indexTimestamp(batch.maxTimestamp)
    if (filePosition === 0) this.firstBatchMaxTimestampMs = maxTimestampMs
    if (maxTimestampMs > this.maxTimestampMs) {
      this.maxTimestampMs = maxTimestampMs
      this.offsetOfMaxTimestamp = batch.lastOffset
    }
    if (this.bytesSinceLastIndexEntry > this.settings.indexIntervalBytes) {
      offsetIndex.append(this.relative(batch.lastOffset), filePosition)
      if (this.maxTimestampMs >= 0) timeIndex.maybeAppend(this.maxTimestampMs, this.relative(this.offsetOfMaxTimestamp))
      this.bytesSinceLastIndexEntry = 0
    }
    this.bytesSinceLastIndexEntry += batch.sizeBytes
    this.endOffset = batch.lastOffset + 1n
  }

  private resetIndexes(): void {
    this.offsetIndex = new OffsetIndex()
    this.timeIndex = new TimeIndex()
    this.bytesSinceLastIndexEntry = 0
    this.maxTimestampMs = -1
    this.offsetOfMaxTimestamp = this.baseOffset
    this.firstBatchMaxTimestampMs = null
    this.endOffset = this.baseOffset
  }

  /**
   * Recomputes what follows the last index entry (end offset, max timestamp, bytes since the
   * last entry) by walking the batch headers after it: at most one index interval plus one
   * batch. `lastTime` is the time index's last entry: the max timestamp of everything before.
   */
  private async restoreTail(lastEntry: { relativeOffset: number; position: number } | null, lastTime: { timestampMs: number; relativeOffset: number } | null, endPosition: number): Promise<void> {
    const from = lastEntry?.position ?? 0
    this.maxTimestampMs = lastTime?.timestampMs ?? -1
    this.offsetOfMaxTimestamp = lastTime === null ? this.baseOffset : this.baseOffset + BigInt(lastTime.relativeOffset)
    this.bytesSinceLastIndexEntry = endPosition - from
    this.endOffset = this.baseOffset
    let expected: bigint | null = lastEntry === null ? this.baseOffset : null
    for await (const { position, header } of this.headers(from, endPosition)) {
      if (expected !== null && header.baseOffset < expected) {
        throw this.corruption(`batch holds offset ${header.baseOffset}, expected at least ${expected}`, position)
      }
      if (position === from && lastEntry !== null && header.lastOffset !== this.baseOffset + BigInt(lastEntry.relativeOffset)) {
        throw this.corruption(`index entry points to a batch ending at ${header.lastOffset}, not ${this.baseOffset + BigInt(lastEntry.relativeOffset)}`, position)
      }
      const maxTimestampMs = indexTimestamp(header.maxTimestamp)
      if (position === 0) this.firstBatchMaxTimestampMs = maxTimestampMs
      if (maxTimestampMs > this.maxTimestampMs) {
        this.maxTimestampMs = maxTimestampMs
        this.offsetOfMaxTimestamp = header.lastOffset
      }
      expected = header.lastOffset + 1n
      this.endOffset = expected
    }
    if (this.firstBatchMaxTimestampMs === null && endPosition > 0) {
      const first = readBatchHeader(await this.read(0, HEADER_BYTES))
      this.firstBatchMaxTimestampMs = indexTimestamp(first.maxTimestamp)
    }
  }

  /**
   * Opens a segment that does not need recovery (it lies below the recovery point, or the log
   * was closed cleanly) from its index files, with cheap checks: the first batch starts at the
   * base offset, and the batches after the last index entry end at `expectedEndOffset` (the
   * next segment's base) when that is known. With `loadIndexes` (the active segment) both index
   * files are loaded and checked in full. Returns why the files cannot be trusted, or null; the
   * caller then recovers the segment from its log instead.
   */
  async loadTrusted(expectedEndOffset: bigint | null, loadIndexes: boolean): Promise<string | null> {
    if (this.size === 0) {
      if (expectedEndOffset !== null && expectedEndOffset !== this.baseOffset) return 'the log file is empty'
      this.resetIndexes()
      return null
    }
    if (this.size < HEADER_BYTES) return `the log file holds ${this.size} bytes, less than one batch`
    const first = readBatchHeader(await this.read(0, HEADER_BYTES))
    // A compacted segment may start past its base offset (its first batches were cleaned away).
    if (first.magic !== MAGIC_V2 || first.baseOffset < this.baseOffset) return `the first batch starts at offset ${first.baseOffset}, before ${this.baseOffset}`
    const offsetBytes = await readWholeFile(this.offsetIndexPath)
    const timeBytes = await readWholeFile(this.timeIndexPath)
    if (offsetBytes === null || timeBytes === null) return 'an index file is missing'
    const span = expectedEndOffset === null ? SEGMENT_OFFSET_SPAN_MAX : Number(expectedEndOffset - this.baseOffset)
    let lastEntry: { relativeOffset: number; position: number } | null
    let lastTime: { timestampMs: number; relativeOffset: number } | null
    if (loadIndexes) {
      const offsets = OffsetIndex.decode(offsetBytes, this.size, span)
      if (offsets.kind === 'invalid') return `offset index: ${offsets.reason}`
      const times = TimeIndex.decode(timeBytes, span)
      if (times.kind === 'invalid') return `time index: ${times.reason}`
      lastEntry = offsets.index.last()
      lastTime = times.index.last()
      this.offsetIndex = offsets.index
      this.timeIndex = times.index
    } else {
      if (offsetBytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0 || timeBytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return 'an index file has a partial entry'
      lastEntry = null
      if (offsetBytes.length > 0) {
        const at = offsetBytes.length - OFFSET_INDEX_ENTRY_BYTES
        lastEntry = { relativeOffset: offsetBytes.readInt32BE(at), position: offsetBytes.readInt32BE(at + 4) }
        if (lastEntry.position < 0 || lastEntry.position >= this.size || lastEntry.relativeOffset < 0 || lastEntry.relativeOffset >= span) return 'the last offset index entry is out of range'
      }
      lastTime = null
      if (timeBytes.length > 0) {
        const at = timeBytes.length - TIME_INDEX_ENTRY_BYTES
        const timestamp = timeBytes.readBigInt64BE(at)
        const relativeOffset = timeBytes.readInt32BE(at + 8)
        if (timestamp < 0n || timestamp > BigInt(Number.MAX_SAFE_INTEGER) || relativeOffset < 0 || relativeOffset >= span) return 'the last time index entry is out of range'
        lastTime = { timestampMs: Number(timestamp), relativeOffset }
      }
    }
    try {
      await this.restoreTail(lastEntry, lastTime, this.size)
    } catch (err) {
      if (err instanceof StoreCorruptionError) return err.detail
      throw err
    }
    this.firstBatchMaxTimestampMs = indexTimestamp(first.maxTimestamp)
    if (expectedEndOffset !== null && this.endOffset > expectedEndOffset) return `the batches end at offset ${this.endOffset}, after the next segment's start ${expectedEndOffset}`
    return null
  }

  /**
   * Loads the index files of an old segment on first use. Files that fail their checks are
   * rebuilt from the log in memory (an index is derived data), with a warning.
   */
  async ensureIndexes(): Promise<void> {
    if (this.offsetIndex !== null && this.timeIndex !== null) return
    this.indexLoad ??= this.loadIndexes()
    await this.indexLoad
  }

  private async loadIndexes(): Promise<void> {
    const span = Number(this.endOffset - this.baseOffset)
    const offsetBytes = await readWholeFile(this.offsetIndexPath)
    const timeBytes = await readWholeFile(this.timeIndexPath)
    const offsets = offsetBytes === null ? null : OffsetIndex.decode(offsetBytes, this.size, span)
    const times = timeBytes === null ? null : TimeIndex.decode(timeBytes, span)
    if (offsets?.kind === 'ok' && times?.kind === 'ok') {
      this.offsetIndex = offsets.index
      this.timeIndex = times.index
      return
    }
    const reason = offsets === null || times === null ? 'index file missing' : offsets.kind === 'invalid' ? offsets.reason : times.kind === 'invalid' ? times.reason : ''
    this.settings.logger.warn({ path: this.offsetIndexPath, reason }, 'rebuilding segment indexes from the log')
    const expectedEnd = this.endOffset
    this.resetIndexes()
    for await (const { position, header } of this.headers(0, this.size)) {
      if (header.baseOffset < this.endOffset) throw this.corruption(`batch holds offset ${header.baseOffset}, expected at least ${this.endOffset}`, position)
      this.noteBatch(position, summarize(position, header))
    }
    if (this.endOffset !== expectedEnd) throw this.corruption(`batches end at offset ${this.endOffset}, expected ${expectedEnd}`)
    this.finishIndexes()
  }

  /**
   * Builds the indexes of a segment the log cleaner just wrote, from its batch headers (the
   * cleaner wrote and fsynced the bytes; recovery checks them in full after a crash), then
   * writes the index files. The segment is closed (not active) from the start.
   */
  async indexCleaned(): Promise<void> {
    this.resetIndexes()
    for await (const { position, header } of this.headers(0, this.size)) {
      if (header.baseOffset < this.endOffset) throw this.corruption(`batch holds offset ${header.baseOffset}, expected at least ${this.endOffset}`, position)
      this.noteBatch(position, summarize(position, header))
    }
    await this.writeIndexFiles(true)
  }

  /** The final time index entry of a segment that stops being active (Kafka's onBecomeInactiveSegment). */
  private finishIndexes(): void {
    assert(this.timeIndex !== null, 'time index loaded')
    if (this.maxTimestampMs >= 0) this.timeIndex.maybeAppend(this.maxTimestampMs, this.relative(this.offsetOfMaxTimestamp))
  }

  // ---- reading --------------------------------------------------------------------------

  /** Exactly `length` bytes at `position`; a file shorter than that is corruption. */
  async read(position: number, length: number): Promise<Buffer> {
    assert(position >= 0 && length >= 0, `read of ${length} bytes at ${position}`)
    const file = await this.file()
    const buffer = Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await file.read(buffer, done, length - done, position + done)
      if (bytesRead === 0) throw this.corruption(`file ends at byte ${position + done}, expected ${length} bytes from ${position}`)
      done += bytesRead
    }
    return buffer
  }

  /**
   * Walks the headers of the batches in [from, to), which must start at a batch boundary.
   * These bytes were validated when stored, so only framing is checked: a header that cannot
   * be right is a StoreCorruptionError naming the position, never a crash or an endless loop.
   */
  async *headers(from: number, to: number): AsyncGenerator<{ readonly position: number; readonly header: RecordBatchHeader }> {
    let chunk: Buffer = Buffer.alloc(0)
    let chunkStart = from
    let position = from
    while (position < to) {
      if (to - position < HEADER_BYTES) throw this.corruption(`partial batch header (${to - position} bytes)`, position)
      if (position + HEADER_BYTES > chunkStart + chunk.length) {
        chunk = await this.read(position, Math.min(to - position, Math.max(HEADER_SCAN_CHUNK_BYTES, HEADER_BYTES)))
        chunkStart = position
      }
      const header = readBatchHeader(chunk, position - chunkStart)
      if (header.magic !== MAGIC_V2) throw this.corruption(`batch has magic ${header.magic}`, position)
      if (header.sizeBytes < HEADER_BYTES || header.sizeBytes > RecordBatchLimits.batchBytesMax || position + header.sizeBytes > to) {
        throw this.corruption(`batch declares ${header.sizeBytes} bytes, ${to - position} remain`, position)
      }
      yield { position, header }
      position += header.sizeBytes
    }
  }

  /**
   * The first batch whose last offset is >= `offset`, among the batches in [0, sizeLimit):
   * an index lookup, then a header walk of at most one index interval plus one batch.
   */
  async locate(offset: bigint, sizeLimit: number): Promise<{ readonly position: number; readonly header: RecordBatchHeader } | null> {
    if (offset >= this.endOffset && sizeLimit >= this.size) return null
    await this.ensureIndexes()
    assert(this.offsetIndex !== null, 'offset index loaded')
    const relative = offset <= this.baseOffset ? 0 : Number(offset - this.baseOffset)
    const entry = this.offsetIndex.lookup(relative)
    const from = entry === null || entry.position >= sizeLimit ? 0 : entry.position
    for await (const found of this.headers(from, sizeLimit)) {
      if (found.header.lastOffset >= offset) return found
    }
    return null
  }

  /**
   * The first record with a timestamp >= `timestampMs`, among the batches in [0, sizeLimit),
   * or null (Kafka's LogSegment.findOffsetByTimestamp). The time index gives a batch before
   * which every record is older; the header walk finds the first batch whose max timestamp is
   * late enough, and decoding that batch finds the record.
   */
  async findOffsetByTimestamp(timestampMs: number, sizeLimit: number): Promise<TimestampAndOffset | null> {
    await this.ensureIndexes()
    assert(this.offsetIndex !== null && this.timeIndex !== null, 'indexes loaded')
    const before = this.timeIndex.lookupBefore(timestampMs)
    const entry = before === null ? null : this.offsetIndex.lookup(before.relativeOffset)
    const from = entry === null || entry.position >= sizeLimit ? 0 : entry.position
    const target = BigInt(timestampMs)
    for await (const { position, header } of this.headers(from, sizeLimit)) {
      if (header.maxTimestamp < target) continue
      const batch = await this.read(position, header.sizeBytes)
      let records
      try {
        records = decodeRecords(batch, { codecs: this.settings.codecs })
      } catch (err) {
        throw this.corruption(`cannot decode stored batch (${err instanceof Error ? err.message : String(err)})`, position)
      }
      for (const record of records) {
        if (record.timestamp >= target) return { timestamp: record.timestamp, offset: record.offset, leaderEpoch: header.partitionLeaderEpoch }
      }
    }
    return null
  }

  /** The segment's largest timestamp, for retention: from its batches, or the file's mtime when none carries one (Kafka). */
  async largestTimestampMs(): Promise<number> {
    if (this.maxTimestampMs >= 0) return this.maxTimestampMs
    return (await stat(this.logPath)).mtimeMs
  }

  // ---- writing --------------------------------------------------------------------------

  /**
   * Appends whole batches (already validated, offsets already assigned) at the end of the
   * file with one positional write, then indexes them. Callers check the segment size bound.
   */
  async append(bytes: Buffer, batches: readonly BatchSummary[]): Promise<void> {
    assert(batches.length > 0 && batches[0].baseOffset >= this.endOffset, `append at ${batches[0]?.baseOffset} to a segment ending at ${this.endOffset}`)
    assert(this.offsetIndex !== null && this.timeIndex !== null, 'an appended segment has its indexes loaded')
    const file = await this.file()
    let done = 0
    while (done < bytes.length) {
      const { bytesWritten } = await file.write(bytes, done, bytes.length - done, this.size + done)
      assert(bytesWritten > 0, 'a file write makes progress')
      done += bytesWritten
    }
    const start = this.size
    for (const batch of batches) this.noteBatch(start + batch.position, batch)
    this.size += bytes.length
  }

  /**
   * Where truncating to `offset` would cut: before the first batch that ends at or after
   * `offset` (batches are never split), with the end offset that leaves: one past the last
   * kept batch (a compacted segment may have a gap before the cut). Reads only; the walk
   * starts at an index entry for a batch wholly below `offset`, so it stays bounded.
   */
  async findCut(offset: bigint): Promise<{ readonly position: number; readonly endOffset: bigint }> {
    if (offset >= this.endOffset) return { position: this.size, endOffset: this.endOffset }
    await this.ensureIndexes()
    assert(this.offsetIndex !== null, 'offset index loaded')
    const relative = offset <= this.baseOffset ? -1 : Number(offset - this.baseOffset) - 1
    const entry = relative < 0 ? null : this.offsetIndex.lookup(relative)
    let keptEnd = this.baseOffset
    for await (const { position, header } of this.headers(entry?.position ?? 0, this.size)) {
      if (header.lastOffset >= offset) return { position, endOffset: keptEnd }
      keptEnd = header.lastOffset + 1n
    }
    return { position: this.size, endOffset: this.endOffset }
  }

  /**
   * Cuts the file at `position` (a batch boundary from findCut) and makes the segment active
   * again: index entries past the cut are dropped and the tail state recomputed from the
   * batches after the last remaining entry (bounded, so truncation on a leader change stays
   * cheap however large the segment). The cut is made durable by the next datasync.
   */
  async cutAt(position: number, endOffset: bigint): Promise<void> {
    assert(position >= 0 && position <= this.size, `cut at ${position} of ${this.size}`)
    await this.ensureIndexes()
    assert(this.offsetIndex !== null && this.timeIndex !== null, 'indexes loaded')
    const file = await this.file()
    await file.truncate(position)
    this.size = position
    if (position === 0) {
      this.resetIndexes()
      return
    }
    this.offsetIndex.truncateToPosition(position)
    const lastEntry = this.offsetIndex.last()
    // Time entries for offsets at or after the cut go; entries made at index moments up to
    // the last kept offset entry stay, and the last of them covers everything before it.
    this.timeIndex.truncateToOffset(this.relative(endOffset))
    await this.restoreTail(lastEntry, this.timeIndex.last(), position)
    assert(this.endOffset === endOffset, `a cut at byte ${position} ends at offset ${this.endOffset}, expected ${endOffset}`)
  }

  /** fdatasync of the .log file: makes appends and cuts durable. */
  async datasync(): Promise<void> {
    const file = await this.file()
    await this.settings.syncOps.datasync(file, this.logPath)
  }

  /**
   * The segment stops being active (a roll, or a clean close): the final time index entry
   * is added and both indexes are written and fsynced, so that after this, the segment's
   * files are complete and need no recovery.
   */
  async writeIndexFiles(final: boolean): Promise<void> {
    assert(this.offsetIndex !== null && this.timeIndex !== null, 'indexes loaded')
    if (final) this.finishIndexes()
    for (const [path, bytes] of [
      [this.offsetIndexPath, this.offsetIndex.encode()],
      [this.timeIndexPath, this.timeIndex.encode()],
    ] as const) {
      const file = await open(path, 'w')
      try {
        await file.writeFile(bytes)
        await this.settings.syncOps.fsync(file, path)
      } finally {
        await file.close()
      }
    }
  }

  async close(): Promise<void> {
    const handle = this.handle ?? (this.handleOpen === null ? null : await this.handleOpen)
    this.handle = null
    this.handleOpen = null
    if (handle !== null) await handle.close()
  }

  /** Closes and removes the segment's three files (the caller fsyncs the directory). */
  async delete(): Promise<void> {
    await this.close()
    await unlink(this.logPath)
    await unlinkIfPresent(this.offsetIndexPath)
    await unlinkIfPresent(this.timeIndexPath)
  }

  // ---- recovery -------------------------------------------------------------------------

  /**
   * Reads the whole .log file and checks every batch in full (framing, magic, CRC-32C, records;
   * see validateStoredBatch), that offsets increase from the base offset, and that leader
   * epochs are >= 0 and never go down (they are not covered by the CRC). Rebuilds the indexes
   * from the good batches and reports each to `onBatch` (the leader epoch cache). Stops at the
   * first damaged batch and reports it; whether that is a torn tail is the caller's decision.
   */
  async recover(previousEpoch: number, onBatch: (batch: BatchSummary) => void): Promise<RecoveryScan> {
    this.resetIndexes()
    let lastEpoch = previousEpoch
    const fileSize = this.size
    let chunkStart = 0
    let want = RECOVERY_READ_CHUNK_BYTES
    while (chunkStart < fileSize) {
      const chunk = await this.read(chunkStart, Math.min(fileSize - chunkStart, want))
      const chunkIsTail = chunkStart + chunk.length === fileSize
      let nextWant = RECOVERY_READ_CHUNK_BYTES
      let consumed = 0
      for (const scan of iterateBatches(chunk)) {
        const position = chunkStart + scan.position
        if (scan.kind === 'truncated') {
          if (chunkIsTail) return this.damaged(position, `partial batch: ${scan.reason}`)
          // The batch runs past this chunk: read again from its start, big enough to hold it.
          const framed = scan.position + RecordBatchLayout.logOverheadBytes <= chunk.length
          const batchLength = framed ? chunk.readInt32BE(scan.position + RecordBatchLayout.batchLengthPos) : 0
          if (batchLength >= RecordBatchLayout.batchLengthMin && batchLength + RecordBatchLayout.logOverheadBytes <= RecordBatchLimits.batchBytesMax) {
            nextWant = Math.max(nextWant, batchLength + RecordBatchLayout.logOverheadBytes)
          }
          break
        }
        if (scan.kind === 'corrupt') return this.damaged(position, scan.reason)
        const header = scan.header
        const bytes = chunk.subarray(scan.position, scan.position + header.sizeBytes)
        const validation = validateStoredBatch(bytes, { codecs: this.settings.codecs })
        // 'unsupported_compression' comes after the CRC check passed: the bytes are as written.
        if (validation.kind === 'corrupt') return this.damaged(position, validation.reason)
        if (header.baseOffset < this.endOffset) return this.damaged(position, `batch holds offset ${header.baseOffset}, expected at least ${this.endOffset}`)
        if (header.lastOffset - this.baseOffset > BigInt(SEGMENT_OFFSET_SPAN_MAX)) return this.damaged(position, `batch ends at offset ${header.lastOffset}, beyond the segment's span`)
        if (header.partitionLeaderEpoch < 0 || header.partitionLeaderEpoch < lastEpoch) {
          return this.damaged(position, `batch has leader epoch ${header.partitionLeaderEpoch} after epoch ${lastEpoch}`)
        }
        lastEpoch = header.partitionLeaderEpoch
        const summary = summarize(position, header)
        this.noteBatch(position, summary)
        onBatch(summary)
        consumed = scan.position + header.sizeBytes
      }
      // Progress: either batches were consumed, or the next read is larger than this one.
      assert(consumed > 0 || nextWant > chunk.length, `recovery of ${this.logPath} makes progress at byte ${chunkStart}`)
      chunkStart += consumed
      want = nextWant
    }
    this.size = fileSize
    return { validBytes: fileSize, endOffset: this.endOffset, damage: null }
  }

  private damaged(position: number, reason: string): RecoveryScan {
    this.size = position
    return { validBytes: position, endOffset: this.endOffset, damage: { position, reason } }
  }

  /**
   * Whether an intact batch (framing, CRC and records valid, holding an offset >= `minOffset`)
   * starts anywhere after a damaged one at `damagedAt` in the file. The damaged batch's
   * length cannot be trusted, so every later position is tried; a cheap check of the framing
   * fields filters candidates before the CRC is computed. Bounded by the file size.
   */
  async intactBatchAfter(damagedAt: number, fileSize: number, minOffset: bigint): Promise<number | null> {
    const windowBytes = HEADER_SCAN_CHUNK_BYTES * 16
    for (let windowStart = damagedAt + 1; windowStart + HEADER_BYTES <= fileSize; windowStart += windowBytes) {
      const window = await this.read(windowStart, Math.min(fileSize - windowStart, windowBytes + HEADER_BYTES))
      for (let at = 0; at < windowBytes && at + HEADER_BYTES <= window.length; at++) {
        if (window[at + RecordBatchLayout.magicPos] !== MAGIC_V2) continue
        const batchLength = window.readInt32BE(at + RecordBatchLayout.batchLengthPos)
        const sizeBytes = batchLength + RecordBatchLayout.logOverheadBytes
        if (batchLength < RecordBatchLayout.batchLengthMin || sizeBytes > RecordBatchLimits.batchBytesMax) continue
        const position = windowStart + at
        if (position + sizeBytes > fileSize) continue
        // Cheap filters before reading a candidate: its offset must lie ahead within one
        // segment's span, and its record count must match its offset range (validateBatch's rule).
        const baseOffset = window.readBigInt64BE(at + RecordBatchLayout.baseOffsetPos)
        if (baseOffset < minOffset || baseOffset - minOffset > BigInt(SEGMENT_OFFSET_SPAN_MAX)) continue
        const recordCount = window.readInt32BE(at + RecordBatchLayout.recordCountPos)
        if (recordCount < 0 || recordCount > window.readInt32BE(at + RecordBatchLayout.lastOffsetDeltaPos) + 1) continue
        const candidate = await this.read(position, sizeBytes)
        if (validateStoredBatch(candidate, { codecs: this.settings.codecs }).kind !== 'corrupt') return position
      }
    }
    return null
  }

  /** Cuts a torn tail found by recover(): truncate the file to the good batches and sync it. */
  async cutTornTail(validBytes: number): Promise<void> {
    const file = await this.file()
    await file.truncate(validBytes)
    await this.settings.syncOps.datasync(file, this.logPath)
    this.size = validBytes
  }
}
