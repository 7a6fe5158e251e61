/**
 * ReplicationSimulation: one seeded run of partition replication on a simulated clock,
 * network and disk (the metadata quorum's simulator, extended to brokers).
 *
 * What runs is the real code: the controller quorum is SimNodes with QuorumController
 * replicas (Raft core + ControllerStateMachine: registrations, heartbeats and session
 * expiry, fencing, controlled shutdown, leader election from the ISR, AlterPartition with
 * partition epochs), exactly as in `npm run sim`, so controller failover is part of the run.
 * Each broker follows the metadata log with its own Raft observer (a QuorumController that
 * never leads) and acts on committed images with localChanges; its replicas run the real
 * PartitionState, LeaderEpochCache and followerTruncation (SimBroker). Brokers reach the
 * controller and each other over a second SimNetwork whose links are FIFO and never
 * duplicate, as a gRPC channel's TCP connection (Raft messages may be reordered and
 * duplicated).
 *
 * A run has two phases:
 *   1. faults (scenario.faultPhaseMs): the client creates the topic and produces with
 *      acks=all while the seed crashes brokers (losing unsynced data, perhaps partly) and
 *      controllers, restarts brokers cleanly (controlled shutdown), partitions the network
 *      (splits, isolated leaders, one-way cuts), drops and delays messages, slows fsyncs and
 *      pauses processes (sometimes past the broker session timeout);
 *   2. liveness: everything heals. Within LIVENESS_TIMEOUT_MS every broker must be
 *      registered and unfenced, every partition must have a leader, take a new acks=all
 *      produce, and have every replica in the ISR with the leader's log byte for byte and
 *      HW = log end; then every acknowledged batch must be readable below the leader's HW
 *      and present on every replica.
 * The ReplicationChecker (and the metadata quorum's own InvariantChecker) run after every
 * event; the run stops at the first violation.
 *
 * Everything random derives from one SeededRandom(seed), forked per component, so
 * `npm run sim:replication -- --seed N` replays a run exactly. Pure: no I/O, no timers, no
 * Date, no Math.random.
 */
import {
  CLEAN_NETWORK,
  ControllerReplica,
  QuorumController,
  RaftInvariantChecker,
  SeededRandom,
  SimClock,
  SimNetwork,
  SimNode,
  SimRaftStore,
  EMPTY_PERSISTENT_STATE,
  between,
  chance,
  TraceLoggers,
  crashesBeforeSync,
  describeMessage,
  drawCrashPoint,
  durableAtCrash,
  errorText,
  forkRandom,
  oneWayPartition,
  pick,
  pickWeighted,
  randomCut,
  scheduleFaults,
  splitPartition,
  traceLine,
  type ControllerConfig,
  type CrashPoint,
  type DurableAtCrash,
  type Logger,
  type MetadataImage,
  type NetworkPartition,
  type NodeHost,
  type RaftMessage,
  type Random,
  type ReplicaFactory,
  type StoredLog,
  type TraceSink,
} from '@tributary/metadata-quorum'
import { NO_NODE, type NodeId } from '@tributary/protocol'
import type { Durability } from '../replica/partition-state.js'
import { ControllerRpcServer } from './controller-rpc-server.js'
import { NO_PLANTED_BUGS, describePlantedBugs, type PlantedBugs } from './planted-bugs.js'
import { CLIENT_ID, ProducerWorkload } from './producer-workload.js'
import { ReplicationChecker, splitKey, type ReplicationViolation } from './replication-checker.js'
import { chooseReplicationScenario, describeReplicationScenario, type ReplicationScenario } from './replication-scenario.js'
import { SimBroker, emptyBrokerStats, type BrokerHost, type BrokerStats } from './sim-broker.js'
import { describeRpc, partitionKey, type RpcMessage } from './sim-messages.js'
import type { SimPartitionLog } from './sim-partition-log.js'

/** After healing, the cluster has this much simulated time to show it is live. */
export const LIVENESS_TIMEOUT_MS = 15_000
/** How often the liveness phase checks whether it is done. */
const LIVENESS_CHECK_INTERVAL_MS = 50
/** A bound on events per run: far above a normal run, hit only by a livelock of zero-delay events. */
const EVENTS_PER_RUN_MAX = 5_000_000
/** Page-cache mode: the share of broker crashes that are power losses (unflushed writes lost). */
const PAGE_CACHE_POWER_LOSS_PROBABILITY = 0.2
/** Consumers read this many batches per fetch in the final read-back. */
const CONSUMER_FETCH_BATCHES = 1000

