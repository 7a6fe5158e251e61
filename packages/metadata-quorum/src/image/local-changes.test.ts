import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { NO_NODE, type NodeId, type TopicId, type metadata } from '@tributary/protocol'
import { AssertionError } from '../util/assert.js'
import { MetadataImage, type PartitionRegistration } from './metadata-image.js'
import { type LocalChanges, localChanges } from './local-changes.js'
import { partition, partitionChange, registerBroker, removeTopic, tid, topic, topicConfig } from './test-records.js'

const T1 = tid(1) as TopicId
const T2 = tid(2) as TopicId
const b = (n: number): NodeId => n as NodeId

/** Brokers 1..3, topic "orders" with partition 0 on [1,2,3] and partition 1 on [2,3,1]. */
function baseImage(): MetadataImage {
  return MetadataImage.EMPTY.replay([
    registerBroker(1, 1n), registerBroker(2, 2n), registerBroker(3, 3n),
    topic('orders', T1),
    partition(T1, 0, [1, 2, 3]),
    partition(T1, 1, [2, 3, 1]),
  ], 5)
}

/** The changes as compact (partition, kind) pairs, for readable expectations. */
function summary(c: LocalChanges): { leaders: string[]; followers: string[]; deletes: string[] } {
  return {
    leaders: c.leaders.map((e) => `${e.topicName}-${e.partitionId}:${e.change}:e${e.partition.leaderEpoch}`),
    followers: c.followers.map((e) => `${e.topicName}-${e.partitionId}:${e.change}:l${e.partition.leader}`),
    deletes: c.deletes.map((e) => `${e.topicName}-${e.partitionId}:${e.reason}:${e.deleteLog ? 'deleteLog' : 'keepLog'}`),
  }
}

