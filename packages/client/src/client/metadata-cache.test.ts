import { describe, expect, it } from 'vitest'
import { ErrorCode, type broker } from '@tributary/protocol'
import { MetadataCache } from './metadata-cache.js'

function answer(leader: number, leaderEpoch: number, brokers = [1, 2, 3], topicId = 'id'): broker.MetadataResponse {
  return {
    brokers: brokers.map((id) => ({ nodeId: id, host: 'h', port: 9000 + id, rack: '' })),
    clusterId: 'c',
    controllerId: 1,
    metadataOffset: 10n,
    topics: [
      { errorCode: 0, name: 't', topicId, isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: leader, leaderEpoch, replicaNodes: [1, 2, 3], isrNodes: [1, 2, 3], offlineReplicas: [] }] },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, name: 'gone', topicId: '', isInternal: false, partitions: [] },
    ],
  }
}

describe('MetadataCache', () => {
  it('routes to the leader, takes only newer leader hints (KIP-951), forgets on invalidate', () => {
    const cache = new MetadataCache()
    cache.update(answer(1, 5), 0)
    expect(cache.leader('t', 0)).toEqual({ nodeId: 1, address: 'h:9001', leaderEpoch: 5 })
    expect(cache.topic('gone')).toBeUndefined()
    expect(cache.applyLeaderHint('t', 0, 2, 5)).toBe(false)
    expect(cache.applyLeaderHint('t', 0, 9, 6)).toBe(false)
    expect(cache.applyLeaderHint('t', 0, 2, 6)).toBe(true)
    expect(cache.leader('t', 0)?.nodeId).toBe(2)
    expect(cache.isStale('t', 1000, 5000)).toBe(false)
    expect(cache.isStale('t', 6000, 5000)).toBe(true)
    cache.invalidate('t')
    expect(cache.leader('t', 0)).toBeNull()
  })

  it('has no route to a leader on a broker Metadata leaves out (fenced)', () => {
    const cache = new MetadataCache()
    cache.update(answer(3, 1, [1, 2]), 0)
    expect(cache.partition('t', 0)?.leader).toBe(3)
    expect(cache.leader('t', 0)).toBeNull()
    expect(cache.cluster()).toEqual({ clusterId: 'c', controllerId: 1, brokers: [{ nodeId: 1, host: 'h', port: 9001, rack: null }, { nodeId: 2, host: 'h', port: 9002, rack: null }] })
  })

  it('keeps a partition\'s newer leader when an answer carries an older leader epoch (KIP-320), after invalidate too; a new topic id starts afresh', () => {
    const cache = new MetadataCache()
    // The majority's view: node 1 fenced, node 2 leads at epoch 6.
    cache.update(answer(2, 6, [2, 3]), 0)
    // Node 1, cut off from the controller, still names itself leader at epoch 5.
    const stale = cache.update(answer(1, 5, [1, 2, 3]), 10)
    expect(stale.stalePartitions).toEqual([{ topic: 't', partition: 0, leaderEpoch: 5, newestEpoch: 6 }])
    expect(cache.leader('t', 0)).toEqual({ nodeId: 2, address: 'h:9002', leaderEpoch: 6 })
    // A view behind ours does not bring the fenced broker back either.
    expect(cache.brokerList().map((b) => b.nodeId)).toEqual([2, 3])
    expect(cache.newestLeaderEpoch('t', 0)).toBe(6)

    // invalidate() forgets the route, not the epoch: the stale answer still loses.
    cache.invalidate('t')
    expect(cache.leader('t', 0)).toBeNull()
    cache.update(answer(1, 5), 20)
    expect(cache.leader('t', 0)).toEqual({ nodeId: 2, address: 'h:9002', leaderEpoch: 6 })

    // A KIP-951 hint raises the epoch too; the same epoch answered again is taken (fresh ISR).
    expect(cache.applyLeaderHint('t', 0, 3, 7)).toBe(true)
    expect(cache.update(answer(2, 6), 30).stalePartitions).toHaveLength(1)
    expect(cache.leader('t', 0)?.nodeId).toBe(3)
    expect(cache.update(answer(3, 7), 40).stalePartitions).toEqual([])
    expect(cache.leader('t', 0)).toEqual({ nodeId: 3, address: 'h:9003', leaderEpoch: 7 })

    // Deleted and created again: a new topic id, epochs from 0.
    expect(cache.update(answer(1, 0, [1, 2, 3], 'id2'), 50).stalePartitions).toEqual([])
    expect(cache.leader('t', 0)).toEqual({ nodeId: 1, address: 'h:9001', leaderEpoch: 0 })
    expect(cache.topic('t')?.topicId).toBe('id2')
  })
})