export interface ReplicationSimulationOptions {
  readonly seed: number
  /** 'fsync' (default): acknowledged data is durable on every ISR member. 'page-cache': Kafka's mode. */
  readonly durability?: Durability
  readonly faultPhaseMs?: number
  readonly brokerCount?: number
  readonly livenessTimeoutMs?: number
  /** Receives one line per event when set (slower; for replaying one seed). */
  readonly trace?: TraceSink
  readonly bugs?: PlantedBugs
  /**
   * Tests only: false makes the checker look for presence, not durability, on ISR members,
   * so durability bugs surface as losses after crashes (see ReplicationChecker).
   */
  readonly checkDurableAtAck?: boolean
}

export interface ReplicationStats extends BrokerStats {
  readonly simulatedMs: number
  readonly events: number
  readonly rpcMessages: number
  readonly raftMessages: number
  readonly brokerCrashes: number
  readonly controllerCrashes: number
  readonly crashesInsideReady: number
  readonly partitions: number
  readonly pauses: number
  readonly controllerResigns: number
  readonly produced: number
  readonly acknowledged: number
  readonly clientAcks: number
  readonly notControllerAfterProposal: number
  readonly unpromisedPartitions: number
  readonly livenessMs: number | null
}

export interface ReplicationResult {
  readonly seed: number
  readonly durability: Durability
  readonly ok: boolean
  readonly violation: ReplicationViolation | null
  readonly replayCommand: string
  readonly stats: ReplicationStats
}

export function replicationReplayCommand(seed: number, durability: Durability): string {
  return `npm run sim:replication -- --seed ${seed}${durability === 'page-cache' ? ' --durability page-cache' : ''}`
}

export function runReplicationSimulation(options: ReplicationSimulationOptions): ReplicationResult {
  return new ReplicationSimulation(options).run()
}

class ReplicationSimulation implements BrokerHost {
  readonly clock = new SimClock()
  readonly checker: ReplicationChecker
  readonly scenario: ReplicationScenario
  readonly durability: Durability
  readonly bugs: PlantedBugs
  readonly tracing: boolean
  private readonly raftChecker: RaftInvariantChecker
  private readonly raftNet: SimNetwork<RaftMessage>
  private readonly rpcNet: SimNetwork<RpcMessage>
  private readonly controllers = new Map<NodeId, SimNode>()
  private readonly observers = new Map<NodeId, SimNode>()
  private readonly brokers = new Map<NodeId, SimBroker>()
  private readonly brokerList: SimBroker[]
  private readonly quorumControllers = new Map<NodeId, QuorumController>()
  private readonly durableLogs = new Map<NodeId, StoredLog>()
  private readonly rpcServer: ControllerRpcServer
  private readonly producer: ProducerWorkload
  private readonly faultRandom: Random
  private readonly diskRandom: Random
  private readonly clientRandom: Random
  private readonly bugRandom: Random
  private readonly livenessTimeoutMs: number
  private readonly nodeHost: NodeHost
  private readonly traceLoggers: TraceLoggers
  private crashAtSyncProbability: number
  private slowSyncProbability: number
  private healed = false
  private healedAtMs = 0
  private livenessMetAtMs: number | null = null
  private brokerCrashes = 0
  private controllerCrashes = 0
  private crashesInsideReady = 0
  private partitionsStarted = 0
  private pauses = 0
  private resigns = 0

