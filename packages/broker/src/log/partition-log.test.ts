import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCode, TributaryError, readBatchHeader } from '@tributary/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UNDEFINED_EPOCH } from './leader-epoch-cache.js'
import type { PartitionLog } from './partition-log.js'
import { batchesIn, concat, makeBatch, recordsIn, testLogDir, type TestLogDir } from './test-support.js'

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

async function appendOk(log: PartitionLog, batch: Buffer, epoch = 0): Promise<{ firstOffset: bigint; lastOffset: bigint }> {
  const result = await log.append(batch, epoch)
  if (result.kind !== 'appended') throw new Error(`append failed: ${JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`)
  return result
}

/** Every record from `from` to the log end, read in small steps as a consumer would. */
async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 1 << 20): Promise<{ offset: bigint; value: string }[]> {
  const out: { offset: bigint; value: string }[] = []
  let next = from
  while (next < log.logEndOffset) {
    const result = await log.read(next, maxBytes)
    if (result.kind !== 'ok') throw new Error(`read at ${next}: ${result.kind}`)
    expect(result.bytes.length).toBeGreaterThan(0)
    for (const r of recordsIn(result.bytes)) if (r.offset >= next) out.push(r)
    next = result.nextOffset
  }
  return out
}

const segmentFiles = async (): Promise<string[]> => (await readdir(t.dir)).filter((n) => /^\d{20}\./.test(n)).sort()

describe('PartitionLog: append and read', () => {
  it('assigns offsets in place, keeps batches valid, and reads them back byte for byte', async () => {
    const log = await t.open()
    const first = makeBatch({ records: 3, tag: 'a' })
    const second = makeBatch({ records: 2, tag: 'b' })
    expect(await appendOk(log, first, 4)).toMatchObject({ firstOffset: 0n, lastOffset: 2n })
    expect(await log.append(second, 4)).toMatchObject({ kind: 'appended', firstOffset: 3n, lastOffset: 4n, batchCount: 1 })
    // The producer's buffers were stamped in place: base offset and partition leader epoch.
    expect(readBatchHeader(second)).toMatchObject({ baseOffset: 3n, partitionLeaderEpoch: 4 })
    expect(log.logEndOffset).toBe(5n)

    const read = await log.read(0n, 1 << 20)
    expect(read.kind).toBe('ok')
    if (read.kind !== 'ok') return
    expect(read.bytes.equals(concat(first, second))).toBe(true)
    expect(batchesIn(read.bytes).map((h) => [h.baseOffset, h.partitionLeaderEpoch])).toEqual([
      [0n, 4],
      [3n, 4],
    ])
    expect(read.nextOffset).toBe(5n)
    expect(recordsIn(read.bytes).map((r) => r.value.slice(0, 3))).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1'])
    await log.close()
  })

  it('starts a read at the batch holding the offset and stops below maxOffset (the high watermark)', async () => {
    const log = await t.open()
    for (let i = 0; i < 4; i++) await appendOk(log, makeBatch({ records: 3, tag: `t${i}` }))
    const mid = await log.read(4n, 1 << 20, 9n)
    expect(mid).toMatchObject({ kind: 'ok', firstOffset: 3n, nextOffset: 9n })
    if (mid.kind === 'ok') expect(batchesIn(mid.bytes).map((h) => h.baseOffset)).toEqual([3n, 6n])
    expect(await log.read(9n, 1 << 20, 9n)).toMatchObject({ kind: 'ok', firstOffset: null, nextOffset: 9n })
    expect(await log.read(12n, 1 << 20)).toMatchObject({ kind: 'ok', firstOffset: null, nextOffset: 12n })
    expect(await log.read(13n, 1 << 20)).toEqual({ kind: 'offset_out_of_range', logStartOffset: 0n, logEndOffset: 12n })
    await log.close()
  })

  it('returns whole batches within maxBytes, and one oversized first batch unless told not to (KIP-74)', async () => {
    const log = await t.open()
    const batch = makeBatch({ records: 2, valueBytes: 100 })
    for (let i = 0; i < 3; i++) await appendOk(log, Buffer.from(batch))
    const size = batch.length
    const two = await log.read(0n, size * 2 + size - 1)
    if (two.kind !== 'ok') throw new Error(two.kind)
    expect(batchesIn(two.bytes)).toHaveLength(2)
    const oversized = await log.read(2n, 10)
    if (oversized.kind !== 'ok') throw new Error(oversized.kind)
    expect(batchesIn(oversized.bytes).map((h) => h.baseOffset)).toEqual([2n])
    expect(await log.read(2n, 10, undefined, { minOneBatch: false })).toMatchObject({ kind: 'ok', firstOffset: null, bytes: Buffer.alloc(0) })
    await log.close()
  })

  it('rolls segments by size, names them by base offset, and reads every offset across them', async () => {
    const log = await t.open({ segmentBytes: 1000, indexIntervalBytes: 0 })
    const expected: string[] = []
    for (let i = 0; i < 30; i++) {
      await appendOk(log, makeBatch({ records: 2, tag: `r${i}` }))
      expected.push(`r${i}-0`, `r${i}-1`)
    }
    expect(log.segmentCount).toBeGreaterThan(3)
    const bases = log.segmentBaseOffsets()
    expect(bases[0]).toBe(0n)
    const files = await segmentFiles()
    for (const base of bases) expect(files).toContain(`${String(base).padStart(20, '0')}.log`)
    // Every old segment got its index files when it rolled; the active one has none yet.
    expect(files.filter((f) => f.endsWith('.index'))).toHaveLength(bases.length - 1)
    for (let offset = 0n; offset < 60n; offset++) {
      const read = await log.read(offset, 1)
      if (read.kind !== 'ok') throw new Error(read.kind)
      const [batch] = batchesIn(read.bytes)
      expect(batch.baseOffset <= offset && offset <= batch.lastOffset).toBe(true)
    }
    expect((await readAll(log)).map((r) => r.value.slice(0, r.value.indexOf('-', 1) + 2))).toEqual(expected)
    await log.close()

    const reopened = await t.open({ segmentBytes: 1000, indexIntervalBytes: 0 })
    expect(reopened.segmentBaseOffsets()).toEqual(bases)
    expect(await readAll(reopened)).toHaveLength(60)
    await reopened.close()
  })

  it('rolls by log.roll.ms, from the first batch timestamp, or the wall clock for batches without one', async () => {
    const log = await t.open({ rollMs: 1000 })
    await appendOk(log, makeBatch({ timestamp: 10_000n }))
    await appendOk(log, makeBatch({ timestamp: 10_900n }))
    expect(log.segmentCount).toBe(1)
    await appendOk(log, makeBatch({ timestamp: 11_001n }))
    expect(log.segmentBaseOffsets()).toEqual([0n, 2n])
    await log.close()
  })

  it('rolls a segment whose batches carry no timestamp by the wall clock since it was opened', async () => {
    const log = await t.open({ rollMs: 1000 })
    await appendOk(log, makeBatch({ timestamps: [-1n] }))
    t.nowMs += 1000
    await appendOk(log, makeBatch({ timestamps: [-1n] }))
    expect(log.segmentCount).toBe(1)
    t.nowMs += 1
    await appendOk(log, makeBatch({ timestamps: [-1n] }))
    expect(log.segmentBaseOffsets()).toEqual([0n, 2n])
    await log.close()
  })

  it('refuses invalid produce data without touching the log', async () => {
    const log = await t.open({ maxMessageBytes: 200 })
    const corrupt = makeBatch()
    corrupt[corrupt.length - 1] ^= 1
    expect(await log.append(corrupt, 0)).toMatchObject({ kind: 'invalid_batch', error: ErrorCode.CORRUPT_MESSAGE })
    expect(await log.append(makeBatch({ valueBytes: 300 }), 0)).toMatchObject({ kind: 'invalid_batch', error: ErrorCode.MESSAGE_TOO_LARGE })
    expect(log.logEndOffset).toBe(0n)
    await log.close()
  })
})

