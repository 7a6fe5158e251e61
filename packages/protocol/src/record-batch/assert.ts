/**
 * Marks a programmer error inside the codec (an encoder sizing bug, not bad input). Bad input
 * is CorruptBatchError or a validateBatch value; a caller's out-of-range argument is a
 * RangeError. Mirrors metadata-quorum's util/assert, which protocol cannot import.
 */
export class CodecAssertionError extends Error {
  override name = 'CodecAssertionError'
}

export function assert(cond: unknown, why: string): asserts cond {
  if (!cond) throw new CodecAssertionError(why)
}
