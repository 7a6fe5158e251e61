/**
 * The time index of one segment (`<base>.timeindex`), in memory, in Kafka's file format:
 * entries of [timestamp int64 BE][relative offset int32 BE].
 *
 * An entry (t, o) says: the largest batch max timestamp among the segment's batches up to
 * offset base + o is t, and it belongs to the batch ending at base + o. Entries are added
 * alongside offset-index entries when the maximum grew, plus a final one when the segment
 * stops being active, so the last entry holds the segment's largest timestamp (retention by
 * time reads it without scanning the log).
 *
 * Invariant: timestamps strictly increase, relative offsets never decrease. Timestamps are
 * milliseconds as JS numbers (exact below 2^53, i.e. for the next 285,000 years). Pure.
 */
import { assert } from '@tributary/metadata-quorum'
import { TIME_INDEX_ENTRY_BYTES } from './log-limits.js'

export interface TimeIndexEntry {
  readonly timestampMs: number
  readonly relativeOffset: number
}

export type TimeIndexDecode = { readonly kind: 'ok'; readonly index: TimeIndex } | { readonly kind: 'invalid'; readonly reason: string }

const INITIAL_CAPACITY = 64

export class TimeIndex {
  private timestamps = new Float64Array(INITIAL_CAPACITY)
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY)
  private count = 0

  get length(): number {
    return this.count
  }

  entry(i: number): TimeIndexEntry {
    assert(i >= 0 && i < this.count, `time index entry ${i} of ${this.count}`)
    return { timestampMs: this.timestamps[i], relativeOffset: this.relativeOffsets[i] }
  }

  last(): TimeIndexEntry | null {
    return this.count === 0 ? null : this.entry(this.count - 1)
  }

  /** Appends (t, o) if t is larger than the last entry's timestamp; returns whether it did. */
  maybeAppend(timestampMs: number, relativeOffset: number): boolean {
    assert(Number.isSafeInteger(timestampMs) && relativeOffset >= 0 && relativeOffset <= 0x7fffffff, `time index entry (${timestampMs}, ${relativeOffset}) out of range`)
    const last = this.last()
    if (last !== null && timestampMs <= last.timestampMs) return false
    assert(last === null || relativeOffset >= last.relativeOffset, `time index offset ${relativeOffset} must not go below ${last?.relativeOffset}`)
    if (this.count === this.timestamps.length) {
      const timestamps = new Float64Array(this.count * 2)
      timestamps.set(this.timestamps)
      this.timestamps = timestamps
      const offsets = new Int32Array(this.count * 2)
      offsets.set(this.relativeOffsets)
      this.relativeOffsets = offsets
    }
    this.timestamps[this.count] = timestampMs
    this.relativeOffsets[this.count] = relativeOffset
    this.count++
    return true
  }

  /**
   * The last entry whose timestamp is strictly below `timestampMs`, or null. Every record at
   * or before its offset is older than `timestampMs`, so a search for the first record at or
   * after `timestampMs` can start from the batch of that offset. (Kafka looks up <=, which is
   * also safe, since an entry names the first batch that reached its timestamp; strictly below
   * just makes that argument unnecessary.)
   */
  lookupBefore(timestampMs: number): TimeIndexEntry | null {
    let lo = 0
    let hi = this.count - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.timestamps[mid] < timestampMs) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found === -1 ? null : this.entry(found)
  }

  /** Drops entries for offsets at or after `relativeOffset` (the log is being cut there). */
  truncateToOffset(relativeOffset: number): void {
    while (this.count > 0 && this.relativeOffsets[this.count - 1] >= relativeOffset) this.count--
  }

  encode(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES)
    for (let i = 0; i < this.count; i++) {
      bytes.writeBigInt64BE(BigInt(this.timestamps[i]), i * TIME_INDEX_ENTRY_BYTES)
      bytes.writeInt32BE(this.relativeOffsets[i], i * TIME_INDEX_ENTRY_BYTES + 8)
    }
    return bytes
  }

  /** A time index read from disk, checked against the segment's offset span; see OffsetIndex.decode. */
  static decode(bytes: Buffer, offsetSpan: number): TimeIndexDecode {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return { kind: 'invalid', reason: `size ${bytes.length} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}` }
    const index = new TimeIndex()
    for (let at = 0; at < bytes.length; at += TIME_INDEX_ENTRY_BYTES) {
      const timestamp = bytes.readBigInt64BE(at)
      const relativeOffset = bytes.readInt32BE(at + 8)
      if (timestamp < 0n || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'invalid', reason: `entry at byte ${at} has timestamp ${timestamp}` }
      if (relativeOffset < 0 || relativeOffset >= offsetSpan) return { kind: 'invalid', reason: `entry at byte ${at} has relative offset ${relativeOffset}, segment spans ${offsetSpan}` }
      const last = index.last()
      if (last !== null && (Number(timestamp) <= last.timestampMs || relativeOffset < last.relativeOffset)) {
        return { kind: 'invalid', reason: `entry at byte ${at} does not increase` }
      }
      index.maybeAppend(Number(timestamp), relativeOffset)
    }
    return { kind: 'ok', index }
  }
}
