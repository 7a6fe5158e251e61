import { readdir, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { COMPRESSION_IDS, compressionCodecs, decodeRecords, encodeRecordBatch, iterateBatches, readBatchHeader, type Compression, type RecordInput } from '@tributary/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PartitionLog, RECOVERY_POINT_CHECKPOINT_FILE, type SwapStep } from '../partition-log.js'
import { testLogDir, type TestLogDir } from '../test-support.js'
import { cleanLog, readCleanerCheckpoint, type CleanParams } from './log-cleaner.js'

let t: TestLogDir
let dirs: TestLogDir[]
beforeEach(async () => {
  t = await testLogDir()
  dirs = [t]
})
afterEach(async () => {
  for (const d of dirs) await d.cleanup()
})

const day = 86_400_000
/** Tiny segments so the log rolls every few batches. */
const logConfig = { segmentBytes: 300 }

interface Rec {
  readonly offset: bigint
  readonly key: string | null
  readonly value: string | null
}

function batch(records: readonly [string | null, string | null][], timestamp: bigint): Buffer {
  const input: RecordInput[] = records.map(([key, value]) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }))
  return encodeRecordBatch({ records: input })
}

/** Every record, reading from the log start the way a consumer does (continuing at nextOffset). */
async function readAll(log: PartitionLog, from = log.logStartOffset, codecs = compressionCodecs): Promise<Rec[]> {
  const out: Rec[] = []
  let next = from
  while (next < log.logEndOffset) {
    const read = await log.read(next, 1 << 20)
    if (read.kind !== 'ok') throw new Error(read.kind)
    expect(read.nextOffset).toBeGreaterThan(next)
    for (const scan of iterateBatches(read.bytes)) {
      if (scan.kind !== 'batch') throw new Error('partial batch')
      for (const r of decodeRecords(read.bytes.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs })) {
        if (r.offset < next) continue
        out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })
      }
    }
    next = read.nextOffset
  }
  return out
}

/** The latest record per key (keyless records all kept), in offset order. */
function latestPerKey(records: readonly Rec[]): Rec[] {
  const latest = new Map<string, Rec>()
  const keyless: Rec[] = []
  for (const r of records) {
    if (r.key === null) keyless.push(r)
    else latest.set(r.key, r)
  }
  return [...latest.values(), ...keyless].sort((a, b) => (a.offset < b.offset ? -1 : 1))
}

function params(d: TestLogDir, log: PartitionLog, overrides: Partial<CleanParams> = {}): CleanParams {
  return {
    nowMs: d.nowMs,
    highWatermark: log.logEndOffset,
    deleteRetentionMs: 7 * day,
    minCompactionLagMs: 0,
    minCleanableDirtyRatio: 0.5,
    segmentBytes: logConfig.segmentBytes,
    syncOps: d.syncOps,
    logger: d.logger,
    isLastBatchOfProducer: () => false,
    ...overrides,
  }
}

/** 40 batches over 5 keys, plus key 'gone' deleted by a tombstone at batch 20 and one keyless record; 1 to 3 records a batch. */
async function keyedLog(d: TestLogDir, batches = 40): Promise<PartitionLog> {
  const log = await d.open(logConfig)
  const ts = BigInt(d.nowMs - 2 * day)
  for (let i = 0; i < batches; i++) {
    const records: [string | null, string | null][] = [[`k${i % 5}`, `v${i}`]]
    if (i % 3 === 0) records.push([`k${(i + 2) % 5}`, `w${i}`])
    if (i === 3) records.push(['gone', 'soon'])
    if (i === 20) records.push(['gone', null])
    if (i === 7) records.push([null, 'no-key'])
    await log.append(batch(records, ts + BigInt(i)), 0)
  }
  return log
}

/** Closed records (below the active segment) cleaned, the active segment's records as they are. */
function expectedAfterCleaning(before: readonly Rec[], activeBase: bigint, dropTombstones: boolean): Rec[] {
  const closedPart = before.filter((r) => r.offset < activeBase)
  const activePart = before.filter((r) => r.offset >= activeBase)
  // A record in the closed part survives if no later record (anywhere cleaned) has its key.
  const kept = latestPerKey(closedPart).filter((r) => !(dropTombstones && r.value === null))
  return [...kept, ...activePart]
}

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.log')).sort()
}

