import { crc32c } from '@node-rs/crc32'
import { BatchAttributes, ErrorCode, RecordBatchLayout, encodeRecordBatch } from '@tributary/protocol'
import { describe, expect, it } from 'vitest'
import { validateAppend, type AppendRules } from './validate-append.js'
import { concat, makeBatch } from './test-support.js'

const leader: AppendRules = { origin: 'leader', maxMessageBytes: 1024 * 1024, segmentBytes: 1024 * 1024 * 1024 }
const follower: AppendRules = { ...leader, origin: 'follower' }

describe('validateAppend', () => {
  it('accepts concatenated valid batches and summarizes each', () => {
    const result = validateAppend(concat(makeBatch({ records: 3 }), makeBatch({ records: 2, timestamp: 5n })), leader)
    expect(result.kind).toBe('ok')
    if (result.kind !== 'ok') return
    expect(result.batches.map((b) => [b.position, b.lastOffset - b.baseOffset, b.maxTimestamp])).toEqual([
      [0, 2n, 1_000_002n],
      [result.batches[0].sizeBytes, 1n, 6n],
    ])
  })

  it('refuses a flipped byte inside the CRC with CORRUPT_MESSAGE, naming the batch', () => {
    const second = makeBatch({ records: 2 })
    second[second.length - 3] ^= 0xff
    expect(validateAppend(concat(makeBatch(), second), leader)).toMatchObject({ kind: 'invalid_batch', error: ErrorCode.CORRUPT_MESSAGE, batchIndex: 1 })
  })

  it('refuses a partial trailing batch, and an empty buffer', () => {
    const batch = makeBatch()
    expect(validateAppend(concat(batch, batch.subarray(0, 30)), leader)).toMatchObject({ error: ErrorCode.CORRUPT_MESSAGE, batchIndex: 1 })
    expect(validateAppend(Buffer.alloc(0), leader)).toMatchObject({ error: ErrorCode.INVALID_RECORD })
  })

  it('applies max.message.bytes and segment size to leaders only', () => {
    const big = makeBatch({ records: 4, valueBytes: 400 })
    expect(validateAppend(big, { ...leader, maxMessageBytes: 1000 })).toMatchObject({ error: ErrorCode.MESSAGE_TOO_LARGE })
    expect(validateAppend(big, { ...leader, segmentBytes: 1000 })).toMatchObject({ error: ErrorCode.RECORD_LIST_TOO_LARGE })
    const stamped = makeBatch({ records: 4, valueBytes: 400, partitionLeaderEpoch: 0 })
    expect(validateAppend(stamped, { ...follower, maxMessageBytes: 1000, segmentBytes: 1000 }).kind).toBe('ok')
  })

  it('refuses control batches and negative timestamps from producers', () => {
    const control = makeBatch()
    // The control bit is inside the CRC: set it and checksum again, so only the bit differs.
    control.writeInt16BE(control.readInt16BE(RecordBatchLayout.attributesPos) | BatchAttributes.controlBit, RecordBatchLayout.attributesPos)
    control.writeUInt32BE(crc32c(control.subarray(RecordBatchLayout.attributesPos)), RecordBatchLayout.crcPos)
    expect(validateAppend(control, leader)).toMatchObject({ error: ErrorCode.INVALID_RECORD, reason: expect.stringMatching(/control/) })
    const negative = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: -5n }] })
    expect(validateAppend(negative, leader)).toMatchObject({ error: ErrorCode.INVALID_TIMESTAMP })
  })

  it('requires a follower append to carry increasing offsets (gaps allowed: a compacted leader) and non-decreasing epochs', () => {
    const a = makeBatch({ records: 2, baseOffset: 10n, partitionLeaderEpoch: 3 })
    expect(validateAppend(concat(a, makeBatch({ baseOffset: 12n, partitionLeaderEpoch: 3 })), follower).kind).toBe('ok')
    expect(validateAppend(concat(a, makeBatch({ baseOffset: 13n, partitionLeaderEpoch: 3 })), follower).kind).toBe('ok')
    expect(validateAppend(concat(a, makeBatch({ baseOffset: 11n, partitionLeaderEpoch: 3 })), follower)).toMatchObject({ error: ErrorCode.INVALID_RECORD, batchIndex: 1 })
    expect(validateAppend(concat(a, makeBatch({ baseOffset: 12n, partitionLeaderEpoch: 2 })), follower)).toMatchObject({ error: ErrorCode.INVALID_RECORD, batchIndex: 1 })
    expect(validateAppend(makeBatch({ baseOffset: 0n }), follower)).toMatchObject({ error: ErrorCode.INVALID_RECORD, reason: expect.stringMatching(/no leader epoch/) })
  })
  it('checks a follower batch by header and CRC: a compacted batch (fewer records than offsets) passes, a flipped byte does not', () => {
    const compacted = makeBatch({ records: 2, baseOffset: 20n, partitionLeaderEpoch: 1 })
    compacted.writeInt32BE(5, RecordBatchLayout.lastOffsetDeltaPos)
    compacted.writeUInt32BE(crc32c(compacted.subarray(RecordBatchLayout.attributesPos)), RecordBatchLayout.crcPos)
    const result = validateAppend(concat(compacted, makeBatch({ baseOffset: 26n, partitionLeaderEpoch: 1 })), follower)
    expect(result).toMatchObject({ kind: 'ok', batches: [{ baseOffset: 20n, lastOffset: 25n }, { baseOffset: 26n }] })
    expect(validateAppend(compacted, leader)).toMatchObject({ error: ErrorCode.CORRUPT_MESSAGE })
    const flipped = makeBatch({ baseOffset: 26n, partitionLeaderEpoch: 1 })
    flipped[flipped.length - 1] ^= 0x10
    expect(validateAppend(flipped, follower)).toMatchObject({ error: ErrorCode.CORRUPT_MESSAGE, reason: expect.stringMatching(/CRC/) })
  })
})
