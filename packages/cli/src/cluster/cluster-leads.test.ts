import { describe, expect, it } from 'vitest'
import { chooseLeader, describePartitions, leadsByNode, type LeaderTopic } from './cluster-leads.js'

const topics: LeaderTopic[] = [
  { name: 'orders', isInternal: false, partitions: [{ partition: 2, leader: 1 }, { partition: 0, leader: 2 }, { partition: 1, leader: 1 }] },
  { name: '__consumer_offsets', isInternal: true, partitions: [{ partition: 0, leader: 3 }, { partition: 1, leader: 3 }, { partition: 2, leader: 3 }] },
  { name: 'audit', isInternal: false, partitions: [{ partition: 0, leader: -1 }, { partition: 1, leader: 2 }] },
]
const all = new Set([1, 2, 3])

describe('leadsByNode', () => {
  it('lists each node\'s partitions sorted by topic and partition, leaving leaderless ones out', () => {
    expect(Object.fromEntries(leadsByNode(topics))).toEqual({
      1: [{ topic: 'orders', partition: 1 }, { topic: 'orders', partition: 2 }],
      2: [{ topic: 'audit', partition: 1 }, { topic: 'orders', partition: 0 }],
      3: [0, 1, 2].map((partition) => ({ topic: '__consumer_offsets', partition })),
    })
  })
})

describe('chooseLeader', () => {
  it('picks the leader of the named partition', () => {
    expect(chooseLeader(topics, { topic: 'orders', partition: 0 }, all)).toEqual({ kind: 'ok', value: { nodeId: 2, partitions: [{ topic: 'orders', partition: 0 }] } })
  })

  it('without a topic, the node leading the most user partitions (internal topics count only when there are no others), lowest id on a tie', () => {
    // Nodes 1 and 2 lead two user partitions each; node 3 leads more, but only internal ones.
    expect(chooseLeader(topics, null, all)).toMatchObject({ kind: 'ok', value: { nodeId: 1 } })
    expect(chooseLeader(topics, null, new Set([2, 3]))).toMatchObject({ kind: 'ok', value: { nodeId: 2 } })
    expect(chooseLeader(topics.filter((t) => t.isInternal), null, all)).toMatchObject({ kind: 'ok', value: { nodeId: 3 } })
  })

  it('says why when there is nothing to kill', () => {
    expect(chooseLeader([], null, all)).toEqual({ kind: 'error', message: 'no running node leads any partition (create a topic first: npx trib topics --create --topic T)' })
    expect(chooseLeader(topics, { topic: 'nope', partition: 0 }, all)).toEqual({ kind: 'error', message: "topic 'nope' does not exist" })
    expect(chooseLeader(topics, { topic: 'orders', partition: 7 }, all)).toEqual({ kind: 'error', message: "topic 'orders' has no partition 7 (it has 3)" })
    expect(chooseLeader(topics, { topic: 'audit', partition: 0 }, all)).toEqual({ kind: 'error', message: 'audit-0 has no leader right now' })
    expect(chooseLeader(topics, { topic: 'orders', partition: 0 }, new Set([1]))).toEqual({ kind: 'error', message: 'orders-0 is led by node 2, which is not a running node of this cluster' })
  })
})

describe('describePartitions', () => {
  it('shortens a long list', () => {
    const many = Array.from({ length: 8 }, (_, partition) => ({ topic: 't', partition }))
    expect(describePartitions(many)).toBe('t-0, t-1, t-2, t-3, t-4, t-5 (+2 more)')
    expect(describePartitions(many.slice(0, 2))).toBe('t-0, t-1')
  })
})
