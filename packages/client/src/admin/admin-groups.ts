/**
 * The admin's consumer-group calls (Kafka's listConsumerGroups, describeConsumerGroups with
 * listConsumerGroupOffsets, deleteConsumerGroups). Every broker coordinates the groups of the
 * __consumer_offsets partitions it leads, so listGroups asks every broker; the others go to
 * the group's coordinator (FindCoordinator), found again after NOT_COORDINATOR.
 */
import { ErrorCode, type broker } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import type { TopicPartition } from '../consumer/types.js'
import { asTributaryError, kafkaError } from '../errors.js'
import { retry } from '../retry.js'
import type { GroupDescription, GroupPartitionLag, ListedGroup } from './group-types.js'

export async function listGroups(client: Client): Promise<ListedGroup[]> {
  const deadlineMs = Date.now() + client.options.adminTimeoutMs
  return client.track(retry(async () => {
    await client.refreshMetadata('all', false)
    const addresses = client.cache.brokerList().map((b) => `${b.host}:${b.port}`)
    const answers = await Promise.all(addresses.map((a) => client.call(a, (s) => s.listGroups.bind(s), { statesFilter: [] }, 'ListGroups')))
    const out = new Map<string, ListedGroup>()
    for (const res of answers) {
      if (res.errorCode !== 0) throw kafkaError(res.errorCode, 'ListGroups')
      for (const g of res.groups) out.set(g.groupId, { groupId: g.groupId, state: g.groupState })
    }
    return [...out.values()].sort((a, b) => a.groupId.localeCompare(b.groupId))
  }, { deadlineMs, backoff: client.backoff, what: 'listGroups', signal: client.closeSignal }))
}

export async function describeGroup(client: Client, groupId: string): Promise<GroupDescription> {
  const deadlineMs = Date.now() + client.options.adminTimeoutMs
  const [described, committed] = await atCoordinator(client, groupId, deadlineMs, 'describeGroup', async (address) => {
    const d = await client.call(address, (s) => s.describeGroups.bind(s), { groupIds: [groupId] }, 'DescribeGroups')
    const g = d.groups[0]
    if (g === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR.code, 'DescribeGroups', 'no group in the answer')
    if (g.errorCode !== 0) throw kafkaError(g.errorCode, `describeGroup ${groupId}`, g.errorMessage)
    const o = await client.call(address, (s) => s.offsetFetch.bind(s), { groupId, topics: [], allTopics: true, memberId: '', memberEpoch: -1 }, 'OffsetFetch')
    if (o.errorCode !== 0) throw kafkaError(o.errorCode, `offsets of group ${groupId}`)
    return [g, o] as const
  })
  const members = described.members.map((m) => ({
    memberId: m.memberId,
    memberEpoch: m.memberEpoch,
    subscribedTopics: [...m.subscribedTopicNames],
    assignment: partitionsOf(m.assignment),
    targetAssignment: partitionsOf(m.targetAssignment),
    state: m.state,
  }))
  const offsets = new Map<string, Map<number, bigint>>()
  const put = (topic: string, partition: number, offset: bigint): void => {
    const m = offsets.get(topic) ?? new Map<number, bigint>()
    if (!m.has(partition) || offset >= 0n) m.set(partition, offset)
    offsets.set(topic, m)
  }
  for (const t of committed.topics) for (const p of t.partitions) put(t.name, p.partitionIndex, p.committedOffset)
  for (const m of members) for (const tp of m.assignment) put(tp.topic, tp.partition, -1n)
  const partitions: GroupPartitionLag[] = []
  for (const [topic, byPartition] of [...offsets].sort(([a], [b]) => a.localeCompare(b))) {
    const ends = new Map((await client.admin().listOffsets(topic, 'latest', [...byPartition.keys()])).map((o) => [o.partition, o.offset]))
    const starts = [...byPartition.values()].some((c) => c < 0n)
      ? new Map((await client.admin().listOffsets(topic, 'earliest', [...byPartition.keys()])).map((o) => [o.partition, o.offset]))
      : new Map<number, bigint>()
    for (const [partition, committedOffset] of [...byPartition].sort(([a], [b]) => a - b)) {
      const latestOffset = ends.get(partition) ?? -1n
      const from = committedOffset >= 0n ? committedOffset : (starts.get(partition) ?? 0n)
      const lag = latestOffset > from ? latestOffset - from : 0n
      partitions.push({ topic, partition, committedOffset, latestOffset, lag })
    }
  }
  return { groupId, state: described.groupState, groupEpoch: described.groupEpoch, assignmentEpoch: described.assignmentEpoch, members, partitions }
}

/** Deletes a group without members and its committed offsets (NON_EMPTY_GROUP while members remain). */
export async function deleteGroup(client: Client, groupId: string): Promise<void> {
  const deadlineMs = Date.now() + client.options.adminTimeoutMs
  await atCoordinator(client, groupId, deadlineMs, 'deleteGroup', async (address) => {
    const res = await client.call(address, (s) => s.deleteGroups.bind(s), { groupIds: [groupId] }, 'DeleteGroups')
    const r = res.results.find((x) => x.groupId === groupId)
    if (r === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR.code, 'DeleteGroups', 'no result for the group')
    if (r.errorCode !== 0) throw kafkaError(r.errorCode, `deleteGroup ${groupId}`)
  })
}

async function atCoordinator<T>(client: Client, groupId: string, deadlineMs: number, what: string, work: (address: string) => Promise<T>): Promise<T> {
  return client.track(retry(async () => {
    const res = await client.callAny((s) => s.findCoordinator.bind(s), { key: groupId, keyType: 0 }, 'FindCoordinator')
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `FindCoordinator for group ${groupId}`, res.errorMessage)
    try {
      return await work(`${res.host}:${res.port}`)
    } catch (err) {
      throw asTributaryError(err)
    }
  }, { deadlineMs, backoff: client.backoff, what, signal: client.closeSignal }))
}

function partitionsOf(values: readonly broker.ConsumerGroupTopicPartitions[]): TopicPartition[] {
  return values.flatMap((v) => v.partitions.map((partition) => ({ topic: v.topicName, partition }))).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
}
