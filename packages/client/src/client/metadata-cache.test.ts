import { describe, expect, it } from 'vitest'
import { ErrorCode, type broker } from '@tributary/protocol'
import { MetadataCache } from './metadata-cache.js'

function answer(leader: number, leaderEpoch: number, brokers = [1, 2, 3]): broker.MetadataResponse {
  return {
    brokers: brokers.map((id) => ({ nodeId: id, host: 'h', port: 9000 + id, rack: '' })),
    clusterId: 'c',
    controllerId: 1,
    metadataOffset: 10n,
    topics: [
      { errorCode: 0, name: 't', topicId: 'id', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: leader, leaderEpoch, replicaNodes: [1, 2, 3], isrNodes: [1, 2, 3], offlineReplicas: [] }] },
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
})
