// A compacted partition (cleanup.policy=compact) on its own: keyless records refused, no
// time retention, and idempotent producers whose batches were all cleaned away still
// deduplicate after a restart (the cleaner keeps each producer's last batch, empty).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode, encodeRecordBatch, type NodeId } from '@tributary/protocol'
import { Partition, type PartitionOptions } from './partition.js'
import { testPartitionOptions } from './test-partition.js'
import type { TopicSettings } from './topic-config.js'

const ME = 1 as NodeId
let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-compacted-partition-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

const compacted: TopicSettings = {
  segmentBytes: 300,
  rollMs: 1e9,
  retentionMs: 1, // would delete every closed segment if retention applied
  retentionBytes: -1,
  maxMessageBytes: 1 << 20,
  minInsyncReplicas: 1,
  cleanupPolicy: 'compact',
}

function options(overrides: Partial<PartitionOptions> = {}): PartitionOptions {
  return testPartitionOptions(root, ME, { settings: compacted, ...overrides })
}

function idempotent(producerId: bigint, sequence: number, key: string | null, value: string): Buffer {
  return encodeRecordBatch({ producerId, producerEpoch: 0, baseSequence: sequence, records: [{ key: key === null ? null : Buffer.from(key), value: Buffer.from(value), timestamp: 1_000n }] })
}

async function leader(p: Partition, epoch: number): Promise<void> {
  expect(await p.makeLeader({ leader: ME, leaderEpoch: epoch, partitionEpoch: epoch, replicas: [ME], isr: [ME] }, 0)).toBe(true)
}

async function committed(p: Partition): Promise<void> {
  for (let i = 0; i < 200 && p.highWatermark < p.logEndOffset; i++) await new Promise((r) => setTimeout(r, 5))
  expect(p.highWatermark).toBe(p.logEndOffset)
}

describe('Partition with cleanup.policy=compact', () => {
  it('refuses keyless records, never applies time retention, and keeps producer state through cleaning and a restart', async () => {
    const p = await Partition.open(options())
    await leader(p, 0)
    expect(await p.appendAsLeader(idempotent(-1n, -1, null, 'no key'), -1)).toMatchObject({ kind: 'error', error: ErrorCode.INVALID_RECORD })

    // Producer 5 writes 'k' ten times; producer 6 then overwrites 'k' often enough to roll
    // several segments, so every record of producer 5 is superseded.
    const five: bigint[] = []
    for (let s = 0; s < 10; s++) {
      const r = await p.appendAsLeader(idempotent(5n, s, 'k', `five-${s}`), -1)
      expect(r.kind).toBe('appended')
      if (r.kind === 'appended') five.push(r.firstOffset)
    }
    for (let s = 0; s < 12; s++) expect((await p.appendAsLeader(idempotent(6n, s, 'k', `six-${s}`), -1)).kind).toBe('appended')
    await committed(p)
    const sizeBefore = p.logEndOffset

    await p.deleteOldSegments(10_000_000)
    expect(p.logStartOffset).toBe(0n)

    const result = await p.clean(1_000, compacted, { ignoreDirtyRatio: true })
    expect(result).toMatchObject({ kind: 'cleaned' })
    expect(p.logEndOffset).toBe(sizeBefore)
    await p.close()

    // After a restart the producer state is rebuilt from the log: producer 5's last batch was
    // kept (empty), so its retry is still recognised as a duplicate, with its original offset.
    const again = await Partition.open(options())
    await leader(again, 1)
    expect(await again.appendAsLeader(idempotent(5n, 9, 'k', 'five-9'), -1)).toMatchObject({ kind: 'duplicate', firstOffset: five[9] })
    expect(await again.appendAsLeader(idempotent(5n, 10, 'k', 'five-10'), -1)).toMatchObject({ kind: 'appended' })
    const read = await again.read(0n, 1 << 20, undefined, true)
    expect(read).toMatchObject({ kind: 'ok' })
    // cleanup.policy changed alone (the cleaner round hands the new settings over): keyless records are accepted again.
    expect(await again.clean(1_000, { ...compacted, cleanupPolicy: 'delete' })).toBeNull()
    expect(await again.appendAsLeader(idempotent(-1n, -1, null, 'no key'), -1)).toMatchObject({ kind: 'appended' })
    await again.close()
  })
})
