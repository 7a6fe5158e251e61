/**
 * Helpers over the injected `Random` for the simulator. Every random choice of a run comes
 * from one SeededRandom; sub-generators are forked from it deterministically so adding a
 * draw in one component (say the workload) does not shift the choices of another (say the
 * network) for the same seed.
 */
import { SeededRandom, type Random } from '../util/random.js'

/** A new generator whose seed is drawn from `parent`. */
export function forkRandom(parent: Random): SeededRandom {
  return new SeededRandom(Math.floor(parent.next() * 4294967296))
}

/** True with probability p. */
export function chance(random: Random, p: number): boolean {
  return p > 0 && random.next() < p
}

/** An integer in [lo, hi], both inclusive. */
export function between(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random.next() * (hi - lo + 1))
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random.next() * items.length)]
}

/** A random subset of `items` (each kept with probability 1/2), order preserved. */
export function subset<T>(random: Random, items: readonly T[]): T[] {
  return items.filter(() => random.next() < 0.5)
}

/**
 * A key of `weights` drawn with probability proportional to its weight (in the object's key
 * order), or null when every weight is 0. Draws one number, none when the weights sum to 0.
 */
export function pickWeighted<K extends string>(random: Random, weights: Readonly<Record<K, number>>): K | null {
  const kinds = Object.entries(weights) as Array<[K, number]>
  const total = kinds.reduce((sum, [, weight]) => sum + weight, 0)
  if (total === 0) return null
  let x = random.next() * total
  for (const [k, weight] of kinds) {
    if (x < weight) return k
    x -= weight
  }
  // Only floating-point rounding gets here; the first kind, as the loop's default.
  return kinds[0][0]
}

/** `items` shuffled and cut in two at a random point, both halves non-empty (needs 2+ items). */
export function randomCut<T>(random: Random, items: readonly T[]): [T[], T[]] {
  const order = shuffled(random, items)
  const cut = between(random, 1, order.length - 1)
  return [order.slice(0, cut), order.slice(cut)]
}

/** A deterministic Fisher-Yates shuffle (returns a new array). */
export function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1))
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
