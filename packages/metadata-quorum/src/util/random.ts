/** Injected randomness. The pure core never calls Math.random. */
export interface Random {
  /** A float in [0, 1). */
  next(): number
}

/** An integer in [0, maxExclusive). */
export function randomInt(random: Random, maxExclusive: number): number {
  return Math.floor(random.next() * maxExclusive)
}

/**
 * A small seeded generator (splitmix32 seeding into xorshift128+ style state, 32-bit).
 * Deterministic for a seed, which is what the simulator and tests need.
 */
export class SeededRandom implements Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = split()
    this.b = split()
    this.c = split()
    this.d = split()
  }

  /** sfc32 */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t / 4294967296
  }
}

/** Randomness for real processes: not seeded, not for the core's tests. */
export const systemRandom: Random = { next: () => Math.random() }
