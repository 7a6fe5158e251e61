/**
 * Partition options for tests (not built into dist): replica 0 of topic 'orders' in
 * <root>/orders-0, fsync durability, settings that never roll or delete, a clock fixed at
 * 1000 ms, counted fsyncs, and callbacks that do nothing; `overrides` changes any of it.
 */
import { join } from 'node:path'
import { silentLogger } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import { CountingSyncOps } from '../log/test-support.js'
import type { PartitionOptions } from './partition.js'

export const TEST_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'

export function testPartitionOptions(root: string, brokerId: NodeId, overrides: Partial<PartitionOptions> = {}): PartitionOptions {
  return {
    dir: join(root, 'orders-0'),
    topicName: 'orders',
    topicId: TEST_TOPIC_ID,
    partitionId: 0,
    brokerId,
    durability: 'fsync',
    replicaLagTimeMaxMs: 1000,
    settings: { segmentBytes: 1 << 20, rollMs: 1e9, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1 << 20, minInsyncReplicas: 1 },
    logger: silentLogger,
    clock: () => 1_000,
    syncOps: new CountingSyncOps(),
    onStorageFailure: () => {},
    onAlterPartitionReady: () => {},
    ...overrides,
  }
}