describe('localChanges', () => {
  it('a created topic gives each replica a leader or follower entry with the next registration', () => {
    const img = baseImage()
    expect(summary(localChanges(MetadataImage.EMPTY, img, b(1)))).toEqual({
      leaders: ['orders-0:new_replica:e0'], followers: ['orders-1:new_replica:l2'], deletes: [],
    })
    expect(summary(localChanges(MetadataImage.EMPTY, img, b(2)))).toEqual({
      leaders: ['orders-1:new_replica:e0'], followers: ['orders-0:new_replica:l1'], deletes: [],
    })
    expect(summary(localChanges(MetadataImage.EMPTY, img, b(3)))).toEqual({
      leaders: [], followers: ['orders-0:new_replica:l1', 'orders-1:new_replica:l2'], deletes: [],
    })
    expect(summary(localChanges(MetadataImage.EMPTY, img, b(4)))).toEqual({ leaders: [], followers: [], deletes: [] })
    const entry = localChanges(MetadataImage.EMPTY, img, b(1)).leaders[0]
    expect(entry.topicId).toBe(T1)
    expect(entry.partition).toBe(img.partition(T1, 0))
  })

  it('a leader change gives the new leader a leader entry with the bumped epoch and the others follower entries', () => {
    const before = baseImage()
    const after = before.replay([partitionChange(T1, 0, { leader: 2 })], 6)
    expect(summary(localChanges(before, after, b(2)))).toEqual({ leaders: ['orders-0:became_leader:e1'], followers: [], deletes: [] })
    expect(summary(localChanges(before, after, b(1)))).toEqual({ leaders: [], followers: ['orders-0:became_follower:l2'], deletes: [] })
    expect(summary(localChanges(before, after, b(3)))).toEqual({ leaders: [], followers: ['orders-0:leader_changed:l2'], deletes: [] })
  })

  it('re-electing the same leader reports the new leader epoch to the leader and its followers', () => {
    const before = baseImage()
    const after = before.replay([partitionChange(T1, 0, { leader: 1 })], 6)
    expect(summary(localChanges(before, after, b(1)))).toEqual({ leaders: ['orders-0:leader_epoch_bumped:e1'], followers: [], deletes: [] })
    expect(summary(localChanges(before, after, b(2)))).toEqual({ leaders: [], followers: ['orders-0:leader_changed:l1'], deletes: [] })
  })

  it('losing the leader (leader -1) keeps the replicas as followers of no one', () => {
    const before = baseImage()
    const after = before.replay([partitionChange(T1, 0, { leader: NO_NODE, isr: [2] })], 6)
    expect(summary(localChanges(before, after, b(1)))).toEqual({ leaders: [], followers: ['orders-0:became_follower:l-1'], deletes: [] })
    expect(summary(localChanges(before, after, b(2)))).toEqual({ leaders: [], followers: ['orders-0:leader_changed:l-1'], deletes: [] })
  })

  it('an ISR-only change is reported to the leader as a partition epoch change, and to its followers', () => {
    const before = baseImage()
    const after = before.replay([partitionChange(T1, 0, { isr: [1, 2] })], 6)
    const leader = localChanges(before, after, b(1))
    expect(summary(leader)).toEqual({ leaders: ['orders-0:partition_epoch_bumped:e0'], followers: [], deletes: [] })
    expect(leader.leaders[0].partition).toMatchObject({ isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1 })
    expect(summary(localChanges(before, after, b(3)))).toEqual({ leaders: [], followers: ['orders-0:partition_epoch_bumped:l1'], deletes: [] })
  })

  it('a topic delete gives every hosting broker deletes with deleteLog', () => {
    const before = baseImage().replay([topic('other', T2), partition(T2, 0, [4])], 6)
    const after = before.replay([removeTopic(T1)], 7)
    for (const id of [1, 2, 3]) {
      const c = localChanges(before, after, b(id))
      expect(summary(c)).toEqual({ leaders: [], followers: [], deletes: ['orders-0:topic_deleted:deleteLog', 'orders-1:topic_deleted:deleteLog'] })
      expect(c.deletes[0].partition).toBe(before.partition(T1, 0))
    }
    expect(summary(localChanges(before, after, b(4)))).toEqual({ leaders: [], followers: [], deletes: [] })
  })

  it('a reassignment deletes the removed replica and reports the added one as new', () => {
    const before = baseImage()
    const after = before.replay([
      registerBroker(4, 6n),
      partitionChange(T1, 1, { replicas: [2, 3, 4], isr: [2, 3] }),
    ], 6)
    expect(summary(localChanges(before, after, b(1)))).toEqual({ leaders: [], followers: [], deletes: ['orders-1:replica_removed:deleteLog'] })
    expect(summary(localChanges(before, after, b(4)))).toEqual({ leaders: [], followers: ['orders-1:new_replica:l2'], deletes: [] })
    expect(summary(localChanges(before, after, b(2)))).toEqual({ leaders: ['orders-1:partition_epoch_bumped:e0'], followers: [], deletes: [] })
  })

  it('a topic deleted and re-created under the same name shows as deletes of the old id and new entries of the new', () => {
    const before = baseImage()
    const after = before.replay([removeTopic(T1), topic('orders', T2), partition(T2, 0, [1])], 6)
    const c = localChanges(before, after, b(1))
    expect(summary(c)).toEqual({ leaders: ['orders-0:new_replica:e0'], followers: [], deletes: ['orders-0:topic_deleted:deleteLog', 'orders-1:topic_deleted:deleteLog'] })
    expect(c.leaders[0].topicId).toBe(T2)
    expect(c.deletes.map((d) => d.topicId)).toEqual([T1, T1])
  })

  it('an unchanged image, or a change that touches no partition, reports nothing', () => {
    const img = baseImage()
    const empty = { leaders: [], followers: [], deletes: [] }
    expect(summary(localChanges(img, img, b(1)))).toEqual(empty)
    const configOnly = img.replay([topicConfig('orders', 'retention.ms', '1'), registerBroker(4, 6n)], 6)
    expect(summary(localChanges(img, configOnly, b(1)))).toEqual(empty)
    // Another partition of the same topic changes: only that one is reported.
    const other = img.replay([partitionChange(T1, 1, { isr: [2] })], 7)
    expect(summary(localChanges(img, other, b(1)))).toEqual({ leaders: [], followers: ['orders-1:partition_epoch_bumped:l2'], deletes: [] })
  })

  it('reports only the changed partition among 10,000', () => {
    const records: metadata.MetadataRecord[] = []
    for (let t = 0; t < 100; t++) {
      records.push(topic(`t${t}`, tid(100 + t)))
      for (let p = 0; p < 100; p++) records.push(partition(tid(100 + t), p, [(t + p) % 5, (t + p + 1) % 5, (t + p + 2) % 5]))
    }
    const big = MetadataImage.EMPTY.replay(records, 0)
    const firstSight = localChanges(MetadataImage.EMPTY, big, b(0))
    expect(firstSight.leaders.length + firstSight.followers.length).toBe(6000)
    const after = big.replay([partitionChange(tid(150), 7, { leader: (50 + 7 + 1) % 5 })], 1)
    expect(summary(localChanges(big, after, b((50 + 7 + 1) % 5)))).toEqual({ leaders: ['t50-7:became_leader:e1'], followers: [], deletes: [] })
    expect(summary(localChanges(big, after, b(0)))).toEqual({ leaders: [], followers: [], deletes: [] })
  })

  it('refuses to go back in time', () => {
    const img = baseImage()
    expect(() => localChanges(img, MetadataImage.EMPTY, b(1))).toThrow(AssertionError)
  })
})

