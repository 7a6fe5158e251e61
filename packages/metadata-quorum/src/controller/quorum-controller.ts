/**
 * QuorumController: the pure glue between a RaftCore and a ControllerStateMachine (Kafka's
 * QuorumController with its Raft listener). Both the real driver (node/) and the simulator
 * (sim/) run exactly this, so the simulator tests the code that ships.
 *
 * It owns:
 * - applying: ready.applySnapshot and ready.committed go to the state machine, in order,
 *   before raft.advance(ready) (the order of the contract in raft/types.ts);
 * - activation: the state machine is active exactly while this node is Raft leader of
 *   epoch E, has applied E's leader_change entry, and had applied its whole log when it
 *   became active (so the speculative image is the whole log and every later entry of E is
 *   one of its own proposals). Leadership is re-checked after every input;
 * - submissions: a command's records are proposed as one entry; the submission completes
 *   'committed' when that offset commits in the same epoch, 'failed' when leadership is lost
 *   first (the caller answers NOT_CONTROLLER; the records may still commit later, as in
 *   Kafka, and a retry then sees them);
 * - answers that depend on uncommitted writes: a command that writes nothing was still
 *   decided against the speculative image (TOPIC_ALREADY_EXISTS for a topic whose record is
 *   not committed yet, a heartbeat's fencing state). If anything is in flight it waits, as
 *   pending, for the highest offset in flight, and fails with it if leadership is lost
 *   (Kafka's ControllerWriteEvent waits for the deferred queue's highest pending offset).
 *   So several submissions may wait on one offset, which is then completed once;
 * - the entry size limit: a write whose encoded batch exceeds MAX_RECORD_BATCH_BYTES is
 *   never proposed (RECORD_LIST_TOO_LARGE): followers could never fetch it, and the leader
 *   would lose leadership over it again and again;
 * - snapshots (KIP-630's policy, with Kafka's two keys): once snapshotIntervalBytes bytes of
 *   entry data were applied since the last snapshot, or snapshotIntervalMs passed since it
 *   and something was applied, takeSnapshot() hands one out; the caller persists it and
 *   calls snapshotTaken(), which lets Raft drop the log prefix. At most one is in flight.
 *   The last snapshot is the newest one taken, loaded at start-up or installed from the
 *   leader. Bytes, not entries: an entry's size varies by orders of magnitude (a heartbeat
 *   against a CreateTopics of many partitions), and bytes are what the log and a restart pay.
 *
 * Completions that arise outside advance() (leadership noticed lost in tick, receive,
 * submit or resign) are queued, and hasReady() is true until they are handed out: ready()
 * then returns an empty Ready that advance() recognises and does not forward to Raft. So
 * the caller's loop stays "while hasReady(): ready, persist, send, advance".
 */
import { ErrorCode, type NodeId, type metadata } from '@tributary/protocol'
import type { MetadataImage } from '../image/metadata-image.js'
import { encodeMetadataRecordBatch } from '../image/metadata-record-codec.js'
import { RaftCore } from '../raft/raft-core.js'
import type {
  Epoch,
  Offset,
  PersistentState,
  RaftConfig,
  RaftMessage,
  RaftStatus,
  Ready,
  Snapshot,
} from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import type { Random } from '../util/random.js'
import { ControllerStateMachine } from './controller-state-machine.js'
import type { ControllerCommand, ControllerConfig, ControllerResponse } from './types.js'
import { errorResponse } from './controller-responses.js'

/**
 * The largest encoded record batch (one Raft entry) the controller proposes. A Fetch
 * response must carry at least one whole entry, and gRPC refuses messages over 16 MiB; 1 MiB
 * leaves ample room for the envelope and keeps every node's replay of one entry short.
 */
export const MAX_RECORD_BATCH_BYTES = 1024 * 1024

export type SubmitResult =
  | { readonly kind: 'not_controller'; readonly leaderId: NodeId | null }
  /** Nothing to write and nothing in flight (or a refusal that needs no log): answer now. */
  | { readonly kind: 'done'; readonly response: ControllerResponse }
  /**
   * Proposed at `offset` in `epoch`, or (nothing to write) waiting for the highest offset in
   * flight: answer `response` once a Completion for `offset` says committed. Several
   * submissions may share an offset; it completes once.
   */
  | { readonly kind: 'pending'; readonly offset: Offset; readonly epoch: Epoch; readonly response: ControllerResponse }

export interface Completion {
  readonly offset: Offset
  readonly outcome: 'committed' | 'failed'
}

