/**
 * ReplicationScenario: everything about a replication simulation run that the seed chooses
 * up front: cluster shape (controllers, brokers, partitions), timing (session timeout,
 * replica.lag.time.max.ms, fetch waits), disk and network fault rates, the fault mix and
 * the produce rate. The fault schedule itself is drawn as the run goes (so it can target the
 * current partition leader or the active controller), from the same seed.
 *
 * Ranges spread seeds from calm (no drops, rare faults) to hostile (drops, slow messages
 * longer than the request timeouts, pauses longer than the broker session, a fault every
 * 100 ms).
 */
import { DEFAULT_RAFT_TIMING, between, pick, type NetworkFaults, type RaftConfig, type Random } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'

/** Everything of RaftConfig but the membership. */
export type RaftTiming = Omit<RaftConfig, 'nodeId' | 'voters'>

/** Relative weights of the faults the run injects (0 turns one off). */
export interface ReplicationFaultWeights {
  /** A broker process dies (SIGKILL): unsynced data is lost, perhaps partly. */
  readonly crashBroker: number
  /** The broker leading a partition dies. */
  readonly crashLeader: number
  /** A broker stops cleanly (controlled shutdown first) and restarts. */
  readonly restartBroker: number
  /** A controller process dies (the active one half the time). */
  readonly crashController: number
  /** The active controller resigns (Raft leadership moves; its pending proposals may still commit). */
  readonly resignController: number
  /** The network splits the servers in two. */
  readonly split: number
  /** One broker (a partition leader half the time) is cut off from everyone. */
  readonly isolateBroker: number
  /** Messages from one group stop reaching another, but not the other way round. */
  readonly oneWay: number
  /** A process stops (GC pause, SIGSTOP), sometimes for longer than the broker session. */
  readonly pause: number
}

export interface ReplicationScenario {
  readonly controllerIds: readonly NodeId[]
  readonly brokerIds: readonly NodeId[]
  readonly partitionCount: number
  readonly replicationFactor: number
  readonly minInsyncReplicas: number
  readonly raftTiming: RaftTiming
  readonly raftTickIntervalMs: number
  /** broker.session.timeout.ms and the heartbeat interval (Kafka: 9 s and 2 s). */
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly replicaLagTimeMaxMs: number
  /** A follower's long poll (replica.fetch.wait.max.ms) and how long it waits for an answer. */
  readonly fetchMaxWaitMs: number
  readonly fetchTimeoutMs: number
  /** Batches per fetch response at most (small values spread catch-up over round trips). */
  readonly fetchMaxBatches: number
  /** After a failed fetch or OffsetsForLeaderEpoch (replica.fetch.backoff.ms). */
  readonly fetchBackoffMs: number
  /** How long a controller RPC (AlterPartition, heartbeat, registration) may take before its outcome is unknown. */
  readonly controllerRequestTimeoutMs: number
  /** The producer's request timeout; the leader answers REQUEST_TIMED_OUT at this point too. */
  readonly produceTimeoutMs: number
  /** The broker's periodic work (ISR shrink check, timeouts). */
  readonly brokerTickIntervalMs: number
  /** HW checkpoint (replication-offset-checkpoint) interval. */
  readonly checkpointIntervalMs: number
  /** A controlled shutdown that does not finish in this long stops the broker anyway. */
  readonly controlledShutdownTimeoutMs: number
  readonly network: NetworkFaults
  /** Per fsync: the chance it is slow, and how slow at most. */
  readonly slowSyncProbability: number
  readonly slowSyncMaxMs: number
  /** Per metadata-log Ready that must be synced: the chance the process crashes inside it. */
  readonly crashAtSyncProbability: number
  /** On a crash, the chance that each unsynced batch (in order) still reached the disk. */
  readonly unsyncedSurvivalProbability: number
  readonly faultPhaseMs: number
  readonly faultGapMinMs: number
  readonly faultGapMaxMs: number
  readonly faults: ReplicationFaultWeights
  readonly downtimeMaxMs: number
  readonly partitionMaxMs: number
  readonly pauseMaxMs: number
  readonly produceIntervalMinMs: number
  readonly produceIntervalMaxMs: number
  readonly snapshotIntervalEntries: number
}

export interface ReplicationScenarioOverrides {
  readonly faultPhaseMs?: number
  readonly brokerCount?: number
}

/** Controller node ids; brokers are 1..N (Kafka's node.id for both, kept apart here). */
const CONTROLLER_ID_BASE = 100

