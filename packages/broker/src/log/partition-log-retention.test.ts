import { readdir } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PartitionLog } from './partition-log.js'
import { makeBatch, testLogDir, type TestLogDir } from './test-support.js'

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

const config = { segmentBytes: 500 }
const hour = 3_600_000

/** Segments whose records are 10, 9, ... hours old; each batch is 2 records with one timestamp per batch. */
async function agedLog(batches: number): Promise<PartitionLog> {
  const log = await t.open({ ...config, rollMs: hour / 2 })
  for (let i = 0; i < batches; i++) {
    const ts = BigInt(t.nowMs - (batches - i) * hour)
    await log.append(makeBatch({ records: 2, timestamps: [ts, ts] }), i < 3 ? 0 : 1)
  }
  return log
}

describe('PartitionLog: retention', () => {
  it('deletes whole segments past retention.ms, never the active one, and moves the log start', async () => {
    const log = await agedLog(10)
    expect(log.segmentCount).toBe(10) // rollMs of half an hour: one segment per batch
    const result = await log.deleteOldSegments({ nowMs: t.nowMs, retentionMs: 5.5 * hour, retentionBytes: -1, highWatermark: log.logEndOffset })
    expect(result).toMatchObject({ deletedSegments: 5, logStartOffset: 10n })
    expect(log.logStartOffset).toBe(10n)
    expect((await readdir(t.dir)).filter((n) => n.endsWith('.log'))).toHaveLength(5)
    // Epoch 0 wrote offsets 0..5, all gone; epoch 1 started at 6 and now starts at the log start.
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 10n }])
    expect(await log.read(9n, 100)).toMatchObject({ kind: 'offset_out_of_range', logStartOffset: 10n })
    expect(await log.listOffsets({ kind: 'earliest' })).toMatchObject({ offset: 10n, leaderEpoch: 1 })

    const all = await log.deleteOldSegments({ nowMs: t.nowMs + 100 * hour, retentionMs: hour, retentionBytes: -1, highWatermark: log.logEndOffset })
    expect(all.deletedSegments).toBe(4)
    expect(log.segmentCount).toBe(1)
    await log.close()
    const reopened = await t.open(config)
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([18n, 20n])
    await reopened.close()
  })

  it('deletes the oldest segments while the log stays at or above retention.bytes without them', async () => {
    const log = await agedLog(6)
    const sizes = log.sizeInBytes / log.segmentCount
    const result = await log.deleteOldSegments({ nowMs: t.nowMs, retentionMs: -1, retentionBytes: Math.floor(sizes * 2.5), highWatermark: log.logEndOffset })
    expect(result.deletedSegments).toBe(3)
    expect(log.segmentCount).toBe(3)
    expect(await log.deleteOldSegments({ nowMs: t.nowMs, retentionMs: -1, retentionBytes: -1, highWatermark: log.logEndOffset })).toMatchObject({ deletedSegments: 0 })
    await log.close()
  })

  it('keeps segments that are not wholly below the high watermark', async () => {
    const log = await agedLog(6)
    const result = await log.deleteOldSegments({ nowMs: t.nowMs, retentionMs: 0, retentionBytes: -1, highWatermark: 4n })
    expect(result).toMatchObject({ deletedSegments: 2, logStartOffset: 4n })
    await log.close()
  })
})
