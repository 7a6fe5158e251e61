import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PartitionLog } from './partition-log.js'
import { batchesIn, makeBatch, offsetsIn, recordsIn, testLogDir, type TestLogDir } from './test-support.js'

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

const config = { segmentBytes: 700, indexIntervalBytes: 100 }

/** 20 batches of 2 records each (offsets 0..39); epoch 0 for the first 10 batches, then epoch 1. */
async function filledLog(): Promise<PartitionLog> {
  const log = await t.open(config)
  for (let i = 0; i < 20; i++) {
    const result = await log.append(makeBatch({ records: 2, tag: `b${i}` }), i < 10 ? 0 : 1)
    expect(result.kind).toBe('appended')
  }
  expect(log.segmentCount).toBeGreaterThan(3)
  return log
}

const range = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i))

describe('PartitionLog: truncation (KIP-101/279)', () => {
  it('truncating at the log end drops an epoch that starts there (a leader that never wrote), as Kafka does', async () => {
    const log = await filledLog()
    expect(await log.assignEpochStartOffset(5)).toEqual({ kind: 'assigned' })
    expect(log.latestEpoch()).toBe(5)
    expect(await log.truncateTo(40n)).toBe(40n)
    expect(log.latestEpoch()).toBe(1)
    expect(await offsetsIn(log)).toEqual(range(0, 40))
    await log.close()
    const reopened = await t.open(config)
    expect(reopened.epochEntries().map((e) => e.epoch)).toEqual([0, 1])
    await reopened.close()
  })

  it('truncates inside the active segment and keeps appending from the new end', async () => {
    const log = await filledLog()
    const segments = log.segmentCount
    expect(await log.truncateTo(38n)).toBe(38n)
    expect(log.segmentCount).toBe(segments)
    expect(await log.append(makeBatch({ tag: 'new' }), 2)).toMatchObject({ firstOffset: 38n })
    expect(await offsetsIn(log)).toEqual(range(0, 39))
    await log.close()
  })

  it('truncates into an older segment: later segments go, that segment becomes active again', async () => {
    const log = await filledLog()
    const bases = log.segmentBaseOffsets()
    expect(await log.truncateTo(11n)).toBe(10n) // offset 11 sits inside batch [10, 11]: the batch goes whole
    expect(log.logEndOffset).toBe(10n)
    const kept = bases.filter((b) => b <= 10n)
    expect(log.segmentBaseOffsets()).toEqual(kept)
    const logs = (await readdir(t.dir)).filter((n) => n.endsWith('.log'))
    expect(logs).toHaveLength(kept.length)
    // Epoch 1 started at offset 20: gone from memory and from the checkpoint file.
    expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0n }])
    expect(await readFile(join(t.dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n1\n0 0\n')
    expect(Number(log.recoveryPoint)).toBeLessThanOrEqual(10)

    for (let i = 0; i < 8; i++) await log.append(makeBatch({ records: 2, tag: `n${i}` }), 3)
    expect(await offsetsIn(log)).toEqual(range(0, 26))
    await log.flush()
    await log.close()
    const reopened = await t.open(config)
    expect(await offsetsIn(reopened)).toEqual(range(0, 26))
    expect(reopened.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0n },
      { epoch: 3, startOffset: 10n },
    ])
    await reopened.close()
  })

  it('survives a crash right after truncating and appending', async () => {
    const log = await filledLog()
    await log.flush()
    await log.checkpointRecoveryPoint()
    await log.truncateTo(24n)
    await log.append(makeBatch({ records: 2, tag: 'after' }), 2)
    await t.crash(log)
    const reopened = await t.open(config)
    expect(reopened.logEndOffset).toBe(26n)
    expect(await offsetsIn(reopened)).toEqual(range(0, 26))
    expect(reopened.epochEntries().map((e) => [e.epoch, e.startOffset])).toEqual([
      [0, 0n],
      [1, 20n],
      [2, 24n],
    ])
    await reopened.close()
  })

  it('keeps the indexes exact after a cut: reads of every offset still land on the right batch', async () => {
    const log = await filledLog()
    await log.truncateTo(33n)
    for (let i = 0; i < 5; i++) await log.append(makeBatch({ records: 2 }), 1)
    for (let offset = 0n; offset < log.logEndOffset; offset++) {
      const read = await log.read(offset, 1)
      if (read.kind !== 'ok') throw new Error(read.kind)
      const [batch] = batchesIn(read.bytes)
      expect(batch.baseOffset <= offset && offset <= batch.lastOffset).toBe(true)
    }
    await log.close()
  })

  it('drops time index entries past the cut, so ListOffsets by timestamp cannot skip new batches', async () => {
    const log = await t.open({ indexIntervalBytes: 0 })
    for (let i = 1; i <= 10; i++) await log.append(makeBatch({ timestamps: [BigInt(i * 100)] }), 0)
    await log.truncateTo(5n)
    await log.append(makeBatch({ timestamps: [2000n] }), 1) // offset 5
    await log.append(makeBatch({ timestamps: [3000n] }), 1) // offset 6
    // Had the entries for the cut batches (up to 1000 ms at offset 9) survived, the lookup for
    // 960 ms would start at offset 6 and answer 6; the first record at or after it is 5.
    expect(await log.listOffsets({ kind: 'timestamp', timestampMs: 960n })).toEqual({ offset: 5n, timestamp: 2000n, leaderEpoch: 1 })
    expect(await log.listOffsets({ kind: 'timestamp', timestampMs: 450n })).toEqual({ offset: 4n, timestamp: 500n, leaderEpoch: 0 })
    await log.close()
  })

  it('is a no-op at or beyond the log end', async () => {
    const log = await filledLog()
    expect(await log.truncateTo(40n)).toBe(40n)
    expect(await log.truncateTo(1000n)).toBe(40n)
    await log.close()
  })

  it('truncateFullyAndStartAt empties the log and starts it at the new offset', async () => {
    const log = await filledLog()
    await log.truncateFullyAndStartAt(100n)
    expect([log.logStartOffset, log.logEndOffset, log.recoveryPoint]).toEqual([100n, 100n, 100n])
    expect(log.epochEntries()).toEqual([])
    expect((await readdir(t.dir)).filter((n) => n.endsWith('.log'))).toEqual(['00000000000000000100.log'])
    expect(await log.read(0n, 100)).toEqual({ kind: 'offset_out_of_range', logStartOffset: 100n, logEndOffset: 100n })
    expect(await log.appendAsFollower(makeBatch({ records: 2, baseOffset: 100n, partitionLeaderEpoch: 7 }))).toMatchObject({ kind: 'appended', firstOffset: 100n })
    await t.crash(log)
    const reopened = await t.open(config)
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([100n, 102n])
    expect(reopened.epochEntries()).toEqual([{ epoch: 7, startOffset: 100n }])
    await reopened.close()
  })
})
