/**
 * BrokerClient against in-process fake brokers (grpc-js servers with scripted answers): it
 * follows leadership changes through Metadata, retries NOT_LEADER_OR_FOLLOWER and transport
 * failures, gives up at the delivery timeout, and records every attempt. The multi-process
 * tests rely on these counts, so they are checked here without a cluster.
 */
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { broker, encodeRecordBatch, ErrorCode, readBatchHeader, setBaseOffsetAndLeaderEpoch } from '@tributary/protocol'
import { BrokerClient, SendFailedError, textRecord } from './broker-client.ts'

interface FakeState {
  /** The leader (and its epoch) every fake's Metadata names for t-0. */
  leader: number
  epoch: number
  /** Produce answers of each broker, consumed in order; when empty: NONE at the next offset. */
  readonly scripted: Map<number, number[]>
  nextOffset: bigint
  readonly stored: Buffer[]
  readonly ports: Map<number, number>
}

type Handler = (call: { request: unknown }, callback: (err: grpc.ServiceError | null, value?: unknown) => void) => void

async function startFake(id: number, state: FakeState): Promise<grpc.Server> {
  const server = new grpc.Server()
  const unimplemented: Handler = (_call, cb) => cb({ name: 'x', message: 'x', code: grpc.status.UNIMPLEMENTED, details: 'fake', metadata: new grpc.Metadata() })
  const impl: Record<string, Handler> = {}
  for (const name of Object.keys(broker.BrokerServiceService)) impl[name] = unimplemented
  impl.metadata = (_call, cb) => {
    cb(null, {
      brokers: [...state.ports].map(([nodeId, port]) => ({ nodeId, host: '127.0.0.1', port, rack: '' })),
      clusterId: 'fake', controllerId: 1, metadataOffset: 1n,
      topics: [{ errorCode: 0, name: 't', topicId: '', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: state.leader, leaderEpoch: state.epoch, replicaNodes: [1, 2], isrNodes: [1, 2], offlineReplicas: [] }] }],
    } satisfies broker.MetadataResponse)
  }
  impl.produce = (call, cb) => {
    const req = call.request as broker.ProduceRequest
    const code = state.scripted.get(id)?.shift() ?? (state.leader === id ? ErrorCode.NONE.code : ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    const records = Buffer.from(req.topics[0]!.partitions[0]!.records)
    let baseOffset = -1n
    if (code === ErrorCode.NONE.code) {
      baseOffset = state.nextOffset
      setBaseOffsetAndLeaderEpoch(records, baseOffset, 1)
      state.stored.push(records)
      state.nextOffset += BigInt(readBatchHeader(records).recordCount)
    }
    cb(null, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: code, errorMessage: '', baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n, currentLeaderId: state.leader, currentLeaderEpoch: state.epoch }] }] } satisfies broker.ProduceResponse)
  }
  impl.fetch = (call, cb) => {
    const req = call.request as broker.FetchRequest
    const offset = req.topics[0]!.partitions[0]!.fetchOffset
    const code = state.leader === id ? ErrorCode.NONE.code : ErrorCode.NOT_LEADER_OR_FOLLOWER.code
    cb(null, {
      errorCode: 0, errorMessage: '', correlationId: req.correlationId,
      topics: [{ topic: 't', topicId: '', partitions: [{ partitionIndex: 0, errorCode: code, highWatermark: state.nextOffset, lastStableOffset: state.nextOffset, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined, records: code === 0 ? Buffer.concat(state.stored.filter((b) => readBatchHeader(b).lastOffset >= offset)) : Buffer.alloc(0) }] }],
    } satisfies broker.FetchResponse)
  }
  server.addService(broker.BrokerServiceService, impl as unknown as grpc.UntypedServiceImplementation)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))))
  state.ports.set(id, port)
  return server
}

const servers: grpc.Server[] = []
const clients: BrokerClient[] = []

afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  for (const s of servers.splice(0)) s.forceShutdown()
})

