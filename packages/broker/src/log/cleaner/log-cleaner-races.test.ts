import type { FileHandle } from 'node:fs/promises'
import { nodeSyncOps, type FsSyncOps } from '@tributary/metadata-quorum'
import { decodeRecords, encodeRecordBatch, iterateBatches } from '@tributary/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PartitionLog } from '../partition-log.js'
import { testLogDir, type TestLogDir } from '../test-support.js'
import { CLEANER_CHECKPOINT_FILE, cleanLog, lowerCleanerCheckpoint, readCleanerCheckpoint, writeCleanerCheckpoint, type CleanParams } from './log-cleaner.js'

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

const logConfig = { segmentBytes: 300 }

/** Same-sized batches (one record each): a segment refilled after a truncation gets its old size back. */
function batch(key: string, value: string, timestamp: bigint): Buffer {
  return encodeRecordBatch({ records: [{ key: Buffer.from(key), value: Buffer.from(value.padEnd(40, '.')), timestamp }] })
}

async function values(log: PartitionLog): Promise<Map<bigint, string>> {
  const out = new Map<bigint, string>()
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const read = await log.read(next, 1 << 20)
    if (read.kind !== 'ok') throw new Error(read.kind)
    for (const scan of iterateBatches(read.bytes)) {
      if (scan.kind !== 'batch') throw new Error('partial batch')
      for (const r of decodeRecords(read.bytes.subarray(scan.position, scan.position + scan.header.sizeBytes))) out.set(r.offset, r.value?.toString() ?? '')
    }
    next = read.nextOffset
  }
  return out
}

/** Sync ops that run `hook` once, at the first fsync of a path `when` accepts. */
function hookedSyncOps(when: (path: string) => boolean, hook: () => Promise<void>): FsSyncOps {
  let fired = false
  return {
    datasync: (file: FileHandle, path: string) => nodeSyncOps.datasync(file, path),
    syncDir: (dir: string) => nodeSyncOps.syncDir(dir),
    async fsync(file: FileHandle, path: string): Promise<void> {
      await nodeSyncOps.fsync(file, path)
      if (!fired && when(path)) {
        fired = true
        await hook()
      }
    },
  }
}

function params(log: PartitionLog, syncOps: FsSyncOps): CleanParams {
  return {
    nowMs: t.nowMs,
    highWatermark: log.logEndOffset,
    deleteRetentionMs: 86_400_000,
    minCompactionLagMs: 0,
    minCleanableDirtyRatio: 0.5,
    segmentBytes: logConfig.segmentBytes,
    syncOps,
    logger: t.logger,
    isLastBatchOfProducer: () => false,
  }
}

describe('log cleaner: a truncation during a pass', () => {
  it('a segment truncated and refilled to its old size while it was cleaned is not replaced by the cleaned old bytes', async () => {
    const log = await t.open(logConfig)
    const ts = BigInt(t.nowMs)
    for (let i = 0; i < 12; i++) await log.append(batch(`k${i % 3}`, `old-${i}`, ts), 0)
    const first = log.closedSegments()[0]
    expect(first.endOffset).toBe(2n) // two batches a segment
    const syncOps = hookedSyncOps(
      (path) => path.endsWith('.log.cleaned'),
      async () => {
        // A follower truncation (below the HW: page-cache durability after a crashed leader)
        // into the segment being cleaned, then the new leader's records refill it to the same
        // size and the log rolls past it again.
        expect(await log.truncateTo(1n)).toBe(1n)
        for (let i = 1; i < 4; i++) await log.append(batch(`k${i % 3}`, `new-${i}`, ts), 0)
        expect(log.closedSegments()[0]).toMatchObject({ segment: first.segment, size: first.size, endOffset: 2n })
      },
    )
    await cleanLog(log, params(log, syncOps))
    const after = await values(log)
    expect(after.get(1n)).toMatch(/^new-1/)
    expect([...after.values()].some((v) => v.startsWith('old-1.'))).toBe(false)
    await log.close()
  })

  it('the cleaner checkpoint never stays above a truncation that happened during the pass', async () => {
    const log = await t.open(logConfig)
    const ts = BigInt(t.nowMs)
    for (let i = 0; i < 12; i++) await log.append(batch(`k${i % 3}`, `old-${i}`, ts), 0)
    let truncation: Promise<bigint> | null = null
    const syncOps = hookedSyncOps(
      (path) => path.includes(CLEANER_CHECKPOINT_FILE),
      async () => {
        // As Partition.afterTruncation does: truncate, then lower the cleaner checkpoint.
        truncation = log.truncateTo(3n).then(async (newEnd) => {
          await lowerCleanerCheckpoint(t.dir, newEnd, nodeSyncOps)
          return newEnd
        })
        await Promise.race([truncation, new Promise((resolve) => setTimeout(resolve, 200))])
      },
    )
    const result = await cleanLog(log, params(log, syncOps))
    expect(truncation).not.toBeNull()
    const newEnd = await truncation!
    expect(result.kind).not.toBe('idle')
    const checkpoint = await readCleanerCheckpoint(t.dir)
    expect(checkpoint === null || checkpoint <= newEnd).toBe(true)
    await log.close()
  })
})

