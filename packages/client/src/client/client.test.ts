import { describe, expect, it } from 'vitest'
import { ErrorCode, TributaryError } from '@tributary/protocol'
import { Client } from './client.js'
import { FakeCluster } from '../producer/test-fake-cluster.js'

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
})
