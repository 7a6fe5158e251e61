import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeRecordBatch } from '@tributary/protocol'
import { readReplicaImage, segmentBatches, segmentFiles } from './replica-image.ts'
import { checkReplicas } from './check-replicas.ts'

/** A batch of `count` records starting at baseOffset. */
function batch(baseOffset: bigint, count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${baseOffset + BigInt(i)}`), timestamp: 1_700_000_000_000n }))
  return encodeRecordBatch({ baseOffset, partitionLeaderEpoch: 3, records })
}

const segmentName = (base: bigint): string => `${String(base).padStart(20, '0')}.log`

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function logDir(segments: ReadonlyMap<bigint, Buffer>, extra: Record<string, Buffer> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'replica-image-'))
  dirs.push(dir)
  const part = join(dir, 't-0')
  await mkdir(part)
  for (const [base, bytes] of segments) await writeFile(join(part, segmentName(base)), bytes)
  for (const [name, bytes] of Object.entries(extra)) await writeFile(join(part, name), bytes)
  return dir
}

describe('segmentFiles', () => {
  it('keeps segment logs only, in base-offset order', () => {
    expect(segmentFiles(['00000000000000000010.log', '00000000000000000000.index', 'leader-epoch-checkpoint', '00000000000000000000.log', '00000000000000000005.log.deleted'])).toEqual([
      '00000000000000000000.log',
      '00000000000000000010.log',
    ])
  })
})

describe('segmentBatches', () => {
  const bytes = Buffer.concat([batch(0n, 2), batch(2n, 3), batch(5n, 1)])

  it('returns every batch with its offsets and exact bytes', () => {
    const result = segmentBatches(bytes, null)
    expect(result.tail).toBeNull()
    expect(result.batches.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[0n, 1n], [2n, 4n], [5n, 5n]])
    expect(Buffer.concat(result.batches.map((b) => b.bytes)).equals(bytes)).toBe(true)
  })

  it('stops at the first batch at or beyond the limit', () => {
    const result = segmentBatches(bytes, 5n)
    expect(result.batches.map((b) => b.baseOffset)).toEqual([0n, 2n])
    expect(result.reachedLimit).toBe(true)
  })

  it('reports a torn tail instead of throwing', () => {
    const result = segmentBatches(bytes.subarray(0, bytes.length - 3), null)
    expect(result.batches).toHaveLength(2)
    expect(result.tail?.kind).toBe('truncated')
  })
})

describe('readReplicaImage', () => {
  it('reads every segment of a partition directory up to the high watermark', async () => {
    const dir = await logDir(new Map([[0n, Buffer.concat([batch(0n, 2), batch(2n, 2)])], [4n, Buffer.concat([batch(4n, 3), batch(7n, 1)])]]), { '00000000000000000000.index': Buffer.alloc(8) })
    const read = await readReplicaImage({ node: 2, logDir: dir, topic: 't', partition: 0, upToOffset: 7n })
    expect(read.tail).toBeNull()
    expect(read.exists).toBe(true)
    expect(read.image.node).toBe(2)
    expect(read.image.batches.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[0n, 1n], [2n, 3n], [4n, 6n]])
    const all = await readReplicaImage({ node: 2, logDir: dir, topic: 't', partition: 0, upToOffset: null })
    expect(all.image.batches).toHaveLength(4)
  })

  it('gives an empty image for a node without the partition, which the check calls behind', async () => {
    const dir = await logDir(new Map([[0n, batch(0n, 2)]]))
    const empty = await readReplicaImage({ node: 3, logDir: dir, topic: 't', partition: 1, upToOffset: 2n })
    expect(empty.image.batches).toEqual([])
    expect(empty.exists).toBe(false)
    const full = await readReplicaImage({ node: 1, logDir: dir, topic: 't', partition: 0, upToOffset: 2n })
    const check = checkReplicas([full.image, { ...empty.image, partition: 0 }], new Map([['t-0', 2n]]))
    expect(check.counts).toMatchObject({ replicaBehind: 1, divergent: 0 })
  })

  it('feeds the replica check: a flipped byte on disk is divergence', async () => {
    const segment = Buffer.concat([batch(0n, 2), batch(2n, 2)])
    const flipped = Buffer.from(segment)
    flipped[flipped.length - 1] ^= 1
    const images = []
    for (const [node, bytes] of [[1, segment], [2, segment], [3, flipped]] as const) {
      const dir = await logDir(new Map([[0n, bytes]]))
      images.push((await readReplicaImage({ node, logDir: dir, topic: 't', partition: 0, upToOffset: 4n })).image)
    }
    const check = checkReplicas(images, new Map([['t-0', 4n]]))
    expect(check.counts).toMatchObject({ divergent: 1, replicaBehind: 0 })
    expect(check.violations[0].detail).toContain('node 3 diverges at offset 2')
  })
})