export function chooseReplicationScenario(random: Random, overrides: ReplicationScenarioOverrides = {}): ReplicationScenario {
  // Drawn even when overridden, so an override shifts no other choice of the seed.
  const drawnBrokers = pick(random, [3, 3, 3, 4, 5] as const)
  const brokerCount = overrides.brokerCount ?? drawnBrokers
  const controllerCount = pick(random, [1, 3, 3, 3] as const)
  const controllerIds: NodeId[] = []
  for (let i = 1; i <= controllerCount; i++) controllerIds.push((CONTROLLER_ID_BASE + i) as NodeId)
  const brokerIds: NodeId[] = []
  for (let i = 1; i <= brokerCount; i++) brokerIds.push(i as NodeId)

  const d = DEFAULT_RAFT_TIMING
  const raftTiming: RaftTiming = {
    fetchTimeoutMs: d.fetchTimeoutMs,
    electionTimeoutMs: d.electionTimeoutMs,
    electionJitterMs: d.electionJitterMs,
    fetchMaxWaitMs: d.fetchMaxWaitMs,
    requestTimeoutMs: d.requestTimeoutMs,
    fetchMaxBytes: pick(random, [d.fetchMaxBytes, d.fetchMaxBytes, 4096] as const),
    snapshotChunkBytes: d.snapshotChunkBytes,
  }
  const sessionTimeoutMs = pick(random, [600, 1000, 1500, 3000] as const)
  const maxDelayMs = pick(random, [2, 5, 10, 20] as const)
  const network: NetworkFaults = {
    dropProbability: pick(random, [0, 0, 0.01, 0.03] as const),
    // The broker's RPCs ride gRPC (TCP): never duplicated. The Raft network draws its own.
    duplicateProbability: pick(random, [0, 0, 0.01] as const),
    minDelayMs: 1,
    maxDelayMs,
    slowProbability: pick(random, [0, 0, 0.02, 0.05] as const),
    slowMaxDelayMs: pick(random, [100, 400, 1500] as const),
  }
  const fetchMaxWaitMs = pick(random, [50, 100, 200] as const)
  const calm = random.next() < 0.15
  return {
    controllerIds,
    brokerIds,
    partitionCount: between(random, 1, 3),
    replicationFactor: 3,
    minInsyncReplicas: 2,
    raftTiming,
    raftTickIntervalMs: 10,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.round(sessionTimeoutMs / pick(random, [3, 5] as const)),
    replicaLagTimeMaxMs: pick(random, [200, 500, 1000, 2000] as const),
    fetchMaxWaitMs,
    fetchTimeoutMs: fetchMaxWaitMs + pick(random, [100, 300] as const),
    fetchMaxBatches: pick(random, [2, 8, 64] as const),
    fetchBackoffMs: pick(random, [10, 50] as const),
    controllerRequestTimeoutMs: pick(random, [300, 1000] as const),
    produceTimeoutMs: pick(random, [500, 1500, 3000] as const),
    brokerTickIntervalMs: 10,
    checkpointIntervalMs: pick(random, [20, 100, 500] as const),
    controlledShutdownTimeoutMs: 2000,
    network,
    slowSyncProbability: pick(random, [0, 0.05, 0.3] as const),
    slowSyncMaxMs: pick(random, [5, 50, 300] as const),
    crashAtSyncProbability: pick(random, [0, 0, 0.002, 0.01] as const),
    unsyncedSurvivalProbability: pick(random, [0, 0.5, 0.9] as const),
    faultPhaseMs: overrides.faultPhaseMs ?? between(random, 3000, 8000),
    faultGapMinMs: calm ? 800 : 50,
    faultGapMaxMs: calm ? 3000 : pick(random, [300, 800, 1500] as const),
    faults: {
      crashBroker: between(random, 0, 4),
      crashLeader: between(random, 0, 4),
      restartBroker: between(random, 0, 3),
      crashController: between(random, 0, 2),
      resignController: between(random, 0, 2),
      split: between(random, 0, 3),
      isolateBroker: between(random, 0, 3),
      oneWay: between(random, 0, 2),
      pause: between(random, 0, 3),
    },
    downtimeMaxMs: pick(random, [100, 500, 2000] as const),
    partitionMaxMs: pick(random, [200, 1000, 3000] as const),
    pauseMaxMs: pick(random, [100, 800, 4000] as const),
    produceIntervalMinMs: 2,
    produceIntervalMaxMs: pick(random, [10, 30, 80] as const),
    snapshotIntervalEntries: pick(random, [20, 100] as const),
  }
}

export function describeReplicationScenario(s: ReplicationScenario): string[] {
  const n = s.network
  return [
    `controllers [${s.controllerIds.join(',')}], brokers [${s.brokerIds.join(',')}], ${s.partitionCount} partitions, RF ${s.replicationFactor}, min.insync.replicas ${s.minInsyncReplicas}`,
    `session ${s.sessionTimeoutMs} ms (heartbeat ${s.heartbeatIntervalMs} ms), replica.lag.time.max.ms ${s.replicaLagTimeMaxMs}, ` +
      `fetch wait ${s.fetchMaxWaitMs} ms timeout ${s.fetchTimeoutMs} ms max ${s.fetchMaxBatches} batches, backoff ${s.fetchBackoffMs} ms`,
    `controller RPC timeout ${s.controllerRequestTimeoutMs} ms, produce timeout ${s.produceTimeoutMs} ms, HW checkpoint every ${s.checkpointIntervalMs} ms`,
    `network: delay ${n.minDelayMs}-${n.maxDelayMs} ms, slow ${n.slowProbability} up to ${n.slowMaxDelayMs} ms, drop ${n.dropProbability}, Raft duplicates ${n.duplicateProbability}`,
    `disk: slow fsync ${s.slowSyncProbability} up to ${s.slowSyncMaxMs} ms, metadata crash inside a Ready ${s.crashAtSyncProbability}, unsynced batch survives a crash ${s.unsyncedSurvivalProbability}`,
    `faults for ${s.faultPhaseMs} ms, every ${s.faultGapMinMs}-${s.faultGapMaxMs} ms, weights ${JSON.stringify(s.faults)}, ` +
      `downtime up to ${s.downtimeMaxMs} ms, partitions up to ${s.partitionMaxMs} ms, pauses up to ${s.pauseMaxMs} ms`,
    `produce every ${s.produceIntervalMinMs}-${s.produceIntervalMaxMs} ms`,
  ]
}
