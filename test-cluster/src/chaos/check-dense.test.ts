import { describe, expect, it } from 'vitest'
import { checkDense } from './check-dense.ts'
import type { ReadBack } from './history.ts'

function rb(offsets: readonly bigint[], highWatermark: bigint, logStartOffset = 0n): ReadBack {
  return { topic: 't', partition: 0, records: offsets.map((offset) => ({ offset, value: `v${offset}` })), highWatermark, logStartOffset }
}

describe('checkDense', () => {
  it('accepts dense offsets, an empty partition, and records before the log start', () => {
    expect(checkDense([rb([0n, 1n, 2n], 3n), rb([], 0n), rb([5n, 6n, 7n, 8n], 9n, 7n), rb([], 4n, 4n)]).counts.nonDense).toBe(0)
  })

  it('counts each gap once, including a missing tail', () => {
    const result = checkDense([rb([0n, 3n, 4n, 7n], 10n)])
    expect(result.counts.nonDense).toBe(3)
    expect(result.violations.map((v) => v.detail)).toEqual(['t-0: gap, offsets 1..2 missing', 't-0: gap, offsets 5..6 missing', 't-0: gap, offsets 8..9 missing (high watermark 10)'])
  })

  it('counts repeats, backwards offsets and records at or above the high watermark', () => {
    expect(checkDense([rb([0n, 1n, 1n, 2n], 3n)]).counts.nonDense).toBe(1)
    expect(checkDense([rb([0n, 2n, 1n], 3n)]).counts.nonDense).toBe(2) // gap at 1, then 1 out of order
    expect(checkDense([rb([0n, 1n, 2n], 2n)]).counts.nonDense).toBe(1)
  })

  it('flags a high watermark below the log start', () => {
    expect(checkDense([rb([], 2n, 5n)]).counts.nonDense).toBe(1)
  })
})
