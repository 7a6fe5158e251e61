/**
 * The controller's logic without the Raft part: Kafka's QuorumController command handling,
 * ReplicationControlManager (topics, partitions, leaders, ISRs, AlterPartition, preferred
 * ElectLeaders), ClusterControlManager with BrokerHeartbeatManager (registrations, sessions,
 * fencing) and ProducerIdControlManager (producer id blocks).
 *
 * Two images:
 * - the committed image: every committed entry, replayed in order. Every node keeps it
 *   (applyCommitted / applySnapshot) and it is what snapshots hold.
 * - the speculative image, on the active controller only: the committed image plus the
 *   records of this controller's own proposals that are not committed yet. Commands are
 *   decided against it, so two back-to-back CreateTopics of one name see each other
 *   (Kafka does the same with its timeline data structures and "last written offset").
 *
 * A command returns records and a response (ControllerResult); handle() replays the records
 * into the speculative image at once. The glue proposes them to Raft and reports the offset
 * with recordProposed(). When that offset commits, the pending write is dropped; when
 * leadership is lost, becomeInactive() drops the speculative image and all pending writes.
 *
 * Invariants:
 * - Active only after this node, as Raft leader of `epoch`, applied its own leader_change
 *   entry: every entry before it is committed and applied, so the speculative image is the
 *   whole log, and every later entry of the epoch is one of our proposals, in order.
 * - Pending writes have consecutive offsets starting at committed.offset + 1; the
 *   speculative image's offset is that of the last one (or the committed offset).
 * - A broker epoch is the offset of the entry holding its RegisterBrokerRecord (the next
 *   write offset when decided), so epochs strictly increase across the whole log.
 * - Sessions (last heartbeat times) are in-memory on the active controller only, as in
 *   Kafka; becomeActive gives every unfenced broker a fresh session.
 */
import {
  ErrorCode,
  type ErrorCodeInfo,
  NO_NODE,
  type NodeId,
  type TopicId,
  controller,
  metadata,
  topicIdFromBytes,
} from '@tributary/protocol'
import { MetadataImage, type PartitionRegistration } from '../image/metadata-image.js'
import { imageFromSnapshotData, imageToSnapshotData } from '../image/image-snapshot.js'
import { decodeMetadataRecordBatch } from '../image/metadata-record-codec.js'
import type { RaftEntry, Snapshot } from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import { type Random, randomInt } from '../util/random.js'
import { CONTROLLER_LIMITS } from './controller-limits.js'
import { buildPartitionChange } from './partition-change-builder.js'
import { assignReplicas, randomPlacementStart } from './replica-placement.js'
import { topicConfigValueError, isKnownTopicConfig } from './topic-config-validation.js'
import { topicCollisionKey, topicNameError } from './topic-name.js'
import type {
  ControllerCommand,
  ControllerConfig,
  ControllerInternalWrite,
  ControllerResult,
} from './types.js'

type Records = metadata.MetadataRecord[]

interface PendingWrite {
  /** The offset the write is expected at (and, once proposed, is at). */
  readonly offset: number
  readonly records: readonly metadata.MetadataRecord[]
  proposed: boolean
}

interface ActiveState {
  readonly epoch: number
  speculative: MetadataImage
  readonly pending: PendingWrite[]
  /** broker id -> time of its last heartbeat (or registration, or activation). */
  readonly lastContactMs: Map<NodeId, number>
  /**
   * broker id -> since when this active controller has seen no open BrokerSession stream of
   * the broker's current epoch (only for brokers that use sessions; see `sessions`).
   */
  readonly sessionMissingSinceMs: Map<NodeId, number>
  /** When the next automatic preferred leader election runs (leader.imbalance.check.interval). */
  nextImbalanceCheckMs: number
}

/**
 * What this controller node saw of one broker's BrokerSession streams (issue 3 §5). It is
 * local knowledge, never replicated: every controller keeps its own, active or not, so a
 * controller that becomes active knows which brokers it saw die while it was a follower.
 */
