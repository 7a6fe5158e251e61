/**
 * Scripted stories of the KIP-848 coordinator: each test reads like the rebalance it checks.
 * The harness checks after every step that no partition is owned by two consumers, that a
 * consumer only owns what the coordinator holds for it, and that epochs never go down.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode, type broker } from '@tributary/protocol'
import { compactRecords } from './group-records.js'
import { GroupErrorCode } from './group-error-codes.js'
import { expectFullyOwned, GROUP, GroupHarness, topicIdOf } from './test-group-harness.js'

function threeOnTwelve(): GroupHarness {
  const h = new GroupHarness({ orders: 12 })
  h.join('a')
  h.join('b')
  h.join('c')
  h.settle()
  return h
}

describe('consumer group scenarios (KIP-848)', () => {
  it('3 consumers on 12 partitions end balanced, 4 each, and stable', () => {
    const h = threeOnTwelve()
    expect(h.counts()).toEqual([4, 4, 4])
    expectFullyOwned(h, 'orders')
    expect(h.group.state()).toBe('stable')
    for (const id of ['a', 'b', 'c']) expect(h.consumer(id).epoch).toBe(h.group.assignmentEpoch)
  })

  it('the first member alone gets every partition on its first heartbeat', () => {
    const h = new GroupHarness({ orders: 12 })
    const r = h.join('a')
    expect(r.errorCode).toBe(0)
    expect(r.memberEpoch).toBe(1)
    expect(r.heartbeatIntervalMs).toBeGreaterThan(0)
    expect(r.assignment).toEqual([{ topicId: topicIdOf('orders'), topicName: 'orders', partitions: [...Array(12).keys()] }])
    expect(h.group.state()).toBe('stable')
  })

  it('a 4th consumer joins: only 3 partitions move, each revoked before it is assigned', () => {
    const h = threeOnTwelve()
    const before = h.ownership()
    h.join('d')
    expect(h.owned('d')).toEqual([]) // nothing is free yet: the others still hold everything
    expect(h.group.state()).toBe('reconciling')
    // The holders learn what to revoke but keep it until they acknowledge (they commit first).
    for (const id of ['a', 'b', 'c']) h.heartbeat(id, false)
    expect(h.owned('d')).toEqual([])
    h.heartbeat('d')
    expect(h.owned('d')).toEqual([])
    h.settle()
    expect(h.counts()).toEqual([3, 3, 3, 3])
    expectFullyOwned(h, 'orders')
    const after = h.ownership()
    const moved = [...after].filter(([k, m]) => before.get(k) !== m)
    expect(moved).toHaveLength(3)
    expect(moved.every(([, m]) => m === 'd')).toBe(true)
  })

  it('a member in unrevoked-partitions keeps its epoch until it acknowledges', () => {
    const h = threeOnTwelve()
    const epochA = h.consumer('a').epoch
    h.join('d')
    h.heartbeat('a', false)
    expect(h.consumer('a').epoch).toBe(epochA)
    expect(h.group.member('a')?.state).toBe('unrevoked-partitions')
    h.heartbeat('a') // now it lets go
    expect(h.group.member('a')?.state).toBe('stable')
    expect(h.consumer('a').epoch).toBe(h.group.assignmentEpoch)
    h.heartbeat('d')
    expect(h.owned('d')).toHaveLength(1)
  })

  it('a clean leave moves the leaver\'s partitions to the others at once', () => {
    const h = threeOnTwelve()
    const leaverPartitions = h.owned('b')
    expect(h.leave('b').errorCode).toBe(0)
    h.settle()
    expect(h.counts()).toEqual([6, 6])
    expectFullyOwned(h, 'orders')
    const owners = h.ownership()
    for (const p of leaverPartitions) expect(['a', 'c']).toContain(owners.get(`${topicIdOf('orders')}:${p}`))
    expect(h.group.member('b')).toBeNull()
  })

  it('a crashed consumer is evicted after its session timeout and its partitions move', () => {
    const h = threeOnTwelve()
    h.crash('c')
    h.advance(h.config.sessionTimeoutMs - 1_000)
    h.heartbeat('a')
    h.heartbeat('b')
    expect(h.group.member('c')).not.toBeNull() // not yet
    h.advance(2_000) // a and b heartbeated 2 s later than c
    expect(h.group.member('c')).toBeNull()
    expect(h.group.memberIds()).toEqual(['a', 'b'])
    h.settle()
    expect(h.counts()).toEqual([6, 6])
    expectFullyOwned(h, 'orders')
  })

  it('a member that never acknowledges a revocation is removed after its rebalance timeout', () => {
    const h = threeOnTwelve()
    h.join('d')
    h.heartbeat('a', false)
    expect(h.group.member('a')?.state).toBe('unrevoked-partitions')
    for (let t = 0; t < 40_000; t += 5_000) {
      h.advance(5_000)
      for (const id of ['b', 'c', 'd']) h.heartbeat(id)
      if (h.group.member('a') === null) break
      h.heartbeat('a', false)
    }
    expect(h.group.member('a')).toBeNull()
    expect(h.evicted).toEqual(['a'])
    h.settle()
    expect(h.counts()).toEqual([4, 4, 4])
  })

  it('13 consumers on 12 partitions: one sits idle, every partition owned once', () => {
    const h = new GroupHarness({ orders: 12 })
    for (let i = 0; i < 13; i++) h.join(`m${String(i).padStart(2, '0')}`)
    h.settle()
    expect(h.counts()).toEqual([0, ...Array<number>(12).fill(1)])
    expectFullyOwned(h, 'orders')
    expect(h.group.state()).toBe('stable')
  })

  it('a subscription change bumps the group epoch and moves partitions of both topics', () => {
    const h = new GroupHarness({ orders: 4, payments: 2 })
    h.join('a', ['orders'])
    h.join('b', ['orders'])
    h.settle()
    const epoch = h.group.groupEpoch
    h.consumer('b').subscription = ['orders', 'payments']
    h.heartbeat('b')
    expect(h.group.groupEpoch).toBe(epoch + 1)
    h.settle()
    expectFullyOwned(h, 'orders')
    expectFullyOwned(h, 'payments')
    const paymentsOwners = [...h.ownership()].filter(([k]) => k.startsWith(topicIdOf('payments'))).map(([, m]) => m)
    expect(new Set(paymentsOwners)).toEqual(new Set(['b'])) // only b subscribes to payments
    expect(h.counts()).toEqual([3, 3])
  })

  it('more partitions (CreatePartitions) bump the epoch and are assigned', () => {
    const h = threeOnTwelve()
    const epoch = h.group.groupEpoch
    h.setPartitions('orders', 15)
    expect(h.group.groupEpoch).toBe(epoch + 1)
    h.settle()
    expect(h.counts()).toEqual([5, 5, 5])
    expectFullyOwned(h, 'orders')
  })

  it('a stale epoch is fenced; the member rejoins with epoch 0 and gets partitions again', () => {
    const h = threeOnTwelve()
    const c = h.consumer('a')
    const good = c.epoch
    c.epoch = good + 5
    expect(h.heartbeat('a').errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH.code)
    c.epoch = good - 1 // not its previous epoch with a subset: fenced too
    c.owned = new Map([[topicIdOf('orders'), new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])]])
    expect(h.shard.heartbeat({
      groupId: GROUP, memberId: 'a', memberEpoch: good - 1, rackId: '', rebalanceTimeoutMs: 1, subscribedTopicNames: ['orders'], serverAssignor: '',
      topicPartitions: [{ topicId: topicIdOf('orders'), topicName: '', partitions: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }],
    }, h.topics, h.nowMs).response.errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH.code)
    // The client gives up everything and rejoins with the same member id.
    c.owned = new Map()
    c.epoch = 0
    c.lastEpoch = 0
    h.heartbeat('a')
    h.settle()
    expect(h.counts()).toEqual([4, 4, 4])
    expectFullyOwned(h, 'orders')
  })

  it('an unknown member is told UNKNOWN_MEMBER_ID', () => {
    const h = threeOnTwelve()
    const { response } = h.shard.heartbeat({
      groupId: GROUP, memberId: 'ghost', memberEpoch: 3, rackId: '', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['orders'], serverAssignor: '', topicPartitions: [],
    }, h.topics, h.nowMs)
    expect(response.errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID.code)
  })

  it('a lost response is tolerated: the previous epoch with owned ⊆ assigned is accepted', () => {
    const h = threeOnTwelve()
    h.join('d')
    h.heartbeat('a', false)
    const a = h.consumer('a')
    const before = a.epoch
    h.heartbeat('a') // the coordinator advances a ... but suppose a never saw the answer
    expect(a.epoch).toBeGreaterThan(before)
    const { response } = h.shard.heartbeat({
      groupId: GROUP, memberId: 'a', memberEpoch: before, rackId: '', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['orders'], serverAssignor: '',
      topicPartitions: [{ topicId: topicIdOf('orders'), topicName: '', partitions: h.owned('a') }],
    }, h.topics, h.nowMs)
    expect(response.errorCode).toBe(0)
    expect(response.memberEpoch).toBe(a.epoch)
  })

  it('offset commits are checked against the member epoch', () => {
    const h = threeOnTwelve()
    const a = h.consumer('a')
    const commit = (memberId: string, epoch: number) => h.shard.commitOffsets({
      groupId: GROUP, memberId, generationIdOrMemberEpoch: epoch,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: h.owned('a')[0] ?? 0, committedOffset: 42n, committedLeaderEpoch: 3, committedMetadata: 'm' }] }],
    }, h.nowMs)
    expect(commit('a', a.epoch - 1).response.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH.code)
    expect(commit('zz', a.epoch).response.topics[0]?.partitions[0]?.errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID.code)
    expect(commit('', -1).response.topics[0]?.partitions[0]?.errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID.code) // group has members
    const ok = commit('a', a.epoch)
    expect(ok.response.topics[0]?.partitions[0]?.errorCode).toBe(0)
    expect(ok.records).toHaveLength(1)
    h.log.push(...ok.records)
    const fetched = h.shard.fetchOffsets({ groupId: GROUP, topics: [{ name: 'orders', partitionIndexes: [h.owned('a')[0] ?? 0, 99] }], allTopics: false, memberId: '', memberEpoch: -1 })
    expect(fetched.topics[0]?.partitions.map((p) => p.committedOffset)).toEqual([42n, -1n])
  })

  it('replaying the records (full or compacted) rebuilds the same state', () => {
    const h = threeOnTwelve()
    h.join('d')
    h.heartbeat('a', false)
    h.leave('b')
    h.crash('c')
    h.advance(20_000)
    h.heartbeat('a')
    h.heartbeat('d')
    h.advance(26_000) // c, silent for 46 s, expires; a and d do not
    expect(h.group.memberIds()).toEqual(['a', 'd'])
    h.join('e')
    h.heartbeat('a', false) // leaves a in unrevoked-partitions, mid-rebalance
    expect(h.group.state()).toBe('reconciling')
    const commit = h.shard.commitOffsets({
      groupId: GROUP, memberId: 'd', generationIdOrMemberEpoch: h.consumer('d').epoch,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    }, h.nowMs)
    h.log.push(...commit.records)
    const describe = (s: typeof h.shard) => ({
      d: s.describeGroups({ groupIds: [GROUP] }, h.topics),
      o: s.fetchOffsets({ groupId: GROUP, topics: [], allTopics: true, memberId: '', memberEpoch: -1 }),
      l: s.listGroups({ statesFilter: [] }),
    })
    const original = describe(h.shard)
    expect(describe(h.replayed())).toEqual(original)
    expect(describe(h.replayed(compactRecords(h.log)))).toEqual(original)
    expect(compactRecords(h.log).length).toBeLessThan(h.log.length)
  })

  it('DeleteGroups refuses a group with members, then tombstones everything', () => {
    const h = new GroupHarness({ orders: 2 })
    h.join('a')
    h.settle()
    const c = h.shard.commitOffsets({
      groupId: GROUP, memberId: 'a', generationIdOrMemberEpoch: h.consumer('a').epoch,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, committedOffset: 5n, committedLeaderEpoch: 0, committedMetadata: '' }] }],
    }, h.nowMs)
    h.log.push(...c.records)
    expect(h.shard.deleteGroups({ groupIds: [GROUP] }).response.results[0]?.errorCode).toBe(GroupErrorCode.NON_EMPTY_GROUP.code)
    h.leave('a')
    expect(h.shard.listGroups({ statesFilter: ['Empty'] }).groups.map((g) => g.groupId)).toEqual([GROUP])
    const del = h.shard.deleteGroups({ groupIds: [GROUP, 'nope'] })
    expect(del.response.results.map((r) => r.errorCode)).toEqual([0, GroupErrorCode.GROUP_ID_NOT_FOUND.code])
    h.log.push(...del.records)
    expect(h.shard.group(GROUP)).toBeNull()
    expect(h.shard.listGroups({ statesFilter: [] }).groups).toEqual([])
    const rebuilt = h.replayed()
    expect(rebuilt.group(GROUP)).toBeNull()
    expect(rebuilt.offsets.hasOffsets(GROUP)).toBe(false)
    expect(compactRecords(h.log)).toEqual([])
  })

  it('bad heartbeats get error codes, not exceptions', () => {
    const h = new GroupHarness({ orders: 1 })
    const base: broker.ConsumerGroupHeartbeatRequest = {
      groupId: GROUP, memberId: 'x', memberEpoch: 0, rackId: '', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['orders'], serverAssignor: '', topicPartitions: [],
    }
    const code = (over: Partial<broker.ConsumerGroupHeartbeatRequest>) => h.shard.heartbeat({ ...base, ...over }, h.topics, h.nowMs).response.errorCode
    expect(code({ groupId: '' })).toBe(GroupErrorCode.INVALID_GROUP_ID.code)
    expect(code({ rebalanceTimeoutMs: 0 })).toBe(ErrorCode.INVALID_REQUEST.code)
    expect(code({ serverAssignor: 'range' })).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR.code)
    expect(code({ memberEpoch: 4 })).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID.code)
    expect(h.shard.group(GROUP)).toBeNull() // no failed request created the group
    const joined = h.shard.heartbeat({ ...base, memberId: '' }, h.topics, h.nowMs).response
    expect(joined.memberId).toBe('generated-1')
    expect(code({ memberEpoch: -7 })).toBe(ErrorCode.INVALID_REQUEST.code)
    expect(code({ memberId: 'generated-1', memberEpoch: 1, topicPartitions: [{ topicId: 'id-orders', topicName: '', partitions: [-1] }] })).toBe(ErrorCode.INVALID_REQUEST.code)
    expect(code({ memberId: 'y', instanceId: 'i' })).toBe(0)
    expect(code({ memberId: 'z', instanceId: 'i' })).toBe(ErrorCode.UNRELEASED_INSTANCE_ID.code)
  })

  it('a member subscribed to a missing topic gets nothing until the topic exists', () => {
    const h = new GroupHarness({ orders: 2 })
    h.join('a', ['later'])
    h.settle()
    expect(h.owned('a')).toEqual([])
    h.setPartitions('later', 3)
    h.settle()
    expect(h.owned('a')).toEqual([0, 1, 2])
  })
})
