// The cleaner checkpoint across a follower truncation that stops half-way (a crash, or a
// storage failure): it must never be left above records the log will take from a new leader.
import type { FileHandle } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nodeSyncOps, type FsSyncOps } from '@tributary/metadata-quorum'
import { encodeRecordBatch, type NodeId } from '@tributary/protocol'
import { CLEANER_CHECKPOINT_FILE, readCleanerCheckpoint, writeCleanerCheckpoint } from '../log/cleaner/log-cleaner.js'
import { Partition } from './partition.js'
import { testPartitionOptions } from './test-partition.js'

const ME = 1 as NodeId
const LEADER = 2 as NodeId
let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-cleaner-checkpoint-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('Partition: the cleaner checkpoint and follower truncation', () => {
  it.each([false, true])('a truncation (full: %s) that fails before the checkpoint is lowered leaves no checkpoint above the log end', async (full) => {
    let failCheckpoint = false
    const syncOps: FsSyncOps = {
      datasync: (file: FileHandle, path: string) => nodeSyncOps.datasync(file, path),
      syncDir: (dir: string) => nodeSyncOps.syncDir(dir),
      async fsync(file: FileHandle, path: string): Promise<void> {
        if (failCheckpoint && path.includes(CLEANER_CHECKPOINT_FILE)) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })
        await nodeSyncOps.fsync(file, path)
      },
    }
    const settings = { segmentBytes: 1 << 20, rollMs: 1e9, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1 << 20, minInsyncReplicas: 1, cleanupPolicy: 'compact' }
    const p = await Partition.open(testPartitionOptions(root, ME, { syncOps, settings }))
    await p.makeFollower({ leader: LEADER, leaderEpoch: 0, partitionEpoch: 0, replicas: [LEADER, ME], isr: [LEADER, ME] })
    for (let i = 0; i < 10; i++) {
      const b = encodeRecordBatch({ baseOffset: BigInt(i), partitionLeaderEpoch: 0, records: [{ key: Buffer.from(`k${i % 3}`), value: Buffer.from(`v${i}`), timestamp: 1_000n }] })
      expect((await p.appendAsFollower(0, b)).kind).toBe('appended')
    }
    await p.flush()
    // A cleaner pass got to offset 8 (below the HW then; a crashed leader's successor lacks some of it).
    const dir = join(root, 'orders-0')
    await writeCleanerCheckpoint(dir, 8n, nodeSyncOps)

    failCheckpoint = true
    if (full) await p.truncateFullyAsFollower(0, 2n)
    else await p.truncateAsFollower(0, 3n, 'test')
    await p.close()
    failCheckpoint = false

    // What is on disk now, as the next start sees it: records from offset `logEnd` on will come
    // from the new leader, so they must be dirty for the cleaner.
    const checkpoint = await readCleanerCheckpoint(dir)
    const again = await Partition.open(testPartitionOptions(root, ME, { syncOps, settings }))
    expect(checkpoint === null || checkpoint <= again.logEndOffset).toBe(true)
    await again.close()
  })
})
