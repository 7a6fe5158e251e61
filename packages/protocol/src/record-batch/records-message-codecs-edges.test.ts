/**
 * Review edge cases of the hand-rolled ProduceRequest/FetchResponse codecs (issue 7,
 * records-message-codecs.ts) against the generated ts-proto codecs, beyond the property
 * test beside them: length prefixes of 3 and 4 bytes (records of 2^21 bytes and more),
 * unknown fields and wrong wire types inside the nested messages, a repeated records
 * field (the last one wins), and answers encoded by one reused writer staying intact.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as broker from '../gen/broker.js'
import { decodeFetchResponse, decodeProduceRequest, encodeFetchResponse, encodeProduceRequest } from './records-message-codecs.js'

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
}

const partition = (records: Buffer, index = 0): broker.FetchPartitionResponse => ({
  partitionIndex: index, errorCode: 0, highWatermark: 7n, lastStableOffset: 7n, logStartOffset: 0n,
  divergingEpoch: { epoch: 3, endOffset: 5n }, currentLeader: { leaderId: 2, leaderEpoch: 4 }, records,
})

describe('records message codecs, edges', () => {
  it('encodes records whose length prefixes take 3 and 4 bytes as the generated encoders do', () => {
    for (const size of [(1 << 14) + 1, (1 << 21) - 1, (1 << 21) + 5]) {
      const records = Buffer.alloc(size, size & 0xff)
      const fetch: broker.FetchResponse = { errorCode: 0, errorMessage: '', correlationId: 3n, topics: [{ topic: 't', topicId: 'id', partitions: [partition(records), partition(Buffer.alloc(0), 1)] }] }
      expect(encodeFetchResponse(fetch).equals(Buffer.from(broker.FetchResponse.encode(fetch).finish()))).toBe(true)
      const produce: broker.ProduceRequest = { acks: -1, timeoutMs: 30_000, transactionalId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 1, records }, { partitionIndex: 2, records: Buffer.alloc(0) }] }] }
      const ours = encodeProduceRequest(produce)
      expect(ours.equals(Buffer.from(broker.ProduceRequest.encode(produce).finish()))).toBe(true)
      expect(decodeProduceRequest(ours).topics[0]!.partitions[0]!.records.equals(records)).toBe(true)
    }
  })

  it('decodes nested messages with unknown fields, wrong wire types and a repeated records field as the generated decoders do', () => {
    // Bytes of fields to splice into a nested message: unknown varint/length/fixed fields, a
    // known field number with the wrong wire type (records as a varint), and records twice.
    const junk = fc.constantFrom(
      Buffer.from([(12 << 3) | 0, 0x80, 0x01]),
      Buffer.from([(13 << 3) | 2, 3, 1, 2, 3]),
      Buffer.from([(14 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8]),
      Buffer.from([(15 << 3) | 5, 1, 2, 3, 4]),
      Buffer.from([(8 << 3) | 0, 5]), // FetchPartitionResponse.records with a varint wire type
      Buffer.from([(2 << 3) | 0, 5]), // ProducePartitionData.records with a varint wire type
      Buffer.from([(8 << 3) | 2, 2, 0xaa, 0xbb]), // FetchPartitionResponse.records again
      Buffer.from([(2 << 3) | 2, 1, 0xcc]), // ProducePartitionData.records again
    )
    const wrap = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), varint(body.length), body])
    fc.assert(
      fc.property(fc.array(junk, { maxLength: 3 }), fc.array(junk, { maxLength: 3 }), (before, after) => {
        const fetchPartition = Buffer.concat([...before, Buffer.from(broker.FetchPartitionResponse.encode(partition(Buffer.from('records'))).finish()), ...after])
        const fetch = Buffer.concat([wrap(26, Buffer.concat([Buffer.from([10, 1, 116]), wrap(26, fetchPartition)])), Buffer.from([32, 9])])
        expect(plain(decodeFetchResponse(fetch))).toEqual(plain(broker.FetchResponse.decode(fetch)))
        const producePartition = Buffer.concat([...before, Buffer.from(broker.ProducePartitionData.encode({ partitionIndex: 4, records: Buffer.from('abc') }).finish()), ...after])
        const produce = Buffer.concat([Buffer.from([8, 1]), wrap(26, Buffer.concat([Buffer.from([10, 1, 116]), wrap(18, producePartition)]))])
        expect(plain(decodeProduceRequest(produce))).toEqual(plain(broker.ProduceRequest.decode(produce)))
      }),
      { numRuns: 200 },
    )
  })

  it('answers encoded one after another (one reused writer) stay intact', () => {
    const a = encodeFetchResponse({ errorCode: 0, errorMessage: 'first', correlationId: 1n, topics: [{ topic: 'a', topicId: '', partitions: [partition(Buffer.alloc(100, 1))] }] })
    const copy = Buffer.from(a)
    for (let i = 0; i < 5; i++) encodeFetchResponse({ errorCode: 9, errorMessage: 'x'.repeat(300), correlationId: 2n, topics: [{ topic: 'b'.repeat(50), topicId: 'z', partitions: [partition(Buffer.alloc(70_000, 2))] }] })
    expect(a.equals(copy)).toBe(true)
  })
})

function varint(n: number): Buffer {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}
