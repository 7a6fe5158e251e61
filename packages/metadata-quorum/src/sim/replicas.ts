/**
 * The replica factories the simulator ships with: raft mode (the real RaftCore with a list
 * state machine) and controller mode (the real QuorumController).
 */
import { RaftCore } from '../raft/raft-core.js'
import { controllerReplicaFactory } from './controller-replica.js'
import { raftCoreReplicaFactory } from './raft-core-replica.js'
import type { ReplicaFactory } from './sim-replica.js'
import type { WorkloadMode } from './sim-workload.js'

export const raftModeFactory: ReplicaFactory = raftCoreReplicaFactory(
  (ctx) => new RaftCore(ctx.raft, ctx.persisted, ctx.random, ctx.logger, ctx.nowMs),
)

export function replicaFactoryFor(mode: WorkloadMode): ReplicaFactory {
  return mode === 'raft' ? raftModeFactory : controllerReplicaFactory
}
