/**
 * The fault phase's timer, shared by the simulators: a fault every faultGapMinMs to
 * faultGapMaxMs (drawn from the fault random), none scheduled at or past faultPhaseMs, and
 * none injected once the run has healed. What a fault is stays the simulator's own.
 */
import type { Random } from '../util/random.js'
import type { SimClock } from './sim-clock.js'
import { between } from './sim-random.js'

export interface FaultTiming {
  readonly faultPhaseMs: number
  readonly faultGapMinMs: number
  readonly faultGapMaxMs: number
}

export function scheduleFaults(clock: SimClock, random: Random, timing: FaultTiming, healed: () => boolean, inject: () => void): void {
  const gapMs = between(random, timing.faultGapMinMs, timing.faultGapMaxMs)
  if (clock.nowMs + gapMs >= timing.faultPhaseMs) return
  clock.scheduleAfter(gapMs, () => {
    if (healed()) return
    inject()
    scheduleFaults(clock, random, timing, healed, inject)
  })
}