export interface QuorumControllerOptions {
  readonly raft: RaftConfig
  readonly controller: ControllerConfig
  readonly persisted: PersistentState
  readonly random: Random
  readonly logger: Logger
  readonly nowMs: number
}

type ProposeOutcome =
  | { readonly kind: 'ok'; readonly offset: Offset; readonly epoch: Epoch }
  | { readonly kind: 'too_large'; readonly bytes: number }
  | { readonly kind: 'refused' }

/** Handed out by ready() when only completions are due; never forwarded to Raft. */
const COMPLETIONS_ONLY_READY: Ready = Object.freeze({
  snapshot: null,
  truncateFrom: null,
  entries: Object.freeze([]),
  hardState: null,
  mustSync: false,
  messages: Object.freeze([]),
  applySnapshot: null,
  committed: Object.freeze([]),
})

export class QuorumController {
  readonly raft: RaftCore
  readonly stateMachine: ControllerStateMachine
  private readonly logger: Logger
  private readonly snapshotIntervalBytes: number
  private readonly snapshotIntervalMs: number

  /** offset -> epoch of submissions waiting for their entry to commit. */
  private readonly pending = new Map<Offset, Epoch>()
  private readonly queuedCompletions: Completion[] = []
  /** Epoch of the last leader_change entry applied; -1 if none since start. */
  private appliedLeaderChangeEpoch: Epoch = -1
  /** Epoch of the last entry applied (snapshots need it). */
  private lastAppliedEpoch: Epoch = 0
  /** End offset of the last snapshot (taken, in flight, loaded or installed). */
  private lastSnapshotEndOffset: Offset = 0
  /** Entry data bytes applied after lastSnapshotEndOffset. */
  private bytesSinceSnapshot = 0
  /** When the last snapshot was taken or installed (start-up counts as one). */
  private lastSnapshotMs: number
  private snapshotInFlight: Snapshot | null = null
  /** The last write proposed while active (submission or internal); null when inactive. */
  private lastProposed: { readonly offset: Offset; readonly epoch: Epoch } | null = null

  constructor(opts: QuorumControllerOptions) {
    this.logger = opts.logger
    this.snapshotIntervalBytes = opts.controller.snapshotIntervalBytes
    this.snapshotIntervalMs = opts.controller.snapshotIntervalMs
    this.lastSnapshotMs = opts.nowMs
    this.raft = new RaftCore(opts.raft, opts.persisted, opts.random, opts.logger, opts.nowMs)
    this.stateMachine = new ControllerStateMachine(opts.controller, opts.random, opts.logger, opts.raft.nodeId)
    // The state machine starts from the persisted snapshot; Raft hands the entries after it
    // out again as committed once it learns the high watermark.
    const snapshot = opts.persisted.snapshot
    if (snapshot !== null) {
      this.stateMachine.applySnapshot(snapshot)
      this.lastAppliedEpoch = snapshot.id.epoch
      this.lastSnapshotEndOffset = snapshot.id.endOffset
    }
  }

  // ---- Inputs --------------------------------------------------------------------------

  /** Raft timers, then (if active) the controller's own writes: fencing expired sessions. */
  tick(nowMs: number): void {
    this.raft.tick(nowMs)
    this.syncLeadership(nowMs)
    if (!this.stateMachine.isActive) return
    for (const write of this.stateMachine.tick(nowMs)) {
      if (this.propose(write.records, nowMs).kind !== 'ok') return
    }
  }

  /** A broker's BrokerSession stream to this node opened (every controller node keeps these hints). */
  brokerSessionOpened(brokerId: NodeId, brokerEpoch: bigint, _nowMs?: number): void {
    this.stateMachine.brokerSessionOpened(brokerId, brokerEpoch)
  }

  /**
   * A broker's BrokerSession stream to this node closed. The active controller fences the
   * broker at once if that was its last stream of its current epoch (the process died).
   */
  brokerSessionClosed(brokerId: NodeId, brokerEpoch: bigint, nowMs: number): void {
    this.stateMachine.brokerSessionClosed(brokerId, brokerEpoch, nowMs)
    this.syncLeadership(nowMs)
    if (!this.stateMachine.isActive) return
    for (const write of this.stateMachine.sessionTick(nowMs)) {
      if (this.propose(write.records, nowMs).kind !== 'ok') return
    }
  }

  receive(message: RaftMessage, nowMs: number): void {
    this.raft.receive(message, nowMs)
    this.syncLeadership(nowMs)
  }

  peerUnreachable(peer: NodeId, nowMs: number): void {
    this.raft.peerUnreachable(peer, nowMs)
    this.syncLeadership(nowMs)
  }

