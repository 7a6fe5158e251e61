/**
 * RaftCore: the pure, pull-based Raft of the metadata quorum (KIP-595, with pre-vote from
 * KIP-996 and FetchSnapshot from KIP-630), in the shape of Kafka's KafkaRaftClient +
 * QuorumState and etcd-raft's Ready loop.
 *
 * Owns: the hard state (epoch, votedFor, leaderId), the in-memory log, the high watermark,
 * which committed entries were handed out, and the volatile state of the current role.
 * Inputs queue output; ready() hands it out (persist, then send, then apply); advance()
 * says it is durable. Synchronous and deterministic: time is nowMs, randomness is `random`.
 *
 * Roles and every legal transition (all changes go through transitionTo*):
 *
 *   any role        -> unattached   a message carries a higher epoch and names no leader
 *   any role        -> follower     a message carries a higher epoch and names the leader, or
 *                                   our epoch's leader becomes known (BeginQuorumEpoch, hints)
 *   unattached      -> prospective  election timeout (voters only)
 *   voted           -> prospective  election timeout
 *   follower        -> prospective  no successful fetch for fetchTimeoutMs (plus a random
 *                                   delay), EndQuorumEpoch, or the leader reported
 *                                   unreachable (voters only)
 *   unattached,
 *   prospective     -> voted        we grant a standard vote in our epoch (Raft §5.2)
 *   prospective     -> candidate    a majority granted the pre-vote (KIP-996); epoch + 1
 *   prospective     -> follower     the round ended and our epoch's leader is known
 *   prospective     -> prospective  the round ended (timeout, or lost + backoff); new round
 *   candidate       -> leader       a majority granted the vote
 *   candidate       -> prospective  the round ended (timeout, or lost + backoff)
 *   leader          -> resigned     resign() or check-quorum failed; EndQuorumEpoch is sent
 *   resigned        -> prospective  its election timeout passed and nobody took over
 *   follower        -> unattached   observers only: the leader went silent; find it again
 *   (start-up)      -> unattached | voted | candidate | follower | resigned, from HardState
 *
 * Observers (not in config.voters) are only ever unattached or follower; they never vote.
 * A voter at RAFT_LIMITS.epochMax never becomes prospective: it logs an error and stays.
 *
 * Peer input is not trusted (sender ids ride in request bodies, unauthenticated): only
 * voters move our epoch through a request (Fetch and FetchSnapshot from a non-voter with a
 * higher epoch get UNKNOWN_LEADER_EPOCH, Kafka's validateLeaderOnlyRequest); responses come
 * only from voters (we ask no one else); nothing above RAFT_LIMITS.epochMax is accepted; and
 * a message that contradicts what we know (a second leader for our epoch, a divergence below
 * our high watermark, a snapshot from a later epoch than the leader's) is answered with an
 * error or ignored, and logged. Asserts guard only our own invariants.
 *
 * Safety rules, each asserted where it is enforced:
 * - Epoch never decreases; within an epoch votedFor and (for voters) leaderId are set once.
 * - A grant and the hardState recording it leave in the same Ready (persist before send).
 * - The high watermark never decreases; a leader only moves it to o when a majority of voters
 *   have end offset >= o and the entry at o - 1 is of its own epoch (Raft §5.4.2).
 * - A follower never truncates below its high watermark; committed entries go out once each,
 *   in offset order (a received snapshot may jump over some; applySnapshot covers them).
 * - No entry or snapshot has an epoch above the hard state's (entries come from our own
 *   epoch's leader; an offered snapshot above the leader's epoch is refused). A disk found
 *   otherwise at start-up holds a half-persisted Ready: the log's epoch is adopted, no vote.
 * - The epoch never passes RAFT_LIMITS.epochMax.
 */
import type { NodeId } from '@tributary/protocol'
import { UNKNOWN_HIGH_WATERMARK, isRequest } from './types.js'
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  Epoch,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  HardState,
  Offset,
  PersistentState,
  ProposeResult,
  RaftBody,
  RaftConfig,
  RaftEntry,
  RaftMessage,
  RaftStatus,
  Ready,
  ReplicaProgress,
  Snapshot,
  SnapshotId,
  VoteRequest,
  VoteResponse,
} from './types.js'
import type {
  ElectionState,
  FollowerState,
  LeaderState,
  ParkedFetch,
  ReplicaTracker,
  RoleState,
  UnattachedState,
} from './role-state.js'
import { RaftLog } from './raft-log.js'
import { RAFT_LIMITS } from './raft-limits.js'
import { RaftErrorCode } from './raft-error-codes.js'
import { majorityOffset, majoritySize } from './majority-offset.js'
import { assert } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import { randomInt, type Random } from '../util/random.js'

/** Output gathered since the last ready(). */
interface PendingOutput {
  snapshot: Snapshot | null
  truncateFrom: Offset | null
  entries: RaftEntry[]
  messages: RaftMessage[]
  applySnapshot: Snapshot | null
}

/** A Ready handed out and not yet advanced, with the log end it made durable. */
interface InflightReady {
  readonly ready: Ready
  /** Log end when the Ready was cut, lowered by any truncation since. */
  durableEnd: Offset
}

type FetchValidation =
  | { readonly kind: 'valid' }
  | { readonly kind: 'snapshot'; readonly id: SnapshotId }
  | { readonly kind: 'diverging'; readonly epoch: Epoch; readonly endOffset: Offset }

function emptyPending(): PendingOutput {
  return { snapshot: null, truncateFrom: null, entries: [], messages: [], applySnapshot: null }
}

function sameId(a: SnapshotId, b: SnapshotId): boolean {
  return a.endOffset === b.endOffset && a.epoch === b.epoch
}

/** The epoch a message would move us to: the sender's epoch. */
function claimedEpoch(body: RaftBody): Epoch {
  switch (body.type) {
    case 'vote_request': return body.candidateEpoch
    case 'begin_quorum_epoch_request':
    case 'end_quorum_epoch_request': return body.leaderEpoch
    case 'fetch_request':
    case 'fetch_snapshot_request': return body.replicaEpoch
    default: return body.epoch
  }
}

export class RaftCore {
  readonly nodeId: NodeId
  private readonly config: RaftConfig
  private readonly voters: readonly NodeId[]
  private readonly isVoter: boolean
  private readonly random: Random
  private readonly logger: Logger

  private hard: HardState
  /** hard changed since the last ready(). */
  private hardDirty = false
  private readonly log: RaftLog
  /** The latest snapshot (its id equals log.snapshotId), kept to serve FetchSnapshot. */
  private snapshot: Snapshot | null
  /** Entries below are committed. Never decreases. */
  private highWatermark: Offset
  /** Entries below were handed out in Ready.committed (or covered by a snapshot). */
  private appliedEnd: Offset
  /**
   * Entries below are durable AND equal to the in-memory log (a truncation lowers it at
   * once, an advance() raises it). The leader counts itself with this, never with log end.
   */
  private stableEnd: Offset
  private state: RoleState
  private nowMs: number
  private nextRequestId: number

  private pending: PendingOutput = emptyPending()
  private readonly inflight: InflightReady[] = []