  constructor(private readonly options: ReplicationSimulationOptions) {
    const root = new SeededRandom(options.seed)
    // Fork order is fixed: adding draws inside one component never shifts another's.
    const scenarioRandom = forkRandom(root)
    const raftNetRandom = forkRandom(root)
    const rpcNetRandom = forkRandom(root)
    this.faultRandom = forkRandom(root)
    this.diskRandom = forkRandom(root)
    this.clientRandom = forkRandom(root)
    const nodeRandom = forkRandom(root)
    const brokerRandom = forkRandom(root)
    this.bugRandom = forkRandom(root)
    this.scenario = chooseReplicationScenario(scenarioRandom, {
      ...(options.faultPhaseMs === undefined ? {} : { faultPhaseMs: options.faultPhaseMs }),
      ...(options.brokerCount === undefined ? {} : { brokerCount: options.brokerCount }),
    })
    const s = this.scenario
    this.durability = options.durability ?? 'fsync'
    this.bugs = options.bugs ?? NO_PLANTED_BUGS
    this.tracing = options.trace !== undefined
    this.traceLoggers = new TraceLoggers(this.tracing ? (id, what) => this.trace(id, what) : null)
    this.livenessTimeoutMs = options.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS
    this.crashAtSyncProbability = s.crashAtSyncProbability
    this.slowSyncProbability = s.slowSyncProbability
    this.checker = new ReplicationChecker(this.durability, { log: (id, partition) => this.brokers.get(id)?.disk.get(partition) }, options.checkDurableAtAck ?? true)
    this.raftChecker = new RaftInvariantChecker(s.controllerIds, s.brokerIds)
    const servers = [...s.controllerIds, ...s.brokerIds]
    this.raftNet = new SimNetwork<RaftMessage>(this.clock, raftNetRandom, servers, {
      deliver: (m, tag) => this.deliverRaft(m, tag),
      dropped: (m, reason) => {
        if (this.tracing) this.trace(m.from, `${reason}: ${describeMessage(m)}`)
      },
    })
    this.raftNet.setFaults(s.network)
    this.rpcNet = new SimNetwork<RpcMessage>(this.clock, rpcNetRandom, [...servers, CLIENT_ID], {
      deliver: (m, tag) => this.deliverRpc(m, tag),
      dropped: (m, reason) => {
        if (this.tracing) this.trace(m.from, `${reason}: ${describeRpc(m)}`)
      },
    }, true)
    this.rpcNet.setFaults({ ...s.network, duplicateProbability: 0 })

    this.nodeHost = this.makeNodeHost()
    const controllerConfig: ControllerConfig = {
      defaultNumPartitions: 1,
      defaultReplicationFactor: s.replicationFactor,
      brokerSessionTimeoutMs: s.sessionTimeoutMs,
      snapshotIntervalBytes: s.snapshotIntervalEntries * 64,
      snapshotIntervalMs: 0,
    }
    const factory: ReplicaFactory = (ctx) => {
      const qc = new QuorumController({ raft: ctx.raft, controller: controllerConfig, persisted: ctx.persisted, random: ctx.random, logger: ctx.logger, nowMs: ctx.nowMs })
      this.quorumControllers.set(ctx.raft.nodeId, qc)
      return new ControllerReplica(qc)
    }
    for (const id of s.controllerIds) {
      const store = new SimRaftStore(EMPTY_PERSISTENT_STATE, forkRandom(this.diskRandom), 0)
      const node = new SimNode(id, true, { nodeId: id, voters: s.controllerIds, ...s.raftTiming }, store, this.nodeHost, factory,
        forkRandom(nodeRandom), s.snapshotIntervalEntries, s.raftTickIntervalMs)
      this.controllers.set(id, node)
      this.durableLogs.set(id, store.durable)
    }
    for (const id of s.brokerIds) {
      const store = new SimRaftStore(EMPTY_PERSISTENT_STATE, forkRandom(this.diskRandom), 0)
      const node = new SimNode(id, false, { nodeId: id, voters: s.controllerIds, ...s.raftTiming }, store, this.nodeHost, factory,
        forkRandom(nodeRandom), s.snapshotIntervalEntries, s.raftTickIntervalMs)
      this.observers.set(id, node)
      this.brokers.set(id, new SimBroker(id, this, forkRandom(brokerRandom), (b) => this.controlledShutdownDone(b)))
    }
    this.brokerList = [...this.brokers.values()]
    this.rpcServer = new ControllerRpcServer({
      clock: this.clock,
      node: (id) => this.controllerNode(id),
      send: (m, tag) => this.rpcNet.send(m, tag),
    })
    this.producer = new ProducerWorkload({
      clock: this.clock,
      scenario: s,
      tracing: this.tracing,
      trace: (id, what) => this.trace(id, what),
      send: (m, tag) => this.rpcNet.send(m, tag),
      brokerImage: () => this.someBrokerImage(),
    }, this.clientRandom)
  }

