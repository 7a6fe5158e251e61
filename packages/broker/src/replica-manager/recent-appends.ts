/**
 * RecentAppends: the bytes of each leader partition's latest appends, kept in memory so that
 * a follower fetching at the log tail is answered without reading the log file (issue 7's
 * fetch read path: the leader's file reads for its followers were 8-12% of a broker's CPU
 * with 100 B records, a positional read plus an index lookup per follower fetch).
 *
 * Why the bytes are the log's: the leader's produce path appends the request's records
 * buffer as is, after stamping base offsets and the leader epoch into it (PartitionLog.append
 * writes exactly that buffer), and the entry is added only once the append has completed.
 *
 * When an entry is served (read()), all of these hold, else the caller reads the log:
 *   - the partition still leads in the epoch the entry was appended in (a new epoch may
 *     follow a truncation, so nothing older is ever served);
 *   - the fetch offset is an entry's first offset and the entries served are contiguous,
 *     appended one after another in that epoch (each add checks that it continues the last);
 *   - the caller only asks at or above the high watermark (fetch-handler.ts): below it a
 *     segment may have been compacted since, and the log is the truth there.
 * A read returns whole batches from the fetch offset up to maxBytes, as PartitionLog.read
 * does for a follower; it may return fewer than the log holds (appends not yet added), which
 * a read may always do.
 *
 * Bounds: RECENT_APPENDS_PARTITION_BYTES_MAX and RECENT_APPENDS_PARTITION_ENTRIES_MAX per
 * partition, RECENT_APPENDS_BYTES_MAX in all; oldest entries are dropped first. An entry holds
 * at most twice its bytes (see owned()).
 */
import { RecordBatchLayout } from '@tributary/protocol'
import { RECENT_APPENDS_BYTES_MAX, RECENT_APPENDS_PARTITION_BYTES_MAX, RECENT_APPENDS_PARTITION_ENTRIES_MAX } from './replica-limits.js'

/** What a read checks of the partition (a Partition; tests pass a plain object). */
export interface LeaderRole {
  readonly isLeader: boolean
  readonly leaderEpoch: number
}

interface Entry {
  readonly firstOffset: bigint
  /** lastOffset + 1. */
  readonly endOffset: bigint
  readonly bytes: Buffer
}

interface PartitionAppends {
  readonly leaderEpoch: number
  readonly entries: Entry[]
  bytes: number
}

/**
 * The bytes to keep: `bytes` itself when it is most of the memory it views, else a copy. A
 * produce request's records are a view of the whole received message, which may carry many
 * partitions' batches: keeping views would hold every such message for each partition's
 * entry, far beyond the bounds, which count only the records' bytes.
 */
function owned(bytes: Buffer): Buffer {
  return bytes.byteLength * 2 >= bytes.buffer.byteLength ? bytes : Buffer.from(bytes)
}

export class RecentAppends {
  private readonly partitions = new Map<LeaderRole, PartitionAppends>()
  private bytes = 0

  constructor(
    private readonly partitionBytesMax = RECENT_APPENDS_PARTITION_BYTES_MAX,
    private readonly bytesMax = RECENT_APPENDS_BYTES_MAX,
    private readonly partitionEntriesMax = RECENT_APPENDS_PARTITION_ENTRIES_MAX,
  ) {}

  get heldBytes(): number {
    return this.bytes
  }

  /** The leader appended `bytes` (offsets firstOffset..lastOffset, stamped) in `leaderEpoch`. */
  add(partition: LeaderRole, leaderEpoch: number, firstOffset: bigint, lastOffset: bigint, bytes: Buffer): void {
    if (bytes.length > this.partitionBytesMax || lastOffset < firstOffset) return
    let appends = this.partitions.get(partition)
    const last = appends?.entries.at(-1)
    if (appends === undefined || appends.leaderEpoch !== leaderEpoch || (last !== undefined && last.endOffset !== firstOffset)) {
      this.drop(partition)
      appends = { leaderEpoch, entries: [], bytes: 0 }
      this.partitions.set(partition, appends)
    }
    appends.entries.push({ firstOffset, endOffset: lastOffset + 1n, bytes: owned(bytes) })
    appends.bytes += bytes.length
    this.bytes += bytes.length
    while (appends.bytes > this.partitionBytesMax || appends.entries.length > this.partitionEntriesMax) this.dropOldest(appends)
    // Over the broker-wide bound (many partitions): the partition holding the most gives way.
    while (this.bytes > this.bytesMax) {
      let largest: PartitionAppends | null = null
      for (const a of this.partitions.values()) if (largest === null || a.bytes > largest.bytes) largest = a
      if (largest === null) break
      this.dropOldest(largest)
    }
  }

  /**
   * Whole batches from `fetchOffset` (an entry's first offset) up to `maxBytes` (the first
   * batch even beyond it when `minOneBatch`), or null when the entries cannot answer.
   */
  read(partition: LeaderRole, fetchOffset: bigint, maxBytes: number, minOneBatch: boolean): Buffer | null {
    const appends = this.partitions.get(partition)
    if (appends === undefined || !partition.isLeader || partition.leaderEpoch !== appends.leaderEpoch) return null
    const entries = appends.entries
    // Followers fetch at the tail: search from the newest entry.
    let i = entries.length - 1
    while (i >= 0 && entries[i].firstOffset > fetchOffset) i--
    if (i < 0 || entries[i].firstOffset !== fetchOffset) return null
    const parts: Buffer[] = []
    let total = 0
    for (; i < entries.length; i++) {
      const size = entries[i].bytes.length
      if (total + size > maxBytes) {
        if (parts.length > 0 || !minOneBatch) break
        // KIP-74, as PartitionLog.read: the first batch alone (an entry may hold several).
        const bytes = entries[i].bytes
        return bytes.subarray(0, RecordBatchLayout.logOverheadBytes + bytes.readInt32BE(RecordBatchLayout.batchLengthPos))
      }
      parts.push(entries[i].bytes)
      total += size
    }
    if (parts.length === 0) return null
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total)
  }

  /** Forgets a partition's entries (it stopped leading, or is gone). */
  drop(partition: LeaderRole): void {
    const appends = this.partitions.get(partition)
    if (appends === undefined) return
    this.partitions.delete(partition)
    this.bytes -= appends.bytes
  }

  private dropOldest(appends: PartitionAppends): void {
    const entry = appends.entries.shift()
    if (entry === undefined) return
    appends.bytes -= entry.bytes.length
    this.bytes -= entry.bytes.length
  }
}
