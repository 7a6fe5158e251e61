import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRecordBatch } from './encode-record-batch.js'
import { RecordBatchLayout as L } from './layout.js'
import { batchInputArb, withFreshCrc } from './test-batches.js'
import { validateBatch } from './validate-batch.js'
import { validateReplicatedBatch } from './validate-replicated-batch.js'

const batch = (records = 3): Buffer =>
  encodeRecordBatch({ baseOffset: 10n, partitionLeaderEpoch: 2, records: Array.from({ length: records }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: 1000n + BigInt(i) })) })

describe('validateReplicatedBatch', () => {
  it('accepts every batch validateBatch accepts', () => {
    fc.assert(
      fc.property(batchInputArb, (input) => {
        const buf = encodeRecordBatch(input)
        expect(validateReplicatedBatch(buf)).toEqual(validateBatch(buf))
      }),
      { numRuns: 200 },
    )
  })

  it('refuses a flipped byte anywhere the CRC covers, bad framing, and a wrong magic', () => {
    const flipped = batch()
    flipped[flipped.length - 2] ^= 0x01
    expect(validateReplicatedBatch(flipped)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/CRC mismatch/) })
    expect(validateReplicatedBatch(batch().subarray(0, 40))).toMatchObject({ kind: 'corrupt' })
    expect(validateReplicatedBatch(Buffer.concat([batch(), Buffer.alloc(1)]))).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/follow/) })
    const magic = batch()
    magic.writeInt8(1, L.magicPos)
    expect(validateReplicatedBatch(magic)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/magic/) })
  })

  it('accepts the shapes log compaction leaves (fewer records than offsets, even none) and refuses more records than offsets', () => {
    const gapped = withFreshCrc(batch(3))
    gapped.writeInt32BE(7, L.lastOffsetDeltaPos)
    expect(validateReplicatedBatch(withFreshCrc(gapped)).kind).toBe('ok')
    const empty = batch(1)
    empty.writeInt32BE(0, L.recordCountPos)
    expect(validateReplicatedBatch(withFreshCrc(empty)).kind).toBe('ok')
    const crowded = batch(3)
    crowded.writeInt32BE(1, L.lastOffsetDeltaPos)
    expect(validateReplicatedBatch(withFreshCrc(crowded))).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/cannot hold 3 records/) })
    const negative = batch(1)
    negative.writeInt32BE(-1, L.recordCountPos)
    expect(validateReplicatedBatch(withFreshCrc(negative))).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/record count/) })
  })

  it('refuses an unknown compression id, a negative base offset and an idempotent batch without a sequence', () => {
    const compression = batch()
    compression.writeInt16BE(compression.readInt16BE(L.attributesPos) | 0x07, L.attributesPos)
    expect(validateReplicatedBatch(withFreshCrc(compression))).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/compression id 7/) })
    const offset = batch()
    offset.writeBigInt64BE(-1n, L.baseOffsetPos)
    expect(validateReplicatedBatch(offset)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/negative/) })
    const sequence = batch()
    sequence.writeBigInt64BE(5n, L.producerIdPos)
    sequence.writeInt32BE(-1, L.baseSequencePos)
    expect(validateReplicatedBatch(withFreshCrc(sequence))).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/baseSequence/) })
  })

  it('does not walk the records: a record region the leader would refuse passes once its CRC matches (the leader validated it)', () => {
    const mangled = batch(3)
    mangled.fill(0xff, L.recordsPos, L.recordsPos + 4)
    withFreshCrc(mangled)
    expect(validateBatch(mangled).kind).toBe('corrupt')
    expect(validateReplicatedBatch(mangled).kind).toBe('ok')
  })
})
