/**
 * Generators and helpers for the RecordBatch tests. Test-only: not exported from the package.
 */
import { crc32c } from '@node-rs/crc32'
import fc from 'fast-check'
import type { RecordBatchInput } from './encode-record-batch.js'
import { RecordBatchLayout as L } from './layout.js'
import type { DecodedRecord, RecordHeader, RecordInput } from './record.js'

export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n

/** Realistic epoch milliseconds mixed with far-off values; any two differ by less than 2^63. */
const timestampArb = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 42n }), fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n - 1n }))
const bytesArb = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null })
const headerArb: fc.Arbitrary<RecordHeader> = fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 12 }), value: bytesArb })

export const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: bytesArb,
  value: bytesArb,
  headers: fc.array(headerArb, { maxLength: 4 }),
  timestamp: timestampArb,
})

const producerArb = fc.oneof(
  fc.constant({}),
  fc.record({
    producerId: fc.bigInt({ min: 0n, max: INT64_MAX }),
    producerEpoch: fc.integer({ min: 0, max: 0x7fff }),
    baseSequence: fc.integer({ min: 0, max: 0x7fffffff }),
  }),
)

/** Batches as a producer builds them: offsetDeltas 0..n-1, so validateBatch accepts them. */
export const batchInputArb: fc.Arbitrary<RecordBatchInput> = fc
  .record({
    baseOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 0n, max: INT64_MAX - 0x7fffffffn })),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
    producer: producerArb,
    isTransactional: fc.boolean(),
    timestampType: fc.constantFrom('create-time' as const, 'log-append-time' as const),
    records: fc.array(recordArb, { minLength: 1, maxLength: 20 }),
  })
  .map(({ producer, ...rest }) => ({ ...rest, ...producer }))

/** Rewrites the CRC after a test tampers with CRC'd bytes, so a deeper check is reached. */
export function withFreshCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32c(buf.subarray(L.attributesPos)), L.crcPos)
  return buf
}

/** What a decoded record should look like, in comparable form (hex strings, not views). */
export interface ComparableRecord {
  offset: bigint
  timestamp: bigint
  key: string | null
  value: string | null
  headers: { key: string; value: string | null }[]
}

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'))

export function comparable(r: DecodedRecord): ComparableRecord {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: hex(r.key),
    value: hex(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: hex(h.value) })),
  }
}

/** The records decodeRecords must return for input (after the broker stamped baseOffset). */
export function expectedRecords(input: RecordBatchInput, baseOffset: bigint): ComparableRecord[] {
  const maxTimestamp = input.records.reduce((max, r) => (r.timestamp > max ? r.timestamp : max), input.records[0].timestamp)
  return input.records.map((r, i) => ({
    offset: baseOffset + BigInt(r.offsetDelta ?? i),
    timestamp: input.timestampType === 'log-append-time' ? maxTimestamp : r.timestamp,
    key: hex(r.key),
    value: hex(r.value),
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: hex(h.value) })),
  }))
}
