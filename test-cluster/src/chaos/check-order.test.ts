import { describe, expect, it } from 'vitest'
import { checkOrder, longestIncreasingLength } from './check-order.ts'
import { encodeValue, type HistoryEntry, type ReadBack } from './history.ts'

function sends(producer: string, seqs: readonly number[], partition = 0): HistoryEntry[] {
  return seqs.map((seq) => ({ op: { producer, seq, topic: 't', partition, key: 'k', sentAtMs: seq }, outcome: { kind: 'pending' } }))
}

function readBack(values: readonly string[], partition = 0): ReadBack {
  return { topic: 't', partition, records: values.map((value, i) => ({ offset: BigInt(i), value })), highWatermark: BigInt(values.length), logStartOffset: 0n }
}

const v = (producer: string, seq: number): string => encodeValue(producer, seq, 8)

describe('longestIncreasingLength', () => {
  it('measures the longest strictly increasing subsequence', () => {
    expect(longestIncreasingLength([])).toBe(0)
    expect(longestIncreasingLength([1, 2, 3])).toBe(3)
    expect(longestIncreasingLength([3, 2, 1])).toBe(1)
    expect(longestIncreasingLength([5, 1, 2, 3, 4])).toBe(4)
    expect(longestIncreasingLength([1, 1, 1])).toBe(1)
    expect(longestIncreasingLength([2, 6, 3, 4, 1, 5])).toBe(4)
  })
})

describe('checkOrder', () => {
  const entries = [...sends('a', [0, 1, 2, 3, 4]), ...sends('b', [0, 1, 2])]

  it('accepts interleaved producers each in order, with gaps in seq', () => {
    const rb = readBack([v('a', 0), v('b', 0), v('a', 2), v('b', 1), v('a', 4), v('b', 2)])
    expect(checkOrder(entries, [rb])).toEqual({ counts: { reordered: 0 }, violations: [] })
  })

  it('counts one moved record once, however far it moved', () => {
    const rb = readBack([v('a', 4), v('a', 0), v('a', 1), v('a', 2), v('a', 3)])
    const result = checkOrder(entries, [rb])
    expect(result.counts.reordered).toBe(1)
    expect(result.violations).toHaveLength(1)
    expect(result.violations[0].detail).toContain('seq 0 at offset 1 after seq 4 at offset 0')
  })

  it('counts per producer and sorts by offset first', () => {
    const rb: ReadBack = { ...readBack([]), records: [{ offset: 3n, value: v('b', 0) }, { offset: 0n, value: v('a', 1) }, { offset: 1n, value: v('a', 0) }, { offset: 2n, value: v('b', 1) }] }
    expect(checkOrder(entries, [rb]).counts.reordered).toBe(2)
  })

  it('ignores later copies, phantoms and unparseable values', () => {
    // c's records were sent to partition 1: in partition 0 they are phantoms, whatever their order.
    const withC = [...entries, ...sends('c', [0, 1], 1)]
    const rb = readBack([v('a', 0), v('a', 1), v('a', 0), 'junk', v('zz', 1), v('zz', 0), v('c', 1), v('c', 0), v('b', 1), v('b', 2)])
    expect(checkOrder(withC, [rb]).counts.reordered).toBe(0)
  })
})