  run(): ReplicationResult {
    const s = this.scenario
    if (this.tracing) {
      this.trace(null, `seed ${this.options.seed}, durability ${this.durability}, planted bugs: ${describePlantedBugs(this.bugs)}`)
      for (const line of describeReplicationScenario(s)) this.trace(null, line)
    }
    for (const node of this.controllers.values()) node.start(0)
    for (const broker of this.brokerList) this.startBroker(broker)
    this.scheduleClient()
    scheduleFaults(this.clock, this.faultRandom, s, () => this.healed, () => this.injectFault())
    this.clock.scheduleAt(s.faultPhaseMs, () => this.heal())
    const endMs = s.faultPhaseMs + this.livenessTimeoutMs
    const checker = this.checker
    let raftDurableCheckedEnd = 0
    try {
      while (checker.ok && this.livenessMetAtMs === null) {
        if (this.clock.eventsRun >= EVENTS_PER_RUN_MAX) {
          checker.fail('event_budget', `more than ${EVENTS_PER_RUN_MAX} events in one run`, this.clock.nowMs)
          break
        }
        if (!this.clock.step(endMs)) break
        this.afterEvent()
        if (this.raftChecker.committedEnd !== raftDurableCheckedEnd) {
          raftDurableCheckedEnd = this.raftChecker.committedEnd
          this.raftChecker.checkDurability(this.durableLogs, this.clock.nowMs)
        }
        this.copyRaftViolation()
      }
    } catch (e) {
      checker.fail('broker_threw', errorText(e), this.clock.nowMs)
    }
    if (checker.ok && this.livenessMetAtMs === null) {
      checker.fail('liveness', `not live ${this.livenessTimeoutMs} ms after healing: ${this.livenessProblem() ?? 'unknown'}`, this.clock.nowMs)
    }
    const result = this.result()
    if (this.tracing) {
      this.trace(null, result.ok
        ? `ok: live ${result.stats.livenessMs} ms after healing; ${result.stats.acknowledged} batches acknowledged`
        : `VIOLATION ${result.violation?.invariant}: ${result.violation?.message}`)
    }
    return result
  }

  // ---- BrokerHost ----------------------------------------------------------------------

  trace(nodeId: NodeId | null, what: string): void {
    this.options.trace?.(traceLine(this.clock.nowMs, nodeId, what))
  }

  send(message: RpcMessage, tag: number): void {
    this.rpcNet.send(message, tag)
  }

  metadataImage(brokerId: NodeId): MetadataImage | null {
    const node = this.observers.get(brokerId)
    if (node === undefined || !node.up) return null
    return this.quorumControllers.get(brokerId)?.committedImage() ?? null
  }

  syncDelayMs(): number {
    const s = this.scenario
    return chance(this.diskRandom, this.slowSyncProbability) ? between(this.diskRandom, 1, s.slowSyncMaxMs) : between(this.diskRandom, 0, 1)
  }

  lyingSync(): boolean {
    const p = this.bugs.lyingFsyncProbability ?? 0
    return p > 0 && chance(this.bugRandom, p)
  }

  logger(nodeId: NodeId): Logger {
    return this.traceLoggers.logger(nodeId)
  }

  // ---- the metadata quorum's host ------------------------------------------------------

  private makeNodeHost(): NodeHost {
    return {
      clock: this.clock,
      checker: this.raftChecker,
      tracing: this.tracing,
      trace: (id, what) => this.trace(id, what),
      send: (_from, message, tag) => this.raftNet.send(message, tag),
      completed: (node, completions) => this.rpcServer.completed(node, completions),
      crashAt: (node, point) => this.crashInsideReady(node, point),
      durableLogShrank: () => this.raftChecker.checkDurability(this.durableLogs, this.clock.nowMs),
      crashPoint: () => drawCrashPoint(this.diskRandom, this.crashAtSyncProbability),
      syncDelayMs: () => this.syncDelayMs(),
      logger: (id) => this.logger(id),
    }
  }