export interface BrokerSessionHint {
  /** The broker epoch the streams named; older epochs' events are ignored. */
  readonly brokerEpoch: bigint
  /** Streams of that epoch open right now. */
  readonly open: number
  /** When the last stream of that epoch closed, if none is open; null while one is open. */
  readonly closedAtMs: number | null
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export class ControllerStateMachine {
  private committed: MetadataImage = MetadataImage.EMPTY
  private active: ActiveState | null = null
  /**
   * broker id -> its session streams to this controller node. A broker id is here once it
   * opened a stream: brokers that never do (tools, test fakes) are only fenced by the
   * session timeout. Bounded by the registered broker ids (the node shell accepts streams
   * only from brokers the committed image registers).
   */
  private readonly sessions = new Map<NodeId, Mutable<BrokerSessionHint>>()

  constructor(
    private readonly config: ControllerConfig,
    private readonly random: Random,
    private readonly logger: Logger,
    /** This node's id: every response names it as the controller. */
    readonly nodeId: NodeId,
  ) {
    assert(Number.isInteger(config.defaultNumPartitions) && config.defaultNumPartitions >= 1, 'num.partitions must be at least 1')
    assert(Number.isInteger(config.defaultReplicationFactor) && config.defaultReplicationFactor >= 1, 'default.replication.factor must be at least 1')
    assert(config.brokerSessionTimeoutMs > 0, 'broker.session.timeout.ms must be positive')
    assert(Number.isInteger(config.snapshotIntervalBytes) && config.snapshotIntervalBytes >= 1, 'metadata.log.max.record.bytes.between.snapshots must be at least 1')
    assert(Number.isInteger(config.snapshotIntervalMs) && config.snapshotIntervalMs >= 0, 'metadata.log.max.snapshot.interval.ms must not be negative')
  }

  get committedImage(): MetadataImage {
    return this.committed
  }

  get isActive(): boolean {
    return this.active !== null
  }

  /** The Raft epoch this controller is active in, or null. */
  get activeEpoch(): number | null {
    return this.active?.epoch ?? null
  }

  /** The image commands are decided against: committed + own pending writes. Active only. */
  get speculativeImage(): MetadataImage {
    assert(this.active !== null, 'only the active controller has a speculative image')
    return this.active.speculative
  }

  /** Pending (not yet committed) writes of the active controller. */
  get pendingWriteCount(): number {
    return this.active?.pending.length ?? 0
  }

  // ---- Every node: the committed image ------------------------------------------------

  applyCommitted(entry: RaftEntry): void {
    assert(entry.offset === this.committed.offset + 1, `committed entry ${entry.offset} does not follow the image offset ${this.committed.offset}`)
    const records = entry.kind === 'data' ? decodeMetadataRecordBatch(entry.data) : []
    this.committed = this.committed.replay(records, entry.offset)

    const active = this.active
    if (active === null) return
    // While active, the log past our leader_change holds only our own proposals.
    const head = active.pending[0]
    assert(
      entry.kind === 'data' && entry.epoch === active.epoch && head !== undefined && head.proposed && head.offset === entry.offset,
      `active controller of epoch ${active.epoch} committed entry ${entry.offset} (epoch ${entry.epoch}, ${entry.kind}) that is not its next proposal`,
    )
    active.pending.shift()
    if (active.pending.length === 0) {
      assert(active.speculative.offset === this.committed.offset, 'with nothing pending, the speculative image is the committed one')
      active.speculative = this.committed
    }
  }

  applySnapshot(snapshot: Snapshot): void {
    assert(this.active === null, 'the active controller never installs a snapshot')
    const offset = snapshot.id.endOffset - 1
    assert(offset >= this.committed.offset, `snapshot ending at ${snapshot.id.endOffset} is older than the image at ${this.committed.offset}`)
    this.committed = imageFromSnapshotData(snapshot.data, offset)
    this.logger.info({ endOffset: snapshot.id.endOffset, epoch: snapshot.id.epoch }, 'loaded metadata snapshot')
  }

  snapshotData(): Uint8Array {
    return imageToSnapshotData(this.committed)
  }

  // ---- Leadership ------------------------------------------------------------------------

  becomeActive(epoch: number, nowMs: number): void {
    assert(this.active === null, 'becomeActive called while already active')
    const lastContactMs = new Map<NodeId, number>()
    for (const id of this.committed.unfencedBrokerIds()) lastContactMs.set(id, nowMs)
    const imbalanceIntervalMs = this.config.leaderImbalanceCheckIntervalMs ?? 0
    this.active = {
      epoch,
      speculative: this.committed,
      pending: [],
      lastContactMs,
      sessionMissingSinceMs: new Map(),
      nextImbalanceCheckMs: imbalanceIntervalMs > 0 ? nowMs + imbalanceIntervalMs : Number.POSITIVE_INFINITY,
    }
    this.logger.info({ epoch, offset: this.committed.offset }, 'became active controller')
  }

  /** Idempotent: lost leadership drops the speculative image and every pending write. */
  becomeInactive(): void {
    if (this.active === null) return
    this.logger.info({ epoch: this.active.epoch, droppedWrites: this.active.pending.length }, 'became inactive controller')
    this.active = null
  }

  // ---- Active controller: commands -------------------------------------------------------

  handle(command: ControllerCommand, nowMs: number): ControllerResult {
    const active = this.requireActive()
    switch (command.type) {
      case 'register_broker':
        return this.registerBroker(active, command.request, nowMs)
      case 'broker_heartbeat':
        return this.brokerHeartbeat(active, command.request, nowMs)
      case 'create_topics':
        return this.createTopics(active, command.request)
      case 'delete_topics':
        return this.deleteTopics(active, command.request)
      case 'create_partitions':
        return this.createPartitions(active, command.request)
      case 'alter_partition':
        return this.alterPartition(active, command.request)
      case 'elect_leaders':
        return this.electLeaders(active, command.request)
      case 'allocate_producer_ids':
        return this.allocateProducerIds(active, command.request)
      case 'alter_configs':
        return this.alterConfigs(active, command.request)
    }
  }

  /** The glue proposed `records` (from the oldest unproposed handle/tick result) at `offset`. */
  recordProposed(offset: number, records: readonly metadata.MetadataRecord[]): void {
    const active = this.requireActive()
    const write = active.pending.find((w) => !w.proposed)
    assert(write !== undefined && write.records === records, 'recordProposed must name the records of the oldest unproposed write')
    assert(offset === write.offset, `proposal landed at offset ${offset}, but it was decided for offset ${write.offset} (broker epochs are offsets)`)
    write.proposed = true
  }

  /** Fences every broker whose session expired (broker.session.timeout.ms without a heartbeat). */
  tick(nowMs: number): ControllerInternalWrite[] {
    const active = this.requireActive()
    const writes: ControllerInternalWrite[] = []
    for (const brokerId of active.speculative.unfencedBrokerIds()) {
      let lastContactMs = active.lastContactMs.get(brokerId)
      if (lastContactMs === undefined) {
        // Unfenced without a session can only mean we never heard of it since activation:
        // give it a full session rather than fence it on the spot.
        lastContactMs = nowMs
        active.lastContactMs.set(brokerId, nowMs)
      }
      if (nowMs - lastContactMs <= this.config.brokerSessionTimeoutMs) continue
      const records = fenceBrokerRecords(active.speculative, brokerId)
      this.logger.info({ brokerId, lastContactMs, sessionTimeoutMs: this.config.brokerSessionTimeoutMs }, 'fenced broker: session expired')
      this.write(active, records)
      writes.push({ records, reason: 'broker session expired', brokerId })
    }
    writes.push(...this.sessionStreamWrites(active, nowMs))
    const election = this.autoPreferredElection(active, nowMs)
    if (election !== null) writes.push(election)
    return writes
  }

  // ---- Broker session streams (issue 3 §5: a closed connection is a strong hint) ----------

  /** A BrokerSession stream of `brokerId` at `brokerEpoch` opened on this node. */
  brokerSessionOpened(brokerId: NodeId, brokerEpoch: bigint): void {
    const hint = this.sessions.get(brokerId)
    if (hint !== undefined && brokerEpoch < hint.brokerEpoch) return
    if (hint === undefined || brokerEpoch > hint.brokerEpoch) {
      this.sessions.set(brokerId, { brokerEpoch, open: 1, closedAtMs: null })
      return
    }
    hint.open++
    hint.closedAtMs = null
  }

  /** A stream opened with brokerSessionOpened(brokerId, brokerEpoch) ended. */
  brokerSessionClosed(brokerId: NodeId, brokerEpoch: bigint, nowMs: number): void {
    const hint = this.sessions.get(brokerId)
    if (hint === undefined || hint.brokerEpoch !== brokerEpoch) return
    assert(hint.open > 0, `broker ${brokerId} closed more session streams than it opened`)
    hint.open--
    if (hint.open === 0) hint.closedAtMs = nowMs
  }

  /** What this node saw of the broker's session streams; undefined if it never opened one. */
  brokerSession(brokerId: NodeId): BrokerSessionHint | undefined {
    return this.sessions.get(brokerId)
  }

  /**
   * The session hints the active controller acts on now: the fencing writes of session
   * streams that closed (at once) and of session-using brokers with no stream of their
   * current epoch for brokerSessionGraceMs. Cheap; the node calls it as soon as a stream
   * closes, besides every tick.
   */
  sessionTick(nowMs: number): ControllerInternalWrite[] {
    const active = this.requireActive()
    return this.sessionStreamWrites(active, nowMs)
  }

  /** True if the broker's last session stream of `brokerEpoch` closed and none reopened. */
  private sessionClosed(brokerId: NodeId, brokerEpoch: bigint): boolean {
    const hint = this.sessions.get(brokerId)
    return hint !== undefined && hint.brokerEpoch === brokerEpoch && hint.open === 0 && hint.closedAtMs !== null
  }

  private sessionStreamWrites(active: ActiveState, nowMs: number): ControllerInternalWrite[] {
    const graceMs = this.config.brokerSessionGraceMs ?? 0
    const writes: ControllerInternalWrite[] = []
    // The grace restarts whenever a broker is unfenced again (a new registration, or an
    // unfence after a fence): only unfenced brokers keep their "missing since" time.
    for (const brokerId of active.sessionMissingSinceMs.keys()) {
      if (!active.speculative.isActiveBroker(brokerId)) active.sessionMissingSinceMs.delete(brokerId)
    }
    for (const brokerId of active.speculative.unfencedBrokerIds()) {
      const registration = active.speculative.brokers.get(brokerId)!
      const hint = this.sessions.get(brokerId)
      if (hint === undefined) continue
      let reason: string | null = null
      if (hint.brokerEpoch === registration.brokerEpoch && hint.open > 0) {
        active.sessionMissingSinceMs.delete(brokerId)
        continue
      }
      if (this.sessionClosed(brokerId, registration.brokerEpoch)) {
        reason = 'broker session stream closed'
      } else if (graceMs > 0) {
        // A broker that uses sessions but has none of its current epoch here: it has not
        // reconnected since this controller became active, or since it registered anew.
        const since = active.sessionMissingSinceMs.get(brokerId)
        if (since === undefined) active.sessionMissingSinceMs.set(brokerId, nowMs)
        else if (nowMs - since >= graceMs) reason = 'no broker session stream'
      }
      if (reason === null) continue
      active.sessionMissingSinceMs.delete(brokerId)
      const records = fenceBrokerRecords(active.speculative, brokerId)
      this.logger.info({ brokerId, brokerEpoch: registration.brokerEpoch.toString(), closedAtMs: hint.closedAtMs }, `fenced broker: ${reason}`)
      this.write(active, records)
      writes.push({ records, reason, brokerId })
    }
    return writes
  }

  /**
   * Kafka's auto.leader.rebalance.enable: every leader.imbalance.check.interval, a preferred
   * election of every partition whose preferred replica is an unfenced ISR member and not the
   * leader, as an internal write. So a broker that returns and catches up gets its
   * leaderships back.
   */
  private autoPreferredElection(active: ActiveState, nowMs: number): ControllerInternalWrite | null {
    if (nowMs < active.nextImbalanceCheckMs) return null
    active.nextImbalanceCheckMs = nowMs + (this.config.leaderImbalanceCheckIntervalMs ?? 0)
    const result = this.electLeaders(active, { electionType: controller.ElectionType.PREFERRED, topicPartitions: [] })
    if (result.records.length === 0) return null
    this.logger.info({ partitions: result.records.length }, 'moved leaderships back to preferred replicas')
    return { records: result.records, reason: 'preferred leader election', brokerId: NO_NODE }
  }

  // ---- Commands ---------------------------------------------------------------------------

  private registerBroker(active: ActiveState, req: controller.RegisterBrokerRequest, nowMs: number): ControllerResult {
    const reply = (error: ErrorCodeInfo, message: string, brokerEpoch: bigint): ControllerResult => ({
      records: [],
      response: { type: 'register_broker', response: { errorCode: error.code, errorMessage: message, brokerEpoch, controllerId: this.nodeId } },
    })
    if (!Number.isInteger(req.brokerId) || req.brokerId < 0) return reply(ErrorCode.INVALID_REQUEST, `Invalid broker id ${req.brokerId}.`, -1n)
    if (req.incarnationId.length === 0) return reply(ErrorCode.INVALID_REQUEST, 'A broker registration needs an incarnation id.', -1n)

    const image = active.speculative
    const brokerId = req.brokerId as NodeId
    const existing = image.brokers.get(brokerId)
    const brokerEpoch = BigInt(this.nextWriteOffset(active))
    const records: Records = []
    if (existing !== undefined && !existing.fenced) {
      // The old incarnation (or a lost-response retry) may still lead partitions. The new
      // registration is fenced, so move its leaderships away first: a fenced broker never
      // leads (Kafka's handling of a broker that comes back without a clean shutdown).
      records.push(...partitionChangesRemoving(image, brokerId))
    }
    records.push({
      record: {
        $case: 'registerBroker',
        value: {
          brokerId,
          brokerEpoch,
          incarnationId: req.incarnationId,
          endpoints: req.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
          rack: req.rack,
          fenced: true,
        },
      },
    })
    active.lastContactMs.set(brokerId, nowMs)
    this.write(active, records)
    this.logger.info({ brokerId, brokerEpoch: brokerEpoch.toString(), incarnationId: req.incarnationId, replaces: existing?.brokerEpoch.toString() ?? null }, 'registered broker')
    return { records, response: reply(ErrorCode.NONE, '', brokerEpoch).response }
  }

  private brokerHeartbeat(active: ActiveState, req: controller.BrokerHeartbeatRequest, nowMs: number): ControllerResult {
    const reply = (records: Records, fields: Partial<controller.BrokerHeartbeatResponse>): ControllerResult => ({
      records,
      response: {
        type: 'broker_heartbeat',
        response: { errorCode: 0, errorMessage: '', isCaughtUp: false, isFenced: true, shouldShutDown: false, controllerId: this.nodeId, ...fields },
      },
    })
    const image = active.speculative
    const brokerId = req.brokerId as NodeId
    const broker = image.brokers.get(brokerId)
    if (broker === undefined) {
      const e = ErrorCode.BROKER_ID_NOT_REGISTERED
      return reply([], { errorCode: e.code, errorMessage: `No broker registration found for broker ${req.brokerId}` })
    }
    if (broker.brokerEpoch !== req.brokerEpoch) {
      const e = ErrorCode.STALE_BROKER_EPOCH
      return reply([], { errorCode: e.code, errorMessage: `Expected broker epoch ${broker.brokerEpoch}, but got broker epoch ${req.brokerEpoch}` })
    }
    active.lastContactMs.set(brokerId, nowMs)
    // Kafka: caught up once the broker replayed the log up to its own registration.
    const isCaughtUp = req.currentMetadataOffset >= broker.brokerEpoch

    if (broker.fenced) {
      if (req.wantShutdown) return reply([], { isCaughtUp, isFenced: true, shouldShutDown: true })
      if (req.wantFence || !isCaughtUp) return reply([], { isCaughtUp, isFenced: true })
      // Its session stream to us closed and has not come back: unfencing now would only
      // fence it again on the next tick. It stays fenced until the stream reconnects.
      if (this.sessionClosed(brokerId, broker.brokerEpoch)) return reply([], { isCaughtUp, isFenced: true })
      const records = unfenceBrokerRecords(image, brokerId, broker.brokerEpoch)
      this.write(active, records)
      this.logger.info({ brokerId, brokerEpoch: broker.brokerEpoch.toString() }, 'unfenced broker')
      return reply(records, { isCaughtUp, isFenced: false })
    }
    if (!req.wantFence && !req.wantShutdown) return reply([], { isCaughtUp, isFenced: false })
    // Controlled shutdown (or a requested fence): move leaderships away and drop the
    // broker from ISRs, then fence it. With ELR off every leadership can be given up (a
    // partition whose only ISR member is this broker goes leaderless), so the broker leads
    // nothing once these records commit and may shut down.
    const records = fenceBrokerRecords(image, brokerId)
    this.write(active, records)
    const after = active.speculative
    assert(!leadsAnything(after, brokerId), `broker ${brokerId} still leads a partition after being fenced`)
    this.logger.info({ brokerId, wantShutdown: req.wantShutdown }, req.wantShutdown ? 'broker entered controlled shutdown' : 'fenced broker on request')
    return reply(records, { isCaughtUp, isFenced: true, shouldShutDown: req.wantShutdown })
  }

  private createTopics(active: ActiveState, req: controller.CreateTopicsRequest): ControllerResult {
    const results: controller.CreateTopicResult[] = []
    const records: Records = []
    const nextOffset = this.nextWriteOffset(active)
    let working = active.speculative
    const unfenced = working.unfencedBrokerIds()
    const collisions = new Map<string, string>()
    for (const name of working.topicsByName.keys()) collisions.set(topicCollisionKey(name), name)
    const duplicates = duplicateNames(req.topics.map((t) => t.name))
    const reported = new Set<string>()

    for (const topic of req.topics) {
      const fail = (error: ErrorCodeInfo, message: string): void => {
        results.push({ name: topic.name, topicId: '', errorCode: error.code, errorMessage: message, numPartitions: -1, replicationFactor: -1 })
      }
      if (duplicates.has(topic.name)) {
        // Kafka answers once per duplicated name.
        if (!reported.has(topic.name)) fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.')
        reported.add(topic.name)
        continue
      }
      const nameError = topicNameError(topic.name)
      if (nameError !== null) { fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError); continue }
      if (working.topicsByName.has(topic.name)) { fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`); continue }
      const collidesWith = collisions.get(topicCollisionKey(topic.name))
      if (collidesWith !== undefined) { fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${topic.name}' collides with existing topic: ${collidesWith}`); continue }
      if (!Number.isInteger(topic.numPartitions) || topic.numPartitions === 0 || topic.numPartitions < -1) {
        fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.'); continue
      }
      if (!Number.isInteger(topic.replicationFactor) || topic.replicationFactor === 0 || topic.replicationFactor < -1) {
        fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.'); continue
      }
      const configs = Object.entries(topic.configs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      // Kafka's CreateTopics refuses an unknown key ("Unknown topic config name"), as AlterConfigs does.
      const configError = configs.map(([key, value]) => (isKnownTopicConfig(key) ? topicConfigValueError(key, value) : `Unknown topic config name: ${key}`)).find((e) => e !== null)
      if (configError !== undefined && configError !== null) { fail(ErrorCode.INVALID_CONFIG, configError); continue }
      const numPartitions = topic.numPartitions === -1 ? this.config.defaultNumPartitions : topic.numPartitions
      const replicationFactor = topic.replicationFactor === -1 ? this.config.defaultReplicationFactor : topic.replicationFactor
      const placementError = replicationError(replicationFactor, unfenced.length)
      if (placementError !== null) { fail(ErrorCode.INVALID_REPLICATION_FACTOR, placementError); continue }
      if (records.length + numPartitions + configs.length + 1 > CONTROLLER_LIMITS.maxRecordsPerCommand) {
        fail(ErrorCode.POLICY_VIOLATION, 'Excessively large number of partitions per request.'); continue
      }
      if (req.validateOnly) {
        results.push({ name: topic.name, topicId: '', errorCode: 0, errorMessage: '', numPartitions, replicationFactor })
        continue
      }

      const topicId = this.newTopicId(working)
      const topicRecords: Records = [{ record: { $case: 'topic', value: { name: topic.name, topicId } } }]
      const assignment = assignReplicas(unfenced, 0, numPartitions, replicationFactor, randomPlacementStart(this.random, unfenced.length))
      assignment.forEach((replicas, partitionId) => topicRecords.push(newPartitionRecord(topicId, partitionId, replicas)))
      for (const [name, value] of configs) {
        topicRecords.push({ record: { $case: 'config', value: { resourceType: metadata.ConfigRecord_ResourceType.TOPIC, resourceName: topic.name, name, value } } })
      }
      // Later topics of this request see this one (collisions, ids) as if it were written.
      working = working.replay(topicRecords, nextOffset)
      collisions.set(topicCollisionKey(topic.name), topic.name)
      records.push(...topicRecords)
      results.push({ name: topic.name, topicId, errorCode: 0, errorMessage: '', numPartitions, replicationFactor })
      this.logger.debug({ topic: topic.name, topicId, numPartitions, replicationFactor }, 'created topic')
    }
    this.write(active, records)
    return { records, response: { type: 'create_topics', response: { errorCode: 0, errorMessage: '', topics: results, controllerId: this.nodeId } } }
  }

