import { describe, expect, it } from 'vitest'
import { ErrorCode, TributaryError, type broker } from '@tributary/protocol'
import { Client } from './client.js'
import type { MethodPicker } from './broker-connections.js'
import { FakeCluster } from '../producer/test-fake-cluster.js'

/** What one fake broker believes of partition t-0, and whether it answers at all. */
interface BrokerView {
  leader: number
  leaderEpoch: number
  brokers: number[]
  reachable: boolean
  /** Produce answers this code for t-0 (0: appended). */
  produceCode: number
}

/**
 * Three fake brokers at b1:1, b2:1, b3:1, each answering Metadata from its own view (a
 * broker cut off from the controller keeps its stale one) and Produce with its scripted code.
 */
function viewsClient(views: Map<string, BrokerView>, bootstrap: string[]): { client: Client; asked: { address: string; context: string }[] } {
  const client = new Client({ bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20 })
  const asked: { address: string; context: string }[] = []
  let offset = 0n
  client.connections.call = async <Req, Res>(address: string, _pick: MethodPicker<Req, Res>, request: Req, _timeoutMs: number, context: string): Promise<Res> => {
    await Promise.resolve()
    asked.push({ address, context })
    const view = views.get(address)
    if (view === undefined || !view.reachable) throw new TributaryError(ErrorCode.NETWORK_EXCEPTION, `test: ${address} unreachable`)
    if (context === 'Metadata') {
      const res: broker.MetadataResponse = {
        brokers: view.brokers.map((id) => ({ nodeId: id, host: `b${id}`, port: 1, rack: '' })),
        clusterId: 'c',
        controllerId: view.brokers[0]!,
        metadataOffset: 0n,
        topics: (request as broker.MetadataRequest).topics.map((name) => ({
          errorCode: 0, name, topicId: 'tid', isInternal: false,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: view.leader, leaderEpoch: view.leaderEpoch, replicaNodes: [1, 2, 3], isrNodes: [1, 2, 3], offlineReplicas: [] }],
        })),
      }
      return res as Res
    }
    if (context === 'Produce') {
      const ok = view.produceCode === 0
      const res: broker.ProduceResponse = {
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: view.produceCode, baseOffset: ok ? offset++ : -1n, errorMessage: '', logAppendTimeMs: -1n, logStartOffset: 0n, currentLeaderId: -1, currentLeaderEpoch: -1 }] }],
      }
      return res as Res
    }
    throw new Error(`the fake brokers do not answer ${context}`)
  }
  return { client, asked }
}

function view(leader: number, leaderEpoch: number, over: Partial<BrokerView> = {}): BrokerView {
  return { leader, leaderEpoch, brokers: [1, 2, 3], reachable: true, produceCode: 0, ...over }
}

