/**
 * ControllerReplica: controller mode. Each node runs the QuorumController that ships (Raft
 * core + controller state machine), so the simulator checks the real glue: activation,
 * submissions and their completions, snapshots of the metadata image.
 *
 * The state machine fingerprint is the committed MetadataImage's fingerprint(); the applied
 * offset is the image offset + 1.
 */
import { errorInfo } from '@tributary/protocol'
import { QuorumController, type SubmitResult } from '../controller/quorum-controller.js'
import type { ControllerConfig, ControllerResponse } from '../controller/types.js'
import type { NodeId } from '@tributary/protocol'
import type { Offset, RaftMessage, RaftStatus, Ready, Snapshot } from '../raft/types.js'
import type { ReplicaContext, ReplicaFactory, SimCompletion, SimReplica, SimRequest, SubmitOutcome } from './sim-replica.js'

/** Controller settings for the simulator: short broker sessions so fencing happens in a run. */
export function simControllerConfig(snapshotIntervalEntries: number): ControllerConfig {
  return {
    defaultNumPartitions: 1,
    defaultReplicationFactor: 3,
    brokerSessionTimeoutMs: 1500,
    // The controller's policy is in bytes; ~16 bytes per small sim entry keeps snapshots frequent.
    snapshotIntervalBytes: snapshotIntervalEntries * 16,
    snapshotIntervalMs: 0,
  }
}

export class ControllerReplica implements SimReplica {
  constructor(readonly controller: QuorumController) {}

  tick(nowMs: number): void {
    this.controller.tick(nowMs)
  }

  receive(message: RaftMessage, nowMs: number): void {
    this.controller.receive(message, nowMs)
  }

  resign(nowMs: number): void {
    this.controller.resign(nowMs)
  }

  peerUnreachable(peer: NodeId, nowMs: number): void {
    this.controller.peerUnreachable(peer, nowMs)
  }

  submit(request: SimRequest, nowMs: number): SubmitOutcome {
    if (request.kind !== 'command') return { kind: 'done', detail: 'controller mode takes commands only' }
    const result: SubmitResult = this.controller.submit(request.command, nowMs)
    switch (result.kind) {
      case 'not_controller':
        return { kind: 'not_leader', leaderId: result.leaderId }
      case 'done':
        return { kind: 'done', detail: describeResponse(result.response), response: result.response }
      case 'pending':
        return { kind: 'pending', offset: result.offset, epoch: result.epoch, detail: describeResponse(result.response), response: result.response }
    }
  }

  hasReady(): boolean {
    return this.controller.hasReady()
  }

  ready(): Ready {
    return this.controller.ready()
  }

  applyAndAdvance(ready: Ready, nowMs: number): readonly SimCompletion[] {
    return this.controller.advance(ready, nowMs)
  }

  status(): RaftStatus {
    return this.controller.status()
  }

  appliedEndOffset(): Offset {
    return this.controller.committedImage().offset + 1
  }

  fingerprint(): string {
    return this.controller.committedImage().fingerprint()
  }

  snapshotDue(nowMs: number): Snapshot | null {
    return this.controller.takeSnapshot(nowMs)
  }

  snapshotSaved(snapshot: Snapshot, nowMs: number): void {
    this.controller.snapshotTaken(snapshot, nowMs)
  }
}

export const controllerReplicaFactory: ReplicaFactory = (ctx: ReplicaContext) =>
  new ControllerReplica(new QuorumController({
    raft: ctx.raft,
    controller: simControllerConfig(ctx.snapshotIntervalEntries),
    persisted: ctx.persisted,
    random: ctx.random,
    logger: ctx.logger,
    nowMs: ctx.nowMs,
  }))

function describeResponse(r: ControllerResponse): string {
  const codes: number[] = [r.response.errorCode]
  if (r.type === 'create_topics' || r.type === 'delete_topics' || r.type === 'create_partitions') {
    for (const t of r.response.topics) codes.push(t.errorCode)
  }
  const names = codes.filter((c) => c !== 0).map((c) => errorInfo(c).name)
  return names.length === 0 ? 'ok' : names.join(',')
}
