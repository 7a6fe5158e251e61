/**
 * The simulator's building blocks, exported for other packages' simulators (the broker's
 * replication simulator runs the controller quorum on these and adds brokers around it).
 * Re-exports only: nothing here has state of its own.
 */
export { SimClock } from './sim-clock.js'
export {
  SimNetwork,
  CLEAN_NETWORK,
  splitPartition,
  oneWayPartition,
  type Addressed,
  type DropReason,
  type Link,
  type NetworkFaults,
  type NetworkListener,
  type Partition as NetworkPartition,
} from './sim-network.js'
export { SimNode, crashesBeforeSync, drawCrashPoint, durableAtCrash, errorText, type CrashPoint, type NodeHost } from './sim-node.js'
export { SimRaftStore, StoredLog, type DurableAtCrash } from './sim-raft-store.js'
export { InvariantChecker as RaftInvariantChecker, type Violation as RaftViolation, type InvariantName as RaftInvariantName } from './invariant-checker.js'
export { ControllerReplica, simControllerConfig } from './controller-replica.js'
export type { ReplicaContext, ReplicaFactory, SimCompletion, SimReplica, SimRequest, SubmitOutcome } from './sim-replica.js'
export { forkRandom, chance, between, pick, pickWeighted, randomCut, shuffled, subset } from './sim-random.js'
export { traceLine, describeMessage, TraceLoggers, type TraceSink } from './sim-trace.js'
export { scheduleFaults, type FaultTiming } from './sim-fault-schedule.js'
export { parseSimArgs, optionalInt, usageError } from './sim-cli-args.js'
