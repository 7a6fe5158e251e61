/**
 * The SDK against three combined nodes in this process (real gRPC, real disks): the
 * DESIGN.md example end to end, admin calls, and an idempotent retry that must not write
 * twice.
 */
import { describe, expect, it } from 'vitest'
import { compressionCodecs, decodeRecords, ErrorCode, iterateBatches, TributaryError, type broker, type DecodedRecord } from '@tributary/protocol'
import { Client } from './client/client.js'
import type { MethodPicker } from './client/broker-connections.js'
import { partitionForKey } from './partitioner/murmur2.js'
import { inProcessClusterForFile } from './test-in-process-cluster.js'

const cluster = inProcessClusterForFile(3)

/** Every record of a partition below its high watermark, read with raw Fetch calls at the leader. */
async function readAll(client: Client, topic: string, partition: number): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = []
  await client.topicMetadata(topic, Date.now() + 5000)
  for (let offset = 0n; ;) {
    const leader = client.cache.leader(topic, partition)!
    const request: broker.FetchRequest = {
      replicaId: -1, replicaEpoch: -1n, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, correlationId: 0n,
      topics: [{ topic, topicId: '', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    }
    const res = await client.call(leader.address, (s) => s.fetch.bind(s), request, 'Fetch')
    const p = res.topics[0]!.partitions[0]!
    expect(p.errorCode).toBe(0)
    const bytes = Buffer.from(p.records)
    let added = 0
    for (const scan of iterateBatches(bytes)) {
      if (scan.kind !== 'batch') break
      for (const r of decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs: compressionCodecs })) {
        if (r.offset >= offset) {
          out.push(r)
          added++
        }
      }
    }
    if (added === 0 || out[out.length - 1]!.offset + 1n >= p.highWatermark) return out
    offset = out[out.length - 1]!.offset + 1n
  }
}

