/**
 * PartitionState: the replication state of one partition on one broker, Kafka's
 * Partition.scala without the log. Pure and synchronous: no I/O, no timers; time comes in as
 * nowMs and every decision goes out as a value for the replica manager to act on.
 *
 * It owns:
 *   - the role (none / leader / follower), the leader epoch and the partition epoch;
 *   - the high watermark, for both roles (a follower learns it from its leader);
 *   - as leader: the ISR state (isr-state.ts: committed, pending expand, pending shrink,
 *     awaiting metadata), each follower's progress (follower-progress.ts), the leader's own
 *     log end and durable end, and the start offset of the current leader epoch.
 *
 * Rules:
 *   - HW = min over the maximal ISR of each replica's acknowledged end, never below the
 *     previous HW. A follower acknowledges its fetch offset (it only fetches from its durable
 *     end). The leader counts with its durable end (durability 'fsync', the default) or its
 *     log end ('page-cache', Kafka's mode). A maximal-ISR follower that has not fetched in
 *     this leader epoch holds the HW where it is.
 *   - Shrink (Kafka's maybeShrinkIsr, on tick): an ISR follower is out of sync when it does
 *     not hold the leader's whole log and now - lastCaughtUpTimeMs > replicaLagTimeMaxMs.
 *     The leader never shrinks itself.
 *   - Expand (Kafka's maybeExpandIsr, on a follower fetch): a replica outside the ISR rejoins
 *     once its fetch offset reaches the HW and the start offset of the current leader epoch
 *     (so it has truncated to this leader's history, KIP-101).
 *   - The leader only asks (AlterPartition with the partition epoch, KIP-497); the controller
 *     decides. At most one request is pending; a proposal waits until it is answered.
 *   - The driver sends each request taken from takeAlterPartitionRequest() once and reports
 *     exactly one answer for it; nothing else is taken until then. A lost
 *     answer is reported as `outcome_unknown`, and the same request is offered again; an
 *     error answer to a retried request cannot prove the first attempt was not applied, so
 *     then the maximal ISR stays as large as the pending change made it until metadata says.
 *
 * Invariants (asserted): the HW never goes back; the HW never exceeds the leader's log end;
 * the leader is in the committed and the maximal ISR; the ISR is a subset of the replicas.
 */
import { assert, type Logger } from '@tributary/metadata-quorum'
import { NO_NODE, type NodeId } from '@tributary/protocol'
import { classifyAlterPartitionError } from './classify-alter-partition-error.js'
import { FollowerProgress, type FollowerProgressView } from './follower-progress.js'
import { maximalIsrOf, pendingRequestOf, type AlterPartitionRequest, type IsrState } from './isr-state.js'

export type Durability = 'fsync' | 'page-cache'

export interface PartitionStateConfig {
  readonly localReplicaId: NodeId
  /** Kafka's replica.lag.time.max.ms. */
  readonly replicaLagTimeMaxMs: number
  /** 'fsync' (the default): a replica counts toward the HW only with what it has fsynced. */
  readonly durability: Durability
}

export interface PartitionStateOptions {
  readonly config: PartitionStateConfig
  readonly logger: Logger
  /** The HW the log starts from (its checkpoint); never more than the log end. */
  readonly highWatermark: bigint
}

export interface BecomeLeaderInput {
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly replicas: readonly NodeId[]
  readonly isr: readonly NodeId[]
  /** The local log end; it becomes the start offset of this leader epoch. */
  readonly logEndOffset: bigint
  /** The local durable end (the log's recovery point). */
  readonly durableEndOffset: bigint
  readonly nowMs: number
}

export type BecomeLeaderResult =
  | { readonly kind: 'became_leader'; readonly leaderEpochStartOffset: bigint; readonly highWatermarkAdvanced: boolean }
  | { readonly kind: 'stale_epoch'; readonly currentLeaderEpoch: number }

export interface BecomeFollowerInput {
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  /** NO_NODE when the partition has no leader. */
  readonly leader: NodeId
  readonly replicas: readonly NodeId[]
  readonly isr: readonly NodeId[]
  /** The latest leader epoch in the local log (leader-epoch cache), null for an empty log. */
  readonly latestLocalEpoch: number | null
}