  constructor(config: RaftConfig, persisted: PersistentState, random: Random, logger: Logger, nowMs: number) {
    assert(config.voters.length > 0, 'the voter set is empty')
    assert(new Set(config.voters).size === config.voters.length, 'the voter set has duplicates')
    assert(config.fetchMaxWaitMs < config.fetchTimeoutMs, 'fetchMaxWaitMs must be below fetchTimeoutMs')
    this.nodeId = config.nodeId
    this.config = config
    this.voters = [...config.voters]
    this.isVoter = config.voters.includes(config.nodeId)
    this.random = random
    this.logger = logger
    this.nowMs = nowMs
    // Random start so a restarted node does not reuse the request ids of its past life.
    this.nextRequestId = randomInt(random, 1 << 30) + 1

    const snap = persisted.snapshot
    this.snapshot = snap
    this.log = new RaftLog(snap?.id ?? null, persisted.entries)
    // After a restart nothing is known to be committed beyond the snapshot; a leader (or
    // our own leadership) will tell. Until then nothing is handed out.
    this.highWatermark = this.log.startOffset
    this.appliedEnd = this.log.startOffset
    this.stableEnd = this.log.endOffset

    if (persisted.hardState.epoch > RAFT_LIMITS.epochMax) {
      logger.error({ epoch: persisted.hardState.epoch, epochMax: RAFT_LIMITS.epochMax }, 'hard state epoch above the epoch limit; this node will stand for no election')
    }
    if (this.log.lastEpoch > persisted.hardState.epoch) {
      // The log (or snapshot) of a Ready became durable and its hard state did not: a crash
      // inside a persist that wrote them in the wrong order. Adopting the log's epoch with no
      // vote and no leader is safe: a vote leaves only after the hard state recording it is
      // durable (persist before send), so no vote of that epoch ever left this node, and the
      // leader is learned again. It goes to disk in the first Ready (hardDirty).
      logger.warn(
        { logEpoch: this.log.lastEpoch, hardState: persisted.hardState },
        'log epoch above the hard state epoch; adopting it with no vote and no leader',
      )
      this.hard = { epoch: this.log.lastEpoch, votedFor: null, leaderId: null }
      this.hardDirty = true
    } else {
      this.hard = persisted.hardState
    }
    const hs = this.hard
    this.state = this.unattachedState()

    if (!this.isVoter) {
      if (hs.leaderId !== null && this.voters.includes(hs.leaderId)) this.transitionToFollower(hs.epoch, hs.leaderId)
      else this.transitionToUnattached(hs.epoch)
    } else if (hs.leaderId === this.nodeId) {
      // We led this epoch before the restart; the volatile leader state is gone. Resign so
      // the others elect at once (Kafka does the same), still serving fetches meanwhile.
      this.transitionToResigned(this.freshLeaderState('resigned'))
    } else if (hs.leaderId !== null) {
      // A recorded leader that is no longer a voter (config changed) is not followed.
      if (this.voters.includes(hs.leaderId)) this.transitionToFollower(hs.epoch, hs.leaderId)
      else this.transitionToUnattached(hs.epoch)
    } else if (hs.votedFor === this.nodeId) {
      this.transitionToCandidateAfterRestart()
    } else if (hs.votedFor !== null) {
      this.transitionToVoted(hs.votedFor)
    } else {
      this.transitionToUnattached(hs.epoch)
    }
    // A single-voter quorum needs nobody: elect ourselves at once.
    // (Read through a method: TypeScript narrowed `this.state` at the assignment above.)
    if (this.isVoter && this.voters.length === 1 && this.currentRole() !== 'leader') this.transitionToProspective()
  }

  // ---- Inputs ---------------------------------------------------------------------------

  tick(nowMs: number): void {
    this.nowMs = nowMs
    const s = this.state
    switch (s.role) {
      case 'unattached':
        if (this.isVoter) {
          if (nowMs >= s.electionDeadlineMs) this.transitionToProspective()
        } else {
          if (s.probe !== null && nowMs - s.probe.sentMs >= this.config.requestTimeoutMs) s.probe = null
          if (s.probe === null && nowMs >= s.probeRetryAtMs) this.sendProbe(s)
        }
        return
      case 'voted':
        if (nowMs >= s.electionDeadlineMs) this.transitionToProspective()
        return
      case 'prospective':
      case 'candidate':
        if (nowMs >= s.deadlineMs) this.endElectionRound(s)
        return
      case 'follower':
        this.tickFollower(s)
        return
      case 'leader':
      case 'resigned':
        this.tickLeader(s)
        return
    }
  }

  receive(message: RaftMessage, nowMs: number): void {
    this.nowMs = nowMs
    if (message.to !== this.nodeId || message.from === this.nodeId) return
    const body = message.body
    const epoch = claimedEpoch(body)
    if (epoch > RAFT_LIMITS.epochMax) {
      // The codec rejects these too; this keeps the core safe behind any transport.
      this.logger.error({ from: message.from, type: body.type, epoch, epochMax: RAFT_LIMITS.epochMax }, 'message above the epoch limit; dropped')
      return
    }
    if (!isRequest(body) && !this.voters.includes(message.from)) {
      // We send requests to voters only, so this answers nothing of ours.
      this.logger.warn({ from: message.from, type: body.type }, 'response from a non-voter; dropped')
      return
    }
    switch (body.type) {
      case 'vote_request': return this.onVoteRequest(message, body)
      case 'vote_response': return this.onVoteResponse(message, body)
      case 'begin_quorum_epoch_request': return this.onBeginQuorumEpochRequest(message, body)
      case 'begin_quorum_epoch_response': return this.onBeginQuorumEpochResponse(message, body)
      case 'end_quorum_epoch_request': return this.onEndQuorumEpochRequest(message, body)
      case 'end_quorum_epoch_response': return this.onEndQuorumEpochResponse(message, body)
      case 'fetch_request': return this.onFetchRequest(message, body)
      case 'fetch_response': return this.onFetchResponse(message, body)
      case 'fetch_snapshot_request': return this.onFetchSnapshotRequest(message, body)
      case 'fetch_snapshot_response': return this.onFetchSnapshotResponse(message, body)
    }
  }

  propose(data: Uint8Array, nowMs: number): ProposeResult {
    this.nowMs = nowMs
    // A resigned leader names no leader: it is handing over and must not attract retries.
    if (this.state.role === 'resigned') return { kind: 'not_leader', leaderId: null }
    if (this.state.role !== 'leader') return { kind: 'not_leader', leaderId: this.knownLeader() }
    const entry: RaftEntry = { epoch: this.hard.epoch, offset: this.log.endOffset, kind: 'data', data }
    this.appendEntries([entry])
    this.wakeParkedFetches(this.state)
    return { kind: 'ok', offset: entry.offset, epoch: entry.epoch }
  }

  resign(nowMs: number): void {
    this.nowMs = nowMs
    if (this.state.role !== 'leader') return
    this.transitionToResigned(this.state)
  }

  snapshotTaken(snapshot: Snapshot): void {
    const id = snapshot.id
    assert(id.endOffset <= this.highWatermark, `snapshot at ${id.endOffset} above the high watermark ${this.highWatermark}`)
    assert(id.endOffset <= this.appliedEnd, `snapshot at ${id.endOffset} covers entries never handed out (${this.appliedEnd})`)
    // An older or equal snapshot than the one we hold changes nothing.
    if (this.snapshot !== null && id.endOffset <= this.snapshot.id.endOffset) return
    if (id.endOffset < this.log.startOffset) return
    this.log.compactTo(id)
    this.snapshot = snapshot
  }

  peerUnreachable(peer: NodeId, nowMs: number): void {
    this.nowMs = nowMs
    const s = this.state
    if (s.role === 'follower' && this.hard.leaderId === peer) {
      // The hint may be wrong; an election started on it is harmless: pre-vote fails while
      // the leader is alive, and a successful fetch before the deadline cancels it.
      if (s.electionAtMs === null) {
        s.electionAtMs = nowMs + randomInt(this.random, Math.max(1, this.config.electionJitterMs))
        s.electionReason = 'unreachable'
      }
      if (s.fetch !== null && s.fetch.to === peer) {
        s.fetch = null
        s.fetchRetryAtMs = nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      }
    } else if (s.role === 'unattached' && s.probe !== null && s.probe.to === peer) {
      s.probe = null
      s.probeRetryAtMs = nowMs
    }
  }

  // ---- Output ---------------------------------------------------------------------------

  hasReady(): boolean {
    const p = this.pending
    return (
      this.hardDirty ||
      p.snapshot !== null ||
      p.truncateFrom !== null ||
      p.entries.length > 0 ||
      p.messages.length > 0 ||
      p.applySnapshot !== null ||
      this.appliedEnd < this.commitLimit()
    )
  }

  ready(): Ready {
    const p = this.pending
    const committed = this.takeCommitted()
    const mustSync = this.hardDirty || p.snapshot !== null || p.truncateFrom !== null || p.entries.length > 0
    const ready: Ready = {
      snapshot: p.snapshot,
      truncateFrom: p.truncateFrom,
      entries: p.entries,
      hardState: this.hardDirty ? this.hard : null,
      mustSync,
      messages: p.messages,
      applySnapshot: p.applySnapshot,
      committed,
    }
    this.inflight.push({ ready, durableEnd: this.log.endOffset })
    this.pending = emptyPending()
    this.hardDirty = false
    return ready
  }

