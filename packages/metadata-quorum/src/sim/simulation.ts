/**
 * Simulation: one seeded run of the metadata quorum on a simulated clock, network and disk
 * (tigerbeetle's VOPR and Kafka's RaftEventSimulationTest are the models).
 *
 * A run has two phases:
 *   1. faults (scenario.faultPhaseMs): the client submits requests while the seed crashes
 *      and restarts nodes (losing unsynced writes, sometimes between a write and its
 *      fsync), partitions the network (symmetric, asymmetric, isolating the leader), drops,
 *      duplicates, delays and reorders messages, and makes the leader resign;
 *   2. liveness: everything heals (all nodes up, no partitions, no drops). Within
 *      LIVENESS_TIMEOUT_MS a leader known to every node must exist, a new proposal must
 *      commit, and every acknowledged proposal must be applied on every node.
 * The InvariantChecker runs after every event; the run stops at the first violation.
 *
 * Everything random derives from one SeededRandom(seed), forked per component, so
 * `npm run sim -- --seed N` replays a run exactly. This module is pure: no I/O, no timers,
 * no Date, no Math.random.
 */
import type { NodeId } from '@tributary/protocol'
import type { RaftConfig, RaftMessage, RaftStatus } from '../raft/types.js'
import { EMPTY_PERSISTENT_STATE, isRequest } from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import { SeededRandom, type Random } from '../util/random.js'
import { InvariantChecker, type Violation } from './invariant-checker.js'
import { SimClock } from './sim-clock.js'
import { CLEAN_NETWORK, SimNetwork, oneWayPartition, splitPartition, type DropReason, type Partition } from './sim-network.js'
import { SimNode, crashesBeforeSync, drawCrashPoint, durableAtCrash, type CrashPoint, type NodeHost } from './sim-node.js'
import { SimRaftStore, type DurableAtCrash, type StoredLog } from './sim-raft-store.js'
import { scheduleFaults } from './sim-fault-schedule.js'
import { between, chance, forkRandom, pick, pickWeighted, randomCut } from './sim-random.js'
import type { ReplicaFactory, SimCompletion } from './sim-replica.js'
import { chooseScenario, describeScenario, type SimScenario } from './sim-scenario.js'
import { TraceLoggers, describeMessage, traceLine, type TraceSink } from './sim-trace.js'
import { SimWorkload, type Acknowledged, type WorkloadMode } from './sim-workload.js'

/** After healing, the cluster has this much simulated time to show it is live. */
export const LIVENESS_TIMEOUT_MS = 10_000
/** How often the liveness phase checks whether it is done. */
const LIVENESS_CHECK_INTERVAL_MS = 50
/** A bound on events per run: far above a normal run, hit only by a livelock of zero-delay events. */
const EVENTS_PER_RUN_MAX = 5_000_000

export interface SimulationOptions {
  readonly seed: number
  readonly mode: WorkloadMode
  /** Builds each node's replica: a RaftCore (raft mode) or a QuorumController. */
  readonly replicaFactory: ReplicaFactory
  /** Overrides the seed-chosen fault phase length. */
  readonly faultPhaseMs?: number
  /** Overrides the seed-chosen number of voters. */
  readonly voterCount?: number
  readonly livenessTimeoutMs?: number
  /** Receives one line per event when set (slower; for replaying one seed). */
  readonly trace?: TraceSink
  /** Planted bug: a fraction of fsyncs that return without making writes durable. */
  readonly lyingSyncProbability?: number
}

export interface SimulationStats {
  readonly simulatedMs: number
  readonly events: number
  readonly messagesSent: number
  readonly messagesDelivered: number
  readonly crashes: number
  /** Crashes inside a Ready before its fsync (all three points below). */
  readonly crashesAtSync: number
  /** Of those: the hard state was durable, the log writes were not. */
  readonly crashesAfterHardState: number
  /** Of those: the log writes were durable, the hard state was not (the old persist order's shape). */
  readonly crashesLogWithoutHardState: number
  /** Restarts from a disk whose log epoch is above its hard state epoch (RaftCore adopts it). */
  readonly restartsLogAboveHardState: number
  /** Crashes right after a Ready's fsync and sends, before it was applied. */
  readonly crashesAfterSend: number
  readonly lostWrites: number
  readonly partitions: number
  readonly resigns: number
  readonly pauses: number
  readonly highestEpoch: number
  readonly committedEnd: number
  readonly acknowledged: number
  readonly snapshots: number
  readonly livenessMs: number | null
}