  /**
   * Kafka's IncrementalAlterConfigs (KIP-339) for topics: per topic, SET or DELETE keys. A
   * topic's changes are all-or-nothing; topics are independent. A DELETE is a ConfigRecord
   * without a value (the image drops the key, so the broker default applies again). Changes
   * that would change nothing write no record.
   */
  private alterConfigs(active: ActiveState, req: controller.AlterConfigsRequest): ControllerResult {
    const image = active.speculative
    const results: controller.AlterConfigsResult[] = []
    const records: Records = []
    const duplicates = duplicateNames(req.resources.map((r) => r.topic))
    const reported = new Set<string>()
    for (const resource of req.resources) {
      const topic = resource.topic
      const fail = (error: ErrorCodeInfo, message: string): void => { results.push({ topic, errorCode: error.code, errorMessage: message }) }
      if (duplicates.has(topic)) {
        if (!reported.has(topic)) fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.')
        reported.add(topic)
        continue
      }
      if (!image.topicsByName.has(topic)) { fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.message); continue }
      const duplicateKeys = duplicateNames(resource.ops.map((o) => o.name))
      if (duplicateKeys.size > 0) { fail(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${[...duplicateKeys].sort().join(', ')}`); continue }
      const current = image.topicConfigs.get(topic)
      const topicRecords: Records = []
      let error: string | null = null
      let errorCode: ErrorCodeInfo = ErrorCode.INVALID_CONFIG
      for (const op of resource.ops) {
        if (op.op !== controller.AlterConfigsOp_OpType.SET && op.op !== controller.AlterConfigsOp_OpType.DELETE) {
          error = `Unsupported operation ${op.op} for configuration '${op.name}'.`; errorCode = ErrorCode.INVALID_REQUEST; break
        }
        if (!isKnownTopicConfig(op.name)) { error = `Unknown topic config name: ${op.name}`; break }
        const isSet = op.op === controller.AlterConfigsOp_OpType.SET
        if (isSet) {
          error = topicConfigValueError(op.name, op.value)
          if (error !== null) break
          if (current?.get(op.name) === op.value) continue
        } else if (current?.has(op.name) !== true) {
          continue
        }
        const value = isSet ? { value: op.value } : {}
        topicRecords.push({ record: { $case: 'config', value: { resourceType: metadata.ConfigRecord_ResourceType.TOPIC, resourceName: topic, name: op.name, ...value } } })
      }
      if (error !== null) { fail(errorCode, error); continue }
      if (records.length + topicRecords.length > CONTROLLER_LIMITS.maxRecordsPerCommand) {
        fail(ErrorCode.POLICY_VIOLATION, 'Excessively large number of config changes per request.'); continue
      }
      if (!req.validateOnly) records.push(...topicRecords)
      results.push({ topic, errorCode: 0, errorMessage: '' })
      if (!req.validateOnly) this.logger.debug({ topic, changes: topicRecords.length }, 'altered topic configs')
    }
    this.write(active, records)
    return { records, response: { type: 'alter_configs', response: { errorCode: 0, errorMessage: '', results, controllerId: this.nodeId } } }
  }

  private deleteTopics(active: ActiveState, req: controller.DeleteTopicsRequest): ControllerResult {
    const image = active.speculative
    const results: controller.DeleteTopicResult[] = []
    const records: Records = []
    const duplicates = duplicateNames(req.names)
    const reported = new Set<string>()
    for (const name of req.names) {
      if (duplicates.has(name)) {
        if (!reported.has(name)) results.push({ name, errorCode: ErrorCode.INVALID_REQUEST.code, errorMessage: 'Duplicate topic name.' })
        reported.add(name)
        continue
      }
      const topic = image.topicsByName.get(name)
      if (topic === undefined) {
        const e = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        results.push({ name, errorCode: e.code, errorMessage: e.message })
        continue
      }
      records.push({ record: { $case: 'removeTopic', value: { topicId: topic.topicId } } })
      results.push({ name, errorCode: 0, errorMessage: '' })
      this.logger.debug({ topic: name, topicId: topic.topicId }, 'deleted topic')
    }
    this.write(active, records)
    return { records, response: { type: 'delete_topics', response: { errorCode: 0, errorMessage: '', topics: results, controllerId: this.nodeId } } }
  }

  private createPartitions(active: ActiveState, req: controller.CreatePartitionsRequest): ControllerResult {
    const image = active.speculative
    const unfenced = image.unfencedBrokerIds()
    const results: controller.CreatePartitionsResult[] = []
    const records: Records = []
    const duplicates = duplicateNames(req.topics.map((t) => t.name))
    const reported = new Set<string>()
    for (const t of req.topics) {
      const fail = (error: ErrorCodeInfo, message: string): void => {
        results.push({ name: t.name, errorCode: error.code, errorMessage: message })
      }
      if (duplicates.has(t.name)) {
        if (!reported.has(t.name)) fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.')
        reported.add(t.name)
        continue
      }
      const topic = image.topicsByName.get(t.name)
      if (topic === undefined) { fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.message); continue }
      const current = topic.partitions.size
      if (!Number.isInteger(t.count) || t.count < current) {
        fail(ErrorCode.INVALID_PARTITIONS, `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`); continue
      }
      if (t.count === current) { fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`); continue }
      // New partitions get the replication factor of partition 0, as in Kafka.
      const replicationFactor = topic.partitions.get(0)!.replicas.length
      const placementError = replicationError(replicationFactor, unfenced.length)
      if (placementError !== null) { fail(ErrorCode.INVALID_REPLICATION_FACTOR, placementError); continue }
      if (records.length + (t.count - current) > CONTROLLER_LIMITS.maxRecordsPerCommand) {
        fail(ErrorCode.POLICY_VIOLATION, 'Excessively large number of partitions per request.'); continue
      }
      if (req.validateOnly) { results.push({ name: t.name, errorCode: 0, errorMessage: '' }); continue }
      const assignment = assignReplicas(unfenced, current, t.count - current, replicationFactor, randomPlacementStart(this.random, unfenced.length))
      assignment.forEach((replicas, i) => records.push(newPartitionRecord(topic.topicId, current + i, replicas)))
      results.push({ name: t.name, errorCode: 0, errorMessage: '' })
      this.logger.debug({ topic: t.name, from: current, to: t.count }, 'created partitions')
    }
    this.write(active, records)
    return { records, response: { type: 'create_partitions', response: { errorCode: 0, errorMessage: '', topics: results, controllerId: this.nodeId } } }
  }

  /**
   * Kafka's ReplicationControlManager.alterPartition (KIP-497, KIP-903). The sender must be
   * the current, registered incarnation of the partition leader; the partition epoch makes
   * the change a compare-and-set, so a leader acting on a stale view is refused. Partitions
   * are decided in order against a working image, so a partition named twice sees the
   * first change (and the second answers INVALID_UPDATE_VERSION).
   */
  private alterPartition(active: ActiveState, req: controller.AlterPartitionRequest): ControllerResult {
    const reply = (records: Records, error: ErrorCodeInfo, message: string, topics: controller.AlterPartitionTopicResult[]): ControllerResult => ({
      records,
      response: { type: 'alter_partition', response: { errorCode: error.code, errorMessage: message, topics, controllerId: this.nodeId } },
    })
    const image = active.speculative
    const staleEpoch = brokerEpochError(image, req.brokerId, req.brokerEpoch)
    if (staleEpoch !== null) return reply([], ErrorCode.STALE_BROKER_EPOCH, staleEpoch, [])

    const sender = req.brokerId as NodeId
    let working = image
    const nextOffset = this.nextWriteOffset(active)
    const records: Records = []
    const topics: controller.AlterPartitionTopicResult[] = []
    for (const t of req.topics) {
      const partitions: controller.AlterPartitionPartitionResult[] = []
      topics.push({ topicId: t.topicId, partitions })
      for (const p of t.partitions) {
        const current = working.partition(t.topicId as TopicId, p.partitionId)
        const fail = (error: ErrorCodeInfo, message: string): void => {
          partitions.push({ partitionId: p.partitionId, errorCode: error.code, errorMessage: message, leaderId: NO_NODE, leaderEpoch: -1, isr: [], partitionEpoch: -1 })
        }
        if (current === undefined) { fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition ${t.topicId}-${p.partitionId}.`); continue }
        const error = alterPartitionError(working, current, sender, p)
        if (error !== null) { fail(error.error, error.message); continue }
        const newIsr = p.newIsr.map((b) => b.brokerId as NodeId)
        const sameMembers = newIsr.length === current.isr.length && newIsr.every((r) => current.isr.includes(r))
        let after = current
        if (!sameMembers) {
          // The leader is in the new ISR and unfenced, so it stays leader: an ISR-only change.
          const change: metadata.PartitionChangeRecord = {
            topicId: t.topicId, partitionId: p.partitionId, leader: undefined, isr: newIsr, isrSet: true, replicas: [], replicasSet: false,
          }
          const record: metadata.MetadataRecord = { record: { $case: 'partitionChange', value: change } }
          working = working.replay([record], nextOffset)
          records.push(record)
          after = working.partition(t.topicId as TopicId, p.partitionId)!
          assert(after.leader === current.leader, 'an AlterPartition ISR change never moves the leader')
          this.logger.debug({ topicId: t.topicId, partitionId: p.partitionId, from: current.isr, to: newIsr, partitionEpoch: after.partitionEpoch }, 'altered ISR')
        }
        partitions.push({
          partitionId: p.partitionId, errorCode: 0, errorMessage: '',
          leaderId: after.leader, leaderEpoch: after.leaderEpoch, isr: after.isr.slice(), partitionEpoch: after.partitionEpoch,
        })
      }
    }
    this.write(active, records)
    return reply(records, ErrorCode.NONE, '', topics)
  }

  /**
   * Preferred leader election (KIP-460; Kafka's ReplicationControlManager.electLeaders with
   * ElectionType.PREFERRED): move leadership to the first replica when it is an unfenced ISR
   * member. With no partitions named, every partition is tried and only those that needed
   * an election are reported, as in Kafka. Partitions past the per-command record bound are
   * answered OPERATION_NOT_ATTEMPTED; the caller repeats the request for them.
   */
  private electLeaders(active: ActiveState, req: controller.ElectLeadersRequest): ControllerResult {
    const reply = (records: Records, error: ErrorCodeInfo, message: string, topics: controller.ElectLeadersTopicResult[]): ControllerResult => ({
      records,
      response: { type: 'elect_leaders', response: { errorCode: error.code, errorMessage: message, topics, controllerId: this.nodeId } },
    })
    if (req.electionType !== controller.ElectionType.PREFERRED) {
      return reply([], ErrorCode.INVALID_REQUEST, 'Only PREFERRED leader elections are supported.', [])
    }
    const image = active.speculative
    const all = req.topicPartitions.length === 0
    const wanted: { topic: string; partitions: readonly number[] }[] = all
      ? [...image.topicsByName.keys()].sort().map((name) => ({ topic: name, partitions: [...image.topicsByName.get(name)!.partitions.keys()] }))
      : req.topicPartitions
    let working = image
    const nextOffset = this.nextWriteOffset(active)
    const records: Records = []
    const topics: controller.ElectLeadersTopicResult[] = []
    for (const t of wanted) {
      const partitions: controller.ElectLeadersPartitionResult[] = []
      for (const partitionId of t.partitions) {
        const result = (error: ErrorCodeInfo, message: string): void => {
          partitions.push({ partitionId, errorCode: error.code, errorMessage: message })
        }
        if (records.length >= CONTROLLER_LIMITS.maxRecordsPerCommand) { result(ErrorCode.OPERATION_NOT_ATTEMPTED, 'Too many elections in one request.'); continue }
        const topic = working.topicsByName.get(t.topic)
        const current = topic?.partitions.get(partitionId)
        if (topic === undefined || current === undefined) { result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition ${t.topic}-${partitionId}.`); continue }
        const preferred = current.replicas[0]!
        if (current.leader === preferred) {
          if (!all) result(ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.ELECTION_NOT_NEEDED.message)
          continue
        }
        if (!current.isr.includes(preferred) || !working.isActiveBroker(preferred)) {
          result(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `Preferred leader ${preferred} is not an unfenced ISR member of ${t.topic}-${partitionId}.`); continue
        }
        const change: metadata.PartitionChangeRecord = {
          topicId: topic.topicId, partitionId, leader: preferred, isr: [], isrSet: false, replicas: [], replicasSet: false,
        }
        const record: metadata.MetadataRecord = { record: { $case: 'partitionChange', value: change } }
        working = working.replay([record], nextOffset)
        records.push(record)
        result(ErrorCode.NONE, '')
        this.logger.debug({ topic: t.topic, partitionId, from: current.leader, to: preferred }, 'elected preferred leader')
      }
      if (partitions.length > 0 || !all) topics.push({ topic: t.topic, partitions })
    }
    this.write(active, records)
    return reply(records, ErrorCode.NONE, '', topics)
  }

  /** Kafka's ProducerIdControlManager.generateNextProducerId: the next block of ids (KIP-730). */
  private allocateProducerIds(active: ActiveState, req: controller.AllocateProducerIdsRequest): ControllerResult {
    const reply = (records: Records, error: ErrorCodeInfo, message: string, producerIdStart: bigint, producerIdLen: number): ControllerResult => ({
      records,
      response: { type: 'allocate_producer_ids', response: { errorCode: error.code, errorMessage: message, producerIdStart, producerIdLen, controllerId: this.nodeId } },
    })
    const image = active.speculative
    const staleEpoch = brokerEpochError(image, req.brokerId, req.brokerEpoch)
    if (staleEpoch !== null) return reply([], ErrorCode.STALE_BROKER_EPOCH, staleEpoch, -1n, 0)
    const start = image.nextProducerId
    const blockSize = CONTROLLER_LIMITS.producerIdBlockSize
    if (start > INT64_MAX - BigInt(blockSize)) return reply([], ErrorCode.UNKNOWN_SERVER_ERROR, 'Exhausted all producerIds.', -1n, 0)
    const records: Records = [{
      record: { $case: 'producerIds', value: { brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, nextProducerId: start + BigInt(blockSize) } },
    }]
    this.write(active, records)
    this.logger.debug({ brokerId: req.brokerId, producerIdStart: start.toString(), producerIdLen: blockSize }, 'allocated producer ids')
    return reply(records, ErrorCode.NONE, '', start, blockSize)
  }

  // ---- Helpers ----------------------------------------------------------------------------

  private requireActive(): ActiveState {
    assert(this.active !== null, 'only the active controller handles commands (the glue answers NOT_CONTROLLER)')
    return this.active
  }

  /** The offset the next proposal will get: right after the last pending write. */
  private nextWriteOffset(active: ActiveState): number {
    return active.speculative.offset + 1
  }

  /** Speculatively apply a command's records and remember them until committed. */
  private write(active: ActiveState, records: readonly metadata.MetadataRecord[]): void {
    if (records.length === 0) return
    const offset = this.nextWriteOffset(active)
    active.speculative = active.speculative.replay(records, offset)
    active.pending.push({ offset, records, proposed: false })
  }

  /** A Kafka-style random (v4) uuid, not taken, not starting with '-' (Uuid.randomUuid). */
  private newTopicId(image: MetadataImage): TopicId {
    for (let attempt = 0; attempt < CONTROLLER_LIMITS.topicIdAttemptsMax; attempt++) {
      const bytes = new Uint8Array(16)
      for (let i = 0; i < 16; i++) bytes[i] = randomInt(this.random, 256)
      bytes[6] = (bytes[6] & 0x0f) | 0x40
      bytes[8] = (bytes[8] & 0x3f) | 0x80
      const id = topicIdFromBytes(bytes)
      if (!id.startsWith('-') && !image.topicsById.has(id)) return id
    }
    assert(false, `no usable topic id after ${CONTROLLER_LIMITS.topicIdAttemptsMax} attempts: the Random is broken`)
  }
}

