import { afterEach, describe, expect, it } from 'vitest'
import pino from 'pino'
import { MetadataImage } from '@tributary/metadata-quorum'
import { broker, controller, decodeRecords, encodeRecordBatch, ErrorCode, iterateBatches, type NodeId } from '@tributary/protocol'
import { partition, register, topic } from '../node/test-images.js'
import type { ReplicaService } from '../replica-manager/types.js'
import { GroupCoordinator, OFFSETS_TOPIC } from './group-coordinator.js'

const logger = pino({ level: process.env['TRIB_TEST_LOG'] ?? 'silent' })
const OFFSETS_ID = 'offsetsAAAAAAAAAAAAAAA'
const EVENTS_ID = 'eventsAAAAAAAAAAAAAAAA'

/** One __consumer_offsets-0 log in memory: produce appends (or fails once on request), fetch and ListOffsets read it. */
class FakeLog implements ReplicaService {
  readonly records: { key: Buffer | null; value: Buffer | null }[] = []
  failNextProduce = false
  produced = 0

  produce(request: broker.ProduceRequest): Promise<broker.ProduceResponse | null> {
    const p = request.topics[0]!.partitions[0]!
    const answer = (errorCode: number, baseOffset: bigint): broker.ProduceResponse => ({
      topics: [{ name: request.topics[0]!.name, partitions: [{ partitionIndex: p.partitionIndex, errorCode, errorMessage: '', baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n, currentLeaderId: -1, currentLeaderEpoch: -1 }] }],
    })
    this.produced++
    if (this.failNextProduce) {
      this.failNextProduce = false
      return Promise.resolve(answer(ErrorCode.NOT_ENOUGH_REPLICAS.code, -1n))
    }
    const base = BigInt(this.records.length)
    const buf = Buffer.from(p.records)
    for (const scan of iterateBatches(buf)) {
      if (scan.kind !== 'batch') break
      for (const r of decodeRecords(buf.subarray(scan.position, scan.position + scan.header.sizeBytes))) this.records.push({ key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) })
    }
    return Promise.resolve(answer(0, base))
  }

  fetch(request: broker.FetchRequest): Promise<broker.FetchResponse> {
    const fp = request.topics[0]!.partitions[0]!
    const from = Number(fp.fetchOffset)
    const slice = this.records.slice(from)
    const records = slice.length === 0 ? Buffer.alloc(0) : encodeRecordBatch({ baseOffset: fp.fetchOffset, records: slice.map((r) => ({ ...r, timestamp: 0n })) })
    const end = BigInt(this.records.length)
    return Promise.resolve({
      errorCode: 0, errorMessage: '', correlationId: 0n,
      topics: [{ topic: OFFSETS_TOPIC, topicId: OFFSETS_ID, partitions: [{ partitionIndex: fp.partition, errorCode: 0, highWatermark: end, lastStableOffset: end, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records }] }],
    })
  }

  listOffsets(request: broker.ListOffsetsRequest): Promise<broker.ListOffsetsResponse> {
    const q = request.topics[0]!.partitions[0]!
    const offset = q.timestamp === -2n ? 0n : BigInt(this.records.length)
    return Promise.resolve({ topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: q.partitionIndex, errorCode: 0, timestamp: -1n, offset, leaderEpoch: 0 }] }] })
  }

  applyMetadata(): Promise<void> { return Promise.resolve() }
  setBrokerEpoch(): void {}
  offsetsForLeaderEpoch(): Promise<broker.OffsetsForLeaderEpochResponse> { return Promise.resolve({ topics: [] }) }
  leaderCount(): number { return 0 }
  close(): Promise<void> { return Promise.resolve() }
}

function image(offsetsLeader: number | null): MetadataImage {
  const records = [register(1, 1n), register(2, 2n), register(3, 3n), topic('events', EVENTS_ID), partition(0, [1, 2, 3], 1, EVENTS_ID), partition(1, [2, 3, 1], 2, EVENTS_ID)]
  if (offsetsLeader !== null) records.push(topic(OFFSETS_TOPIC, OFFSETS_ID), partition(0, [offsetsLeader, ...[1, 2, 3].filter((b) => b !== offsetsLeader)], offsetsLeader, OFFSETS_ID))
  return MetadataImage.EMPTY.replay(records, 10)
}