/** How a new follower finds where its log diverges from the leader's (KIP-101/279). */
export type FollowerTruncation =
  /** Empty log: nothing can diverge; fetch from the log end. */
  | { readonly kind: 'none' }
  /**
   * Send OffsetsForLeaderEpoch(currentLeaderEpoch, leaderEpoch = latestLocalEpoch) to the
   * leader and truncate to min(the returned end offset, the local end offset for the epoch
   * returned), before the first fetch.
   */
  | { readonly kind: 'offsets_for_leader_epoch'; readonly currentLeaderEpoch: number; readonly leaderEpoch: number }

export type BecomeFollowerResult =
  | { readonly kind: 'fetch_from_leader'; readonly leader: NodeId; readonly leaderEpoch: number; readonly truncation: FollowerTruncation }
  | { readonly kind: 'no_leader'; readonly leaderEpoch: number }
  /** Same leader and leader epoch as before: keep fetching; only the ISR/partition epoch changed. */
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'stale_epoch'; readonly currentLeaderEpoch: number }

export interface FollowerFetch {
  readonly replicaId: NodeId
  /** The follower's durable log end: it acknowledges every record before it. */
  readonly fetchOffset: bigint
  readonly brokerEpoch?: bigint
  readonly nowMs: number
  /**
   * Whether the follower may join the ISR now, as far as the leader's metadata knows (Kafka's
   * Partition.isReplicaIsrEligible: registered, not fenced, not shutting down, fetching with its
   * current broker epoch). Default true. An ineligible follower is not proposed: the controller
   * would refuse it (INELIGIBLE_REPLICA), and re-proposing on every fetch floods it.
   */
  readonly isrEligible?: boolean
}

export type IsrChangeProposal =
  | { readonly kind: 'expand'; readonly replicaId: NodeId; readonly request: AlterPartitionRequest }
  | { readonly kind: 'shrink'; readonly outOfSyncReplicaIds: readonly NodeId[]; readonly request: AlterPartitionRequest }

export type FollowerFetchResult =
  | { readonly kind: 'ok'; readonly highWatermark: bigint; readonly highWatermarkAdvanced: boolean; readonly isrChange: IsrChangeProposal | null }
  | { readonly kind: 'not_leader' }
  | { readonly kind: 'unknown_replica' }
  | { readonly kind: 'offset_out_of_range'; readonly logEndOffset: bigint }

export interface TickResult {
  readonly isrChange: IsrChangeProposal | null
}

export type AlterPartitionResponse =
  | { readonly kind: 'committed'; readonly leaderEpoch: number; readonly partitionEpoch: number; readonly isr: readonly NodeId[] }
  /** The controller answered with an error code. */
  | { readonly kind: 'error'; readonly errorCode: number }
  /** No answer (timeout, transport failure): the request may or may not have been applied. */
  | { readonly kind: 'outcome_unknown'; readonly reason: string }

export type AlterPartitionOutcome =
  | { readonly kind: 'applied'; readonly isr: readonly NodeId[]; readonly highWatermarkAdvanced: boolean }
  /** The answer is for a request that is no longer pending, or older than what we know. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** Refused and not applied: the pending change is dropped. */
  | { readonly kind: 'dropped'; readonly awaitingMetadata: boolean }
  /** Outcome unknown: takeAlterPartitionRequest() offers the same request again. */
  | { readonly kind: 'retry' }
  /** Outcome unknown and not retriable: the maximal ISR stays as is until metadata arrives. */
  | { readonly kind: 'awaiting_metadata' }

/** A partition registration as the metadata image holds it. */
export interface PartitionMetadata {
  readonly leader: NodeId
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly replicas: readonly NodeId[]
  readonly isr: readonly NodeId[]
}

export type MetadataUpdateResult =
  | { readonly kind: 'applied'; readonly highWatermarkAdvanced: boolean }
  | { readonly kind: 'stale' }
  /** Leader or leader epoch changed: call becomeLeader or becomeFollower instead. */
  | { readonly kind: 'role_change_required' }

export type AcksAllAdmission =
  | { readonly kind: 'ok' }
  | { readonly kind: 'not_leader' }
  | { readonly kind: 'not_enough_replicas'; readonly isrSize: number; readonly minInsyncReplicas: number }

export type PartitionRole = 'none' | 'leader' | 'follower'

export interface PartitionStateView {
  readonly role: PartitionRole
  readonly leader: NodeId
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly highWatermark: bigint
  readonly replicas: readonly NodeId[]
  readonly isr: readonly NodeId[]
  readonly maximalIsr: readonly NodeId[]
  readonly isrState: IsrState['kind'] | null
  readonly logEndOffset: bigint | null
  readonly durableEndOffset: bigint | null
  readonly leaderEpochStartOffset: bigint | null
  readonly followers: readonly FollowerProgressView[]
}