describe('log cleaner: one pass over a log', () => {
  it('keeps the latest record per key with its offset, keyless records, and tombstones until delete.retention.ms; gaps stay readable', async () => {
    const log = await keyedLog(t)
    const before = await readAll(log)
    const bytesBefore = log.sizeInBytes
    const activeBase = log.activeBaseOffset
    expect(log.segmentCount).toBeGreaterThan(5)

    const result = await cleanLog(log, params(t, log))
    expect(result).toMatchObject({ kind: 'cleaned', cleanedUpTo: activeBase })
    const after = await readAll(log)
    expect(after).toEqual(expectedAfterCleaning(before, activeBase, false))
    expect(after.some((r) => r.key === null && r.value === 'no-key')).toBe(true)
    expect(after.some((r) => r.key === 'gone' && r.value === null && r.offset < activeBase)).toBe(true)
    expect(log.sizeInBytes).toBeLessThan(bytesBefore)
    expect(await readCleanerCheckpoint(t.dir)).toBe(activeBase)
    expect(log.logStartOffset).toBe(0n)
    expect(log.logEndOffset).toBe(before.at(-1)!.offset + 1n)

    // A read at an offset that was cleaned away returns the next batch.
    const gone = before.find((r) => r.offset < activeBase && !after.some((a) => a.offset === r.offset))!
    const read = await log.read(gone.offset, 1 << 20)
    expect(read.kind).toBe('ok')
    if (read.kind === 'ok') {
      expect(read.firstOffset).toBeGreaterThanOrEqual(gone.offset)
      expect(read.nextOffset).toBeGreaterThan(gone.offset)
    }
    expect(await readAll(log, gone.offset)).toEqual(after.filter((r) => r.offset >= gone.offset))
    expect(await log.listOffsets({ kind: 'earliest' })).toMatchObject({ offset: 0n })
    expect(await log.listOffsets({ kind: 'timestamp', timestampMs: BigInt(t.nowMs - 2 * day) + 21n })).toMatchObject({ offset: expect.any(BigInt) })

    // Nothing dirty now: the next round is idle. Past delete.retention.ms, the tombstone goes.
    expect(await cleanLog(log, params(t, log))).toMatchObject({ kind: 'idle' })
    t.nowMs += 8 * day
    await log.append(batch([['k0', 'late']], BigInt(t.nowMs)), 0)
    expect(await log.append(batch([['k3', 'late'.padEnd(180, '!')]], BigInt(t.nowMs)), 0)).toMatchObject({ kind: 'appended' }) // rolls: the 'late' batch closes
    // Kafka's horizon: delete.retention.ms below the last CLEAN segment; the 'late' one is still
    // dirty in this pass, so the tombstone stays, and goes in the next one.
    expect(await cleanLog(log, params(t, log, { ignoreDirtyRatio: true }))).toMatchObject({ kind: 'cleaned' })
    expect((await readAll(log)).some((r) => r.key === 'gone' && r.value === null)).toBe(true)
    await log.append(batch([['k1', 'later']], BigInt(t.nowMs)), 0) // rolls: the big batch closes
    const later = await readAll(log)
    expect(await cleanLog(log, params(t, log, { ignoreDirtyRatio: true, segmentBytes: 1 << 20 }))).toMatchObject({ kind: 'cleaned' })
    const final = await readAll(log)
    expect(final).toEqual(expectedAfterCleaning(later, log.activeBaseOffset, true))
    expect(final.some((r) => r.key === 'gone')).toBe(false)
    expect(log.segmentCount).toBe(2) // every closed segment merged into one

    // Reopen cleanly, then recover every segment in full (no recovery point): the same records.
    await log.close()
    const reopened = await t.open(logConfig)
    expect(await readAll(reopened)).toEqual(final)
    await t.crash(reopened)
    await unlink(join(t.dir, RECOVERY_POINT_CHECKPOINT_FILE))
    const recovered = await t.open(logConfig)
    expect(await readAll(recovered)).toEqual(final)
    expect(t.logger.messages('warn')).not.toContain('cut torn tail of partition log')
    await recovered.close()
  })

  it('cleans only below the high watermark and min.compaction.lag.ms, and waits for min.cleanable.dirty.ratio', async () => {
    const log = await keyedLog(t)
    const closed = log.closedSegments()
    const hw = closed[2].endOffset
    expect(await cleanLog(log, params(t, log, { highWatermark: hw }))).toMatchObject({ kind: 'cleaned', cleanedUpTo: hw })
    // Records are 2 days old: a 3-day lag leaves everything alone.
    expect(await cleanLog(log, params(t, log, { minCompactionLagMs: 3 * day }))).toMatchObject({ kind: 'idle' })
    expect(await cleanLog(log, params(t, log, { minCleanableDirtyRatio: 0.99 }))).toMatchObject({ kind: 'idle', reason: expect.stringMatching(/dirty ratio/) })
    expect(await cleanLog(log, params(t, log))).toMatchObject({ kind: 'cleaned', cleanedUpTo: log.activeBaseOffset })
    await log.close()
  })

  it('keeps a producer’s last batch as an empty batch, so producer state survives', async () => {
    const log = await t.open(logConfig)
    const ts = BigInt(t.nowMs)
    for (let i = 0; i < 12; i++) {
      const b = encodeRecordBatch({ producerId: 7n, producerEpoch: 0, baseSequence: i, records: [{ key: Buffer.from('same'), value: Buffer.from(`v${i}`.padEnd(60, '.')), timestamp: ts }] })
      await log.append(b, 0)
    }
    const lastClosed = log.closedSegments().at(-1)!
    expect(lastClosed.endOffset).toBeGreaterThan(5n)
    // Pretend offset 4 is the producer's last batch (in the partition, the producer state says so).
    await cleanLog(log, params(t, log, { isLastBatchOfProducer: (pid, lastOffset) => pid === 7n && lastOffset === 4n, segmentBytes: 1 << 20 }))
    const read = await log.read(0n, 1 << 20)
    if (read.kind !== 'ok') throw new Error(read.kind)
    const headers = [...iterateBatches(read.bytes)].flatMap((s) => (s.kind === 'batch' ? [s.header] : []))
    // Emptied batches are dropped, but the producer's last one stays as an empty batch; the
    // group's last batch keeps its record (the latest for its key among the mapped offsets).
    expect(headers.map((h) => [h.baseOffset, h.recordCount, h.baseSequence])).toEqual([
      [4n, 0, 4],
      [lastClosed.endOffset - 1n, 1, Number(lastClosed.endOffset - 1n)],
    ])
    await log.close()
  })
})

