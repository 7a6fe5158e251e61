import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreCorruptionError } from '@tributary/metadata-quorum'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PartitionLog } from './partition-log.js'
import { makeBatch, offsetsIn, recordsIn, testLogDir, type TestLogDir } from './test-support.js'

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

const segmentPath = (base: bigint, suffix = '.log'): string => join(t.dir, `${String(base).padStart(20, '0')}${suffix}`)

/** Appends `count` batches of 2 records and returns each batch's byte size. */
async function appendBatches(log: PartitionLog, count: number, epoch = 0): Promise<number[]> {
  const sizes: number[] = []
  for (let i = 0; i < count; i++) {
    const batch = makeBatch({ records: 2, tag: `e${epoch}b${i}` })
    expect((await log.append(batch, epoch)).kind).toBe('appended')
    sizes.push(batch.length)
  }
  return sizes
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[position] ^= 0x5a
  await writeFile(path, bytes)
}

async function openError(config?: { segmentBytes: number; indexIntervalBytes?: number }): Promise<StoreCorruptionError> {
  const err = await t.open(config).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(StoreCorruptionError)
  return err as StoreCorruptionError
}

describe('PartitionLog: recovery after a crash', () => {
  it('keeps unflushed appends that reached the page cache (a process kill, not a power cut)', async () => {
    const log = await t.open()
    await appendBatches(log, 5)
    await t.crash(log)
    const reopened = await t.open()
    expect(reopened.logEndOffset).toBe(10n)
    expect(reopened.recoveryPoint).toBe(10n)
    expect(t.logger.lines.at(-1)).toMatchObject({ msg: 'opened partition log', fields: { recoveredSegments: 1, cleanShutdown: false } })
    await reopened.close()
  })

  it('cuts a batch torn mid-write at the end of the log, with a warning, and appends after it', async () => {
    const log = await t.open()
    const sizes = await appendBatches(log, 5)
    await t.crash(log)
    const fourBatches = sizes.slice(0, 4).reduce((a, b) => a + b, 0)
    await truncate(segmentPath(0n), fourBatches + 30)
    const reopened = await t.open()
    expect(reopened.logEndOffset).toBe(8n)
    expect(await offsetsIn(reopened)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n])
    expect((await stat(segmentPath(0n))).size).toBe(fourBatches)
    const warning = t.logger.lines.find((l) => l.msg === 'cut torn tail of partition log')
    expect(warning?.fields).toMatchObject({ path: segmentPath(0n), position: fourBatches, bytesCut: 30 })
    expect(await reopened.append(makeBatch(), 1)).toMatchObject({ kind: 'appended', firstOffset: 8n })
    await reopened.close()
  })

  it('cuts a last batch whose bytes were damaged (CRC mismatch)', async () => {
    const log = await t.open()
    const sizes = await appendBatches(log, 3)
    await t.crash(log)
    await flipByte(segmentPath(0n), sizes[0] + sizes[1] + 70)
    const reopened = await t.open()
    expect(reopened.logEndOffset).toBe(4n)
    expect(t.logger.lines.find((l) => l.msg === 'cut torn tail of partition log')?.fields).toMatchObject({ reason: expect.stringMatching(/CRC/) })
    await reopened.close()
  })

  it('refuses to start when a damaged batch is followed by intact ones, and changes nothing', async () => {
    const log = await t.open()
    const sizes = await appendBatches(log, 5)
    await t.crash(log)
    const position = sizes[0] + sizes[1]
    await flipByte(segmentPath(0n), position + 70)
    const before = await readFile(segmentPath(0n))
    const err = await openError()
    expect(err.path).toBe(segmentPath(0n))
    expect(err.position).toBe(position)
    expect(err.message).toMatch(/damaged batch at byte \d+ .*an intact batch follows/)
    expect((await readFile(segmentPath(0n))).equals(before)).toBe(true)
  })

  it('refuses to cut a damaged tail that lies below the recovery point (it was flushed)', async () => {
    const log = await t.open()
    const sizes = await appendBatches(log, 3)
    await log.flush()
    await log.checkpointRecoveryPoint()
    await t.crash(log)
    await flipByte(segmentPath(0n), sizes[0] + sizes[1] + 70)
    const err = await openError()
    expect(err.message).toMatch(/below the recovery point 6/)
  })

  it('treats damage in a segment that is not the last as corruption', async () => {
    const log = await t.open({ segmentBytes: 400 })
    await appendBatches(log, 8)
    expect(log.segmentCount).toBeGreaterThan(2)
    await t.crash(log)
    // Without the recovery point every segment is checked again.
    await rm(join(t.dir, 'recovery-point-checkpoint'))
    await flipByte(segmentPath(0n), 70)
    const err = await openError({ segmentBytes: 400 })
    expect(err.path).toBe(segmentPath(0n))
    expect(err.message).toMatch(/later segments exist/)
  })

  it('refuses to start when the recovery point is beyond what the log holds', async () => {
    const log = await t.open()
    const sizes = await appendBatches(log, 3)
    await log.flush()
    await log.checkpointRecoveryPoint()
    await t.crash(log)
    await truncate(segmentPath(0n), sizes[0])
    const err = await openError()
    expect(err.path).toBe(join(t.dir, 'recovery-point-checkpoint'))
    expect(err.message).toMatch(/recovery point 6 is beyond the log end offset 2/)
  })

  it('trims a leader epoch checkpoint that ran ahead of the log, and rejects a damaged one', async () => {
    const log = await t.open()
    await appendBatches(log, 2, 0)
    await t.crash(log)
    await writeFile(join(t.dir, 'leader-epoch-checkpoint'), '0\n2\n0 0\n1 4\n')
    const reopened = await t.open()
    expect(reopened.epochEntries()).toEqual([{ epoch: 0, startOffset: 0n }])
    expect(await readFile(join(t.dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n1\n0 0\n')
    await reopened.close()

    await writeFile(join(t.dir, 'leader-epoch-checkpoint'), '0\n2\n3 0\n1 4\n')
    const err = await openError()
    expect(err.path).toBe(join(t.dir, 'leader-epoch-checkpoint'))
  })

  it('rebuilds leader epochs from recovered batches when the checkpoint missed them', async () => {
    const log = await t.open()
    await appendBatches(log, 2, 0)
    await appendBatches(log, 2, 3)
    await t.crash(log)
    await rm(join(t.dir, 'leader-epoch-checkpoint'))
    const reopened = await t.open()
    expect(reopened.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0n },
      { epoch: 3, startOffset: 4n },
    ])
    await reopened.close()
  })

  it('after a clean close, trusts the files (no segment re-checked) and removes the marker', async () => {
    const log = await t.open({ segmentBytes: 400 })
    await appendBatches(log, 8)
    await log.close()
    expect((await stat(join(t.dir, 'clean-shutdown'))).isFile()).toBe(true)
    const reopened = await t.open({ segmentBytes: 400 })
    expect(t.logger.lines.at(-1)).toMatchObject({ msg: 'opened partition log', fields: { recoveredSegments: 0, cleanShutdown: true } })
    await expect(stat(join(t.dir, 'clean-shutdown'))).rejects.toThrow(/ENOENT/)
    expect(await offsetsIn(reopened)).toHaveLength(16)
    await reopened.close()
  })

  it('rebuilds missing or damaged index files from the log, to the same bytes', async () => {
    const config = { segmentBytes: 600, indexIntervalBytes: 100 }
    const log = await t.open(config)
    await appendBatches(log, 12)
    await log.close()
    const index = await readFile(segmentPath(0n, '.index'))
    const timeIndex = await readFile(segmentPath(0n, '.timeindex'))
    expect(index.length).toBeGreaterThan(0)
    await rm(segmentPath(0n, '.index'))
    await writeFile(segmentPath(0n, '.timeindex'), Buffer.alloc(5))
    const reopened = await t.open(config)
    expect(t.logger.messages('warn')).toContain('segment files fail their checks; recovering the segment from its log')
    expect((await readFile(segmentPath(0n, '.index'))).equals(index)).toBe(true)
    expect((await readFile(segmentPath(0n, '.timeindex'))).equals(timeIndex)).toBe(true)
    expect(await offsetsIn(reopened)).toHaveLength(24)
    await reopened.close()
  })

  it('removes leftover temporary files and index files without a log', async () => {
    const log = await t.open()
    await appendBatches(log, 1)
    await log.close()
    await writeFile(join(t.dir, 'leader-epoch-checkpoint.tmp'), 'half')
    await writeFile(segmentPath(500n, '.index'), Buffer.alloc(8))
    const reopened = await t.open()
    await expect(stat(join(t.dir, 'leader-epoch-checkpoint.tmp'))).rejects.toThrow(/ENOENT/)
    await expect(stat(segmentPath(500n, '.index'))).rejects.toThrow(/ENOENT/)
    await reopened.close()
  })
})
