/**
 * The leader epoch cache of one partition log: for each leader epoch that wrote to the log,
 * the offset where its first batch starts (KIP-101). Kafka's LeaderEpochFileCache, in memory;
 * PartitionLog persists it as `leader-epoch-checkpoint`.
 *
 * It answers OffsetsForLeaderEpoch (endOffsetFor), which is how a new follower finds the
 * point where its log diverges from the leader's and truncates there, instead of truncating to
 * its high watermark (the data-loss and divergence scenarios of KIP-101, refined by KIP-279).
 *
 * Invariant: entries are sorted, and both epoch and startOffset strictly increase along them.
 * This module is pure: no I/O, no clock.
 */
import { assert, type Logger } from '@tributary/metadata-quorum'

export interface EpochEntry {
  readonly epoch: number
  readonly startOffset: bigint
}

/** Kafka's sentinels in OffsetsForLeaderEpoch answers: no such epoch is known. */
export const UNDEFINED_EPOCH = -1
export const UNDEFINED_EPOCH_OFFSET = -1n

/** An OffsetsForLeaderEpoch answer: the largest known epoch <= the requested one, and where it ends. */
export interface EpochEndOffset {
  readonly epoch: number
  readonly endOffset: bigint
}

const INT32_MAX = 0x7fffffff

function validEntry(entry: EpochEntry): boolean {
  return Number.isInteger(entry.epoch) && entry.epoch >= 0 && entry.epoch <= INT32_MAX && entry.startOffset >= 0n
}

/** Why a list of entries cannot be a cache, or null if it can. Used on entries read from disk. */
export function invalidEpochEntries(entries: readonly EpochEntry[]): string | null {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]
    if (!validEntry(entry)) return `entry ${i} (epoch ${entry.epoch}, start offset ${entry.startOffset}) is out of range`
    if (i > 0) {
      const prev = entries[i - 1]
      if (entry.epoch <= prev.epoch || entry.startOffset <= prev.startOffset) {
        return `entry ${i} (epoch ${entry.epoch}, start offset ${entry.startOffset}) does not follow epoch ${prev.epoch} at ${prev.startOffset}`
      }
    }
  }
  return null
}

export class LeaderEpochCache {
  private list: EpochEntry[]

  constructor(
    entries: readonly EpochEntry[],
    private readonly logger: Logger,
  ) {
    const invalid = invalidEpochEntries(entries)
    assert(invalid === null, `leader epoch entries must be increasing: ${invalid ?? ''}`)
    this.list = [...entries]
  }

  entries(): readonly EpochEntry[] {
    return this.list
  }

  /** The newest epoch that wrote to the log, or null for a log that never had one. */
  latestEpoch(): number | null {
    return this.list.length === 0 ? null : this.list[this.list.length - 1].epoch
  }

  latestEntry(): EpochEntry | null {
    return this.list.length === 0 ? null : this.list[this.list.length - 1]
  }

  /**
   * Records that `epoch` starts at `startOffset`. A no-op when it is already the latest epoch
   * (from the same or an earlier offset). Otherwise entries that conflict with the new one
   * (an epoch as large or a start offset as late) are dropped, as Kafka's assign() does; on a
   * healthy log that never happens, because appends check epochs first. Returns whether the
   * cache changed (so the caller knows to write the checkpoint).
   */
  assign(epoch: number, startOffset: bigint): boolean {
    assert(validEntry({ epoch, startOffset }), `epoch ${epoch} at ${startOffset} is out of range`)
    const latest = this.latestEntry()
    if (latest !== null && latest.epoch === epoch && latest.startOffset <= startOffset) return false
    let keep = this.list.length
    while (keep > 0 && (this.list[keep - 1].epoch >= epoch || this.list[keep - 1].startOffset >= startOffset)) keep--
    const removed = this.list.slice(keep)
    if (removed.length > 1 || (removed.length === 1 && removed[0].startOffset !== startOffset)) {
      this.logger.warn({ epoch, startOffset: String(startOffset), removed: removed.map((e) => `${e.epoch}@${e.startOffset}`) }, 'new leader epoch entry replaced conflicting entries')
    }
    this.list = [...this.list.slice(0, keep), { epoch, startOffset }]
    return true
  }

  /** Drops every epoch that starts at or after `endOffset`: the log was truncated to there. */
  truncateFromEnd(endOffset: bigint): boolean {
    let keep = this.list.length
    while (keep > 0 && this.list[keep - 1].startOffset >= endOffset) keep--
    if (keep === this.list.length) return false
    this.list = this.list.slice(0, keep)
    return true
  }

  /**
   * The log now starts at `startOffset` (old segments were deleted): epochs that ended before
   * it are dropped, and the epoch that covers it is moved to start there.
   */
  truncateFromStart(startOffset: bigint): boolean {
    let firstKept = 0
    while (firstKept < this.list.length && this.list[firstKept].startOffset <= startOffset) firstKept++
    if (firstKept === 0) return false
    const covering = this.list[firstKept - 1]
    if (firstKept === 1 && covering.startOffset === startOffset) return false
    this.list = [{ epoch: covering.epoch, startOffset }, ...this.list.slice(firstKept)]
    return true
  }

  clear(): boolean {
    if (this.list.length === 0) return false
    this.list = []
    return true
  }

  /**
   * OffsetsForLeaderEpoch (KIP-101, KIP-279), as Kafka's LeaderEpochFileCache.endOffsetFor:
   *  - the latest epoch ends at the log end offset (it is still being written to);
   *  - an older known epoch E ends where the first larger epoch starts, and the answer names
   *    the largest epoch <= the requested one, so a follower with epochs the leader never had
   *    learns where the leader's own history diverges;
   *  - an epoch below every known one ends where the first known epoch starts (the older data
   *    was deleted; the follower truncates there and fetches from the leader's start);
   *  - an epoch above every known one, or an empty cache, gives UNDEFINED (the follower then
   *    falls back to its high watermark).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): EpochEndOffset {
    const undefinedAnswer: EpochEndOffset = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer
    const latest = this.latestEntry()
    if (latest !== null && latest.epoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset }
    const higher = this.list.findIndex((e) => e.epoch > requestedEpoch)
    if (higher === -1) return undefinedAnswer
    if (higher === 0) return { epoch: requestedEpoch, endOffset: this.list[0].startOffset }
    return { epoch: this.list[higher - 1].epoch, endOffset: this.list[higher].startOffset }
  }

  /** The epoch that wrote `offset`, or null if the cache does not cover it. */
  epochForOffset(offset: bigint): number | null {
    let found: number | null = null
    for (const entry of this.list) {
      if (entry.startOffset > offset) break
      found = entry.epoch
    }
    return found
  }
}
