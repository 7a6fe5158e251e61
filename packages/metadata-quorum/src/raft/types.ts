/**
 * The contract between the pure Raft core (RaftCore) and whatever drives it: the real
 * driver (disk + gRPC) or the simulator (SimDisk + SimNetwork + SimClock).
 *
 * Vocabulary: `epoch` is the Raft term (KIP-595 says epoch), `offset` is a log index
 * starting at 0, an `endOffset` is one past the last entry. The high watermark is the
 * commit point: entries below it are committed.
 *
 * The core is synchronous and deterministic. It never touches time, randomness or I/O on its
 * own: time comes in as `nowMs` on every input, randomness through an injected `Random`.
 * Inputs (tick, receive, propose, resign, snapshotTaken) queue work; `ready()` hands out what
 * to persist, what to send once persisted, and what to apply. The driver must:
 *   1. persist ready.hardState first, then ready.snapshot, then ready.truncateFrom, then
 *      ready.entries, and fsync if ready.mustSync. The hard state goes first so that a crash
 *      part-way never leaves a log (or snapshot) whose epoch is above the durable hard
 *      state's: the hard state only ever runs ahead of the log, which is harmless, as the
 *      messages that depend on the Ready have not left. (RaftCore also starts from the
 *      other shape, adopting the log's epoch with no vote, but a store must not rely on it.)
 *   2. only then send ready.messages (persist before you send, etcd-raft's rule);
 *   3. apply ready.applySnapshot (if any) and then ready.committed to the state machine;
 *   4. call advance(ready).
 */
import type { NodeId } from '@tributary/protocol'

export type Epoch = number
export type Offset = number

export interface RaftEntry {
  readonly epoch: Epoch
  readonly offset: Offset
  /** 'leader_change' is the control entry a new leader appends first in its epoch. */
  readonly kind: 'data' | 'leader_change'
  /** For 'data': an encoded tributary.metadata.MetadataRecordBatch. Empty for leader_change. */
  readonly data: Uint8Array
}

/** A snapshot covers offsets [0, endOffset); epoch is that of the entry at endOffset - 1. */
export interface SnapshotId {
  readonly endOffset: Offset
  readonly epoch: Epoch
}

export interface Snapshot {
  readonly id: SnapshotId
  /** The state machine's image, encoded by the state machine. Opaque to Raft. */
  readonly data: Uint8Array
}

/** Must be durable before any message that depends on it is sent (votes especially). */
export interface HardState {
  readonly epoch: Epoch
  readonly votedFor: NodeId | null
  /** The leader known for `epoch`, if any; kept so a restarted node does not vote again. */
  readonly leaderId: NodeId | null
}

/** What a node recovered from disk at start-up. */
export interface PersistentState {
  readonly hardState: HardState
  readonly snapshot: Snapshot | null
  /** Entries after the snapshot, contiguous, starting at snapshot?.id.endOffset ?? 0. */
  readonly entries: readonly RaftEntry[]
}

export const EMPTY_PERSISTENT_STATE: PersistentState = {
  hardState: { epoch: 0, votedFor: null, leaderId: null },
  snapshot: null,
  entries: [],
}

// ---- Messages --------------------------------------------------------------------------
// Requests and responses are separate one-way messages matched by (peer, requestId).
// A response carries the requestId of its request. The gRPC transport maps a request to a
// unary call and its response back; the simulator just delivers them (or not).

export interface VoteRequest {
  readonly type: 'vote_request'
  readonly candidateEpoch: Epoch
  readonly lastEpoch: Epoch
  readonly lastEndOffset: Offset
  readonly preVote: boolean
}
export interface VoteResponse {
  readonly type: 'vote_response'
  readonly errorCode: number
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
  readonly voteGranted: boolean
  readonly preVote: boolean
}
export interface BeginQuorumEpochRequest {
  readonly type: 'begin_quorum_epoch_request'
  readonly leaderEpoch: Epoch
}
export interface BeginQuorumEpochResponse {
  readonly type: 'begin_quorum_epoch_response'
  readonly errorCode: number
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
}
export interface EndQuorumEpochRequest {
  readonly type: 'end_quorum_epoch_request'
  readonly leaderEpoch: Epoch
  readonly preferredSuccessors: readonly NodeId[]
}
export interface EndQuorumEpochResponse {
  readonly type: 'end_quorum_epoch_response'
  readonly errorCode: number
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
}
export interface FetchRequest {
  readonly type: 'fetch_request'
  /** The fetcher's current epoch. */
  readonly replicaEpoch: Epoch
  /** The fetcher's durable log end offset. */
  readonly fetchOffset: Offset
  /** Epoch of the entry at fetchOffset - 1 (0 when fetchOffset is 0). */
  readonly lastFetchedEpoch: Epoch
  /** Long poll: the leader may hold the request this long waiting for new entries. */
  readonly maxWaitMs: number
  readonly maxBytes: number
  /**
   * The fetcher's high watermark, or UNKNOWN_HIGH_WATERMARK. The leader holds the fetch only
   * if this is already at least its own; otherwise the answer leaves at once so the fetcher
   * learns the commit point (KIP-1166). The leader keeps no per-replica memory of it.
   */
  readonly highWatermark: Offset
}

/** A FetchRequest's highWatermark when the fetcher knows none: never long-polled. */
export const UNKNOWN_HIGH_WATERMARK: Offset = -1

