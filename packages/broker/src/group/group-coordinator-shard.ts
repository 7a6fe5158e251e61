/**
 * The groups and committed offsets of one __consumer_offsets partition (the coordinator
 * shard its leader runs), pure. Wire requests (proto/broker.proto) go in with the metadata
 * image's topics and the time; a wire response and the records to persist come out. The
 * shell must append the records (acks=all) before it answers, and on an append failure
 * reload the shard from the log (its in-memory state already includes them, as Kafka's
 * coordinator before its timeline snapshot revert).
 *
 * Replaying a partition's records (`replay`, any prefix of a compacted log) rebuilds the
 * shard; `onLoaded(nowMs)` then gives every member a fresh session.
 *
 * Group ids map to shards by `coordinatorPartition(groupId, partitionCount)`.
 */
import { assert } from '@tributary/metadata-quorum'
import type { broker } from '@tributary/protocol'
import { toTopicPartitions, type TopicPartitionsValue } from './assignment.js'
import { ConsumerGroup, DEFAULT_CONSUMER_GROUP_CONFIG, type ConsumerGroupConfig, type GroupState, type TopicsView } from './consumer-group.js'
import { GroupErrorCode } from './group-error-codes.js'
import { MAX_GROUP_ID_LENGTH } from './group-limits.js'
import type { GroupRecord } from './group-records.js'
import { OffsetStore } from './offset-store.js'

export interface ShardResult<T> {
  readonly response: T
  /** Already replayed; append to __consumer_offsets before answering. */
  readonly records: readonly GroupRecord[]
}

/** Kafka's names for the states, as ListGroups / DescribeGroups report them. */
export const GROUP_STATE_NAMES: Readonly<Record<GroupState, string>> = {
  empty: 'Empty',
  assigning: 'Assigning',
  reconciling: 'Reconciling',
  stable: 'Stable',
}

/**
 * The __consumer_offsets partition that coordinates a group: Kafka's
 * `Utils.abs(groupId.hashCode) % groupMetadataTopicPartitionCount`, with Java's String.hashCode
 * so a group lands where Kafka would put it.
 */
export function coordinatorPartition(groupId: string, partitionCount: number): number {
  assert(Number.isInteger(partitionCount) && partitionCount > 0, 'the offsets topic has partitions')
  let h = 0
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0 (h & 0x7fffffff).
  return (h & 0x7fffffff) % partitionCount
}

export class GroupCoordinatorShard {
  private readonly groups = new Map<string, ConsumerGroup>()
  readonly offsets = new OffsetStore()

  constructor(
    private readonly config: ConsumerGroupConfig = DEFAULT_CONSUMER_GROUP_CONFIG,
    /** New member ids for joins that bring none (the shell passes crypto.randomUUID). */
    private readonly newMemberId: () => string = () => {
      throw new Error('no member id generator configured')
    },
  ) {}

  group(groupId: string): ConsumerGroup | null {
    return this.groups.get(groupId) ?? null
  }

  groupIds(): string[] {
    return [...this.groups.keys()].sort()
  }

  replay(record: GroupRecord): void {
    if (record.type === 'offset-commit') {
      this.offsets.replay(record)
      return
    }
    if (record.type === 'group-metadata' && record.value === null) {
      this.groups.delete(record.groupId)
      return
    }
    this.getOrCreate(record.groupId).replay(record)
  }

  onLoaded(nowMs: number): void {
    for (const g of this.groups.values()) g.resetTimers(nowMs)
  }