export interface SimulationResult {
  readonly seed: number
  readonly mode: WorkloadMode
  readonly ok: boolean
  readonly violation: Violation | null
  readonly replayCommand: string
  readonly stats: SimulationStats
}

export function replayCommand(seed: number, mode: WorkloadMode): string {
  return `npm run sim -- --seed ${seed}${mode === 'raft' ? ' --mode raft' : ''}`
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run()
}

class Simulation implements NodeHost {
  readonly clock = new SimClock()
  readonly checker: InvariantChecker
  readonly tracing: boolean
  private readonly scenario: SimScenario
  private readonly network: SimNetwork
  private readonly nodes = new Map<NodeId, SimNode>()
  private readonly nodeList: SimNode[]
  private readonly durableLogs = new Map<NodeId, StoredLog>()
  private readonly workload: SimWorkload
  private readonly faultRandom: Random
  private readonly diskRandom: Random
  private readonly clientRandom: Random
  private readonly netRandom: Random
  private readonly livenessTimeoutMs: number
  private crashAtSyncProbability: number
  private healed = false
  private healedAtMs = 0
  private livenessMetAtMs: number | null = null
  private crashes = 0
  private crashesAtSync = 0
  private crashesAfterHardState = 0
  private crashesLogWithoutHardState = 0
  private restartsLogAboveHardState = 0
  private crashesAfterSend = 0
  private partitionsStarted = 0
  private resigns = 0
  private pauses = 0
  private readonly traceLoggers: TraceLoggers

  constructor(private readonly options: SimulationOptions) {
    const root = new SeededRandom(options.seed)
    // Fork order is fixed: adding draws inside one component never shifts another's.
    const scenarioRandom = forkRandom(root)
    this.netRandom = forkRandom(root)
    this.faultRandom = forkRandom(root)
    this.diskRandom = forkRandom(root)
    this.clientRandom = forkRandom(root)
    const nodeRandom = forkRandom(root)
    this.scenario = chooseScenario(scenarioRandom, {
      ...(options.faultPhaseMs === undefined ? {} : { faultPhaseMs: options.faultPhaseMs }),
      ...(options.voterCount === undefined ? {} : { voterCount: options.voterCount }),
    })
    this.livenessTimeoutMs = options.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS
    this.tracing = options.trace !== undefined
    this.traceLoggers = new TraceLoggers(this.tracing ? (id, what) => this.trace(id, what) : null)
    this.crashAtSyncProbability = this.scenario.crashAtSyncProbability
    const s = this.scenario
    this.checker = new InvariantChecker(s.voters, s.observers)
    const allIds = [...s.voters, ...s.observers]
    this.network = new SimNetwork(this.clock, this.netRandom, allIds, {
      deliver: (m, tag) => this.deliver(m, tag),
      dropped: (m, reason) => this.dropped(m, reason),
    })
    this.network.setFaults(s.network)
    for (const id of allIds) {
      const raft: RaftConfig = { nodeId: id, voters: s.voters, ...s.timing }
      const store = new SimRaftStore(EMPTY_PERSISTENT_STATE, forkRandom(this.diskRandom), options.lyingSyncProbability ?? 0)
      const node = new SimNode(id, s.voters.includes(id), raft, store, this, options.replicaFactory,
        forkRandom(nodeRandom), s.snapshotIntervalEntries, s.tickIntervalMs)
      this.nodes.set(id, node)
      if (node.isVoter) this.durableLogs.set(id, store.durable)
    }
    this.nodeList = [...this.nodes.values()]
    this.workload = new SimWorkload(this.clientRandom, options.mode, s.voters, {
      submit: (id, request) => this.node(id).submit(request),
      incarnation: (id) => this.node(id).incarnation,
      trace: (id, what) => {
        if (this.tracing) this.trace(id, what)
      },
    }, (ack, nowMs) => this.acknowledged(ack, nowMs))
  }

