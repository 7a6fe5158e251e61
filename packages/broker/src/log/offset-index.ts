/**
 * The sparse offset index of one segment (`<base>.index`), in memory, in Kafka's file
 * format: entries of [relative offset int32 BE][file position int32 BE].
 *
 * An entry (o, p) says: the batch that starts at file position p ends at offset base + o
 * (Kafka indexes each indexed batch's last offset). The log adds an entry once more than
 * `index.interval.bytes` were appended since the previous one, so a lookup lands at most one
 * interval plus one batch before its target.
 *
 * Invariant: relative offsets and positions both strictly increase. Pure: the segment reads
 * and writes the file.
 */
import { assert } from '@tributary/metadata-quorum'
import { OFFSET_INDEX_ENTRY_BYTES } from './log-limits.js'

export interface OffsetIndexEntry {
  readonly relativeOffset: number
  readonly position: number
}

export type OffsetIndexDecode = { readonly kind: 'ok'; readonly index: OffsetIndex } | { readonly kind: 'invalid'; readonly reason: string }

const INITIAL_CAPACITY = 64

export class OffsetIndex {
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY)
  private positions = new Int32Array(INITIAL_CAPACITY)
  private count = 0

  get length(): number {
    return this.count
  }

  entry(i: number): OffsetIndexEntry {
    assert(i >= 0 && i < this.count, `offset index entry ${i} of ${this.count}`)
    return { relativeOffset: this.relativeOffsets[i], position: this.positions[i] }
  }

  last(): OffsetIndexEntry | null {
    return this.count === 0 ? null : this.entry(this.count - 1)
  }

  append(relativeOffset: number, position: number): void {
    const last = this.last()
    assert(
      last === null || (relativeOffset > last.relativeOffset && position > last.position),
      `offset index entry (${relativeOffset}, ${position}) must follow (${last?.relativeOffset}, ${last?.position})`,
    )
    assert(relativeOffset >= 0 && relativeOffset <= 0x7fffffff && position >= 0 && position <= 0x7fffffff, `offset index entry (${relativeOffset}, ${position}) out of int32 range`)
    if (this.count === this.positions.length) {
      const grow = (from: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const to = new Int32Array(from.length * 2)
        to.set(from)
        return to
      }
      this.relativeOffsets = grow(this.relativeOffsets)
      this.positions = grow(this.positions)
    }
    this.relativeOffsets[this.count] = relativeOffset
    this.positions[this.count] = position
    this.count++
  }

  /** The entry with the largest relative offset <= `relativeOffset`, or null if there is none. */
  lookup(relativeOffset: number): OffsetIndexEntry | null {
    let lo = 0
    let hi = this.count - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.relativeOffsets[mid] <= relativeOffset) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found === -1 ? null : this.entry(found)
  }

  /** Drops the entries of batches at or after `position` (the file is being cut there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positions[this.count - 1] >= position) this.count--
  }

  encode(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES)
    for (let i = 0; i < this.count; i++) {
      bytes.writeInt32BE(this.relativeOffsets[i], i * OFFSET_INDEX_ENTRY_BYTES)
      bytes.writeInt32BE(this.positions[i], i * OFFSET_INDEX_ENTRY_BYTES + 4)
    }
    return bytes
  }

  /**
   * An index read from disk, checked against its segment: entries strictly increase, every
   * position lies inside the log file and every offset inside the segment. Bad files are
   * 'invalid' (the caller rebuilds the index from the log; an index is derived data).
   */
  static decode(bytes: Buffer, segmentBytes: number, offsetSpan: number): OffsetIndexDecode {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return { kind: 'invalid', reason: `size ${bytes.length} is not a multiple of ${OFFSET_INDEX_ENTRY_BYTES}` }
    const index = new OffsetIndex()
    let prevOffset = -1
    let prevPosition = -1
    for (let at = 0; at < bytes.length; at += OFFSET_INDEX_ENTRY_BYTES) {
      const relativeOffset = bytes.readInt32BE(at)
      const position = bytes.readInt32BE(at + 4)
      if (relativeOffset <= prevOffset || position <= prevPosition) return { kind: 'invalid', reason: `entry at byte ${at} does not increase` }
      if (relativeOffset >= offsetSpan) return { kind: 'invalid', reason: `entry at byte ${at} has relative offset ${relativeOffset}, segment spans ${offsetSpan}` }
      if (position >= segmentBytes) return { kind: 'invalid', reason: `entry at byte ${at} has position ${position}, log file holds ${segmentBytes} bytes` }
      index.append(relativeOffset, position)
      prevOffset = relativeOffset
      prevPosition = position
    }
    return { kind: 'ok', index }
  }
}
