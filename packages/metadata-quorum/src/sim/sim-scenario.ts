/**
 * SimScenario: everything about a run that the seed chooses up front: cluster shape,
 * timing, network and disk fault rates, the fault mix and the workload rate. The fault
 * schedule itself is drawn as the run goes (so it can target the current leader), from the
 * same seed.
 *
 * Ranges are chosen so that seeds spread from calm (no drops, rare faults) to hostile
 * (15% drops, slow messages longer than the request timeout, a fault every 100 ms).
 */
import type { NodeId } from '@tributary/protocol'
import { DEFAULT_RAFT_TIMING, type RaftConfig } from '../raft/types.js'
import type { Random } from '../util/random.js'
import type { NetworkFaults } from './sim-network.js'
import { between, pick } from './sim-random.js'

/** Everything of RaftConfig but the membership, which the scenario decides separately. */
export type RaftTiming = Omit<RaftConfig, 'nodeId' | 'voters'>

export interface FaultWeights {
  readonly crash: number
  readonly crashLeader: number
  readonly split: number
  readonly isolateLeader: number
  readonly oneWay: number
  readonly resignLeader: number
  /** A process stops (GC pause, SIGSTOP) and resumes later with its state. */
  readonly pause: number
}

export interface SimScenario {
  readonly voters: readonly NodeId[]
  readonly observers: readonly NodeId[]
  readonly timing: RaftTiming
  readonly tickIntervalMs: number
  readonly network: NetworkFaults
  /**
   * Per Ready that needs an fsync: the chance the node crashes inside it, half the time
   * before the fsync (nothing, only the hard state, or only the log durable), half right
   * after sending (see CrashPoint).
   */
  readonly crashAtSyncProbability: number
  /** Per fsync: the chance it is slow (inputs wait), and how slow at most. */
  readonly slowSyncProbability: number
  readonly slowSyncMaxMs: number
  /** Chance that a request to a down or cut-off peer fails fast (peerUnreachable). */
  readonly unreachableNoticeProbability: number
  readonly faultPhaseMs: number
  readonly faultGapMinMs: number
  readonly faultGapMaxMs: number
  readonly faults: FaultWeights
  readonly downtimeMaxMs: number
  readonly partitionMaxMs: number
  readonly pauseMaxMs: number
  readonly clientIntervalMinMs: number
  readonly clientIntervalMaxMs: number
  readonly snapshotIntervalEntries: number
}

export interface ScenarioOverrides {
  readonly faultPhaseMs?: number
  /** Overrides the seed-chosen number of voters (1 for a single-voter quorum). */
  readonly voterCount?: number
}