  run(): SimulationResult {
    const s = this.scenario
    if (this.tracing) {
      this.trace(null, `seed ${this.options.seed}, mode ${this.options.mode}`)
      for (const line of describeScenario(s)) this.trace(null, line)
    }
    for (const node of this.nodeList) node.start(0)
    this.scheduleClient()
    scheduleFaults(this.clock, this.faultRandom, s, () => this.healed, () => this.injectFault())
    this.clock.scheduleAt(s.faultPhaseMs, () => this.heal())
    const endMs = s.faultPhaseMs + this.livenessTimeoutMs
    const checker = this.checker
    let durableCheckedEnd = 0
    while (checker.ok && this.livenessMetAtMs === null) {
      if (this.clock.eventsRun >= EVENTS_PER_RUN_MAX) {
        checker.fail('event_budget', `more than ${EVENTS_PER_RUN_MAX} events in one run`, this.clock.nowMs)
        break
      }
      if (!this.clock.step(endMs)) break
      // An entry must be durable on a majority the moment anyone calls it committed.
      if (checker.committedEnd !== durableCheckedEnd) {
        durableCheckedEnd = checker.committedEnd
        checker.checkDurability(this.durableLogs, this.clock.nowMs)
      }
    }
    if (checker.ok && this.livenessMetAtMs === null) {
      checker.fail('liveness', `not live ${this.livenessTimeoutMs} ms after healing: ${this.livenessProblem() ?? 'unknown'}`, this.clock.nowMs)
    }
    if (checker.ok) checker.checkDurability(this.durableLogs, this.clock.nowMs)
    const result = this.result()
    if (this.tracing) {
      this.trace(null, result.ok
        ? `ok: live ${result.stats.livenessMs} ms after healing; committed ${result.stats.committedEnd}, acknowledged ${result.stats.acknowledged}`
        : `VIOLATION ${result.violation?.invariant}: ${result.violation?.message}`)
    }
    return result
  }

  // ---- NodeHost ------------------------------------------------------------------------

  trace(nodeId: NodeId | null, what: string): void {
    this.options.trace?.(traceLine(this.clock.nowMs, nodeId, what))
  }

  logger(nodeId: NodeId): Logger {
    return this.traceLoggers.logger(nodeId)
  }

  send(from: SimNode, message: RaftMessage, tag: number): void {
    const to = this.nodes.get(message.to)
    if (to === undefined) {
      this.checker.fail('ready_contract', `node ${from.id} sent to unknown node ${message.to}`, this.clock.nowMs)
      return
    }
    if (isRequest(message.body) && (!to.up || !this.network.canReach(message.from, message.to)) &&
      chance(this.netRandom, this.scenario.unreachableNoticeProbability)) {
      // The connection fails fast (refused or reset): the request is not delivered, and the
      // sender hears about it, as from a failed gRPC call.
      const incarnation = from.incarnation
      if (this.tracing) this.trace(from.id, `unreachable: ${describeMessage(message)}`)
      this.clock.scheduleAfter(between(this.netRandom, 1, 5), () => from.peerUnreachable(message.to, incarnation))
      return
    }
    this.network.send(message, tag)
  }

  completed(node: SimNode, completions: readonly SimCompletion[]): void {
    for (const c of completions) this.workload.completed(node.id, c, this.clock.nowMs)
  }

  crashAt(node: SimNode, point: CrashPoint): void {
    if (crashesBeforeSync(point)) {
      this.crashesAtSync++
      if (point === 'after_hard_state') this.crashesAfterHardState++
      if (point === 'log_without_hard_state') this.crashesLogWithoutHardState++
      const why = point === 'before_sync' ? 'between write and fsync'
        : point === 'after_hard_state' ? 'after the hard state, before the log fsync'
          : 'log durable, hard state lost'
      this.crash(node, why, this.downtimeMs(), durableAtCrash(point))
      return
    }
    this.crashesAfterSend++
    this.crash(node, 'after fsync and send', this.downtimeMs())
  }

  durableLogShrank(): void {
    this.checker.checkDurability(this.durableLogs, this.clock.nowMs)
  }

  crashPoint(): CrashPoint {
    return drawCrashPoint(this.diskRandom, this.crashAtSyncProbability)
  }

  syncDelayMs(): number {
    const s = this.scenario
    return chance(this.diskRandom, s.slowSyncProbability) ? between(this.diskRandom, 1, s.slowSyncMaxMs) : 0
  }

  // ---- network -------------------------------------------------------------------------

  private deliver(message: RaftMessage, tag: number): void {
    const node = this.node(message.to)
    if (this.tracing && node.up) this.trace(node.id, `recv ${describeMessage(message)}`)
    node.deliver(message, tag)
  }

  private dropped(message: RaftMessage, reason: DropReason): void {
    if (this.tracing) this.trace(message.from, `${reason}: ${describeMessage(message)}`)
  }

  // ---- client --------------------------------------------------------------------------

  private scheduleClient(): void {
    const s = this.scenario
    const step = (): void => {
      if (!this.checker.ok) return
      this.workload.step(this.clock.nowMs)
      const gapMs = this.healed ? LIVENESS_CHECK_INTERVAL_MS : between(this.clientRandom, s.clientIntervalMinMs, s.clientIntervalMaxMs)
      this.clock.scheduleAfter(gapMs, step)
    }
    this.clock.scheduleAfter(between(this.clientRandom, 1, s.clientIntervalMaxMs), step)
  }

