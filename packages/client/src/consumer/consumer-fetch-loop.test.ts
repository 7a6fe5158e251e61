/**
 * The consumer's per-leader fetch loop (issue 7, 0b2c6f4: one fetch in flight per leader, a
 * round ends at the first answer), against an in-memory cluster of two leaders. Review tests:
 * no record skipped, duplicated or delivered after its partition left the assignment, and a
 * leader answering errors is not asked again for every record handed out.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { encodeRecordBatch, ErrorCode, type broker } from '@tributary/protocol'
import { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import type { Consumer } from './consumer.js'

/** Records one fake fetch returns at most. */
const FETCH_RECORDS_MAX = 50

interface FakePartition {
  leader: number
  /** Answered to every fetch instead of records (a leader whose metadata lags). */
  errorCode: number
  readonly values: string[]
}

class TwoLeaders {
  readonly partitions: FakePartition[] = [
    { leader: 1, errorCode: 0, values: [] },
    { leader: 2, errorCode: 0, values: [] },
  ]
  readonly fetchCalls = new Map<string, number>()
  /** When set, fetches to this address wait for `release` before they are answered. */
  hold: { address: string; release: Promise<void> } | null = null

  client(): Client {
    const client = new Client({ bootstrap: ['broker1:9092'], retryBackoffMs: 5, retryBackoffMaxMs: 20 })
    client.connections.call = <Req, Res>(address: string, _pick: MethodPicker<Req, Res>, request: Req, _timeoutMs: number, context: string): Promise<Res> =>
      this.answer(address, context, request) as Promise<Res>
    return client
  }

  private async answer(address: string, context: string, request: unknown): Promise<unknown> {
    await Promise.resolve()
    if (context === 'Metadata') {
      return {
        brokers: [1, 2].map((id) => ({ nodeId: id, host: `broker${id}`, port: 9092, rack: '' })),
        clusterId: 'fake-cluster-id-000000',
        controllerId: 1,
        metadataOffset: 0n,
        topics: [{
          errorCode: 0, name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', isInternal: false,
          partitions: this.partitions.map((p, i) => ({ errorCode: 0, partitionIndex: i, leaderId: p.leader, leaderEpoch: 0, replicaNodes: [1, 2], isrNodes: [1, 2], offlineReplicas: [] })),
        }],
      } satisfies broker.MetadataResponse
    }
    if (context === 'ListOffsets') {
      const req = request as broker.ListOffsetsRequest
      return {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, leaderEpoch: 0, offset: p.timestamp === -2n ? 0n : BigInt(this.partitions[p.partitionIndex]!.values.length) })),
        })),
      } satisfies broker.ListOffsetsResponse
    }
    if (context === 'Fetch') {
      this.fetchCalls.set(address, (this.fetchCalls.get(address) ?? 0) + 1)
      const hold = this.hold
      if (hold !== null && hold.address === address) await hold.release
      const req = request as broker.FetchRequest
      let gotRecords = false
      const topics = req.topics.map((t) => ({
        topic: t.topic,
        topicId: '',
        partitions: t.partitions.map((p): broker.FetchPartitionResponse => {
          const part = this.partitions[p.partition]!
          const end = BigInt(part.values.length)
          const base = { partitionIndex: p.partition, highWatermark: end, lastStableOffset: end, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: Buffer.alloc(0) }
          if (part.errorCode !== 0) return { ...base, errorCode: part.errorCode }
          if (`broker${part.leader}:9092` !== address) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER.code }
          const from = Number(p.fetchOffset)
          const values = part.values.slice(from, from + FETCH_RECORDS_MAX)
          if (values.length === 0) return { ...base, errorCode: 0 }
          gotRecords = true
          return { ...base, errorCode: 0, records: encodeRecordBatch({ baseOffset: p.fetchOffset, records: values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 0n })) }) }
        }),
      }))
      // Long poll, briefly, as a broker holds a fetch for minBytes.
      if (!gotRecords) await new Promise((resolve) => setTimeout(resolve, Math.min(req.maxWaitMs, 20)))
      return { errorCode: 0, errorMessage: '', topics, correlationId: 0n } satisfies broker.FetchResponse
    }
    throw new Error(`the fake does not answer ${context}`)
  }
}

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close({ timeoutMs: 2_000 })))
})

