import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode, RecordBatchLimits } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import { FakeCluster } from './test-fake-cluster.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
})

/** Settles within ms, or says it did not (a hang). */
function within<T>(p: Promise<T>, ms: number): Promise<'pending' | 'settled'> {
  return Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))])
}

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))

describe('Producer lingerMs 0: an open batch always goes out', () => {
  it('a batch opened while the first InitProducerId runs is sent after that InitProducerId fails', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 1)
    const client = fake.client()
    clients.push(client)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let inits = 0
    const call = client.connections.call.bind(client.connections)
    client.connections.call = <Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, timeoutMs: number, context: string): Promise<Res> => {
      if (context === 'InitProducerId' && inits++ === 0) {
        return held.then(() => ({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR.code, producerId: -1n, producerEpoch: -1 }) as unknown as Res)
      }
      return call(address, pick, request, timeoutMs, context)
    }
    const producer = client.producer({ lingerMs: 0, idempotent: true })
    const first = producer.send('t', [{ value: 'a' }])
    first.catch(() => undefined)
    await turn()
    const second = producer.send('t', [{ value: 'b' }])
    await turn()
    release()
    await expect(first).rejects.toThrow()
    expect(await within(second, 2000)).toBe('settled')
    expect((await second).map((m) => m.offset)).toEqual([0n])
  })

  it('a batch behind one that cannot be encoded (MESSAGE_TOO_LARGE) is sent', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 1)
    const client = fake.client()
    clients.push(client)
    const producer = client.producer({ lingerMs: 0, idempotent: false, acks: 1, bufferBytes: 2 * RecordBatchLimits.batchBytesMax })
    const huge = producer.send('t', [{ value: Buffer.alloc(RecordBatchLimits.batchBytesMax + 1) }])
    huge.catch(() => undefined)
    const small = producer.send('t', [{ value: 'b' }])
    await expect(huge).rejects.toThrow(/MESSAGE_TOO_LARGE|exceed/)
    expect(await within(small, 2000)).toBe('settled')
    expect((await small).map((m) => m.offset)).toEqual([0n])
  })

  it('a batch waiting behind a sealed one goes out in the same drain as that one when a request slot is free', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 1)
    const client = fake.client()
    clients.push(client)
    let releaseInit!: () => void
    const initHeld = new Promise<void>((resolve) => (releaseInit = resolve))
    const call = client.connections.call.bind(client.connections)
    client.connections.call = <Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, timeoutMs: number, context: string): Promise<Res> =>
      context === 'InitProducerId' ? initHeld.then(() => call(address, pick, request, timeoutMs, context)) : call(address, pick, request, timeoutMs, context)
    let openGate!: () => void
    fake.gate = new Promise<void>((resolve) => (openGate = resolve))
    const producer = client.producer({ lingerMs: 0, idempotent: true })
    // 'a' is sealed and waits for the producer id; 'b' opens a second batch behind it.
    const first = producer.send('t', [{ value: 'a' }])
    await turn()
    const second = producer.send('t', [{ value: 'b' }])
    await turn()
    releaseInit()
    try {
      // Both requests leave while the first is unanswered (the gate holds every answer).
      for (let i = 0; i < 50 && fake.produceCalls.length < 2; i++) await turn()
      expect(fake.produceCalls).toHaveLength(2)
    } finally {
      openGate()
      fake.gate = null
    }
    expect([...(await first), ...(await second)].map((m) => m.offset)).toEqual([0n, 1n])
  })
})