  private acknowledged(ack: Acknowledged, nowMs: number): void {
    this.checker.observeAcknowledged(ack.nodeId, ack.offset, ack.epoch, nowMs)
  }

  // ---- faults --------------------------------------------------------------------------

  private injectFault(): void {
    const r = this.faultRandom
    const kind = pickWeighted(r, this.scenario.faults)
    if (kind === null) return
    const leader = this.currentLeader()
    const all = this.nodeList.map((n) => n.id)
    switch (kind) {
      case 'crash': {
        const node = pick(r, this.nodeList)
        if (node.up) this.crash(node, 'crash', this.downtimeMs())
        return
      }
      case 'crashLeader':
        if (leader !== null) this.crash(this.node(leader), 'crash of the leader', this.downtimeMs())
        return
      case 'split': {
        const [a, b] = randomCut(r, all)
        this.partition(splitPartition(a, b))
        return
      }
      case 'isolateLeader': {
        if (leader === null) return
        this.partition({ ...splitPartition([leader], all.filter((id) => id !== leader)), description: `isolate leader n${leader}` })
        return
      }
      case 'oneWay': {
        // The leader can send but not hear back, or hear but not be heard, or a random
        // one-way cut between two groups.
        const choice = r.next()
        if (leader !== null && choice < 0.33) {
          this.partition(oneWayPartition(all.filter((id) => id !== leader), [leader]))
        } else if (leader !== null && choice < 0.66) {
          this.partition(oneWayPartition([leader], all.filter((id) => id !== leader)))
        } else {
          const [a, b] = randomCut(r, all)
          this.partition(oneWayPartition(a, b))
        }
        return
      }
      case 'pause': {
        const node = leader !== null && r.next() < 0.5 ? this.node(leader) : pick(r, this.nodeList)
        if (!node.up || node.isPaused) return
        const pauseMs = between(r, 20, this.scenario.pauseMaxMs)
        this.pauses++
        if (this.tracing) this.trace(node.id, `PAUSE for ${pauseMs} ms`)
        node.pause()
        const incarnation = node.incarnation
        this.clock.scheduleAfter(pauseMs, () => {
          if (node.incarnation !== incarnation || !node.isPaused) return
          if (this.tracing) this.trace(node.id, 'RESUME')
          node.resume()
        })
        return
      }
      case 'resignLeader':
        if (leader !== null) {
          this.resigns++
          if (this.tracing) this.trace(leader, 'fault: leader asked to resign')
          this.node(leader).resign()
        }
        return
    }
  }

  private partition(p: Partition): void {
    const s = this.scenario
    const id = this.network.partition(p)
    this.partitionsStarted++
    if (this.tracing) this.trace(null, `partition #${id} starts: ${p.description}`)
    this.clock.scheduleAfter(between(this.faultRandom, 50, s.partitionMaxMs), () => {
      const healed = this.network.heal(id)
      if (healed !== null && this.tracing) this.trace(null, `partition #${id} heals`)
    })
  }

  private crash(node: SimNode, why: string, restartAfterMs: number | null, kept: DurableAtCrash = 'nothing'): void {
    const lost = node.crash(kept)
    this.crashes++
    this.checker.nodeCrashed(node.id)
    this.workload.nodeCrashed(node.id)
    if (this.tracing) {
      this.trace(node.id, `CRASH (${why}), ${lost} unsynced writes lost` +
        (restartAfterMs === null ? '' : `, restart in ${restartAfterMs} ms`))
    }
    this.checker.checkDurability(this.durableLogs, this.clock.nowMs)
    if (restartAfterMs === null) return
    const incarnation = node.incarnation
    this.clock.scheduleAfter(restartAfterMs, () => {
      if (node.incarnation !== incarnation || node.up) return
      this.restart(node)
    })
  }

  private restart(node: SimNode): void {
    const persisted = node.store.durable
    const logEpoch = persisted.entries.at(-1)?.epoch ?? persisted.snapshot?.id.epoch ?? 0
    if (logEpoch > persisted.hardState.epoch) this.restartsLogAboveHardState++
    if (this.tracing) {
      this.trace(node.id, `RESTART from disk: epoch ${persisted.hardState.epoch}, vote ${persisted.hardState.votedFor ?? '-'}, ` +
        `snapshot ${persisted.snapshot === null ? '-' : `${persisted.snapshot.id.endOffset}@${persisted.snapshot.id.epoch}`}, ` +
        `log ${persisted.startOffset}..${persisted.endOffset}`)
    }
    node.start(this.clock.nowMs)
  }

