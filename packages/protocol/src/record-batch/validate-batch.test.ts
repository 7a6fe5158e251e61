import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRecords } from './decode-records.js'
import { encodeRecordBatch } from './encode-record-batch.js'
import { RecordBatchLayout as L } from './layout.js'
import { RecordBatchLimits } from './limits.js'
import { batchInputArb, withFreshCrc } from './test-batches.js'
import { validateBatch, type BatchValidation } from './validate-batch.js'

function sample(): Buffer {
  return encodeRecordBatch({
    baseOffset: 0n,
    producerId: 1000n,
    producerEpoch: 0,
    baseSequence: 5,
    records: [
      { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'trace', value: Buffer.from('abc') }], timestamp: 1_700_000_000_000n },
      { key: null, value: Buffer.from('v2'), headers: [{ key: 'n', value: null }], timestamp: 1_700_000_000_007n },
      { key: Buffer.alloc(0), value: null, timestamp: 1_699_999_999_999n },
    ],
  })
}

function expectCorrupt(result: BatchValidation, reason: RegExp): void {
  expect(result.kind).toBe('corrupt')
  if (result.kind === 'corrupt') expect(result.reason).toMatch(reason)
}

/** A copy of the sample with fn applied to it and the CRC recomputed, to reach checks past the CRC. */
function tampered(fn: (buf: Buffer) => void): Buffer {
  const buf = sample()
  fn(buf)
  return withFreshCrc(buf)
}

/** Where the first record's fields sit in the sample (see sample()). */
const FIRST_RECORD = L.recordsPos