/** Everything that only exists while this replica leads. */
interface LeaderState {
  logEndOffset: bigint
  durableEndOffset: bigint
  readonly leaderEpochStartOffset: bigint
  isrState: IsrState
  /** How often the pending request has been handed to the driver. */
  requestAttempts: number
  readonly followers: Map<NodeId, FollowerProgress>
}

export class PartitionState {
  private readonly config: PartitionStateConfig
  private readonly logger: Logger
  private role: PartitionRole = 'none'
  private leader: NodeId = NO_NODE
  private leaderEpoch = -1
  private partitionEpoch = -1
  private replicas: readonly NodeId[] = []
  private committedIsr: readonly NodeId[] = []
  private hw: bigint
  private leaderState: LeaderState | null = null
  /** The AlterPartition request handed to the driver and not answered yet. */
  private outstanding: AlterPartitionRequest | null = null

  constructor(options: PartitionStateOptions) {
    assert(options.highWatermark >= 0n, `initial high watermark ${options.highWatermark} is negative`)
    assert(options.config.replicaLagTimeMaxMs > 0, 'replicaLagTimeMaxMs must be positive')
    this.config = options.config
    this.logger = options.logger
    this.hw = options.highWatermark
  }

  get highWatermark(): bigint {
    return this.hw
  }

  get isLeader(): boolean {
    return this.role === 'leader'
  }

  /** The committed ISR, as the last metadata or AlterPartition answer said. */
  get isr(): readonly NodeId[] {
    return this.leaderState === null ? this.committedIsr : this.leaderState.isrState.isr
  }

  /** The ISR the HW and acks=all wait for; the committed ISR when not leading. */
  get maximalIsr(): readonly NodeId[] {
    return this.leaderState === null ? this.committedIsr : maximalIsrOf(this.leaderState.isrState)
  }

  // ---------------------------------------------------------------------------- transitions

  becomeLeader(input: BecomeLeaderInput): BecomeLeaderResult {
    if (input.leaderEpoch <= this.leaderEpoch) return { kind: 'stale_epoch', currentLeaderEpoch: this.leaderEpoch }
    const local = this.config.localReplicaId
    checkAssignment(input.replicas, input.isr)
    assert(input.replicas.includes(local), `leader ${local} is not a replica of [${input.replicas.join(',')}]`)
    assert(input.isr.includes(local), `leader ${local} is not in the ISR [${input.isr.join(',')}]`)
    assert(input.durableEndOffset >= 0n && input.durableEndOffset <= input.logEndOffset, `durable end ${input.durableEndOffset} outside [0, log end ${input.logEndOffset}]`)
    // A replica only ever learns an HW its own log holds (min(leader HW, own end)), and KIP-101
    // truncation never goes below a committed offset; an HW beyond the log means lost data.
    assert(this.hw <= input.logEndOffset, `high watermark ${this.hw} is beyond the log end ${input.logEndOffset} on becoming leader`)

    const followers = new Map<NodeId, FollowerProgress>()
    for (const id of input.replicas) {
      if (id !== local) followers.set(id, new FollowerProgress(id, input.isr.includes(id), input.nowMs))
    }
    this.role = 'leader'
    this.leader = local
    this.leaderEpoch = input.leaderEpoch
    this.partitionEpoch = input.partitionEpoch
    this.replicas = input.replicas.slice()
    this.committedIsr = input.isr.slice()
    this.leaderState = {
      logEndOffset: input.logEndOffset,
      durableEndOffset: input.durableEndOffset,
      leaderEpochStartOffset: input.logEndOffset,
      isrState: { kind: 'committed', isr: this.committedIsr },
      requestAttempts: 0,
      followers,
    }
    this.logger.info({ leaderEpoch: input.leaderEpoch, partitionEpoch: input.partitionEpoch, isr: input.isr, leaderEpochStartOffset: String(input.logEndOffset), highWatermark: String(this.hw) }, 'became leader')
    // A single-replica ISR can commit at once.
    const highWatermarkAdvanced = this.maybeAdvanceHighWatermark()
    return { kind: 'became_leader', leaderEpochStartOffset: input.logEndOffset, highWatermarkAdvanced }
  }