  heartbeat(request: broker.ConsumerGroupHeartbeatRequest, topics: TopicsView, nowMs: number): ShardResult<broker.ConsumerGroupHeartbeatResponse> {
    const empty = { memberId: request.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: [] }
    const badId = checkGroupId(request.groupId)
    if (badId !== null) return { response: { ...empty, errorCode: GroupErrorCode.INVALID_GROUP_ID.code, errorMessage: badId }, records: [] }
    const existing = this.groups.get(request.groupId)
    if (existing === undefined && request.memberEpoch !== 0) {
      return { response: { ...empty, errorCode: GroupErrorCode.UNKNOWN_MEMBER_ID.code, errorMessage: `group ${request.groupId} has no member ${request.memberId}` }, records: [] }
    }
    const group = existing ?? new ConsumerGroup(request.groupId, this.config)
    const { outcome, records } = group.heartbeat(
      {
        memberId: request.memberId,
        memberEpoch: request.memberEpoch,
        instanceId: request.instanceId,
        rackId: request.rackId,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        subscribedTopicNames: request.subscribedTopicNames,
        serverAssignor: request.serverAssignor,
        ownedPartitions: request.topicPartitions,
      },
      topics,
      nowMs,
      this.newMemberId,
    )
    if (existing === undefined && records.length > 0) this.groups.set(request.groupId, group)
    switch (outcome.kind) {
      case 'error':
        return { response: { ...empty, errorCode: outcome.error.code, errorMessage: outcome.message }, records }
      case 'left':
        return { response: { ...empty, memberId: outcome.memberId, memberEpoch: outcome.memberEpoch, errorCode: 0, errorMessage: '' }, records }
      case 'ok':
        return {
          response: {
            errorCode: 0,
            errorMessage: '',
            memberId: outcome.memberId,
            memberEpoch: outcome.memberEpoch,
            heartbeatIntervalMs: outcome.heartbeatIntervalMs,
            assignment: withNames(outcome.assignment, topics),
          },
          records,
        }
    }
  }