// ---- Property: applying localChanges step by step tracks what the image says -------------

const BROKERS = 5

type Op =
  | { kind: 'topic'; partitions: number; rf: number; shift: number }
  | { kind: 'change'; topic: number; partition: number; setReplicas: boolean; replicaMask: number; setIsr: boolean; isrMask: number; setLeader: boolean; leaderPick: number }
  | { kind: 'remove'; topic: number }
  | { kind: 'noop' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('topic' as const), partitions: fc.integer({ min: 1, max: 4 }), rf: fc.integer({ min: 1, max: 3 }), shift: fc.nat({ max: BROKERS - 1 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('change' as const), topic: fc.nat(), partition: fc.nat(),
      setReplicas: fc.boolean(), replicaMask: fc.integer({ min: 1, max: (1 << BROKERS) - 1 }),
      setIsr: fc.boolean(), isrMask: fc.nat({ max: (1 << BROKERS) - 1 }),
      setLeader: fc.boolean(), leaderPick: fc.nat(),
    }),
    weight: 6,
  },
  fc.record({ kind: fc.constant('remove' as const), topic: fc.nat() }),
  fc.record({ kind: fc.constant('noop' as const) }),
)

/** Turns an arbitrary op into records valid against `img` (or none). */
function recordsFor(img: MetadataImage, op: Op, nextTopicId: () => string): metadata.MetadataRecord[] {
  const topics = [...img.topicsById.values()]
  switch (op.kind) {
    case 'topic': {
      const id = nextTopicId()
      const out = [topic(`n${id}`, id)]
      for (let p = 0; p < op.partitions; p++) out.push(partition(id, p, Array.from({ length: op.rf }, (_, r) => (op.shift + p + r) % BROKERS)))
      return out
    }
    case 'change': {
      if (topics.length === 0) return []
      const t = topics[op.topic % topics.length]
      const p = t.partitions.get(op.partition % t.partitions.size)!
      const replicas = op.setReplicas ? [...Array(BROKERS).keys()].filter((r) => ((op.replicaMask >> r) & 1) === 1) : [...p.replicas]
      // A new replica set needs an ISR inside it; keep at least one member.
      const setIsr = op.setIsr || op.setReplicas
      let isr = setIsr ? replicas.filter((r) => ((op.isrMask >> r) & 1) === 1) : [...p.isr]
      if (isr.length === 0) isr = [replicas[0]]
      const setLeader = op.setLeader || (p.leader !== NO_NODE && !isr.includes(p.leader))
      const leader = op.leaderPick % 4 === 0 ? NO_NODE : isr[op.leaderPick % isr.length]
      if (!setLeader && !setIsr) return []
      return [partitionChange(t.topicId, p.partitionId, { replicas: op.setReplicas ? replicas : undefined, isr: setIsr ? isr : undefined, leader: setLeader ? leader : undefined })]
    }
    case 'remove':
      return topics.length === 0 ? [] : [removeTopic(topics[op.topic % topics.length].topicId)]
    case 'noop':
      return []
  }
}

