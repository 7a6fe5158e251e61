/**
 * The broker's group coordinator (KIP-848), the I/O shell around GroupCoordinatorShard: one
 * shard per `__consumer_offsets` partition this broker leads.
 *
 * - The topic: created through the controller (CreateTopics, the node's admin forwarder) on
 *   the first FindCoordinator or group request that finds it missing, with
 *   `offsets.topic.num.partitions` partitions, RF min(3, unfenced brokers), segment.bytes
 *   100 MiB (offsets.topic.segment.bytes) and cleanup.policy=compact: the brokers' log cleaner (log/cleaner/) keeps the latest record
 *   per key (every group record has a key) and time retention does not apply to a compact-only
 *   topic; retention.ms=-1 is set as well, so a later change to compact,delete cannot delete
 *   live offsets. The loader copes with the offset gaps compaction leaves (it continues after
 *   each batch's last offset).
 * - Loading: on each applied metadata image (`onImage`, in apply order, after the replica
 *   manager made its transitions), a partition this broker newly leads (or leads in a new
 *   epoch) is loaded: its log is read from the start to the log end offset as of the election
 *   (ListOffsets as a replica gives the log end; reads go through the consumer Fetch path, so
 *   they wait until the high watermark covers the records, which it does once the ISR has
 *   them). Records are replayed into a fresh shard, then `onLoaded(now)`. Meanwhile calls
 *   get COORDINATOR_LOAD_IN_PROGRESS. A partition no longer led is dropped: NOT_COORDINATOR.
 * - Calls are serialized per shard. The records a call returns are appended (one RecordBatch,
 *   acks=all, through the replica manager's produce path) BEFORE answering, so an answered
 *   commit is replicated. On an append failure the shard is reloaded from the log (its memory
 *   already holds the records) and the call answers NOT_COORDINATOR (retriable: re-find).
 * - A timer ticks every loaded shard (session and rebalance timeouts); a changed topic set in
 *   the image calls onMetadataUpdate. Their records are appended the same way.
 */
import { randomUUID } from 'node:crypto'
import type { Logger, MetadataImage } from '@tributary/metadata-quorum'
import { broker, controller, decodeRecords, encodeRecordBatch, ErrorCode, iterateBatches, type ErrorCodeInfo, type NodeId } from '@tributary/protocol'
import type { ReplicaService } from '../replica-manager/types.js'
import { DEFAULT_CONSUMER_GROUP_CONFIG, type ConsumerGroupConfig, type TopicsView } from './consumer-group.js'
import { coordinatorPartition, GroupCoordinatorShard, type ShardResult } from './group-coordinator-shard.js'
import { GroupErrorCode } from './group-error-codes.js'
import { decodeGroupRecord, encodeGroupRecord } from './group-record-codec.js'
import type { GroupRecord } from './group-records.js'
import { COORDINATOR_APPEND_TIMEOUT_MS, COORDINATOR_LOAD_FETCH_BYTES, COORDINATOR_LOAD_RETRY_MS, COORDINATOR_TICK_INTERVAL_MS, OFFSETS_TOPIC_MAX_REPLICATION_FACTOR, OFFSETS_TOPIC_SEGMENT_BYTES } from './group-limits.js'

export const OFFSETS_TOPIC = '__consumer_offsets'

/**
 * offsets.topic.num.partitions default. Kafka's is 50; a local 3-node cluster would then hold
 * 150 replicas of an internal topic before the first user topic, and every group would spread
 * over shards that mostly stay empty. 12 still spreads many groups over every broker.
 */
export const DEFAULT_OFFSETS_TOPIC_PARTITIONS = 12

export interface GroupCoordinatorDeps {
  readonly brokerId: NodeId
  /** The listener whose endpoint FindCoordinator returns. */
  readonly listenerName: string
  readonly replicas: ReplicaService
  readonly createTopics: (request: controller.CreateTopicsRequest) => Promise<controller.CreateTopicsResponse>
  readonly offsetsTopicPartitions: number
  readonly logger: Logger
  readonly groupConfig?: ConsumerGroupConfig
  readonly now?: () => number
}