// ---- Record builders (pure functions of an image) ------------------------------------------

function newPartitionRecord(topicId: TopicId, partitionId: number, replicas: readonly NodeId[]): metadata.MetadataRecord {
  return {
    record: {
      $case: 'partition',
      value: { topicId, partitionId, replicas: replicas.slice(), isr: replicas.slice(), leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0 },
    },
  }
}

/** Partitions in a canonical order (topics by name, then partition id). */
function* allPartitions(image: MetadataImage): Generator<{ topicId: TopicId; partition: PartitionRegistration }> {
  for (const name of [...image.topicsByName.keys()].sort()) {
    const topic = image.topicsByName.get(name)!
    for (let p = 0; p < topic.partitions.size; p++) yield { topicId: topic.topicId, partition: topic.partitions.get(p)! }
  }
}

/**
 * Take `brokerId` out of every ISR it is in and elect new leaders where it led (Kafka's
 * generateLeaderAndIsrUpdates with brokerToRemove). The broker is not an acceptable leader.
 */
function partitionChangesRemoving(image: MetadataImage, brokerId: NodeId): Records {
  const records: Records = []
  const isAcceptableLeader = (r: NodeId): boolean => r !== brokerId && image.isActiveBroker(r)
  for (const { topicId, partition } of allPartitions(image)) {
    if (!partition.isr.includes(brokerId)) continue
    const change = buildPartitionChange({ topicId, partition, isAcceptableLeader, removeFromIsr: brokerId })
    if (change !== null) records.push({ record: { $case: 'partitionChange', value: change } })
  }
  return records
}

