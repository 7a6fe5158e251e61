/**
 * RaftLog: the in-memory view of one replica's Raft log, entries after the latest snapshot.
 *
 * Owns: the entry array, the snapshot boundary and the leader-epoch cache (epoch -> first
 * offset of that epoch) used by endOffsetForEpoch, KIP-595's divergence check.
 *
 * Invariants (asserted on every mutation):
 * - entries[i].offset === startOffset + i (contiguous, no holes);
 * - epochs never decrease along the log, and the first entry's epoch is >= the snapshot's;
 * - epochIndex holds exactly one row per distinct epoch among the entries, ascending in both
 *   epoch and start offset.
 *
 * The log knows nothing about durability or commitment; RaftCore tracks those.
 */
import type { Epoch, Offset, RaftEntry, SnapshotId } from './types.js'
import { assert } from '../util/assert.js'

interface EpochStart {
  readonly epoch: Epoch
  readonly startOffset: Offset
}

/** The answer of endOffsetForEpoch: the largest known epoch <= the one asked for, and where it ends. */
export interface EpochEnd {
  readonly epoch: Epoch
  readonly endOffset: Offset
}

export class RaftLog {
  private entries: RaftEntry[] = []
  private epochIndex: EpochStart[] = []
  private snapshot: SnapshotId | null

  constructor(snapshotId: SnapshotId | null, entries: readonly RaftEntry[]) {
    this.snapshot = snapshotId
    this.append(entries)
  }

  /** The first offset held as an entry: the snapshot's end, or 0. */
  get startOffset(): Offset {
    return this.snapshot?.endOffset ?? 0
  }

  get endOffset(): Offset {
    return this.startOffset + this.entries.length
  }

  get snapshotId(): SnapshotId | null {
    return this.snapshot
  }

  /** Epoch of the entry at endOffset - 1 (or of the snapshot's last entry; 0 for an empty log). */
  get lastEpoch(): Epoch {
    const n = this.entries.length
    if (n > 0) return this.entries[n - 1].epoch
    return this.snapshot?.epoch ?? 0
  }

  /**
   * Epoch of the entry at `offset`, for offsets in [startOffset - 1, endOffset). startOffset - 1
   * is the snapshot's last entry; offset -1 is the empty-log sentinel with epoch 0.
   */
  epochAt(offset: Offset): Epoch | null {
    if (offset === -1) return 0
    if (offset >= this.startOffset && offset < this.endOffset) return this.entries[offset - this.startOffset].epoch
    if (this.snapshot !== null && offset === this.snapshot.endOffset - 1) return this.snapshot.epoch
    return null
  }

  entryAt(offset: Offset): RaftEntry {
    assert(offset >= this.startOffset && offset < this.endOffset, `entry ${offset} outside [${this.startOffset}, ${this.endOffset})`)
    return this.entries[offset - this.startOffset]
  }

  /** Appends contiguous entries at endOffset. */
  append(entries: readonly RaftEntry[]): void {
    for (const entry of entries) {
      assert(entry.offset === this.endOffset, `append at ${entry.offset}, log ends at ${this.endOffset}`)
      assert(entry.epoch >= this.lastEpoch, `epoch ${entry.epoch} after ${this.lastEpoch} at offset ${entry.offset}`)
      const last = this.epochIndex[this.epochIndex.length - 1]
      if (last === undefined || last.epoch !== entry.epoch) {
        this.epochIndex.push({ epoch: entry.epoch, startOffset: entry.offset })
      }
      this.entries.push(entry)
    }
  }

  /** Removes every entry with offset >= `offset`. */
  truncateFrom(offset: Offset): void {
    assert(offset >= this.startOffset, `truncate to ${offset} below log start ${this.startOffset}`)
    if (offset >= this.endOffset) return
    this.entries.length = offset - this.startOffset
    while (this.epochIndex.length > 0 && this.epochIndex[this.epochIndex.length - 1].startOffset >= offset) {
      this.epochIndex.pop()
    }
  }

  /**
   * KIP-595's endOffsetForEpoch (Kafka's LeaderEpochFileCache.endOffsetFor): the largest epoch
   * e' <= `epoch` this log knows, and the offset where e' ends (the start of the next epoch,
   * or endOffset). Epoch 0 is the empty log, ending at offset 0. An epoch older than the
   * snapshot's is not known any more: the answer is (epoch, startOffset), an upper bound.
   */
  endOffsetForEpoch(epoch: Epoch): EpochEnd {
    // Walk back over the index; it is short (one row per leader change since the snapshot).
    for (let i = this.epochIndex.length - 1; i >= 0; i--) {
      const row = this.epochIndex[i]
      if (row.epoch <= epoch) {
        const next = this.epochIndex[i + 1]
        return { epoch: row.epoch, endOffset: next === undefined ? this.endOffset : next.startOffset }
      }
    }
    const firstStart = this.epochIndex[0]?.startOffset ?? this.endOffset
    const base = this.snapshot?.epoch ?? 0
    if (base <= epoch) return { epoch: base, endOffset: firstStart }
    return { epoch, endOffset: this.startOffset }
  }

  /**
   * Entries from `from`, at least one when any exist (so a large entry cannot stall a
   * follower), then as many as fit in maxBytes counting data plus overheadBytes each.
   */
  slice(from: Offset, maxBytes: number, maxEntries: number, overheadBytes: number): RaftEntry[] {
    assert(from >= this.startOffset && from <= this.endOffset, `slice from ${from} outside [${this.startOffset}, ${this.endOffset}]`)
    const out: RaftEntry[] = []
    let bytes = 0
    for (let i = from - this.startOffset; i < this.entries.length && out.length < maxEntries; i++) {
      const entry = this.entries[i]
      const size = entry.data.length + overheadBytes
      if (out.length > 0 && bytes + size > maxBytes) break
      out.push(entry)
      bytes += size
    }
    return out
  }

  /**
   * The state machine wrote a snapshot covering [0, id.endOffset): drop the entries below it.
   * The snapshot must agree with the log at its last offset.
   */
  compactTo(id: SnapshotId): void {
    assert(id.endOffset >= this.startOffset && id.endOffset <= this.endOffset, `snapshot end ${id.endOffset} outside [${this.startOffset}, ${this.endOffset}]`)
    assert(this.epochAt(id.endOffset - 1) === id.epoch, `snapshot epoch ${id.epoch} disagrees with the log at ${id.endOffset - 1}`)
    const drop = id.endOffset - this.startOffset
    this.entries = this.entries.slice(drop)
    this.snapshot = id
    // Keep only the epochs that still have entries; the snapshot row covers the rest.
    this.epochIndex = this.epochIndex.filter((row, i) => {
      const next = this.epochIndex[i + 1]
      return next === undefined ? this.entries.length > 0 : next.startOffset > id.endOffset
    }).map((row) => (row.startOffset < id.endOffset ? { epoch: row.epoch, startOffset: id.endOffset } : row))
  }

  /** A snapshot received from the leader replaces the whole log (KIP-630 FetchSnapshot). */
  resetTo(id: SnapshotId): void {
    this.entries = []
    this.epochIndex = []
    this.snapshot = id
  }
}