async function setup(): Promise<{ state: FakeState; client: BrokerClient }> {
  const state: FakeState = { leader: 1, epoch: 1, scripted: new Map(), nextOffset: 0n, stored: [], ports: new Map() }
  servers.push(await startFake(1, state), await startFake(2, state))
  const client = new BrokerClient({ bootstrap: [`127.0.0.1:${state.ports.get(1)}`], callTimeoutMs: 1000 })
  clients.push(client)
  return { state, client }
}

describe('BrokerClient', () => {
  it('sends to the leader from Metadata and reads the records back', async () => {
    const { client } = await setup()
    const a = await client.produce('t', 0, [textRecord('a'), textRecord('b')])
    const b = await client.produce('t', 0, [textRecord('c')])
    expect([a.baseOffset, b.baseOffset, a.leaderId, a.calls, a.errors]).toEqual([0n, 2n, 1, 1, []])
    const read = await client.readRange('t', 0, 1n)
    expect(read.map((r) => [r.offset, r.value?.toString()])).toEqual([[1n, 'b'], [2n, 'c']])
  })

  it('refreshes metadata on NOT_LEADER_OR_FOLLOWER and counts the error response apart from the ack', async () => {
    const { state, client } = await setup()
    await client.produce('t', 0, [textRecord('warm')])
    state.leader = 2 // the cached leader (1) now answers NOT_LEADER_OR_FOLLOWER
    const ack = await client.produce('t', 0, [textRecord('moved')])
    expect(ack.leaderId).toBe(2)
    expect(ack.calls).toBe(2)
    expect(ack.errors.map((e) => [e.name, e.nodeId, e.outcome])).toEqual([['NOT_LEADER_OR_FOLLOWER', 1, 'error_code']])
    expect(client.count('NOT_LEADER_OR_FOLLOWER', 'produce')).toBe(1)
    expect(client.count('NONE', 'produce')).toBe(2)
  })

  it('follows the new leader a NOT_LEADER_OR_FOLLOWER answer names (KIP-951) without asking Metadata', async () => {
    const { state, client } = await setup()
    await client.produce('t', 0, [textRecord('warm')])
    state.leader = 2
    state.epoch = 2
    const from = client.attempts.length
    const ack = await client.produce('t', 0, [textRecord('hinted')])
    expect(ack.leaderId).toBe(2)
    expect(client.attemptsSince(from).map((a) => `${a.op}@${a.nodeId}:${a.name}`)).toEqual(['produce@1:NOT_LEADER_OR_FOLLOWER', 'produce@2:NONE'])
  })

  it('retries a transport failure (the leader is gone) and a retriable code, then succeeds on the new leader', async () => {
    const { state, client } = await setup()
    await client.produce('t', 0, [textRecord('warm')])
    servers[0]!.forceShutdown() // broker 1 dies; metadata (from 2) soon names 2
    state.scripted.set(2, [ErrorCode.NOT_ENOUGH_REPLICAS.code])
    setTimeout(() => (state.leader = 2), 50)
    const ack = await client.produce('t', 0, [textRecord('after')])
    expect(ack.leaderId).toBe(2)
    const names = ack.errors.map((e) => e.name)
    expect(names).toContain('UNAVAILABLE')
    expect(names).toContain('NOT_ENOUGH_REPLICAS')
    expect(ack.errors.find((e) => e.name === 'UNAVAILABLE')?.outcome).toBe('transport')
  })

  it('fails a send with SendFailedError after the delivery timeout, and at once on a non-retriable code', async () => {
    const { state, client } = await setup()
    state.scripted.set(1, Array.from({ length: 1000 }, () => ErrorCode.NOT_ENOUGH_REPLICAS.code))
    const timedOut = await client.produce('t', 0, [textRecord('x')], { deliveryTimeoutMs: 200 }).catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(SendFailedError)
    expect((timedOut as SendFailedError).attempts.length).toBeGreaterThan(1)
    state.scripted.set(1, [ErrorCode.INVALID_REQUIRED_ACKS.code]) // not retriable
    const refused = await client.produceBatch('t', 0, encodeRecordBatch({ records: [textRecord('y')] })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(SendFailedError)
    expect((refused as SendFailedError).attempts).toHaveLength(1)
  })
})
