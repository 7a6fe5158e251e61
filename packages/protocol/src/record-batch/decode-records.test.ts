import fc from 'fast-check'
import { gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { ErrorCode, TributaryError } from '../errors.js'
import type { CompressionCodecs } from './compression.js'
import type { DecodedRecord } from './record.js'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { decodeRecords, decodeRecordsInto } from './decode-records.js'
import { encodeRecordBatch } from './encode-record-batch.js'
import { RecordBatchLayout as L } from './layout.js'
import { batchInputArb, comparable, expectedRecords, recordArb, withFreshCrc } from './test-batches.js'
import { validateBatch } from './validate-batch.js'

/** Runs fn and expects it to throw CorruptBatchError, a CORRUPT_MESSAGE TributaryError. */
export function expectCorruptThrow(fn: () => unknown): CorruptBatchError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(CorruptBatchError)
  expect((caught as CorruptBatchError).code).toBe(ErrorCode.CORRUPT_MESSAGE.code)
  return caught as CorruptBatchError
}

/** A real codec behind the hook; the production codecs come with the client issue. */
const gzip: CompressionCodecs = {
  gzip: {
    compress: (records) => gzipSync(records),
    decompress: (data, decompressedBytesMax) => gunzipSync(data, { maxOutputLength: decompressedBytesMax }),
  },
}

describe('decodeRecords', () => {
  it('round-trips any producer batch: absolute offsets, timestamps, keys, values, headers', () => {
    fc.assert(
      fc.property(batchInputArb, (input) => {
        const batch = encodeRecordBatch(input)
        expect(decodeRecords(batch).map(comparable)).toEqual(expectedRecords(input, input.baseOffset ?? 0n))
      }),
      { numRuns: 300 },
    )
  })

  it('decodeRecordsInto hands the sink exactly the fields decodeRecords returns, in order', () => {
    fc.assert(
      fc.property(batchInputArb, (input) => {
        const batch = encodeRecordBatch(input)
        const seen: DecodedRecord[] = []
        decodeRecordsInto(batch, {}, (offset, timestamp, key, value, headers) => seen.push({ offset, timestamp, key, value, headers }))
        expect(seen).toEqual(decodeRecords(batch))
      }),
      { numRuns: 100 },
    )
    const bad = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 1n }] })
    bad[bad.length - 1] ^= 1
    expect(() => decodeRecordsInto(bad, {}, () => undefined)).toThrow(CorruptBatchError)
  })

  it('round-trips batches with gaps in offsetDeltas, as compaction leaves them', () => {
    const gapped = fc
      .array(fc.tuple(recordArb, fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 10 })
      .map((pairs) => {
        let delta = -1
        return pairs.map(([r, step]) => ({ ...r, offsetDelta: (delta += step) }))
      })
    fc.assert(
      fc.property(gapped, fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, baseOffset) => {
        const input = { baseOffset, records }
        const batch = encodeRecordBatch(input)
        expect(decodeRecords(batch).map(comparable)).toEqual(expectedRecords(input, baseOffset))
      }),
    )
  })

  it('returns views into the batch rather than copies', () => {
    const batch = encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 0n }] })
    const [record] = decodeRecords(batch)
    expect(record.value?.buffer).toBe(batch.buffer)
  })

  it('round-trips compressed batches through the codec hook, and refuses them without a codec', () => {
    fc.assert(
      fc.property(batchInputArb, (input) => {
        const batch = encodeRecordBatch({ ...input, compression: 'gzip' }, { codecs: gzip })
        expect(batch.readInt16BE(L.attributesPos) & 0x07).toBe(1)
        expect(decodeRecords(batch, { codecs: gzip }).map(comparable)).toEqual(expectedRecords(input, input.baseOffset ?? 0n))
        expect(validateBatch(batch, { codecs: gzip }).kind).toBe('ok')
        expect(validateBatch(batch)).toMatchObject({ kind: 'unsupported_compression', compression: 'gzip' })
        let caught: unknown
        try {
          decodeRecords(batch)
        } catch (err) {
          caught = err
        }
        expect(caught).toBeInstanceOf(TributaryError)
        expect((caught as TributaryError).code).toBe(76)
      }),
      { numRuns: 50 },
    )
  })

  it('turns a codec failure into CORRUPT_MESSAGE', () => {
    const batch = encodeRecordBatch({ compression: 'gzip', records: [{ key: null, value: Buffer.from('x'), timestamp: 0n }] }, { codecs: gzip })
    batch.fill(0, L.recordsPos)
    withFreshCrc(batch)
    const err = expectCorruptThrow(() => decodeRecords(batch, { codecs: gzip }))
    expect(err.reason).toMatch(/gzip records do not decompress/)
    expect(validateBatch(batch, { codecs: gzip })).toMatchObject({ kind: 'corrupt' })
  })

  it('throws CORRUPT_MESSAGE on a bad CRC, truncation and a wrong magic', () => {
    const batch = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('value'), timestamp: 0n }] })
    expectCorruptThrow(() => decodeRecords(batch.subarray(0, batch.length - 1)))
    expectCorruptThrow(() => decodeRecords(batch.subarray(0, 30)))
    const flipped = Buffer.from(batch)
    flipped[flipped.length - 1] ^= 0x01
    expectCorruptThrow(() => decodeRecords(flipped))
    const magic = Buffer.from(batch)
    magic[L.magicPos] = 1
    expectCorruptThrow(() => decodeRecords(magic))
  })

  it('throws nothing but CorruptBatchError on arbitrary bytes behind a valid frame and CRC', () => {
    const template = encodeRecordBatch({ records: [{ key: Buffer.from('key'), value: Buffer.from('value'), headers: [{ key: 'h', value: null }], timestamp: 0n }] })
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.integer({ min: -2, max: 40 }), (tail, recordCount) => {
        const buf = Buffer.concat([template.subarray(0, L.recordsPos), tail])
        buf.writeInt32BE(buf.length - L.logOverheadBytes, L.batchLengthPos)
        buf.writeInt32BE(recordCount, L.recordCountPos)
        buf.writeInt32BE(recordCount - 1, L.lastOffsetDeltaPos)
        withFreshCrc(buf)
        try {
          decodeRecords(buf)
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptBatchError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
