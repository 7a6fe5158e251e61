import { describe, expect, it } from 'vitest'
import { WarningThrottle } from './warning-throttle.js'

describe('WarningThrottle', () => {
  it('lets one warning through per interval and reports how many it held back', () => {
    let now = 5000
    const throttle = new WarningThrottle(1000, () => now)
    expect(throttle.next()).toEqual({ log: true, suppressed: 0 })
    for (let i = 0; i < 500; i++) expect(throttle.next()).toEqual({ log: false })
    now += 999
    expect(throttle.next()).toEqual({ log: false })
    now += 1
    expect(throttle.next()).toEqual({ log: true, suppressed: 501 })
    now += 1000
    expect(throttle.next()).toEqual({ log: true, suppressed: 0 })
  })
})
