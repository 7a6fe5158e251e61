/**
 * Test support: a Client answered in memory by one fake broker (no network) that leads every
 * partition and coordinates every group with the REAL pure coordinator shard of
 * @tributary/broker (GroupCoordinatorShard), so consumer-group tests see the coordinator's
 * semantics (revoke-then-assign, epochs, fencing, session timeouts) without a node.
 * Partitions hold records in arrays; Fetch serves one batch from the fetch offset.
 * `interceptHeartbeat` scripts coordinator errors; `afterAnswer` runs after every answer.
 */
import { GroupCoordinatorShard, type TopicsView } from '@tributary/broker'
import { encodeRecordBatch, ErrorCode, type broker } from '@tributary/protocol'
import { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import type { ClientOptions } from '../client/options.js'

const ADDRESS = 'broker1:9092'
/** Records one fake fetch returns at most. */
const FAKE_FETCH_RECORDS_MAX = 50

export class FakeGroupCluster {
  readonly logs = new Map<string, { topicId: string; partitions: string[][] }>()
  readonly shard: GroupCoordinatorShard
  interceptHeartbeat: (req: broker.ConsumerGroupHeartbeatRequest) => broker.ConsumerGroupHeartbeatResponse | null = () => null
  afterAnswer: () => void = () => undefined
  private nextMemberId = 0

  constructor(config: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } = {}) {
    this.shard = new GroupCoordinatorShard(
      { sessionTimeoutMs: config.sessionTimeoutMs ?? 2_000, heartbeatIntervalMs: config.heartbeatIntervalMs ?? 20, maxMembers: 100 },
      () => `server-member-${this.nextMemberId++}`,
    )
  }

  addTopic(name: string, partitions: number): void {
    const topicId = `${name}-id`.padEnd(22, 'A').slice(0, 22)
    this.logs.set(name, { topicId, partitions: Array.from({ length: partitions }, () => []) })
  }

  append(topic: string, partition: number, values: readonly string[]): void {
    this.logs.get(topic)!.partitions[partition]!.push(...values)
  }

  topicsView(): TopicsView {
    return new Map([...this.logs].map(([name, t]) => [name, { topicId: t.topicId, numPartitions: t.partitions.length }]))
  }

  client(options: Partial<ClientOptions> = {}): Client {
    const client = new Client({ bootstrap: [ADDRESS], retryBackoffMs: 5, retryBackoffMaxMs: 20, ...options })
    client.connections.call = async <Req, Res>(_address: string, _pick: MethodPicker<Req, Res>, request: Req, _timeoutMs: number, context: string): Promise<Res> => {
      const res = (await this.answer(context, request)) as Res
      this.afterAnswer()
      return res
    }
    return client
  }

  private async answer(context: string, request: unknown): Promise<unknown> {
    await Promise.resolve()
    const now = Date.now()
    this.shard.tick(now, this.topicsView())
    switch (context) {
      case 'Metadata': {
        const req = request as broker.MetadataRequest
        const names = req.allTopics ? [...this.logs.keys()] : req.topics
        return {
          brokers: [{ nodeId: 1, host: 'broker1', port: 9092, rack: '' }],
          clusterId: 'fake-cluster-id-000000',
          controllerId: 1,
          metadataOffset: 0n,
          topics: names.map((name) => {
            const t = this.logs.get(name)
            if (t === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, name, topicId: '', isInternal: false, partitions: [] }
            return {
              errorCode: 0, name, topicId: t.topicId, isInternal: false,
              partitions: t.partitions.map((_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
            }
          }),
        } satisfies broker.MetadataResponse
      }
      case 'ListOffsets': {
        const req = request as broker.ListOffsetsRequest
        return {
          topics: req.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, leaderEpoch: 0,
              offset: p.timestamp === -2n ? 0n : BigInt(this.logs.get(t.name)!.partitions[p.partitionIndex]!.length),
            })),
          })),
        } satisfies broker.ListOffsetsResponse
      }
      case 'Fetch': {
        const req = request as broker.FetchRequest
        let gotRecords = false
        const topics = req.topics.map((t) => ({
          topic: t.topic,
          topicId: '',
          partitions: t.partitions.map((p): broker.FetchPartitionResponse => {
            const log = this.logs.get(t.topic)!.partitions[p.partition]!
            const end = BigInt(log.length)
            const base = { partitionIndex: p.partition, highWatermark: end, lastStableOffset: end, logStartOffset: 0n, divergingEpoch: undefined, currentLeader: undefined }
            if (p.fetchOffset > end) return { ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code, records: Buffer.alloc(0) }
            const from = Number(p.fetchOffset)
            const values = log.slice(from, from + FAKE_FETCH_RECORDS_MAX)
            if (values.length === 0) return { ...base, errorCode: 0, records: Buffer.alloc(0) }
            gotRecords = true
            const records = encodeRecordBatch({ baseOffset: p.fetchOffset, records: values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 0n })) })
            return { ...base, errorCode: 0, records }
          }),
        }))
        // Long poll, briefly: an empty answer waits, as a broker holds a fetch for minBytes.
        if (!gotRecords) await new Promise((resolve) => setTimeout(resolve, Math.min(req.maxWaitMs, 10)))
        return { errorCode: 0, errorMessage: '', topics, correlationId: 0n } satisfies broker.FetchResponse
      }
      case 'FindCoordinator':
        return { errorCode: 0, errorMessage: '', nodeId: 1, host: 'broker1', port: 9092 } satisfies broker.FindCoordinatorResponse
      case 'ConsumerGroupHeartbeat': {
        const req = request as broker.ConsumerGroupHeartbeatRequest
        return this.interceptHeartbeat(req) ?? this.shard.heartbeat(req, this.topicsView(), now).response
      }
      case 'OffsetCommit':
        return this.shard.commitOffsets(request as broker.OffsetCommitRequest, now).response
      case 'OffsetFetch':
        return this.shard.fetchOffsets(request as broker.OffsetFetchRequest)
      case 'ListGroups':
        return this.shard.listGroups(request as broker.ListGroupsRequest)
      case 'DescribeGroups':
        return this.shard.describeGroups(request as broker.DescribeGroupsRequest, this.topicsView())
      case 'DeleteGroups':
        return this.shard.deleteGroups(request as broker.DeleteGroupsRequest).response
    }
    throw new Error(`the fake group cluster does not answer ${context}`)
  }
}
