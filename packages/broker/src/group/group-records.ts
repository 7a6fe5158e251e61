/**
 * The records of __consumer_offsets, as values (KIP-848's ConsumerGroup* records and the
 * offset-commit record). The topic is compacted: a record's `recordKey` is its compaction key,
 * and a record whose `value` is null is a tombstone that deletes the key. Replaying the
 * records of a partition, in order, rebuilds the coordinator's state (group-coordinator-shard
 * .ts); state only ever changes by replaying a record, so a reload yields the same state.
 *
 * Kafka's counterparts: ConsumerGroupMetadata (group epoch), ConsumerGroupMemberMetadata,
 * ConsumerGroupPartitionMetadata (subscription metadata), ConsumerGroupTargetAssignmentMember,
 * ConsumerGroupTargetAssignmentMetadata (assignment epoch), ConsumerGroupCurrentMemberAssignment,
 * OffsetCommit.
 */
import type { TopicPartitionsValue } from './assignment.js'

/** KIP-848 member states (Kafka's MemberState). */
export type MemberState = 'stable' | 'unrevoked-partitions' | 'unreleased-partitions'

export interface MemberMetadataValue {
  readonly instanceId: string | null
  readonly rackId: string
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[]
  readonly serverAssignor: string
}

export interface SubscribedTopicValue {
  readonly topicName: string
  readonly topicId: string
  readonly numPartitions: number
}

export interface CurrentMemberAssignmentValue {
  readonly memberEpoch: number
  readonly previousMemberEpoch: number
  readonly state: MemberState
  readonly assigned: readonly TopicPartitionsValue[]
  readonly pendingRevocation: readonly TopicPartitionsValue[]
}

export interface OffsetCommitValue {
  readonly committedOffset: bigint
  readonly leaderEpoch: number
  readonly metadata: string
  readonly commitTimestampMs: number
}

export type GroupRecord =
  | { readonly type: 'group-metadata'; readonly groupId: string; readonly value: { readonly groupEpoch: number } | null }
  | { readonly type: 'member-metadata'; readonly groupId: string; readonly memberId: string; readonly value: MemberMetadataValue | null }
  | { readonly type: 'subscription-metadata'; readonly groupId: string; readonly value: { readonly topics: readonly SubscribedTopicValue[] } | null }
  | { readonly type: 'target-assignment-member'; readonly groupId: string; readonly memberId: string; readonly value: { readonly partitions: readonly TopicPartitionsValue[] } | null }
  | { readonly type: 'target-assignment-metadata'; readonly groupId: string; readonly value: { readonly assignmentEpoch: number } | null }
  | { readonly type: 'current-member-assignment'; readonly groupId: string; readonly memberId: string; readonly value: CurrentMemberAssignmentValue | null }
  | { readonly type: 'offset-commit'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: OffsetCommitValue | null }

export type GroupRecordType = GroupRecord['type']

/** The compaction key: two records with the same key replace each other; the newest wins. */
export function recordKey(record: GroupRecord): string {
  switch (record.type) {
    case 'group-metadata':
    case 'subscription-metadata':
    case 'target-assignment-metadata':
      return JSON.stringify([record.type, record.groupId])
    case 'member-metadata':
    case 'target-assignment-member':
    case 'current-member-assignment':
      return JSON.stringify([record.type, record.groupId, record.memberId])
    case 'offset-commit':
      return JSON.stringify([record.type, record.groupId, record.topic, record.partition])
  }
}

/**
 * What log compaction keeps of a record sequence: the newest record per key, in the order of
 * those newest records, tombstones dropped (as Kafka's cleaner does once delete.retention.ms
 * has passed). Replaying the compacted sequence must give the same state as the full one.
 */
export function compactRecords(records: readonly GroupRecord[]): GroupRecord[] {
  const newest = new Map<string, number>()
  records.forEach((r, i) => newest.set(recordKey(r), i))
  return records.filter((r, i) => newest.get(recordKey(r)) === i && r.value !== null)
}