  resign(nowMs: number): void {
    this.raft.resign(nowMs)
    this.syncLeadership(nowMs)
  }

  submit(command: ControllerCommand, nowMs: number): SubmitResult {
    this.syncLeadership(nowMs)
    const sm = this.stateMachine
    if (!sm.isActive) return { kind: 'not_controller', leaderId: this.raft.status().leaderId }
    const result = sm.handle(command, nowMs)
    if (result.records.length === 0) {
      const inFlight = this.lastProposed
      if (inFlight === null || inFlight.offset <= sm.committedImage.offset) return { kind: 'done', response: result.response }
      this.pending.set(inFlight.offset, inFlight.epoch)
      return { kind: 'pending', offset: inFlight.offset, epoch: inFlight.epoch, response: result.response }
    }
    const proposed = this.propose(result.records, nowMs)
    switch (proposed.kind) {
      case 'refused':
        return { kind: 'not_controller', leaderId: this.raft.status().leaderId }
      case 'too_large':
        return {
          kind: 'done',
          response: errorResponse(
            command,
            ErrorCode.RECORD_LIST_TOO_LARGE.code,
            `The request would write a record batch of ${proposed.bytes} bytes; the limit is ${MAX_RECORD_BATCH_BYTES}.`,
            this.raft.status().nodeId,
          ),
        }
      case 'ok':
        this.pending.set(proposed.offset, proposed.epoch)
        return { kind: 'pending', offset: proposed.offset, epoch: proposed.epoch, response: result.response }
    }
  }

  // ---- Ready / advance -------------------------------------------------------------------

  hasReady(): boolean {
    return this.queuedCompletions.length > 0 || this.raft.hasReady()
  }

  ready(): Ready {
    return this.raft.hasReady() ? this.raft.ready() : COMPLETIONS_ONLY_READY
  }

  /**
   * Call after persisting ready's writes and sending its messages. Applies what committed,
   * advances Raft, and returns the submissions that completed (in offset order for commits).
   */
  advance(ready: Ready, nowMs: number): Completion[] {
    if (ready !== COMPLETIONS_ONLY_READY) {
      // Inputs cannot arrive between ready() and advance(), but be exact: a controller that
      // lost leadership must not see its replaced entries as its own.
      this.syncLeadership(nowMs)
      if (ready.applySnapshot !== null) this.applySnapshot(ready.applySnapshot, nowMs)
      for (const entry of ready.committed) {
        this.stateMachine.applyCommitted(entry)
        this.lastAppliedEpoch = entry.epoch
        this.bytesSinceSnapshot += entry.data.byteLength
        if (entry.kind === 'leader_change') this.appliedLeaderChangeEpoch = entry.epoch
        const epoch = this.pending.get(entry.offset)
        if (epoch !== undefined) {
          this.pending.delete(entry.offset)
          // Same offset and epoch means the same entry (Log Matching, Raft §5.3).
          this.queuedCompletions.push({ offset: entry.offset, outcome: epoch === entry.epoch ? 'committed' : 'failed' })
        }
      }
      this.raft.advance(ready, nowMs)
      this.syncLeadership(nowMs)
    }
    return this.queuedCompletions.splice(0, this.queuedCompletions.length)
  }

  // ---- Snapshots -------------------------------------------------------------------------

  /**
   * A snapshot of the committed image if one is due (see the module header) and none is in
   * flight; else null. Persist it, then call snapshotTaken().
   */
  takeSnapshot(nowMs: number): Snapshot | null {
    if (this.snapshotInFlight !== null) return null
    const endOffset = this.stateMachine.committedImage.offset + 1
    if (endOffset <= this.lastSnapshotEndOffset) return null
    const bytesDue = this.bytesSinceSnapshot >= this.snapshotIntervalBytes
    const timeDue = this.snapshotIntervalMs > 0 && nowMs - this.lastSnapshotMs >= this.snapshotIntervalMs
    if (!bytesDue && !timeDue) return null
    const snapshot: Snapshot = { id: { endOffset, epoch: this.lastAppliedEpoch }, data: this.stateMachine.snapshotData() }
    this.logger.info(
      { endOffset, epoch: this.lastAppliedEpoch, bytes: snapshot.data.byteLength, entryBytesSince: this.bytesSinceSnapshot, trigger: bytesDue ? 'bytes' : 'time' },
      'took a metadata snapshot',
    )
    this.snapshotInFlight = snapshot
    this.lastSnapshotEndOffset = endOffset
    this.bytesSinceSnapshot = 0
    this.lastSnapshotMs = nowMs
    return snapshot
  }