async function until<T>(probe: () => Promise<T | null>, what: string): Promise<T> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const v = await probe()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const commit = (offset: bigint): broker.OffsetCommitRequest => ({
  groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '',
  topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
})
const fetchRequest: broker.OffsetFetchRequest = { groupId: 'g', topics: [{ name: 'events', partitionIndexes: [0] }], allTopics: false, memberId: '', memberEpoch: -1 }

describe('GroupCoordinator (the shell, over a fake partition log)', () => {
  const coordinators: GroupCoordinator[] = []
  afterEach(async () => {
    await Promise.all(coordinators.splice(0).map((c) => c.close()))
  })

  function coordinatorOn(log: FakeLog, createTopics: (r: controller.CreateTopicsRequest) => Promise<controller.CreateTopicsResponse> = () => Promise.reject(new Error('unexpected'))): GroupCoordinator {
    const c = new GroupCoordinator({ brokerId: 1 as NodeId, listenerName: 'PLAINTEXT', replicas: log, createTopics, offsetsTopicPartitions: 7, logger })
    coordinators.push(c)
    return c
  }

  it('creates __consumer_offsets on the first FindCoordinator (compact, RF min(3, live brokers)) and answers COORDINATOR_NOT_AVAILABLE meanwhile', async () => {
    const asked: controller.CreateTopicsRequest[] = []
    const c = coordinatorOn(new FakeLog(), (r) => {
      asked.push(r)
      return Promise.resolve({ errorCode: 0, errorMessage: '', controllerId: 1, topics: [] })
    })
    c.onImage(image(null))
    const r = await c.findCoordinator({ key: 'g', keyType: 0 })
    expect(r).toMatchObject({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE.code, nodeId: -1 })
    expect(asked).toHaveLength(1)
    expect(asked[0]!.topics[0]).toEqual({ name: OFFSETS_TOPIC, numPartitions: 7, replicationFactor: 3, configs: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'segment.bytes': '104857600' } })
  })

  it('answers from the loaded shard, reloads from the log after a failed append, and refuses once leadership moves', async () => {
    const log = new FakeLog()
    const c = coordinatorOn(log)
    c.onImage(image(1))
    expect((await c.findCoordinator({ key: 'g', keyType: 0 }))).toMatchObject({ errorCode: 0, nodeId: 1, host: 'h', port: 9091 })
    await until(async () => (c.loadedShards === 1 ? true : null), 'the shard to load')

    expect((await c.commitOffsets(commit(5n))).topics[0]!.partitions[0]!.errorCode).toBe(0)
    expect(log.records).toHaveLength(1)
    expect((await c.fetchOffsets(fetchRequest)).topics[0]!.partitions[0]!.committedOffset).toBe(5n)

    // The append fails: the answer is retriable and the shard forgets what the log does not hold.
    log.failNextProduce = true
    expect((await c.commitOffsets(commit(9n))).errorCode).toBe(ErrorCode.NOT_COORDINATOR.code)
    const after = await until(async () => {
      const r = await c.fetchOffsets(fetchRequest)
      return r.errorCode === 0 ? r : null
    }, 'the reload')
    expect(after.topics[0]!.partitions[0]!.committedOffset).toBe(5n)

    // Another broker now leads the partition: this one drops its shard.
    c.onImage(image(2))
    expect((await c.fetchOffsets(fetchRequest)).errorCode).toBe(ErrorCode.NOT_COORDINATOR.code)
    expect(c.loadedShards).toBe(0)
    expect((await c.findCoordinator({ key: 'g', keyType: 0 }))).toMatchObject({ errorCode: 0, nodeId: 2, port: 9092 })
  })

  it('serializes calls on a shard: appends happen in the order the shard produced the records', async () => {
    const log = new FakeLog()
    const c = coordinatorOn(log)
    c.onImage(image(1))
    await until(async () => (c.loadedShards === 1 ? true : null), 'the shard to load')
    const answers = await Promise.all([1n, 2n, 3n, 4n].map((o) => c.commitOffsets(commit(o))))
    expect(answers.every((a) => a.errorCode === 0)).toBe(true)
    const offsets = log.records.map((r) => (JSON.parse(r.value!.toString()) as { committedOffset: string }).committedOffset)
    expect(offsets).toEqual(['1', '2', '3', '4'])
    // A fresh coordinator on the same log loads the last commit.
    const reloaded = coordinatorOn(log)
    reloaded.onImage(image(1))
    await until(async () => (reloaded.loadedShards === 1 ? true : null), 'the reload')
    expect((await reloaded.fetchOffsets(fetchRequest)).topics[0]!.partitions[0]!.committedOffset).toBe(4n)
  })
})