  private crashInsideReady(node: SimNode, point: CrashPoint): void {
    this.crashesInsideReady++
    const kept = crashesBeforeSync(point) ? durableAtCrash(point) : 'nothing'
    if (this.controllers.has(node.id)) this.crashController(node, `inside a metadata Ready (${point})`, kept)
    else this.crashBroker(this.broker(node.id), `inside a metadata Ready (${point})`, kept)
  }

  // ---- network -------------------------------------------------------------------------

  private deliverRaft(message: RaftMessage, tag: number): void {
    const node = this.controllers.get(message.to) ?? this.observers.get(message.to)
    if (node === undefined) return
    if (this.tracing && node.up) this.trace(node.id, `recv ${describeMessage(message)}`)
    node.deliver(message, tag)
  }

  private deliverRpc(message: RpcMessage, tag: number): void {
    if (this.tracing) this.trace(message.to, `recv ${describeRpc(message)}`)
    if (message.to === CLIENT_ID) {
      this.producer.deliver(message)
      return
    }
    if (this.controllers.has(message.to)) {
      this.rpcServer.receive(message, tag)
      return
    }
    this.brokers.get(message.to)?.deliver(message, tag)
  }

  private partition(p: NetworkPartition): void {
    const s = this.scenario
    const a = this.raftNet.partition(p)
    const b = this.rpcNet.partition(p)
    this.partitionsStarted++
    if (this.tracing) this.trace(null, `partition starts: ${p.description}`)
    this.clock.scheduleAfter(between(this.faultRandom, 50, s.partitionMaxMs), () => {
      const healed = this.raftNet.heal(a)
      this.rpcNet.heal(b)
      if (healed !== null && this.tracing) this.trace(null, `partition heals: ${p.description}`)
    })
  }

  // ---- after every event ---------------------------------------------------------------

  private afterEvent(): void {
    const nowMs = this.clock.nowMs
    const checker = this.checker
    for (const [id, node] of this.controllers) {
      if (!node.up) continue
      const qc = this.quorumControllers.get(id)
      if (qc !== undefined) checker.observeImage(id, qc.committedImage(), nowMs)
    }
    for (const broker of this.brokerList) {
      if (!broker.up) continue
      broker.pollMetadata()
      for (const r of broker.replicaViews()) checker.observeReplica(broker.id, broker.incarnation, r.key, r.highWatermark, r.log, nowMs)
    }
  }

  private copyRaftViolation(): void {
    const v = this.raftChecker.violation
    if (v !== null) this.checker.fail('raft', `metadata quorum: ${v.invariant}: ${v.message}`, v.atMs)
  }

  // ---- processes -----------------------------------------------------------------------

  private startBroker(broker: SimBroker): void {
    const observer = this.observer(broker.id)
    if (!observer.up) observer.start(this.clock.nowMs)
    broker.start()
    if (this.tracing) this.trace(broker.id, `broker started (incarnation ${broker.incarnation})`)
  }

  private crashBroker(broker: SimBroker, why: string, kept: DurableAtCrash = 'nothing'): void {
    if (!broker.up) return
    const observer = this.observer(broker.id)
    if (observer.up) {
      observer.crash(kept)
      this.raftChecker.nodeCrashed(broker.id)
    }
    // fsync mode is held to machine crashes: every crash loses what was not fsynced. In
    // page-cache mode a killed process leaves its writes in the OS page cache, which writes
    // them back; only a power loss (some crashes) loses them, and the mode promises nothing then.
    const powerLoss = this.durability === 'fsync' || chance(this.faultRandom, PAGE_CACHE_POWER_LOSS_PROBABILITY)
    const ends = broker.crash(powerLoss ? this.scenario.unsyncedSurvivalProbability : 1)
    this.brokerCrashes++
    if (this.tracing) this.trace(broker.id, `CRASH broker (${why}${powerLoss ? ', power loss' : ', process only'})`)
    this.checker.brokerCrashed(broker.id, ends, this.clock.nowMs)
    this.checker.checkAckedOnLiveIsr(broker.id, (id) => this.brokers.get(id)?.up === true, this.clock.nowMs)
    this.scheduleRestart(() => {
      if (!broker.up) this.startBroker(broker)
    })
  }