describe('PartitionLog: leader epochs', () => {
  it('records epoch starts on append, answers OffsetsForLeaderEpoch, and persists the checkpoint', async () => {
    const log = await t.open()
    await appendOk(log, makeBatch({ records: 5 }), 0)
    await appendOk(log, makeBatch({ records: 5 }), 2)
    await appendOk(log, makeBatch({ records: 1 }), 2)
    expect(log.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0n },
      { epoch: 2, startOffset: 5n },
    ])
    expect(await readFile(join(t.dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n2\n0 0\n2 5\n')
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 5n })
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 0, endOffset: 5n })
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 11n })
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: UNDEFINED_EPOCH, endOffset: -1n })

    expect(await log.append(makeBatch(), 1)).toEqual({ kind: 'stale_leader_epoch', leaderEpoch: 1, latestEpoch: 2 })
    expect(await log.assignEpochStartOffset(3)).toEqual({ kind: 'assigned' })
    expect(await log.assignEpochStartOffset(3)).toEqual({ kind: 'unchanged' })
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 11n })
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 11n })
    await appendOk(log, makeBatch(), 3)
    await log.close()
    const reopened = await t.open()
    expect(reopened.epochEntries().map((e) => e.epoch)).toEqual([0, 2, 3])
    // An epoch that starts at the log end holds no data yet; reopening trims it, as Kafka's
    // loader does (truncateFromEnd(logEndOffset)); the next leader assigns its own epoch.
    expect(await reopened.assignEpochStartOffset(4)).toEqual({ kind: 'assigned' })
    await reopened.close()
    const again = await t.open()
    expect(again.epochEntries().map((e) => e.epoch)).toEqual([0, 2, 3])
    await again.close()
  })

  it('appends as a follower only at or after the log end, with epochs that never go down', async () => {
    const log = await t.open()
    const leaderBatches = concat(makeBatch({ records: 2, baseOffset: 0n, partitionLeaderEpoch: 1 }), makeBatch({ records: 3, baseOffset: 2n, partitionLeaderEpoch: 2 }))
    expect(await log.appendAsFollower(Buffer.from(leaderBatches))).toMatchObject({ kind: 'appended', firstOffset: 0n, lastOffset: 4n, batchCount: 2 })
    expect(await log.appendAsFollower(makeBatch({ baseOffset: 4n, partitionLeaderEpoch: 2 }))).toEqual({ kind: 'offset_mismatch', expectedOffset: 5n, actualOffset: 4n })
    expect(log.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0n },
      { epoch: 2, startOffset: 2n },
    ])
    expect(await log.appendAsFollower(makeBatch({ baseOffset: 5n, partitionLeaderEpoch: 1 }))).toMatchObject({ kind: 'invalid_batch', reason: expect.stringMatching(/below this log's latest epoch/) })
    const read = await log.read(0n, 1 << 20)
    if (read.kind === 'ok') expect(read.bytes.equals(leaderBatches)).toBe(true)
    await log.close()
  })
})

