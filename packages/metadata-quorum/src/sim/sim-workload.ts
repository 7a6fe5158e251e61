/**
 * SimWorkload: the simulated client. It submits requests to whichever node it believes is
 * the leader (the active controller), follows not_leader hints, and records every proposal
 * acknowledged as committed with its (offset, epoch), for the checker and the liveness
 * phase.
 *
 * Raft mode sends small unique byte strings. Controller mode sends a random mix of
 * RegisterBroker, BrokerHeartbeat, CreateTopics, DeleteTopics, CreatePartitions,
 * AlterPartition, ElectLeaders and AllocateProducerIds over a small pool of broker ids and
 * topic names, so requests collide (duplicate topics, deleting what is gone, stale broker
 * and partition epochs) and both the record path and the error path run. AlterPartition
 * reuses the epochs its last committed answer for that partition gave, so ISR changes
 * succeed often enough to matter.
 *
 * A proposal is acknowledged when the node it was submitted to reports it committed. If
 * that node crashes first, the outcome is unknown and the proposal is never acknowledged
 * (a real client would time out and retry).
 */
import type { NodeId } from '@tributary/protocol'
import { ErrorCode, controller, errorInfo } from '@tributary/protocol'
import type { ControllerCommand, ControllerResponse } from '../controller/types.js'
import type { Epoch, Offset } from '../raft/types.js'
import type { Random } from '../util/random.js'
import { between, chance, pick } from './sim-random.js'
import type { SimCompletion, SimRequest, SubmitOutcome } from './sim-replica.js'

export type WorkloadMode = 'raft' | 'controller'

export interface WorkloadHost {
  /** Submits on node `id` now; null if the node is down. */
  submit(id: NodeId, request: SimRequest, nowMs: number): SubmitOutcome | null
  incarnation(id: NodeId): number
  trace(nodeId: NodeId | null, what: string): void
}

export interface Acknowledged {
  readonly nodeId: NodeId
  readonly offset: Offset
  readonly epoch: Epoch
  readonly probe: boolean
}

interface PartitionGuess {
  readonly leader: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
}

/** Guessed epochs wrap here, so a guess that overshot the real epoch comes round again. */
const EPOCH_GUESS_MAX = 12

interface InFlight {
  readonly epoch: Epoch
  readonly probe: boolean
  readonly submittedMs: number
  readonly request: SimRequest
  readonly response: ControllerResponse | undefined
  readonly what: string
}

/** Broker ids the workload registers (separate from the controller quorum's node ids). */
const BROKER_IDS = [1, 2, 3, 4] as const
const TOPIC_NAMES = ['orders', 'payments', 'audit', 'clicks', 'logs', 'metrics'] as const
/** A probe with no outcome after this long is abandoned and a new one sent. */
const PROBE_RETRY_MS = 400

export class SimWorkload {
  private target: NodeId
  /** key: `${node}/${incarnation}/${offset}` */
  private readonly inFlight = new Map<string, InFlight>()
  private readonly brokerEpochs = new Map<number, bigint>()
  /** Topic ids learned from committed CreateTopics answers. */
  private readonly topicIds = new Map<string, string>()
  /**
   * `${topicId}/${partitionId}` -> the client's guess of the partition's leader and epochs:
   * taken from successful AlterPartition answers and nudged after each refusal (the next
   * broker after NOT_LEADER_OR_FOLLOWER, the next epoch after a mismatch), so the guesses
   * converge on the real state and ISR changes succeed often enough to matter.
   */
  private readonly partitionGuesses = new Map<string, PartitionGuess>()
  private nextRequestId = 1
  /**
   * Completions reported while a submit is still running: a single-voter leader commits a
   * proposal inside the very input that proposed it, before the client knows its offset.
   */
  private submitting = false
  private readonly early = new Map<string, SimCompletion>()
  private probing = false
  private lastProbeMs = -Infinity
  readonly acknowledged: Acknowledged[] = []
  submitted = 0
  notLeader = 0
  unavailable = 0
  answered = 0
  failed = 0

  constructor(
    private readonly random: Random,
    private readonly mode: WorkloadMode,
    private readonly controllers: readonly NodeId[],
    private readonly host: WorkloadHost,
    private readonly onAcknowledged: (ack: Acknowledged, nowMs: number) => void,
  ) {
    this.target = pick(random, controllers)
  }

  get probeAcknowledged(): boolean {
    return this.acknowledged.some((a) => a.probe)
  }

