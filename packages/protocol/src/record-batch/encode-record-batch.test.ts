import { crc32c } from '@node-rs/crc32'
import { describe, expect, it } from 'vitest'
import { ErrorCode, TributaryError } from '../errors.js'
import { readBatchHeader } from './batch-header.js'
import { decodeRecords } from './decode-records.js'
import { encodeRecordBatch } from './encode-record-batch.js'
import { RecordBatchLimits } from './limits.js'
import { validateBatch } from './validate-batch.js'

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), bit by bit: independent of the native one. */
function crc32cReference(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1))
  }
  return (crc ^ 0xffffffff) >>> 0
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

describe('encodeRecordBatch', () => {
  it('uses CRC-32C: the native crc32c and the reference agree on the standard check value', () => {
    expect(crc32cReference(utf8('123456789'))).toBe(0xe3069283)
    expect(crc32c(utf8('123456789'))).toBe(0xe3069283)
  })

  it('writes exactly the bytes the Kafka message-format spec prescribes for a small batch', () => {
    // Two records at 1700000000000 and +5 ms, non-idempotent, uncompressed, CreateTime.
    // Timestamp 1700000000000 = 0x0000018bcfe56800.
    const record0 = [
      0x1a, //       length: varint 13 (zig-zag 26)
      0x00, //       attributes
      0x00, //       timestampDelta: varlong 0
      0x00, //       offsetDelta: varint 0
      0x02, 0x6b, // keyLength 1, 'k'
      0x04, 0x76, 0x31, // valueLength 2, 'v1'
      0x02, //       1 header
      0x02, 0x68, // header key length 1, 'h'
      0x02, 0x78, // header value length 1, 'x'
    ]
    const record1 = [
      0x10, //       length: varint 8 (zig-zag 16)
      0x00, //       attributes
      0x0a, //       timestampDelta: varlong 5 (zig-zag 10)
      0x02, //       offsetDelta: varint 1
      0x01, //       keyLength -1: null key
      0x04, 0x76, 0x32, // valueLength 2, 'v2'
      0x00, //       0 headers
    ]
    const afterCrc = [
      0x00, 0x00, // attributes: no compression, CreateTime, not transactional, not control
      0x00, 0x00, 0x00, 0x01, // lastOffsetDelta 1
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05, // maxTimestamp
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producerId -1
      0xff, 0xff, // producerEpoch -1
      0xff, 0xff, 0xff, 0xff, // baseSequence -1
      0x00, 0x00, 0x00, 0x02, // recordCount 2
      ...record0,
      ...record1,
    ]
    const crc = crc32cReference(Uint8Array.from(afterCrc))
    const expected = Buffer.from([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // baseOffset 0
      0x00, 0x00, 0x00, 0x48, // batchLength 72 = 61 + 14 + 9 - 12
      0xff, 0xff, 0xff, 0xff, // partitionLeaderEpoch -1
      0x02, // magic
      (crc >>> 24) & 0xff, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff,
      ...afterCrc,
    ])
    expect(expected.length).toBe(84)

    const encoded = encodeRecordBatch({
      records: [
        { key: utf8('k'), value: utf8('v1'), headers: [{ key: 'h', value: utf8('x') }], timestamp: 1700000000000n },
        { key: null, value: utf8('v2'), timestamp: 1700000000005n },
      ],
    })
    expect(encoded.toString('hex')).toBe(expected.toString('hex'))
    expect(validateBatch(encoded)).toMatchObject({ kind: 'ok' })
    const header = readBatchHeader(encoded)
    expect(header).toMatchObject({ baseOffset: 0n, lastOffset: 1n, recordCount: 2, crc, sizeBytes: 84, maxTimestamp: 1700000000005n })
    expect(decodeRecords(encoded).map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString(), r.headers.length])).toEqual([
      [0n, 1700000000000n, 'k', 'v1', 1],
      [1n, 1700000000005n, undefined, 'v2', 0],
    ])
  })

  it('sets the attribute bits for LogAppendTime and transactions', () => {
    const batch = encodeRecordBatch({
      timestampType: 'log-append-time',
      isTransactional: true,
      producerId: 7n,
      producerEpoch: 1,
      baseSequence: 0,
      records: [{ key: null, value: null, timestamp: 1n }],
    })
    expect(batch.readInt16BE(21)).toBe(0x18)
    expect(readBatchHeader(batch)).toMatchObject({ timestampType: 'log-append-time', isTransactional: true, isControl: false, compressionId: 0 })
  })

  it('takes baseTimestamp from the first record and allows later records to be older', () => {
    const batch = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 100n }, { key: null, value: null, timestamp: 40n }] })
    expect(readBatchHeader(batch)).toMatchObject({ baseTimestamp: 100n, maxTimestamp: 100n })
    expect(decodeRecords(batch).map((r) => r.timestamp)).toEqual([100n, 40n])
    expect(validateBatch(batch).kind).toBe('ok')
  })

  it('refuses caller mistakes with RangeError', () => {
    const one = [{ key: null, value: null, timestamp: 0n }]
    expect(() => encodeRecordBatch({ records: [] })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ baseOffset: -1n, records: one })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ partitionLeaderEpoch: 2 ** 31, records: one })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ producerEpoch: 0x8000, records: one })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ producerId: 3n, baseSequence: -1, records: one })).toThrow(RangeError)
    expect(() => encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 2n ** 63n }] })).toThrow(RangeError)
    expect(() =>
      encodeRecordBatch({ records: [{ key: null, value: null, timestamp: -(2n ** 62n) * 2n }, { key: null, value: null, timestamp: 2n ** 63n - 1n }] }),
    ).toThrow(RangeError)
    expect(() =>
      encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 0n, offsetDelta: 3 }, { key: null, value: null, timestamp: 0n, offsetDelta: 3 }] }),
    ).toThrow(RangeError)
    expect(() => encodeRecordBatch({ compression: 'zstd', records: one })).toThrow(RangeError)
    const two = [...one, ...one]
    expect(() => encodeRecordBatch({ baseOffset: 2n ** 63n - 1n, records: two })).toThrow(RangeError)
    expect(encodeRecordBatch({ baseOffset: 2n ** 63n - 2n, records: two }).length).toBeGreaterThan(0)
  })

  it('refuses a batch above batchBytesMax with MESSAGE_TOO_LARGE', () => {
    const big = Buffer.alloc(RecordBatchLimits.batchBytesMax)
    let caught: unknown
    try {
      encodeRecordBatch({ records: [{ key: null, value: big, timestamp: 0n }] })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(TributaryError)
    expect((caught as TributaryError).code).toBe(ErrorCode.MESSAGE_TOO_LARGE.code)
  })
})
