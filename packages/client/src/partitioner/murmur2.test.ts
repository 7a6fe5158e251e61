import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from './murmur2.js'
import { StickyPartitioner } from './sticky-partitioner.js'

// Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
const KAFKA_VECTORS: ReadonlyArray<readonly [Uint8Array, number]> = [
  [Buffer.from('21'), -973932308],
  [Buffer.from('foobar'), -790332482],
  [Buffer.from('a-little-bit-long-string'), -985981536],
  [Buffer.from('a-little-bit-longer-string'), -1486304829],
  [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
  [Buffer.from([97, 98, 99]), 479470107],
  // Generated with the JVM client 1.0.0 (sarama/kafkautil's partitioner tests): unaligned bytes.
  [Buffer.from([12, 42, 56, 24, 109, 111]), 274204207],
]

describe('murmur2 (Kafka compatible)', () => {
  it.each(KAFKA_VECTORS.map(([k, h]) => [Buffer.from(k).toString('hex'), k, h] as const))('key %s hashes as the Java client', (_hex, key, expected) => {
    expect(murmur2(key)).toBe(expected)
  })

  it('toPositive clears the sign bit as Utils.toPositive (the Java positive values)', () => {
    expect(toPositive(-973932308)).toBe(1173551340)
    expect(toPositive(-790332482)).toBe(1357151166)
    expect(toPositive(-1486304829)).toBe(661178819)
    expect(toPositive(-58897971)).toBe(2088585677)
    expect(toPositive(-2147483648)).toBe(0)
  })

  it('maps keys to toPositive(murmur2) % n, as BuiltInPartitioner.partitionForKey', () => {
    expect(partitionForKey(Buffer.from('21'), 12)).toBe(1173551340 % 12)
    expect(partitionForKey(Buffer.from('foobar'), 3)).toBe(1357151166 % 3)
    expect(partitionForKey(Buffer.from('abc'), 7)).toBe(479470107 % 7)
    for (let i = 0; i < 200; i++) {
      const p = partitionForKey(Buffer.from(`key-${i}`), 5)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThan(5)
    }
  })
})

describe('StickyPartitioner', () => {
  it('sticks to one partition until its batch is sealed, then moves to another', () => {
    let r = 0
    const seq = [0.1, 0.5, 0.9, 0.3]
    const p = new StickyPartitioner(() => seq[r++ % seq.length]!)
    const first = p.partition('t', 4)
    for (let i = 0; i < 10; i++) expect(p.partition('t', 4)).toBe(first)
    p.onBatchSealed('t', first, 4)
    const second = p.partition('t', 4)
    expect(second).not.toBe(first)
    // A seal of a partition that is no longer sticky changes nothing.
    p.onBatchSealed('t', first, 4)
    expect(p.partition('t', 4)).toBe(second)
  })

  it('keeps topics apart and stays in range when partitions shrink from its view', () => {
    const p = new StickyPartitioner(() => 0.99)
    expect(p.partition('a', 10)).toBe(9)
    expect(p.partition('b', 2)).toBe(1)
    expect(p.partition('a', 3)).toBe(2)
  })
})