  becomeFollower(input: BecomeFollowerInput): BecomeFollowerResult {
    if (input.leaderEpoch < this.leaderEpoch) return { kind: 'stale_epoch', currentLeaderEpoch: this.leaderEpoch }
    assert(input.leader !== this.config.localReplicaId, 'becomeFollower names this replica as the leader')
    checkAssignment(input.replicas, input.isr)
    if (input.leaderEpoch === this.leaderEpoch) {
      // Same epoch: the leader cannot have changed (every leader change bumps the epoch).
      assert(this.role === 'follower' && input.leader === this.leader, `leader epoch ${input.leaderEpoch} reused for a different leader or role`)
      if (input.partitionEpoch > this.partitionEpoch) {
        this.partitionEpoch = input.partitionEpoch
        this.replicas = input.replicas.slice()
        this.committedIsr = input.isr.slice()
      }
      return { kind: 'unchanged' }
    }
    this.role = 'follower'
    this.leader = input.leader
    this.leaderEpoch = input.leaderEpoch
    this.partitionEpoch = input.partitionEpoch
    this.replicas = input.replicas.slice()
    this.committedIsr = input.isr.slice()
    this.leaderState = null
    this.logger.info({ leader: input.leader, leaderEpoch: input.leaderEpoch, partitionEpoch: input.partitionEpoch }, 'became follower')
    if (input.leader === NO_NODE) return { kind: 'no_leader', leaderEpoch: input.leaderEpoch }
    const truncation: FollowerTruncation =
      input.latestLocalEpoch === null
        ? { kind: 'none' }
        : { kind: 'offsets_for_leader_epoch', currentLeaderEpoch: input.leaderEpoch, leaderEpoch: input.latestLocalEpoch }
    return { kind: 'fetch_from_leader', leader: input.leader, leaderEpoch: input.leaderEpoch, truncation }
  }

  /** A follower learns the HW from its leader's fetch responses (Kafka's maybeUpdateHighWatermark). */
  onFollowerHighWatermark(leaderHighWatermark: bigint, logEndOffset: bigint): boolean {
    assert(this.role === 'follower', 'a follower HW update reached a replica that is not a follower')
    const candidate = leaderHighWatermark < logEndOffset ? leaderHighWatermark : logEndOffset
    if (candidate <= this.hw) return false
    this.hw = candidate
    return true
  }

  // ---------------------------------------------------------------------------- leader inputs

  /** The leader appended: its log now ends at logEndOffset. */
  onLeaderLogAppend(logEndOffset: bigint): { readonly highWatermarkAdvanced: boolean } {
    const leader = this.requireLeader('onLeaderLogAppend')
    assert(logEndOffset >= leader.logEndOffset, `leader log end went back from ${leader.logEndOffset} to ${logEndOffset}`)
    leader.logEndOffset = logEndOffset
    return { highWatermarkAdvanced: this.config.durability === 'page-cache' && this.maybeAdvanceHighWatermark() }
  }

  /** The leader's fsync completed: everything below durableEndOffset is on disk. */
  onLeaderFlushed(durableEndOffset: bigint): { readonly highWatermarkAdvanced: boolean } {
    const leader = this.requireLeader('onLeaderFlushed')
    assert(durableEndOffset <= leader.logEndOffset, `durable end ${durableEndOffset} is beyond the log end ${leader.logEndOffset}`)
    // Flushes can complete out of order with respect to one another; keep the largest.
    if (durableEndOffset > leader.durableEndOffset) leader.durableEndOffset = durableEndOffset
    return { highWatermarkAdvanced: this.maybeAdvanceHighWatermark() }
  }

  /**
   * A follower fetched. Call after the fetch was validated and served (Kafka's
   * updateFollowerFetchState): the offset is checked again here and refused as a value.
   */
  onFollowerFetch(fetch: FollowerFetch): FollowerFetchResult {
    const leader = this.leaderState
    if (this.role !== 'leader' || leader === null) return { kind: 'not_leader' }
    const progress = leader.followers.get(fetch.replicaId)
    if (progress === undefined) return { kind: 'unknown_replica' }
    if (fetch.fetchOffset < 0n || fetch.fetchOffset > leader.logEndOffset) return { kind: 'offset_out_of_range', logEndOffset: leader.logEndOffset }
    progress.recordFetch(fetch.fetchOffset, leader.logEndOffset, fetch.nowMs, fetch.brokerEpoch ?? null)
    const isrChange = fetch.isrEligible === false ? null : this.maybeExpandIsr(progress)
    const highWatermarkAdvanced = this.maybeAdvanceHighWatermark()
    return { kind: 'ok', highWatermark: this.hw, highWatermarkAdvanced, isrChange }
  }