describe('PartitionLog: durability', () => {
  it('flush is one fdatasync covering every append before it, and free when nothing changed', async () => {
    const log = await t.open()
    await appendOk(log, makeBatch())
    await appendOk(log, makeBatch())
    expect(log.recoveryPoint).toBe(0n)
    const before = t.syncOps.datasyncs
    expect(await log.flush()).toBe(2n)
    expect(t.syncOps.datasyncs).toBe(before + 1)
    expect(await log.flush()).toBe(2n)
    expect(t.syncOps.datasyncs).toBe(before + 1)
    expect(log.recoveryPoint).toBe(2n)

    // checkpointRecoveryPoint writes the flushed point; the file never runs ahead of it.
    await appendOk(log, makeBatch())
    await log.checkpointRecoveryPoint()
    expect(await readFile(join(t.dir, 'recovery-point-checkpoint'), 'utf8')).toBe('0\n1\n2\n')
    await log.close()
  })

  it('concurrent appends and reads only ever see whole batches', async () => {
    const log = await t.open({ segmentBytes: 4000 })
    const work: Promise<unknown>[] = []
    for (let i = 0; i < 40; i++) {
      work.push(appendOk(log, makeBatch({ records: 3, tag: `c${i}` })))
      work.push(
        log.read(0n, 1 << 20).then((r) => {
          if (r.kind !== 'ok') throw new Error(r.kind)
          batchesIn(r.bytes)
        }),
      )
      if (i % 7 === 0) work.push(log.flush())
    }
    await Promise.all(work)
    expect(await readAll(log)).toHaveLength(120)
    await log.close()
  })

  it('fails the log on an fsync error (the page cache can no longer be trusted) until reopened', async () => {
    const log = await t.open()
    await appendOk(log, makeBatch())
    t.syncOps.failing = true
    await expect(log.flush()).rejects.toThrow(/EIO/)
    t.syncOps.failing = false
    const err = await log.append(makeBatch(), 0).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TributaryError)
    expect((err as TributaryError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR.code)
    await log.close()
    const reopened = await t.open()
    expect(reopened.logEndOffset).toBe(1n)
    await reopened.close()
  })
})

describe('PartitionLog: ListOffsets', () => {
  it('finds the first record at or after a timestamp, across segments and after reopening', async () => {
    const log = await t.open({ segmentBytes: 300, indexIntervalBytes: 0 })
    await appendOk(log, makeBatch({ timestamps: [100n, 101n, 102n] }))
    await appendOk(log, makeBatch({ timestamps: [200n, 150n, 250n] }))
    await appendOk(log, makeBatch({ timestamps: [300n] }))
    await appendOk(log, makeBatch({ timestamps: [120n] }))
    expect(log.segmentCount).toBeGreaterThan(1)
    const check = async (l: PartitionLog): Promise<void> => {
      const at = async (ts: bigint): Promise<[bigint, bigint] | null> => {
        const r = await l.listOffsets({ kind: 'timestamp', timestampMs: ts })
        return r === null ? null : [r.offset, r.timestamp]
      }
      expect(await at(0n)).toEqual([0n, 100n])
      expect(await at(101n)).toEqual([1n, 101n])
      expect(await at(103n)).toEqual([3n, 200n])
      expect(await at(150n)).toEqual([3n, 200n])
      expect(await at(201n)).toEqual([5n, 250n])
      expect(await at(251n)).toEqual([6n, 300n])
      expect(await at(301n)).toBeNull()
      expect(await l.listOffsets({ kind: 'earliest' })).toEqual({ offset: 0n, timestamp: -1n, leaderEpoch: 0 })
      expect(await l.listOffsets({ kind: 'latest' })).toEqual({ offset: 8n, timestamp: -1n, leaderEpoch: 0 })
    }
    await check(log)
    await log.close()
    const reopened = await t.open({ segmentBytes: 300, indexIntervalBytes: 0 })
    await check(reopened)
    await reopened.close()
  })
})