describe('log cleaner: compressed batches', () => {
  it('re-compresses cleaned batches with their own codec, and recovery reads them back', async () => {
    const open = (): Promise<PartitionLog> => PartitionLog.open({ dir: t.dir, logger: t.logger, syncOps: t.syncOps, config: logConfig, clock: () => t.nowMs, codecs: compressionCodecs })
    const log = await open()
    const codecs: readonly Compression[] = ['gzip', 'zstd', 'lz4', 'snappy']
    for (let i = 0; i < 24; i++) {
      const records: RecordInput[] = [0, 1, 2].map((j) => ({ key: Buffer.from(`k${(i + j) % 4}`), value: Buffer.from(`v${i}-${j}`), timestamp: BigInt(t.nowMs) }))
      await log.append(encodeRecordBatch({ compression: codecs[i % 4]!, records }, { codecs: compressionCodecs }), 0)
    }
    const before = await readAll(log)
    const activeBase = log.activeBaseOffset
    expect(await cleanLog(log, params(t, log, { codecs: compressionCodecs, segmentBytes: 1 << 20 }))).toMatchObject({ kind: 'cleaned' })
    const after = await readAll(log)
    expect(after).toEqual(expectedAfterCleaning(before, activeBase, false))
    const read = await log.read(0n, 1 << 20)
    if (read.kind !== 'ok') throw new Error(read.kind)
    // Every batch keeps its codec: the compression id in each header is the one it was written with.
    for (const scan of iterateBatches(read.bytes)) {
      if (scan.kind === 'batch') expect(readBatchHeader(read.bytes, scan.position).compressionId).toBe(COMPRESSION_IDS[codecs[Number(scan.header.baseOffset / 3n) % 4]!])
    }
    await t.crash(log)
    await unlink(join(t.dir, RECOVERY_POINT_CHECKPOINT_FILE))
    const recovered = await open()
    expect(await readAll(recovered)).toEqual(after)
    await recovered.close()
  })
})