/** Kafka's handleBrokerFenced: ISR and leader changes first, then the FenceBrokerRecord. */
function fenceBrokerRecords(image: MetadataImage, brokerId: NodeId): Records {
  const broker = image.brokers.get(brokerId)
  assert(broker !== undefined && !broker.fenced, `cannot fence broker ${brokerId}: not registered or already fenced`)
  const records = partitionChangesRemoving(image, brokerId)
  records.push({ record: { $case: 'fenceBroker', value: { brokerId, brokerEpoch: broker.brokerEpoch } } })
  return records
}

/**
 * Kafka's handleBrokerUnfenced: the UnfenceBrokerRecord, then a leader for every leaderless
 * partition whose ISR holds the returning broker (it was the last ISR member when the
 * partition lost its leader).
 */
function unfenceBrokerRecords(image: MetadataImage, brokerId: NodeId, brokerEpoch: bigint): Records {
  const records: Records = [{ record: { $case: 'unfenceBroker', value: { brokerId, brokerEpoch } } }]
  const isAcceptableLeader = (r: NodeId): boolean => r === brokerId || image.isActiveBroker(r)
  for (const { topicId, partition } of allPartitions(image)) {
    if (partition.leader !== NO_NODE || !partition.isr.includes(brokerId)) continue
    const change = buildPartitionChange({ topicId, partition, isAcceptableLeader, removeFromIsr: null })
    if (change !== null) records.push({ record: { $case: 'partitionChange', value: change } })
  }
  return records
}

