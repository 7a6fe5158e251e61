// The leader's request handling, error by error (Kafka's codes and hints), on a running
// three-broker cluster: Produce, Fetch, ListOffsets, OffsetsForLeaderEpoch.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode, encodeRecordBatch, type broker } from '@tributary/protocol'
import { InProcessCluster, eventually, valuesIn } from './in-process-cluster.js'

let c: InProcessCluster
let leader: number
let follower: number

beforeAll(async () => {
  c = await InProcessCluster.start()
  await c.createTopic('orders', 1, 3)
  leader = c.leaderOf('orders')
  follower = c.partitionOf('orders', 0).replicas.find((r) => r !== leader)!
  for (let i = 0; i < 3; i++) expect((await c.produce('orders', 0, [`v${i}`])).errorCode).toBe(0)
})

afterAll(async () => {
  await c.close()
})

function fetchRequest(partition: Partial<broker.FetchPartition>, fields: Partial<broker.FetchRequest> = {}, topicId = ''): broker.FetchRequest {
  return {
    replicaId: -1,
    replicaEpoch: -1n,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024 * 1024,
    isolationLevel: 0,
    correlationId: 7n,
    topics: [{ topic: 'orders', topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024, ...partition }] }],
    ...fields,
  }
}

async function fetchOne(broker: number, request: broker.FetchRequest): Promise<broker.FetchPartitionResponse> {
  const response = await c.manager(broker).fetch(request, new AbortController().signal)
  expect(response.correlationId).toBe(request.correlationId)
  return response.topics[0].partitions[0]
}

function produceRequest(fields: Partial<broker.ProduceRequest>): broker.ProduceRequest {
  const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: BigInt(c.nowMs) }] })
  return { acks: 1, timeoutMs: 1000, transactionalId: '', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records }] }], ...fields }
}

describe('Produce', () => {
  it('refuses acks other than 0, 1 and -1', async () => {
    const response = await c.manager(leader).produce(produceRequest({ acks: 2 }))
    expect(response?.topics[0].partitions[0].errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS.code)
  })

  it('refuses transactions clearly', async () => {
    const response = await c.manager(leader).produce(produceRequest({ transactionalId: 'tx' }))
    expect(response?.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST.code, errorMessage: expect.stringContaining('Transactions') })
  })

  it('answers NOT_LEADER_OR_FOLLOWER with the leader on a follower, UNKNOWN_TOPIC_OR_PARTITION for unknown partitions', async () => {
    const onFollower = await c.manager(follower).produce(produceRequest({}))
    expect(onFollower?.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER.code, currentLeaderId: leader, currentLeaderEpoch: 0 })
    const unknown = await c.manager(leader).produce({ ...produceRequest({}), topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, records: Buffer.alloc(0) }] }] })
    expect(unknown?.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code)
  })

  it('answers CORRUPT_MESSAGE for bytes that are not batches, and MESSAGE_TOO_LARGE over max.message.bytes', async () => {
    const garbage = await c.manager(leader).produce({ ...produceRequest({}), topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records: Buffer.from('not a batch at all, not at all, really not a batch ........') }] }] })
    expect(garbage?.topics[0].partitions[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE.code)
    const big = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(2 * 1024 * 1024, 1), timestamp: BigInt(c.nowMs) }] })
    const tooLarge = await c.manager(leader).produce({ ...produceRequest({}), topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records: big }] }] })
    expect(tooLarge?.topics[0].partitions[0].errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE.code)
  })

  it('never acknowledges a batch it did not write: an idempotent batch must be the only batch of its partition (Kafka: one batch per partition)', async () => {
    const p = c.manager(leader).partition('orders', 0)!
    const idempotent = (sequence: number): Buffer =>
      encodeRecordBatch({ producerId: 8100n, producerEpoch: 0, baseSequence: sequence, records: [{ key: null, value: Buffer.from(`s${sequence}`), timestamp: BigInt(c.nowMs) }] })
    const send = (records: Buffer) => c.manager(leader).produce({ ...produceRequest({}), topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records }] }] })
    expect((await send(idempotent(0)))?.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE.code)
    const before = p.logEndOffset
    // A retry of sequence 0 with a new sequence 1 behind it: answering the duplicate would
    // acknowledge sequence 1 without writing it.
    const mixed = (await send(Buffer.concat([idempotent(0), idempotent(1)])))?.topics[0].partitions[0]
    expect(mixed?.errorCode).toBe(ErrorCode.INVALID_RECORD.code)
    expect(p.logEndOffset).toBe(before)
    const next = (await send(idempotent(1)))?.topics[0].partitions[0]
    expect(next).toMatchObject({ errorCode: ErrorCode.NONE.code, baseOffset: before })
  })

  it('acks=0 resolves null and still appends', async () => {
    const before = c.manager(leader).partition('orders', 0)!.logEndOffset
    expect(await c.manager(leader).produce(produceRequest({ acks: 0 }))).toBeNull()
    expect(c.manager(leader).partition('orders', 0)!.logEndOffset).toBe(before + 1n)
  })
})

