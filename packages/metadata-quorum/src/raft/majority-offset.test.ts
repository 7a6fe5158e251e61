import { describe, expect, it } from 'vitest'
import { majorityOffset, majoritySize } from './majority-offset.js'

describe('majorityOffset', () => {
  it('is the offset a majority has reached', () => {
    expect(majorityOffset([10])).toBe(10)
    expect(majorityOffset([10, 5, 7])).toBe(7)
    expect(majorityOffset([5, 10, 7, 3])).toBe(5)
    expect(majorityOffset([1, 2, 3, 4, 5])).toBe(3)
  })

  it('is -1 while a majority has reported nothing', () => {
    expect(majorityOffset([10, -1, -1])).toBe(-1)
    expect(majorityOffset([10, 4, -1])).toBe(4)
  })

  it('never exceeds what a majority holds (property)', () => {
    for (let n = 1; n <= 7; n++) {
      for (let trial = 0; trial < 200; trial++) {
        const offsets = Array.from({ length: n }, (_, i) => ((trial * 7919 + i * 104729) % 23) - 1)
        const m = majorityOffset(offsets)
        expect(offsets.filter((o) => o >= m).length).toBeGreaterThanOrEqual(majoritySize(n))
        expect(offsets.filter((o) => o >= m + 1).length).toBeLessThan(majoritySize(n))
      }
    }
  })

  it('majoritySize', () => {
    expect([1, 2, 3, 4, 5].map(majoritySize)).toEqual([1, 2, 2, 3, 3])
  })
})
