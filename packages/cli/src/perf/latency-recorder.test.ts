import { describe, expect, it } from 'vitest'
import { LatencyRecorder } from './latency-recorder.js'

describe('LatencyRecorder', () => {
  it('is empty before the first sample', () => {
    expect(new LatencyRecorder().summary()).toEqual({ count: 0, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null, maxMs: null })
  })

  it('gives percentiles within 0.1% of the samples, sub-millisecond ones included', () => {
    const r = new LatencyRecorder()
    for (let i = 1; i <= 10_000; i++) r.record(i / 100) // 0.01 .. 100 ms
    const s = r.summary()
    expect(s.count).toBe(10_000)
    expect(s.p50Ms!).toBeCloseTo(50, 0)
    expect(Math.abs(s.p99Ms! - 99) / 99).toBeLessThan(0.001)
    expect(Math.abs(s.p999Ms! - 99.9) / 99.9).toBeLessThan(0.001)
    expect(s.maxMs).toBe(100)
    expect(s.avgMs!).toBeCloseTo(50.005, 1)
  })

  it('counts a send of n records as n samples of its latency', () => {
    const r = new LatencyRecorder()
    r.record(2, 99)
    r.record(40, 1)
    const s = r.summary()
    expect(s.count).toBe(100)
    expect(s.p50Ms!).toBeCloseTo(2, 2)
    expect(s.p99Ms!).toBeCloseTo(2, 2)
    expect(s.maxMs).toBe(40)
  })

  it('never reports a percentile above the exact max', () => {
    const r = new LatencyRecorder()
    r.record(1076.14)
    const s = r.summary()
    expect(s.p999Ms).toBeLessThanOrEqual(s.maxMs!)
    expect(s.maxMs).toBe(1076.14)
  })

  it('reset() forgets everything', () => {
    const r = new LatencyRecorder()
    r.record(5)
    r.reset()
    expect(r.count).toBe(0)
    expect(r.summary().maxMs).toBeNull()
  })
})