  /** The snapshot from takeSnapshot() is durable: Raft may drop the log before it. */
  snapshotTaken(snapshot: Snapshot, _nowMs?: number): void {
    assert(this.snapshotInFlight !== null && this.snapshotInFlight.id.endOffset === snapshot.id.endOffset, 'snapshotTaken must follow takeSnapshot with the same snapshot')
    this.snapshotInFlight = null
    this.lastSnapshotEndOffset = Math.max(this.lastSnapshotEndOffset, snapshot.id.endOffset)
    this.raft.snapshotTaken(snapshot)
  }

  // ---- Views -----------------------------------------------------------------------------

  status(): RaftStatus {
    return this.raft.status()
  }

  committedImage(): MetadataImage {
    return this.stateMachine.committedImage
  }

  isActive(): boolean {
    return this.stateMachine.isActive
  }

  // ---- Internals -------------------------------------------------------------------------

  private applySnapshot(snapshot: Snapshot, nowMs: number): void {
    this.stateMachine.applySnapshot(snapshot)
    this.lastAppliedEpoch = snapshot.id.epoch
    // The leader's snapshot is now our last one: it covers everything applied so far.
    this.lastSnapshotEndOffset = Math.max(this.lastSnapshotEndOffset, snapshot.id.endOffset)
    this.bytesSinceSnapshot = 0
    this.lastSnapshotMs = nowMs
    // A snapshot that jumps over a waiting offset leaves its outcome unknown: not acknowledged.
    for (const offset of [...this.pending.keys()]) {
      if (offset < snapshot.id.endOffset) {
        this.pending.delete(offset)
        this.queuedCompletions.push({ offset, outcome: 'failed' })
      }
    }
  }

  /**
   * Proposes one write the state machine just decided (and applied speculatively). On a
   * Raft refusal the controller steps down. A batch over MAX_RECORD_BATCH_BYTES is not
   * proposed; the speculative image holding it is dropped and rebuilt (see discardWrites).
   */
  private propose(records: readonly metadata.MetadataRecord[], nowMs: number): ProposeOutcome {
    const sm = this.stateMachine
    const data = encodeMetadataRecordBatch(records)
    if (data.byteLength > MAX_RECORD_BATCH_BYTES) {
      this.logger.warn({ bytes: data.byteLength, limit: MAX_RECORD_BATCH_BYTES, records: records.length }, 'refused to propose a record batch over the size limit')
      this.discardWrites(nowMs)
      return { kind: 'too_large', bytes: data.byteLength }
    }
    const result = this.raft.propose(data, nowMs)
    if (result.kind !== 'ok' || result.epoch !== sm.activeEpoch) {
      // The speculative image now holds records Raft did not take: it is wrong, drop it.
      this.logger.warn({ activeEpoch: sm.activeEpoch, result }, 'Raft refused a proposal of the active controller')
      this.deactivate()
      return { kind: 'refused' }
    }
    sm.recordProposed(result.offset, records)
    this.lastProposed = { offset: result.offset, epoch: result.epoch }
    return { kind: 'ok', offset: result.offset, epoch: result.epoch }
  }

  /**
   * Drops a speculative write that will not be proposed. The state machine cannot undo one
   * write, so the speculative image is dropped whole (deactivate) and rebuilt from the
   * committed image at once when nothing else is in flight. Writes already in flight are
   * failed (NOT_CONTROLLER, retriable; they may still commit), which is rare: it takes an
   * oversized request while others are uncommitted.
   */
  private discardWrites(nowMs: number): void {
    this.deactivate()
    this.syncLeadership(nowMs)
  }

  /** Activates or deactivates the state machine to match Raft leadership (see header). */
  private syncLeadership(nowMs: number): void {
    const sm = this.stateMachine
    const status = this.raft.status()
    const leads = status.role === 'leader'
    if (sm.isActive && !(leads && status.epoch === sm.activeEpoch)) this.deactivate()
    if (
      !sm.isActive &&
      leads &&
      this.appliedLeaderChangeEpoch === status.epoch &&
      sm.committedImage.offset + 1 === status.logEndOffset
    ) {
      sm.becomeActive(status.epoch, nowMs)
    }
  }

  private deactivate(): void {
    this.stateMachine.becomeInactive()
    this.lastProposed = null
    for (const offset of [...this.pending.keys()].sort((a, b) => a - b)) this.queuedCompletions.push({ offset, outcome: 'failed' })
    this.pending.clear()
  }
}