describe('log cleaner: crash safety of the swap', () => {
  const steps: readonly (SwapStep | 'cleaned')[] = ['cleaned', 'swap-renamed', 'old-deleted', 'swap-completed']

  /** A log cleaned once (small segments), then dirtied again: the next pass merges several segments into one. */
  async function dirtyLog(d: TestLogDir): Promise<PartitionLog> {
    const log = await keyedLog(d)
    await cleanLog(log, params(d, log))
    const ts = BigInt(d.nowMs - day)
    for (let i = 0; i < 15; i++) await log.append(batch([[`k${i % 4}`, `again${i}`]], ts + BigInt(i)), 1)
    return log
  }

  for (const step of steps) {
    it(`a crash after '${step}' leaves the old or the new segments, and reopening finishes the job`, async () => {
      // The reference: the same log cleaned without a crash.
      const ref = await testLogDir()
      dirs.push(ref)
      ref.nowMs = t.nowMs
      const refLog = await dirtyLog(ref)
      const before = await readAll(refLog)
      await cleanLog(refLog, params(ref, refLog, { segmentBytes: 1 << 20 }))
      const cleaned = await readAll(refLog)
      expect(cleaned.length).toBeLessThan(before.length)
      await refLog.close()

      const log = await dirtyLog(t)
      expect(await readAll(log)).toEqual(before)
      const segmentsBefore = log.segmentCount
      await expect(cleanLog(log, params(t, log, { segmentBytes: 1 << 20, crashAfter: step }))).rejects.toThrow(/simulated crash/)
      await t.crash(log)
      const files = await logFiles(t.dir)
      if (step === 'cleaned') expect(files.some((f) => f.endsWith('.cleaned'))).toBe(true)
      if (step === 'swap-renamed' || step === 'old-deleted') {
        expect(files.some((f) => f.endsWith('.swap'))).toBe(true)
        expect((await readdir(t.dir)).filter((f) => f.endsWith('index.cleaned'))).toHaveLength(2) // rebuilt instead
      }

      const reopened = await t.open(logConfig)
      const leftovers = (await readdir(t.dir)).filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap'))
      expect(leftovers).toEqual([])
      const records = await readAll(reopened)
      if (step === 'cleaned') {
        expect(records).toEqual(before)
        expect(reopened.segmentCount).toBe(segmentsBefore)
      } else {
        expect(records).toEqual(cleaned)
        expect(reopened.segmentCount).toBe(2)
      }
      // Either way the latest value of every key is what it was, and a new pass completes.
      expect(latestPerKey(records)).toEqual(latestPerKey(before))
      await cleanLog(reopened, params(t, reopened, { segmentBytes: 1 << 20, ignoreDirtyRatio: true }))
      expect(await readAll(reopened)).toEqual(cleaned)
      await reopened.close()
    })
  }
})

describe('log cleaner: a damaged swap file', () => {
  it('is corruption at open, and nothing on disk changes', async () => {
    const log = await keyedLog(t)
    await log.close()
    const names = await logFiles(t.dir)
    await writeFile(join(t.dir, '00000000000000000000.log.swap'), Buffer.concat([batch([['k', 'v']], 1n), Buffer.from('torn')]))
    await expect(t.open(logConfig)).rejects.toThrow(/\.swap.*damaged batch at byte/)
    expect((await logFiles(t.dir)).filter((n) => !n.endsWith('.swap'))).toEqual(names)
  })
})

describe('log cleaner: followers of a compacted leader', () => {
  it('a follower appends gapped and emptied batches, serves them, and recovers them after a crash', async () => {
    const leader = await keyedLog(t)
    await cleanLog(leader, params(t, leader, { isLastBatchOfProducer: () => true }))
    const expected = await readAll(leader)

    const f = await testLogDir()
    dirs.push(f)
    const follower = await f.open(logConfig)
    // Replica fetches: from the follower's log end, to the leader's log end, small reads.
    let rounds = 0
    while (follower.logEndOffset < leader.logEndOffset) {
      const read = await leader.read(follower.logEndOffset, 200)
      if (read.kind !== 'ok') throw new Error(read.kind)
      expect(await follower.appendAsFollower(Buffer.from(read.bytes))).toMatchObject({ kind: 'appended' })
      expect(++rounds).toBeLessThan(200)
    }
    expect(await readAll(follower)).toEqual(expected)
    // An older batch than the log end is still refused.
    const first = await leader.read(0n, 1)
    if (first.kind === 'ok') expect(await follower.appendAsFollower(Buffer.from(first.bytes))).toMatchObject({ kind: 'offset_mismatch' })

    await f.crash(follower)
    await unlink(join(f.dir, RECOVERY_POINT_CHECKPOINT_FILE))
    const recovered = await f.open(logConfig)
    expect(await readAll(recovered)).toEqual(expected)
    expect(recovered.logEndOffset).toBe(leader.logEndOffset)
    // Truncation into a gap ends the log at the last batch before it.
    const gapOffset = expected.find((r, i) => i > 0 && r.offset > expected[i - 1].offset + 1n)!.offset - 1n
    const newEnd = await recovered.truncateTo(gapOffset)
    expect(newEnd).toBeLessThanOrEqual(gapOffset)
    expect(await readAll(recovered)).toEqual(expected.filter((r) => r.offset < newEnd))
    await recovered.close()
    await leader.close()
  })
})