  advance(ready: Ready, nowMs: number): void {
    this.nowMs = nowMs
    const head = this.inflight.shift()
    assert(head !== undefined && head.ready === ready, 'advance() must take the oldest Ready not yet advanced')
    this.stableEnd = Math.max(this.stableEnd, head.durableEnd)
    assert(this.stableEnd <= this.log.endOffset, 'durable end beyond the log')
    const s = this.state
    if (s.role === 'leader' || s.role === 'resigned') this.maybeAdvanceHighWatermark(s)
  }

  status(): RaftStatus {
    const s = this.state
    let voters: ReplicaProgress[] = []
    let observers: ReplicaProgress[] = []
    if (s.role === 'leader' || s.role === 'resigned') {
      const progress = (r: ReplicaTracker): ReplicaProgress => ({
        nodeId: r.nodeId,
        logEndOffset: r.endOffset,
        lastFetchTimestampMs: r.lastFetchMs,
        lastCaughtUpTimestampMs: r.lastCaughtUpMs,
      })
      voters = this.voters.map((v) => {
        if (v === this.nodeId) {
          return { nodeId: v, logEndOffset: this.stableEnd, lastFetchTimestampMs: this.nowMs, lastCaughtUpTimestampMs: this.nowMs }
        }
        const r = s.replicas.get(v)
        assert(r !== undefined, `leader tracks voter ${v}`)
        return progress(r)
      })
      observers = [...s.replicas.values()].filter((r) => !r.isVoter).map(progress)
    }
    return {
      nodeId: this.nodeId,
      role: s.role,
      isVoter: this.isVoter,
      epoch: this.hard.epoch,
      leaderId: this.knownLeader(),
      votedFor: this.hard.votedFor,
      highWatermark: this.highWatermark,
      logStartOffset: this.log.startOffset,
      logEndOffset: this.log.endOffset,
      voters,
      observers,
    }
  }

  // ---- Transitions ----------------------------------------------------------------------

  private transitionToUnattached(epoch: Epoch): void {
    assert(epoch >= this.hard.epoch, `unattached at ${epoch} below epoch ${this.hard.epoch}`)
    if (epoch > this.hard.epoch || !this.isVoter) {
      // Observers forget the leader on a same-epoch fallback; they never vote, so it is safe.
      this.setHard({ epoch, votedFor: null, leaderId: null })
    }
    const previous = this.setState(this.unattachedState())
    this.logger.info({ epoch, previous }, 'became unattached')
    const s = this.state
    if (!this.isVoter && s.role === 'unattached') this.sendProbe(s)
  }

  private transitionToVoted(candidate: NodeId): void {
    assert(this.isVoter, 'observers never vote')
    assert(this.hard.votedFor === null || this.hard.votedFor === candidate, 'one vote per epoch')
    assert(this.hard.leaderId === null, 'no vote in an epoch with a known leader')
    this.setHard({ epoch: this.hard.epoch, votedFor: candidate, leaderId: null })
    const previous = this.setState({ role: 'voted', electionDeadlineMs: this.nowMs + this.electionTimeoutMs() })
    this.logger.info({ epoch: this.hard.epoch, votedFor: candidate, previous }, 'voted')
  }

  private transitionToFollower(epoch: Epoch, leader: NodeId): void {
    assert(leader !== this.nodeId, 'follower of itself')
    assert(epoch >= this.hard.epoch, `follower at ${epoch} below epoch ${this.hard.epoch}`)
    if (epoch > this.hard.epoch) {
      this.setHard({ epoch, votedFor: null, leaderId: leader })
    } else {
      assert(!this.isVoter || this.hard.leaderId === null || this.hard.leaderId === leader, `two leaders in epoch ${epoch}`)
      this.setHard({ epoch, votedFor: this.hard.votedFor, leaderId: leader })
    }
    const follower: FollowerState = {
      role: 'follower',
      fetchDeadlineMs: this.nowMs + this.config.fetchTimeoutMs,
      lastFetchSuccessMs: null,
      electionAtMs: null,
      electionReason: null,
      fetch: null,
      fetchRetryAtMs: this.nowMs,
      snapshot: null,
    }
    const previous = this.setState(follower)
    this.logger.info({ epoch, leaderId: leader, previous }, 'became follower')
    this.sendFetch(follower)
  }

  private transitionToProspective(): void {
    assert(this.isVoter, 'observers never stand for election')
    if (this.hard.epoch >= RAFT_LIMITS.epochMax) return this.stayAtEpochLimit()
    const election = this.newElection('prospective')
    const previous = this.setState(election)
    this.logger.info({ epoch: this.hard.epoch, previous }, 'became prospective')
    this.requestVotes(election, true)
    this.checkElection(election)
  }

  private transitionToCandidate(): void {
    assert(this.isVoter, 'observers never stand for election')
    assert(this.hard.epoch < RAFT_LIMITS.epochMax, 'a prospective node is below the epoch limit')
    // Raft §5.2: a new epoch, and our own vote, durable before any VoteRequest leaves.
    this.setHard({ epoch: this.hard.epoch + 1, votedFor: this.nodeId, leaderId: null })
    this.startCandidacy()
  }

  /** Restarted after voting for ourselves: stand again in the same epoch (re-granting is idempotent). */
  private transitionToCandidateAfterRestart(): void {
    assert(this.hard.votedFor === this.nodeId && this.hard.leaderId === null, 'restart as candidate')
    this.startCandidacy()
  }

  private startCandidacy(): void {
    const election = this.newElection('candidate')
    const previous = this.setState(election)
    this.logger.info({ epoch: this.hard.epoch, previous }, 'became candidate')
    this.requestVotes(election, false)
    this.checkElection(election)
  }

  /** A fresh election round: we grant ourselves, nothing else is known yet. */
  private newElection(role: ElectionState['role']): ElectionState {
    return {
      role,
      deadlineMs: this.nowMs + this.electionTimeoutMs(),
      granted: new Set([this.nodeId]),
      rejected: new Set(),
      requests: new Map(),
      lost: false,
      staleLeaderNotified: false,
    }
  }

  private transitionToLeader(): void {
    assert(this.state.role === 'candidate', 'only a candidate becomes leader')
    assert(this.hard.votedFor === this.nodeId, 'a leader voted for itself')
    this.setHard({ epoch: this.hard.epoch, votedFor: this.nodeId, leaderId: this.nodeId })
    const leader = this.freshLeaderState('leader')
    const previous = this.setState(leader)
    this.logger.info({ epoch: this.hard.epoch, previous }, 'became leader')
    // KIP-595: the leader_change entry opens the epoch; committing it fixes the high
    // watermark (Raft §5.4.2: only entries of the current epoch are committed by counting).
    this.appendEntries([{ epoch: this.hard.epoch, offset: this.log.endOffset, kind: 'leader_change', data: new Uint8Array(0) }])
    for (const voter of this.voters) {
      if (voter !== this.nodeId) this.sendBeginQuorumEpoch(leader, voter)
    }
    this.maybeAdvanceHighWatermark(leader)
  }

  /** Leader -> resigned (resign(), check-quorum, or restart as the last leader). */
  private transitionToResigned(from: LeaderState): void {
    const resigned: LeaderState = { ...from, role: 'resigned', electionDeadlineMs: this.nowMs + this.electionTimeoutMs() }
    // Most caught-up first, so the first successor can win at once (KIP-595).
    resigned.preferredSuccessors = this.voters
      .filter((v) => v !== this.nodeId)
      .sort((a, b) => {
        const ra = from.replicas.get(a)
        const rb = from.replicas.get(b)
        return (rb?.endOffset ?? -1) - (ra?.endOffset ?? -1) || (rb?.lastFetchMs ?? -1) - (ra?.lastFetchMs ?? -1) || a - b
      })
    resigned.beginPending.clear()
    const previous = this.setState(resigned)
    this.logger.info({ epoch: this.hard.epoch, previous, preferredSuccessors: resigned.preferredSuccessors }, 'resigned')
    for (const voter of resigned.preferredSuccessors) this.sendEndQuorumEpoch(resigned, voter)
  }