describe('Client against three combined nodes', () => {
  it('runs the DESIGN.md example: createTopics RF 3, keyed send with headers in order, flush, read back', async () => {
    const client = new Client({ bootstrap: [cluster.bootstrap[0]!], clientId: 'app' })
    const admin = client.admin()
    await admin.createTopics([{ name: 'orders', partitions: 3, replicationFactor: 3 }])
    await expect(admin.createTopics([{ name: 'orders', partitions: 3, replicationFactor: 3 }])).rejects.toMatchObject({ code: ErrorCode.TOPIC_ALREADY_EXISTS.code })
    await admin.createTopics([{ name: 'orders', partitions: 3, replicationFactor: 3 }], { ifNotExists: true })
    await expect(admin.createTopics([{ name: 'bad/name', partitions: 1 }])).rejects.toMatchObject({ code: ErrorCode.INVALID_TOPIC_EXCEPTION.code })

    const producer = client.producer({ acks: 'all' })
    const acks = await producer.send('orders', [{ key: 'k1', value: 'v1', headers: { h: 'x' } }])
    expect(acks).toEqual([{ topic: 'orders', partition: partitionForKey(Buffer.from('k1'), 3), offset: 0n }])
    expect(producer.idempotence?.producerId).toBeGreaterThanOrEqual(0n)

    // Many keys at once: every record lands where the Java client would put it, offsets in order per partition.
    const records = Array.from({ length: 60 }, (_, i) => ({ key: `key-${i % 12}`, value: `value-${i}`, headers: { n: String(i) } }))
    const more = await producer.send('orders', records)
    expect(more).toHaveLength(60)
    const next = new Map<number, bigint>([[acks[0]!.partition, 1n]])
    more.forEach((m, i) => {
      expect(m.partition).toBe(partitionForKey(Buffer.from(records[i]!.key), 3))
      expect(m.offset).toBe(next.get(m.partition) ?? 0n)
      next.set(m.partition, m.offset + 1n)
    })
    // Keyless records stick to partitions batch by batch; concurrent sends resolve too.
    const keyless = await Promise.all([producer.send('orders', [{ value: 'a' }, { value: 'b' }]), producer.send('orders', [{ value: 'c', key: null }])])
    expect(keyless.flat()).toHaveLength(3)
    await producer.flush()

    const latest = await admin.listOffsets('orders', 'latest')
    expect(latest.reduce((sum, p) => sum + p.offset, 0n)).toBe(64n)
    expect((await admin.listOffsets('orders', 'earliest')).every((p) => p.offset === 0n)).toBe(true)

    const p = acks[0]!.partition
    const read = await readAll(client, 'orders', p)
    expect(read[0]!.key?.toString()).toBe('k1')
    expect(read[0]!.value?.toString()).toBe('v1')
    expect(read[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['h', 'x']])
    const expected = ['v1', ...records.filter((r) => partitionForKey(Buffer.from(r.key), 3) === p).map((r) => r.value)]
    expect(read.map((r) => r.value?.toString()).filter((v) => v !== undefined && v.startsWith('v'))).toEqual(expected)
    await client.close()
    await expect(producer.send('orders', [{ value: 'late' }])).rejects.toThrow(/closed/)
  }, 30_000)

  it('admin: describe, list, cluster, createPartitions, deleteTopics', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'admin' })
    const admin = client.admin()
    await admin.createTopics([{ name: 'audit', partitions: 2, replicationFactor: 3 }, { name: 'scratch', partitions: 1, replicationFactor: 1 }])
    const [audit] = await admin.describeTopics(['audit'])
    expect(audit!.partitions).toHaveLength(2)
    for (const p of audit!.partitions) {
      expect(p.replicas).toHaveLength(3)
      expect(p.replicas).toContain(p.leader)
      expect(p.isr).toContain(p.leader)
    }
    await expect(admin.describeTopics(['nope'])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    const listed = await admin.listTopics()
    expect(listed.filter((t) => ['audit', 'scratch'].includes(t.name)).map((t) => [t.name, t.isInternal, t.partitions])).toEqual([['audit', false, 2], ['scratch', false, 1]])
    const cluster3 = await admin.describeCluster()
    expect(cluster3.brokers.map((b) => b.nodeId)).toEqual([1, 2, 3])
    expect(cluster3.controllerId).toBeGreaterThanOrEqual(1)
    expect(cluster3.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)

    await admin.createPartitions([{ name: 'audit', count: 4 }])
    await expect.poll(async () => (await admin.describeTopics(['audit']))[0]!.partitions.length, { timeout: 10_000 }).toBe(4)
    await admin.deleteTopics(['scratch'])
    await expect.poll(async () => (await admin.listTopics()).some((t) => t.name === 'scratch'), { timeout: 10_000 }).toBe(false)
    await expect(admin.deleteTopics(['scratch'])).rejects.toBeInstanceOf(TributaryError)
    await client.close()
  }, 30_000)

  it('an idempotent retry of a batch the leader appended (its answer lost) is not written twice', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'retry', retryBackoffMs: 10 })
    await client.admin().createTopics([{ name: 'payments', partitions: 1, replicationFactor: 3 }])
    // The first Produce reaches the broker, but its answer is "lost": the producer sees a network error and resends.
    const connections = client.connections
    const real = connections.call.bind(connections)
    let lost = 0
    connections.call = async <Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, timeoutMs: number, context: string): Promise<Res> => {
      const res = await real(address, pick, request, timeoutMs, context)
      if (context === 'Produce' && lost === 0) {
        lost++
        throw new TributaryError(ErrorCode.NETWORK_EXCEPTION, 'test: the answer was lost')
      }
      return res
    }
    const producer = client.producer()
    const acks = await producer.send('payments', [{ value: 'p0' }, { value: 'p1' }, { value: 'p2' }])
    expect(lost).toBe(1)
    expect(acks.map((a) => a.offset)).toEqual([0n, 1n, 2n])
    const after = await producer.send('payments', [{ value: 'p3' }])
    expect(after[0]!.offset).toBe(3n)
    const read = await readAll(client, 'payments', 0)
    expect(read.map((r) => r.value?.toString())).toEqual(['p0', 'p1', 'p2', 'p3'])
    await client.close()
  }, 30_000)

  it('compressed batches: each codec is produced, stored as sent, and read back by raw fetches and by the consumer', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'codecs' })
    await client.admin().createTopics([{ name: 'packed', partitions: 1, replicationFactor: 3 }])
    const expected: string[] = []
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const producer = client.producer({ compression, lingerMs: 1 })
      const values = Array.from({ length: 10 }, (_, i) => `${compression} record ${i} `.repeat(10))
      const acks = await producer.send('packed', values.map((value) => ({ value })))
      expect(acks.map((a) => a.offset)).toEqual(values.map((_, i) => BigInt(expected.length + i)))
      expected.push(...values)
      await producer.close()
    }
    const plain = await client.producer().send('packed', [{ value: 'plain' }])
    expect(plain[0]!.offset).toBe(BigInt(expected.length))
    expected.push('plain')
    expect((await readAll(client, 'packed', 0)).map((r) => r.value?.toString())).toEqual(expected)
    const consumer = client.consumer({ fromBeginning: true, maxWaitMs: 50 })
    consumer.assign([{ topic: 'packed', partition: 0 }])
    const seen: string[] = []
    for await (const r of consumer) {
      expect(r.offset).toBe(BigInt(seen.length))
      seen.push(r.value!.toString())
      if (seen.length === expected.length) break
    }
    expect(seen).toEqual(expected)
    await consumer.close()
    await client.close()
  }, 30_000)

  it('consumer: assign, async iteration in offset order, seek, fromBeginning and latest', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'reader' })
    await client.admin().createTopics([{ name: 'events', partitions: 2, replicationFactor: 3 }])
    const producer = client.producer({ lingerMs: 1 })
    const sent = await producer.send('events', Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 7}`, value: `e${i}`, headers: { i: String(i) } })))

    const consumer = client.consumer({ fromBeginning: true, maxWaitMs: 50 })
    // subscribe() needs a groupId (groups: consumer/consumer-group.integration.test.ts).
    await expect(consumer.subscribe(['events'])).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST.code })
    consumer.assign([{ topic: 'events', partition: 0 }, { topic: 'events', partition: 1 }])
    const seen: { partition: number; offset: bigint; value: string; header: string | undefined }[] = []
    for await (const r of consumer) {
      seen.push({ partition: r.partition, offset: r.offset, value: r.value!.toString(), header: r.headers[0]?.value?.toString() })
      expect(typeof r.timestamp).toBe('bigint')
      if (seen.length === 40) break
    }
    for (const p of [0, 1]) {
      const mine = seen.filter((r) => r.partition === p)
      expect(mine.map((r) => r.offset)).toEqual(mine.map((_, i) => BigInt(i)))
      expect(mine.map((r) => r.value)).toEqual(sent.map((a, i) => ({ a, i })).filter(({ a }) => a.partition === p).map(({ i }) => `e${i}`))
      expect(mine.every((r) => r.header === r.value.slice(1))).toBe(true)
    }
    // Seek back: the same records again from offset 1 of partition 0.
    consumer.seek('events', 0, 1n)
    consumer.pause([{ topic: 'events', partition: 1 }])
    const again = await consumer.next()
    expect(again).toMatchObject({ partition: 0, offset: 1n })
    expect(consumer.position('events', 0)).toBe(2n)
    await consumer.close()

    // latest: only records produced after the consumer found its position.
    const tail = client.consumer({ maxWaitMs: 50 })
    tail.assign([{ topic: 'events', partition: 0 }])
    const firstNew = tail.next()
    await expect.poll(() => tail.position('events', 0), { timeout: 5000 }).not.toBeNull()
    const [late] = await producer.send('events', [{ value: 'late', partition: 0 }])
    const got = await firstNew
    expect(got).toMatchObject({ partition: 0, offset: late!.offset })
    expect(got!.value!.toString()).toBe('late')
    await client.close()
    expect(await tail.next()).toBeNull()
  }, 30_000)
})