  private downtimeMs(): number {
    return between(this.faultRandom, 1, this.scenario.downtimeMaxMs)
  }

  private currentLeader(): NodeId | null {
    let best: RaftStatus | null = null
    for (const node of this.nodeList) {
      const st = node.status()
      if (st !== null && st.role === 'leader' && (best === null || st.epoch > best.epoch)) best = st
    }
    return best === null ? null : best.nodeId
  }

  // ---- liveness ------------------------------------------------------------------------

  private heal(): void {
    this.healed = true
    this.healedAtMs = this.clock.nowMs
    this.crashAtSyncProbability = 0
    this.network.healAll()
    this.network.setFaults(CLEAN_NETWORK)
    if (this.tracing) this.trace(null, 'HEAL: all partitions healed, network clean, all nodes up; liveness phase starts')
    for (const node of this.nodeList) {
      if (!node.up) this.restart(node)
      else if (node.isPaused) node.resume()
    }
    this.workload.startProbing()
    const check = (): void => {
      if (!this.checker.ok) return
      if (this.livenessProblem() === null) {
        this.livenessMetAtMs = this.clock.nowMs
        return
      }
      this.clock.scheduleAfter(LIVENESS_CHECK_INTERVAL_MS, check)
    }
    this.clock.scheduleAfter(LIVENESS_CHECK_INTERVAL_MS, check)
  }

  /** Null when the cluster is live; else what is still missing. */
  private livenessProblem(): string | null {
    let leader: RaftStatus | null = null
    const statuses: RaftStatus[] = []
    for (const node of this.nodeList) {
      const st = node.status()
      if (st === null) return `node ${node.id} is down`
      statuses.push(st)
      if (st.role === 'leader' && (leader === null || st.epoch > leader.epoch)) leader = st
    }
    if (leader === null) return 'no leader'
    for (const st of statuses) {
      if (st.epoch !== leader.epoch || (st.nodeId !== leader.nodeId && st.leaderId !== leader.nodeId)) {
        return `node ${st.nodeId} is ${st.role} in epoch ${st.epoch} with leader ${st.leaderId ?? 'unknown'}, ` +
          `but node ${leader.nodeId} leads epoch ${leader.epoch}`
      }
    }
    if (!this.workload.probeAcknowledged) return 'no new proposal committed since healing'
    let needEnd = 0
    for (const ack of this.workload.acknowledged) needEnd = Math.max(needEnd, ack.offset + 1)
    for (const node of this.nodeList) {
      const applied = this.checker.appliedEnd(node.id)
      if (applied < needEnd) return `node ${node.id} applied up to ${applied}, but offset ${needEnd - 1} was acknowledged`
    }
    return null
  }

  // ---- results -------------------------------------------------------------------------

  private node(id: NodeId): SimNode {
    const node = this.nodes.get(id)
    assert(node !== undefined, 'known node')
    return node
  }

  private result(): SimulationResult {
    let lostWrites = 0
    let snapshots = 0
    for (const node of this.nodeList) {
      lostWrites += node.store.lostWrites
      snapshots += node.snapshotsTaken
    }
    const violation = this.checker.violation
    return {
      seed: this.options.seed,
      mode: this.options.mode,
      ok: violation === null,
      violation,
      replayCommand: replayCommand(this.options.seed, this.options.mode),
      stats: {
        simulatedMs: this.clock.nowMs,
        events: this.clock.eventsRun,
        messagesSent: this.network.messagesSent,
        messagesDelivered: this.network.messagesDelivered,
        crashes: this.crashes,
        crashesAtSync: this.crashesAtSync,
        crashesAfterHardState: this.crashesAfterHardState,
        crashesLogWithoutHardState: this.crashesLogWithoutHardState,
        restartsLogAboveHardState: this.restartsLogAboveHardState,
        crashesAfterSend: this.crashesAfterSend,
        lostWrites,
        partitions: this.partitionsStarted,
        resigns: this.resigns,
        pauses: this.pauses,
        highestEpoch: this.checker.highestEpoch,
        committedEnd: this.checker.committedEnd,
        acknowledged: this.workload.acknowledged.length,
        snapshots,
        livenessMs: this.livenessMetAtMs === null ? null : this.livenessMetAtMs - this.healedAtMs,
      },
    }
  }
}