describe('log cleaner: tombstones (delete.retention.ms)', () => {
  it('a tombstone outlives the pass that first cleans it, even in a segment older than delete.retention.ms (Kafka: the horizon is delete.retention.ms below the last clean segment)', async () => {
    const log = await t.open(logConfig)
    const day = 86_400_000
    const old = BigInt(t.nowMs - 2 * day)
    for (let i = 0; i < 6; i++) await log.append(batch(`k${i % 3}`, `v-${i}`, old), 0)
    await log.append(encodeRecordBatch({ records: [{ key: Buffer.from('k0'), value: null, timestamp: old }] }), 0)
    for (let i = 0; i < 4; i++) await log.append(batch(`x${i}`, `x-${i}`, old), 0)
    const tombstone = log.logEndOffset - 5n
    // The cleaner was behind (disabled, or below the dirty ratio) for longer than
    // delete.retention.ms: a consumer reading from the start now, which already read k0's
    // value, must still find k0's delete.
    const first = await cleanLog(log, { ...params(log, nodeSyncOps), deleteRetentionMs: day, segmentBytes: 1 << 20 })
    expect(first.kind).toBe('cleaned')
    const after = await values(log)
    expect(after.has(tombstone)).toBe(true)
    expect(after.get(tombstone)).toBe('')

    // Once the clean part reaches records delete.retention.ms newer than the tombstone's segment, it goes.
    t.nowMs += 2 * day
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) await log.append(batch(`y${i}`, `y-${round}`, BigInt(t.nowMs)), 0)
      // Cleaned groups of segment.bytes: the new records do not share the tombstone's segment,
      // whose age would otherwise become theirs (Kafka's cleaner keeps the newest mtime too).
      await cleanLog(log, { ...params(log, nodeSyncOps), deleteRetentionMs: day, ignoreDirtyRatio: true })
      if (round === 0) expect((await values(log)).has(tombstone)).toBe(true)
    }
    expect((await values(log)).has(tombstone)).toBe(false)
    await log.close()
  })
})

