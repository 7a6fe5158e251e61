import { describe, expect, it } from 'vitest'
import { TimeIndex } from './time-index.js'

describe('TimeIndex', () => {
  it('keeps only increasing timestamps and looks up strictly before a timestamp', () => {
    const t = new TimeIndex()
    expect(t.maybeAppend(100, 0)).toBe(true)
    expect(t.maybeAppend(100, 3)).toBe(false)
    expect(t.maybeAppend(90, 4)).toBe(false)
    expect(t.maybeAppend(200, 9)).toBe(true)
    expect(t.lookupBefore(100)).toBeNull()
    expect(t.lookupBefore(101)).toEqual({ timestampMs: 100, relativeOffset: 0 })
    expect(t.lookupBefore(200)).toEqual({ timestampMs: 100, relativeOffset: 0 })
    expect(t.lookupBefore(10_000)).toEqual({ timestampMs: 200, relativeOffset: 9 })
  })

  it('round-trips and truncates by offset', () => {
    const t = new TimeIndex()
    t.maybeAppend(1_700_000_000_000, 5)
    t.maybeAppend(1_700_000_000_500, 10)
    const decoded = TimeIndex.decode(t.encode(), 100)
    expect(decoded.kind).toBe('ok')
    if (decoded.kind !== 'ok') return
    expect(decoded.index.last()).toEqual({ timestampMs: 1_700_000_000_500, relativeOffset: 10 })
    decoded.index.truncateToOffset(10)
    expect(decoded.index.last()).toEqual({ timestampMs: 1_700_000_000_000, relativeOffset: 5 })
    expect(TimeIndex.decode(t.encode(), 10).kind).toBe('invalid')
    expect(TimeIndex.decode(t.encode().subarray(0, 13), 100).kind).toBe('invalid')
  })
})
