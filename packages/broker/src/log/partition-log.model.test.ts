/**
 * Model test: random runs of appends (leader and follower), truncations, full truncations,
 * retention, flushes, crashes and clean reopens against a plain list of batches. After every
 * step the log must hold exactly the model's records, offsets and leader epochs, on disk and
 * after reopening. fast-check prints the seed and the shrunk run of any failure.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EpochEntry } from './leader-epoch-cache.js'
import type { PartitionLog, PartitionLogConfig } from './partition-log.js'
import { makeBatch, recordsIn, testLogDir, type TestLogDir } from './test-support.js'

interface ModelBatch {
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly epoch: number
  readonly values: readonly string[]
  readonly timestamps: readonly bigint[]
}

type Op =
  | { readonly kind: 'append'; readonly epochStep: number; readonly timestamps: readonly number[]; readonly valueBytes: number; readonly asFollower: boolean }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'truncateFully'; readonly ahead: number }
  | { readonly kind: 'retention'; readonly keepFraction: number }
  | { readonly kind: 'flush' }
  | { readonly kind: 'crash' }
  | { readonly kind: 'reopen' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), epochStep: fc.constantFrom(0, 0, 0, 1), timestamps: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 4 }), valueBytes: fc.integer({ min: 1, max: 250 }), asFollower: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateFully' as const), ahead: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retention' as const), keepFraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

// The largest generated batch (4 records of 250 bytes) fits a segment; most segments hold a few.
const config: Partial<PartitionLogConfig> = { segmentBytes: 1200, indexIntervalBytes: 200 }

let t: TestLogDir
beforeEach(async () => {
  t = await testLogDir()
})
afterEach(async () => {
  await t.cleanup()
})

function expectedEpochs(batches: readonly ModelBatch[]): EpochEntry[] {
  const out: EpochEntry[] = []
  for (const b of batches) if (out.length === 0 || out[out.length - 1].epoch !== b.epoch) out.push({ epoch: b.epoch, startOffset: b.baseOffset })
  return out
}

async function contents(log: PartitionLog): Promise<{ offset: bigint; value: string }[]> {
  const out: { offset: bigint; value: string }[] = []
  let next = log.logStartOffset
  for (let guard = 0; next < log.logEndOffset; guard++) {
    expect(guard).toBeLessThan(10_000)
    const read = await log.read(next, 1 << 20)
    if (read.kind !== 'ok') throw new Error(`read at ${next}: ${read.kind}`)
    out.push(...recordsIn(read.bytes))
    next = read.nextOffset
  }
  return out
}

async function run(ops: readonly Op[]): Promise<void> {
  let log = await t.open(config)
  let batches: ModelBatch[] = []
  let logStart = 0n
  let epoch = 0
  let serial = 0
  const end = (): bigint => (batches.length === 0 ? logStart : batches[batches.length - 1].lastOffset + 1n)
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'append': {
          epoch += op.epochStep
          const tag = `s${serial++}`
          const baseOffset = end()
          const timestamps = op.timestamps.map(BigInt)
          const bytes = makeBatch({ timestamps, valueBytes: op.valueBytes, tag, baseOffset, partitionLeaderEpoch: epoch })
          const result = op.asFollower ? await log.appendAsFollower(bytes) : await log.append(bytes, epoch)
          expect(result).toMatchObject({ kind: 'appended', firstOffset: baseOffset })
          batches.push({ baseOffset, lastOffset: baseOffset + BigInt(timestamps.length - 1), epoch, values: recordsIn(bytes).map((r) => r.value), timestamps })
          break
        }
        case 'truncate': {
          const target = logStart + BigInt(Math.floor(op.at * Number(end() - logStart + 1n)))
          const kept = batches.filter((b) => b.lastOffset < target)
          const newEnd = await log.truncateTo(target)
          batches = kept
          expect(newEnd).toBe(end())
          break
        }
        case 'truncateFully': {
          const start = end() + BigInt(op.ahead)
          await log.truncateFullyAndStartAt(start)
          batches = []
          logStart = start
          break
        }
        case 'retention': {
          const size = log.sizeInBytes
          await log.deleteOldSegments({ nowMs: t.nowMs, retentionMs: -1, retentionBytes: Math.floor(size * op.keepFraction), highWatermark: log.logEndOffset })
          logStart = log.logStartOffset
          batches = batches.filter((b) => b.baseOffset >= logStart)
          expect(batches.length === 0 || batches[0].baseOffset === logStart).toBe(true)
          break
        }
        case 'flush':
          expect(await log.flush()).toBe(end())
          break
        case 'crash':
          await t.crash(log)
          log = await t.open(config)
          break
        case 'reopen':
          await log.close()
          log = await t.open(config)
          break
      }
      if (batches.length > 0) epoch = Math.max(epoch, batches[batches.length - 1].epoch)
      expect([log.logStartOffset, log.logEndOffset]).toEqual([logStart, end()])
      const expected = batches.flatMap((b) => b.values.map((value, i) => ({ offset: b.baseOffset + BigInt(i), value })))
      expect(await contents(log)).toEqual(expected)
      expect(log.epochEntries()).toEqual(expectedEpochs(batches))
      // ListOffsets: the first record, in offset order, whose timestamp is >= the target.
      for (const target of [0n, 250n, 500n, 750n, 999n, 1000n, 1001n]) {
        let want: { offset: bigint; timestamp: bigint; leaderEpoch: number } | null = null
        for (const b of batches) {
          const i = b.timestamps.findIndex((ts) => ts >= target)
          if (i !== -1) {
            want = { offset: b.baseOffset + BigInt(i), timestamp: b.timestamps[i], leaderEpoch: b.epoch }
            break
          }
        }
        expect(await log.listOffsets({ kind: 'timestamp', timestampMs: target })).toEqual(want)
      }
    }
  } finally {
    await log.close()
  }
}

describe('PartitionLog model', () => {
  it('matches a list of batches through random appends, truncations, retention, crashes and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        await t.cleanup()
        t = await testLogDir()
        await run(ops)
      }),
      { numRuns: 100 },
    )
  })
})