describe('validateBatch', () => {
  it('accepts every batch encodeRecordBatch builds for a producer, with its header', () => {
    fc.assert(
      fc.property(batchInputArb, (input) => {
        const batch = encodeRecordBatch(input)
        const result = validateBatch(batch)
        expect(result.kind).toBe('ok')
        if (result.kind === 'ok') expect(result.header).toMatchObject({ recordCount: input.records.length, sizeBytes: batch.length, magic: 2 })
      }),
      { numRuns: 300 },
    )
  })

  it('finds every single-bit flip in the CRC and the bytes it covers', () => {
    const batch = sample()
    for (let pos = L.crcPos; pos < batch.length; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(batch)
        copy[pos] ^= 1 << bit
        expectCorrupt(validateBatch(copy), /CRC mismatch/)
      }
    }
  })

  it('does not cover baseOffset and partitionLeaderEpoch with the CRC', () => {
    const copy = sample()
    copy.writeBigInt64BE(123n, L.baseOffsetPos)
    copy.writeInt32BE(9, L.partitionLeaderEpochPos)
    expect(validateBatch(copy)).toMatchObject({ kind: 'ok', header: { baseOffset: 123n, partitionLeaderEpoch: 9, lastOffset: 125n } })
  })

  it('refuses every truncation and trailing bytes', () => {
    const batch = sample()
    for (let length = 0; length < batch.length; length++) {
      expectCorrupt(validateBatch(batch.subarray(0, length)), /fewer than the 61-byte|truncated/)
    }
    expectCorrupt(validateBatch(Buffer.concat([batch, Buffer.from([0])])), /1 bytes follow/)
  })

  it('refuses impossible batch lengths: negative, below the header, above the limit', () => {
    for (const batchLength of [-1, -0x80000000, 0, 48, RecordBatchLimits.batchBytesMax - 11, 0x7fffffff]) {
      const copy = sample()
      copy.writeInt32BE(batchLength, L.batchLengthPos)
      expectCorrupt(validateBatch(copy), /batchLength|exceeds the limit/)
    }
  })

  it('refuses a magic other than 2, before looking at the CRC', () => {
    for (const magic of [0, 1, 3, -1]) {
      const copy = sample()
      copy.writeInt8(magic, L.magicPos)
      expectCorrupt(validateBatch(copy), new RegExp(`magic ${magic} is not 2`))
    }
  })

  it('refuses absurd, zero and negative record counts, even with a valid CRC', () => {
    for (const count of [0x7fffffff, RecordBatchLimits.recordsPerBatchMax + 1, 0, -1]) {
      expectCorrupt(validateBatch(tampered((b) => { b.writeInt32BE(count, L.recordCountPos); b.writeInt32BE(count - 1, L.lastOffsetDeltaPos) })), /record count/)
    }
    // Within the limit, but more records than the bytes can hold.
    expectCorrupt(validateBatch(tampered((b) => { b.writeInt32BE(1000, L.recordCountPos); b.writeInt32BE(999, L.lastOffsetDeltaPos) })), /cannot fit/)
    // A count the bytes can hold, but the records run out.
    expectCorrupt(validateBatch(tampered((b) => { b.writeInt32BE(4, L.recordCountPos); b.writeInt32BE(3, L.lastOffsetDeltaPos) })), /past the end|declares/)
    // Fewer records than present: bytes remain.
    expectCorrupt(validateBatch(tampered((b) => { b.writeInt32BE(2, L.recordCountPos); b.writeInt32BE(1, L.lastOffsetDeltaPos) })), /maxTimestamp|remain after/)
  })

  it('refuses lastOffsetDelta that disagrees with the record count', () => {
    expectCorrupt(validateBatch(tampered((b) => b.writeInt32BE(3, L.lastOffsetDeltaPos))), /lastOffsetDelta 3 does not match record count 3/)
  })

  it('refuses negative or overflowing offsets', () => {
    const negative = sample()
    negative.writeBigInt64BE(-1n, L.baseOffsetPos)
    expectCorrupt(validateBatch(negative), /negative/)
    const overflow = sample()
    overflow.writeBigInt64BE(2n ** 63n - 2n, L.baseOffsetPos)
    expectCorrupt(validateBatch(overflow), /overflows int64/)
  })

  it('refuses unknown compression ids and names known ones it cannot inflate', () => {
    expectCorrupt(validateBatch(tampered((b) => b.writeInt16BE(5, L.attributesPos))), /compression id 5 is unknown/)
    expect(validateBatch(tampered((b) => b.writeInt16BE(4, L.attributesPos)))).toMatchObject({ kind: 'unsupported_compression', compression: 'zstd' })
  })

  it('refuses an idempotent batch without a sequence', () => {
    expectCorrupt(validateBatch(tampered((b) => b.writeInt32BE(-1, L.baseSequencePos))), /baseSequence -1/)
  })

  it('refuses a CreateTime maxTimestamp that is not the largest record timestamp', () => {
    expectCorrupt(validateBatch(tampered((b) => b.writeBigInt64BE(1_700_000_000_006n, L.maxTimestampPos))), /maxTimestamp/)
    // LogAppendTime: maxTimestamp is the broker's append time, not derived from the records.
    expect(validateBatch(tampered((b) => { b.writeInt16BE(0x08, L.attributesPos); b.writeBigInt64BE(5n, L.maxTimestampPos) })).kind).toBe('ok')
  })

  it('refuses malformed records behind a valid CRC', () => {
    // The first record's length varint (zig-zag): one byte more or less than its fields.
    const length = sample().readInt8(FIRST_RECORD) >> 1
    expectCorrupt(validateBatch(tampered((b) => b.writeInt8((length + 1) << 1, FIRST_RECORD))), /record 0/)
    expectCorrupt(validateBatch(tampered((b) => b.writeInt8((length - 1) << 1, FIRST_RECORD))), /record 0/)
    // A negative length on the first record.
    expectCorrupt(validateBatch(tampered((b) => b.writeInt8(0x03, FIRST_RECORD))), /record 0 declares -2 bytes/)
    // Record 0: length, attributes, timestampDelta 0, offsetDelta 0, keyLength at +4.
    expectCorrupt(validateBatch(tampered((b) => b.writeUInt8(0x03, FIRST_RECORD + 4))), /key length -2 is negative/)
    expectCorrupt(validateBatch(tampered((b) => b.writeUInt8(0x7e, FIRST_RECORD + 4))), /key length 63 exceeds/)
    // offsetDelta 1 on the first record leaves the second one at 1: not increasing.
    expectCorrupt(validateBatch(tampered((b) => b.writeUInt8(0x02, FIRST_RECORD + 3))), /offsetDelta/)
    // Header key length (after key 'k1' and value 'v1', header count): -1 is a null key.
    expectCorrupt(validateBatch(tampered((b) => b.writeUInt8(0x01, FIRST_RECORD + 11))), /header 0 has a null or negative key length -1/)
  })

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(['ok', 'corrupt', 'unsupported_compression']).toContain(validateBatch(Buffer.from(bytes)).kind)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on a valid frame and CRC around random bytes, and what it accepts decodes', () => {
    const template = sample()
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: L.attributesPos, max: template.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (writes) => {
          const buf = Buffer.from(template)
          for (const [pos, byte] of writes) buf[pos] = byte
          withFreshCrc(buf)
          const result = validateBatch(buf)
          expect(['ok', 'corrupt', 'unsupported_compression']).toContain(result.kind)
          if (result.kind === 'ok') expect(decodeRecords(buf)).toHaveLength(result.header.recordCount)
        },
      ),
      { numRuns: 3000 },
    )
  })
})
