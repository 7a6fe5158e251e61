/**
 * The per-role volatile state of RaftCore, one shape per role (Kafka's QuorumState keeps one
 * class per role; here a discriminated union). Hard state (epoch, votedFor, leaderId) is not
 * here: RaftCore keeps it in one place, and every role reads it from there.
 *
 * Everything here is lost on restart, by design: only HardState and the log are durable.
 */
import type { NodeId } from '@tributary/protocol'
import type { Epoch, FetchRequest, Offset, SnapshotId } from './types.js'

/** A Fetch in flight from a follower (or a probing observer). */
export interface OutstandingFetch {
  readonly to: NodeId
  readonly requestId: number
  readonly sentMs: number
  /** The log position the request was built from; a response only applies to that position. */
  readonly fetchOffset: Offset
  readonly lastFetchedEpoch: Epoch
}

/** A FetchSnapshot download in progress (KIP-630), one chunk in flight at a time. */
export interface SnapshotDownload {
  readonly to: NodeId
  readonly id: SnapshotId
  readonly chunks: Uint8Array[]
  /** Bytes received so far; the next chunk starts here. */
  position: number
  /** Total size as the leader reported it; -1 until the first response. */
  size: number
  requestId: number
  sentMs: number
}

export interface UnattachedState {
  readonly role: 'unattached'
  /** Voters: when to become prospective. */
  electionDeadlineMs: number
  /** Observers: the fetch sent to a random voter to discover the leader. */
  probe: OutstandingFetch | null
  probeRetryAtMs: number
}

export interface VotedState {
  readonly role: 'voted'
  electionDeadlineMs: number
}

export interface ElectionState {
  readonly role: 'prospective' | 'candidate'
  /** Round timeout, or the end of the backoff once the round is lost. */
  deadlineMs: number
  readonly granted: Set<NodeId>
  readonly rejected: Set<NodeId>
  /** requestId of the Vote request outstanding to each voter. */
  readonly requests: Map<NodeId, number>
  /** The round is lost: wait for deadlineMs, then start over. */
  lost: boolean
  /** A leader of an older epoch was told ours this round (see RaftCore.notifyStaleLeader). */
  staleLeaderNotified: boolean
}

export interface FollowerState {
  readonly role: 'follower'
  /** No successful fetch by then: the leader is presumed dead (quorum.fetch.timeout.ms). */
  fetchDeadlineMs: number
  /** Last successful fetch from the leader in this follower stint; null before the first. */
  lastFetchSuccessMs: number | null
  /**
   * When to stand for election: set by EndQuorumEpoch, by a transport hint, or (with a random
   * delay, against split votes) once fetchDeadlineMs has passed. A successful fetch cancels it
   * unless the leader itself resigned ('end_quorum').
   */
  electionAtMs: number | null
  electionReason: 'end_quorum' | 'unreachable' | 'fetch_timeout' | null
  fetch: OutstandingFetch | null
  fetchRetryAtMs: number
  snapshot: SnapshotDownload | null
}

/** What a leader knows of one other replica, from its fetches in this epoch. */
export interface ReplicaTracker {
  readonly nodeId: NodeId
  readonly isVoter: boolean
  /** The fetch offset of its last valid fetch: everything below is durable there. -1 if none. */
  endOffset: Offset
  /** Last fetch of any kind in this epoch (check-quorum liveness). -1 if none. */
  lastFetchMs: number
  lastCaughtUpMs: number
}

export interface ParkedFetch {
  readonly from: NodeId
  readonly requestId: number
  readonly request: FetchRequest
  readonly deadlineMs: number
}

export interface PendingRequest {
  readonly requestId: number
  readonly sentMs: number
}

/** 'leader' and 'resigned' share this state: a resigned leader still serves fetches. */
export interface LeaderState {
  readonly role: 'leader' | 'resigned'
  readonly becameLeaderMs: number
  /** Every other voter, plus observers seen fetching (bounded). */
  readonly replicas: Map<NodeId, ReplicaTracker>
  /** Voters that have not yet acknowledged BeginQuorumEpoch (by response or by fetching). */
  readonly beginPending: Map<NodeId, PendingRequest>
  /** Resigned only: voters that have not acknowledged EndQuorumEpoch. */
  readonly endPending: Map<NodeId, PendingRequest>
  /** Resigned only: voters ordered most caught up first. */
  preferredSuccessors: readonly NodeId[]
  /** Long-polled fetches, at most one per replica. */
  readonly parked: Map<NodeId, ParkedFetch>
  /** Resigned only: when to stand for election ourselves if nobody else has. */
  electionDeadlineMs: number
}

export type RoleState = UnattachedState | VotedState | ElectionState | FollowerState | LeaderState
