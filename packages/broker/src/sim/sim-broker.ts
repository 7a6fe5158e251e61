/**
 * SimBroker: one simulated broker process for the replication simulator. It plays the part
 * of the replica manager and the node shell around the broker's real, pure replication
 * logic: PartitionState (leader ISR, HW, follower progress, AlterPartition proposals), the
 * LeaderEpochCache inside each SimPartitionLog, and followerTruncation (KIP-101/279). Its
 * metadata comes from its own Raft observer (a QuorumController that never leads, run by
 * the simulator as a SimNode), exactly as a real broker follows the metadata log, and it
 * acts on each committed image through localChanges(previous, next, brokerId).
 *
 * What it does, per partition replica:
 *   - leader: appends acks=all produces (refused below min.insync.replicas), answers them
 *     once the HW passes the batch (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the maximal ISR fell
 *     below min.insync.replicas meanwhile, Kafka's checkEnoughReplicasReachOffset), serves
 *     follower fetches up to its log end with PartitionState.onFollowerFetch (a long poll
 *     when there is nothing new), answers OffsetsForLeaderEpoch from its epoch cache, sends
 *     AlterPartition (at most one in flight per partition, every request answered exactly
 *     once: an answer, an error, or outcome_unknown at the deadline);
 *   - follower: before the first fetch of a leader epoch, OffsetsForLeaderEpoch and
 *     followerTruncation (asking again while it says so); then fetch, append, flush, and
 *     fetch again from the flushed end (fsync mode: a fetch offset acknowledges only flushed
 *     data); learns the HW from every response.
 * And per process: group-commit fsync over all its logs (sometimes slow), registration,
 * heartbeats (fenced and unfenced by the real controller), controlled shutdown, the HW
 * checkpoint, and metadata gating: like Kafka's broker it acts on images only once it has
 * registered and replayed the log up to its own registration (so a restarted broker never
 * acts on the stale leaderships it replays first).
 *
 * A paused process (GC, SIGSTOP) keeps its state and misses its ticks; messages and disk
 * completions that arrive meanwhile wait in an inbox. A crash loses the process state and
 * the unsynced part of every log (SimPartitionLog.crash); the disk (logs, HW checkpoints)
 * is kept for the next incarnation. Closures scheduled for an older incarnation are ignored.
 */
import {
  MetadataImage,
  localChanges,
  type ControllerCommand,
  type ControllerResponse,
  type Logger,
  type PartitionRegistration,
  type Random,
  type SimClock,
} from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId, type controller } from '@tributary/protocol'
import { PartitionState, type AlterPartitionResponse, type Durability, type PartitionMetadata } from '../replica/partition-state.js'
import type { AlterPartitionRequest } from '../replica/isr-state.js'
import { followerTruncation } from '../replica/follower-truncation.js'
import type { PlantedBugs } from './planted-bugs.js'
import { describeBatch, type ReplicationChecker } from './replication-checker.js'
import type { ReplicationScenario } from './replication-scenario.js'
import { isRpcRequest, partitionKey, type PartitionKey, type RpcBody, type RpcMessage } from './sim-messages.js'
import type { FlushToken, SimBatch, SimPartitionLog } from './sim-partition-log.js'
import { SimPartitionLog as Log } from './sim-partition-log.js'

export interface BrokerHost {
  readonly clock: SimClock
  readonly scenario: ReplicationScenario
  readonly checker: ReplicationChecker
  readonly durability: Durability
  readonly bugs: PlantedBugs
  readonly tracing: boolean
  trace(nodeId: NodeId | null, what: string): void
  send(message: RpcMessage, tag: number): void
  /** The committed image of the broker's metadata observer; null while it is down. */
  metadataImage(brokerId: NodeId): MetadataImage | null
  /** 0 for an immediate fsync, else how long it takes. */
  syncDelayMs(): number
  /** Planted bug: whether this fsync lies. */
  lyingSync(): boolean
  logger(nodeId: NodeId): Logger
}

export interface BrokerStats {
  truncations: number
  truncatedBatches: number
  askAgain: number
  appendRefusals: number
  alterPartitionSent: number
  alterPartitionUnknown: number
  /** AlterPartition attempts resent after a NOT_CONTROLLER that answered an attempt already proposed (it may commit). */
  alterPartitionHiddenRetries: number
  /** Of those, the ones whose final answer was an error (that attempt's error proves nothing about the first). */
  alterPartitionErrorAfterHiddenRetry: number
  isrShrinks: number
  isrExpands: number
  acks: number
  leaderships: number
  registrations: number
  controlledShutdowns: number
}

export function emptyBrokerStats(): BrokerStats {
  return { truncations: 0, truncatedBatches: 0, askAgain: 0, appendRefusals: 0, alterPartitionSent: 0, alterPartitionUnknown: 0, alterPartitionHiddenRetries: 0, alterPartitionErrorAfterHiddenRetry: 0, isrShrinks: 0, isrExpands: 0, acks: 0, leaderships: 0, registrations: 0, controlledShutdowns: 0 }
}

interface PendingProduce {
  readonly from: NodeId
  readonly requestId: number
  readonly tag: number
  readonly batch: SimBatch
  readonly producerBytes: Buffer
  readonly epoch: number
  readonly deadlineMs: number
}

interface ParkedFetch {
  readonly message: RpcMessage
  readonly tag: number
  readonly deadlineMs: number
}

type FetcherPhase = 'truncating' | 'fetching' | 'flushing' | 'backoff'

interface Fetcher {
  readonly leader: NodeId
  readonly leaderEpoch: number
  readonly session: number
  phase: FetcherPhase
  /** The request in flight, if any, and when it was sent. */
  requestId: number | null
  sentMs: number
  /** OffsetsForLeaderEpoch: the epoch asked about (KIP-279 may ask again with a smaller one). */
  askEpoch: number
  /** backoff: when to resume, and with what. */
  resumeMs: number
  resumePhase: 'truncating' | 'fetching'
}