  /** Liveness phase: from now on send probes (new proposals) until one is acknowledged. */
  startProbing(): void {
    this.probing = true
  }

  /** One client step: submit one request (fault phase) or a probe (liveness phase). */
  step(nowMs: number): void {
    if (this.probing) {
      if (this.probeAcknowledged || nowMs - this.lastProbeMs < PROBE_RETRY_MS) return
      this.lastProbeMs = nowMs
      this.send(this.probeRequest(), true, nowMs)
      return
    }
    this.send(this.nextRequest(), false, nowMs)
  }

  completed(id: NodeId, completion: SimCompletion, nowMs: number): void {
    const key = `${id}/${this.host.incarnation(id)}/${completion.offset}`
    const request = this.inFlight.get(key)
    if (request === undefined) {
      if (this.submitting) this.early.set(key, completion)
      return
    }
    this.inFlight.delete(key)
    if (completion.outcome !== 'committed') {
      this.failed++
      this.host.trace(id, `client: ${request.what} at ${completion.offset} failed`)
      if (request.probe) this.lastProbeMs = -Infinity
      return
    }
    const ack: Acknowledged = { nodeId: id, offset: completion.offset, epoch: request.epoch, probe: request.probe }
    this.acknowledged.push(ack)
    this.host.trace(id, `client: ${request.what} acknowledged at ${completion.offset}@${request.epoch}`)
    this.learn(request.request, request.response)
    this.onAcknowledged(ack, nowMs)
  }

  /** The node crashed: the outcome of its pending proposals is unknown to the client. */
  nodeCrashed(id: NodeId): void {
    const prefix = `${id}/`
    for (const key of [...this.inFlight.keys()]) {
      if (key.startsWith(prefix)) {
        if (this.inFlight.get(key)?.probe === true) this.lastProbeMs = -Infinity
        this.inFlight.delete(key)
      }
    }
  }

  private send(request: SimRequest, probe: boolean, nowMs: number): void {
    const id = this.target
    this.submitted++
    this.submitting = true
    let outcome: SubmitOutcome | null
    try {
      outcome = this.host.submit(id, request, nowMs)
    } finally {
      this.submitting = false
    }
    const early = new Map(this.early)
    this.early.clear()
    const what = describeRequest(request)
    if (outcome === null) {
      this.unavailable++
      this.host.trace(id, `client: ${what} -> no answer (node down, paused or busy)`)
      this.retarget(null)
      if (probe) this.lastProbeMs = -Infinity
      return
    }
    switch (outcome.kind) {
      case 'not_leader':
        this.notLeader++
        this.host.trace(id, `client: ${what} -> not leader (hint ${outcome.leaderId ?? 'none'})`)
        this.retarget(outcome.leaderId)
        if (probe) this.lastProbeMs = -Infinity
        return
      case 'done':
        this.answered++
        if (outcome.response?.type === 'alter_partition') this.learnPartitionStates(outcome.response.response)
        this.host.trace(id, `client: ${what} -> answered (${outcome.detail}${partitionCodes(outcome.response)})`)
        if (probe) this.lastProbeMs = -Infinity
        return
      case 'pending':
        this.host.trace(id, `client: ${what} -> pending at ${outcome.offset}@${outcome.epoch}`)
        const key = `${id}/${this.host.incarnation(id)}/${outcome.offset}`
        this.inFlight.set(key, { epoch: outcome.epoch, probe, submittedMs: nowMs, request, response: outcome.response, what })
        const done = early.get(key)
        if (done !== undefined) this.completed(id, done, nowMs)
        return
    }
  }

  private retarget(hint: NodeId | null): void {
    this.target = hint !== null && this.controllers.includes(hint) ? hint : pick(this.random, this.controllers)
  }

  /** Remembers what a committed response tells the client (broker epochs). */
  private learn(request: SimRequest, response: ControllerResponse | undefined): void {
    if (response === undefined || request.kind !== 'command') return
    if (request.command.type === 'register_broker' && response.type === 'register_broker' && response.response.errorCode === 0) {
      this.brokerEpochs.set(request.command.request.brokerId, response.response.brokerEpoch)
    }
    if (response.type === 'delete_topics') {
      for (const t of response.response.topics) if (t.errorCode === 0) this.topicIds.delete(t.name)
    }
    if (response.type === 'create_topics') {
      for (const t of response.response.topics) if (t.errorCode === 0 && t.topicId !== '') this.topicIds.set(t.name, t.topicId)
    }
    if (response.type === 'alter_partition') this.learnPartitionStates(response.response)
  }

