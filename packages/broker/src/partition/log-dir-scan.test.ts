// Start-up cleaning of the log directory against the first metadata image.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetadataImage, nodeSyncOps, silentLogger } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import { writePartitionMetadata } from './partition-files.js'
import { scanLogDir } from './log-dir-scan.js'

const ORDERS = 'AAAAAAAAAAAAAAAAAAAAAQ'
const OLD = 'BBBBBBBBBBBBBBBBBBBBBQ'
let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-scan-'))
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

function image(): MetadataImage {
  return MetadataImage.EMPTY.replay(
    [
      { record: { $case: 'topic', value: { name: 'orders', topicId: ORDERS } } },
      { record: { $case: 'partition', value: { topicId: ORDERS, partitionId: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } } },
      { record: { $case: 'partition', value: { topicId: ORDERS, partitionId: 1, replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: 0, partitionEpoch: 0 } } },
    ],
    0,
  )
}

async function partitionDirWith(name: string, topicId: string | null): Promise<void> {
  await mkdir(join(root, name))
  if (topicId !== null) await writePartitionMetadata(join(root, name), topicId, nodeSyncOps)
}

describe('scanLogDir', () => {
  it('keeps assigned directories, moves every other partition directory aside, finishes interrupted deletes', async () => {
    await partitionDirWith('orders-0', ORDERS) // assigned, same topic id: kept
    await partitionDirWith('orders-1', ORDERS) // exists, but not on broker 1: stray
    await partitionDirWith('gone-0', OLD) // topic not in the image: stray
    await mkdir(join(root, 'orders-2')) // no such partition, no metadata file: stray (unknown id)
    await mkdir(join(root, `orders-0.${OLD}-delete`)) // a delete that a crash interrupted
    await mkdir(join(root, 'not-a-partition')) // left alone
    await mkdir(join(root, '__cluster_metadata-0')) // the node's own Raft metadata log: left alone
    await scanLogDir(root, image(), 1 as NodeId, nodeSyncOps, silentLogger)
    expect((await readdir(root)).sort()).toEqual(['__cluster_metadata-0', 'gone-0.BBBBBBBBBBBBBBBBBBBBBQ-stray', 'not-a-partition', 'orders-0', `orders-1.${ORDERS}-stray`, 'orders-2.unknown-stray'].sort())
  })

  it('moves aside a directory of a deleted topic whose name was reused, and never overwrites a stray', async () => {
    await partitionDirWith('orders-0', OLD)
    await partitionDirWith(`orders-0.${OLD}-stray`, OLD)
    await scanLogDir(root, image(), 1 as NodeId, nodeSyncOps, silentLogger)
    expect((await readdir(root)).sort()).toEqual([`orders-0.${OLD}-stray`, `orders-0.${OLD}.1-stray`].sort())
  })
})