const INT64_MAX = 2n ** 63n - 1n

/** Kafka's ClusterControlManager.checkBrokerEpoch: null if `brokerEpoch` is the broker's current epoch. */
function brokerEpochError(image: MetadataImage, brokerId: number, brokerEpoch: bigint): string | null {
  const broker = image.brokers.get(brokerId as NodeId)
  if (broker === undefined) return `No broker registration found for broker id ${brokerId}`
  if (broker.brokerEpoch !== brokerEpoch) return `Expected broker epoch ${broker.brokerEpoch}, but got broker epoch ${brokerEpoch}`
  return null
}

/**
 * Kafka's validateAlterPartitionData, in its order: the leader epoch fences an old leader,
 * the sender must be the leader, the partition epoch must be current, and the new ISR must
 * be a valid ISR whose new members are eligible (KIP-903: registered, unfenced, and at the
 * broker epoch the leader saw them fetch with, so a rebooted follower is not re-admitted on
 * the strength of its previous incarnation's fetches). A fenced broker here is also every
 * broker in controlled shutdown: this controller fences on controlled shutdown at once.
 */
function alterPartitionError(
  image: MetadataImage,
  current: PartitionRegistration,
  sender: NodeId,
  p: controller.AlterPartitionPartition,
): { error: ErrorCodeInfo; message: string } | null {
  if (p.leaderEpoch !== current.leaderEpoch) {
    return { error: ErrorCode.FENCED_LEADER_EPOCH, message: `Leader epoch ${p.leaderEpoch} does not match the current leader epoch ${current.leaderEpoch}.` }
  }
  if (current.leader !== sender) {
    return { error: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `Broker ${sender} is not the leader (${current.leader}).` }
  }
  if (p.partitionEpoch !== current.partitionEpoch) {
    return { error: ErrorCode.INVALID_UPDATE_VERSION, message: `Partition epoch ${p.partitionEpoch} does not match the current partition epoch ${current.partitionEpoch}.` }
  }
  const ids = p.newIsr.map((b) => b.brokerId)
  if (new Set(ids).size !== ids.length) {
    return { error: ErrorCode.INVALID_REQUEST, message: `The new ISR [${ids.join(',')}] has duplicate members.` }
  }
  const ineligible = (reason: string): { error: ErrorCodeInfo; message: string } => ({
    error: ErrorCode.INELIGIBLE_REPLICA, message: `The new ISR [${ids.join(',')}] is not eligible: ${reason}.`,
  })
  if (!ids.includes(current.leader)) return ineligible(`it does not contain the leader ${current.leader}`)
  const notReplica = ids.find((id) => !current.replicas.includes(id as NodeId))
  if (notReplica !== undefined) return ineligible(`${notReplica} is not a replica [${current.replicas.join(',')}]`)
  for (const b of p.newIsr) {
    if (current.isr.includes(b.brokerId as NodeId)) continue
    const registration = image.brokers.get(b.brokerId as NodeId)
    if (registration === undefined) return ineligible(`broker ${b.brokerId} is not registered`)
    if (registration.fenced) return ineligible(`broker ${b.brokerId} is fenced`)
    if (registration.brokerEpoch !== b.brokerEpoch) {
      return ineligible(`broker ${b.brokerId} epoch mismatch: requested ${b.brokerEpoch}, registered ${registration.brokerEpoch}`)
    }
  }
  return null
}

function leadsAnything(image: MetadataImage, brokerId: NodeId): boolean {
  for (const { partition } of allPartitions(image)) if (partition.leader === brokerId) return true
  return false
}

/** Kafka's message when the replication factor cannot be met (StripedReplicaPlacer). */
function replicationError(replicationFactor: number, unfencedBrokers: number): string | null {
  const prefix = `Unable to replicate the partition ${replicationFactor} time(s): `
  if (unfencedBrokers === 0) return `${prefix}All brokers are currently fenced.`
  if (replicationFactor > unfencedBrokers) {
    return `${prefix}The target replication factor of ${replicationFactor} cannot be reached because only ${unfencedBrokers} broker(s) are registered.`
  }
  return null
}

function duplicateNames(names: readonly string[]): Set<string> {
  const seen = new Set<string>()
  const duplicates = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) duplicates.add(name)
    seen.add(name)
  }
  return duplicates
}
