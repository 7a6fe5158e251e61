import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as broker from '../gen/broker.js'
import { decodeFetchResponse, decodeProduceRequest, encodeFetchResponse, encodeProduceRequest, fetchResponseCodec, produceRequestCodec } from './records-message-codecs.js'

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
// Sizes around the one- and multi-byte length prefixes (127/128, 16383/16384) matter most.
const records = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 300 }),
  fc.constantFrom(127, 128, 16_383, 16_384),
).map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)))
const text = fc.string({ maxLength: 20 })

const produceRequest: fc.Arbitrary<broker.ProduceRequest> = fc.record({
  acks: int32,
  timeoutMs: int32,
  topics: fc.array(fc.record({ name: text, partitions: fc.array(fc.record({ partitionIndex: int32, records }), { maxLength: 3 }) }), { maxLength: 3 }),
  transactionalId: text,
})

const fetchResponse: fc.Arbitrary<broker.FetchResponse> = fc.record({
  errorCode: int32,
  errorMessage: text,
  correlationId: int64,
  topics: fc.array(
    fc.record({
      topic: text,
      topicId: text,
      partitions: fc.array(
        fc.record({
          partitionIndex: int32,
          errorCode: int32,
          highWatermark: int64,
          lastStableOffset: int64,
          logStartOffset: int64,
          divergingEpoch: fc.option(fc.record({ epoch: int32, endOffset: int64 }), { nil: undefined }),
          currentLeader: fc.option(fc.record({ leaderId: int32, leaderEpoch: int32 }), { nil: undefined }),
          records,
        }),
        { maxLength: 3 },
      ),
    }),
    { maxLength: 3 },
  ),
})

/** Buffers compare by content; the codecs may hand out views where the generated ones copy. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
}

describe('records message codecs', () => {
  it('encode ProduceRequest byte for byte as the generated encoder, and decode either to the same message', () => {
    fc.assert(
      fc.property(produceRequest, (message) => {
        const generated = Buffer.from(broker.ProduceRequest.encode(message).finish())
        const ours = encodeProduceRequest(message)
        expect(ours.equals(generated)).toBe(true)
        expect(plain(decodeProduceRequest(generated))).toEqual(plain(broker.ProduceRequest.decode(generated)))
        expect(plain(decodeProduceRequest(ours))).toEqual(plain(message))
      }),
      { numRuns: 100 },
    )
  })

  it('encode FetchResponse byte for byte as the generated encoder, and decode either to the same message', () => {
    fc.assert(
      fc.property(fetchResponse, (message) => {
        const generated = Buffer.from(broker.FetchResponse.encode(message).finish())
        const ours = encodeFetchResponse(message)
        expect(ours.equals(generated)).toBe(true)
        expect(plain(decodeFetchResponse(generated))).toEqual(plain(broker.FetchResponse.decode(generated)))
        expect(plain(decodeFetchResponse(ours))).toEqual(plain(message))
      }),
      { numRuns: 100 },
    )
  })

  it('skips unknown fields as the generated decoders do', () => {
    const known = broker.FetchResponse.encode({ errorCode: 3, errorMessage: 'x', topics: [], correlationId: 9n }).finish()
    // field 11 varint, field 12 length-delimited, field 13 fixed64, field 14 fixed32
    const unknown = Buffer.from([11 << 3, 0x96, 0x01, (12 << 3) | 2, 2, 0xaa, 0xbb, (13 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (14 << 3) | 5, 1, 2, 3, 4])
    const bytes = Buffer.concat([unknown, known, unknown])
    expect(plain(decodeFetchResponse(bytes))).toEqual(plain(broker.FetchResponse.decode(bytes)))
  })

  it('throws on truncated input, as the generated decoders do', () => {
    const bytes = encodeFetchResponse({ errorCode: 0, errorMessage: '', correlationId: 1n, topics: [{ topic: 't', topicId: '', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 5n, lastStableOffset: 5n, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: Buffer.alloc(40, 1) }] }] })
    for (const cut of [3, 10, bytes.length - 1]) {
      expect(() => broker.FetchResponse.decode(bytes.subarray(0, cut))).toThrow()
      expect(() => decodeFetchResponse(bytes.subarray(0, cut))).toThrow()
    }
  })

  it('decodes records as views of the input (no copy)', () => {
    const input = encodeProduceRequest({ acks: -1, timeoutMs: 100, transactionalId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 2, records: Buffer.alloc(1000, 7) }] }] })
    const records = decodeProduceRequest(input).topics[0].partitions[0].records
    expect(records.buffer).toBe(input.buffer)
    const fetched = encodeFetchResponse({ errorCode: 0, errorMessage: '', correlationId: 1n, topics: [{ topic: 't', topicId: '', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 5n, lastStableOffset: 5n, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: Buffer.alloc(1000, 3) }] }] })
    expect(decodeFetchResponse(fetched).topics[0].partitions[0].records.buffer).toBe(fetched.buffer)
  })

  it('hands a large encoded message to Buffer.from without a copy (the raw handlers wrap every response in it)', () => {
    const message = { errorCode: 0, errorMessage: '', correlationId: 1n, topics: [{ topic: 't', topicId: '', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 5n, lastStableOffset: 5n, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: Buffer.alloc(1 << 20, 3) }] }] }
    const finished = fetchResponseCodec.encode(message).finish()
    const wrapped = Buffer.from(finished)
    expect(wrapped.buffer).toBe(finished.buffer)
    expect(wrapped.equals(Buffer.from(broker.FetchResponse.encode(message).finish()))).toBe(true)
    expect(Buffer.from(produceRequestCodec.encode({ acks: 1, timeoutMs: 0, transactionalId: '', topics: [] }).finish()).length).toBe(2)
  })
})

describe('records message codecs after a failed encode', () => {
  it('a value out of range throws, and the next message encodes as if nothing happened', () => {
    const bad = { errorCode: 0, errorMessage: 'x', correlationId: 2n ** 64n, topics: [] }
    expect(() => encodeFetchResponse(bad)).toThrow()
    const good = { errorCode: 1, errorMessage: '', correlationId: 5n, topics: [] }
    expect(encodeFetchResponse(good).equals(Buffer.from(broker.FetchResponse.encode(good).finish()))).toBe(true)
  })
})
