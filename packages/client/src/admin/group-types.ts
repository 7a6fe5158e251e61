import type { TopicPartition } from '../consumer/types.js'

export interface ListedGroup {
  readonly groupId: string
  /** Empty, Assigning, Reconciling or Stable (Kafka's names). */
  readonly state: string
}

export interface GroupMemberDescription {
  readonly memberId: string
  readonly memberEpoch: number
  readonly subscribedTopics: readonly string[]
  /** What the member owns now. */
  readonly assignment: readonly TopicPartition[]
  /** Where the coordinator is moving it (equal to `assignment` once reconciled). */
  readonly targetAssignment: readonly TopicPartition[]
  /** stable, unrevoked-partitions or unreleased-partitions. */
  readonly state: string
}

export interface GroupPartitionLag extends TopicPartition {
  /** -1n when nothing is committed. */
  readonly committedOffset: bigint
  /** The partition's high watermark. */
  readonly latestOffset: bigint
  /** latest - committed; with nothing committed, latest - log start (the whole backlog). */
  readonly lag: bigint
}

export interface GroupDescription {
  readonly groupId: string
  readonly state: string
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly members: readonly GroupMemberDescription[]
  /** Every partition with a committed offset or assigned to a member, sorted by topic and partition. */
  readonly partitions: readonly GroupPartitionLag[]
}
