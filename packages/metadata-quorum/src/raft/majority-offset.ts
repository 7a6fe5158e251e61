/**
 * Quorum math for the high watermark (Raft §5.3/§5.4.2, KIP-595): the largest offset o such
 * that a majority of the given replicas have an end offset >= o. Unknown progress is -1,
 * and the answer is -1 when no majority knows anything.
 */
import type { Offset } from './types.js'
import { assert } from '../util/assert.js'

export function majorityOffset(endOffsets: readonly Offset[]): Offset {
  assert(endOffsets.length > 0, 'majority of an empty voter set')
  const sorted = [...endOffsets].sort((a, b) => b - a)
  // With n voters, the replica at index floor(n/2) of the descending order is the one that
  // completes a majority (floor(n/2) + 1 replicas are at or above it).
  return sorted[Math.floor(sorted.length / 2)]
}

/** How many votes make a majority of `voterCount` voters. */
export function majoritySize(voterCount: number): number {
  assert(voterCount > 0, 'majority of an empty voter set')
  return Math.floor(voterCount / 2) + 1
}
