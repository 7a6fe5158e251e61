import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode, readBatchHeader } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { RetriesExhaustedError } from '../errors.js'
import { partitionForKey } from '../partitioner/murmur2.js'
import { resolveProducerOptions } from './options.js'
import { FakeCluster } from './test-fake-cluster.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
})

function setup(partitions = 3): { fake: FakeCluster; client: Client } {
  const fake = new FakeCluster()
  fake.addTopic('t', partitions)
  const client = fake.client()
  clients.push(client)
  return { fake, client }
}

function batchesPerPartition(fake: FakeCluster): number[] {
  return fake.produceCalls.flatMap((c) => c.request.topics.flatMap((t) => t.partitions.map((p) => p.partitionIndex)))
}

describe('Producer options', () => {
  it('turns idempotence on with acks all, off with 0/1 unless asked, and refuses it with acks 1', () => {
    expect(resolveProducerOptions({})).toMatchObject({ acks: -1, idempotent: true, lingerMs: 5, batchBytes: 16384, maxInFlight: 5 })
    expect(resolveProducerOptions({ acks: 1 }).idempotent).toBe(false)
    expect(() => resolveProducerOptions({ acks: 1, idempotent: true })).toThrow(/acks 'all'/)
    expect(() => resolveProducerOptions({ maxInFlight: 6 })).toThrow(/at most 5/)
    expect(resolveProducerOptions({ maxInFlight: 6, idempotent: false }).maxInFlight).toBe(6)
    expect(() => resolveProducerOptions({ batchBytes: 0 })).toThrow(RangeError)
  })
})