  /** Periodic check (Kafka runs it every replicaLagTimeMaxMs / 2): shrink lagging followers. */
  tick(nowMs: number): TickResult {
    const leader = this.leaderState
    if (this.role !== 'leader' || leader === null || leader.isrState.kind !== 'committed') return { isrChange: null }
    const isr = leader.isrState.isr
    const outOfSync = isr.filter((id) => {
      if (id === this.config.localReplicaId) return false
      const progress = leader.followers.get(id)
      assert(progress !== undefined, `ISR member ${id} has no follower progress`)
      return !progress.isCaughtUp(leader.logEndOffset, nowMs, this.config.replicaLagTimeMaxMs)
    })
    if (outOfSync.length === 0) return { isrChange: null }
    const request = this.buildRequest(isr.filter((id) => !outOfSync.includes(id)))
    leader.isrState = { kind: 'pending_shrink', isr, outOfSyncReplicaIds: outOfSync, request }
    leader.requestAttempts = 0
    this.logger.info({ outOfSync, newIsr: request.newIsr, partitionEpoch: this.partitionEpoch }, 'proposed ISR shrink')
    return { isrChange: { kind: 'shrink', outOfSyncReplicaIds: outOfSync, request } }
  }

  /**
   * The AlterPartition request to send now, if any. Each attempt is handed out once, and
   * nothing more until it is answered, even if metadata or a new leader epoch has superseded
   * it meanwhile: at most one request per partition is ever on the wire.
   */
  takeAlterPartitionRequest(): AlterPartitionRequest | null {
    const leader = this.leaderState
    if (leader === null || this.outstanding !== null) return null
    const request = pendingRequestOf(leader.isrState)
    if (request === null) return null
    this.outstanding = request
    leader.requestAttempts += 1
    return request
  }

  /**
   * The answer to `request`, the one takeAlterPartitionRequest() returned. The driver must
   * report exactly one answer per request taken (`outcome_unknown` after its deadline).
   */
  onAlterPartitionResponse(request: AlterPartitionRequest, response: AlterPartitionResponse): AlterPartitionOutcome {
    if (request !== this.outstanding) return { kind: 'ignored', reason: 'not the request on the wire' }
    this.outstanding = null
    const leader = this.leaderState
    if (leader === null || pendingRequestOf(leader.isrState) !== request) {
      return { kind: 'ignored', reason: 'superseded by metadata or a new leader epoch' }
    }
    const state = leader.isrState
    assert(state.kind === 'pending_expand' || state.kind === 'pending_shrink', 'a pending request without a pending state')
    switch (response.kind) {
      case 'committed': {
        if (response.leaderEpoch !== this.leaderEpoch || response.partitionEpoch <= this.partitionEpoch) {
          // Metadata would have replaced the pending state had it moved on, so this answer
          // contradicts what we know: keep the maximal ISR and let metadata settle it.
          this.logger.warn({ leaderEpoch: response.leaderEpoch, partitionEpoch: response.partitionEpoch }, 'ignored a stale AlterPartition answer')
          this.awaitMetadata(leader, maximalIsrOf(state), 'stale AlterPartition answer')
          return { kind: 'awaiting_metadata' }
        }
        if (!response.isr.includes(this.config.localReplicaId) || !response.isr.every((id) => this.replicas.includes(id))) {
          // The controller never commits such an ISR for a sitting leader; trust metadata instead.
          this.logger.warn({ isr: response.isr }, 'ignored an AlterPartition answer with an impossible ISR')
          this.awaitMetadata(leader, maximalIsrOf(state), 'impossible AlterPartition answer')
          return { kind: 'awaiting_metadata' }
        }
        this.commitIsr(leader, response.isr, response.partitionEpoch)
        this.logger.info({ isr: response.isr, partitionEpoch: response.partitionEpoch }, 'committed ISR change')
        return { kind: 'applied', isr: response.isr.slice(), highWatermarkAdvanced: this.maybeAdvanceHighWatermark() }
      }
      case 'error': {
        const errorClass = classifyAlterPartitionError(response.errorCode)
        // Only INELIGIBLE_REPLICA / OPERATION_NOT_ATTEMPTED / STALE_BROKER_EPOCH prove that
        // nothing was applied: the controller checked the partition epoch first and found it
        // current. A stale-view refusal (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, ...)
        // proves nothing, even on what this state counts as a first attempt: the channel may
        // have resent the request to a new controller after the old one committed it and lost
        // leadership (NOT_CONTROLLER), and then the resend is refused *because* the change
        // applied. Dropping the pending expand there let the HW advance without a member of the
        // committed ISR (replication simulator, seed 9289); as Kafka's handleAlterPartitionError,
        // the maximal ISR stays as large as the pending change made it until metadata says.
        if (errorClass === 'not_applied_retry') {
          this.resetToCommitted(leader, state.isr)
          this.logger.info({ errorCode: response.errorCode }, 'dropped pending ISR change')
          return { kind: 'dropped', awaitingMetadata: false }
        }
        this.awaitMetadata(leader, maximalIsrOf(state), `AlterPartition error ${response.errorCode}, outcome unknown`)
        this.logger.info({ errorCode: response.errorCode }, 'awaiting metadata for ISR change')
        return { kind: 'awaiting_metadata' }
      }
      case 'outcome_unknown':
        this.logger.debug({ reason: response.reason }, 'AlterPartition outcome unknown, will resend')
        return { kind: 'retry' }
    }
  }

