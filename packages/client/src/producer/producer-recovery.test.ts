/**
 * Producer recovery (KIP-360) and the bounded close(), on the in-memory fake cluster whose
 * partitions judge sequence numbers as the broker does (checkSequences).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { ClientClosedError, RetriesExhaustedError } from '../errors.js'
import type { Producer } from './producer.js'
import { FakeCluster, producedHeader, producedValues } from './test-fake-cluster.js'

const clients: Client[] = []
afterEach(async () => {
  vi.useRealTimers()
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
})

function setup(partitions = 1): { fake: FakeCluster; client: Client } {
  const fake = new FakeCluster()
  fake.addTopic('t', partitions)
  fake.checkSequences = true
  const client = fake.client()
  clients.push(client)
  return { fake, client }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The values of partition `p`'s log. */
function logOf(fake: FakeCluster, p = 0): (string | null)[] {
  return fake.topics.get('t')![p]!.log.map((r) => r.value)
}

describe('Producer recovery after a batch fails for good (KIP-360)', () => {
  /**
   * 'warm-up' is written with sequence 0; 'doomed' (sequence 1) is refused until its delivery
   * timeout. Without recovery, 'after' would carry sequence 2 under the same producer, which
   * the partition refuses with OUT_OF_ORDER_SEQUENCE_NUMBER (it expects 1) forever.
   */
  async function failOneBatch(fake: FakeCluster, client: Client): Promise<{ producer: Producer; doomed: unknown; after: Promise<unknown> }> {
    const producer = client.producer({ lingerMs: 0, deliveryTimeoutMs: 150 })
    await producer.send('t', [{ value: 'warm-up', partition: 0 }])
    fake.onProduce = (call, topic, partition) => (producedValues(call, topic, partition).includes('doomed') ? { code: ErrorCode.NOT_ENOUGH_REPLICAS.code } : null)
    const doomed = producer.send('t', [{ value: 'doomed', partition: 0 }])
    await sleep(20)
    const after = producer.send('t', [{ value: 'after-1', partition: 0 }, { value: 'after-2', partition: 0 }])
    return { producer, doomed: await doomed.catch((e: unknown) => e), after }
  }

  it('takes a fresh producer id when the broker refuses epoch bumps; later batches restart at sequence 0 and are written', async () => {
    const { fake, client } = setup(2)
    const { producer, doomed, after } = await failOneBatch(fake, client)
    expect(doomed).toBeInstanceOf(RetriesExhaustedError)
    expect((doomed as RetriesExhaustedError).code).toBe(ErrorCode.NOT_ENOUGH_REPLICAS.code)
    expect(await after).toEqual([{ topic: 't', partition: 0, offset: 1n }, { topic: 't', partition: 0, offset: 2n }])
    expect(logOf(fake)).toEqual(['warm-up', 'after-1', 'after-2'])
    // First id; then a bump of (1000, 0), refused (INVALID_REQUEST); then a fresh id.
    expect(fake.initProducerIdRequests.map((r) => [r.producerId, r.producerEpoch])).toEqual([[-1n, -1], [1000n, 0], [-1n, -1]])
    const last = producedHeader(fake.produceCalls.at(-1)!, 't', 0)!
    expect(last).toMatchObject({ producerId: 1001n, producerEpoch: 0, baseSequence: 0 })
    expect(producer.idempotence).toEqual({ producerId: 1001n, producerEpoch: 0 })
    expect(producer.stats.producerIdResets).toBe(1)
    // Another partition starts its sequences for the new id at 0 too.
    expect((await producer.send('t', [{ value: 'other', partition: 1 }]))[0]!.offset).toBe(0n)
    expect(producedHeader(fake.produceCalls.at(-1)!, 't', 1)).toMatchObject({ producerId: 1001n, baseSequence: 0 })
  })

  it('bumps the epoch when the broker supports it (same producer id, epoch + 1, sequence 0)', async () => {
    const { fake, client } = setup()
    fake.epochBumps = true
    const { doomed, after } = await failOneBatch(fake, client)
    expect(doomed).toBeInstanceOf(RetriesExhaustedError)
    expect((await after as unknown[]).length).toBe(2)
    expect(logOf(fake)).toEqual(['warm-up', 'after-1', 'after-2'])
    expect(fake.initProducerIdRequests.map((r) => [r.producerId, r.producerEpoch])).toEqual([[-1n, -1], [1000n, 0]])
    expect(producedHeader(fake.produceCalls.at(-1)!, 't', 0)).toMatchObject({ producerId: 1000n, producerEpoch: 1, baseSequence: 0 })
  })

  it('re-encodes the batches pipelined behind the failed one under the new identity, in order, each written once', async () => {
    const { fake, client } = setup()
    const producer = client.producer({ lingerMs: 0, batchBytes: 100 })
    await producer.send('t', [{ value: 'warm-up', partition: 0 }])
    // The first batch of the pipeline is refused for good; the ones sent behind it get
    // OUT_OF_ORDER_SEQUENCE_NUMBER from the partition (a hole at sequence 1).
    fake.onProduce = (call, topic, partition) => (producedValues(call, topic, partition).some((v) => v.startsWith('doomed')) ? { code: ErrorCode.INVALID_RECORD.code } : null)
    const values = ['doomed', 'next-1', 'next-2', 'next-3'].map((v) => `${v}-${'z'.repeat(40)}`)
    const sends = values.map((value) => producer.send('t', [{ value }]).catch((e: unknown) => e))
    const [doomed, ...rest] = await Promise.all(sends)
    expect(doomed).toMatchObject({ code: ErrorCode.INVALID_RECORD.code })
    // They were in flight together, refused, then re-encoded under the new identity.
    expect(fake.produceCalls.filter((c) => producedValues(c, 't', 0).some((v) => v.startsWith('next-1')))).toHaveLength(2)
    expect(rest.map((r) => (r as { offset: bigint }[])[0]!.offset)).toEqual([1n, 2n, 3n])
    expect(logOf(fake).map((v) => v?.slice(0, 6))).toEqual(['warm-u', 'next-1', 'next-2', 'next-3'])
    expect(fake.topics.get('t')![0]!.log.slice(1).map((r) => [r.producerId, r.sequence])).toEqual([[1001n, 0], [1001n, 1], [1001n, 2]])
    expect(producer.stats.producerIdResets).toBe(1)
  })

  it('resets on UNKNOWN_PRODUCER_ID and writes the batch once under the new identity', async () => {
    const { fake, client } = setup()
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('t', [{ value: 'a' }])
    let refused = false
    fake.onProduce = () => {
      if (refused) return null
      refused = true
      return { code: ErrorCode.UNKNOWN_PRODUCER_ID.code }
    }
    expect((await producer.send('t', [{ value: 'b' }]))[0]!.offset).toBe(1n)
    expect(logOf(fake)).toEqual(['a', 'b'])
    expect(fake.topics.get('t')![0]!.log[1]).toMatchObject({ producerId: 1001n, sequence: 0 })
    expect(producer.stats.producerIdResets).toBe(1)
  })

  it('fails a batch refused OUT_OF_ORDER_SEQUENCE_NUMBER with nothing ahead of it, and recovers for the next one', async () => {
    const { fake, client } = setup()
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('t', [{ value: 'a' }])
    fake.onProduce = (call, topic, partition) => (producedValues(call, topic, partition).includes('bad') ? { code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code } : null)
    await expect(producer.send('t', [{ value: 'bad' }])).rejects.toMatchObject({ code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code })
    expect((await producer.send('t', [{ value: 'c' }]))[0]!.offset).toBe(1n)
    expect(logOf(fake)).toEqual(['a', 'c'])
  })
})

