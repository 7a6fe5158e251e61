/**
 * Test support: a Client whose calls are answered in memory by a fake cluster (no
 * network): Metadata from a fixed layout, InitProducerId, and Produce appending to
 * per-partition arrays. Tests script failures with `onProduce` and see every request.
 *
 * With `checkSequences` the partitions judge idempotent batches as the broker's
 * ProducerStateManager does: an unknown producer may start anywhere, a lower epoch is
 * INVALID_PRODUCER_EPOCH, a higher epoch starts at 0, the same epoch continues at lastSeq + 1,
 * and a retry of one of the last 5 batches is answered with its original offset.
 * InitProducerId hands out 1000, 1001, ...; a request naming a producer id is refused with
 * INVALID_REQUEST (as Tributary's broker) unless `epochBumps` is set, then it bumps the epoch.
 */
import { ErrorCode, decodeRecords, readBatchHeader, type broker, type RecordBatchHeader } from '@tributary/protocol'
import { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import type { ClientOptions } from '../client/options.js'

export interface FakePartition {
  leader: number
  leaderEpoch: number
  readonly log: { value: string | null; sequence: number; producerId: bigint; producerEpoch: number }[]
  /** Per producer id: its epoch and its last batches (with checkSequences). */
  readonly producers: Map<bigint, { epoch: number; batches: { firstSeq: number; lastSeq: number; baseOffset: bigint }[] }>
}

/** Batches per producer a fake partition remembers for duplicate detection (the broker's PRODUCER_BATCHES_RETAINED). */
const FAKE_BATCHES_RETAINED = 5

export interface ProduceCall {
  readonly address: string
  readonly request: broker.ProduceRequest
}

/** Returns an error code (and optional leader hint) for one partition's data, or null to append it. */
export type ProduceScript = (call: ProduceCall, topic: string, partition: number) => { code: number; leaderId?: number; leaderEpoch?: number } | null

export class FakeCluster {
  readonly topics = new Map<string, FakePartition[]>()
  readonly produceCalls: ProduceCall[] = []
  metadataCalls = 0
  initProducerIdCalls = 0
  readonly initProducerIdRequests: broker.InitProducerIdRequest[] = []
  checkSequences = false
  epochBumps = false
  private nextProducerId = 1000n
  onProduce: ProduceScript = () => null
  /** When set, Produce answers wait for this promise (to hold requests in flight). */
  gate: Promise<void> | null = null

  constructor(readonly brokers = [1, 2, 3]) {}

  addTopic(name: string, partitions: number): void {
    this.topics.set(name, Array.from({ length: partitions }, (_, i) => ({ leader: this.brokers[i % this.brokers.length]!, leaderEpoch: 0, log: [], producers: new Map() })))
  }

  client(options: Partial<ClientOptions> = {}): Client {
    const client = new Client({ bootstrap: ['fake:1'], retryBackoffMs: 5, retryBackoffMaxMs: 20, ...options })
    client.connections.call = <Req, Res>(address: string, _pick: MethodPicker<Req, Res>, request: Req, _timeoutMs: number, context: string): Promise<Res> =>
      this.answer(address, context, request) as Promise<Res>
    return client
  }

  private async answer(address: string, context: string, request: unknown): Promise<unknown> {
    await Promise.resolve()
    if (context === 'Metadata') {
      this.metadataCalls++
      const req = request as broker.MetadataRequest
      const names = req.allTopics ? [...this.topics.keys()] : req.topics
      const res: broker.MetadataResponse = {
        brokers: this.brokers.map((id) => ({ nodeId: id, host: `broker${id}`, port: 9092, rack: '' })),
        clusterId: 'fake-cluster-id-000000',
        controllerId: 1,
        metadataOffset: 0n,
        topics: names.map((name) => {
          const parts = this.topics.get(name)
          if (parts === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, name, topicId: '', isInternal: false, partitions: [] }
          return {
            errorCode: 0, name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', isInternal: false,
            partitions: parts.map((p, i) => ({ errorCode: 0, partitionIndex: i, leaderId: p.leader, leaderEpoch: p.leaderEpoch, replicaNodes: this.brokers, isrNodes: this.brokers, offlineReplicas: [] })),
          }
        }),
      }
      return res
    }
    if (context === 'InitProducerId') {
      this.initProducerIdCalls++
      const req = request as broker.InitProducerIdRequest
      this.initProducerIdRequests.push(req)
      if (req.producerId >= 0n) {
        if (!this.epochBumps) return { errorCode: ErrorCode.INVALID_REQUEST.code, producerId: -1n, producerEpoch: -1 } satisfies broker.InitProducerIdResponse
        return { errorCode: 0, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 } satisfies broker.InitProducerIdResponse
      }
      return { errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 0 } satisfies broker.InitProducerIdResponse
    }
    if (context === 'Produce') {
      const req = request as broker.ProduceRequest
      const call = { address, request: req }
      this.produceCalls.push(call)
      if (this.gate !== null) await this.gate
      const res: broker.ProduceResponse = { topics: [] }
      for (const t of req.topics) {
        const partitions: broker.ProducePartitionResponse[] = []
        for (const pd of t.partitions) {
          const part = this.topics.get(t.name)?.[pd.partitionIndex]
          const base = { partitionIndex: pd.partitionIndex, errorMessage: '', logAppendTimeMs: -1n, logStartOffset: 0n, currentLeaderId: -1, currentLeaderEpoch: -1 }
          const scripted = this.onProduce(call, t.name, pd.partitionIndex)
          if (part === undefined || scripted !== null) {
            partitions.push({ ...base, errorCode: scripted?.code ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, baseOffset: -1n, currentLeaderId: scripted?.leaderId ?? -1, currentLeaderEpoch: scripted?.leaderEpoch ?? -1 })
            continue
          }
          if (`broker${part.leader}:9092` !== address) {
            partitions.push({ ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER.code, baseOffset: -1n })
            continue
          }
          const bytes = Buffer.from(pd.records)
          const header = readBatchHeader(bytes)
          const judged = this.checkSequences ? judge(part, header) : null
          if (judged !== null && judged.kind === 'error') {
            partitions.push({ ...base, errorCode: judged.code, baseOffset: -1n })
            continue
          }
          if (judged !== null && judged.kind === 'duplicate') {
            partitions.push({ ...base, errorCode: 0, baseOffset: judged.baseOffset })
            continue
          }
          const baseOffset = BigInt(part.log.length)
          for (const r of decodeRecords(bytes)) part.log.push({ value: r.value?.toString() ?? null, sequence: header.baseSequence, producerId: header.producerId, producerEpoch: header.producerEpoch })
          if (this.checkSequences && header.producerId >= 0n) remember(part, header, baseOffset)
          partitions.push({ ...base, errorCode: 0, baseOffset })
        }
        res.topics.push({ name: t.name, partitions })
      }
      return req.acks === 0 ? { topics: [] } : res
    }
    throw new Error(`the fake cluster does not answer ${context}`)
  }
}

type Judgement = { kind: 'append' } | { kind: 'duplicate'; baseOffset: bigint } | { kind: 'error'; code: number }

function judge(part: FakePartition, header: RecordBatchHeader): Judgement {
  if (header.producerId < 0n) return { kind: 'append' }
  const known = part.producers.get(header.producerId)
  if (known === undefined) return { kind: 'append' }
  if (header.producerEpoch < known.epoch) return { kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH.code }
  if (header.producerEpoch > known.epoch) return header.baseSequence === 0 ? { kind: 'append' } : { kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code }
  const lastSeq = header.baseSequence + header.recordCount - 1
  const dup = known.batches.find((b) => b.firstSeq === header.baseSequence && b.lastSeq === lastSeq)
  if (dup !== undefined) return { kind: 'duplicate', baseOffset: dup.baseOffset }
  return header.baseSequence === known.batches.at(-1)!.lastSeq + 1 ? { kind: 'append' } : { kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code }
}

function remember(part: FakePartition, header: RecordBatchHeader, baseOffset: bigint): void {
  let entry = part.producers.get(header.producerId)
  if (entry === undefined || entry.epoch !== header.producerEpoch) {
    entry = { epoch: header.producerEpoch, batches: [] }
    part.producers.set(header.producerId, entry)
  }
  entry.batches.push({ firstSeq: header.baseSequence, lastSeq: header.baseSequence + header.recordCount - 1, baseOffset })
  if (entry.batches.length > FAKE_BATCHES_RETAINED) entry.batches.shift()
}

/** The record values of one partition's data in a Produce call. */
export function producedValues(call: ProduceCall, topic: string, partition: number): string[] {
  const data = call.request.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
  return data === undefined ? [] : decodeRecords(Buffer.from(data.records)).map((r) => r.value?.toString() ?? '')
}

/** The batch header of one partition's data in a Produce call. */
export function producedHeader(call: ProduceCall, topic: string, partition: number): RecordBatchHeader | null {
  const data = call.request.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
  return data === undefined ? null : readBatchHeader(Buffer.from(data.records))
}
