/**
 * The one clock of a chaos run's history: milliseconds since the Unix epoch, but monotonic
 * (performance.timeOrigin + performance.now()), so a wall-clock step during a run cannot
 * reorder sends, acknowledgments and faults. Rounded to 0.1 ms.
 */
import { performance } from 'node:perf_hooks'

export function chaosNowMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 10) / 10
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
