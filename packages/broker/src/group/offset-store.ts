/**
 * Committed offsets of the groups one coordinator owns, rebuilt from offset-commit records
 * (a tombstone deletes one partition's offset). Pure: commits are validated by the caller
 * (ConsumerGroup.validateOffsetCommit) and turned into records here.
 */
import type { ErrorCodeInfo } from '@tributary/protocol'
import { GroupErrorCode } from './group-error-codes.js'
import { MAX_OFFSET_METADATA_LENGTH } from './group-limits.js'
import type { GroupRecord, OffsetCommitValue } from './group-records.js'

export interface OffsetCommitInput {
  readonly topic: string
  readonly partition: number
  readonly committedOffset: bigint
  readonly leaderEpoch: number
  readonly metadata: string
}

export type OffsetCommitRecordOutcome =
  | { readonly kind: 'ok'; readonly record: GroupRecord }
  | { readonly kind: 'error'; readonly error: ErrorCodeInfo; readonly message: string }

export class OffsetStore {
  /** groupId -> topic -> partition -> committed offset. */
  private readonly offsets = new Map<string, Map<string, Map<number, OffsetCommitValue>>>()

  /** The record committing one partition's offset (not yet replayed), or why it is refused. */
  commitRecord(groupId: string, input: OffsetCommitInput, nowMs: number): OffsetCommitRecordOutcome {
    if (input.metadata.length > MAX_OFFSET_METADATA_LENGTH) {
      return { kind: 'error', error: GroupErrorCode.OFFSET_METADATA_TOO_LARGE, message: `metadata longer than ${MAX_OFFSET_METADATA_LENGTH}` }
    }
    if (input.topic === '' || !Number.isInteger(input.partition) || input.partition < 0) {
      return { kind: 'error', error: GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `no partition ${input.topic}-${input.partition}` }
    }
    if (input.committedOffset < 0n) {
      return { kind: 'error', error: GroupErrorCode.INVALID_REQUEST, message: `committed offset ${input.committedOffset} is negative` }
    }
    return {
      kind: 'ok',
      record: {
        type: 'offset-commit',
        groupId,
        topic: input.topic,
        partition: input.partition,
        value: { committedOffset: input.committedOffset, leaderEpoch: input.leaderEpoch, metadata: input.metadata, commitTimestampMs: nowMs },
      },
    }
  }

  fetch(groupId: string, topic: string, partition: number): OffsetCommitValue | null {
    return this.offsets.get(groupId)?.get(topic)?.get(partition) ?? null
  }

  /** Every committed offset of a group: topic -> partition -> offset, sorted. */
  fetchAll(groupId: string): Array<{ topic: string; partition: number; value: OffsetCommitValue }> {
    const out: Array<{ topic: string; partition: number; value: OffsetCommitValue }> = []
    const topics = this.offsets.get(groupId)
    if (topics === undefined) return out
    for (const topic of [...topics.keys()].sort()) {
      const partitions = topics.get(topic)
      if (partitions === undefined) continue
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) {
        const value = partitions.get(partition)
        if (value !== undefined) out.push({ topic, partition, value })
      }
    }
    return out
  }

  hasOffsets(groupId: string): boolean {
    return this.offsets.has(groupId)
  }

  groupIds(): string[] {
    return [...this.offsets.keys()].sort()
  }

  /** Tombstones for every offset of a group (DeleteGroups). Not yet replayed. */
  deletionRecords(groupId: string): GroupRecord[] {
    return this.fetchAll(groupId).map(({ topic, partition }) => ({ type: 'offset-commit', groupId, topic, partition, value: null }))
  }

  replay(record: Extract<GroupRecord, { type: 'offset-commit' }>): void {
    let topics = this.offsets.get(record.groupId)
    if (record.value === null) {
      const partitions = topics?.get(record.topic)
      partitions?.delete(record.partition)
      if (partitions !== undefined && partitions.size === 0) topics?.delete(record.topic)
      if (topics !== undefined && topics.size === 0) this.offsets.delete(record.groupId)
      return
    }
    if (topics === undefined) {
      topics = new Map()
      this.offsets.set(record.groupId, topics)
    }
    let partitions = topics.get(record.topic)
    if (partitions === undefined) {
      partitions = new Map()
      topics.set(record.topic, partitions)
    }
    partitions.set(record.partition, record.value)
  }
}
