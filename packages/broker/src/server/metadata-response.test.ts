import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { MetadataImage } from '@tributary/metadata-quorum'
import type { metadata } from '@tributary/protocol'
import { change, fence, threeBrokers } from '../node/test-images.js'
import { metadataResponse } from './metadata-response.js'

const context = { clusterId: 'cluster', controllerId: 2, listenerName: 'PLAINTEXT' }

describe('metadataResponse', () => {
  it('lists unfenced brokers on the listener, and each asked topic with its partitions', () => {
    const r = metadataResponse(threeBrokers(), { topics: ['orders'], allTopics: false }, context)
    expect(r).toMatchObject({ clusterId: 'cluster', controllerId: 2, metadataOffset: 5n })
    expect(r.brokers).toEqual([1, 2, 3].map((id) => ({ nodeId: id, host: 'h', port: 9090 + id, rack: '' })))
    expect(r.topics).toHaveLength(1)
    expect(r.topics[0]).toMatchObject({ errorCode: 0, name: 'orders', topicId: 'ordersAAAAAAAAAAAAAAAA', isInternal: false })
    expect(r.topics[0]!.partitions[1]).toEqual({
      errorCode: 0, partitionIndex: 1, leaderId: 2, leaderEpoch: 0, replicaNodes: [2, 3, 1], isrNodes: [2, 3, 1], offlineReplicas: [],
    })
  })

  it('drops fenced brokers and reports their replicas offline; a leaderless partition is LEADER_NOT_AVAILABLE', () => {
    const image = threeBrokers().replay([change(0, { leader: -1, isr: [1] }), fence(1, 1n)], 6)
    const r = metadataResponse(image, { topics: [], allTopics: true }, context)
    expect(r.brokers.map((b) => b.nodeId)).toEqual([2, 3])
    expect(r.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE.code, leaderId: -1, leaderEpoch: 1, offlineReplicas: [1] })
    expect(r.topics[0]!.partitions[2]!.offlineReplicas).toEqual([1])
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for unknown topics, once per name, and no topics for an empty list', () => {
    const r = metadataResponse(threeBrokers(), { topics: ['nope', 'orders', 'nope'], allTopics: false }, context)
    expect(r.topics.map((t) => [t.name, t.errorCode])).toEqual([['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code], ['orders', 0]])
    expect(metadataResponse(threeBrokers(), { topics: [], allTopics: false }, context).topics).toEqual([])
  })

  it('leaves out brokers without the listener', () => {
    expect(metadataResponse(threeBrokers(), { topics: [], allTopics: false }, { ...context, listenerName: 'OTHER' }).brokers).toEqual([])
  })

  it('answers each listener with its own endpoints: INTERNAL for brokers, EXTERNAL for clients; a broker without the listener is left out', () => {
    const registration = (brokerId: number, endpoints: metadata.Endpoint[]): metadata.MetadataRecord => ({
      record: { $case: 'registerBroker', value: { brokerId, brokerEpoch: BigInt(brokerId), incarnationId: `inc-${brokerId}`, endpoints, rack: '', fenced: false } },
    })
    const image = MetadataImage.EMPTY.replay([
      registration(1, [{ name: 'INTERNAL', host: 'trib-1', port: 29092 }, { name: 'EXTERNAL', host: 'localhost', port: 9092 }]),
      registration(2, [{ name: 'INTERNAL', host: 'trib-2', port: 29092 }, { name: 'EXTERNAL', host: 'localhost', port: 9093 }]),
      registration(3, [{ name: 'INTERNAL', host: 'trib-3', port: 29092 }]),
    ], 3)
    const on = (listenerName: string) => metadataResponse(image, { topics: [], allTopics: false }, { ...context, listenerName }).brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`)
    expect(on('INTERNAL')).toEqual(['1@trib-1:29092', '2@trib-2:29092', '3@trib-3:29092'])
    expect(on('EXTERNAL')).toEqual(['1@localhost:9092', '2@localhost:9093'])
  })
})
