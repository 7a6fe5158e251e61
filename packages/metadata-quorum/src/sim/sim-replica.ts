/**
 * SimReplica: what the simulator drives on each node. Two implementations exist: a bare
 * RaftCore with a ListStateMachine (raft mode) and a QuorumController (controller mode).
 * Planted-bug tests wrap or fake this interface to prove the invariant checker fires.
 *
 * The simulator owns persistence (steps 1-2 of the Ready contract in raft/types.ts); the
 * replica owns its state machine, so `applyAndAdvance` is steps 3-4.
 */
import type { NodeId } from '@tributary/protocol'
import type { ControllerCommand, ControllerResponse } from '../controller/types.js'
import type { Epoch, Offset, PersistentState, RaftConfig, RaftMessage, RaftStatus, Ready, Snapshot } from '../raft/types.js'
import type { Logger } from '../util/logger.js'
import type { Random } from '../util/random.js'

/** A client request: raw bytes in raft mode, a controller command in controller mode. */
export type SimRequest =
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'command'; readonly command: ControllerCommand }

export type SubmitOutcome =
  | { readonly kind: 'not_leader'; readonly leaderId: NodeId | null }
  /** Answered without writing anything (a validation error, a no-op). */
  | { readonly kind: 'done'; readonly detail: string; readonly response?: ControllerResponse }
  /** Appended at `offset` in `epoch`; the outcome arrives later as a Completion. */
  | {
      readonly kind: 'pending'
      readonly offset: Offset
      readonly epoch: Epoch
      readonly detail: string
      /** Controller mode: the response to send once committed. */
      readonly response?: ControllerResponse
    }

export interface SimCompletion {
  readonly offset: Offset
  readonly outcome: 'committed' | 'failed'
}

export interface SimReplica {
  tick(nowMs: number): void
  receive(message: RaftMessage, nowMs: number): void
  resign(nowMs: number): void
  peerUnreachable(peer: NodeId, nowMs: number): void
  submit(request: SimRequest, nowMs: number): SubmitOutcome
  hasReady(): boolean
  ready(): Ready
  /** Steps 3 and 4: apply ready.applySnapshot and ready.committed, then advance. */
  applyAndAdvance(ready: Ready, nowMs: number): readonly SimCompletion[]
  status(): RaftStatus
  /** One past the last entry applied to the state machine. */
  appliedEndOffset(): Offset
  /** A digest of the state machine; equal states give equal fingerprints. */
  fingerprint(): string
  /**
   * A snapshot of the state machine to persist, if one is due; the simulator saves it and
   * then calls snapshotSaved. Null when none is due.
   */
  snapshotDue(nowMs: number): Snapshot | null
  snapshotSaved(snapshot: Snapshot, nowMs: number): void
}

export interface ReplicaContext {
  readonly raft: RaftConfig
  readonly persisted: PersistentState
  readonly random: Random
  readonly logger: Logger
  readonly nowMs: number
  readonly snapshotIntervalEntries: number
}

/** Builds a node's replica at start and at every restart. */
export type ReplicaFactory = (ctx: ReplicaContext) => SimReplica