describe('Fetch', () => {
  beforeEach(async () => {
    // Earlier appends (acks=0, acks=1) commit asynchronously: start each check from rest.
    const p = c.manager(leader).partition('orders', 0)!
    await eventually(() => p.highWatermark === p.logEndOffset, 'earlier appends committed')
  })

  it('serves a consumer up to the high watermark and echoes the correlation id', async () => {
    const hw = c.manager(leader).partition('orders', 0)!.highWatermark
    const answer = await fetchOne(leader, fetchRequest({}))
    expect(answer.errorCode).toBe(0)
    expect(answer.highWatermark).toBe(hw)
    expect(answer.logStartOffset).toBe(0n)
    expect(valuesIn(answer.records).slice(0, 3)).toEqual(['v0', 'v1', 'v2'])
  })

  it('checks the caller\'s leader epoch: older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH', async () => {
    expect((await fetchOne(leader, fetchRequest({ currentLeaderEpoch: 5 }))).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH.code)
    await c.electPreferred('orders', 0) // no-op election: epoch stays 0
    const current = c.partitionOf('orders', 0).leaderEpoch
    if (current > 0) expect((await fetchOne(leader, fetchRequest({ currentLeaderEpoch: current - 1 }))).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH.code)
    expect((await fetchOne(leader, fetchRequest({ currentLeaderEpoch: current }))).errorCode).toBe(0)
  })

  it('answers NOT_LEADER_OR_FOLLOWER with the current leader on a follower', async () => {
    const answer = await fetchOne(follower, fetchRequest({}))
    expect(answer.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    expect(answer.currentLeader).toEqual({ leaderId: leader, leaderEpoch: c.partitionOf('orders', 0).leaderEpoch })
  })

  it('answers OFFSET_OUT_OF_RANGE with the log start and high watermark', async () => {
    const p = c.manager(leader).partition('orders', 0)!
    const answer = await fetchOne(leader, fetchRequest({ fetchOffset: 1000n }))
    expect(answer).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code, logStartOffset: 0n, highWatermark: p.highWatermark })
  })

  it('answers UNKNOWN_TOPIC_ID for a topic id that does not match and UNKNOWN_TOPIC_OR_PARTITION for unknown partitions', async () => {
    expect((await fetchOne(leader, fetchRequest({}, {}, 'AAAAAAAAAAAAAAAAAAAAAA'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID.code)
    const topicId = c.image.topic('orders')!.topicId
    expect((await fetchOne(leader, fetchRequest({}, {}, topicId))).errorCode).toBe(0)
    expect((await fetchOne(leader, fetchRequest({ partition: 9 }))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code)
  })

  it('tells a follower whose last fetched epoch diverges where to truncate (KIP-320) and returns no records', async () => {
    const asFollower = { replicaId: follower, replicaEpoch: c.brokerEpochs.get(follower)! }
    const end = c.manager(leader).partition('orders', 0)!.logEndOffset
    // The follower claims epoch 0 data past where the leader's epoch 0 ends.
    const answer = await fetchOne(leader, fetchRequest({ fetchOffset: end + 5n, lastFetchedEpoch: 0 }, asFollower))
    expect(answer.errorCode).toBe(0)
    expect(answer.divergingEpoch).toEqual({ epoch: 0, endOffset: end })
    expect(answer.records.length).toBe(0)
    // An epoch the leader cannot place at all is out of range (Kafka's answer too).
    expect((await fetchOne(leader, fetchRequest({ fetchOffset: 1n, lastFetchedEpoch: 3 }, asFollower))).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE.code)
  })

  it('returns one whole batch beyond max_bytes for the first partition (KIP-74), and respects max_bytes otherwise', async () => {
    const small = await fetchOne(leader, fetchRequest({ partitionMaxBytes: 1 }))
    expect(valuesIn(small.records)).toEqual(['v0'])
  })

  it('a parked fetch returns empty when max_wait_ms passes, and at once when the caller aborts', async () => {
    const p = c.manager(leader).partition('orders', 0)!
    await eventually(() => p.highWatermark === p.logEndOffset, 'earlier appends committed')
    const hw = p.highWatermark
    const timedOut = await fetchOne(leader, fetchRequest({ fetchOffset: hw }, { maxWaitMs: 30, minBytes: 1 }))
    expect(timedOut.errorCode).toBe(0)
    expect(timedOut.records.length).toBe(0)
    const abort = new AbortController()
    const pending = c.manager(leader).fetch(fetchRequest({ fetchOffset: hw }, { maxWaitMs: 60_000, minBytes: 1 }), abort.signal)
    abort.abort()
    expect((await pending).topics[0].partitions[0].records.length).toBe(0)
  })
})

describe('ListOffsets and OffsetsForLeaderEpoch', () => {
  it('answers earliest, latest (the HW for clients) and by timestamp, on the leader only', async () => {
    const p = c.manager(leader).partition('orders', 0)!
    await eventually(() => p.highWatermark === p.logEndOffset, 'HW reaches the log end')
    const ask = (broker: number, timestamp: bigint) =>
      c.manager(broker).listOffsets({ replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] }).then((r) => r.topics[0].partitions[0])
    expect(await ask(leader, -2n)).toMatchObject({ errorCode: 0, offset: 0n })
    expect(await ask(leader, -1n)).toMatchObject({ errorCode: 0, offset: p.highWatermark, leaderEpoch: 0 })
    expect(await ask(leader, BigInt(c.nowMs))).toMatchObject({ errorCode: 0, offset: 0n, timestamp: BigInt(c.nowMs) })
    expect(await ask(leader, BigInt(c.nowMs) + 1000n)).toMatchObject({ errorCode: 0, offset: -1n })
    expect((await ask(follower, -1n)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
  })

  it('answers the end of an epoch from the leader\'s epoch cache', async () => {
    const p = c.manager(leader).partition('orders', 0)!
    const response = await c.manager(leader).offsetsForLeaderEpoch({ replicaId: follower, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }] })
    expect(response.topics[0].partitions[0]).toEqual({ partition: 0, errorCode: 0, leaderEpoch: 0, endOffset: p.logEndOffset })
    const fenced = await c.manager(leader).offsetsForLeaderEpoch({ replicaId: follower, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 0 }] }] })
    expect(fenced.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH.code)
  })
})