  /** Updates the partition guesses from an AlterPartition answer (see partitionGuesses). */
  private learnPartitionStates(response: controller.AlterPartitionResponse): void {
    for (const t of response.topics) {
      for (const p of t.partitions) {
        const key = `${t.topicId}/${p.partitionId}`
        if (p.errorCode === 0) {
          this.partitionGuesses.set(key, { leader: p.leaderId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch })
          continue
        }
        if (p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code && p.partitionId === 0) {
          // Partition 0 always exists while the topic does: it is gone, stop naming it.
          for (const [name, id] of this.topicIds) if (id === t.topicId) this.topicIds.delete(name)
          continue
        }
        const g = this.partitionGuesses.get(key) ?? { leader: BROKER_IDS[0], leaderEpoch: 0, partitionEpoch: 0 }
        if (p.errorCode === ErrorCode.FENCED_LEADER_EPOCH.code) {
          this.partitionGuesses.set(key, { ...g, leaderEpoch: (g.leaderEpoch + 1) % EPOCH_GUESS_MAX })
        } else if (p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER.code) {
          this.partitionGuesses.set(key, { ...g, leader: BROKER_IDS[((BROKER_IDS as readonly number[]).indexOf(g.leader) + 1) % BROKER_IDS.length] })
        } else if (p.errorCode === ErrorCode.INVALID_UPDATE_VERSION.code) {
          this.partitionGuesses.set(key, { ...g, partitionEpoch: (g.partitionEpoch + 1) % EPOCH_GUESS_MAX })
        }
      }
    }
  }


  private probeRequest(): SimRequest {
    if (this.mode === 'raft') return { kind: 'data', data: this.dataBytes(0xff) }
    return { kind: 'command', command: this.registerBroker(pick(this.random, BROKER_IDS)) }
  }

  private nextRequest(): SimRequest {
    if (this.mode === 'raft') return { kind: 'data', data: this.dataBytes(0) }
    return { kind: 'command', command: this.nextCommand() }
  }

  private dataBytes(marker: number): Uint8Array {
    const n = between(this.random, 6, 24)
    const data = new Uint8Array(n)
    const id = this.nextRequestId++
    data[0] = marker
    data[1] = id & 0xff
    data[2] = (id >>> 8) & 0xff
    data[3] = (id >>> 16) & 0xff
    for (let i = 4; i < n; i++) data[i] = Math.floor(this.random.next() * 256)
    return data
  }

  private nextCommand(): ControllerCommand {
    const r = this.random.next()
    if (r < 0.2) return this.registerBroker(pick(this.random, BROKER_IDS))
    if (r < 0.5) {
      const brokerId = pick(this.random, BROKER_IDS)
      const epoch = this.brokerEpochs.get(brokerId)
      if (epoch === undefined) return this.registerBroker(brokerId)
      return {
        type: 'broker_heartbeat',
        request: {
          brokerId,
          // Sometimes a stale epoch, to exercise the fencing path.
          brokerEpoch: chance(this.random, 0.1) ? epoch - 1n : epoch,
          currentMetadataOffset: BigInt(between(this.random, 0, 1000)),
          wantFence: chance(this.random, 0.05),
          wantShutdown: chance(this.random, 0.03),
        },
      }
    }
    if (r < 0.68) {
      const count = between(this.random, 1, 2)
      const topics: controller.CreatableTopic[] = []
      for (let i = 0; i < count; i++) {
        topics.push({
          name: pick(this.random, TOPIC_NAMES),
          numPartitions: chance(this.random, 0.2) ? -1 : between(this.random, 1, 4),
          replicationFactor: chance(this.random, 0.2) ? -1 : between(this.random, 1, 3),
          configs: {},
        })
      }
      return { type: 'create_topics', request: { topics, validateOnly: chance(this.random, 0.05) } }
    }
    if (r < 0.77) {
      return { type: 'delete_topics', request: { names: [pick(this.random, TOPIC_NAMES)] } }
    }
    if (r < 0.84) {
      return {
        type: 'create_partitions',
        request: {
          topics: [{ name: pick(this.random, TOPIC_NAMES), count: between(this.random, 1, 8) }],
          validateOnly: chance(this.random, 0.05),
        },
      }
    }
    if (r < 0.94) return this.alterPartition()
    if (r < 0.97) {
      const topicPartitions = chance(this.random, 0.3)
        ? []
        : [{ topic: pick(this.random, TOPIC_NAMES), partitions: [between(this.random, 0, 3)] }]
      return { type: 'elect_leaders', request: { electionType: controller.ElectionType.PREFERRED, topicPartitions } }
    }
    const brokerId = pick(this.random, BROKER_IDS)
    return { type: 'allocate_producer_ids', request: { brokerId, brokerEpoch: this.brokerEpoch(brokerId) } }
  }

