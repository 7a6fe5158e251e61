import { describe, expect, it } from 'vitest'
import { encodeValue, parseValue, partitionKey, sendId } from './history.ts'

describe('encodeValue / parseValue', () => {
  it('round-trips, padded to the requested size', () => {
    const v = encodeValue('p1', 42, 32)
    expect(v).toHaveLength(32)
    expect(v.startsWith('p1:42:')).toBe(true)
    expect(parseValue(v)).toEqual({ producer: 'p1', seq: 42 })
    expect(parseValue(encodeValue('p-7', 0))).toEqual({ producer: 'p-7', seq: 0 })
  })

  it('does not pad below the head', () => {
    expect(encodeValue('p1', 12345, 3)).toBe('p1:12345:')
  })

  it('rejects what encodeValue cannot have written', () => {
    for (const bad of ['', 'garbage', ':1:', 'p1:', 'p1:1', 'p1:x:', 'p1:01:', 'p1:-1:', 'p1:1.5:', 'p1:1:..x.', 'p1:99999999999999999999:']) {
      expect(parseValue(bad), bad).toBeNull()
    }
  })

  it('refuses producer ids and seqs it could not parse back', () => {
    expect(() => encodeValue('a:b', 1)).toThrow()
    expect(() => encodeValue('', 1)).toThrow()
    expect(() => encodeValue('p', -1)).toThrow()
    expect(() => encodeValue('p', 1.5)).toThrow()
  })

  it('names partitions and sends', () => {
    expect(partitionKey('t', 3)).toBe('t-3')
    expect(sendId('p2', 7)).toBe('p2:7')
  })
})
