/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): MurmurHash2, 32-bit, seed
 * 0x9747b28c, little-endian 4-byte blocks. Keyed records go to
 * toPositive(murmur2(key)) % numPartitions, so a key lands on the partition a Java client
 * (and librdkafka's murmur2_random, franz-go's StickyKeyPartitioner) would choose.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/** The signed 32-bit hash, exactly as Java's int result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  // The last 1..3 bytes (Java's switch, whose cases fall through).
  const tail = length & ~3
  const rest = length % 4
  if (rest >= 3) h ^= (data[tail + 2]! & 0xff) << 16
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8
  if (rest >= 1) {
    h ^= data[tail]! & 0xff
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's BuiltInPartitioner.partitionForKey chooses. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions
}
