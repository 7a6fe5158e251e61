import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRecordBatch } from './encode-record-batch.js'
import { iterateBatches, type BatchScan } from './iterate-batches.js'
import { RecordBatchLayout as L } from './layout.js'
import { batchInputArb } from './test-batches.js'
import { validateBatch } from './validate-batch.js'

const batchesArb = fc.array(batchInputArb.map((input) => encodeRecordBatch(input)), { minLength: 1, maxLength: 5 })

function startsOf(batches: Buffer[]): number[] {
  const starts: number[] = []
  let position = 0
  for (const b of batches) {
    starts.push(position)
    position += b.length
  }
  return starts
}

describe('iterateBatches', () => {
  it('yields every batch of a concatenation with its position and header, and nothing else', () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const log = Buffer.concat(batches)
        const scans = [...iterateBatches(log)]
        expect(scans.map((s) => s.kind)).toEqual(batches.map(() => 'batch'))
        expect(scans.map((s) => s.position)).toEqual(startsOf(batches))
        for (const scan of scans) {
          if (scan.kind !== 'batch') continue
          expect(validateBatch(log.subarray(scan.position, scan.position + scan.header.sizeBytes)).kind).toBe('ok')
        }
      }),
      { numRuns: 100 },
    )
  })

  it('stops with truncated at a torn tail, wherever the write was cut', () => {
    fc.assert(
      fc.property(batchesArb, fc.nat(), (batches, cutSeed) => {
        const log = Buffer.concat(batches)
        const lastStart = startsOf(batches)[batches.length - 1]
        // Cut inside the last batch: at least one byte of it present, at least one missing.
        const cut = lastStart + 1 + (cutSeed % (log.length - lastStart - 1))
        const scans = [...iterateBatches(log.subarray(0, cut))]
        expect(scans).toHaveLength(batches.length)
        expect(scans.slice(0, -1).every((s) => s.kind === 'batch')).toBe(true)
        expect(scans[scans.length - 1]).toMatchObject({ kind: 'truncated', position: lastStart })
      }),
    )
  })

  it('yields nothing for an empty buffer or a start at the end', () => {
    expect([...iterateBatches(Buffer.alloc(0))]).toEqual([])
    const one = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 0n }] })
    expect([...iterateBatches(one, one.length)]).toEqual([])
  })

  it('starts at a given position', () => {
    const one = encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 0n }] })
    const scans = [...iterateBatches(Buffer.concat([one, one]), one.length)]
    expect(scans.map((s) => [s.kind, s.position])).toEqual([['batch', one.length]])
  })

  it('stops with corrupt at zeroed preallocated space, a bad length or a bad magic', () => {
    const one = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: 0n }] })
    const expectTail = (tail: Buffer, kind: BatchScan['kind'], reason: RegExp): void => {
      const scans = [...iterateBatches(Buffer.concat([one, tail]))]
      expect(scans).toHaveLength(2)
      expect(scans[1]).toMatchObject({ kind, position: one.length })
      if (scans[1].kind !== 'batch') expect(scans[1].reason).toMatch(reason)
    }
    expectTail(Buffer.alloc(100), 'corrupt', /batchLength 0/)
    expectTail(Buffer.alloc(10), 'truncated', /10 bytes remain/)
    const negative = Buffer.from(one)
    negative.writeInt32BE(-7, L.batchLengthPos)
    expectTail(negative, 'corrupt', /batchLength -7/)
    const huge = Buffer.from(one)
    huge.writeInt32BE(0x7fffffff, L.batchLengthPos)
    expectTail(huge, 'corrupt', /exceeds the limit/)
    const magic = Buffer.from(one)
    magic.writeInt8(1, L.magicPos)
    expectTail(magic, 'corrupt', /magic 1/)
  })

  it('does not check CRCs: that is validateBatch on each yielded batch', () => {
    const one = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: 0n }] })
    one[one.length - 1] ^= 0xff
    const [scan] = [...iterateBatches(one)]
    expect(scan.kind).toBe('batch')
    expect(validateBatch(one)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/CRC mismatch/) })
  })

  it('never throws on arbitrary bytes, and ends within the buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes)
        const scans = [...iterateBatches(buf)]
        for (const [i, s] of scans.entries()) {
          expect(s.position).toBeLessThan(buf.length)
          if (s.kind !== 'batch') expect(i).toBe(scans.length - 1)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