/** The group RPCs the broker service routes here. */
export interface GroupRequests {
  findCoordinator(request: broker.FindCoordinatorRequest): Promise<broker.FindCoordinatorResponse>
  heartbeat(request: broker.ConsumerGroupHeartbeatRequest): Promise<broker.ConsumerGroupHeartbeatResponse>
  commitOffsets(request: broker.OffsetCommitRequest): Promise<broker.OffsetCommitResponse>
  fetchOffsets(request: broker.OffsetFetchRequest): Promise<broker.OffsetFetchResponse>
  listGroups(request: broker.ListGroupsRequest): Promise<broker.ListGroupsResponse>
  describeGroups(request: broker.DescribeGroupsRequest): Promise<broker.DescribeGroupsResponse>
  deleteGroups(request: broker.DeleteGroupsRequest): Promise<broker.DeleteGroupsResponse>
}

interface Slot {
  readonly partition: number
  readonly leaderEpoch: number
  shard: GroupCoordinatorShard | null
  dropped: boolean
  /** The tail of the slot's serialized operations. */
  chain: Promise<void>
  readonly abort: AbortController
}

type Refusal = { readonly error: ErrorCodeInfo; readonly message: string }

export class GroupCoordinator implements GroupRequests {
  private readonly slots = new Map<number, Slot>()
  private image: MetadataImage | null = null
  private topics: TopicsView = new Map()
  private topicsSignature = ''
  private creating: Promise<void> | null = null
  private readonly timer: NodeJS.Timeout
  private closed = false
  private readonly now: () => number
  private readonly config: ConsumerGroupConfig

  constructor(private readonly deps: GroupCoordinatorDeps) {
    this.now = deps.now ?? Date.now
    this.config = deps.groupConfig ?? DEFAULT_CONSUMER_GROUP_CONFIG
    this.timer = setInterval(() => this.tickAll(), COORDINATOR_TICK_INTERVAL_MS)
    this.timer.unref()
  }

  /** How many shards are loaded (tests, status). */
  get loadedShards(): number {
    let n = 0
    for (const s of this.slots.values()) if (s.shard !== null) n++
    return n
  }