  private controlledShutdownDone(broker: SimBroker): void {
    const observer = this.observer(broker.id)
    broker.stopCleanly()
    if (observer.up) {
      observer.crash('nothing')
      this.raftChecker.nodeCrashed(broker.id)
    }
    if (this.tracing) this.trace(broker.id, 'broker stopped cleanly')
    this.scheduleRestart(() => {
      if (!broker.up) this.startBroker(broker)
    })
  }

  private crashController(node: SimNode, why: string, kept: DurableAtCrash = 'nothing'): void {
    if (!node.up) return
    node.crash(kept)
    this.controllerCrashes++
    this.raftChecker.nodeCrashed(node.id)
    this.rpcServer.nodeCrashed(node.id)
    if (this.tracing) this.trace(node.id, `CRASH controller (${why})`)
    this.raftChecker.checkDurability(this.durableLogs, this.clock.nowMs)
    this.scheduleRestart(() => {
      if (!node.up) node.start(this.clock.nowMs)
    })
  }

  private scheduleRestart(restart: () => void): void {
    if (this.healed) {
      restart()
      return
    }
    this.clock.scheduleAfter(between(this.faultRandom, 1, this.scenario.downtimeMaxMs), restart)
  }

  // ---- client --------------------------------------------------------------------------

  private scheduleClient(): void {
    const s = this.scenario
    const step = (): void => {
      if (!this.checker.ok) return
      this.producer.step()
      this.clock.scheduleAfter(between(this.clientRandom, s.produceIntervalMinMs, s.produceIntervalMaxMs), step)
    }
    this.clock.scheduleAfter(between(this.clientRandom, 1, s.produceIntervalMaxMs), step)
  }

  // ---- faults --------------------------------------------------------------------------

  private injectFault(): void {
    const r = this.faultRandom
    const kind = pickWeighted(r, this.scenario.faults)
    if (kind === null) return
    const servers = [...this.scenario.controllerIds, ...this.scenario.brokerIds]
    switch (kind) {
      case 'crashBroker':
        this.crashBroker(pick(r, this.brokerList), 'crash')
        return
      case 'crashLeader': {
        const leader = this.someLeader(r)
        if (leader !== null) this.crashBroker(leader, 'crash of a partition leader')
        return
      }
      case 'restartBroker': {
        const b = pick(r, this.brokerList)
        b.beginControlledShutdown()
        return
      }
      case 'crashController': {
        const active = [...this.controllers.values()].find((n) => n.up && this.quorumControllers.get(n.id)?.isActive() === true)
        const node = active !== undefined && r.next() < 0.5 ? active : pick(r, [...this.controllers.values()])
        this.crashController(node, node === active ? 'crash of the active controller' : 'crash')
        return
      }
      case 'resignController': {
        const active = [...this.controllers.values()].find((n) => n.up && this.quorumControllers.get(n.id)?.isActive() === true)
        if (active === undefined) return
        this.resigns++
        if (this.tracing) this.trace(active.id, 'fault: the active controller resigns')
        active.resign()
        return
      }
      case 'split': {
        const [a, b] = randomCut(r, servers)
        this.partition(splitPartition(a, b))
        return
      }
      case 'isolateBroker': {
        const leader = r.next() < 0.5 ? this.someLeader(r) : null
        const b = leader ?? pick(r, this.brokerList)
        this.partition({ ...splitPartition([b.id], servers.filter((id) => id !== b.id)), description: `isolate broker n${b.id}` })
        return
      }
      case 'oneWay': {
        const [a, b] = randomCut(r, servers)
        this.partition(oneWayPartition(a, b))
        return
      }
      case 'pause': {
        const pauseMs = between(r, 20, this.scenario.pauseMaxMs)
        if (r.next() < 0.75) {
          const leader = r.next() < 0.5 ? this.someLeader(r) : null
          const b = leader ?? pick(r, this.brokerList)
          if (!b.up || b.isPaused) return
          this.pauses++
          if (this.tracing) this.trace(b.id, `PAUSE broker for ${pauseMs} ms`)
          const observer = this.observer(b.id)
          b.pause()
          observer.pause()
          const incarnation = b.incarnation
          this.clock.scheduleAfter(pauseMs, () => {
            if (b.incarnation !== incarnation) return
            if (this.tracing) this.trace(b.id, 'RESUME broker')
            observer.resume()
            b.resume()
          })
          return
        }
        const node = pick(r, [...this.controllers.values()])
        if (!node.up || node.isPaused) return
        this.pauses++
        if (this.tracing) this.trace(node.id, `PAUSE controller for ${pauseMs} ms`)
        node.pause()
        const incarnation = node.incarnation
        this.clock.scheduleAfter(pauseMs, () => {
          if (node.incarnation !== incarnation || !node.isPaused) return
          if (this.tracing) this.trace(node.id, 'RESUME controller')
          node.resume()
        })
        return
      }
    }
  }

