/**
 * CONSUMER_FETCHES_PER_LEADER (issue 7): up to two fetches in flight to one leader, over
 * disjoint partitions. Against an in-memory leader of four partitions whose answers take
 * random times: never two fetches of one partition at once, never more than two per leader,
 * and every record handed out once, in offset order per partition.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { encodeRecordBatch, type broker } from '@tributary/protocol'
import { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import { CONSUMER_FETCHES_PER_LEADER } from './consumer.js'

const PARTITIONS = 4
const RECORDS = 300
const FETCH_RECORDS_MAX = 40

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close({ timeoutMs: 2_000 })))
})

describe('Consumer fetches per leader', () => {
  it('keeps up to two fetches in flight to a leader, never two for one partition, and hands out every record once in order', async () => {
    const inFlight = new Set<number>()
    let leaderInFlight = 0
    let leaderInFlightMax = 0
    let overlap = false
    let random = 7
    const delayMs = (): number => (random = (random * 1103515245 + 12345) % 2147483648) % 6
    const client = new Client({ bootstrap: ['broker1:9092'], retryBackoffMs: 5, retryBackoffMaxMs: 20 })
    clients.push(client)
    client.connections.call = async <Req, Res>(_address: string, _pick: MethodPicker<Req, Res>, request: Req, _timeoutMs: number, context: string): Promise<Res> => {
      await Promise.resolve()
      if (context === 'Metadata') {
        return {
          brokers: [{ nodeId: 1, host: 'broker1', port: 9092, rack: '' }], clusterId: 'fake-cluster-id-000000', controllerId: 1, metadataOffset: 0n,
          topics: [{
            errorCode: 0, name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', isInternal: false,
            partitions: Array.from({ length: PARTITIONS }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
          }],
        } satisfies broker.MetadataResponse as Res
      }
      if (context === 'ListOffsets') {
        const req = request as broker.ListOffsetsRequest
        return { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, leaderEpoch: 0, offset: 0n })) })) } satisfies broker.ListOffsetsResponse as Res
      }
      if (context !== 'Fetch') throw new Error(`the fake does not answer ${context}`)
      const req = request as broker.FetchRequest
      const parts = req.topics.flatMap((t) => t.partitions)
      for (const p of parts) {
        if (inFlight.has(p.partition)) overlap = true
        inFlight.add(p.partition)
      }
      leaderInFlightMax = Math.max(leaderInFlightMax, ++leaderInFlight)
      await new Promise((resolve) => setTimeout(resolve, delayMs()))
      leaderInFlight--
      for (const p of parts) inFlight.delete(p.partition)
      const topics = req.topics.map((t) => ({
        topic: t.topic, topicId: '',
        partitions: t.partitions.map((p): broker.FetchPartitionResponse => {
          const from = Number(p.fetchOffset)
          const count = Math.max(0, Math.min(FETCH_RECORDS_MAX, RECORDS - from))
          const records = count === 0 ? Buffer.alloc(0) : encodeRecordBatch({ baseOffset: p.fetchOffset, records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${p.partition}-${from + i}`), timestamp: 0n })) })
          return { partitionIndex: p.partition, errorCode: 0, highWatermark: BigInt(RECORDS), lastStableOffset: BigInt(RECORDS), logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records }
        }),
      }))
      return { errorCode: 0, errorMessage: '', topics, correlationId: 0n } satisfies broker.FetchResponse as Res
    }
    const consumer = client.consumer({ fromBeginning: true, maxWaitMs: 20 })
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 't', partition })))
    const next = Array.from({ length: PARTITIONS }, () => 0)
    for (let i = 0; i < PARTITIONS * RECORDS; i++) {
      const r = (await consumer.next())!
      expect(r.offset).toBe(BigInt(next[r.partition]!))
      expect(r.value!.toString()).toBe(`${r.partition}-${next[r.partition]!}`)
      next[r.partition]!++
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(overlap).toBe(false)
    expect(leaderInFlightMax).toBe(CONSUMER_FETCHES_PER_LEADER)
  })
})