  /**
   * A partition registration from the metadata log. Same leader and leader epoch: take the
   * ISR and partition epoch (this supersedes any pending change: the committed state is now
   * known). A different leader or leader epoch needs becomeLeader / becomeFollower.
   */
  onMetadataUpdate(record: PartitionMetadata, nowMs: number): MetadataUpdateResult {
    if (record.leaderEpoch < this.leaderEpoch) return { kind: 'stale' }
    if (record.leaderEpoch > this.leaderEpoch || record.leader !== this.leader || this.role === 'none') return { kind: 'role_change_required' }
    if (record.partitionEpoch <= this.partitionEpoch) return { kind: 'stale' }
    checkAssignment(record.replicas, record.isr)
    const leader = this.leaderState
    if (leader === null) {
      this.partitionEpoch = record.partitionEpoch
      this.replicas = record.replicas.slice()
      this.committedIsr = record.isr.slice()
      return { kind: 'applied', highWatermarkAdvanced: false }
    }
    const local = this.config.localReplicaId
    assert(record.isr.includes(local) && record.replicas.includes(local), `metadata keeps leader ${local} at epoch ${record.leaderEpoch} but drops it from the ISR or replicas`)
    this.replicas = record.replicas.slice()
    // Reassignment: track new replicas from now; forget removed ones.
    for (const id of record.replicas) {
      if (id !== local && !leader.followers.has(id)) leader.followers.set(id, new FollowerProgress(id, record.isr.includes(id), nowMs))
    }
    for (const id of [...leader.followers.keys()]) if (!record.replicas.includes(id)) leader.followers.delete(id)
    this.commitIsr(leader, record.isr, record.partitionEpoch)
    this.logger.info({ isr: record.isr, partitionEpoch: record.partitionEpoch }, 'took ISR from metadata')
    return { kind: 'applied', highWatermarkAdvanced: this.maybeAdvanceHighWatermark() }
  }

  // ---------------------------------------------------------------------------- produce

  /** Whether an acks=all produce whose last offset is `lastOffset` can be answered. */
  acksAllReady(lastOffset: bigint): boolean {
    return this.role === 'leader' && this.hw > lastOffset
  }

  /** Checked before appending an acks=all produce; the committed ISR counts (Kafka). */
  canAcceptAcksAll(minInsyncReplicas: number): AcksAllAdmission {
    if (this.role !== 'leader' || this.leaderState === null) return { kind: 'not_leader' }
    const isrSize = this.leaderState.isrState.isr.length
    if (isrSize < minInsyncReplicas) return { kind: 'not_enough_replicas', isrSize, minInsyncReplicas }
    return { kind: 'ok' }
  }

  view(): PartitionStateView {
    const leader = this.leaderState
    return {
      role: this.role,
      leader: this.leader,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.partitionEpoch,
      highWatermark: this.hw,
      replicas: this.replicas,
      isr: this.isr,
      maximalIsr: this.maximalIsr,
      isrState: leader === null ? null : leader.isrState.kind,
      logEndOffset: leader === null ? null : leader.logEndOffset,
      durableEndOffset: leader === null ? null : leader.durableEndOffset,
      leaderEpochStartOffset: leader === null ? null : leader.leaderEpochStartOffset,
      followers: leader === null ? [] : [...leader.followers.values()].map((f) => f.view()),
    }
  }

