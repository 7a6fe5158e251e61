import { describe, expect, it } from 'vitest'
import { throttleDelayMs } from './throttle.js'

describe('throttleDelayMs (Kafka ThroughputThrottler)', () => {
  it('never waits when unthrottled', () => {
    expect(throttleDelayMs(-1, 1_000_000, 0)).toBe(0)
  })

  it('waits until the next record is due at the target rate', () => {
    // 1000 records/s: record 500 is due at 500 ms.
    expect(throttleDelayMs(1000, 500, 200)).toBeCloseTo(300)
    expect(throttleDelayMs(1000, 0, 0)).toBe(0)
  })

  it('sends at once when behind schedule (catching up in a burst)', () => {
    expect(throttleDelayMs(1000, 500, 800)).toBe(0)
  })

  it('keeps a simulated sender at the target rate', () => {
    let now = 0
    let sent = 0
    while (sent < 10_000) {
      now += throttleDelayMs(10_000, sent, now)
      sent++
    }
    // 10,000 records at 10,000/s: the last one is due at 999.9 ms.
    expect(now).toBeCloseTo(999.9, 5)
  })
})
