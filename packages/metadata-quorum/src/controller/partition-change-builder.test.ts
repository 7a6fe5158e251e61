import { describe, expect, it } from 'vitest'
import { NO_NODE, type NodeId, type TopicId } from '@tributary/protocol'
import type { PartitionRegistration } from '../image/metadata-image.js'
import { buildPartitionChange } from './partition-change-builder.js'

const T = 'topic0000000000000000001' as TopicId

function p(replicas: number[], isr: number[], leader: number): PartitionRegistration {
  return { partitionId: 0, replicas: replicas as NodeId[], isr: isr as NodeId[], leader: leader as NodeId, leaderEpoch: 4, partitionEpoch: 9 }
}

const alive = (...live: number[]) => (b: NodeId): boolean => live.includes(b)

describe('buildPartitionChange', () => {
  it('removes a fenced leader from the ISR and elects the first live ISR member in replica order', () => {
    // ISR order [3, 2] but replica order [1, 2, 3]: 2 comes first.
    const change = buildPartitionChange({ topicId: T, partition: p([1, 2, 3], [1, 3, 2], 1), isAcceptableLeader: alive(2, 3), removeFromIsr: 1 as NodeId })
    expect(change).toMatchObject({ leader: 2, isr: [3, 2], isrSet: true, replicasSet: false })
  })

  it('skips fenced ISR members when electing', () => {
    const change = buildPartitionChange({ topicId: T, partition: p([1, 2, 3], [1, 2, 3], 1), isAcceptableLeader: alive(3), removeFromIsr: 1 as NodeId })
    expect(change?.leader).toBe(3)
  })

  it('keeps the last ISR member and leaves the partition leaderless (no unclean election)', () => {
    const change = buildPartitionChange({ topicId: T, partition: p([1, 2, 3], [1], 1), isAcceptableLeader: alive(2, 3), removeFromIsr: 1 as NodeId })
    expect(change).toMatchObject({ leader: NO_NODE, isrSet: false })
  })

  it('only shrinks the ISR when the removed broker is a follower', () => {
    const change = buildPartitionChange({ topicId: T, partition: p([1, 2, 3], [1, 2, 3], 1), isAcceptableLeader: alive(1, 3), removeFromIsr: 2 as NodeId })
    expect(change).toMatchObject({ leader: undefined, isr: [1, 3], isrSet: true })
  })

  it('elects a returning broker for a leaderless partition', () => {
    const change = buildPartitionChange({ topicId: T, partition: p([1, 2, 3], [1], NO_NODE), isAcceptableLeader: alive(1, 2, 3), removeFromIsr: null })
    expect(change).toMatchObject({ leader: 1, isrSet: false })
  })

  it('writes nothing when nothing changes', () => {
    expect(buildPartitionChange({ topicId: T, partition: p([1, 2], [1, 2], 1), isAcceptableLeader: alive(1, 2), removeFromIsr: null })).toBeNull()
    expect(buildPartitionChange({ topicId: T, partition: p([1, 2], [1], NO_NODE), isAcceptableLeader: alive(2), removeFromIsr: null })).toBeNull()
    expect(buildPartitionChange({ topicId: T, partition: p([1, 2], [1, 2], 1), isAcceptableLeader: alive(1, 2), removeFromIsr: 3 as NodeId })).toBeNull()
  })
})