interface Replica {
  readonly key: string
  readonly partition: PartitionKey
  readonly log: SimPartitionLog
  /** Replaced only when the HW must go back (lowerHighWatermark). */
  state: PartitionState
  fetcher: Fetcher | null
  purgatory: PendingProduce[]
  parked: ParkedFetch[]
  alterInFlight: AlterPartitionRequest | null
  alterBackoffUntilMs: number
}

type ControllerResult =
  | { readonly kind: 'response'; readonly response: ControllerResponse; readonly notControllerHops: number; readonly proposedThenNotController: boolean }
  | { readonly kind: 'timeout' }

interface ControllerCall {
  readonly command: ControllerCommand
  readonly deadlineMs: number
  readonly done: (result: ControllerResult) => void
  /** NOT_CONTROLLER answers followed so far (each may hide an attempt that was proposed). */
  notControllerHops: number
  /** Statistics only: one of them answered an attempt that had been proposed. */
  proposedThenNotController: boolean
}

type Outstanding =
  | { readonly kind: 'controller'; readonly call: ControllerCall }
  | { readonly kind: 'fetch'; readonly replica: string; readonly session: number }
  | { readonly kind: 'epoch'; readonly replica: string; readonly session: number }

/** How long to wait before following a NOT_CONTROLLER hint. */
const CONTROLLER_RETRY_MS = 10
/** After an AlterPartition error or unknown outcome, before the next request for that partition. */
const ALTER_PARTITION_BACKOFF_MS = 20
/** Page-cache mode: how often the OS writes dirty pages back. */
const PAGE_CACHE_WRITEBACK_MS = 200

export class SimBroker {
  /** The disk: partition logs (and their HW checkpoints), kept across incarnations. */
  readonly disk = new Map<string, SimPartitionLog>()
  readonly stats: BrokerStats = emptyBrokerStats()
  incarnation = 0
  private running = false
  private paused = false
  private inbox: Array<() => void> = []
  private brokerEpoch: bigint | null = null
  private registering = false
  private nextRegisterMs = 0
  private heartbeatInFlight = false
  private nextHeartbeatMs = 0
  private fenced = true
  private shuttingDown = false
  private shutdownStartedMs = 0
  private appliedImage: MetadataImage = MetadataImage.EMPTY
  private readonly replicas = new Map<string, Replica>()
  private readonly outstanding = new Map<number, Outstanding>()
  private nextRequestId = 1
  private nextSession = 1
  private controllerGuess: NodeId
  private flushInFlight = false
  private flushQueued = false
  private nextCheckpointMs = 0
  private nextWritebackMs = 0

  constructor(
    readonly id: NodeId,
    private readonly host: BrokerHost,
    private readonly random: Random,
    /** Called when a controlled shutdown completes: the simulator stops and restarts the process. */
    private readonly onShutdownComplete: (broker: SimBroker) => void,
  ) {
    this.controllerGuess = host.scenario.controllerIds[0]
  }

  get up(): boolean {
    return this.running
  }

  get isPaused(): boolean {
    return this.paused
  }

  get isRegistered(): boolean {
    return this.brokerEpoch !== null
  }

  get isFenced(): boolean {
    return this.fenced
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown
  }

  get image(): MetadataImage {
    return this.appliedImage
  }

  /** The replica's PartitionState, if this broker has one for `partition` now. */
  partitionState(partition: string): PartitionState | undefined {
    return this.replicas.get(partition)?.state
  }

  leads(partition: string): boolean {
    return this.replicas.get(partition)?.state.isLeader ?? false
  }

  /** Partitions this broker currently holds a replica of (for the checker, after each event). */
  replicaViews(): Array<{ readonly key: string; readonly highWatermark: bigint; readonly log: SimPartitionLog }> {
    const out: Array<{ key: string; highWatermark: bigint; log: SimPartitionLog }> = []
    for (const r of this.replicas.values()) out.push({ key: r.key, highWatermark: r.state.highWatermark, log: r.log })
    return out
  }

  // ---- lifecycle ------------------------------------------------------------------------

  start(): void {
    const host = this.host
    this.incarnation++
    this.running = true
    this.paused = false
    this.inbox = []
    this.brokerEpoch = null
    this.registering = false
    this.nextRegisterMs = host.clock.nowMs
    this.heartbeatInFlight = false
    this.fenced = true
    this.shuttingDown = false
    this.appliedImage = MetadataImage.EMPTY
    this.replicas.clear()
    this.outstanding.clear()
    this.flushInFlight = false
    this.flushQueued = false
    this.nextCheckpointMs = host.clock.nowMs + host.scenario.checkpointIntervalMs
    this.nextWritebackMs = host.clock.nowMs + PAGE_CACHE_WRITEBACK_MS
    const inc = this.incarnation
    const tick = (): void => {
      if (this.incarnation !== inc) return
      if (!this.paused) this.tick()
      host.clock.scheduleAfter(host.scenario.brokerTickIntervalMs, tick)
    }
    host.clock.scheduleAfter(1 + Math.floor(this.random.next() * host.scenario.brokerTickIntervalMs), tick)
  }

  /**
   * The process dies (SIGKILL): every log loses its unsynced tail (some of it may survive).
   * Returns each log's end before the crash, for the checker.
   */
  crash(survival: number): Map<string, { readonly endBefore: bigint }> {
    const ends = new Map<string, { endBefore: bigint }>()
    let lost = 0
    for (const [key, log] of this.disk) {
      ends.set(key, { endBefore: log.logEndOffset })
      lost += log.crash(this.random, survival)
    }
    this.teardown()
    if (this.host.tracing) this.host.trace(this.id, `broker process killed: ${lost} unsynced batches lost`)
    return ends
  }

  /** A clean stop (after controlled shutdown, or its timeout): everything is flushed first. */
  stopCleanly(): void {
    for (const r of this.replicas.values()) r.log.writeHighWatermarkCheckpoint(r.state.highWatermark)
    for (const log of this.disk.values()) log.flushAll()
    this.teardown()
  }

  private teardown(): void {
    this.running = false
    this.paused = false
    this.inbox = []
    this.replicas.clear()
    this.outstanding.clear()
    this.incarnation++
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    const queued = this.inbox
    this.inbox = []
    for (const fn of queued) {
      if (!this.running) return
      if (this.paused) {
        this.inbox.push(fn)
        continue
      }
      fn()
    }
  }

