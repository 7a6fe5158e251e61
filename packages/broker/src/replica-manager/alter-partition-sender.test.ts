// AlterPartitionSender against a scripted controller channel: batching, one answer per taken
// request, and a resend after an answer that never came.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nodeSyncOps, silentLogger } from '@tributary/metadata-quorum'
import type { NodeId, controller } from '@tributary/protocol'
import { Partition } from '../partition/partition.js'
import { testPartitionOptions } from '../partition/test-partition.js'
import { AlterPartitionSender } from './alter-partition-sender.js'

const ME = 1 as NodeId
let root: string
let nowMs = 0
const open: Partition[] = []

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-alter-'))
  nowMs = 1_000
})

afterEach(async () => {
  for (const p of open.splice(0)) await p.close()
  await rm(root, { recursive: true, force: true })
})

async function leaderOf(name: string, topicId: string): Promise<Partition> {
  const p = await Partition.open(testPartitionOptions(root, ME, {
    dir: join(root, `${name}-0`),
    topicName: name,
    topicId,
    replicaLagTimeMaxMs: 100,
    clock: () => nowMs,
    syncOps: nodeSyncOps,
  }))
  open.push(p)
  expect(await p.makeLeader({ leader: ME, leaderEpoch: 3, partitionEpoch: 7, replicas: [ME, 2 as NodeId], isr: [ME, 2 as NodeId] }, nowMs)).toBe(true)
  return p
}

describe('AlterPartitionSender', () => {
  it('sends the ISR shrinks of several partitions in one request, resends after a lost answer, and applies the commit', async () => {
    const a = await leaderOf('a', 'AAAAAAAAAAAAAAAAAAAAAQ')
    const b = await leaderOf('b', 'BBBBBBBBBBBBBBBBBBBBBQ')
    const sent: controller.AlterPartitionRequest[] = []
    let fail = true
    const sender = new AlterPartitionSender({
      brokerId: ME,
      brokerEpoch: () => 42n,
      logger: silentLogger,
      channel: {
        alterPartition: async (request) => {
          sent.push(request)
          if (fail) {
            fail = false
            throw new Error('connection reset')
          }
          return {
            errorCode: 0,
            errorMessage: '',
            controllerId: 9,
            topics: request.topics.map((t) => ({
              topicId: t.topicId,
              partitions: t.partitions.map((p) => ({ partitionId: p.partitionId, errorCode: 0, errorMessage: '', leaderId: ME, leaderEpoch: p.leaderEpoch, isr: p.newIsr.map((m) => m.brokerId), partitionEpoch: p.partitionEpoch + 1 })),
            })),
          }
        },
      },
    })
    // Follower 2 never fetched: past replica.lag.time.max.ms both leaders propose to drop it.
    nowMs += 1_000
    expect(a.tick(nowMs)).toBe(true)
    expect(b.tick(nowMs)).toBe(true)
    sender.offer(a)
    sender.offer(b)
    const deadline = Date.now() + 5_000
    while (a.view().isr.length !== 1 || b.view().isr.length !== 1) {
      if (Date.now() > deadline) throw new Error('ISR changes were not applied')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await sender.close()
    expect(sent).toHaveLength(2)
    expect(sent[0].topics.map((t) => t.topicId).sort()).toEqual(['AAAAAAAAAAAAAAAAAAAAAQ', 'BBBBBBBBBBBBBBBBBBBBBQ'])
    // The resend is the same request: same partition epoch, same new ISR, our broker epoch.
    expect(sent[1]).toEqual(sent[0])
    expect(sent[0]).toMatchObject({ brokerId: ME, brokerEpoch: 42n })
    expect(sent[0].topics[0].partitions[0]).toMatchObject({ leaderEpoch: 3, partitionEpoch: 7, newIsr: [{ brokerId: ME, brokerEpoch: 42n }] })
    expect(a.view()).toMatchObject({ isr: [ME], partitionEpoch: 8, isrState: 'committed' })
  })
})