describe('Client', () => {
  it('validates its options', () => {
    expect(() => new Client({ bootstrap: [] })).toThrow(/bootstrap/)
    expect(() => new Client({ bootstrap: ['nohost'] })).toThrow(/host:port/)
    expect(() => new Client({ bootstrap: ['a:1'], retryBackoffMs: 100, retryBackoffMaxMs: 10 })).toThrow(RangeError)
    expect(new Client({ bootstrap: ['localhost:9092'], clientId: 'app' }).options).toMatchObject({ clientId: 'app', requestTimeoutMs: 30_000 })
  })

  it('asks the next broker after a transport failure, and stops at a non-retriable error', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 2)
    const client = fake.client({ bootstrap: ['dead:1', 'fake:1'] })
    const real = client.connections.call.bind(client.connections)
    const asked: string[] = []
    let deadError = new TributaryError(ErrorCode.NETWORK_EXCEPTION, 'test: connection refused')
    client.connections.call = (address, pick, request, timeoutMs, context) => {
      asked.push(address)
      return address === 'dead:1' ? Promise.reject(deadError) : real(address, pick, request, timeoutMs, context)
    }
    await client.refreshMetadata(['t'])
    expect(asked).toEqual(['dead:1', 'fake:1'])
    expect(client.cache.topic('t')?.partitions).toHaveLength(2)

    const other = fake.client({ bootstrap: ['dead:1', 'fake:1'] })
    const realOther = other.connections.call.bind(other.connections)
    deadError = new TributaryError(ErrorCode.INVALID_REQUEST, 'test: refused')
    other.connections.call = (address, pick, request, timeoutMs, context) => (address === 'dead:1' ? Promise.reject(deadError) : realOther(address, pick, request, timeoutMs, context))
    await expect(other.refreshMetadata(['t'])).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST.code })
    await Promise.all([client.close(), other.close()])
  })

  it('refreshes metadata once for concurrent callers; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION after the deadline', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 2)
    const client = fake.client()
    await Promise.all([client.refreshMetadata(['t']), client.refreshMetadata(['t']), client.refreshMetadata(['t'])])
    expect(fake.metadataCalls).toBe(1)
    expect(client.cache.leader('t', 1)?.address).toBe('broker2:9092')
    await expect(client.topicMetadata('nope', Date.now() + 50)).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    await client.close()
  })

  it('asks another broker for metadata after a request to the leader failed, takes turns, and asks a failing broker last (its older epoch loses)', async () => {
    const views = new Map([['b1:1', view(1, 5)], ['b2:1', view(1, 5)], ['b3:1', view(1, 5)]])
    const { client, asked } = viewsClient(views, ['b1:1', 'b2:1', 'b3:1'])
    await client.refreshMetadata(['t'])
    expect(asked.map((a) => a.address)).toEqual(['b1:1'])
    expect(client.cache.leader('t', 0)).toMatchObject({ nodeId: 1, leaderEpoch: 5 })

    // Node 1 is cut off: the majority moves t-0 to node 2 (epoch 6) and fences node 1, which
    // keeps its stale view. A produce to node 1 times out; the producer drops the route.
    views.set('b1:1', view(1, 5, { produceCode: ErrorCode.REQUEST_TIMED_OUT.code }))
    views.set('b2:1', view(2, 6, { brokers: [2, 3] }))
    views.set('b3:1', view(2, 6, { brokers: [2, 3] }))
    client.onPartitionError('t', 0, ErrorCode.REQUEST_TIMED_OUT.code)
    client.cache.invalidate('t')
    asked.length = 0
    await client.refreshMetadata(['t'])
    expect(asked[0]?.address).not.toBe('b1:1')
    expect(client.cache.leader('t', 0)).toMatchObject({ nodeId: 2, leaderEpoch: 6 })

    // Healthy brokers take turns; the failing one is not asked while they answer.
    asked.length = 0
    for (let i = 0; i < 4; i++) await client.refreshMetadata(['t'])
    expect(new Set(asked.map((a) => a.address))).toEqual(new Set(['b2:1', 'b3:1']))

    // Only node 1 answers: it is asked (never dropped), but its older epoch does not win.
    views.get('b2:1')!.reachable = false
    views.get('b3:1')!.reachable = false
    asked.length = 0
    await client.refreshMetadata(['t'])
    expect(asked.map((a) => a.address).at(-1)).toBe('b1:1')
    expect(client.cache.leader('t', 0)).toMatchObject({ nodeId: 2, leaderEpoch: 6 })
    await client.close()
  })

  it('a producer whose leader is cut off (still naming itself leader, first in the bootstrap list) finds the new leader', async () => {
    const views = new Map([['b1:1', view(1, 5)], ['b2:1', view(1, 5)], ['b3:1', view(1, 5)]])
    const { client, asked } = viewsClient(views, ['b1:1', 'b2:1', 'b3:1'])
    const producer = client.producer({ acks: 'all', idempotent: false, lingerMs: 0, deliveryTimeoutMs: 5000, requestTimeoutMs: 1000 })
    expect(await producer.send('t', [{ value: 'before', partition: 0 }])).toEqual([{ topic: 't', partition: 0, offset: 0n }])

    views.set('b1:1', view(1, 5, { produceCode: ErrorCode.REQUEST_TIMED_OUT.code }))
    views.set('b2:1', view(2, 6, { brokers: [2, 3] }))
    views.set('b3:1', view(2, 6, { brokers: [2, 3] }))
    asked.length = 0
    const [ack] = await producer.send('t', [{ value: 'during', partition: 0 }])
    expect(ack?.offset).toBe(1n)
    const produces = asked.filter((a) => a.context === 'Produce').map((a) => a.address)
    expect(produces.at(-1)).toBe('b2:1')
    expect(produces.filter((a) => a === 'b1:1').length).toBeLessThanOrEqual(2)
    await producer.close()
    await client.close()
  })
})