  /** An applied metadata image (called in apply order, after the replica manager's transitions). */
  onImage(image: MetadataImage): void {
    if (this.closed) return
    this.image = image
    const topics = new Map<string, { topicId: string; numPartitions: number }>()
    for (const [name, t] of image.topicsByName) topics.set(name, { topicId: t.topicId, numPartitions: t.partitions.size })
    const signature = [...topics].map(([n, t]) => `${n}/${t.topicId}/${t.numPartitions}`).sort().join(',')
    const topicsChanged = signature !== this.topicsSignature
    this.topics = topics
    this.topicsSignature = signature

    const offsets = image.topicsByName.get(OFFSETS_TOPIC)
    const led = new Map<number, number>()
    if (offsets !== undefined) {
      for (const [p, reg] of offsets.partitions) if (reg.leader === this.deps.brokerId) led.set(p, reg.leaderEpoch)
    }
    // A new slot for a partition starts after the dropped one's last operation: an append still
    // in flight (led again in a newer epoch) then lands before the new load reads the log end.
    const previous = new Map<number, Promise<void>>()
    for (const [p, slot] of this.slots) {
      if (led.get(p) === slot.leaderEpoch) continue
      previous.set(p, slot.chain)
      this.drop(slot)
    }
    for (const [p, epoch] of led) {
      if (this.slots.has(p)) continue
      const slot: Slot = { partition: p, leaderEpoch: epoch, shard: null, dropped: false, chain: previous.get(p) ?? Promise.resolve(), abort: new AbortController() }
      this.slots.set(p, slot)
      this.deps.logger.info({ partition: p, leaderEpoch: epoch }, 'loading a group coordinator shard')
      this.serialize(slot, () => this.load(slot))
    }
    if (topicsChanged) {
      for (const slot of this.slots.values()) {
        this.serialize(slot, async () => {
          if (slot.shard === null || slot.dropped) return
          await this.appendOrReload(slot, slot.shard.onMetadataUpdate(this.topics))
        })
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    const tails = [...this.slots.values()].map((s) => {
      this.drop(s)
      return s.chain
    })
    await Promise.allSettled(tails)
  }

  // ---- RPCs ------------------------------------------------------------------------------

  findCoordinator(request: broker.FindCoordinatorRequest): Promise<broker.FindCoordinatorResponse> {
    const fail = (error: ErrorCodeInfo, message: string): broker.FindCoordinatorResponse => ({ errorCode: error.code, errorMessage: message, nodeId: -1, host: '', port: -1 })
    if (request.keyType !== 0) return Promise.resolve(fail(ErrorCode.INVALID_REQUEST, `key type ${request.keyType} is not supported (groups only)`))
    if (request.key === '') return Promise.resolve(fail(GroupErrorCode.INVALID_GROUP_ID, 'the group id is empty'))
    const image = this.image
    if (image === null) return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the broker has no metadata yet'))
    const topic = image.topicsByName.get(OFFSETS_TOPIC)
    if (topic === undefined) {
      this.ensureOffsetsTopic(image)
      return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} is being created`))
    }
    const partition = coordinatorPartition(request.key, topic.partitions.size)
    const leader = topic.partitions.get(partition)?.leader ?? -1
    const registration = leader < 0 ? undefined : image.brokers.get(leader as NodeId)
    const endpoint = registration?.endpoints.find((e) => e.name === this.deps.listenerName)
    if (registration === undefined || registration.fenced || endpoint === undefined) {
      return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC}-${partition} has no available leader`))
    }
    return Promise.resolve({ errorCode: 0, errorMessage: '', nodeId: leader, host: endpoint.host, port: endpoint.port })
  }

  heartbeat(request: broker.ConsumerGroupHeartbeatRequest): Promise<broker.ConsumerGroupHeartbeatResponse> {
    return this.withShard(
      request.groupId,
      (r) => ({ errorCode: r.error.code, errorMessage: r.message, memberId: request.memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0, assignment: [] }),
      (shard) => shard.heartbeat(request, this.topics, this.now()),
    )
  }

  commitOffsets(request: broker.OffsetCommitRequest): Promise<broker.OffsetCommitResponse> {
    return this.withShard(
      request.groupId,
      (r) => ({
        errorCode: r.error.code,
        topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: r.error.code })) })),
      }),
      (shard) => shard.commitOffsets(request, this.now()),
    )
  }

  fetchOffsets(request: broker.OffsetFetchRequest): Promise<broker.OffsetFetchResponse> {
    return this.withShard(request.groupId, (r) => ({ errorCode: r.error.code, topics: [] }), (shard) => ({ response: shard.fetchOffsets(request), records: [] }))
  }

  async describeGroups(request: broker.DescribeGroupsRequest): Promise<broker.DescribeGroupsResponse> {
    const groups = await Promise.all(request.groupIds.map((groupId) =>
      this.withShard(
        groupId,
        (r): broker.DescribedGroup => ({ groupId, errorCode: r.error.code, errorMessage: r.message, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [] }),
        (shard) => ({ response: shard.describeGroups({ groupIds: [groupId] }, this.topics).groups[0]!, records: [] }),
      )))
    return { groups }
  }

  async deleteGroups(request: broker.DeleteGroupsRequest): Promise<broker.DeleteGroupsResponse> {
    const results = await Promise.all(request.groupIds.map((groupId) =>
      this.withShard(
        groupId,
        (r): broker.DeletableGroupResult => ({ groupId, errorCode: r.error.code }),
        (shard) => {
          const { response, records } = shard.deleteGroups({ groupIds: [groupId] })
          return { response: response.results[0]!, records }
        },
      )))
    return { results }
  }

  /** The groups of every shard this broker leads (Kafka: each broker lists its own). */
  async listGroups(request: broker.ListGroupsRequest): Promise<broker.ListGroupsResponse> {
    const slots = [...this.slots.values()]
    if (slots.some((s) => s.shard === null)) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.code, groups: [] }
    const lists = await Promise.all(slots.map((slot) => this.run(slot, () => Promise.resolve(slot.shard?.listGroups(request).groups ?? []))))
    return { errorCode: 0, groups: lists.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)) }
  }

  // ---- Internals -------------------------------------------------------------------------

  private async withShard<T>(groupId: string, refuse: (r: Refusal) => T, op: (shard: GroupCoordinatorShard) => ShardResult<T>): Promise<T> {
    if (groupId === '') return refuse({ error: GroupErrorCode.INVALID_GROUP_ID, message: 'the group id is empty' })
    const image = this.image
    const topic = image?.topicsByName.get(OFFSETS_TOPIC)
    if (image === null || topic === undefined) {
      if (image !== null) this.ensureOffsetsTopic(image)
      return refuse({ error: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `${OFFSETS_TOPIC} does not exist yet` })
    }
    const partition = coordinatorPartition(groupId, topic.partitions.size)
    const slot = this.slots.get(partition)
    const notCoordinator: Refusal = { error: ErrorCode.NOT_COORDINATOR, message: `broker ${this.deps.brokerId} does not lead ${OFFSETS_TOPIC}-${partition}` }
    if (slot === undefined) return refuse(notCoordinator)
    return this.run(slot, async () => {
      if (slot.dropped) return refuse(notCoordinator)
      const shard = slot.shard
      if (shard === null) return refuse({ error: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, message: `${OFFSETS_TOPIC}-${partition} is loading` })
      const { response, records } = op(shard)
      if (await this.appendOrReload(slot, records)) return response
      return refuse({ error: ErrorCode.NOT_COORDINATOR, message: `appending to ${OFFSETS_TOPIC}-${partition} failed; the coordinator reloads` })
    })
  }

  /** Runs `op` after every earlier operation of the slot; the chain never rejects. */
  private run<T>(slot: Slot, op: () => Promise<T>): Promise<T> {
    const result = slot.chain.then(op)
    slot.chain = result.then(() => undefined, () => undefined)
    return result
  }

  private serialize(slot: Slot, op: () => Promise<void>): void {
    this.run(slot, op).catch((err: unknown) => this.deps.logger.warn({ partition: slot.partition, err: String(err) }, 'group coordinator operation failed'))
  }

  private drop(slot: Slot): void {
    if (this.slots.get(slot.partition) === slot) this.slots.delete(slot.partition)
    if (slot.dropped) return
    slot.dropped = true
    slot.shard = null
    slot.abort.abort()
    this.deps.logger.info({ partition: slot.partition, leaderEpoch: slot.leaderEpoch }, 'dropped a group coordinator shard')
  }

  /** Appends `records` (acks=all); on failure the slot reloads from its log and false is returned. */
  private async appendOrReload(slot: Slot, records: readonly GroupRecord[]): Promise<boolean> {
    if (records.length === 0) return true
    const timestamp = BigInt(this.now())
    const batch = encodeRecordBatch({
      records: records.map((r) => {
        const { key, value } = encodeGroupRecord(r)
        return { key, value, timestamp }
      }),
    })
    let error = 'no answer'
    try {
      const response = await this.deps.replicas.produce({
        acks: -1,
        timeoutMs: COORDINATOR_APPEND_TIMEOUT_MS,
        transactionalId: '',
        topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: slot.partition, records: batch }] }],
      })
      const answer = response?.topics[0]?.partitions[0]
      if (answer !== undefined && answer.errorCode === 0) return true
      error = answer === undefined ? 'no partition in the answer' : `error ${answer.errorCode} ${answer.errorMessage}`
    } catch (err) {
      error = String(err)
    }
    this.deps.logger.warn({ partition: slot.partition, error }, 'appending group records failed; reloading the shard')
    if (!slot.dropped) {
      slot.shard = null
      // Queued behind the current operation, ahead of later calls (they see LOAD_IN_PROGRESS).
      this.serialize(slot, () => this.load(slot))
    }
    return false
  }

  private async load(slot: Slot): Promise<void> {
    const started = this.now()
    while (!slot.dropped && !this.closed) {
      try {
        const shard = await this.readShard(slot)
        if (shard === null || slot.dropped) return
        shard.onLoaded(this.now())
        slot.shard = shard
        this.deps.logger.info({ partition: slot.partition, leaderEpoch: slot.leaderEpoch, groups: shard.groupIds().length, loadMs: this.now() - started }, 'group coordinator shard loaded')
        return
      } catch (err) {
        this.deps.logger.warn({ partition: slot.partition, err: String(err) }, 'loading a group coordinator shard failed; retrying')
        await sleep(COORDINATOR_LOAD_RETRY_MS)
      }
    }
  }

  /** The shard replayed from the partition's log, from its start to the log end as of now; null once dropped. */
  private async readShard(slot: Slot): Promise<GroupCoordinatorShard | null> {
    const replicas = this.deps.replicas
    const bound = async (timestamp: bigint): Promise<bigint> => {
      // As a replica (our own id), LATEST is the log end offset rather than the high watermark.
      const r = await replicas.listOffsets({
        replicaId: this.deps.brokerId,
        isolationLevel: 0,
        topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: slot.partition, currentLeaderEpoch: slot.leaderEpoch, timestamp }] }],
      })
      const p = r.topics[0]?.partitions[0]
      if (p === undefined || p.errorCode !== 0) throw new Error(`ListOffsets(${timestamp}) on ${OFFSETS_TOPIC}-${slot.partition}: error ${p?.errorCode ?? 'missing'}`)
      return p.offset
    }
    let next = await bound(-2n)
    const end = await bound(-1n)
    const shard = new GroupCoordinatorShard(this.config, () => randomUUID())
    let invalid = 0
    while (next < end) {
      if (slot.dropped) return null
      const response = await replicas.fetch({
        replicaId: -1,
        replicaEpoch: -1n,
        maxWaitMs: COORDINATOR_LOAD_RETRY_MS,
        minBytes: 1,
        maxBytes: COORDINATOR_LOAD_FETCH_BYTES,
        isolationLevel: 0,
        correlationId: 0n,
        topics: [{ topic: OFFSETS_TOPIC, topicId: '', partitions: [{ partition: slot.partition, currentLeaderEpoch: slot.leaderEpoch, fetchOffset: next, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: COORDINATOR_LOAD_FETCH_BYTES }] }],
      }, slot.abort.signal)
      const p = response.topics[0]?.partitions[0]
      if (response.errorCode !== 0 || p === undefined || p.errorCode !== 0) {
        throw new Error(`Fetch on ${OFFSETS_TOPIC}-${slot.partition} at ${next}: error ${response.errorCode}/${p?.errorCode ?? 'missing'}`)
      }
      const buf = Buffer.from(p.records)
      for (const scan of iterateBatches(buf)) {
        if (scan.kind !== 'batch') break
        const batch = buf.subarray(scan.position, scan.position + scan.header.sizeBytes)
        for (const record of decodeRecords(batch)) {
          if (record.offset < next) continue
          next = record.offset + 1n
          if (record.key === null) { invalid++; continue }
          const decoded = decodeGroupRecord(record.key, record.value)
          if (decoded.kind === 'ok') shard.replay(decoded.record)
          else invalid++
        }
        const batchEnd = scan.header.lastOffset + 1n
        if (batchEnd > next) next = batchEnd
      }
    }
    if (invalid > 0) this.deps.logger.warn({ partition: slot.partition, invalid }, 'skipped undecodable records while loading')
    return shard
  }

  private tickAll(): void {
    for (const slot of this.slots.values()) {
      if (slot.shard === null) continue
      this.serialize(slot, async () => {
        if (slot.shard === null || slot.dropped) return
        await this.appendOrReload(slot, slot.shard.tick(this.now(), this.topics))
      })
    }
  }

  private ensureOffsetsTopic(image: MetadataImage): void {
    if (this.creating !== null || this.closed) return
    let live = 0
    for (const b of image.brokers.values()) if (!b.fenced) live++
    const replicationFactor = Math.max(1, Math.min(OFFSETS_TOPIC_MAX_REPLICATION_FACTOR, live))
    this.creating = (async () => {
      try {
        const response = await this.deps.createTopics({
          validateOnly: false,
          topics: [{
            name: OFFSETS_TOPIC,
            numPartitions: this.deps.offsetsTopicPartitions,
            replicationFactor,
            configs: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'segment.bytes': String(OFFSETS_TOPIC_SEGMENT_BYTES) },
          }],
        })
        const code = response.topics[0]?.errorCode ?? response.errorCode
        if (code !== 0 && code !== ErrorCode.TOPIC_ALREADY_EXISTS.code) {
          this.deps.logger.warn({ code, message: response.topics[0]?.errorMessage ?? response.errorMessage }, `creating ${OFFSETS_TOPIC} failed`)
        } else if (code === 0) {
          this.deps.logger.info({ partitions: this.deps.offsetsTopicPartitions, replicationFactor }, `created ${OFFSETS_TOPIC}`)
        }
      } catch (err) {
        this.deps.logger.warn({ err: String(err) }, `creating ${OFFSETS_TOPIC} failed`)
      } finally {
        this.creating = null
      }
    })()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
