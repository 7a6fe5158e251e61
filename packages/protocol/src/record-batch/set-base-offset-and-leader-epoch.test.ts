import { crc32c } from '@node-rs/crc32'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readBatchHeader } from './batch-header.js'
import { decodeRecords } from './decode-records.js'
import { encodeRecordBatch } from './encode-record-batch.js'
import { RecordBatchLayout as L } from './layout.js'
import { setBaseOffsetAndLeaderEpoch } from './set-base-offset-and-leader-epoch.js'
import { batchInputArb, comparable, expectedRecords } from './test-batches.js'
import { validateBatch } from './validate-batch.js'

describe('setBaseOffsetAndLeaderEpoch', () => {
  it('stamps offsets and epoch in place, leaving the CRC and every other byte as they were', () => {
    fc.assert(
      fc.property(batchInputArb, fc.bigInt({ min: 0n, max: 2n ** 62n }), fc.integer({ min: 0, max: 0x7fffffff }), (input, baseOffset, epoch) => {
        const batch = encodeRecordBatch(input)
        const before = Buffer.from(batch)
        setBaseOffsetAndLeaderEpoch(batch, baseOffset, epoch)

        expect(batch.subarray(L.magicPos).equals(before.subarray(L.magicPos))).toBe(true)
        expect(batch.subarray(L.batchLengthPos, L.partitionLeaderEpochPos).equals(before.subarray(L.batchLengthPos, L.partitionLeaderEpochPos))).toBe(true)
        expect(crc32c(batch.subarray(L.attributesPos))).toBe(batch.readUInt32BE(L.crcPos))
        const result = validateBatch(batch)
        expect(result).toMatchObject({ kind: 'ok', header: { baseOffset, partitionLeaderEpoch: epoch, lastOffset: baseOffset + BigInt(input.records.length - 1) } })
        expect(decodeRecords(batch).map(comparable)).toEqual(expectedRecords(input, baseOffset))
      }),
      { numRuns: 200 },
    )
  })

  it('stamps a batch at a position inside a larger buffer', () => {
    const one = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 0n }] })
    const log = Buffer.concat([one, one])
    setBaseOffsetAndLeaderEpoch(log, 41n, 3, one.length)
    expect(readBatchHeader(log, 0)).toMatchObject({ baseOffset: 0n, partitionLeaderEpoch: -1 })
    expect(readBatchHeader(log, one.length)).toMatchObject({ baseOffset: 41n, partitionLeaderEpoch: 3 })
  })

  it('refuses arguments out of range', () => {
    const batch = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 0n }, { key: null, value: null, timestamp: 0n }] })
    expect(() => setBaseOffsetAndLeaderEpoch(batch, -1n, 0)).toThrow(RangeError)
    expect(() => setBaseOffsetAndLeaderEpoch(batch, 2n ** 63n - 1n, 0)).toThrow(RangeError) // lastOffset would overflow
    expect(() => setBaseOffsetAndLeaderEpoch(batch, 0n, -2)).toThrow(RangeError)
    expect(() => setBaseOffsetAndLeaderEpoch(batch, 0n, 2 ** 31)).toThrow(RangeError)
    expect(() => setBaseOffsetAndLeaderEpoch(batch.subarray(0, 60), 0n, 0)).toThrow(RangeError)
    expect(() => setBaseOffsetAndLeaderEpoch(batch, 0n, 0, batch.length - 10)).toThrow(RangeError)
  })
})