  /** The broker leading a random partition (as it believes), or null. */
  private someLeader(r: Random): SimBroker | null {
    const partitions = this.producer.partitions()
    if (partitions.length === 0) return null
    const key = partitionKey(pick(r, partitions))
    return this.brokerList.find((b) => b.up && b.leads(key)) ?? null
  }

  // ---- liveness ------------------------------------------------------------------------

  private heal(): void {
    this.healed = true
    this.healedAtMs = this.clock.nowMs
    this.crashAtSyncProbability = 0
    this.slowSyncProbability = 0
    this.raftNet.healAll()
    this.rpcNet.healAll()
    this.raftNet.setFaults(CLEAN_NETWORK)
    this.rpcNet.setFaults(CLEAN_NETWORK)
    if (this.tracing) this.trace(null, 'HEAL: all partitions healed, network clean, all processes up; liveness phase starts')
    for (const node of this.controllers.values()) {
      if (!node.up) node.start(this.clock.nowMs)
      else if (node.isPaused) node.resume()
    }
    for (const b of this.brokerList) {
      if (!b.up) this.startBroker(b)
      else if (b.isPaused) {
        this.observer(b.id).resume()
        b.resume()
      }
    }
    this.producer.healed(this.clock.nowMs)
    const check = (): void => {
      if (!this.checker.ok) return
      if (this.livenessProblem() === null) {
        this.finalChecks()
        this.livenessMetAtMs = this.clock.nowMs
        return
      }
      this.clock.scheduleAfter(LIVENESS_CHECK_INTERVAL_MS, check)
    }
    this.clock.scheduleAfter(LIVENESS_CHECK_INTERVAL_MS, check)
  }

  /** Null when the cluster is live and converged; else what is still missing. */
  private livenessProblem(): string | null {
    let latest: MetadataImage | null = null
    for (const [id, node] of this.controllers) {
      const qc = this.quorumControllers.get(id)
      if (!node.up || qc === undefined) return `controller ${id} is down`
      if (latest === null || qc.committedImage().offset > latest.offset) latest = qc.committedImage()
    }
    if (latest === null) return 'no controller image'
    const topicId = this.producer.topic
    if (topicId === null) return 'the topic was never created'
    for (const b of this.brokerList) {
      if (!b.up || b.isPaused) return `broker ${b.id} is not running`
      if (b.isShuttingDown) return `broker ${b.id} is shutting down`
      if (!b.isRegistered) return `broker ${b.id} is not registered`
      if (b.isFenced) return `broker ${b.id} is fenced`
      if (b.image.offset < latest.offset) return `broker ${b.id} acts on image ${b.image.offset}, the controller has ${latest.offset}`
    }
    const missingAck = this.producer.partitionsWithoutAckSinceHeal()
    if (missingAck.length > 0) return `no produce acknowledged since healing on ${missingAck.join(', ')}`
    for (let p = 0; p < this.scenario.partitionCount; p++) {
      const key = partitionKey({ topicId, partitionId: p })
      const reg = latest.partition(topicId, p)
      if (reg === undefined) return `partition ${key} is not in the image`
      if (reg.leader === NO_NODE) return `partition ${key} has no leader`
      if (reg.isr.length !== reg.replicas.length) return `partition ${key} has ISR [${reg.isr.join(',')}] of replicas [${reg.replicas.join(',')}]`
      const leaderLog = this.broker(reg.leader).disk.get(key)
      if (leaderLog === undefined) return `the leader of ${key} has no log`
      for (const id of reg.replicas) {
        const b = this.broker(id)
        const state = b.partitionState(key)
        const log = b.disk.get(key)
        if (state === undefined || log === undefined) return `broker ${id} has no replica of ${key}`
        if (state.highWatermark !== log.logEndOffset) return `broker ${id}: HW ${state.highWatermark} of ${key} is not its log end ${log.logEndOffset}`
        const problem = sameLog(leaderLog, log)
        if (problem !== null) return `broker ${id}'s log of ${key} differs from the leader's: ${problem}`
      }
    }
    return null
  }

