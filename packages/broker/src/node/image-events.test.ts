import { describe, expect, it } from 'vitest'
import { MetadataImage } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import { clusterEvents, localLeadershipEvent } from './image-events.js'
import { change, fence, register, threeBrokers } from './test-images.js'

describe('clusterEvents', () => {
  it('names fencing, leader and ISR changes, registrations and new topics', () => {
    const base = threeBrokers()
    expect(clusterEvents(MetadataImage.EMPTY, base)).toEqual([
      'broker 1 registered (epoch 1)', 'broker 2 registered (epoch 2)', 'broker 3 registered (epoch 3)', 'topic orders created: 3 partitions',
    ])
    const next = base.replay([change(0, { leader: 2, isr: [2, 3] }), change(2, { isr: [3, 2] }), fence(1, 1n)], 6)
    expect(clusterEvents(base, next)).toEqual([
      'broker 1 fenced',
      'partition orders-0: leader 1 -> 2 (epoch 1), ISR [1,2,3] -> [2,3]',
      'partition orders-2: ISR [3,1,2] -> [3,2]',
    ])
    expect(clusterEvents(next, next.replay([register(1, 7n)], 7))).toEqual(['broker 1 registered (epoch 7)'])
    expect(clusterEvents(next, next)).toEqual([])
  })
})

describe('localLeadershipEvent', () => {
  it('says which partitions the broker now leads or follows', () => {
    const base = threeBrokers()
    expect(localLeadershipEvent(MetadataImage.EMPTY, base, 1 as NodeId)).toBe('now leader of orders-0; now follower of orders-1 (leader 2), orders-2 (leader 3)')
    const moved = base.replay([change(0, { leader: 2, isr: [2, 3] })], 6)
    expect(localLeadershipEvent(base, moved, 1 as NodeId)).toBe('now follower of orders-0 (leader 2)')
    expect(localLeadershipEvent(base, moved, 2 as NodeId)).toBe('now leader of orders-0')
    expect(localLeadershipEvent(moved, moved.replay([change(1, { isr: [2, 3] })], 7), 1 as NodeId)).toBeNull()
  })
})