  /** A known broker epoch, sometimes one too old (or a guess for a broker never registered). */
  private brokerEpoch(brokerId: number): bigint {
    const epoch = this.brokerEpochs.get(brokerId) ?? 0n
    return chance(this.random, 0.1) ? epoch - 1n : epoch
  }

  private alterPartition(): ControllerCommand {
    const names = [...this.topicIds.keys()]
    const topicId = names.length === 0 || chance(this.random, 0.05) ? 'AAAAAAAAAAAAAAAAAAAAAA' : this.topicIds.get(pick(this.random, names))!
    const partitionId = chance(this.random, 0.85) ? 0 : between(this.random, 1, 3)
    const guess = this.partitionGuesses.get(`${topicId}/${partitionId}`) ?? { leader: BROKER_IDS[0], leaderEpoch: 0, partitionEpoch: 0 }
    const leader = guess.leader
    // Shrink to the leader, or the leader plus one more (a replica or not, in sync or not).
    const newIsr: controller.AlterPartitionBrokerState[] = [{ brokerId: leader, brokerEpoch: this.brokerEpoch(leader) }]
    const other = pick(this.random, BROKER_IDS)
    if (other !== leader && chance(this.random, 0.5)) newIsr.push({ brokerId: other, brokerEpoch: this.brokerEpoch(other) })
    return {
      type: 'alter_partition',
      request: {
        brokerId: leader,
        brokerEpoch: this.brokerEpoch(leader),
        topics: [{ topicId, partitions: [{ partitionId, leaderEpoch: guess.leaderEpoch, partitionEpoch: guess.partitionEpoch, newIsr }] }],
      },
    }
  }



  private registerBroker(brokerId: number): ControllerCommand {
    return {
      type: 'register_broker',
      request: {
        brokerId,
        incarnationId: `inc-${brokerId}-${this.nextRequestId++}`,
        endpoints: [{ name: 'PLAINTEXT', host: `broker-${brokerId}`, port: 9092 }],
        rack: '',
      },
    }
  }
}

/** Per-partition error names of AlterPartition and ElectLeaders answers, for the trace. */
function partitionCodes(r: ControllerResponse | undefined): string {
  let codes: number[] = []
  if (r?.type === 'alter_partition') codes = r.response.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))
  else if (r?.type === 'elect_leaders') codes = r.response.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))
  return codes.length === 0 ? '' : `; partitions: ${codes.map((c) => errorInfo(c).name).join(',')}`
}

function describeRequest(request: SimRequest): string {
  if (request.kind === 'data') return `propose ${request.data.length} bytes`
  const c = request.command
  switch (c.type) {
    case 'register_broker':
      return `RegisterBroker(${c.request.brokerId})`
    case 'broker_heartbeat':
      return `BrokerHeartbeat(${c.request.brokerId}, epoch ${c.request.brokerEpoch})`
    case 'create_topics':
      return `CreateTopics(${c.request.topics.map((t) => `${t.name}/${t.numPartitions}x${t.replicationFactor}`).join(',')})`
    case 'delete_topics':
      return `DeleteTopics(${c.request.names.join(',')})`
    case 'create_partitions':
      return `CreatePartitions(${c.request.topics.map((t) => `${t.name}->${t.count}`).join(',')})`
    case 'alter_partition': {
      const parts = c.request.topics.flatMap((t) => t.partitions.map((p) =>
        `${t.topicId}-${p.partitionId}@${p.leaderEpoch}/${p.partitionEpoch}->[${p.newIsr.map((b) => b.brokerId).join(',')}]`))
      return `AlterPartition(${c.request.brokerId}, ${parts.join(',')})`
    }
    case 'elect_leaders':
      return `ElectLeaders(${c.request.topicPartitions.length === 0 ? 'all' : c.request.topicPartitions.map((t) => `${t.topic}-${t.partitions.join('/')}`).join(',')})`
    case 'allocate_producer_ids':
      return `AllocateProducerIds(${c.request.brokerId}, epoch ${c.request.brokerEpoch})`
    case 'alter_configs':
      return `AlterConfigs(${c.request.resources.map((r) => r.topic).join(',')})`
  }
}
