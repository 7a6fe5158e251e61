import { afterEach, describe, expect, it } from 'vitest'
import { broker, ErrorCode } from '@tributary/protocol'
import { startInProcessCluster, type InProcessCluster } from '../node/in-process-cluster.js'
import { brokerClients, call, until } from '../node/test-broker-rpc.js'
import { OFFSETS_TOPIC } from './group-coordinator.js'

const RETRIABLE = new Set([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.code, ErrorCode.COORDINATOR_NOT_AVAILABLE.code, ErrorCode.NOT_COORDINATOR.code])

interface Member {
  readonly memberId: string
  epoch: number
  owned: broker.ConsumerGroupTopicPartitions[]
}

function partitionsOf(m: Member): number[] {
  return m.owned.flatMap((t) => t.partitions).sort((a, b) => a - b)
}

describe('GroupCoordinator in the broker (3 combined nodes, real gRPC)', () => {
  const { client, closeAll } = brokerClients()
  let cluster: InProcessCluster | null = null

  afterEach(async () => {
    closeAll()
    await cluster?.close()
    cluster = null
  })

  it('finds the coordinator, rebalances two members revoke-then-assign, and keeps committed offsets across a coordinator failover', async () => {
    cluster = await startInProcessCluster(3, {
      dirPrefix: 'trib-groups-',
      configure: (config) => ({ ...config, broker: { ...config.broker!, offsetsTopicPartitions: 3 } }),
    })
    const nodes = cluster.nodes
    const ports = new Map([...nodes].map(([id, n]) => [id, n.broker!.port]))
    const node1 = client(ports.get(1)!)

    await until(async () => {
      const r = await call(node1.createTopics, node1, { topics: [{ name: 'events', numPartitions: 4, replicationFactor: 3, configs: {} }], validateOnly: false })
      return r.topics[0]?.errorCode === 0 ? r : null
    }, 'CreateTopics')

    // The first FindCoordinator creates __consumer_offsets; answers are retriable until it has leaders.
    const findCoordinator = (c: broker.BrokerServiceClient): Promise<broker.FindCoordinatorResponse> => until(async () => {
      const r = await call(c.findCoordinator, c, { key: 'g1', keyType: 0 })
      if (r.errorCode !== 0) expect(RETRIABLE.has(r.errorCode)).toBe(true)
      return r.errorCode === 0 ? r : null
    }, 'FindCoordinator')
    const found = await findCoordinator(node1)
    expect(ports.get(found.nodeId)).toBe(found.port)
    const md = await call(node1.metadata, node1, { topics: [OFFSETS_TOPIC], allTopics: false })
    expect(md.topics[0]).toMatchObject({ name: OFFSETS_TOPIC, isInternal: true })
    expect(md.topics[0]!.partitions).toHaveLength(3)
    const coordinator = client(found.port)

    const heartbeat = async (m: Member): Promise<void> => {
      const r = await until(async () => {
        const res = await call(coordinator.consumerGroupHeartbeat, coordinator, {
          groupId: 'g1', memberId: m.memberId, memberEpoch: m.epoch, rackId: '', rebalanceTimeoutMs: 10_000,
          subscribedTopicNames: ['events'], serverAssignor: '', topicPartitions: m.owned,
        })
        return RETRIABLE.has(res.errorCode) ? null : res
      }, 'a heartbeat')
      expect(r.errorCode).toBe(0)
      m.epoch = r.memberEpoch
      m.owned = r.assignment.map((t) => ({ topicId: t.topicId, topicName: t.topicName, partitions: [...t.partitions] }))
    }

    const a: Member = { memberId: 'member-a', epoch: 0, owned: [] }
    const b: Member = { memberId: 'member-b', epoch: 0, owned: [] }
    await heartbeat(a)
    expect(partitionsOf(a)).toEqual([0, 1, 2, 3])
    await heartbeat(b)
    // Revoke then assign: no partition is ever owned by both members.
    for (let round = 0; round < 10 && !(partitionsOf(a).length === 2 && partitionsOf(b).length === 2); round++) {
      await heartbeat(a)
      await heartbeat(b)
      const overlap = partitionsOf(a).filter((p) => partitionsOf(b).includes(p))
      expect(overlap).toEqual([])
    }
    expect(partitionsOf(a)).toHaveLength(2)
    expect(partitionsOf(b)).toHaveLength(2)
    expect([...partitionsOf(a), ...partitionsOf(b)].sort()).toEqual([0, 1, 2, 3])

    const committed = await call(coordinator.offsetCommit, coordinator, {
      groupId: 'g1', generationIdOrMemberEpoch: a.epoch, memberId: a.memberId,
      topics: [{ name: 'events', partitions: [{ partitionIndex: partitionsOf(a)[0]!, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    })
    expect(committed.errorCode).toBe(0)
    expect(committed.topics[0]!.partitions[0]!.errorCode).toBe(0)
    const fetchRequest: broker.OffsetFetchRequest = { groupId: 'g1', topics: [{ name: 'events', partitionIndexes: [partitionsOf(a)[0]!] }], allTopics: false, memberId: '', memberEpoch: -1 }
    const fetched = await call(coordinator.offsetFetch, coordinator, fetchRequest)
    expect(fetched.topics[0]!.partitions[0]).toMatchObject({ committedOffset: 42n, metadata: 'm', errorCode: 0 })

    const described = await call(coordinator.describeGroups, coordinator, { groupIds: ['g1'] })
    expect(described.groups[0]).toMatchObject({ groupId: 'g1', errorCode: 0 })
    expect(described.groups[0]!.members.map((m) => m.memberId).sort()).toEqual(['member-a', 'member-b'])

    // A broker that does not lead the group's partition says so.
    const other = [...ports].find(([id]) => id !== found.nodeId)!
    const wrong = client(other[1])
    const refused = await call(wrong.offsetFetch, wrong, fetchRequest)
    expect(refused.errorCode).toBe(ErrorCode.NOT_COORDINATOR.code)

    // The coordinator's node stops; another leads the partition, loads it from its log.
    await nodes.get(found.nodeId)!.close()
    nodes.delete(found.nodeId)
    const survivor = client(other[1])
    const after = await until(async () => {
      const f = await call(survivor.findCoordinator, survivor, { key: 'g1', keyType: 0 })
      if (f.errorCode !== 0 || f.nodeId === found.nodeId) return null
      const c = client(f.port)
      const r = await call(c.offsetFetch, c, fetchRequest)
      return r.errorCode === 0 ? { f, r } : null
    }, 'the new coordinator')
    expect(after.f.nodeId).not.toBe(found.nodeId)
    expect(after.r.topics[0]!.partitions[0]).toMatchObject({ committedOffset: 42n, metadata: 'm', errorCode: 0 })
    // The members' state moved too: the group is still known with both members.
    const c2 = client(after.f.port)
    const described2 = await call(c2.describeGroups, c2, { groupIds: ['g1'] })
    expect(described2.groups[0]!.members.map((m) => m.memberId).sort()).toEqual(['member-a', 'member-b'])
  }, 30_000)
})
