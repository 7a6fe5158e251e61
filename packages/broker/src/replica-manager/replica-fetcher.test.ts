// The follower's fetcher against a leader that answers badly: it must back off, never spin.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetadataImage, silentLogger } from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId, type broker } from '@tributary/protocol'
import { CountingSyncOps } from '../log/test-support.js'
import { Partition } from '../partition/partition.js'
import { ReplicaFetcherManager } from './replica-fetcher.js'
import type { LeaderChannel } from './types.js'

const ME = 1 as NodeId
const LEADER = 2 as NodeId
let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-fetcher-'))
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function followerPartition(): Promise<Partition> {
  const p = await Partition.open({
    dir: join(root, 'orders-0'),
    topicName: 'orders',
    topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
    partitionId: 0,
    brokerId: ME,
    durability: 'fsync',
    replicaLagTimeMaxMs: 1000,
    settings: { segmentBytes: 1 << 20, rollMs: 1e9, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1 << 20, minInsyncReplicas: 1 },
    logger: silentLogger,
    clock: () => 1_000,
    syncOps: new CountingSyncOps(),
    onStorageFailure: () => {},
    onAlterPartitionReady: () => {},
  })
  await p.makeFollower({ leader: LEADER, leaderEpoch: 0, partitionEpoch: 0, replicas: [LEADER, ME], isr: [LEADER, ME] })
  return p
}

function manager(answer: (request: broker.FetchRequest) => broker.FetchResponse, calls: { fetches: number }): ReplicaFetcherManager {
  const channel: LeaderChannel = {
    fetch: async (request) => {
      calls.fetches++
      // An answer over a network arrives in a later turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      return answer(request)
    },
    offsetsForLeaderEpoch: async () => ({ topics: [] }),
    close: () => {},
  }
  return new ReplicaFetcherManager({
    config: { brokerId: ME, durability: 'fsync', replicaFetchWaitMaxMs: 500, replicaFetchMaxBytes: 1 << 20, replicaFetchResponseMaxBytes: 1 << 20, replicaFetchBackoffMs: 1000 },
    channels: { open: () => channel },
    image: () => MetadataImage.EMPTY,
    brokerEpoch: () => 1n,
    logger: silentLogger,
  })
}

describe('ReplicaFetcher against a leader that answers badly', () => {
  it('backs off when the answer leaves out a partition it asked for (no hot loop of fetches)', async () => {
    const p = await followerPartition()
    const calls = { fetches: 0 }
    const fetchers = manager((request) => ({ errorCode: ErrorCode.NONE.code, errorMessage: '', topics: [], correlationId: request.correlationId }), calls)
    fetchers.follow(p, LEADER, 0, { kind: 'none' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await fetchers.close()
    expect(calls.fetches).toBeGreaterThanOrEqual(1)
    expect(calls.fetches).toBeLessThanOrEqual(2)
    await p.close()
  })
})