export function chooseScenario(random: Random, overrides: ScenarioOverrides = {}): SimScenario {
  // A single voter now and then: its whole election is one Ready (hard state and
  // leader_change together), the shape a half-finished persist once left unstartable.
  // Drawn even when overridden, so an override shifts no other choice of the seed.
  const drawnVoterCount = pick(random, [1, 3, 3, 3, 3, 5, 5] as const)
  const voterCount = overrides.voterCount ?? drawnVoterCount
  const observerCount = between(random, 0, 2)
  const voters: NodeId[] = []
  for (let i = 1; i <= voterCount; i++) voters.push(i as NodeId)
  const observers: NodeId[] = []
  for (let i = 1; i <= observerCount; i++) observers.push((100 + i) as NodeId)

  const scale = pick(random, [0.5, 1, 1, 1, 2] as const)
  const d = DEFAULT_RAFT_TIMING
  const timing: RaftTiming = {
    fetchTimeoutMs: Math.round(d.fetchTimeoutMs * scale),
    electionTimeoutMs: Math.round(d.electionTimeoutMs * scale),
    electionJitterMs: Math.round(d.electionJitterMs * scale),
    fetchMaxWaitMs: Math.round(d.fetchMaxWaitMs * scale),
    requestTimeoutMs: Math.round(d.requestTimeoutMs * scale),
    // Small limits make fetches and snapshot transfers span several round trips.
    fetchMaxBytes: pick(random, [d.fetchMaxBytes, d.fetchMaxBytes, 256, 64] as const),
    snapshotChunkBytes: pick(random, [d.snapshotChunkBytes, d.snapshotChunkBytes, 100, 5] as const),
  }

  const maxDelayMs = pick(random, [2, 5, 10, 20] as const)
  const network: NetworkFaults = {
    dropProbability: pick(random, [0, 0, 0.01, 0.05, 0.15] as const),
    duplicateProbability: pick(random, [0, 0, 0.01, 0.05] as const),
    minDelayMs: 1,
    maxDelayMs,
    slowProbability: pick(random, [0, 0, 0.02, 0.1] as const),
    slowMaxDelayMs: pick(random, [100, 400, 1500] as const),
  }

  const calm = random.next() < 0.15
  return {
    voters,
    observers,
    timing,
    tickIntervalMs: pick(random, [10, 10, 20] as const),
    network,
    crashAtSyncProbability: pick(random, [0, 0, 0.002, 0.01, 0.03] as const),
    slowSyncProbability: pick(random, [0, 0, 0.05, 0.3] as const),
    slowSyncMaxMs: pick(random, [2, 10, 50] as const),
    unreachableNoticeProbability: pick(random, [0, 0.5, 1] as const),
    faultPhaseMs: overrides.faultPhaseMs ?? between(random, 3000, 10_000),
    faultGapMinMs: calm ? 1000 : 50,
    faultGapMaxMs: calm ? 4000 : pick(random, [300, 800, 1500] as const),
    faults: {
      crash: between(random, 0, 4),
      crashLeader: between(random, 0, 4),
      split: between(random, 0, 3),
      isolateLeader: between(random, 0, 3),
      oneWay: between(random, 0, 3),
      resignLeader: between(random, 0, 2),
      pause: between(random, 0, 3),
    },
    downtimeMaxMs: pick(random, [100, 500, 2000] as const),
    partitionMaxMs: pick(random, [200, 1000, 3000] as const),
    pauseMaxMs: pick(random, [100, 600, 2000] as const),
    clientIntervalMinMs: 5,
    clientIntervalMaxMs: pick(random, [20, 60, 150] as const),
    snapshotIntervalEntries: pick(random, [8, 20, 50] as const),
  }
}

export function describeScenario(s: SimScenario): string[] {
  const n = s.network
  return [
    `voters [${s.voters.join(',')}], observers [${s.observers.join(',')}]`,
    `timing: fetch timeout ${s.timing.fetchTimeoutMs} ms, election ${s.timing.electionTimeoutMs}+${s.timing.electionJitterMs} ms, ` +
      `request timeout ${s.timing.requestTimeoutMs} ms, fetch max bytes ${s.timing.fetchMaxBytes}, snapshot chunk ${s.timing.snapshotChunkBytes} B, tick ${s.tickIntervalMs} ms`,
    `network: delay ${n.minDelayMs}-${n.maxDelayMs} ms, slow ${n.slowProbability} up to ${n.slowMaxDelayMs} ms, drop ${n.dropProbability}, duplicate ${n.duplicateProbability}`,
    `disk: crash inside a Ready ${s.crashAtSyncProbability}, slow fsync ${s.slowSyncProbability} up to ${s.slowSyncMaxMs} ms`,
    `faults for ${s.faultPhaseMs} ms, every ${s.faultGapMinMs}-${s.faultGapMaxMs} ms, weights ${JSON.stringify(s.faults)}, ` +
      `downtime up to ${s.downtimeMaxMs} ms, partitions up to ${s.partitionMaxMs} ms, pauses up to ${s.pauseMaxMs} ms`,
    `client every ${s.clientIntervalMinMs}-${s.clientIntervalMaxMs} ms, snapshot every ${s.snapshotIntervalEntries} entries`,
  ]
}
