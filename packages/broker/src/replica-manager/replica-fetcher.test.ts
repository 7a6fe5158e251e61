// The follower's fetcher against a leader that answers badly: it must back off, never spin.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetadataImage, silentLogger } from '@tributary/metadata-quorum'
import { ErrorCode, encodeRecordBatch, type NodeId, type broker } from '@tributary/protocol'
import { Partition } from '../partition/partition.js'
import { testPartitionOptions } from '../partition/test-partition.js'
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

async function openPartition(): Promise<Partition> {
  return Partition.open(testPartitionOptions(root, ME))
}

async function followerPartition(leaderEpoch = 0): Promise<Partition> {
  const p = await openPartition()
  await p.makeFollower({ leader: LEADER, leaderEpoch, partitionEpoch: leaderEpoch, replicas: [LEADER, ME], isr: [LEADER, ME] })
  return p
}

const emptyAnswer = (request: broker.FetchRequest): broker.FetchResponse => ({
  errorCode: ErrorCode.NONE.code,
  errorMessage: '',
  correlationId: request.correlationId,
  topics: request.topics.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((q) => ({ partitionIndex: q.partition, errorCode: 0, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: Buffer.alloc(0) })),
  })),
})

function manager(
  answer: (request: broker.FetchRequest) => broker.FetchResponse,
  calls: { fetches: number },
  offsetsForLeaderEpoch: (request: broker.OffsetsForLeaderEpochRequest) => broker.OffsetsForLeaderEpochResponse = () => ({ topics: [] }),
): ReplicaFetcherManager {
  const channel: LeaderChannel = {
    fetch: async (request) => {
      calls.fetches++
      // An answer over a network arrives in a later turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      return answer(request)
    },
    offsetsForLeaderEpoch: async (request) => offsetsForLeaderEpoch(request),
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

describe('ReplicaFetcher truncation without leader epochs', () => {
  it('truncates a log that has no epoch entries to its HW before fetching (Kafka: partitions without epochs truncate to the HW)', async () => {
    const p = await followerPartition()
    for (const i of [0, 1, 2]) {
      const batch = encodeRecordBatch({ baseOffset: BigInt(i), partitionLeaderEpoch: 0, records: [{ key: null, value: Buffer.from(`r${i}`), timestamp: 1_000n }] })
      expect((await p.appendAsFollower(0, batch)).kind).toBe('appended')
    }
    await p.flush()
    p.updateFollowerHighWatermark(0, 1n)
    await p.close()
    // The epoch checkpoint is gone (an operator, a copy tool): the log holds data with no epochs.
    await rm(join(root, 'orders-0', 'leader-epoch-checkpoint'))
    const again = await followerPartition(1)
    expect(again.latestEpoch).toBeNull()
    expect(again.logEndOffset).toBe(3n)
    expect(again.highWatermark).toBe(1n)

    const calls = { fetches: 0 }
    const fetchOffsets: bigint[] = []
    const fetchers = manager(
      (request) => {
        fetchOffsets.push(request.topics[0].partitions[0].fetchOffset)
        return emptyAnswer(request)
      },
      calls,
      (request) => ({
        topics: request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((q) => ({ partition: q.partition, errorCode: 0, leaderEpoch: -1, endOffset: -1n })) })),
      }),
    )
    const made = await again.makeFollower({ leader: LEADER, leaderEpoch: 1, partitionEpoch: 1, replicas: [LEADER, ME], isr: [LEADER, ME] })
    expect(made?.kind).toBe('unchanged')
    fetchers.follow(again, LEADER, 1, { kind: 'none' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await fetchers.close()
    // Records past the HW may have diverged from the leader: they go before the first fetch.
    expect(fetchOffsets[0]).toBe(1n)
    expect(again.logEndOffset).toBe(1n)
    await again.close()
  })
})
