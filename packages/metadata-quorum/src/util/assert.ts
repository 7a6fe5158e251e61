/**
 * Marks a programmer error: a broken invariant ends the process. Expected outcomes are
 * values (discriminated unions), never exceptions.
 */
export class AssertionError extends Error {
  override name = 'AssertionError'
}

export function assert(cond: unknown, why: string): asserts cond {
  if (!cond) throw new AssertionError(why)
}
