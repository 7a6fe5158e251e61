/**
 * SimNetwork: carries RaftMessages between simulated nodes on the SimClock.
 *
 * Owns the link state (which directed links are cut) and the message fault knobs. Every
 * message gets its own random delay, so messages are reordered whenever delays overlap; a
 * message may also be dropped or duplicated (the copy gets its own delay). A cut link drops
 * what crosses it at delivery time, so messages already in flight when a partition starts are
 * lost too, as on a real network.
 *
 * Partitions are sets of directed cuts. A link may be cut by several partitions at once; it
 * carries traffic again only once every partition that cut it has healed (a counter per
 * link). Asymmetric partitions are just cuts in one direction.
 *
 * Invariant: the network never invents or alters a message: it delivers each sent message
 * zero, one or two times, unchanged.
 *
 * It carries RaftMessages by default; any message with `from` and `to` works (the broker's
 * replication simulator carries its own RPCs on a second instance).
 */
import type { NodeId } from '@tributary/protocol'
import type { RaftMessage } from '../raft/types.js'
import type { Random } from '../util/random.js'
import { assert } from '../util/assert.js'
import type { SimClock } from './sim-clock.js'

export interface NetworkFaults {
  readonly dropProbability: number
  readonly duplicateProbability: number
  /** Normal one-way delay is uniform in [minDelayMs, maxDelayMs]. */
  readonly minDelayMs: number
  readonly maxDelayMs: number
  /** With this probability a message is slow: delay uniform up to slowMaxDelayMs. */
  readonly slowProbability: number
  readonly slowMaxDelayMs: number
}

export const CLEAN_NETWORK: NetworkFaults = {
  dropProbability: 0,
  duplicateProbability: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  slowProbability: 0,
  slowMaxDelayMs: 0,
}

/** A directed link from -> to. */
export interface Link {
  readonly from: NodeId
  readonly to: NodeId
}

export interface Partition {
  readonly description: string
  readonly cuts: readonly Link[]
}

/** Why a message did not arrive; for the trace. */
export type DropReason = 'dropped' | 'partitioned'

/** What the network needs of a message: its two ends. */
export interface Addressed {
  readonly from: NodeId
  readonly to: NodeId
}

export interface NetworkListener<M extends Addressed = RaftMessage> {
  /** The message arrived at `message.to`. `tag` is what the sender passed to send(). */
  deliver(message: M, tag: number): void
  dropped(message: M, reason: DropReason): void
}

export class SimNetwork<M extends Addressed = RaftMessage> {
  private readonly index = new Map<NodeId, number>()
  private readonly cutCount: Int32Array
  private faults: NetworkFaults = CLEAN_NETWORK
  private readonly partitions = new Map<number, Partition>()
  private nextPartitionId = 1
  private sentCount = 0
  private deliveredCount = 0

  /** fifo links only: the latest delivery time scheduled on each directed link. */
  private readonly lastDeliveryMs: Float64Array | null

  /**
   * `fifoLinks`: messages on one directed link arrive in the order sent (a TCP connection,
   * such as a gRPC channel's); each still gets its own delay, so a slow message holds back
   * the ones behind it. Off by default: Raft tolerates reordering and the metadata
   * simulator wants it.
   */
  constructor(
    private readonly clock: SimClock,
    private readonly random: Random,
    readonly nodeIds: readonly NodeId[],
    private readonly listener: NetworkListener<M>,
    fifoLinks = false,
  ) {
    nodeIds.forEach((id, i) => this.index.set(id, i))
    this.cutCount = new Int32Array(nodeIds.length * nodeIds.length)
    this.lastDeliveryMs = fifoLinks ? new Float64Array(nodeIds.length * nodeIds.length) : null
  }

  get messagesSent(): number {
    return this.sentCount
  }

  get messagesDelivered(): number {
    return this.deliveredCount
  }

  setFaults(faults: NetworkFaults): void {
    assert(faults.minDelayMs >= 0 && faults.maxDelayMs >= faults.minDelayMs, 'delay bounds are ordered')
    this.faults = faults
  }

  currentFaults(): NetworkFaults {
    return this.faults
  }

  /** Cuts the partition's links until heal(id). Returns the partition's id. */
  partition(partition: Partition): number {
    const id = this.nextPartitionId++
    this.partitions.set(id, partition)
    for (const cut of partition.cuts) this.cutCount[this.slot(cut.from, cut.to)]++
    return id
  }

  heal(id: number): Partition | null {
    const partition = this.partitions.get(id)
    if (partition === undefined) return null
    this.partitions.delete(id)
    for (const cut of partition.cuts) {
      const s = this.slot(cut.from, cut.to)
      assert(this.cutCount[s] > 0, 'a healed cut was counted')
      this.cutCount[s]--
    }
    return partition
  }

  healAll(): void {
    for (const id of [...this.partitions.keys()]) this.heal(id)
  }

  activePartitions(): number {
    return this.partitions.size
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return this.cutCount[this.slot(from, to)] === 0
  }

  /** Sends one message; `tag` travels with it untouched (the simulator uses it for incarnations). */
  send(message: M, tag: number): void {
    this.sentCount++
    const f = this.faults
    if (f.dropProbability > 0 && this.random.next() < f.dropProbability) {
      this.listener.dropped(message, 'dropped')
      return
    }
    this.schedule(message, tag)
    if (f.duplicateProbability > 0 && this.random.next() < f.duplicateProbability) this.schedule(message, tag)
  }

  private schedule(message: M, tag: number): void {
    let atMs = this.clock.nowMs + this.delayMs()
    const last = this.lastDeliveryMs
    if (last !== null) {
      // Same-time events run in scheduling order, so equal times keep the order too.
      const slot = this.slot(message.from, message.to)
      if (atMs < last[slot]) atMs = last[slot]
      last[slot] = atMs
    }
    this.clock.scheduleAt(atMs, () => {
      if (!this.canReach(message.from, message.to)) {
        this.listener.dropped(message, 'partitioned')
        return
      }
      this.deliveredCount++
      this.listener.deliver(message, tag)
    })
  }

  private delayMs(): number {
    const f = this.faults
    const r = this.random
    if (f.slowProbability > 0 && r.next() < f.slowProbability) {
      return f.minDelayMs + Math.floor(r.next() * (f.slowMaxDelayMs - f.minDelayMs + 1))
    }
    return f.minDelayMs + Math.floor(r.next() * (f.maxDelayMs - f.minDelayMs + 1))
  }

  private slot(from: NodeId, to: NodeId): number {
    const a = this.index.get(from)
    const b = this.index.get(to)
    assert(a !== undefined && b !== undefined, 'message between known nodes')
    return a * this.nodeIds.length + b
  }
}

// ---- Partition builders ----------------------------------------------------------------

/** Both directions between every node of `a` and every node of `b`. */
export function splitPartition(a: readonly NodeId[], b: readonly NodeId[]): Partition {
  const cuts: Link[] = []
  for (const x of a) {
    for (const y of b) {
      cuts.push({ from: x, to: y }, { from: y, to: x })
    }
  }
  return { description: `split [${a.join(',')}] | [${b.join(',')}]`, cuts }
}

/** One direction only: nothing from `from` reaches `to` (but `to` still reaches `from`). */
export function oneWayPartition(from: readonly NodeId[], to: readonly NodeId[]): Partition {
  const cuts: Link[] = []
  for (const x of from) {
    for (const y of to) {
      if (x !== y) cuts.push({ from: x, to: y })
    }
  }
  return { description: `one-way [${from.join(',')}] -/-> [${to.join(',')}]`, cuts }
}