  /** Starts a controlled shutdown: heartbeats ask to shut down until the controller agrees. */
  beginControlledShutdown(): void {
    if (!this.running || this.shuttingDown) return
    this.shuttingDown = true
    this.shutdownStartedMs = this.host.clock.nowMs
    this.nextHeartbeatMs = this.host.clock.nowMs
    this.stats.controlledShutdowns++
    if (this.host.tracing) this.host.trace(this.id, 'controlled shutdown requested')
  }

  /** A message from the RPC network. */
  deliver(message: RpcMessage, tag: number): void {
    if (!this.running) return
    if (!isRpcRequest(message.body) && tag !== this.incarnation) return
    this.input(() => this.handle(message, tag))
  }

  /** After every simulator event: act on a new metadata image, if there is one. */
  pollMetadata(): void {
    if (!this.running || this.paused) return
    const image = this.host.metadataImage(this.id)
    if (image === null || image === this.appliedImage) return
    // Kafka's broker publishes metadata to its replica manager only once it has caught up
    // to its own registration: the images replayed before it are history.
    if (this.brokerEpoch === null || BigInt(image.offset) < this.brokerEpoch) return
    this.applyImage(image)
  }

  private input(fn: () => void): void {
    if (!this.running) return
    if (this.paused) this.inbox.push(fn)
    else fn()
  }

  // ---- metadata -------------------------------------------------------------------------