  /**
   * A voter due to stand for election is at the epoch limit: the pre-vote would ask for an
   * epoch no int32 field can carry. Stand for nothing; re-arm the role's timer so this is
   * logged once per election timeout, not once per tick.
   */
  private stayAtEpochLimit(): void {
    this.logger.error({ epoch: this.hard.epoch, epochMax: RAFT_LIMITS.epochMax }, 'at the epoch limit; not standing for election')
    const s = this.state
    const retryAtMs = this.nowMs + this.electionTimeoutMs()
    switch (s.role) {
      case 'unattached':
      case 'voted':
      case 'leader':
      case 'resigned':
        s.electionDeadlineMs = retryAtMs
        return
      case 'prospective':
      case 'candidate':
        s.lost = true
        s.deadlineMs = retryAtMs
        return
      case 'follower':
        s.electionAtMs = null
        s.electionReason = null
        s.fetchDeadlineMs = this.nowMs + this.config.fetchTimeoutMs
        return
    }
  }

  /** Moves to a higher epoch learned from a message: follower if it names the leader. */
  private transitionToHigherEpoch(epoch: Epoch, leaderId: NodeId | null): void {
    assert(epoch > this.hard.epoch, 'not a higher epoch')
    if (leaderId !== null && leaderId !== this.nodeId && this.voters.includes(leaderId)) this.transitionToFollower(epoch, leaderId)
    else this.transitionToUnattached(epoch)
  }

  /** Installs the new role; a leader leaving answers its parked fetches so followers learn fast. */
  private setState(next: RoleState): string {
    const old = this.state
    this.state = next
    if ((old.role === 'leader' || old.role === 'resigned') && old !== next && next.role !== 'resigned') {
      for (const parked of old.parked.values()) {
        const code = parked.request.replicaEpoch < this.hard.epoch ? RaftErrorCode.FENCED_LEADER_EPOCH : RaftErrorCode.NOT_LEADER_OR_FOLLOWER
        this.respond(parked.from, parked.requestId, this.fetchError(code))
      }
      old.parked.clear()
    }
    return old.role
  }

  private setHard(next: HardState): void {
    const cur = this.hard
    assert(next.epoch >= cur.epoch, `epoch went back from ${cur.epoch} to ${next.epoch}`)
    if (next.epoch === cur.epoch) {
      assert(cur.votedFor === null || next.votedFor === cur.votedFor, `vote changed within epoch ${cur.epoch}`)
      assert(!this.isVoter || cur.leaderId === null || next.leaderId === cur.leaderId, `leader changed within epoch ${cur.epoch}`)
    }
    if (next.epoch === cur.epoch && next.votedFor === cur.votedFor && next.leaderId === cur.leaderId) return
    this.hard = next
    this.hardDirty = true
  }

  private unattachedState(): UnattachedState {
    return { role: 'unattached', electionDeadlineMs: this.nowMs + this.electionTimeoutMs(), probe: null, probeRetryAtMs: this.nowMs }
  }

  private freshLeaderState(role: 'leader' | 'resigned'): LeaderState {
    const replicas = new Map<NodeId, ReplicaTracker>()
    for (const voter of this.voters) {
      if (voter === this.nodeId) continue
      replicas.set(voter, { nodeId: voter, isVoter: true, endOffset: -1, lastFetchMs: -1, lastCaughtUpMs: -1 })
    }
    return {
      role,
      becameLeaderMs: this.nowMs,
      replicas,
      beginPending: new Map(),
      endPending: new Map(),
      preferredSuccessors: [],
      parked: new Map(),
      electionDeadlineMs: this.nowMs + this.electionTimeoutMs(),
    }
  }

  // ---- Elections ------------------------------------------------------------------------

  private electionTimeoutMs(): number {
    return this.config.electionTimeoutMs + randomInt(this.random, Math.max(1, this.config.electionJitterMs))
  }

  private requestVotes(election: ElectionState, preVote: boolean): void {
    const body: VoteRequest = {
      type: 'vote_request',
      // A pre-vote asks "would you vote for me in the next epoch" without bumping ours (KIP-996).
      candidateEpoch: preVote ? this.hard.epoch + 1 : this.hard.epoch,
      lastEpoch: this.log.lastEpoch,
      lastEndOffset: this.log.endOffset,
      preVote,
    }
    for (const voter of this.voters) {
      if (voter === this.nodeId) continue
      election.requests.set(voter, this.request(voter, body))
    }
  }

  private checkElection(election: ElectionState): void {
    if (this.state !== election || election.lost) return
    const majority = majoritySize(this.voters.length)
    if (election.granted.size >= majority) {
      if (election.role === 'prospective') this.transitionToCandidate()
      else this.transitionToLeader()
    } else if (election.rejected.size >= majority) {
      this.logger.info({ epoch: this.hard.epoch, role: election.role }, 'lost the election')
      const leader = this.hard.leaderId
      if (election.role === 'prospective' && leader !== null && leader !== this.nodeId) {
        // The others still follow a live leader (they said so): go back to it (KIP-996).
        this.transitionToFollower(this.hard.epoch, leader)
        return
      }
      election.lost = true
      election.deadlineMs = this.nowMs + randomInt(this.random, Math.max(1, this.config.electionJitterMs))
    }
  }

  /**
   * We stand in epoch E, but a voter answers from E' < E and names a live leader of E'. Our
   * epoch never goes back and pre-votes never move anyone forward (KIP-996), so without
   * help that leader keeps E' forever and we can never rejoin: a livelock. The leader must
   * learn E. KIP-595 has no "you are stale" RPC; a Fetch carrying our epoch is the request
   * whose handling moves a stale leader forward (see onFetchRequest) -- the pull-based form
   * of etcd-raft answering a lower-term heartbeat. Once per round; the answer is ignored.
   */
  private notifyStaleLeader(election: ElectionState, leader: NodeId): void {
    if (election.staleLeaderNotified || leader === this.nodeId || !this.voters.includes(leader)) return
    election.staleLeaderNotified = true
    this.logger.info({ epoch: this.hard.epoch, leaderId: leader }, 'telling a stale leader our epoch')
    this.request(leader, this.fetchRequestBody(0))
  }

  private endElectionRound(election: ElectionState): void {
    const leader = this.hard.leaderId
    if (election.role === 'prospective' && leader !== null && leader !== this.nodeId) this.transitionToFollower(this.hard.epoch, leader)
    else this.transitionToProspective()
  }

  /** (lastEpoch, lastEndOffset) at least as up to date as ours, lexicographically (Raft §5.4.1). */
  private isLogUpToDate(lastEpoch: Epoch, lastEndOffset: Offset): boolean {
    const ours = this.log.lastEpoch
    return lastEpoch > ours || (lastEpoch === ours && lastEndOffset >= this.log.endOffset)
  }

  /** KIP-996: a follower that fetched from a live leader within fetchTimeoutMs refuses pre-votes. */
  private vouchesForLeader(): boolean {
    const s = this.state
    if (s.role === 'leader') return true
    if (s.role !== 'follower' || s.lastFetchSuccessMs === null || s.electionAtMs !== null) return false
    return this.nowMs - s.lastFetchSuccessMs < this.config.fetchTimeoutMs
  }

  private onVoteRequest(message: RaftMessage, req: VoteRequest): void {
    const from = message.from
    const answer = (voteGranted: boolean, errorCode: number): void => {
      const body: VoteResponse = {
        type: 'vote_response',
        errorCode,
        epoch: this.hard.epoch,
        leaderId: this.knownLeader(),
        voteGranted,
        preVote: req.preVote,
      }
      this.respond(from, message.requestId, body)
    }
    if (!this.isVoter || !this.voters.includes(from)) return answer(false, RaftErrorCode.INCONSISTENT_VOTER_SET)
    const logOk = this.isLogUpToDate(req.lastEpoch, req.lastEndOffset)
    if (req.preVote) {
      // A pre-vote never changes state or persists anything.
      return answer(req.candidateEpoch >= this.hard.epoch && logOk && !this.vouchesForLeader(), RaftErrorCode.NONE)
    }
    if (req.candidateEpoch > this.hard.epoch) this.transitionToUnattached(req.candidateEpoch)
    if (req.candidateEpoch < this.hard.epoch) return answer(false, RaftErrorCode.FENCED_LEADER_EPOCH)
    const hs = this.hard
    const grant = (hs.votedFor === null || hs.votedFor === from) && hs.leaderId === null && logOk
    // The grant and the hardState recording it leave in the same Ready: persist, then send.
    if (grant && hs.votedFor === null) this.transitionToVoted(from)
    answer(grant, RaftErrorCode.NONE)
  }

