/**
 * ProducerWorkload: the simulated client. It creates the topic through the controller (an
 * admin request, retried until it is answered), then sends acks=all produce requests to
 * the leader its metadata names, one small RecordBatch v2 per request (one record mostly,
 * up to three), each with a unique value. Its metadata is the image of a live broker (the
 * Metadata RPC, without the round trip), refreshed on errors and now and then.
 *
 * It never retries a produce: a failed or unanswered request is simply not acknowledged
 * (the checker only holds the cluster to what it acknowledged). In the liveness phase it
 * produces to each partition until one produce there is acknowledged, then stops, so the
 * replicas can converge.
 */
import { type MetadataImage, type Random, type SimClock, between, pick } from '@tributary/metadata-quorum'
import { ErrorCode, NO_NODE, encodeRecordBatch, type NodeId, type TopicId } from '@tributary/protocol'
import type { ReplicationScenario } from './replication-scenario.js'
import { partitionKey, type PartitionKey, type RpcBody, type RpcMessage } from './sim-messages.js'

export const CLIENT_ID = 900 as NodeId
export const TOPIC_NAME = 'events'
/** How often the admin retries CreateTopics until the topic exists. */
const CREATE_TOPIC_RETRY_MS = 200
/** A metadata refresh at least this often. */
const METADATA_MAX_AGE_MS = 300

export interface ProducerHost {
  readonly clock: SimClock
  readonly scenario: ReplicationScenario
  readonly tracing: boolean
  trace(nodeId: NodeId | null, what: string): void
  send(message: RpcMessage, tag: number): void
  /** The image of a random live broker that acts on metadata, or null if none does. */
  brokerImage(): MetadataImage | null
}

interface InFlight {
  readonly partition: string
  readonly sentMs: number
  readonly kind: 'produce' | 'admin'
}

export class ProducerWorkload {
  private topicId: TopicId | null = null
  private metadata: MetadataImage | null = null
  private metadataMs = -Infinity
  private nextRequestId = 1
  private readonly inFlight = new Map<number, InFlight>()
  private nextValue = 1
  private nextAdminMs = 0
  /** Partitions acknowledged since healing (liveness). */
  private readonly ackedSinceHeal = new Set<string>()
  private healedAtMs: number | null = null
  sent = 0
  acked = 0
  errors = 0

  constructor(
    private readonly host: ProducerHost,
    private readonly random: Random,
  ) {}

  get topic(): TopicId | null {
    return this.topicId
  }

  partitions(): PartitionKey[] {
    const topicId = this.topicId
    if (topicId === null) return []
    const out: PartitionKey[] = []
    for (let p = 0; p < this.host.scenario.partitionCount; p++) out.push({ topicId, partitionId: p })
    return out
  }

  /** Liveness: from now on, count acknowledgements per partition. */
  healed(nowMs: number): void {
    this.healedAtMs = nowMs
    this.ackedSinceHeal.clear()
  }

  /** Partitions with no acknowledgement since healing. */
  partitionsWithoutAckSinceHeal(): string[] {
    return this.partitions().map(partitionKey).filter((k) => !this.ackedSinceHeal.has(k))
  }

  /** One client step: create the topic, or send one produce. */
  step(): void {
    const host = this.host
    const nowMs = host.clock.nowMs
    this.expire(nowMs)
    if (this.metadata === null || nowMs - this.metadataMs >= METADATA_MAX_AGE_MS) this.refreshMetadata()
    if (this.topicId === null) {
      const t = this.metadata?.topicsByName.get(TOPIC_NAME)
      if (t !== undefined) {
        this.topicId = t.topicId
        if (host.tracing) host.trace(CLIENT_ID, `client: topic ${TOPIC_NAME} is ${t.topicId}`)
      } else if (nowMs >= this.nextAdminMs) {
        this.createTopic()
        return
      } else {
        return
      }
    }
    const partitionId = between(this.random, 0, host.scenario.partitionCount - 1)
    const partition: PartitionKey = { topicId: this.topicId, partitionId }
    // After healing, one acknowledgement per partition is the goal; then the logs settle.
    if (this.healedAtMs !== null && this.ackedSinceHeal.has(partitionKey(partition))) return
    const leader = this.metadata?.partition(this.topicId, partitionId)?.leader ?? NO_NODE
    if (leader === NO_NODE) {
      this.refreshMetadata()
      return
    }
    const records = between(this.random, 1, 10) <= 7 ? 1 : between(this.random, 2, 3)
    const batch = encodeRecordBatch({
      records: Array.from({ length: records }, () => {
        const v = this.nextValue++
        return { key: null, value: Buffer.from(`v${v}-p${partitionId}`), timestamp: BigInt(nowMs) }
      }),
    })
    const requestId = this.nextRequestId++
    this.inFlight.set(requestId, { partition: partitionKey(partition), sentMs: nowMs, kind: 'produce' })
    this.sent++
    host.send({ from: CLIENT_ID, to: leader, requestId, body: { type: 'produce_request', partition, batch, timeoutMs: host.scenario.produceTimeoutMs } }, 0)
  }

  deliver(message: RpcMessage): void {
    const request = this.inFlight.get(message.requestId)
    if (request === undefined) return
    this.inFlight.delete(message.requestId)
    const body: RpcBody = message.body
    if (body.type === 'controller_response') {
      if (body.response?.type === 'create_topics') {
        const t = body.response.response.topics[0]
        if (this.host.tracing) this.host.trace(CLIENT_ID, `client: CreateTopics answered (error ${t?.errorCode ?? '?'})`)
      }
      return
    }
    if (body.type !== 'produce_response') return
    if (body.errorCode === 0) {
      this.acked++
      if (this.healedAtMs !== null) this.ackedSinceHeal.add(request.partition)
      return
    }
    this.errors++
    if (body.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER.code) this.refreshMetadata()
  }

  private createTopic(): void {
    const host = this.host
    this.nextAdminMs = host.clock.nowMs + CREATE_TOPIC_RETRY_MS
    const requestId = this.nextRequestId++
    this.inFlight.set(requestId, { partition: '', sentMs: host.clock.nowMs, kind: 'admin' })
    const controller = pick(this.random, host.scenario.controllerIds)
    host.send({
      from: CLIENT_ID,
      to: controller,
      requestId,
      body: {
        type: 'controller_request',
        command: {
          type: 'create_topics',
          request: {
            topics: [{ name: TOPIC_NAME, numPartitions: host.scenario.partitionCount, replicationFactor: host.scenario.replicationFactor, configs: {} }],
            validateOnly: false,
          },
        },
        deadlineMs: host.clock.nowMs + CREATE_TOPIC_RETRY_MS,
      },
    }, 0)
  }

  private refreshMetadata(): void {
    const image = this.host.brokerImage()
    if (image === null) return
    this.metadata = image
    this.metadataMs = this.host.clock.nowMs
  }

  /** Forgets requests past the produce timeout (plus slack): their outcome stays unknown. */
  private expire(nowMs: number): void {
    const limitMs = this.host.scenario.produceTimeoutMs + 1000
    for (const [id, r] of this.inFlight) if (nowMs - r.sentMs > limitMs) this.inFlight.delete(id)
  }
}
