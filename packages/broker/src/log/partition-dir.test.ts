import { describe, expect, it } from 'vitest'
import { parsePartitionDirName, partitionDir, partitionDirName } from './partition-dir.js'

describe('partition directory names', () => {
  it("are Kafka's <topic>-<partition>, and parse back even when the topic has dashes", () => {
    expect(partitionDirName('orders', 3)).toBe('orders-3')
    expect(partitionDir('/data/node-1', '__consumer_offsets', 49)).toBe('/data/node-1/__consumer_offsets-49')
    expect(parsePartitionDirName('my-topic.v2-12')).toEqual({ topic: 'my-topic.v2', partition: 12 })
    expect(parsePartitionDirName('__cluster_metadata-0')).toEqual({ topic: '__cluster_metadata', partition: 0 })
  })

  it('reject names that are not partition directories', () => {
    for (const name of ['orders', 'orders-', 'orders-01', '-3', 'orders-x', 'a/b-1', '..-1', 'orders-2147483648']) expect(parsePartitionDirName(name)).toBeNull()
    expect(() => partitionDirName('bad/topic', 0)).toThrow(/legal topic name/)
    expect(() => partitionDirName('orders', -1)).toThrow(/out of range/)
  })
})