describe('Producer.close({ timeoutMs })', () => {
  it('rejects unacknowledged sends with ClientClosedError after the close timeout (default 30 s), not deliveryTimeoutMs', async () => {
    vi.useFakeTimers()
    const { fake, client } = setup()
    let open!: () => void
    fake.gate = new Promise((resolve) => (open = resolve))
    const producer = client.producer({ lingerMs: 0, deliveryTimeoutMs: 120_000 })
    const pending = producer.send('t', [{ value: 'held' }])
    let outcome: unknown = null
    pending.then((v) => (outcome = v), (e: unknown) => (outcome = e))
    await vi.advanceTimersByTimeAsync(10)
    expect(fake.produceCalls).toHaveLength(1)
    let closed = false
    void producer.close().then(() => (closed = true))
    await vi.advanceTimersByTimeAsync(29_990)
    expect(outcome).toBeNull()
    expect(closed).toBe(false)
    await vi.advanceTimersByTimeAsync(10)
    expect(outcome).toBeInstanceOf(ClientClosedError)
    expect((outcome as Error).message).toMatch(/close\(\) gave up after 30000 ms/)
    expect(closed).toBe(true)
    // A late answer changes nothing.
    open()
    await vi.advanceTimersByTimeAsync(10)
    expect(outcome).toBeInstanceOf(ClientClosedError)
    await expect(producer.send('t', [{ value: 'late' }])).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('Client.close passes its timeout to the producers', async () => {
    vi.useFakeTimers()
    const { fake, client } = setup()
    fake.gate = new Promise(() => undefined)
    const producer = client.producer({ lingerMs: 0 })
    const pending = producer.send('t', [{ value: 'held' }]).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(10)
    const closing = client.close({ timeoutMs: 1000 })
    await vi.advanceTimersByTimeAsync(1000)
    expect(await pending).toBeInstanceOf(ClientClosedError)
    await closing
    expect(client.isClosed).toBe(true)
  })
})