  private onVoteResponse(message: RaftMessage, resp: VoteResponse): void {
    const s0 = this.state
    if (resp.epoch < this.hard.epoch && resp.leaderId !== null && (s0.role === 'prospective' || s0.role === 'candidate')) {
      this.notifyStaleLeader(s0, resp.leaderId)
    }
    if (!this.acceptResponseEpoch(resp.epoch, resp.leaderId)) return
    const s = this.state
    if (s.role !== 'prospective' && s.role !== 'candidate') return
    if (resp.preVote !== (s.role === 'prospective')) return
    if (s.requests.get(message.from) !== message.requestId) return
    s.requests.delete(message.from)
    if (s.lost) return
    if (resp.voteGranted) s.granted.add(message.from)
    else s.rejected.add(message.from)
    this.checkElection(s)
  }

  // ---- BeginQuorumEpoch / EndQuorumEpoch ------------------------------------------------

  private onBeginQuorumEpochRequest(message: RaftMessage, req: BeginQuorumEpochRequest): void {
    const from = message.from
    const answer = (errorCode: number): void => {
      const body: BeginQuorumEpochResponse = { type: 'begin_quorum_epoch_response', errorCode, epoch: this.hard.epoch, leaderId: this.knownLeader() }
      this.respond(from, message.requestId, body)
    }
    if (!this.voters.includes(from)) return answer(RaftErrorCode.INCONSISTENT_VOTER_SET)
    if (req.leaderEpoch < this.hard.epoch) return answer(RaftErrorCode.FENCED_LEADER_EPOCH)
    if (req.leaderEpoch > this.hard.epoch) {
      this.transitionToFollower(req.leaderEpoch, from)
    } else {
      const s = this.state
      const known = this.hard.leaderId
      if (s.role === 'leader' || s.role === 'resigned' || (known !== null && known !== from)) {
        // Election Safety (Raft §5.2): one leader per epoch, and we know another. The sender
        // id is not authenticated: bad input (or a bug elsewhere), never a reason to switch.
        this.logger.error({ epoch: req.leaderEpoch, from, leaderId: known, role: s.role }, 'BeginQuorumEpoch names a second leader for our epoch; refused')
        return answer(RaftErrorCode.INVALID_REQUEST)
      }
      if (s.role !== 'follower' || known !== from) this.transitionToFollower(req.leaderEpoch, from)
    }
    answer(RaftErrorCode.NONE)
  }

  private onBeginQuorumEpochResponse(message: RaftMessage, resp: BeginQuorumEpochResponse): void {
    if (!this.acceptResponseEpoch(resp.epoch, resp.leaderId)) return
    const s = this.state
    if (s.role !== 'leader' || resp.errorCode !== RaftErrorCode.NONE) return
    if (s.beginPending.get(message.from)?.requestId === message.requestId) s.beginPending.delete(message.from)
  }

  private onEndQuorumEpochRequest(message: RaftMessage, req: EndQuorumEpochRequest): void {
    const from = message.from
    const answer = (errorCode: number): void => {
      const body: EndQuorumEpochResponse = { type: 'end_quorum_epoch_response', errorCode, epoch: this.hard.epoch, leaderId: this.knownLeader() }
      this.respond(from, message.requestId, body)
    }
    if (!this.isVoter || !this.voters.includes(from)) return answer(RaftErrorCode.INCONSISTENT_VOTER_SET)
    if (req.leaderEpoch < this.hard.epoch) return answer(RaftErrorCode.FENCED_LEADER_EPOCH)
    if (req.leaderEpoch > this.hard.epoch) this.transitionToFollower(req.leaderEpoch, from)
    const s = this.state
    const position = req.preferredSuccessors.indexOf(this.nodeId)
    // KIP-595: the first preferred successor stands at once, the others a little later each,
    // so the most caught-up voter usually wins without a split vote.
    const rank = position === -1 ? req.preferredSuccessors.length : position
    const halfJitter = Math.max(1, Math.floor(this.config.electionJitterMs / 2))
    const delayMs = rank === 0 ? 0 : rank * halfJitter + randomInt(this.random, halfJitter)
    if (s.role === 'follower' && this.hard.leaderId === from) {
      s.electionAtMs = Math.min(s.electionAtMs ?? Number.POSITIVE_INFINITY, this.nowMs + delayMs)
      s.electionReason = 'end_quorum'
    } else if ((s.role === 'unattached' || s.role === 'voted') && this.hard.leaderId === null) {
      s.electionDeadlineMs = Math.min(s.electionDeadlineMs, this.nowMs + delayMs)
    }
    answer(RaftErrorCode.NONE)
    if (this.state === s && s.role === 'follower' && s.electionAtMs !== null && s.electionAtMs <= this.nowMs) {
      this.transitionToProspective()
    }
  }

  private onEndQuorumEpochResponse(message: RaftMessage, resp: EndQuorumEpochResponse): void {
    if (!this.acceptResponseEpoch(resp.epoch, resp.leaderId)) return
    const s = this.state
    if (s.role !== 'resigned' || resp.errorCode !== RaftErrorCode.NONE) return
    if (s.endPending.get(message.from)?.requestId === message.requestId) s.endPending.delete(message.from)
  }

  private sendBeginQuorumEpoch(leader: LeaderState, voter: NodeId): void {
    const requestId = this.request(voter, { type: 'begin_quorum_epoch_request', leaderEpoch: this.hard.epoch })
    leader.beginPending.set(voter, { requestId, sentMs: this.nowMs })
  }

  private sendEndQuorumEpoch(resigned: LeaderState, voter: NodeId): void {
    const requestId = this.request(voter, {
      type: 'end_quorum_epoch_request',
      leaderEpoch: this.hard.epoch,
      preferredSuccessors: resigned.preferredSuccessors,
    })
    resigned.endPending.set(voter, { requestId, sentMs: this.nowMs })
  }

  // ---- Leader: fetch serving, high watermark, check-quorum --------------------------------

  private tickLeader(s: LeaderState): void {
    const now = this.nowMs
    for (const parked of [...s.parked.values()]) {
      if (now >= parked.deadlineMs) this.answerParked(s, parked)
    }
    for (const [voter, pending] of [...s.beginPending]) {
      if (now - pending.sentMs >= this.config.requestTimeoutMs) this.sendBeginQuorumEpoch(s, voter)
    }
    for (const [voter, pending] of [...s.endPending]) {
      if (now - pending.sentMs >= this.config.requestTimeoutMs) this.sendEndQuorumEpoch(s, voter)
    }
    if (s.role === 'leader') {
      // Check-quorum (KRaft): a leader cut off from a majority stops claiming leadership.
      const windowMs = this.config.fetchTimeoutMs * RAFT_LIMITS.checkQuorumTimeoutFactor
      if (now - s.becameLeaderMs >= windowMs) {
        let live = 1
        // A voter not seen yet counts as seen when we took over: a full window to show up.
        for (const r of s.replicas.values()) if (r.isVoter && now - Math.max(r.lastFetchMs, s.becameLeaderMs) < windowMs) live++
        if (live < majoritySize(this.voters.length)) {
          this.logger.warn({ epoch: this.hard.epoch, live }, 'check-quorum failed')
          this.transitionToResigned(s)
        }
      }
    } else if (this.isVoter && now >= s.electionDeadlineMs) {
      this.transitionToProspective()
    }
  }

