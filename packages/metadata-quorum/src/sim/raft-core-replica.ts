/**
 * RaftCoreReplica: raft mode. A bare Raft core plus a ListStateMachine, so the simulator
 * can check election safety, log agreement and apply order without the controller.
 *
 * The core is reached through `RaftCoreLike` (the public surface of RaftCore in
 * raft/raft-core.ts) so tests can put a deliberately broken core in its place.
 *
 * A proposal's outcome is decided when the entry at its offset is applied: the same epoch
 * means it is ours (Log Matching, Raft §5.3), another epoch means it was replaced. A
 * snapshot that jumps over a pending offset leaves the outcome unknown; it is reported as
 * failed, which only means "not acknowledged".
 */
import type { NodeId } from '@tributary/protocol'
import type {
  Epoch, Offset, ProposeResult, RaftMessage, RaftStatus, Ready, Snapshot,
} from '../raft/types.js'
import type { ReplicaContext, ReplicaFactory, SimCompletion, SimReplica, SimRequest, SubmitOutcome } from './sim-replica.js'
import { ListStateMachine } from './list-state-machine.js'

export interface RaftCoreLike {
  tick(nowMs: number): void
  receive(message: RaftMessage, nowMs: number): void
  propose(data: Uint8Array, nowMs: number): ProposeResult
  resign(nowMs: number): void
  snapshotTaken(snapshot: Snapshot): void
  peerUnreachable(peer: NodeId, nowMs: number): void
  hasReady(): boolean
  ready(): Ready
  advance(ready: Ready, nowMs: number): void
  status(): RaftStatus
}

export class RaftCoreReplica implements SimReplica {
  private readonly stateMachine = new ListStateMachine()
  private readonly pending = new Map<Offset, Epoch>()
  private lastSnapshotEnd: Offset = 0

  constructor(
    private readonly core: RaftCoreLike,
    private readonly snapshotIntervalEntries: number,
    restoredSnapshot: Snapshot | null,
  ) {
    // The state machine is rebuilt from the snapshot and nothing else; entries after it are
    // applied again as the core hands them out as committed.
    if (restoredSnapshot !== null) {
      this.stateMachine.restore(restoredSnapshot)
      this.lastSnapshotEnd = restoredSnapshot.id.endOffset
    }
  }

  tick(nowMs: number): void {
    this.core.tick(nowMs)
  }

  receive(message: RaftMessage, nowMs: number): void {
    this.core.receive(message, nowMs)
  }

  resign(nowMs: number): void {
    this.core.resign(nowMs)
  }

  peerUnreachable(peer: NodeId, nowMs: number): void {
    this.core.peerUnreachable(peer, nowMs)
  }

  submit(request: SimRequest, nowMs: number): SubmitOutcome {
    if (request.kind !== 'data') return { kind: 'done', detail: 'raft mode takes data only' }
    const result = this.core.propose(request.data, nowMs)
    if (result.kind === 'not_leader') return { kind: 'not_leader', leaderId: result.leaderId }
    this.pending.set(result.offset, result.epoch)
    return { kind: 'pending', offset: result.offset, epoch: result.epoch, detail: `${request.data.length} bytes` }
  }

  hasReady(): boolean {
    return this.core.hasReady()
  }

  ready(): Ready {
    return this.core.ready()
  }

  applyAndAdvance(ready: Ready, nowMs: number): readonly SimCompletion[] {
    const completions: SimCompletion[] = []
    const sm = this.stateMachine
    if (ready.applySnapshot !== null) {
      sm.restore(ready.applySnapshot)
      this.lastSnapshotEnd = Math.max(this.lastSnapshotEnd, ready.applySnapshot.id.endOffset)
      if (this.pending.size > 0) {
        for (const offset of [...this.pending.keys()]) {
          if (offset < sm.appliedEndOffset) {
            this.pending.delete(offset)
            completions.push({ offset, outcome: 'failed' })
          }
        }
      }
    }
    for (const entry of ready.committed) {
      sm.apply(entry)
      if (this.pending.size > 0) {
        const epoch = this.pending.get(entry.offset)
        if (epoch !== undefined) {
          this.pending.delete(entry.offset)
          completions.push({ offset: entry.offset, outcome: epoch === entry.epoch ? 'committed' : 'failed' })
        }
      }
    }
    this.core.advance(ready, nowMs)
    return completions
  }

  status(): RaftStatus {
    return this.core.status()
  }

  appliedEndOffset(): Offset {
    return this.stateMachine.appliedEndOffset
  }

  fingerprint(): string {
    return this.stateMachine.fingerprint()
  }

  snapshotDue(): Snapshot | null {
    const sm = this.stateMachine
    if (sm.appliedEndOffset - this.lastSnapshotEnd < this.snapshotIntervalEntries) return null
    return sm.snapshot()
  }

  snapshotSaved(snapshot: Snapshot): void {
    this.lastSnapshotEnd = snapshot.id.endOffset
    this.core.snapshotTaken(snapshot)
  }
}

/** A factory for raft mode around any RaftCoreLike constructor. */
export function raftCoreReplicaFactory(makeCore: (ctx: ReplicaContext) => RaftCoreLike): ReplicaFactory {
  return (ctx) => new RaftCoreReplica(makeCore(ctx), ctx.snapshotIntervalEntries, ctx.persisted.snapshot)
}