describe('Producer (fake cluster)', () => {
  it('batches records sent within lingerMs into one batch per partition, one request per leader', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 30 })
    const sends = Array.from({ length: 10 }, (_, i) => producer.send('t', [{ value: `v${i}` }]))
    const acks = (await Promise.all(sends)).flat()
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)))
    expect(fake.produceCalls).toHaveLength(1)
    const records = Buffer.from(fake.produceCalls[0]!.request.topics[0]!.partitions[0]!.records)
    expect(readBatchHeader(records)).toMatchObject({ recordCount: 10, producerId: 1000n, producerEpoch: 0, baseSequence: 0 })
    expect(fake.initProducerIdCalls).toBe(1)
  })

  it('lingerMs 0 sends on the next turn without a timer, and records sent while maxInFlight requests wait ride in one batch', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 0, maxInFlight: 1, idempotent: false, acks: 1 })
    let open!: () => void
    fake.gate = new Promise<void>((resolve) => (open = resolve))
    const first = producer.send('t', [{ value: 'a' }])
    // No timer runs here: the request must be out after one setImmediate (a 1 ms timer would not be).
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
    expect(fake.produceCalls).toHaveLength(1)
    // The partition's one request slot is taken: these wait in one open batch.
    const rest = Array.from({ length: 5 }, (_, i) => producer.send('t', [{ value: `b${i}` }]))
    await new Promise<void>((resolve) => setTimeout(resolve, 20))
    expect(fake.produceCalls).toHaveLength(1)
    open()
    fake.gate = null
    await Promise.all([first, ...rest])
    expect(fake.produceCalls).toHaveLength(2)
    const second = Buffer.from(fake.produceCalls[1]!.request.topics[0]!.partitions[0]!.records)
    expect(readBatchHeader(second).recordCount).toBe(5)
    expect(fake.topics.get('t')![0]!.log.map((r) => r.value)).toEqual(['a', 'b0', 'b1', 'b2', 'b3', 'b4'])
  })

  it('seals a batch at batchBytes, sends one batch per partition per request, numbers sequences per partition', async () => {
    const { fake, client } = setup(2)
    const producer = client.producer({ lingerMs: 100, batchBytes: 200 })
    const value = 'x'.repeat(50)
    const acks = await producer.send('t', Array.from({ length: 12 }, (_, i) => ({ value, partition: i % 2 })))
    expect(acks.filter((a) => a.partition === 0).map((a) => a.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n])
    for (const call of fake.produceCalls) {
      for (const t of call.request.topics) {
        const parts = t.partitions.map((p) => p.partitionIndex)
        expect(new Set(parts).size).toBe(parts.length)
      }
    }
    expect(batchesPerPartition(fake).length).toBeGreaterThan(2)
    const p0 = fake.topics.get('t')![0]!.log
    // Sequences restart per partition and grow by each batch's record count.
    const sequences = [...new Set(p0.map((r) => r.sequence))]
    expect(sequences[0]).toBe(0)
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b))
  })

  it('puts keyed records where the Java client would, keyless ones on one sticky partition per batch', async () => {
    const { fake, client } = setup(5)
    const producer = client.producer({ lingerMs: 20 })
    const keyed = await producer.send('t', ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({ key, value: key })))
    expect(keyed.map((a) => a.partition)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => partitionForKey(Buffer.from(k), 5)))
    const keyless = await producer.send('t', Array.from({ length: 5 }, (_, i) => ({ value: `n${i}` })))
    expect(new Set(keyless.map((a) => a.partition)).size).toBe(1)
    expect(fake.produceCalls.length).toBeGreaterThan(0)
  })

  it('follows a NOT_LEADER_OR_FOLLOWER leader hint (KIP-951) without a metadata refresh', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('t', [{ value: 'warm-up' }])
    const metadataBefore = fake.metadataCalls
    const part = fake.topics.get('t')![0]!
    part.leader = 2
    part.leaderEpoch = 1
    fake.onProduce = (call) => (call.address === 'broker1:9092' ? { code: ErrorCode.NOT_LEADER_OR_FOLLOWER.code, leaderId: 2, leaderEpoch: 1 } : null)
    const acks = await producer.send('t', [{ value: 'moved' }])
    expect(acks[0]!.offset).toBe(1n)
    expect(fake.produceCalls.at(-1)!.address).toBe('broker2:9092')
    expect(fake.metadataCalls).toBe(metadataBefore)
  })

  it('refreshes metadata on NOT_LEADER_OR_FOLLOWER without a hint', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('t', [{ value: 'warm-up' }])
    const metadataBefore = fake.metadataCalls
    fake.topics.get('t')![0]!.leader = 3
    const acks = await producer.send('t', [{ value: 'moved' }])
    expect(acks[0]!.offset).toBe(1n)
    expect(fake.produceCalls.at(-1)!.address).toBe('broker3:9092')
    expect(fake.metadataCalls).toBeGreaterThan(metadataBefore)
  })

  it('retries a retriable error until deliveryTimeoutMs, then fails with the history of attempts', async () => {
    const { fake, client } = setup(1)
    fake.onProduce = () => ({ code: ErrorCode.NOT_ENOUGH_REPLICAS.code })
    const producer = client.producer({ lingerMs: 0, deliveryTimeoutMs: 150 })
    const error = await producer.send('t', [{ value: 'never' }]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetriesExhaustedError)
    const exhausted = error as RetriesExhaustedError
    expect(exhausted.errors.length).toBeGreaterThan(1)
    // Every attempt got the broker's answer, except that the delivery deadline may cut the
    // last one short (REQUEST_TIMED_OUT) when a loaded machine stalls this process mid-call.
    expect(exhausted.errors.slice(0, -1).every((e) => e.code === ErrorCode.NOT_ENOUGH_REPLICAS.code)).toBe(true)
    expect([ErrorCode.NOT_ENOUGH_REPLICAS.code, ErrorCode.REQUEST_TIMED_OUT.code]).toContain(exhausted.code)
    expect(exhausted.code).toBe(exhausted.errors.at(-1)!.code)
    expect(fake.topics.get('t')![0]!.log).toHaveLength(0)
  })

  it('fails at once on a non-retriable error', async () => {
    const { fake, client } = setup(1)
    fake.onProduce = () => ({ code: ErrorCode.INVALID_RECORD.code })
    const producer = client.producer({ lingerMs: 0 })
    await expect(producer.send('t', [{ value: 'bad' }])).rejects.toMatchObject({ name: 'TributaryError', code: ErrorCode.INVALID_RECORD.code })
    expect(fake.produceCalls).toHaveLength(1)
  })

  it('resends every batch in sequence order after a failure in the middle of a pipeline', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 0, batchBytes: 100 })
    let failed = false
    // The first request fails once (a leader change); the ones sent behind it would get
    // OUT_OF_ORDER_SEQUENCE_NUMBER from a real broker: retried too.
    fake.onProduce = (call) => {
      if (!failed) {
        failed = true
        return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER.code }
      }
      const seq = readBatchHeader(Buffer.from(call.request.topics[0]!.partitions[0]!.records)).baseSequence
      const log = fake.topics.get('t')![0]!.log
      const expected = log.length
      return seq === expected ? null : { code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code }
    }
    const acks = await producer.send('t', Array.from({ length: 8 }, (_, i) => ({ value: `value-${i}-${'y'.repeat(40)}` })))
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 8 }, (_, i) => BigInt(i)))
    expect(fake.topics.get('t')![0]!.log.map((r) => r.value?.slice(0, 7))).toEqual(Array.from({ length: 8 }, (_, i) => `value-${i}`))
  })

  it('acks 0 resolves with offset -1 for every record', async () => {
    const { client } = setup(1)
    const producer = client.producer({ acks: 0, lingerMs: 0 })
    expect((await producer.send('t', [{ value: 'a' }, { value: 'b' }])).map((a) => a.offset)).toEqual([-1n, -1n])
  })

  it('waits for buffer space (backpressure) and gives up after maxBlockMs', async () => {
    const { fake, client } = setup(1)
    let open!: () => void
    fake.gate = new Promise((resolve) => (open = resolve))
    const producer = client.producer({ lingerMs: 0, bufferBytes: 300, maxBlockMs: 100, idempotent: false, acks: 1 })
    const first = producer.send('t', [{ value: 'z'.repeat(200) }])
    // The buffer holds the first record until it is acknowledged: the second waits, then times out.
    await expect(producer.send('t', [{ value: 'w'.repeat(200) }])).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT.code })
    const third = producer.send('t', [{ value: 'q'.repeat(200) }])
    open()
    expect((await first)[0]!.offset).toBe(0n)
    expect((await third)[0]!.offset).toBe(1n)
  })

  it('refuses an unknown partition and an unknown topic after maxBlockMs', async () => {
    const { fake, client } = setup(2)
    const producer = client.producer({ maxBlockMs: 50 })
    await expect(producer.send('t', [{ value: 'x', partition: 2 }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    // Nothing of a send with a bad record is written.
    await expect(producer.send('t', [{ value: 'ok', partition: 0 }, { value: 'x', partition: 5 }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    await producer.flush()
    expect(fake.topics.get('t')![0]!.log).toHaveLength(0)
    await expect(producer.send('missing', [{ value: 'x' }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
  })

  it('flush sends lingering batches now; close drains, then refuses', async () => {
    const { fake, client } = setup(1)
    const producer = client.producer({ lingerMs: 60_000 })
    const pending = producer.send('t', [{ value: 'a' }])
    await new Promise((r) => setTimeout(r, 20))
    expect(fake.produceCalls).toHaveLength(0)
    await producer.flush()
    expect((await pending)[0]!.offset).toBe(0n)
    const late = producer.send('t', [{ value: 'b' }])
    await client.close()
    expect((await late)[0]!.offset).toBe(1n)
    await expect(producer.send('t', [{ value: 'c' }])).rejects.toThrow(/closed/)
  })
})