  private onFetchRequest(message: RaftMessage, req: FetchRequest): void {
    const from = message.from
    if (req.replicaEpoch > this.hard.epoch) {
      if (!this.voters.includes(from)) {
        // Kafka's validateLeaderOnlyRequest: an observer's epoch is only its claim, and a
        // single bogus one must not move a voter (or every voter) anywhere.
        this.logger.debug({ from, replicaEpoch: req.replicaEpoch }, 'fetch from a non-voter with a higher epoch')
        return this.respond(from, message.requestId, this.fetchError(RaftErrorCode.UNKNOWN_LEADER_EPOCH))
      }
      // A voter has seen a newer epoch than ours: whatever we were, we are stale.
      this.transitionToUnattached(req.replicaEpoch)
    }
    if (req.replicaEpoch < this.hard.epoch) return this.respond(from, message.requestId, this.fetchError(RaftErrorCode.FENCED_LEADER_EPOCH))
    const s = this.state
    if (s.role !== 'leader' && s.role !== 'resigned') {
      return this.respond(from, message.requestId, this.fetchError(RaftErrorCode.NOT_LEADER_OR_FOLLOWER))
    }
    if (
      !Number.isSafeInteger(req.fetchOffset) || req.fetchOffset < 0 ||
      !Number.isInteger(req.lastFetchedEpoch) || req.lastFetchedEpoch < 0 || req.lastFetchedEpoch > this.hard.epoch ||
      !Number.isSafeInteger(req.highWatermark) || req.highWatermark < UNKNOWN_HIGH_WATERMARK
    ) {
      return this.respond(from, message.requestId, this.fetchError(RaftErrorCode.INVALID_REQUEST))
    }
    const replica = this.trackReplica(s, from)
    replica.lastFetchMs = this.nowMs
    s.beginPending.delete(from) // fetching in our epoch acknowledges BeginQuorumEpoch
    const validation = this.validateFetch(req.fetchOffset, req.lastFetchedEpoch)
    if (validation.kind === 'valid') {
      // The fetch offset is the fetcher's durable end; after validation its log matches ours
      // below it (Log Matching, Raft §5.3), so it acknowledges everything before it.
      replica.endOffset = req.fetchOffset
      if (req.fetchOffset >= this.log.endOffset) replica.lastCaughtUpMs = this.nowMs
      if (replica.isVoter) this.maybeAdvanceHighWatermark(s)
      if (this.state !== s) return
    }
    const old = s.parked.get(from)
    if (old !== undefined) {
      // At most one parked fetch per replica: the older one is answered (empty) now.
      s.parked.delete(from)
      this.respond(from, old.requestId, this.buildFetchResponse(s, old.request))
    }
    const waitMs = Math.min(req.maxWaitMs, this.config.fetchMaxWaitMs)
    // KIP-1166: hold the fetch only if the fetcher has every entry and already knows our high
    // watermark (a new leader's may still be below the fetcher's). The fetcher says what it
    // knows, so a restarted one is never held on the strength of what its past life was told.
    const nothingNew = req.fetchOffset === this.log.endOffset && req.highWatermark >= this.highWatermark
    if (validation.kind === 'valid' && nothingNew && waitMs > 0) {
      s.parked.set(from, { from, requestId: message.requestId, request: req, deadlineMs: this.nowMs + waitMs })
      return
    }
    this.respond(from, message.requestId, this.buildFetchResponse(s, req))
  }

  /** Kafka's validateOffsetAndEpoch: may the fetcher append at fetchOffset? */
  private validateFetch(fetchOffset: Offset, lastFetchedEpoch: Epoch): FetchValidation {
    const start = this.log.startOffset
    const snap = this.log.snapshotId
    if (snap !== null) {
      if (fetchOffset < start || (fetchOffset === start && lastFetchedEpoch !== snap.epoch) || lastFetchedEpoch < snap.epoch) {
        // The divergence point (or the fetcher's position) is inside the snapshot.
        return { kind: 'snapshot', id: snap }
      }
    } else if (fetchOffset === 0) {
      return { kind: 'valid' }
    }
    const end = this.log.endOffsetForEpoch(lastFetchedEpoch)
    if (end.epoch !== lastFetchedEpoch || end.endOffset < fetchOffset) {
      return { kind: 'diverging', epoch: end.epoch, endOffset: end.endOffset }
    }
    return { kind: 'valid' }
  }

  private buildFetchResponse(s: LeaderState, req: FetchRequest): FetchResponse {
    const validation = this.validateFetch(req.fetchOffset, req.lastFetchedEpoch)
    let entries: RaftEntry[] = []
    if (validation.kind === 'valid') {
      const maxBytes = Math.min(Math.max(req.maxBytes, 1), this.config.fetchMaxBytes)
      entries = this.log.slice(req.fetchOffset, maxBytes, RAFT_LIMITS.maxEntriesPerFetch, RAFT_LIMITS.fetchEntryOverheadBytes)
    }
    assert(s === this.state, 'fetch answered by the current leader state')
    return {
      type: 'fetch_response',
      errorCode: RaftErrorCode.NONE,
      epoch: this.hard.epoch,
      leaderId: this.nodeId,
      highWatermark: this.highWatermark,
      logStartOffset: this.log.startOffset,
      divergingEpoch: validation.kind === 'diverging' ? { epoch: validation.epoch, endOffset: validation.endOffset } : null,
      snapshotId: validation.kind === 'snapshot' ? validation.id : null,
      entries,
    }
  }

  private fetchError(errorCode: number): FetchResponse {
    return {
      type: 'fetch_response',
      errorCode,
      epoch: this.hard.epoch,
      leaderId: this.knownLeader(),
      highWatermark: this.highWatermark,
      logStartOffset: this.log.startOffset,
      divergingEpoch: null,
      snapshotId: null,
      entries: [],
    }
  }

  private answerParked(s: LeaderState, parked: ParkedFetch): void {
    s.parked.delete(parked.from)
    this.respond(parked.from, parked.requestId, this.buildFetchResponse(s, parked.request))
  }

  /** Answers the parked fetches that now have something new: entries, or a high watermark the fetcher lacks. */
  private wakeParkedFetches(s: LeaderState): void {
    for (const parked of [...s.parked.values()]) {
      const req = parked.request
      if (this.highWatermark > req.highWatermark || this.log.endOffset > req.fetchOffset) this.answerParked(s, parked)
    }
  }

  private trackReplica(s: LeaderState, nodeId: NodeId): ReplicaTracker {
    const known = s.replicas.get(nodeId)
    if (known !== undefined) return known
    assert(!this.voters.includes(nodeId), 'voters are tracked from the start of the epoch')
    const observers = [...s.replicas.values()].filter((r) => !r.isVoter)
    if (observers.length >= RAFT_LIMITS.maxTrackedObservers) {
      const oldest = observers.reduce((a, b) => (b.lastFetchMs < a.lastFetchMs ? b : a))
      // Its parked fetch gets a real (validated) answer: an empty NONE would tell it that
      // its whole log matches ours.
      const parked = s.parked.get(oldest.nodeId)
      if (parked !== undefined) this.answerParked(s, parked)
      s.replicas.delete(oldest.nodeId)
    }
    const tracker: ReplicaTracker = { nodeId, isVoter: false, endOffset: -1, lastFetchMs: this.nowMs, lastCaughtUpMs: -1 }
    s.replicas.set(nodeId, tracker)
    return tracker
  }

  private maybeAdvanceHighWatermark(s: LeaderState): void {
    const offsets = this.voters.map((v) => (v === this.nodeId ? this.stableEnd : (s.replicas.get(v)?.endOffset ?? -1)))
    const candidate = majorityOffset(offsets)
    // Raft §5.4.2: count replicas only for an entry of our own epoch; the leader_change entry
    // guarantees there is one. Before it commits, the old (lower but correct) HW stands.
    if (candidate > this.highWatermark && this.log.epochAt(candidate - 1) === this.hard.epoch) {
      this.setHighWatermark(candidate)
      this.wakeParkedFetches(s)
    }
  }

  private setHighWatermark(hw: Offset): void {
    assert(hw >= this.highWatermark, `high watermark went back from ${this.highWatermark} to ${hw}`)
    assert(hw <= this.log.endOffset, `high watermark ${hw} beyond the log end ${this.log.endOffset}`)
    this.highWatermark = hw
  }

