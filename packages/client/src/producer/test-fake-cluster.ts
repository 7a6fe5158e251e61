/**
 * Test support: a Client whose calls are answered in memory by a fake cluster (no
 * network): Metadata from a fixed layout, InitProducerId, and Produce appending to
 * per-partition arrays. Tests script failures with `onProduce` and see every request.
 */
import { ErrorCode, decodeRecords, readBatchHeader, type broker } from '@tributary/protocol'
import { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import type { ClientOptions } from '../client/options.js'

export interface FakePartition {
  leader: number
  leaderEpoch: number
  readonly log: { value: string | null; sequence: number }[]
}

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
  onProduce: ProduceScript = () => null
  /** When set, Produce answers wait for this promise (to hold requests in flight). */
  gate: Promise<void> | null = null

  constructor(readonly brokers = [1, 2, 3]) {}

  addTopic(name: string, partitions: number): void {
    this.topics.set(name, Array.from({ length: partitions }, (_, i) => ({ leader: this.brokers[i % this.brokers.length]!, leaderEpoch: 0, log: [] })))
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
      return { errorCode: 0, producerId: 1000n, producerEpoch: 0 } satisfies broker.InitProducerIdResponse
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
          const baseOffset = BigInt(part.log.length)
          for (const r of decodeRecords(bytes)) part.log.push({ value: r.value?.toString() ?? null, sequence: header.baseSequence })
          partitions.push({ ...base, errorCode: 0, baseOffset })
        }
        res.topics.push({ name: t.name, partitions })
      }
      return req.acks === 0 ? { topics: [] } : res
    }
    throw new Error(`the fake cluster does not answer ${context}`)
  }
}
