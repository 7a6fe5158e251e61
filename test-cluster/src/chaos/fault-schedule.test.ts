import { describe, expect, it } from 'vitest'
import { BROKER_SESSION_TIMEOUT_MS } from './chaos-limits.ts'
import { FAULT_KINDS, FaultSchedule, parseFaultKinds, pickOne } from './fault-schedule.ts'

describe('FaultSchedule', () => {
  it('replays the same plans for the same seed, and others for another seed', () => {
    const plans = (seed: number) => {
      const s = new FaultSchedule(seed, FAULT_KINDS)
      return Array.from({ length: 20 }, () => s.next())
    }
    expect(plans(7)).toEqual(plans(7))
    expect(plans(7)).not.toEqual(plans(8))
  })

  it('runs every kind once per round, and every partition shape once per round of partitions', () => {
    const s = new FaultSchedule(42, FAULT_KINDS)
    const plans = Array.from({ length: FAULT_KINDS.length * 3 }, () => s.next())
    for (let r = 0; r < 3; r++) {
      expect(new Set(plans.slice(r * FAULT_KINDS.length, (r + 1) * FAULT_KINDS.length).map((p) => p.kind))).toEqual(new Set(FAULT_KINDS))
    }
    expect(new Set(plans.filter((p) => p.kind === 'partition').map((p) => p.shape))).toEqual(new Set(['isolate-controller', 'isolate-node', 'cut-link']))
    expect(plans.filter((p) => p.kind !== 'partition').every((p) => p.shape === null)).toBe(true)
  })

  it('pauses longer than the broker session timeout, and restarts without a hold', () => {
    const s = new FaultSchedule(3, ['pause', 'restart'])
    for (let i = 0; i < 40; i++) {
      const p = s.next()
      if (p.kind === 'pause') expect(p.holdMs).toBeGreaterThan(BROKER_SESSION_TIMEOUT_MS)
      else expect(p.holdMs).toBe(0)
      expect(p.pick).toBeGreaterThanOrEqual(0)
      expect(p.pick).toBeLessThan(1)
    }
  })

  it('parses fault lists and names the first unknown kind', () => {
    expect(parseFaultKinds('kill-leader, pause,kill-leader')).toEqual({ kinds: ['kill-leader', 'pause'] })
    expect(parseFaultKinds('kill-leader,nuke')).toEqual({ unknown: 'nuke' })
  })

  it('pickOne maps [0, 1) onto the candidates', () => {
    expect(pickOne([], 0.5)).toBeNull()
    expect(pickOne([1, 2, 3], 0)).toBe(1)
    expect(pickOne([1, 2, 3], 0.999)).toBe(3)
  })
})