  private onFetchSnapshotRequest(message: RaftMessage, req: FetchSnapshotRequest): void {
    const from = message.from
    const answer = (errorCode: number, size: number, chunk: Uint8Array): void => {
      const body: FetchSnapshotResponse = {
        type: 'fetch_snapshot_response',
        errorCode,
        epoch: this.hard.epoch,
        leaderId: this.knownLeader(),
        snapshotId: req.snapshotId,
        size,
        position: req.position,
        chunk,
      }
      this.respond(from, message.requestId, body)
    }
    if (req.replicaEpoch > this.hard.epoch) {
      // As for Fetch: only a voter's epoch moves ours.
      if (!this.voters.includes(from)) return answer(RaftErrorCode.UNKNOWN_LEADER_EPOCH, 0, new Uint8Array(0))
      this.transitionToUnattached(req.replicaEpoch)
    }
    if (req.replicaEpoch < this.hard.epoch) return answer(RaftErrorCode.FENCED_LEADER_EPOCH, 0, new Uint8Array(0))
    const s = this.state
    if (s.role !== 'leader' && s.role !== 'resigned') return answer(RaftErrorCode.NOT_LEADER_OR_FOLLOWER, 0, new Uint8Array(0))
    this.trackReplica(s, from).lastFetchMs = this.nowMs
    s.beginPending.delete(from)
    const snap = this.snapshot
    if (snap === null || !sameId(snap.id, req.snapshotId)) return answer(RaftErrorCode.SNAPSHOT_NOT_FOUND, 0, new Uint8Array(0))
    const size = snap.data.length
    if (!Number.isInteger(req.position) || req.position < 0 || req.position > size) {
      return answer(RaftErrorCode.POSITION_OUT_OF_RANGE, size, new Uint8Array(0))
    }
    const chunkBytes = Math.min(req.maxBytes > 0 ? req.maxBytes : this.config.snapshotChunkBytes, this.config.snapshotChunkBytes)
    answer(RaftErrorCode.NONE, size, snap.data.subarray(req.position, req.position + chunkBytes))
  }

  // ---- Follower (and observer) side -----------------------------------------------------

  private tickFollower(s: FollowerState): void {
    const now = this.nowMs
    if (now >= s.fetchDeadlineMs && s.electionAtMs === null) {
      // The followers of a leader that hangs had their last fetches answered together, so
      // their deadlines pass in the same tick; standing at once would split the vote. Wait a
      // random delay first, as the unreachable hint does (Raft §5.2: randomized timeouts).
      // An election already scheduled stands: EndQuorumEpoch's ranks order the successors.
      // Observers never vote, so they give up on the leader at once.
      s.electionAtMs = this.isVoter ? now + randomInt(this.random, Math.max(1, this.config.electionJitterMs)) : now
      s.electionReason = 'fetch_timeout'
    }
    if (s.electionAtMs !== null && now >= s.electionAtMs) {
      if (this.isVoter) this.transitionToProspective()
      else this.transitionToUnattached(this.hard.epoch)
      return
    }
    const download = s.snapshot
    if (download !== null) {
      if (now - download.sentMs >= this.config.requestTimeoutMs) this.sendSnapshotChunkRequest(download)
      return
    }
    if (s.fetch !== null) {
      if (now - s.fetch.sentMs >= this.config.requestTimeoutMs + this.config.fetchMaxWaitMs) this.sendFetch(s)
    } else if (now >= s.fetchRetryAtMs) {
      this.sendFetch(s)
    }
  }

  private fetchRequestBody(maxWaitMs: number): FetchRequest {
    // Built from the in-memory log: this message leaves in a Ready that persists everything
    // up to here first, so fetchOffset is durable by the time the leader reads it.
    return {
      type: 'fetch_request',
      replicaEpoch: this.hard.epoch,
      fetchOffset: this.log.endOffset,
      lastFetchedEpoch: this.log.lastEpoch,
      maxWaitMs,
      maxBytes: this.config.fetchMaxBytes,
      // Ours is always known (a restarted node starts from its log start): it only ever
      // lags the leader's, which then answers at once (KIP-1166).
      highWatermark: this.highWatermark,
    }
  }

  private sendFetch(s: FollowerState): void {
    const leader = this.hard.leaderId
    assert(leader !== null && leader !== this.nodeId, 'a follower fetches from its leader')
    const body = this.fetchRequestBody(this.config.fetchMaxWaitMs)
    const requestId = this.request(leader, body)
    s.fetch = { to: leader, requestId, sentMs: this.nowMs, fetchOffset: body.fetchOffset, lastFetchedEpoch: body.lastFetchedEpoch }
  }

  /** Observers without a leader fetch from a random voter; any answer names the leader. */
  private sendProbe(s: UnattachedState): void {
    const candidates = this.voters.filter((v) => v !== this.nodeId)
    if (candidates.length === 0) return
    const to = candidates[randomInt(this.random, candidates.length)]
    const body = this.fetchRequestBody(0)
    const requestId = this.request(to, body)
    s.probe = { to, requestId, sentMs: this.nowMs, fetchOffset: body.fetchOffset, lastFetchedEpoch: body.lastFetchedEpoch }
    s.probeRetryAtMs = this.nowMs + this.config.requestTimeoutMs
  }

  private onFetchResponse(message: RaftMessage, resp: FetchResponse): void {
    if (!this.acceptResponseEpoch(resp.epoch, resp.leaderId)) return
    const s = this.state
    const from = message.from
    if (s.role === 'unattached') {
      // A probe answer: acceptResponseEpoch already followed any leader it named.
      if (s.probe !== null && s.probe.to === from && s.probe.requestId === message.requestId) {
        s.probe = null
        s.probeRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      }
      return
    }
    if (s.role !== 'follower') return
    const sent = s.fetch
    if (sent === null || sent.to !== from || sent.requestId !== message.requestId) return
    s.fetch = null
    if (resp.errorCode !== RaftErrorCode.NONE || this.hard.leaderId !== from || resp.leaderId !== from) {
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      if (resp.errorCode === RaftErrorCode.NOT_LEADER_OR_FOLLOWER && this.hard.leaderId === from) {
        // Our leader says it no longer leads this epoch (it resigned and gave up): no need to
        // wait for the fetch timeout. As safe as any hint: pre-vote decides.
        this.peerUnreachable(from, this.nowMs)
      }
      return
    }
    if (this.log.endOffset !== sent.fetchOffset || this.log.lastEpoch !== sent.lastFetchedEpoch) {
      // Our log moved since the request; its answer is about another position.
      return this.sendFetch(s)
    }
    this.heardFromLeader(s)
    if (resp.snapshotId !== null) return this.startSnapshotDownload(s, resp.snapshotId, resp.epoch)
    if (resp.divergingEpoch !== null) return this.truncateOnDivergence(s, resp.divergingEpoch)
    if (!this.entriesFollow(resp.entries, sent.fetchOffset, resp.epoch)) {
      this.logger.warn({ from, fetchOffset: sent.fetchOffset }, 'fetch response entries do not follow the log; ignored')
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      return
    }
    // Our log ends at fetchOffset (checked above), so there is no conflicting suffix to cut.
    this.appendEntries(resp.entries)
    // Entries below min(leader HW, our validated end) match the leader's committed prefix.
    const hw = Math.min(resp.highWatermark, this.log.endOffset)
    if (hw > this.highWatermark) this.setHighWatermark(hw)
    this.sendFetch(s)
  }

  private heardFromLeader(s: FollowerState): void {
    s.fetchDeadlineMs = this.nowMs + this.config.fetchTimeoutMs
    s.lastFetchSuccessMs = this.nowMs
    if (s.electionReason === 'unreachable' || s.electionReason === 'fetch_timeout') {
      // The transport's hint was wrong, or the leader is back before we stood: stay.
      s.electionAtMs = null
      s.electionReason = null
    }
  }

