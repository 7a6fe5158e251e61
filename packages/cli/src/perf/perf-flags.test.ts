import { describe, expect, it } from 'vitest'
import { bootstrapFlag, intFlag, throughputFlag } from './perf-flags.js'
import { defaultSendsInFlight, perfPayload } from './producer-perf.js'

describe('perf tool flags', () => {
  it('integers with a bound, a default, and the flag named when bad', () => {
    expect(intFlag('--n', '42', 1)).toBe(42)
    expect(intFlag('--n', undefined, 1, 7)).toBe(7)
    expect(() => intFlag('--n', undefined, 1)).toThrow('--n is required')
    expect(() => intFlag('--n', '0', 1)).toThrow("--n: '0' is not an integer >= 1")
    expect(() => intFlag('--n', '1e3', 1)).toThrow(/--n/)
    expect(() => intFlag('--n', 'abc', 1)).toThrow(/--n/)
  })

  it('--throughput: any negative is unthrottled (-1), 0 is refused', () => {
    expect(throughputFlag('-1')).toBe(-1)
    expect(throughputFlag('-20')).toBe(-1)
    expect(throughputFlag('10000')).toBe(10_000)
    expect(() => throughputFlag('0')).toThrow(/never send/)
  })

  it('--bootstrap-server defaults to the local cluster (localhost:9092 first) and checks host:port', () => {
    expect(bootstrapFlag(undefined)).toEqual(['localhost:9092', 'localhost:9093', 'localhost:9094'])
    expect(bootstrapFlag('a:1,b:2')).toEqual(['a:1', 'b:2'])
    expect(() => bootstrapFlag('nohost')).toThrow(/not host:port/)
  })

  it('send() calls in flight by default fill buffer.memory, at least one', () => {
    expect(defaultSendsInFlight(32 * 1024 * 1024, 100, 100)).toBe(3355)
    expect(defaultSendsInFlight(1000, 100, 1024)).toBe(1)
    expect(defaultSendsInFlight(1000, 1, 0)).toBe(1000)
  })

  it('the payload is the same every run and does not compress', () => {
    const a = perfPayload(4096)
    expect(a.equals(perfPayload(4096))).toBe(true)
    expect(new Set(a).size).toBeGreaterThan(200)
  })
})
