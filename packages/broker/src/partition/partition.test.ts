// One partition replica on its own: its files, its HW checkpoint across restarts, group
// commit before the HW moves, and what a storage failure does.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode, encodeRecordBatch, type NodeId } from '@tributary/protocol'
import { CountingSyncOps } from '../log/test-support.js'
import { Partition, type PartitionOptions } from './partition.js'
import { HIGH_WATERMARK_CHECKPOINT_FILE, PARTITION_METADATA_FILE } from './partition-files.js'
import { TEST_TOPIC_ID, testPartitionOptions } from './test-partition.js'

const TOPIC_ID = TEST_TOPIC_ID
const ME = 1 as NodeId
let root: string
let syncOps: CountingSyncOps
let failures: unknown[]

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-partition-'))
  syncOps = new CountingSyncOps()
  failures = []
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

function options(overrides: Partial<PartitionOptions> = {}): PartitionOptions {
  return testPartitionOptions(root, ME, { syncOps, onStorageFailure: (_p, err) => failures.push(err), ...overrides })
}

const batch = (value: string): Buffer => encodeRecordBatch({ records: [{ key: null, value: Buffer.from(value), timestamp: 1_000n }] })
const soleLeader = { leader: ME, leaderEpoch: 0, partitionEpoch: 0, replicas: [ME], isr: [ME] }

describe('Partition', () => {
  it('records its topic id, and its HW survives a clean restart', async () => {
    const p = await Partition.open(options())
    expect(await readFile(join(root, 'orders-0', PARTITION_METADATA_FILE), 'utf8')).toBe(`version: 0\ntopic_id: ${TOPIC_ID}\n`)
    expect(await p.makeLeader(soleLeader, 0)).toBe(true)
    for (const v of ['a', 'b', 'c']) expect((await p.appendAsLeader(batch(v), -1)).kind).toBe('appended')
    // Sole replica: the HW moves once the group-commit flush has run.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(p.highWatermark).toBe(3n)
    await p.close()
    expect(await readFile(join(root, 'orders-0', HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\n3\n')

    const again = await Partition.open(options())
    expect(again.highWatermark).toBe(3n)
    expect(again.logEndOffset).toBe(3n)
    await again.close()
  })

  it('refuses a directory that belongs to another topic id (it comes back failed, not wrong)', async () => {
    const p = await Partition.open(options())
    await p.close()
    const other = await Partition.open(options({ topicId: 'BBBBBBBBBBBBBBBBBBBBBQ' }))
    expect(other.unavailable()).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    const produce = await other.appendAsLeader(batch('x'), 1)
    expect(produce).toMatchObject({ kind: 'error', error: ErrorCode.KAFKA_STORAGE_ERROR })
    await other.close()
  })

  it('counts a leader append toward the HW only after its fsync, one fsync covering many appends', async () => {
    const p = await Partition.open(options())
    await p.makeLeader(soleLeader, 0)
    const before = syncOps.datasyncs
    const appends = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => p.appendAsLeader(batch(v), 1)))
    expect(appends.every((a) => a.kind === 'appended')).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(p.highWatermark).toBe(5n)
    // Five appends, fewer fsyncs (at least one, at most one per append).
    const flushes = syncOps.datasyncs - before
    expect(flushes).toBeGreaterThanOrEqual(1)
    expect(flushes).toBeLessThanOrEqual(5)
    await p.close()
  })

  it('a failed fsync fails the partition: KAFKA_STORAGE_ERROR from then on, reported once', async () => {
    const p = await Partition.open(options())
    await p.makeLeader(soleLeader, 0)
    syncOps.failing = true
    expect((await p.appendAsLeader(batch('a'), 1)).kind).toBe('appended')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(failures).toHaveLength(1)
    expect(p.unavailable()).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(await p.appendAsLeader(batch('b'), 1)).toMatchObject({ kind: 'error', error: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(p.acksAllStatus(0n, 0, 1)).toEqual({ kind: 'done', error: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(p.highWatermark).toBe(0n)
    syncOps.failing = false
    await p.close()
    expect(failures).toHaveLength(1)
  })

  it('a follower truncation below its HW is logged loudly and the HW comes down with the log', async () => {
    const p = await Partition.open(options())
    await p.makeFollower({ leader: 2 as NodeId, leaderEpoch: 0, partitionEpoch: 0, replicas: [2 as NodeId, ME], isr: [2 as NodeId, ME] })
    const replicated = encodeRecordBatch({ baseOffset: 0n, partitionLeaderEpoch: 0, records: [0, 1, 2].map((i) => ({ key: null, value: Buffer.from(`r${i}`), timestamp: 1_000n })) })
    expect((await p.appendAsFollower(0, replicated)).kind).toBe('appended')
    await p.flush()
    p.updateFollowerHighWatermark(0, 3n)
    expect(p.highWatermark).toBe(3n)
    expect(await p.truncateAsFollower(0, 0n, 'test')).toBe(0n)
    expect(p.highWatermark).toBe(0n)
    // A stale epoch's work is refused.
    expect(await p.appendAsFollower(7, replicated)).toEqual({ kind: 'stale' })
    await p.close()
  })
})

describe('Partition crash after a truncation below the HW', () => {
  it('does not recover an HW above the truncation point from an older checkpoint', async () => {
    const p = await Partition.open(options())
    const leader = 2 as NodeId
    await p.makeFollower({ leader, leaderEpoch: 0, partitionEpoch: 0, replicas: [leader, ME], isr: [leader, ME] })
    const records = (epoch: number, base: bigint, n: number): Buffer =>
      encodeRecordBatch({ baseOffset: base, partitionLeaderEpoch: epoch, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`e${epoch}-${i}`), timestamp: 1_000n })) })
    expect((await p.appendAsFollower(0, records(0, 0n, 3))).kind).toBe('appended')
    await p.flush()
    p.updateFollowerHighWatermark(0, 3n)
    await p.checkpoint(1_000)
    expect(await readFile(join(root, 'orders-0', HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\n3\n')

    // Page-cache mode lost the leader's copy: the follower cuts below its HW and fetches anew.
    await p.makeFollower({ leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [leader, ME], isr: [leader, ME] })
    expect(await p.truncateAsFollower(1, 0n, 'test')).toBe(0n)
    expect((await p.appendAsFollower(1, records(1, 0n, 2))).kind).toBe('appended')
    await p.flush()

    // Killed before the next checkpoint round: the copy of the directory is what a restart finds.
    await cp(join(root, 'orders-0'), join(root, 'copy', 'orders-0'), { recursive: true })
    const again = await Partition.open(options({ dir: join(root, 'copy', 'orders-0') }))
    expect(again.highWatermark).toBe(0n)
    await again.close()
    await p.close()
  })
})
