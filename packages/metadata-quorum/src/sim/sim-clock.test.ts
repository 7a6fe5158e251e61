import { describe, expect, it } from 'vitest'
import { SimClock } from './sim-clock.js'
import { SeededRandom } from '../util/random.js'

describe('SimClock', () => {
  it('runs events in (time, scheduling order) order and advances time to each', () => {
    const clock = new SimClock()
    const seen: string[] = []
    clock.scheduleAt(10, () => seen.push(`a@${clock.nowMs}`))
    clock.scheduleAt(5, () => seen.push(`b@${clock.nowMs}`))
    clock.scheduleAt(10, () => seen.push(`c@${clock.nowMs}`))
    clock.scheduleAt(5, () => {
      seen.push(`d@${clock.nowMs}`)
      clock.scheduleAfter(0, () => seen.push(`e@${clock.nowMs}`))
    })
    while (clock.step(100)) { /* run all */ }
    expect(seen).toEqual(['b@5', 'd@5', 'e@5', 'a@10', 'c@10'])
    expect(clock.nowMs).toBe(100)
    expect(clock.eventsRun).toBe(5)
  })

  it('stops at the horizon and leaves later events pending', () => {
    const clock = new SimClock()
    let ran = 0
    clock.scheduleAt(50, () => ran++)
    expect(clock.step(49)).toBe(false)
    expect(clock.nowMs).toBe(49)
    expect(clock.pending).toBe(1)
    expect(clock.step(50)).toBe(true)
    expect(ran).toBe(1)
  })

  it('refuses events in the past', () => {
    const clock = new SimClock()
    clock.scheduleAt(10, () => {})
    clock.step(10)
    expect(() => clock.scheduleAt(9, () => {})).toThrow(/past/)
  })

  it('orders many random events like a stable sort by time', () => {
    const clock = new SimClock()
    const random = new SeededRandom(7)
    const expected: Array<[number, number]> = []
    const seen: Array<[number, number]> = []
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(random.next() * 300)
      expected.push([at, i])
      clock.scheduleAt(at, () => seen.push([at, i]))
    }
    while (clock.step(1000)) { /* run all */ }
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    expect(seen).toEqual(expected)
  })
})
