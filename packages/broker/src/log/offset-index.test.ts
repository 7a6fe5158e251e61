import { describe, expect, it } from 'vitest'
import { OffsetIndex } from './offset-index.js'

describe('OffsetIndex', () => {
  const index = (): OffsetIndex => {
    const i = new OffsetIndex()
    for (let k = 1; k <= 200; k++) i.append(k * 10 - 1, k * 5000)
    return i
  }

  it('looks up the largest entry at or below an offset', () => {
    const i = index()
    expect(i.lookup(8)).toBeNull()
    expect(i.lookup(9)).toEqual({ relativeOffset: 9, position: 5000 })
    expect(i.lookup(18)).toEqual({ relativeOffset: 9, position: 5000 })
    expect(i.lookup(1999)).toEqual({ relativeOffset: 1999, position: 1_000_000 })
    expect(i.lookup(5000)).toEqual({ relativeOffset: 1999, position: 1_000_000 })
  })

  it('round-trips through its file format and drops entries past a cut', () => {
    const i = index()
    const decoded = OffsetIndex.decode(i.encode(), 2_000_000, 2000)
    expect(decoded.kind).toBe('ok')
    if (decoded.kind !== 'ok') return
    expect(decoded.index.length).toBe(200)
    expect(decoded.index.encode().equals(i.encode())).toBe(true)
    decoded.index.truncateToPosition(10_000)
    expect(decoded.index.last()).toEqual({ relativeOffset: 9, position: 5000 })
  })

  it('refuses a file with a partial entry, entries that do not increase, or positions past the log', () => {
    const bytes = index().encode()
    expect(OffsetIndex.decode(bytes.subarray(0, 12), 2_000_000, 2000).kind).toBe('invalid')
    expect(OffsetIndex.decode(bytes, 999_999, 2000)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/position 1000000/) })
    expect(OffsetIndex.decode(bytes, 2_000_000, 1000)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/relative offset/) })
    const swapped = Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8)])
    expect(OffsetIndex.decode(swapped, 2_000_000, 2000)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/does not increase/) })
  })
})