function setup(): { fake: TwoLeaders; consumer: Consumer } {
  const fake = new TwoLeaders()
  const client = fake.client()
  clients.push(client)
  return { fake, consumer: client.consumer({ fromBeginning: true, maxWaitMs: 200 }) }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('Consumer per-leader fetch loop', () => {
  it('hands out every record of two leaders once, in order per partition', async () => {
    const { fake, consumer } = setup()
    for (const p of fake.partitions) p.values.push(...Array.from({ length: 400 }, (_, i) => `${p.leader}-${i}`))
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    const seen: string[][] = [[], []]
    for (let i = 0; i < 800; i++) {
      const r = (await consumer.next())!
      expect(r.offset).toBe(BigInt(seen[r.partition]!.length))
      seen[r.partition]!.push(r.value!.toString())
      if (i % 7 === 0) await turn()
    }
    expect(seen[0]).toEqual(fake.partitions[0]!.values)
    expect(seen[1]).toEqual(fake.partitions[1]!.values)
  })

  it('poll() hands out every record once, in order per partition, 1..maxRecords at a time; [] once closed', async () => {
    const { fake, consumer } = setup()
    for (const p of fake.partitions) p.values.push(...Array.from({ length: 400 }, (_, i) => `${p.leader}-${i}`))
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    await expect(consumer.poll(0)).rejects.toThrow(RangeError)
    const seen: string[][] = [[], []]
    const sizes: number[] = []
    while (seen[0]!.length + seen[1]!.length < 800) {
      const polled = await consumer.poll(64)
      sizes.push(polled.length)
      for (const r of polled) {
        expect(r.offset).toBe(BigInt(seen[r.partition]!.length))
        seen[r.partition]!.push(r.value!.toString())
      }
    }
    expect(seen[0]).toEqual(fake.partitions[0]!.values)
    expect(seen[1]).toEqual(fake.partitions[1]!.values)
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1)
    expect(Math.max(...sizes)).toBe(64)
    await consumer.close()
    expect(await consumer.poll()).toEqual([])
  })

  it('delivers nothing of a partition removed from the assignment while its fetch is in flight', async () => {
    const { fake, consumer } = setup()
    for (const p of fake.partitions) p.values.push(...Array.from({ length: 100 }, (_, i) => `${p.leader}-${i}`))
    let release!: () => void
    fake.hold = { address: 'broker2:9092', release: new Promise<void>((resolve) => (release = resolve)) }
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    const first = (await consumer.next())!
    expect(first.partition).toBe(0)
    expect(fake.fetchCalls.get('broker2:9092')).toBe(1) // held in flight
    consumer.assign([{ topic: 't', partition: 0 }])
    release()
    const partitions = new Set<number>()
    for (let i = 0; i < 99; i++) {
      partitions.add((await consumer.next())!.partition)
      await turn()
    }
    expect([...partitions]).toEqual([0])
  })

  it('hands out records from the seek position only, when the seek lands while a fetch is in flight', async () => {
    const { fake, consumer } = setup()
    fake.partitions[1]!.values.push(...Array.from({ length: 200 }, (_, i) => `2-${i}`))
    let release!: () => void
    fake.hold = { address: 'broker2:9092', release: new Promise<void>((resolve) => (release = resolve)) }
    consumer.assign([{ topic: 't', partition: 1 }])
    const pending = consumer.next()
    while ((fake.fetchCalls.get('broker2:9092') ?? 0) === 0) await turn()
    consumer.seek('t', 1, 150n)
    release()
    fake.hold = null
    const offsets = [(await pending)!.offset]
    for (let i = 0; i < 49; i++) offsets.push((await consumer.next())!.offset)
    expect(offsets).toEqual(Array.from({ length: 50 }, (_, i) => 150n + BigInt(i)))
  })

  it('pause while a fetch is in flight drops its answer; resume hands the partition out from its position, once', async () => {
    const { fake, consumer } = setup()
    for (const p of fake.partitions) p.values.push(...Array.from({ length: 100 }, (_, i) => `${p.leader}-${i}`))
    let release!: () => void
    fake.hold = { address: 'broker2:9092', release: new Promise<void>((resolve) => (release = resolve)) }
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    expect((await consumer.next())!.partition).toBe(0)
    consumer.pause([{ topic: 't', partition: 1 }])
    release()
    fake.hold = null
    for (let i = 0; i < 60; i++) {
      expect((await consumer.next())!.partition).toBe(0)
      await turn()
    }
    consumer.resume([{ topic: 't', partition: 1 }])
    const offsets: bigint[] = []
    for (let i = 0; i < 139; i++) {
      const r = (await consumer.next())!
      if (r.partition === 1) offsets.push(r.offset)
    }
    expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)))
  })

  it('a leader change while a fetch is in flight: every record once, in order, from the new leader', async () => {
    const { fake, consumer } = setup()
    fake.partitions[0]!.values.push(...Array.from({ length: 600 }, (_, i) => `1-${i}`))
    consumer.assign([{ topic: 't', partition: 0 }])
    const offsets: bigint[] = []
    for (let i = 0; i < 30; i++) offsets.push((await consumer.next())!.offset)
    let release!: () => void
    fake.hold = { address: 'broker1:9092', release: new Promise<void>((resolve) => (release = resolve)) }
    for (let i = 0; i < 30; i++) offsets.push((await consumer.next())!.offset)
    // The partition moves to broker 2; the held fetch to broker 1 is answered NOT_LEADER.
    fake.partitions[0]!.leader = 2
    release()
    fake.hold = null
    while (offsets.length < 600) offsets.push((await consumer.next())!.offset)
    expect(offsets).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i)))
    expect(fake.fetchCalls.get('broker2:9092') ?? 0).toBeGreaterThan(0)
  })

  it('does not fetch ahead without bound while the application holds off (one fetch per leader beyond the buffer)', async () => {
    const { fake, consumer } = setup()
    for (const p of fake.partitions) p.values.push(...Array.from({ length: 5_000 }, (_, i) => `${p.leader}-${i}`))
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    expect(await consumer.next()).not.toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 150))
    const calls = (fake.fetchCalls.get('broker1:9092') ?? 0) + (fake.fetchCalls.get('broker2:9092') ?? 0)
    // The first round (two leaders) and at most one prefetch per leader: 4 fetches of 50 records.
    expect(calls).toBeLessThanOrEqual(4)
  })

  // A round ends at the first answer and the next starts as records are handed out: a leader
  // answering errors at once must not be asked again for every record handed out.
  it('asks a leader that answers errors about once per fetch of the healthy leader, not once per record', async () => {
    const { fake, consumer } = setup()
    fake.partitions[0]!.values.push(...Array.from({ length: 300 }, (_, i) => `1-${i}`))
    fake.partitions[1]!.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER.code
    consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    for (let i = 0; i < 300; i++) {
      expect((await consumer.next())!.partition).toBe(0)
      // The application works on each record (an await, as a database write would be).
      await turn()
    }
    const healthy = fake.fetchCalls.get('broker1:9092') ?? 0
    const failing = fake.fetchCalls.get('broker2:9092') ?? 0
    expect(failing).toBeLessThanOrEqual(2 * healthy + 5)
  })
})