  private applyImage(next: MetadataImage): void {
    const host = this.host
    const previous = this.appliedImage
    const changes = localChanges(previous, next, this.id)
    this.appliedImage = next
    host.checker.observeImage(this.id, next, host.clock.nowMs)
    for (const change of changes.leaders) this.onLeaderRegistration(change.partition, { topicId: change.topicId, partitionId: change.partitionId })
    for (const change of changes.followers) this.onFollowerRegistration(change.partition, { topicId: change.topicId, partitionId: change.partitionId })
    for (const d of changes.deletes) {
      const key = partitionKey({ topicId: d.topicId, partitionId: d.partitionId })
      const r = this.replicas.get(key)
      if (r !== undefined) this.stepDown(r, ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
      this.replicas.delete(key)
      if (d.deleteLog) this.disk.delete(key)
    }
  }

  private replicaFor(partition: PartitionKey): Replica {
    const key = partitionKey(partition)
    let r = this.replicas.get(key)
    if (r !== undefined) return r
    let log = this.disk.get(key)
    if (log === undefined) {
      log = new Log()
      this.disk.set(key, log)
    }
    const hw = log.highWatermarkCheckpoint < log.logEndOffset ? log.highWatermarkCheckpoint : log.logEndOffset
    const state = new PartitionState({
      config: { localReplicaId: this.id, replicaLagTimeMaxMs: this.host.scenario.replicaLagTimeMaxMs, durability: this.host.durability },
      logger: this.host.logger(this.id),
      highWatermark: hw,
    })
    r = { key, partition, log, state, fetcher: null, purgatory: [], parked: [], alterInFlight: null, alterBackoffUntilMs: 0 }
    this.replicas.set(key, r)
    this.host.checker.replicaStarted(this.id, this.incarnation, key, hw, log, this.host.clock.nowMs)
    return r
  }

  private onLeaderRegistration(p: PartitionRegistration, partition: PartitionKey): void {
    const host = this.host
    const nowMs = host.clock.nowMs
    const r = this.replicaFor(partition)
    const view = r.state.view()
    if (view.role === 'leader' && view.leaderEpoch === p.leaderEpoch) {
      const result = r.state.onMetadataUpdate(metadataOf(p), nowMs)
      if (result.kind === 'applied') {
        if (host.tracing) host.trace(this.id, `${short(r.key)}: ISR [${p.isr.join(',')}] from metadata (partition epoch ${p.partitionEpoch})`)
        if (result.highWatermarkAdvanced) this.onHighWatermarkAdvanced(r)
      }
      return
    }
    if (view.leaderEpoch >= p.leaderEpoch) return
    this.stepDown(r, ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    const assigned = r.log.assignEpochStartOffset(p.leaderEpoch)
    if (assigned === 'stale_leader_epoch') {
      host.checker.fail('broker_threw', `broker ${this.id}: the log of ${r.key} has epoch ${r.log.latestEpoch()}, above leader epoch ${p.leaderEpoch} it was given`, nowMs)
      return
    }
    const result = r.state.becomeLeader({
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      replicas: p.replicas,
      isr: p.isr,
      logEndOffset: r.log.logEndOffset,
      durableEndOffset: this.countedEnd(r.log),
      nowMs,
    })
    if (result.kind !== 'became_leader') return
    r.fetcher = null
    this.stats.leaderships++
    host.checker.becameLeader(this.id, r.key, p.leaderEpoch, nowMs)
    if (host.tracing) {
      host.trace(this.id, `${short(r.key)}: became leader in epoch ${p.leaderEpoch}, ISR [${p.isr.join(',')}], log end ${r.log.logEndOffset}, HW ${r.state.highWatermark}`)
    }
    if (result.highWatermarkAdvanced) this.onHighWatermarkAdvanced(r)
  }

  private onFollowerRegistration(p: PartitionRegistration, partition: PartitionKey): void {
    const host = this.host
    const r = this.replicaFor(partition)
    const wasLeader = r.state.isLeader
    const result = r.state.becomeFollower({
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      leader: p.leader,
      replicas: p.replicas,
      isr: p.isr,
      latestLocalEpoch: r.log.latestEpoch(),
    })
    switch (result.kind) {
      case 'unchanged':
      case 'stale_epoch':
        return
      case 'no_leader':
        if (wasLeader) this.stepDown(r, ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
        r.fetcher = null
        if (host.tracing) host.trace(this.id, `${short(r.key)}: follower with no leader (epoch ${p.leaderEpoch})`)
        return
      case 'fetch_from_leader': {
        if (wasLeader) this.stepDown(r, ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
        const truncate = result.truncation.kind === 'offsets_for_leader_epoch' && this.host.bugs.skipTruncation !== true
        r.fetcher = {
          leader: result.leader,
          leaderEpoch: result.leaderEpoch,
          session: this.nextSession++,
          phase: truncate ? 'truncating' : 'fetching',
          requestId: null,
          sentMs: 0,
          askEpoch: result.truncation.kind === 'offsets_for_leader_epoch' ? result.truncation.leaderEpoch : -1,
          resumeMs: 0,
          resumePhase: 'fetching',
        }
        if (host.tracing) host.trace(this.id, `${short(r.key)}: became follower of ${result.leader} in epoch ${result.leaderEpoch}, log end ${r.log.logEndOffset}, HW ${r.state.highWatermark}`)
        this.sendFetcherRequest(r)
        return
      }
    }
  }

  /** Leadership is gone (or changing): answer everything waiting on it. */
  private stepDown(r: Replica, errorCode: number): void {
    for (const p of r.purgatory) this.respond(p.from, p.requestId, p.tag, { type: 'produce_response', errorCode, baseOffset: -1n })
    r.purgatory = []
    for (const f of r.parked) this.respond(f.message.from, f.message.requestId, f.tag, { type: 'fetch_response', errorCode, batches: [], highWatermark: -1n })
    r.parked = []
  }

  // ---- RPC handling ---------------------------------------------------------------------

  private handle(message: RpcMessage, tag: number): void {
    const body = message.body
    switch (body.type) {
      case 'produce_request':
        this.onProduce(message, body, tag)
        return
      case 'fetch_request':
        this.onFetch(message, body, tag)
        return
      case 'offsets_for_leader_epoch_request':
        this.onOffsetsForLeaderEpoch(message, body, tag)
        return
      case 'fetch_response':
      case 'offsets_for_leader_epoch_response':
      case 'controller_response':
        this.onResponse(message)
        return
      case 'controller_request':
        return
    }
  }

  private onProduce(message: RpcMessage, body: Extract<RpcBody, { type: 'produce_request' }>, tag: number): void {
    const host = this.host
    const reply = (errorCode: number): void => this.respond(message.from, message.requestId, tag, { type: 'produce_response', errorCode, baseOffset: -1n })
    const r = this.replicas.get(partitionKey(body.partition))
    if (r === undefined || !r.state.isLeader) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    const admission = r.state.canAcceptAcksAll(host.scenario.minInsyncReplicas)
    if (admission.kind === 'not_leader') return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    if (admission.kind === 'not_enough_replicas') return reply(ErrorCode.NOT_ENOUGH_REPLICAS.code)
    const epoch = r.state.view().leaderEpoch
    const batch = r.log.appendAsLeader(body.batch, epoch)
    const appended = r.state.onLeaderLogAppend(r.log.logEndOffset)
    r.purgatory.push({ from: message.from, requestId: message.requestId, tag, batch, producerBytes: body.batch, epoch, deadlineMs: host.clock.nowMs + body.timeoutMs })
    if (host.tracing) host.trace(this.id, `${short(r.key)}: appended ${describeBatch(batch)} (acks=all)`)
    let advanced = appended.highWatermarkAdvanced
    if (host.durability === 'fsync') {
      if (host.bugs.leaderCountsUnsynced === true) advanced = r.state.onLeaderFlushed(r.log.logEndOffset).highWatermarkAdvanced || advanced
      this.requestFlush()
    }
    if (advanced) this.onHighWatermarkAdvanced(r)
    this.answerParkedFetches(r, false)
  }

  private onFetch(message: RpcMessage, body: Extract<RpcBody, { type: 'fetch_request' }>, tag: number): void {
    const host = this.host
    const reply = (errorCode: number): void =>
      this.respond(message.from, message.requestId, tag, { type: 'fetch_response', errorCode, batches: [], highWatermark: -1n })
    const r = this.replicas.get(partitionKey(body.partition))
    if (r === undefined || !r.state.isLeader) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    const epoch = r.state.view().leaderEpoch
    if (body.currentLeaderEpoch < epoch) return reply(ErrorCode.FENCED_LEADER_EPOCH.code)
    if (body.currentLeaderEpoch > epoch) return reply(ErrorCode.UNKNOWN_LEADER_EPOCH.code)
    const result = r.state.onFollowerFetch({ replicaId: body.replicaId, fetchOffset: body.fetchOffset, brokerEpoch: body.brokerEpoch, nowMs: host.clock.nowMs })
    switch (result.kind) {
      case 'not_leader':
        return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
      case 'unknown_replica':
        return reply(ErrorCode.REPLICA_NOT_AVAILABLE.code)
      case 'offset_out_of_range':
        return reply(ErrorCode.OFFSET_OUT_OF_RANGE.code)
      case 'ok':
        break
    }
    if (result.isrChange !== null) this.maybeSendAlterPartition(r)
    if (result.highWatermarkAdvanced) this.onHighWatermarkAdvanced(r)
    if (body.fetchOffset >= r.log.logEndOffset && r.state.highWatermark <= body.knownHighWatermark && body.maxWaitMs > 0) {
      r.parked.push({ message, tag, deadlineMs: host.clock.nowMs + body.maxWaitMs })
      return
    }
    this.answerFetch(r, message, tag)
  }

  private answerFetch(r: Replica, message: RpcMessage, tag: number): void {
    const body = message.body
    if (body.type !== 'fetch_request') return
    const batches = r.log.read(body.fetchOffset, body.maxBatches)
    this.respond(message.from, message.requestId, tag, { type: 'fetch_response', errorCode: 0, batches, highWatermark: r.state.highWatermark })
  }

  /** New data (or HW, or the deadline) for long-polling followers. */
  private answerParkedFetches(r: Replica, expiredOnly: boolean): void {
    if (r.parked.length === 0) return
    const nowMs = this.host.clock.nowMs
    const keep: ParkedFetch[] = []
    for (const f of r.parked) {
      const body = f.message.body
      if (body.type !== 'fetch_request') continue
      const ready = !expiredOnly && (r.log.logEndOffset > body.fetchOffset || r.state.highWatermark > body.knownHighWatermark)
      if (ready || nowMs >= f.deadlineMs) this.answerFetch(r, f.message, f.tag)
      else keep.push(f)
    }
    r.parked = keep
  }

  private onOffsetsForLeaderEpoch(message: RpcMessage, body: Extract<RpcBody, { type: 'offsets_for_leader_epoch_request' }>, tag: number): void {
    const reply = (errorCode: number, epoch: number, endOffset: bigint): void =>
      this.respond(message.from, message.requestId, tag, { type: 'offsets_for_leader_epoch_response', errorCode, epoch, endOffset })
    const r = this.replicas.get(partitionKey(body.partition))
    if (r === undefined || !r.state.isLeader) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER.code, -1, -1n)
    const epoch = r.state.view().leaderEpoch
    if (body.currentLeaderEpoch < epoch) return reply(ErrorCode.FENCED_LEADER_EPOCH.code, -1, -1n)
    if (body.currentLeaderEpoch > epoch) return reply(ErrorCode.UNKNOWN_LEADER_EPOCH.code, -1, -1n)
    const answer = r.log.endOffsetFor(body.leaderEpoch)
    reply(0, answer.epoch, answer.endOffset)
  }

  private onResponse(message: RpcMessage): void {
    const pending = this.outstanding.get(message.requestId)
    if (pending === undefined) return
    this.outstanding.delete(message.requestId)
    const body = message.body
    switch (pending.kind) {
      case 'controller':
        if (body.type === 'controller_response') {
          if (body.response === null && body.afterProposal === true) pending.call.proposedThenNotController = true
          this.onControllerResponse(pending.call, body.response, body.leaderHint)
        }
        return
      case 'fetch': {
        const r = this.replicas.get(pending.replica)
        if (r === undefined || r.fetcher === null || r.fetcher.session !== pending.session || r.fetcher.requestId !== message.requestId) return
        if (body.type === 'fetch_response') this.onFetchResponse(r, r.fetcher, body)
        return
      }
      case 'epoch': {
        const r = this.replicas.get(pending.replica)
        if (r === undefined || r.fetcher === null || r.fetcher.session !== pending.session || r.fetcher.requestId !== message.requestId) return
        if (body.type === 'offsets_for_leader_epoch_response') this.onEpochResponse(r, r.fetcher, body)
        return
      }
    }
  }

  // ---- leader: HW, acks, AlterPartition -------------------------------------------------

  /** What this replica may count toward the HW as leader: its flushed end (fsync) or log end. */
  private countedEnd(log: SimPartitionLog): bigint {
    return this.host.durability === 'fsync' ? log.flushedEndOffset : log.logEndOffset
  }

  private onHighWatermarkAdvanced(r: Replica): void {
    const host = this.host
    const hw = r.state.highWatermark
    if (r.purgatory.length > 0) {
      const keep: PendingProduce[] = []
      for (const p of r.purgatory) {
        if (p.batch.lastOffset >= hw) {
          keep.push(p)
          continue
        }
        const maximalIsr = r.state.maximalIsr
        if (maximalIsr.length < host.scenario.minInsyncReplicas) {
          this.respond(p.from, p.requestId, p.tag, { type: 'produce_response', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND.code, baseOffset: -1n })
          continue
        }
        host.checker.acknowledged(this.id, r.key, p.epoch, p.batch, p.producerBytes, maximalIsr, host.clock.nowMs)
        this.stats.acks++
        if (host.tracing) host.trace(this.id, `${short(r.key)}: acknowledged ${describeBatch(p.batch)} (HW ${hw}, maximal ISR [${maximalIsr.join(',')}])`)
        this.respond(p.from, p.requestId, p.tag, { type: 'produce_response', errorCode: 0, baseOffset: p.batch.baseOffset })
      }
      r.purgatory = keep
    }
    this.answerParkedFetches(r, false)
  }

  private maybeSendAlterPartition(r: Replica): void {
    const host = this.host
    const brokerEpoch = this.brokerEpoch
    if (r.alterInFlight !== null || brokerEpoch === null || host.clock.nowMs < r.alterBackoffUntilMs) return
    const request = r.state.takeAlterPartitionRequest()
    if (request === null) return
    r.alterInFlight = request
    this.stats.alterPartitionSent++
    const isr = r.state.isr
    if (request.newIsr.length > isr.length) this.stats.isrExpands++
    else this.stats.isrShrinks++
    const command: ControllerCommand = {
      type: 'alter_partition',
      request: {
        brokerId: this.id,
        brokerEpoch,
        topics: [{
          topicId: r.partition.topicId,
          partitions: [{
            partitionId: r.partition.partitionId,
            leaderEpoch: request.leaderEpoch,
            partitionEpoch: request.partitionEpoch,
            newIsr: request.newIsr.map((id) => ({ brokerId: id, brokerEpoch: id === this.id ? brokerEpoch : request.brokerEpochs.get(id) ?? -1n })),
          }],
        }],
      },
    }
    if (host.tracing) host.trace(this.id, `${short(r.key)}: AlterPartition -> ISR [${request.newIsr.join(',')}] (leader epoch ${request.leaderEpoch}, partition epoch ${request.partitionEpoch})`)
    const inc = this.incarnation
    this.callController(command, (result) => {
      if (this.incarnation !== inc) return
      const current = this.replicas.get(r.key)
      // Every request taken is answered exactly once, to the PartitionState that issued it.
      if (current !== r) return
      const response = alterPartitionAnswer(result, r.partition)
      if (response.kind === 'outcome_unknown') this.stats.alterPartitionUnknown++
      if (result.kind === 'response' && result.proposedThenNotController) {
        this.stats.alterPartitionHiddenRetries++
        if (response.kind === 'error') this.stats.alterPartitionErrorAfterHiddenRetry++
        if (host.tracing) host.trace(this.id, `${short(r.key)}: AlterPartition was retried after a NOT_CONTROLLER that answered a proposed attempt`)
      }
      r.alterInFlight = null
      const outcome = r.state.onAlterPartitionResponse(request, response)
      if (host.tracing) host.trace(this.id, `${short(r.key)}: AlterPartition answer ${describeAlterAnswer(response)} -> ${outcome.kind}`)
      if (outcome.kind !== 'applied') r.alterBackoffUntilMs = host.clock.nowMs + ALTER_PARTITION_BACKOFF_MS
      if (outcome.kind === 'applied' && outcome.highWatermarkAdvanced) this.onHighWatermarkAdvanced(r)
      this.maybeSendAlterPartition(r)
    })
  }

  // ---- follower: truncation and fetching ------------------------------------------------

  private sendFetcherRequest(r: Replica): void {
    const f = r.fetcher
    if (f === null) return
    const brokerEpoch = this.brokerEpoch
    if (brokerEpoch === null) {
      // Registering again: fetches carry the broker epoch (KIP-903), so wait for the new one.
      this.backoff(r, f, f.phase === 'truncating' ? 'truncating' : 'fetching')
      return
    }
    const s = this.host.scenario
    const requestId = this.nextRequestId++
    f.requestId = requestId
    f.sentMs = this.host.clock.nowMs
    if (f.phase === 'truncating') {
      this.outstanding.set(requestId, { kind: 'epoch', replica: r.key, session: f.session })
      this.send(f.leader, requestId, {
        type: 'offsets_for_leader_epoch_request',
        partition: r.partition,
        replicaId: this.id,
        currentLeaderEpoch: f.leaderEpoch,
        leaderEpoch: f.askEpoch,
      })
      return
    }
    f.phase = 'fetching'
    this.outstanding.set(requestId, { kind: 'fetch', replica: r.key, session: f.session })
    const acksUnsynced = this.host.durability === 'page-cache' || this.host.bugs.followerAcksUnsynced === true
    this.send(f.leader, requestId, {
      type: 'fetch_request',
      partition: r.partition,
      replicaId: this.id,
      brokerEpoch,
      fetchOffset: acksUnsynced ? r.log.logEndOffset : r.log.flushedEndOffset,
      currentLeaderEpoch: f.leaderEpoch,
      knownHighWatermark: r.state.highWatermark,
      maxWaitMs: s.fetchMaxWaitMs,
      maxBatches: s.fetchMaxBatches,
    })
  }

  private backoff(r: Replica, f: Fetcher, resume: 'truncating' | 'fetching'): void {
    f.phase = 'backoff'
    f.requestId = null
    f.resumePhase = resume
    f.resumeMs = this.host.clock.nowMs + this.host.scenario.fetchBackoffMs
  }

  /** Starts over with OffsetsForLeaderEpoch from the latest local epoch (or fetches, for an empty log). */
  private restartTruncation(r: Replica, f: Fetcher): void {
    const latest = r.log.latestEpoch()
    if (latest === null || this.host.bugs.skipTruncation === true) {
      this.backoff(r, f, 'fetching')
      return
    }
    f.askEpoch = latest
    this.backoff(r, f, 'truncating')
  }

  private onEpochResponse(r: Replica, f: Fetcher, body: Extract<RpcBody, { type: 'offsets_for_leader_epoch_response' }>): void {
    const host = this.host
    f.requestId = null
    if (body.errorCode !== 0) {
      this.backoff(r, f, 'truncating')
      return
    }
    const log = r.log
    const step = followerTruncation({ epoch: body.epoch, endOffset: body.endOffset }, {
      endOffsetFor: (epoch) => log.endOffsetFor(epoch),
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      highWatermark: r.state.highWatermark,
    })
    if (step.kind === 'ask_again') {
      this.stats.askAgain++
      if (host.tracing) host.trace(this.id, `${short(r.key)}: leader's epoch ${body.epoch} ends at ${body.endOffset}; asking again for epoch ${step.leaderEpoch} (KIP-279)`)
      f.askEpoch = step.leaderEpoch
      this.sendFetcherRequest(r)
      return
    }
    const before = log.logEndOffset
    if (step.offset >= before) {
      // Nothing to cut, but the epoch cache may hold an entry at the log end that no batch
      // backs: this replica led an epoch and wrote nothing in it. Kafka's truncateTo drops
      // it ("Always truncate epoch cache since we may have a conflicting epoch entry at the
      // end of the log from the leader"); kept, it refuses every batch of an older epoch.
      if (host.bugs.keepEpochEntryAtLogEnd !== true) {
        const latest = log.latestEpoch()
        log.truncateTo(before)
        if (host.tracing && log.latestEpoch() !== latest) host.trace(this.id, `${short(r.key)}: dropped epoch ${latest} starting at the log end ${before}`)
      }
    } else {
      const batchesBefore = log.batchCount
      const end = log.truncateTo(step.offset)
      this.stats.truncations++
      this.stats.truncatedBatches += batchesBefore - log.batchCount
      if (host.tracing) host.trace(this.id, `${short(r.key)}: truncated from ${before} to ${end} (leader's epoch ${body.epoch} ends at ${body.endOffset})`)
      host.checker.truncated(this.id, r.key, end, r.state.highWatermark, host.clock.nowMs)
      if (end < r.state.highWatermark) this.lowerHighWatermark(r, end)
    }
    f.phase = 'fetching'
    this.sendFetcherRequest(r)
  }

  /**
   * The leader lacks records this replica counted as committed (page-cache mode after a
   * power loss; the checker reports it in fsync mode). PartitionState's HW never goes back,
   * so the replica starts a new one at `end` and follows the same leader, as the real
   * Partition.lowerFollowerHighWatermark does.
   */
  private lowerHighWatermark(r: Replica, end: bigint): void {
    const view = r.state.view()
    const state = new PartitionState({
      config: { localReplicaId: this.id, replicaLagTimeMaxMs: this.host.scenario.replicaLagTimeMaxMs, durability: this.host.durability },
      logger: this.host.logger(this.id),
      highWatermark: end,
    })
    state.becomeFollower({ leaderEpoch: view.leaderEpoch, partitionEpoch: view.partitionEpoch, leader: view.leader, replicas: view.replicas, isr: view.isr, latestLocalEpoch: r.log.latestEpoch() })
    r.state = state
    if (this.host.tracing) this.host.trace(this.id, `${short(r.key)}: TRUNCATED BELOW THE HIGH WATERMARK ${view.highWatermark}: HW now ${end}`)
  }

  private onFetchResponse(r: Replica, f: Fetcher, body: Extract<RpcBody, { type: 'fetch_response' }>): void {
    const host = this.host
    f.requestId = null
    if (body.errorCode !== 0) {
      if (body.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE.code) this.restartTruncation(r, f)
      else this.backoff(r, f, 'fetching')
      return
    }
    if (body.batches.length > 0) {
      const appended = r.log.appendAsFollower(body.batches)
      if (appended.kind !== 'appended') {
        this.stats.appendRefusals++
        if (host.tracing) host.trace(this.id, `${short(r.key)}: refused replicated batches (${appended.kind}); truncating again`)
        this.restartTruncation(r, f)
        return
      }
    }
    if (body.highWatermark >= 0n) r.state.onFollowerHighWatermark(body.highWatermark, r.log.logEndOffset)
    const acksUnsynced = host.durability === 'page-cache' || host.bugs.followerAcksUnsynced === true
    if (r.log.hasUnflushed && host.durability === 'fsync') this.requestFlush()
    if (acksUnsynced || !r.log.hasUnflushed) {
      this.sendFetcherRequest(r)
      return
    }
    // fsync mode: the next fetch offset acknowledges everything below it, so it waits for the flush.
    f.phase = 'flushing'
  }

  // ---- disk -----------------------------------------------------------------------------

  /** Group commit: one fsync covers every log with unflushed data; one at a time. */
  private requestFlush(): void {
    if (this.flushInFlight) {
      this.flushQueued = true
      return
    }
    const host = this.host
    const tokens: Array<[SimPartitionLog, FlushToken]> = []
    for (const log of this.disk.values()) if (log.hasUnflushed) tokens.push([log, log.startFlush()])
    if (tokens.length === 0) return
    this.flushInFlight = true
    const inc = this.incarnation
    const lying = host.lyingSync()
    const complete = (): void => {
      if (this.incarnation !== inc) return // crashed while syncing: the writes are gone
      // The disk finished now; a paused process hears of it when it runs again.
      for (const [log, token] of tokens) log.completeFlush(token, lying)
      this.input(() => this.onFlushed())
    }
    const delayMs = host.syncDelayMs()
    host.clock.scheduleAfter(delayMs, complete)
  }

  private onFlushed(): void {
    this.flushInFlight = false
    for (const r of this.replicas.values()) {
      if (r.state.isLeader) {
        if (this.host.durability === 'fsync' && r.state.onLeaderFlushed(r.log.flushedEndOffset).highWatermarkAdvanced) this.onHighWatermarkAdvanced(r)
      } else if (r.fetcher !== null && r.fetcher.phase === 'flushing' && !r.log.hasUnflushed) {
        this.sendFetcherRequest(r)
      }
    }
    if (this.flushQueued) {
      this.flushQueued = false
      this.requestFlush()
    }
  }

  // ---- controller RPCs ------------------------------------------------------------------

  /**
   * One controller request with a deadline, following NOT_CONTROLLER hints (the
   * ControllerChannel contract in replica-manager/types.ts). No answer by the deadline:
   * the outcome is unknown.
   */
  private callController(command: ControllerCommand, done: (result: ControllerResult) => void): void {
    const call: ControllerCall = { command, deadlineMs: this.host.clock.nowMs + this.host.scenario.controllerRequestTimeoutMs, done, notControllerHops: 0, proposedThenNotController: false }
    this.sendControllerAttempt(call)
  }

  private sendControllerAttempt(call: ControllerCall): void {
    const requestId = this.nextRequestId++
    this.outstanding.set(requestId, { kind: 'controller', call })
    this.send(this.controllerGuess, requestId, { type: 'controller_request', command: call.command, deadlineMs: call.deadlineMs })
  }

  private onControllerResponse(call: ControllerCall, response: ControllerResponse | null, hint: NodeId | null): void {
    if (response !== null) {
      call.done({ kind: 'response', response, notControllerHops: call.notControllerHops, proposedThenNotController: call.proposedThenNotController })
      return
    }
    call.notControllerHops++
    const controllers = this.host.scenario.controllerIds
    this.controllerGuess = hint !== null && controllers.includes(hint) && hint !== this.controllerGuess
      ? hint
      : controllers[(controllers.indexOf(this.controllerGuess) + 1) % controllers.length]
    const inc = this.incarnation
    this.host.clock.scheduleAfter(CONTROLLER_RETRY_MS, () => {
      if (this.incarnation !== inc) return
      this.input(() => {
        if (this.host.clock.nowMs >= call.deadlineMs) {
          call.done({ kind: 'timeout' })
          return
        }
        this.sendControllerAttempt(call)
      })
    })
  }

  private register(): void {
    const host = this.host
    this.registering = true
    const inc = this.incarnation
    this.stats.registrations++
    this.callController({
      type: 'register_broker',
      request: { brokerId: this.id, incarnationId: `broker-${this.id}-incarnation-${inc}`, endpoints: [{ name: 'PLAINTEXT', host: `broker-${this.id}`, port: 9092 }], rack: '' },
    }, (result) => {
      if (this.incarnation !== inc) return
      this.registering = false
      if (result.kind === 'response' && result.response.type === 'register_broker' && result.response.response.errorCode === 0) {
        this.brokerEpoch = result.response.response.brokerEpoch
        this.nextHeartbeatMs = host.clock.nowMs
        if (host.tracing) host.trace(this.id, `registered with broker epoch ${this.brokerEpoch}`)
        return
      }
      this.nextRegisterMs = host.clock.nowMs + host.scenario.heartbeatIntervalMs
    })
  }

  private heartbeat(): void {
    const host = this.host
    const brokerEpoch = this.brokerEpoch
    if (brokerEpoch === null) return
    this.heartbeatInFlight = true
    const inc = this.incarnation
    const image = host.metadataImage(this.id)
    this.callController({
      type: 'broker_heartbeat',
      request: {
        brokerId: this.id,
        brokerEpoch,
        currentMetadataOffset: BigInt(image === null ? -1 : image.offset),
        wantFence: false,
        wantShutdown: this.shuttingDown,
      },
    }, (result) => {
      if (this.incarnation !== inc) return
      this.heartbeatInFlight = false
      this.nextHeartbeatMs = host.clock.nowMs + host.scenario.heartbeatIntervalMs
      if (result.kind !== 'response' || result.response.type !== 'broker_heartbeat') return
      const r = result.response.response
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH.code || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED.code) {
        // Another registration replaced ours (a retried one whose first answer was lost).
        if (host.tracing) host.trace(this.id, `heartbeat refused (error ${r.errorCode}); registering again`)
        this.brokerEpoch = null
        this.nextRegisterMs = host.clock.nowMs
        return
      }
      if (r.errorCode !== 0) return
      if (this.fenced !== r.isFenced && host.tracing) host.trace(this.id, r.isFenced ? 'fenced' : 'unfenced')
      this.fenced = r.isFenced
      if (this.shuttingDown && r.shouldShutDown) {
        if (host.tracing) host.trace(this.id, 'controlled shutdown complete: stopping')
        this.onShutdownComplete(this)
      }
    })
  }

  // ---- periodic work --------------------------------------------------------------------

  private tick(): void {
    const host = this.host
    const s = host.scenario
    const nowMs = host.clock.nowMs
    if (this.brokerEpoch === null && !this.registering && nowMs >= this.nextRegisterMs) this.register()
    if (this.brokerEpoch !== null && !this.heartbeatInFlight && nowMs >= this.nextHeartbeatMs) this.heartbeat()
    for (const [requestId, pending] of this.outstanding) {
      if (pending.kind === 'controller' && nowMs >= pending.call.deadlineMs) {
        this.outstanding.delete(requestId)
        pending.call.done({ kind: 'timeout' })
      }
    }
    for (const r of this.replicas.values()) {
      if (r.state.isLeader) {
        const result = r.state.tick(nowMs)
        if (result.isrChange !== null && host.tracing) host.trace(this.id, `${short(r.key)}: proposes ISR shrink, out of sync [${result.isrChange.kind === 'shrink' ? result.isrChange.outOfSyncReplicaIds.join(',') : ''}]`)
        this.maybeSendAlterPartition(r)
        if (r.purgatory.length > 0) {
          const keep: PendingProduce[] = []
          for (const p of r.purgatory) {
            if (nowMs >= p.deadlineMs) this.respond(p.from, p.requestId, p.tag, { type: 'produce_response', errorCode: ErrorCode.REQUEST_TIMED_OUT.code, baseOffset: -1n })
            else keep.push(p)
          }
          r.purgatory = keep
        }
        this.answerParkedFetches(r, true)
      }
      const f = r.fetcher
      if (f !== null && !r.state.isLeader) {
        if (f.phase === 'backoff' && nowMs >= f.resumeMs) {
          f.phase = f.resumePhase
          this.sendFetcherRequest(r)
        } else if ((f.phase === 'fetching' || f.phase === 'truncating') && f.requestId !== null && nowMs - f.sentMs >= s.fetchTimeoutMs) {
          this.outstanding.delete(f.requestId)
          this.sendFetcherRequest(r)
        } else if ((f.phase === 'fetching' && f.requestId === null) || (f.phase === 'flushing' && !r.log.hasUnflushed)) {
          this.sendFetcherRequest(r)
        }
      }
    }
    if (nowMs >= this.nextCheckpointMs) {
      this.nextCheckpointMs = nowMs + s.checkpointIntervalMs
      for (const r of this.replicas.values()) r.log.writeHighWatermarkCheckpoint(r.state.highWatermark)
    }
    if (host.durability === 'page-cache' && nowMs >= this.nextWritebackMs) {
      this.nextWritebackMs = nowMs + PAGE_CACHE_WRITEBACK_MS
      this.requestFlush()
    }
    if (this.shuttingDown && nowMs - this.shutdownStartedMs >= s.controlledShutdownTimeoutMs) {
      if (host.tracing) host.trace(this.id, 'controlled shutdown timed out: stopping anyway')
      this.onShutdownComplete(this)
    }
  }

  // ---- sending --------------------------------------------------------------------------

  private send(to: NodeId, requestId: number, body: RpcBody): void {
    this.host.send({ from: this.id, to, requestId, body }, this.incarnation)
  }

  private respond(to: NodeId, requestId: number, tag: number, body: RpcBody): void {
    this.host.send({ from: this.id, to, requestId, body }, tag)
  }
}

function metadataOf(p: PartitionRegistration): PartitionMetadata {
  return { leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, replicas: p.replicas, isr: p.isr }
}

/** The controller's answer (or its absence) as PartitionState takes it. */
function alterPartitionAnswer(result: ControllerResult, partition: PartitionKey): AlterPartitionResponse {
  if (result.kind === 'timeout') return { kind: 'outcome_unknown', reason: 'no answer before the deadline' }
  const r = result.response
  if (r.type !== 'alter_partition') return { kind: 'outcome_unknown', reason: `unexpected ${r.type} answer` }
  const body: controller.AlterPartitionResponse = r.response
  if (body.errorCode !== 0) return { kind: 'error', errorCode: body.errorCode }
  const p = body.topics.find((t) => t.topicId === partition.topicId)?.partitions.find((x) => x.partitionId === partition.partitionId)
  if (p === undefined) return { kind: 'outcome_unknown', reason: 'the answer does not name the partition' }
  if (p.errorCode !== 0) return { kind: 'error', errorCode: p.errorCode }
  return { kind: 'committed', leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr as NodeId[] }
}

function describeAlterAnswer(r: AlterPartitionResponse): string {
  switch (r.kind) {
    case 'committed':
      return `committed ISR [${r.isr.join(',')}] partition epoch ${r.partitionEpoch}`
    case 'error':
      return `error ${r.errorCode}`
    case 'outcome_unknown':
      return `unknown (${r.reason})`
  }
}

/** A partition key shortened for the trace. */
export function short(key: string): string {
  const i = key.lastIndexOf('-')
  return `${key.slice(0, 4)}..-${key.slice(i + 1)}`
}