export interface FetchResponse {
  readonly type: 'fetch_response'
  readonly errorCode: number
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
  readonly highWatermark: Offset
  readonly logStartOffset: Offset
  /** The fetcher's log diverges: truncate to min(endOffset, own end offset of `epoch`). */
  readonly divergingEpoch: { readonly epoch: Epoch; readonly endOffset: Offset } | null
  /** fetchOffset is below the leader's log start: fetch this snapshot first. */
  readonly snapshotId: SnapshotId | null
  readonly entries: readonly RaftEntry[]
}
export interface FetchSnapshotRequest {
  readonly type: 'fetch_snapshot_request'
  readonly replicaEpoch: Epoch
  readonly snapshotId: SnapshotId
  readonly position: number
  readonly maxBytes: number
}
export interface FetchSnapshotResponse {
  readonly type: 'fetch_snapshot_response'
  readonly errorCode: number
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
  readonly snapshotId: SnapshotId
  /** Total size of the snapshot in bytes. */
  readonly size: number
  readonly position: number
  readonly chunk: Uint8Array
}

export type RaftRequest =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest
  | FetchSnapshotRequest
export type RaftResponse =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse
  | FetchSnapshotResponse
export type RaftBody = RaftRequest | RaftResponse

export interface RaftMessage {
  readonly from: NodeId
  readonly to: NodeId
  /** Chosen by the requester, unique per (from, to) pair among its outstanding requests. */
  readonly requestId: number
  readonly body: RaftBody
}

export function isRequest(body: RaftBody): body is RaftRequest {
  return body.type.endsWith('_request')
}

// ---- Configuration, output and status --------------------------------------------------

export interface RaftConfig {
  readonly nodeId: NodeId
  /** The static voter set (controller.quorum.voters). A node not in it is an observer. */
  readonly voters: readonly NodeId[]
  /**
   * A follower that has had no successful fetch from the leader for this long starts an
   * election after a random delay in [0, electionJitterMs), so that the followers of a hung
   * leader do not split the vote; a leader that has not been fetched from by a majority for
   * this long resigns (check-quorum). KRaft's quorum.fetch.timeout.ms.
   */
  readonly fetchTimeoutMs: number
  /** Base election timeout; each wait adds a random jitter in [0, electionJitterMs). */
  readonly electionTimeoutMs: number
  readonly electionJitterMs: number
  /** Long-poll time the leader may hold a fetch. Must be well below fetchTimeoutMs. */
  readonly fetchMaxWaitMs: number
  /**
   * A request with no response after this long is considered lost and is retried (a Fetch
   * after requestTimeoutMs + fetchMaxWaitMs). Keep that sum below fetchTimeoutMs, or one lost
   * fetch makes the follower give up on its leader just when it would retry.
   */
  readonly requestTimeoutMs: number
  readonly fetchMaxBytes: number
  readonly snapshotChunkBytes: number
}

export const DEFAULT_RAFT_TIMING = {
  fetchTimeoutMs: 500,
  electionTimeoutMs: 100,
  electionJitterMs: 150,
  fetchMaxWaitMs: 200,
  // 200 + fetchMaxWaitMs = 400 < fetchTimeoutMs: a lost fetch is retried once before the
  // follower gives up on the leader.
  requestTimeoutMs: 200,
  fetchMaxBytes: 1 << 20,
  snapshotChunkBytes: 1 << 20,
} as const

export type RaftRole = 'unattached' | 'voted' | 'prospective' | 'candidate' | 'leader' | 'follower' | 'resigned'

export interface ReplicaProgress {
  readonly nodeId: NodeId
  /** As last reported by the replica's fetch; -1 if never fetched. */
  readonly logEndOffset: Offset
  readonly lastFetchTimestampMs: number
  readonly lastCaughtUpTimestampMs: number
}

export interface RaftStatus {
  readonly nodeId: NodeId
  readonly role: RaftRole
  readonly isVoter: boolean
  readonly epoch: Epoch
  readonly leaderId: NodeId | null
  readonly votedFor: NodeId | null
  readonly highWatermark: Offset
  readonly logStartOffset: Offset
  readonly logEndOffset: Offset
  /** Only filled on the leader: what it knows of each voter and observer. */
  readonly voters: readonly ReplicaProgress[]
  readonly observers: readonly ReplicaProgress[]
}

export interface Ready {
  /** A snapshot received from the leader, to persist. The whole log is replaced by it. */
  readonly snapshot: Snapshot | null
  /** Remove every entry with offset >= truncateFrom before appending. */
  readonly truncateFrom: Offset | null
  readonly entries: readonly RaftEntry[]
  /** Persisted before snapshot, truncateFrom and entries (see the module header). */
  readonly hardState: HardState | null
  /** fsync before sending: true whenever hardState or entries or snapshot is set. */
  readonly mustSync: boolean
  /** Send only after the above is durable. */
  readonly messages: readonly RaftMessage[]
  /** Reset the state machine to this snapshot before applying `committed`. */
  readonly applySnapshot: Snapshot | null
  /** Newly committed entries, in offset order, not yet handed out before. */
  readonly committed: readonly RaftEntry[]
}

export type ProposeResult =
  | { readonly kind: 'ok'; readonly offset: Offset; readonly epoch: Epoch }
  | { readonly kind: 'not_leader'; readonly leaderId: NodeId | null }
