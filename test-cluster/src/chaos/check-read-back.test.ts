import { describe, expect, it } from 'vitest'
import { checkReadBack, indexReadBacks } from './check-read-back.ts'
import { encodeValue, type HistoryEntry, type ReadBack, type SendOutcome } from './history.ts'

function entry(seq: number, outcome: SendOutcome, partition = 0, producer = 'p'): HistoryEntry {
  return { op: { producer, seq, topic: 't', partition, key: 'k', sentAtMs: seq }, outcome }
}
const ack = (offset: bigint): SendOutcome => ({ kind: 'ack', offset, atMs: 1 })
const unknown: SendOutcome = { kind: 'fail', error: 'DeliveryTimeout', definite: false, atMs: 1 }
const v = (seq: number, producer = 'p'): string => encodeValue(producer, seq, 12)

function readBack(values: readonly string[], partition = 0, logStartOffset = 0n): ReadBack {
  const records = values.map((value, i) => ({ offset: logStartOffset + BigInt(i), value }))
  return { topic: 't', partition, records, highWatermark: logStartOffset + BigInt(values.length), logStartOffset }
}

describe('checkReadBack', () => {
  it('accepts acks at their offsets, indeterminate sends written or not, and definite failures absent', () => {
    const entries = [entry(0, ack(0n)), entry(1, unknown), entry(2, { kind: 'pending' }), entry(3, ack(2n)), entry(4, { kind: 'fail', error: 'INVALID_RECORD', definite: true, atMs: 1 })]
    const result = checkReadBack(entries, [readBack([v(0), v(1), v(3)])])
    expect(result.violations).toEqual([])
    expect(result.counts).toEqual({
      acknowledged: 2, failedDefinite: 1, indeterminate: 2, indeterminateWritten: 1, readBackRecords: 3,
      lost: 0, wrongOffset: 0, duplicated: 0, phantom: 0, failedButWritten: 0, belowLogStart: 0,
    })
  })

  it('judges a record read back twice, one copy at its offset, as duplicated only', () => {
    const result = checkReadBack([entry(0, ack(0n))], [readBack([v(0), v(0)])])
    expect(result.counts).toMatchObject({ duplicated: 1, wrongOffset: 0, lost: 0 })
    expect(result.violations[0].detail).toBe('p:0 in t-0 2 times, at offsets 0, 1 (acknowledged at 0)')
  })

  it('counts a payload once however many extra copies it has', () => {
    expect(checkReadBack([entry(0, unknown)], [readBack([v(0), v(0), v(0)])]).counts.duplicated).toBe(1)
  })

  it('calls a record acknowledged in a partition never read back lost', () => {
    const result = checkReadBack([entry(0, ack(0n), 3)], [])
    expect(result.counts.lost).toBe(1)
    expect(result.violations[0].detail).toContain('no read-back of t-3')
  })

  it('calls a record found only in another partition lost there and a phantom here', () => {
    const result = checkReadBack([entry(0, ack(0n), 1)], [readBack([v(0)], 0), readBack([], 1)])
    expect(result.counts).toMatchObject({ lost: 1, phantom: 1 })
  })

  it('does not judge acknowledged offsets below the log start offset', () => {
    const result = checkReadBack([entry(0, ack(0n)), entry(1, ack(1n))], [readBack([v(1)], 0, 1n)])
    expect(result.violations).toEqual([])
    expect(result.counts.belowLogStart).toBe(1)
  })

  it('rejects two read-backs of one partition', () => {
    expect(() => indexReadBacks([readBack([]), readBack([])])).toThrow(/two read-backs/)
  })
})
