/**
 * localChanges: what one broker must do to its local replicas when its metadata image moves
 * from `previous` to `next` (Kafka's TopicsDelta.localChanges / LocalReplicaChanges).
 *
 * It owns no state: it compares two immutable images. Every partition the broker hosts in
 * either image lands in at most one list:
 * - leaders: the broker leads it in `next`, and it was not the leader before, or the leader
 *   epoch changed (a re-election fences the old term), or the partition epoch changed (ISR or
 *   replicas moved: the leader must refresh the ISR it uses for the high watermark).
 * - followers: the broker is a replica but not the leader in `next` (including "no leader"),
 *   and it is new to the broker, or the leader or leader epoch changed (fetch from the new
 *   leader with the new epoch), or the partition epoch changed.
 * - deletes: the broker hosted it in `previous` and in `next` the topic is gone or the broker
 *   is no longer a replica. The local log is deleted in both cases (Kafka's StopReplica
 *   with deletePartition = true).
 * An unchanged partition appears nowhere. Topics are matched by topic id, so a topic deleted
 * and re-created under the same name shows as deletes of the old id plus entries of the new.
 *
 * Cost: replay shares every TopicImage and PartitionRegistration it did not touch (see
 * metadata-image.ts), so identical references are skipped without looking inside; a delta
 * costs O(topics + partitions of changed topics), not O(all partitions).
 *
 * Order: entries follow the images' map order (insertion order, the same on every node that
 * replayed the same log), so the result is deterministic.
 */
import type { NodeId, TopicId } from '@tributary/protocol'
import { assert } from '../util/assert.js'
import type { MetadataImage, PartitionRegistration, TopicImage } from './metadata-image.js'

/**
 * Why a partition is in `leaders`:
 * - new_replica: the broker did not host it before (new topic, added partition, reassigned to it);
 * - became_leader: it was a follower of it;
 * - leader_epoch_bumped: it led it already, but under an older leader epoch;
 * - partition_epoch_bumped: only the ISR or replicas changed.
 */
export type LeaderChangeKind = 'new_replica' | 'became_leader' | 'leader_epoch_bumped' | 'partition_epoch_bumped'

/**
 * Why a partition is in `followers`:
 * - new_replica: the broker did not host it before;
 * - became_follower: it led it before;
 * - leader_changed: another leader (or none), or the same leader under a new leader epoch;
 * - partition_epoch_bumped: only the ISR or replicas changed.
 */
export type FollowerChangeKind = 'new_replica' | 'became_follower' | 'leader_changed' | 'partition_epoch_bumped'

export type DeleteReason = 'topic_deleted' | 'replica_removed'

export interface LocalPartitionChange<Kind extends string> {
  readonly topicId: TopicId
  readonly topicName: string
  readonly partitionId: number
  /** The registration in `next`. */
  readonly partition: PartitionRegistration
  readonly change: Kind
}

export interface LocalPartitionDelete {
  readonly topicId: TopicId
  readonly topicName: string
  readonly partitionId: number
  /** The last registration the broker saw (from `previous`). */
  readonly partition: PartitionRegistration
  readonly reason: DeleteReason
  /** Whether the broker deletes the partition's local log. */
  readonly deleteLog: boolean
}

export interface LocalChanges {
  readonly leaders: readonly LocalPartitionChange<LeaderChangeKind>[]
  readonly followers: readonly LocalPartitionChange<FollowerChangeKind>[]
  readonly deletes: readonly LocalPartitionDelete[]
}

/** The changes to `brokerId`'s local replicas from `previous` to `next`. */
export function localChanges(previous: MetadataImage, next: MetadataImage, brokerId: NodeId): LocalChanges {
  assert(next.offset >= previous.offset, `localChanges from offset ${previous.offset} back to ${next.offset}`)
  const leaders: LocalPartitionChange<LeaderChangeKind>[] = []
  const followers: LocalPartitionChange<FollowerChangeKind>[] = []
  const deletes: LocalPartitionDelete[] = []
  const before = previous.topicsById
  const after = next.topicsById
  if (before === after) return { leaders, followers, deletes }

  for (const [id, topic] of after) {
    const old = before.get(id)
    if (old === topic) continue
    diffTopic(old, topic, brokerId, leaders, followers, deletes)
  }
  for (const [id, old] of before) {
    if (after.has(id)) continue
    for (const p of old.partitions.values()) {
      if (p.replicas.includes(brokerId)) deletes.push(deleteOf(old, p, 'topic_deleted'))
    }
  }
  return { leaders, followers, deletes }
}

function diffTopic(
  old: TopicImage | undefined,
  topic: TopicImage,
  brokerId: NodeId,
  leaders: LocalPartitionChange<LeaderChangeKind>[],
  followers: LocalPartitionChange<FollowerChangeKind>[],
  deletes: LocalPartitionDelete[],
): void {
  // Partitions are only ever appended (image invariant), so iterating `next` sees them all.
  assert(old === undefined || old.partitions.size <= topic.partitions.size, `topic ${topic.topicId} lost partitions: ${old?.partitions.size} -> ${topic.partitions.size}`)
  for (const [partitionId, p] of topic.partitions) {
    const q = old?.partitions.get(partitionId)
    if (q === p) continue
    const wasReplica = q !== undefined && q.replicas.includes(brokerId)
    const isReplica = p.replicas.includes(brokerId)
    const base = { topicId: topic.topicId, topicName: topic.name, partitionId, partition: p }
    if (!isReplica) {
      if (wasReplica) deletes.push(deleteOf(topic, q, 'replica_removed'))
      continue
    }
    if (p.leader === brokerId) {
      const change = leaderChange(wasReplica ? q : undefined, brokerId, p)
      if (change !== null) leaders.push({ ...base, change })
    } else {
      const change = followerChange(wasReplica ? q : undefined, brokerId, p)
      if (change !== null) followers.push({ ...base, change })
    }
  }
}

/** `q` is the previous registration if the broker hosted the partition, else undefined. */
function leaderChange(q: PartitionRegistration | undefined, brokerId: NodeId, p: PartitionRegistration): LeaderChangeKind | null {
  if (q === undefined) return 'new_replica'
  if (q.leader !== brokerId) return 'became_leader'
  if (q.leaderEpoch !== p.leaderEpoch) return 'leader_epoch_bumped'
  if (q.partitionEpoch !== p.partitionEpoch) return 'partition_epoch_bumped'
  return null
}

function followerChange(q: PartitionRegistration | undefined, brokerId: NodeId, p: PartitionRegistration): FollowerChangeKind | null {
  if (q === undefined) return 'new_replica'
  if (q.leader === brokerId) return 'became_follower'
  if (q.leader !== p.leader || q.leaderEpoch !== p.leaderEpoch) return 'leader_changed'
  if (q.partitionEpoch !== p.partitionEpoch) return 'partition_epoch_bumped'
  return null
}

function deleteOf(topic: TopicImage, p: PartitionRegistration, reason: DeleteReason): LocalPartitionDelete {
  return { topicId: topic.topicId, topicName: topic.name, partitionId: p.partitionId, partition: p, reason, deleteLog: true }
}