  private entriesFollow(entries: readonly RaftEntry[], fetchOffset: Offset, leaderEpoch: Epoch): boolean {
    let lastEpoch = this.log.lastEpoch
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]
      if (e.offset !== fetchOffset + i || e.epoch < lastEpoch || e.epoch > leaderEpoch) return false
      if (e.kind !== 'data' && e.kind !== 'leader_change') return false
      lastEpoch = e.epoch
    }
    return true
  }

  private truncateOnDivergence(s: FollowerState, diverging: { readonly epoch: Epoch; readonly endOffset: Offset }): void {
    const ours = this.log.endOffsetForEpoch(diverging.epoch)
    const to = Math.min(diverging.endOffset, ours.endOffset)
    if (to >= this.log.endOffset) {
      this.logger.warn({ diverging, logEndOffset: this.log.endOffset }, 'divergence that truncates nothing; ignored')
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      return
    }
    if (to < this.highWatermark || to < this.log.startOffset) {
      // Committed entries never diverge (Leader Completeness, Raft §5.4): the leader is wrong
      // or this is not its answer. Keep the log (truncateLog still asserts this) and ask again.
      this.logger.error(
        { diverging, truncateTo: to, highWatermark: this.highWatermark, logStartOffset: this.log.startOffset },
        'leader asked to truncate below the high watermark; ignored',
      )
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      return
    }
    this.logger.info({ epoch: this.hard.epoch, from: this.log.endOffset, to }, 'truncated diverging log')
    this.truncateLog(to)
    this.sendFetch(s)
  }

  private startSnapshotDownload(s: FollowerState, id: SnapshotId, leaderEpoch: Epoch): void {
    if (id.epoch > leaderEpoch) {
      // A snapshot ends with an entry the leader holds, so of its epoch or older. Installing
      // this one would put a log epoch above our hard state's on disk.
      this.logger.error({ snapshotId: id, epoch: leaderEpoch }, 'offered a snapshot of an epoch above the leader\'s; ignored')
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      return
    }
    if (id.endOffset <= Math.max(this.highWatermark, this.log.startOffset)) {
      this.logger.warn({ snapshotId: id, highWatermark: this.highWatermark }, 'offered a snapshot behind our high watermark; ignored')
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
      return
    }
    const leader = this.hard.leaderId
    assert(leader !== null, 'download from the leader')
    s.snapshot = { to: leader, id, chunks: [], position: 0, size: -1, requestId: 0, sentMs: this.nowMs }
    this.sendSnapshotChunkRequest(s.snapshot)
  }

  private sendSnapshotChunkRequest(download: NonNullable<FollowerState['snapshot']>): void {
    download.requestId = this.request(download.to, {
      type: 'fetch_snapshot_request',
      replicaEpoch: this.hard.epoch,
      snapshotId: download.id,
      position: download.position,
      maxBytes: this.config.snapshotChunkBytes,
    })
    download.sentMs = this.nowMs
  }

  private onFetchSnapshotResponse(message: RaftMessage, resp: FetchSnapshotResponse): void {
    if (!this.acceptResponseEpoch(resp.epoch, resp.leaderId)) return
    const s = this.state
    if (s.role !== 'follower') return
    const d = s.snapshot
    if (d === null || d.to !== message.from || d.requestId !== message.requestId) return
    const abandon = (why: string): void => {
      this.logger.warn({ snapshotId: d.id, errorCode: resp.errorCode }, why)
      s.snapshot = null
      s.fetchRetryAtMs = this.nowMs + RAFT_LIMITS.fetchErrorBackoffMs
    }
    if (resp.errorCode !== RaftErrorCode.NONE) return abandon('snapshot download failed; fetching again')
    if (!sameId(resp.snapshotId, d.id) || resp.position !== d.position) return abandon('snapshot chunk does not match the request')
    const size = resp.size
    const sizeOk = Number.isInteger(size) && size >= 0 && size <= RAFT_LIMITS.maxSnapshotBytes && (d.size === -1 || d.size === size)
    if (!sizeOk || d.position + resp.chunk.length > size || (resp.chunk.length === 0 && d.position < size)) {
      return abandon('snapshot chunk out of bounds')
    }
    this.heardFromLeader(s)
    d.size = size
    d.chunks.push(resp.chunk.slice())
    d.position += resp.chunk.length
    if (d.position < size) return this.sendSnapshotChunkRequest(d)
    this.installSnapshot(s, d.id, d.chunks, size)
  }

  private installSnapshot(s: FollowerState, id: SnapshotId, chunks: readonly Uint8Array[], size: number): void {
    // It was offered because our log ends below it or diverges inside it; either way every
    // committed entry we hold is below our HW < id.endOffset, and the snapshot covers them.
    assert(id.endOffset > this.highWatermark, 'snapshot ahead of our high watermark')
    const data = new Uint8Array(size)
    let at = 0
    for (const chunk of chunks) {
      data.set(chunk, at)
      at += chunk.length
    }
    const snapshot: Snapshot = { id, data }
    this.log.resetTo(id)
    this.noteTruncation(id.endOffset)
    this.snapshot = snapshot
    this.pending.snapshot = snapshot
    this.pending.truncateFrom = null
    this.pending.entries = []
    this.pending.applySnapshot = snapshot
    this.setHighWatermark(id.endOffset)
    this.appliedEnd = id.endOffset
    s.snapshot = null
    this.logger.info({ snapshotId: id, size }, 'installed snapshot')
    this.sendFetch(s)
  }

  // ---- Common plumbing ------------------------------------------------------------------

  private currentRole(): RoleState['role'] {
    return this.state.role
  }

  /**
   * Every response first goes through here. A higher epoch moves us there (and the response,
   * about an older request, is dropped); a lower one is stale. In our epoch, a named leader
   * we did not know is followed. Returns whether the response is for our current epoch.
   */
  private acceptResponseEpoch(epoch: Epoch, leaderId: NodeId | null): boolean {
    if (epoch > this.hard.epoch) {
      this.transitionToHigherEpoch(epoch, leaderId)
      return false
    }
    if (epoch < this.hard.epoch) return false
    const role = this.state.role
    if (
      leaderId !== null && leaderId !== this.nodeId && this.voters.includes(leaderId) &&
      this.hard.leaderId === null && role !== 'leader' && role !== 'resigned'
    ) {
      this.transitionToFollower(epoch, leaderId)
    }
    return true
  }

  /** The leader we would name to others: a stale self-reference after stepping down is not one. */
  private knownLeader(): NodeId | null {
    const leader = this.hard.leaderId
    if (leader === this.nodeId) return this.state.role === 'leader' || this.state.role === 'resigned' ? leader : null
    if (!this.isVoter && this.state.role !== 'follower') return null
    return leader
  }

  private appendEntries(entries: readonly RaftEntry[]): void {
    if (entries.length === 0) return
    this.log.append(entries)
    for (const e of entries) this.pending.entries.push(e)
  }

  private truncateLog(to: Offset): void {
    if (to >= this.log.endOffset) return
    assert(to >= this.highWatermark, `truncation to ${to} below the high watermark ${this.highWatermark}`)
    this.log.truncateFrom(to)
    this.noteTruncation(to)
    const p = this.pending
    const first = p.entries[0]
    if (first !== undefined && to >= first.offset) {
      p.entries.length = to - first.offset
    } else {
      p.entries = []
      p.truncateFrom = p.truncateFrom === null ? to : Math.min(p.truncateFrom, to)
    }
  }

  /** Entries at or above `to` are no longer what the disk holds (or will hold). */
  private noteTruncation(to: Offset): void {
    this.stableEnd = Math.min(this.stableEnd, to)
    for (const r of this.inflight) r.durableEnd = Math.min(r.durableEnd, to)
  }

  private commitLimit(): Offset {
    return Math.min(this.highWatermark, this.log.endOffset)
  }

  private takeCommitted(): RaftEntry[] {
    const limit = Math.min(this.commitLimit(), this.appliedEnd + RAFT_LIMITS.maxCommittedPerReady)
    const out: RaftEntry[] = []
    for (let o = this.appliedEnd; o < limit; o++) out.push(this.log.entryAt(o))
    this.appliedEnd = Math.max(this.appliedEnd, limit)
    return out
  }

  private request(to: NodeId, body: RaftBody): number {
    const requestId = this.nextRequestId
    this.nextRequestId = this.nextRequestId >= 0x7fffffff ? 1 : this.nextRequestId + 1
    this.pending.messages.push({ from: this.nodeId, to, requestId, body })
    return requestId
  }

  private respond(to: NodeId, requestId: number, body: RaftBody): void {
    this.pending.messages.push({ from: this.nodeId, to, requestId, body })
  }
}