describe('log cleaner: a chunk boundary a few bytes into a batch', () => {
  /** A keyed batch of exactly `sizeBytes` bytes. */
  function sized(key: string, sizeBytes: number, timestamp: bigint): Buffer {
    const probe = encodeRecordBatch({ records: [{ key: Buffer.from(key), value: Buffer.alloc(1 << 20), timestamp }] })
    const out = encodeRecordBatch({ records: [{ key: Buffer.from(key), value: Buffer.alloc((1 << 20) + sizeBytes - probe.length), timestamp }] })
    expect(out.length).toBe(sizeBytes)
    return out
  }

  /** One closed segment: a big batch ending 5 bytes before `boundary`, then 'b' twice (the first goes when cleaned); then the active segment. */
  async function logWithBoundaryAt(boundary: number): Promise<PartitionLog> {
    const log = await t.open({ segmentBytes: 64 << 20, maxMessageBytes: 32 << 20, rollMs: 1_000 })
    const ts = BigInt(t.nowMs)
    await log.append(sized('a', boundary - 5, ts), 0)
    await log.append(batch('b', 'b-1', ts), 0)
    await log.append(batch('b', 'b-2', ts), 0)
    await log.append(batch('c', 'c-1', ts + 10_000n), 0) // rolls by age
    expect(log.closedSegments()).toHaveLength(1)
    return log
  }

  it('the cleaner reads on across its 4 MiB read chunks (no false corruption)', async () => {
    const log = await logWithBoundaryAt(4 * 1024 * 1024)
    const result = await cleanLog(log, { ...params(log, nodeSyncOps), ignoreDirtyRatio: true, segmentBytes: 64 << 20 })
    expect(result).toMatchObject({ kind: 'cleaned', recordsRemoved: 1 })
    expect([...(await values(log)).keys()]).toEqual([0n, 2n, 3n])
    await log.close()
  })

  it('recovery of an interrupted swap reads on across its 8 MiB read chunks (the partition opens)', async () => {
    const log = await logWithBoundaryAt(8 * 1024 * 1024)
    await expect(cleanLog(log, { ...params(log, nodeSyncOps), ignoreDirtyRatio: true, segmentBytes: 64 << 20, crashAfter: 'swap-renamed' })).rejects.toThrow(/simulated crash/)
    await t.crash(log)
    const reopened = await t.open({ segmentBytes: 64 << 20, maxMessageBytes: 32 << 20, rollMs: 1_000 })
    expect([...(await values(reopened)).keys()]).toEqual([0n, 2n, 3n])
    await reopened.close()
  })
})

describe('log cleaner: the checkpoint file under concurrent writers', () => {
  it("a pass's checkpoint write and a truncation's lowering never interleave (they share one temp file)", async () => {
    const log = await t.open(logConfig) // creates the partition directory
    await writeCleanerCheckpoint(t.dir, 5n, nodeSyncOps)
    for (let round = 0; round < 30; round++) {
      const results = await Promise.allSettled([
        writeCleanerCheckpoint(t.dir, 123_456_789_012n, nodeSyncOps),
        lowerCleanerCheckpoint(t.dir, 3n, nodeSyncOps),
        writeCleanerCheckpoint(t.dir, 7n, nodeSyncOps),
      ])
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      // In call order: the lowering saw the big value and wrote 3, then 7 was written.
      expect(await readCleanerCheckpoint(t.dir)).toBe(7n)
    }
    await log.close()
  })
})

describe('log cleaner: tombstones and producer timestamps', () => {
  it('a far-future record timestamp in the clean part does not make a new tombstone go in its first pass', async () => {
    const log = await t.open(logConfig)
    const day = 86_400_000
    const now = BigInt(t.nowMs)
    await log.append(batch('k0', 'value', now), 0)
    for (let i = 0; i < 4; i++) await log.append(batch(`f${i}`, 'future', now + 100n * BigInt(day)), 0)
    await log.append(batch('x', 'x', now), 0)
    const settings = { ...params(log, nodeSyncOps), deleteRetentionMs: day, ignoreDirtyRatio: true }
    expect(await cleanLog(log, { ...settings, highWatermark: log.logEndOffset })).toMatchObject({ kind: 'cleaned' })
    await log.append(encodeRecordBatch({ records: [{ key: Buffer.from('k0'), value: null, timestamp: now }] }), 0)
    const tombstone = log.logEndOffset - 1n
    for (let i = 0; i < 4; i++) await log.append(batch(`y${i}`, 'y', now), 0)
    expect(await cleanLog(log, { ...settings, highWatermark: log.logEndOffset })).toMatchObject({ kind: 'cleaned' })
    const after = await values(log)
    expect(after.has(0n)).toBe(false) // k0's value went...
    expect(after.get(tombstone)).toBe('') // ...so its delete must stay for delete.retention.ms
    await log.close()
  })
})