interface Tracked { role: 'leader' | 'follower'; leader: NodeId; leaderEpoch: number; partitionEpoch: number }

function trackedFrom(p: PartitionRegistration, role: Tracked['role']): Tracked {
  return { role, leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch }
}

/** What `img` says directly about `brokerId`'s replicas. */
function directView(img: MetadataImage, brokerId: NodeId): Map<string, Tracked> {
  const out = new Map<string, Tracked>()
  for (const t of img.topicsById.values()) {
    for (const p of t.partitions.values()) {
      if (p.replicas.includes(brokerId)) out.set(`${t.topicId}-${p.partitionId}`, trackedFrom(p, p.leader === brokerId ? 'leader' : 'follower'))
    }
  }
  return out
}

/** The change kind the module header promises, from what the broker had and what it gets. */
function expectedKind(had: Tracked | undefined, now: Tracked): string {
  if (had === undefined) return 'new_replica'
  if (had.role !== now.role) return now.role === 'leader' ? 'became_leader' : 'became_follower'
  if (now.role === 'leader') return had.leaderEpoch !== now.leaderEpoch ? 'leader_epoch_bumped' : 'partition_epoch_bumped'
  return had.leader !== now.leader || had.leaderEpoch !== now.leaderEpoch ? 'leader_changed' : 'partition_epoch_bumped'
}

describe('localChanges properties', () => {
  it('applying localChanges after each observed step tracks exactly what the image says, reporting only real changes', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ op: opArb, observe: fc.boolean() }), { minLength: 5, maxLength: 80 }),
      fc.nat({ max: BROKERS - 1 }),
      (steps, brokerNumber) => {
        const brokerId = b(brokerNumber)
        let img = MetadataImage.EMPTY
        let seen = MetadataImage.EMPTY
        let topicIds = 0
        const tracked = new Map<string, Tracked>()
        const observe = (): void => {
          const c = localChanges(seen, img, brokerId)
          const touched = new Set<string>()
          const once = (key: string): void => {
            expect(touched.has(key), `${key} reported twice`).toBe(false)
            touched.add(key)
          }
          for (const d of c.deletes) {
            const key = `${d.topicId}-${d.partitionId}`
            once(key)
            expect(tracked.has(key), `${key} deleted but not hosted`).toBe(true)
            expect(d.deleteLog).toBe(true)
            tracked.delete(key)
          }
          for (const [list, role] of [[c.leaders, 'leader'], [c.followers, 'follower']] as const) {
            for (const e of list) {
              const key = `${e.topicId}-${e.partitionId}`
              once(key)
              const now = trackedFrom(e.partition, role)
              // Only real changes: the entry must differ from what the broker already had.
              expect(tracked.get(key), `${key} reported unchanged`).not.toEqual(now)
              expect(e.change, key).toBe(expectedKind(tracked.get(key), now))
              tracked.set(key, now)
            }
          }
          expect(tracked).toEqual(directView(img, brokerId))
          seen = img
        }
        steps.forEach(({ op, observe: look }, i) => {
          img = img.replay(recordsFor(img, op, () => tid(++topicIds)), i)
          if (look) observe()
        })
        observe()
      },
    ), { numRuns: 400 })
  })
})