  // ---------------------------------------------------------------------------- internals

  private requireLeader(what: string): LeaderState {
    assert(this.role === 'leader' && this.leaderState !== null, `${what} on a replica that is not the leader`)
    return this.leaderState
  }

  private buildRequest(newIsr: readonly NodeId[]): AlterPartitionRequest {
    const leader = this.requireLeader('buildRequest')
    const brokerEpochs = new Map<NodeId, bigint>()
    for (const id of newIsr) {
      const epoch = leader.followers.get(id)?.brokerEpoch
      if (epoch !== undefined && epoch !== null) brokerEpochs.set(id, epoch)
    }
    return { leaderEpoch: this.leaderEpoch, partitionEpoch: this.partitionEpoch, newIsr: newIsr.slice(), brokerEpochs }
  }

  private maybeExpandIsr(progress: FollowerProgress): IsrChangeProposal | null {
    const leader = this.requireLeader('maybeExpandIsr')
    if (leader.isrState.kind !== 'committed') return null
    const isr = leader.isrState.isr
    if (isr.includes(progress.replicaId)) return null
    const end = progress.acknowledgedEndOffset
    // KIP-101: past the current epoch's start offset, the follower has this leader's history.
    if (end === null || end < this.hw || end < leader.leaderEpochStartOffset) return null
    const request = this.buildRequest([...isr, progress.replicaId])
    leader.isrState = { kind: 'pending_expand', isr, newReplicaId: progress.replicaId, request }
    leader.requestAttempts = 0
    this.logger.info({ replicaId: progress.replicaId, newIsr: request.newIsr, partitionEpoch: this.partitionEpoch }, 'proposed ISR expand')
    return { kind: 'expand', replicaId: progress.replicaId, request }
  }

  private commitIsr(leader: LeaderState, isr: readonly NodeId[], partitionEpoch: number): void {
    assert(partitionEpoch > this.partitionEpoch, `partition epoch ${partitionEpoch} does not follow ${this.partitionEpoch}`)
    this.partitionEpoch = partitionEpoch
    this.resetToCommitted(leader, isr)
  }

  private resetToCommitted(leader: LeaderState, isr: readonly NodeId[]): void {
    this.committedIsr = isr.slice()
    leader.isrState = { kind: 'committed', isr: this.committedIsr }
    leader.requestAttempts = 0
  }

  private awaitMetadata(leader: LeaderState, maximalIsr: readonly NodeId[], reason: string): void {
    const isr = leader.isrState.isr
    leader.isrState = { kind: 'awaiting_metadata', isr, maximalIsr: maximalIsr.slice(), reason }
    leader.requestAttempts = 0
  }

  /** HW = min over the maximal ISR of acknowledged ends; only ever moves forward. */
  private maybeAdvanceHighWatermark(): boolean {
    const leader = this.requireLeader('maybeAdvanceHighWatermark')
    let candidate = this.config.durability === 'fsync' ? leader.durableEndOffset : leader.logEndOffset
    for (const id of maximalIsrOf(leader.isrState)) {
      if (id === this.config.localReplicaId) continue
      const progress = leader.followers.get(id)
      assert(progress !== undefined, `maximal ISR member ${id} has no follower progress`)
      const end = progress.acknowledgedEndOffset
      // Not fetched yet in this leader epoch: nothing is known to be on it.
      if (end === null) return false
      if (end < candidate) candidate = end
    }
    if (candidate <= this.hw) return false
    assert(candidate <= leader.logEndOffset, `high watermark ${candidate} would pass the log end ${leader.logEndOffset}`)
    this.logger.debug({ from: String(this.hw), to: String(candidate) }, 'high watermark advanced')
    this.hw = candidate
    return true
  }
}

function checkAssignment(replicas: readonly NodeId[], isr: readonly NodeId[]): void {
  assert(new Set(replicas).size === replicas.length, `replicas [${replicas.join(',')}] repeat a node`)
  assert(new Set(isr).size === isr.length, `ISR [${isr.join(',')}] repeats a node`)
  assert(isr.every((id) => replicas.includes(id)), `ISR [${isr.join(',')}] is not a subset of replicas [${replicas.join(',')}]`)
}