  /** The cluster converged: every acknowledged batch must be readable and everywhere. */
  private finalChecks(): void {
    const topicId = this.producer.topic
    const latest = this.checker.latestImage()
    if (topicId === null || latest === null) return
    for (let p = 0; p < this.scenario.partitionCount; p++) {
      const key = partitionKey({ topicId, partitionId: p })
      const reg = latest.partition(topicId, p)
      if (reg === undefined) continue
      const leader = this.broker(reg.leader)
      const log = leader.disk.get(key)
      const state = leader.partitionState(key)
      if (log === undefined || state === undefined) continue
      // A consumer's read: whole batches below the HW, fetch after fetch.
      const readable = []
      let offset = 0n
      for (;;) {
        const batches = log.read(offset, CONSUMER_FETCH_BATCHES, state.highWatermark)
        if (batches.length === 0) break
        readable.push(...batches)
        offset = batches[batches.length - 1].lastOffset + 1n
      }
      this.checker.checkAckedEverywhere(key, reg.replicas, readable, this.clock.nowMs)
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  private someBrokerImage(): MetadataImage | null {
    const live = this.brokerList.filter((b) => b.up && b.image.offset >= 0)
    if (live.length === 0) return null
    return pick(this.clientRandom, live).image
  }

  private controllerNode(id: NodeId): SimNode {
    const node = this.controllers.get(id)
    if (node === undefined) throw new Error(`no controller ${id}`)
    return node
  }

  private observer(id: NodeId): SimNode {
    const node = this.observers.get(id)
    if (node === undefined) throw new Error(`no observer ${id}`)
    return node
  }

  private broker(id: NodeId): SimBroker {
    const b = this.brokers.get(id)
    if (b === undefined) throw new Error(`no broker ${id}`)
    return b
  }

  private result(): ReplicationResult {
    const brokerStats = emptyBrokerStats()
    for (const b of this.brokerList) {
      for (const [k, v] of Object.entries(b.stats) as Array<[keyof BrokerStats, number]>) brokerStats[k] += v
    }
    const violation = this.checker.violation
    return {
      seed: this.options.seed,
      durability: this.durability,
      ok: violation === null,
      violation,
      replayCommand: replicationReplayCommand(this.options.seed, this.durability),
      stats: {
        ...brokerStats,
        simulatedMs: this.clock.nowMs,
        events: this.clock.eventsRun,
        rpcMessages: this.rpcNet.messagesSent,
        raftMessages: this.raftNet.messagesSent,
        brokerCrashes: this.brokerCrashes,
        controllerCrashes: this.controllerCrashes,
        crashesInsideReady: this.crashesInsideReady,
        partitions: this.partitionsStarted,
        pauses: this.pauses,
        controllerResigns: this.resigns,
        produced: this.producer.sent,
        acknowledged: this.checker.acknowledgedCount,
        clientAcks: this.producer.acked,
        notControllerAfterProposal: this.rpcServer.notControllerAfterProposal,
        unpromisedPartitions: this.checker.unpromisedPartitions,
        livenessMs: this.livenessMetAtMs === null ? null : this.livenessMetAtMs - this.healedAtMs,
      },
    }
  }
}

/** Null if the two logs hold the same batches byte for byte; else the first difference. */
function sameLog(a: SimPartitionLog, b: SimPartitionLog): string | null {
  if (a.logEndOffset !== b.logEndOffset) return `log end ${b.logEndOffset}, the leader's ${a.logEndOffset}`
  const x = a.batches()
  const y = b.batches()
  if (x.length !== y.length) return `${y.length} batches, the leader has ${x.length}`
  for (let i = 0; i < x.length; i++) {
    if (!x[i].bytes.equals(y[i].bytes)) return `batch ${i} at offset ${y[i].baseOffset} differs`
  }
  return null
}

export { splitKey }