  commitOffsets(request: broker.OffsetCommitRequest, nowMs: number): ShardResult<broker.OffsetCommitResponse> {
    const answerAll = (code: number): broker.OffsetCommitResponse => ({
      errorCode: code,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })),
    })
    const badId = checkGroupId(request.groupId)
    if (badId !== null) return { response: answerAll(GroupErrorCode.INVALID_GROUP_ID.code), records: [] }
    const group = this.groups.get(request.groupId)
    const isAdminCommit = request.memberId === '' && request.generationIdOrMemberEpoch < 0
    if (group === undefined && !isAdminCommit) return { response: answerAll(GroupErrorCode.UNKNOWN_MEMBER_ID.code), records: [] }
    if (group !== undefined) {
      const check = group.validateOffsetCommit(request.memberId, request.generationIdOrMemberEpoch)
      if (check.kind === 'error') return { response: answerAll(check.error.code), records: [] }
    }
    const records: GroupRecord[] = []
    const topics = request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const outcome = this.offsets.commitRecord(
          request.groupId,
          { topic: t.name, partition: p.partitionIndex, committedOffset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata },
          nowMs,
        )
        if (outcome.kind === 'error') return { partitionIndex: p.partitionIndex, errorCode: outcome.error.code }
        records.push(outcome.record)
        return { partitionIndex: p.partitionIndex, errorCode: 0 }
      }),
    }))
    for (const r of records) this.replay(r)
    return { response: { errorCode: 0, topics }, records }
  }

  fetchOffsets(request: broker.OffsetFetchRequest): broker.OffsetFetchResponse {
    const group = this.groups.get(request.groupId)
    if (request.memberId !== '' && request.memberEpoch >= 0) {
      // KIP-848: a member's fetch is checked like its commit, so a fenced member sees it.
      const check = group?.validateOffsetCommit(request.memberId, request.memberEpoch) ?? { kind: 'error' as const, error: GroupErrorCode.UNKNOWN_MEMBER_ID, message: '' }
      if (check.kind === 'error') return { errorCode: check.error.code, topics: [] }
    }
    const none = (partitionIndex: number): broker.OffsetFetchResponsePartition => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 })
    if (request.allTopics) {
      const byTopic = new Map<string, broker.OffsetFetchResponsePartition[]>()
      for (const { topic, partition, value } of this.offsets.fetchAll(request.groupId)) {
        const list = byTopic.get(topic) ?? []
        list.push({ partitionIndex: partition, committedOffset: value.committedOffset, committedLeaderEpoch: value.leaderEpoch, metadata: value.metadata, errorCode: 0 })
        byTopic.set(topic, list)
      }
      return { errorCode: 0, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }
    }
    return {
      errorCode: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const v = this.offsets.fetch(request.groupId, t.name, p)
          return v === null ? none(p) : { partitionIndex: p, committedOffset: v.committedOffset, committedLeaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: 0 }
        }),
      })),
    }
  }

  listGroups(request: broker.ListGroupsRequest): broker.ListGroupsResponse {
    const wanted = new Set(request.statesFilter.map((s) => s.toLowerCase()))
    const ids = [...new Set([...this.groups.keys(), ...this.offsets.groupIds()])].sort()
    const groups: broker.ListedGroup[] = []
    for (const groupId of ids) {
      const state = GROUP_STATE_NAMES[this.groups.get(groupId)?.state() ?? 'empty']
      if (wanted.size > 0 && !wanted.has(state.toLowerCase())) continue
      groups.push({ groupId, protocolType: 'consumer', groupState: state, groupType: 'consumer' })
    }
    return { errorCode: 0, groups }
  }

  describeGroups(request: broker.DescribeGroupsRequest, topics: TopicsView): broker.DescribeGroupsResponse {
    return {
      groups: request.groupIds.map((groupId): broker.DescribedGroup => {
        const group = this.groups.get(groupId)
        const base = { groupId, errorMessage: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: 'uniform', members: [] }
        if (group === undefined) {
          if (this.offsets.hasOffsets(groupId)) return { ...base, errorCode: 0, groupState: GROUP_STATE_NAMES.empty }
          return { ...base, errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND.code, errorMessage: `no group ${groupId}`, groupState: 'Dead' }
        }
        return {
          ...base,
          errorCode: 0,
          groupState: GROUP_STATE_NAMES[group.state()],
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          members: group.memberIds().flatMap((memberId) => {
            const m = group.member(memberId)
            if (m === null) return []
            return [{
              memberId,
              ...(m.metadata.instanceId === null ? {} : { instanceId: m.metadata.instanceId }),
              rackId: m.metadata.rackId,
              memberEpoch: m.memberEpoch,
              subscribedTopicNames: [...m.metadata.subscribedTopicNames],
              assignment: withNames(toTopicPartitions(m.assigned), topics),
              targetAssignment: withNames(toTopicPartitions(m.target), topics),
              state: m.state,
            }]
          }),
        }
      }),
    }
  }

  deleteGroups(request: broker.DeleteGroupsRequest): ShardResult<broker.DeleteGroupsResponse> {
    const records: GroupRecord[] = []
    const results = request.groupIds.map((groupId): broker.DeletableGroupResult => {
      const group = this.groups.get(groupId)
      if (group === undefined && !this.offsets.hasOffsets(groupId)) return { groupId, errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND.code }
      if (group !== undefined && !group.isEmpty) return { groupId, errorCode: GroupErrorCode.NON_EMPTY_GROUP.code }
      const tombstones = this.offsets.deletionRecords(groupId)
      for (const r of tombstones) this.replay(r)
      records.push(...tombstones)
      if (group !== undefined) {
        // deletionRecords replays on the group itself; the final group tombstone drops it here.
        const groupRecords = group.deletionRecords()
        records.push(...groupRecords)
        const last = groupRecords[groupRecords.length - 1]
        assert(last !== undefined && last.type === 'group-metadata' && last.value === null, 'group deletion ends with the group tombstone')
        this.groups.delete(groupId)
      }
      return { groupId, errorCode: 0 }
    })
    return { response: { results }, records }
  }

  /** Session and rebalance timeouts of every group. */
  tick(nowMs: number, topics: TopicsView): GroupRecord[] {
    const records: GroupRecord[] = []
    for (const groupId of this.groupIds()) records.push(...(this.groups.get(groupId)?.tick(nowMs, topics) ?? []))
    return records
  }

  /** A metadata image change (partition counts, topics created or deleted). */
  onMetadataUpdate(topics: TopicsView): GroupRecord[] {
    const records: GroupRecord[] = []
    for (const groupId of this.groupIds()) records.push(...(this.groups.get(groupId)?.onMetadataUpdate(topics) ?? []))
    return records
  }

  private getOrCreate(groupId: string): ConsumerGroup {
    let g = this.groups.get(groupId)
    if (g === undefined) {
      g = new ConsumerGroup(groupId, this.config)
      this.groups.set(groupId, g)
    }
    return g
  }
}

function checkGroupId(groupId: string): string | null {
  if (groupId === '') return 'the group id is empty'
  if (groupId.length > MAX_GROUP_ID_LENGTH) return `the group id is longer than ${MAX_GROUP_ID_LENGTH}`
  return null
}

function withNames(values: readonly TopicPartitionsValue[], topics: TopicsView): broker.ConsumerGroupTopicPartitions[] {
  const names = new Map<string, string>()
  for (const [name, info] of topics) names.set(info.topicId, name)
  return values.map((v) => ({ topicId: v.topicId, topicName: names.get(v.topicId) ?? '', partitions: [...v.partitions] }))
}

