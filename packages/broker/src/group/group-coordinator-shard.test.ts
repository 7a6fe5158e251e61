import { describe, expect, it } from 'vitest'
import { coordinatorPartition } from './group-coordinator-shard.js'

describe('coordinatorPartition', () => {
  it('matches Kafka: abs(Java String.hashCode) % partitions', () => {
    // Java: "hello".hashCode() == 99162322; "".hashCode() == 0;
    // "polygenelubricants".hashCode() == Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
    expect(coordinatorPartition('hello', 50)).toBe(99162322 % 50)
    expect(coordinatorPartition('', 50)).toBe(0)
    expect(coordinatorPartition('polygenelubricants', 50)).toBe(0)
    // "Aa".hashCode() == 2112 (and "BB" collides with it).
    expect(coordinatorPartition('Aa', 7)).toBe(2112 % 7)
    expect(coordinatorPartition('BB', 7)).toBe(2112 % 7)
  })
})
