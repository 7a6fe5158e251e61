/**
 * ReplicationChecker: the safety properties of partition replication, checked as the
 * replication simulator runs (after every event that can change what a property reads).
 * It holds the global records every replica is compared with:
 *   - leaderOfEpoch: for each partition and leader epoch, the leader the committed metadata
 *     log names (from every image any node replays);
 *   - the committed log of each partition: the batches below the highest HW any replica has
 *     reported, byte for byte, in offset order (it only ever grows);
 *   - the acknowledged batches: every acks=all produce a leader answered with success.
 *
 * Properties:
 *   - leader_in_isr: every partition registration in every committed image has leader -1 or a
 *     leader inside its ISR;
 *   - single_leader_per_epoch: one leader per (partition, leader epoch), in every image and
 *     in every broker that acts as leader; a broker only becomes leader of (and acknowledges
 *     in) an epoch whose leader is itself;
 *   - hw_monotonic: the HW of a replica never goes back. Precisely: within one incarnation of
 *     a broker process the HW of each of its replicas never decreases (whatever its role
 *     does), and it never exceeds the replica's log end. Across a restart the HW starts from
 *     what was durable: min(the HW checkpoint, the recovered log end). That start may be
 *     lower than the HW before the crash (Kafka's checkpoint lags by design), but it is
 *     never above the log, and everything below it is committed data (next property), so
 *     no committed record ever leaves the partition: the partition's HW (the committed end,
 *     the highest HW any replica reported) never goes back;
 *   - replicas_agree: the batches below a replica's HW are the committed batches, byte for
 *     byte (offsets, epochs, payloads). So any two replicas agree below the minimum of their
 *     HWs. Checked whenever a replica's HW moves, and over the whole prefix at a restart;
 *   - no_truncation_below_hw: a replica never truncates below its own HW (KIP-101 cuts only
 *     divergent, uncommitted suffixes);
 *   - acked_on_isr (fsync mode): when a produce is acknowledged, every member of the
 *     leader's maximal ISR holds the batch durably at its offset. From then on, every
 *     member of the partition's committed ISR (the latest committed image) holds every
 *     acknowledged batch durably: checked on every ack, on every ISR change (for the members
 *     that joined), and on every crash and truncation (for the replica that lost data). As
 *     an ISR member keeps each acked batch on its disk, a crash of any minority (indeed of
 *     every replica) cannot lose it; after every crash the checker also checks directly that
 *     each acked batch is on some live ISR member (while any is up);
 *   - acked_readable (after healing): every acknowledged batch is on every replica and
 *     readable below the leader's HW.
 * The first violation is kept; the simulator stops there.
 *
 * Page-cache mode promises less: a replica counts toward the HW with data it has not
 * flushed. A killed process keeps those writes (the OS page cache has them), so every
 * property above still holds across process crashes, with "in the log" for "durable"; but a
 * power loss can take an acknowledged batch with it. Once a power loss took any batch of a
 * partition from some replica, the data checks of that partition stop (the mode made no
 * promise for it); the simulator counts such partitions.
 */
import type { MetadataImage, PartitionRegistration } from '@tributary/metadata-quorum'
import { NO_NODE, type NodeId, type TopicId } from '@tributary/protocol'
import type { Durability } from '../replica/partition-state.js'
import { partitionKey, type PartitionKey } from './sim-messages.js'
import type { SimBatch, SimPartitionLog } from './sim-partition-log.js'

export type ReplicationInvariant =
  | 'leader_in_isr'
  | 'single_leader_per_epoch'
  | 'hw_monotonic'
  | 'replicas_agree'
  | 'no_truncation_below_hw'
  | 'acked_on_isr'
  | 'acked_readable'
  | 'broker_threw'
  | 'raft'
  | 'liveness'
  | 'event_budget'

export interface ReplicationViolation {
  readonly invariant: ReplicationInvariant
  readonly message: string
  readonly atMs: number
}

/** How the checker reads a broker's disk. */
export interface DiskView {
  /** The log of `partition` on broker `brokerId` (up or down), if it has one. */
  log(brokerId: NodeId, partition: string): SimPartitionLog | undefined
}

interface AckedBatch {
  readonly partition: string
  readonly batch: SimBatch
  readonly brokerId: NodeId
}

interface CommittedLog {
  /** Committed batches in offset order, contiguous from 0. */
  readonly batches: SimBatch[]
  /** Where they end: the partition's HW. */
  end: bigint
  /** The replica whose HW first covered each batch (for messages). */
  readonly firstSeenOn: NodeId[]
}

interface ReplicaTrack {
  incarnation: number
  highWatermark: bigint
}

export class ReplicationChecker {
  private first: ReplicationViolation | null = null
  /** `${partition}/${epoch}` -> leader */
  private readonly leaderOfEpoch = new Map<string, NodeId>()
  /** `${partition}/${epoch}` -> the broker that acknowledged produces in that epoch */
  private readonly ackerOfEpoch = new Map<string, NodeId>()
  private readonly committed = new Map<string, CommittedLog>()
  private readonly replicas = new Map<string, ReplicaTrack>()
  /** partition -> base offset -> acked batch */
  private readonly acked = new Map<string, Map<bigint, AckedBatch>>()
  private ackedCount = 0
  /** The newest committed image seen (the controller's current view). */
  private latest: MetadataImage | null = null
  private readonly lastImageOf = new Map<NodeId, MetadataImage>()
  /** Page-cache mode: partitions whose data checks stopped after a lossy crash. */
  private readonly unpromised = new Set<string>()

  /**
   * `requireDurable` false (tests only) checks presence instead of durability, so a planted
   * durability bug shows up only as a real loss after a crash: the proof that the crash
   * checks catch what the acknowledgement-time check would have.
   */
  constructor(
    private readonly durability: Durability,
    private readonly disks: DiskView,
    private readonly requireDurable: boolean = true,
  ) {}

  get violation(): ReplicationViolation | null {
    return this.first
  }

  get ok(): boolean {
    return this.first === null
  }

  get acknowledgedCount(): number {
    return this.ackedCount
  }

  get unpromisedPartitions(): number {
    return this.unpromised.size
  }

  /** The committed end (partition HW) of `partition`. */
  committedEnd(partition: string): bigint {
    return this.committed.get(partition)?.end ?? 0n
  }

  latestImage(): MetadataImage | null {
    return this.latest
  }

  ackedBatches(partition: string): AckedBatch[] {
    return [...(this.acked.get(partition)?.values() ?? [])]
  }

  fail(invariant: ReplicationInvariant, message: string, atMs: number): void {
    if (this.first === null) this.first = { invariant, message, atMs }
  }

  // ---- metadata ---------------------------------------------------------------------------

  /**
   * A committed image node `source` replayed (a controller's, or the one a broker acts on).
   * Checks leader_in_isr and records the leader of each epoch for every partition that
   * changed since the previous image of that node; when it is the newest image so far,
   * checks that replicas joining an ISR hold every acknowledged batch.
   */
  observeImage(source: NodeId, image: MetadataImage, nowMs: number): void {
    const previous = this.lastImageOf.get(source) ?? null
    if (previous === image) return
    this.lastImageOf.set(source, image)
    forEachChangedPartition(previous, image, (key, p) => {
      if (p.leader !== NO_NODE && !p.isr.includes(p.leader)) {
        this.fail('leader_in_isr', `image ${image.offset} (node ${source}): partition ${key} has leader ${p.leader} outside its ISR [${p.isr.join(',')}] (epoch ${p.leaderEpoch})`, nowMs)
      }
      this.recordLeader(key, p.leaderEpoch, p.leader, `image ${image.offset} (node ${source})`, nowMs)
    })
    const latest = this.latest
    if (latest !== null && image.offset <= latest.offset) return
    this.latest = image
    forEachChangedPartition(latest, image, (key, p, old) => {
      for (const id of p.isr) {
        if (old === undefined || !old.isr.includes(id)) this.checkAckedOn(key, id, `joined the ISR in image ${image.offset}`, nowMs)
      }
    })
  }

  /** The ISR of `partition` in the newest committed image. */
  committedIsr(partition: string): readonly NodeId[] {
    const image = this.latest
    if (image === null) return []
    const [topicId, partitionId] = splitKey(partition)
    return image.topicsById.get(topicId)?.partitions.get(partitionId)?.isr ?? []
  }

  // ---- replicas ---------------------------------------------------------------------------

  /** A broker (re)started: its replica of `partition` starts from the HW it recovered. */
  replicaStarted(brokerId: NodeId, incarnation: number, partition: string, highWatermark: bigint, log: SimPartitionLog, nowMs: number): void {
    if (highWatermark > log.logEndOffset) {
      this.fail('hw_monotonic', `broker ${brokerId} restarted ${partition} with HW ${highWatermark} beyond its log end ${log.logEndOffset}`, nowMs)
      return
    }
    this.replicas.set(`${brokerId}/${partition}`, { incarnation, highWatermark })
    this.checkAgainstCommitted(brokerId, partition, log, 0n, highWatermark, 'after restart', nowMs)
  }

  /** The replica's current HW and log; called after every event that may have moved them. */
  observeReplica(brokerId: NodeId, incarnation: number, partition: string, highWatermark: bigint, log: SimPartitionLog, nowMs: number): void {
    const id = `${brokerId}/${partition}`
    let track = this.replicas.get(id)
    if (this.unpromised.has(partition)) {
      this.replicas.set(id, { incarnation, highWatermark })
      return
    }
    if (track === undefined || track.incarnation !== incarnation) {
      track = { incarnation, highWatermark: 0n }
      this.replicas.set(id, track)
    }
    if (highWatermark < track.highWatermark) {
      this.fail('hw_monotonic', `broker ${brokerId}: HW of ${partition} went back from ${track.highWatermark} to ${highWatermark}`, nowMs)
      return
    }
    if (highWatermark > log.logEndOffset) {
      this.fail('hw_monotonic', `broker ${brokerId}: HW ${highWatermark} of ${partition} is beyond its log end ${log.logEndOffset}`, nowMs)
      return
    }
    if (highWatermark === track.highWatermark) return
    const from = track.highWatermark
    track.highWatermark = highWatermark
    this.checkAgainstCommitted(brokerId, partition, log, from, highWatermark, `as its HW moved to ${highWatermark}`, nowMs)
  }

  /** A replica truncated its log to `newEnd` (KIP-101/279). */
  truncated(brokerId: NodeId, partition: string, newEnd: bigint, highWatermark: bigint, nowMs: number): void {
    if (this.unpromised.has(partition)) return
    if (newEnd < highWatermark) {
      this.fail('no_truncation_below_hw', `broker ${brokerId} truncated ${partition} to ${newEnd}, below its HW ${highWatermark}`, nowMs)
      return
    }
    if (this.committedIsr(partition).includes(brokerId)) this.checkAckedOn(partition, brokerId, `truncated to ${newEnd} while in the ISR`, nowMs)
  }

  /**
   * A broker crashed. In fsync mode its ISR replicas must still hold every acknowledged
   * batch on disk. In page-cache mode a crash that lost committed data voids the promise
   * for that partition.
   */
  brokerCrashed(brokerId: NodeId, partitions: ReadonlyMap<string, { readonly endBefore: bigint }>, nowMs: number): void {
    for (const [partition, { endBefore }] of partitions) {
      if (this.durability === 'page-cache') {
        // Any loss voids the promise: the leader may still count the data this replica
        // acknowledged before it lost it (its follower progress is not reset until it fetches).
        const log = this.disks.log(brokerId, partition)
        const end = log === undefined ? 0n : log.logEndOffset
        if (end < endBefore) this.unpromised.add(partition)
        continue
      }
      if (this.committedIsr(partition).includes(brokerId)) this.checkAckedOn(partition, brokerId, 'crashed while in the ISR', nowMs)
    }
  }

  /**
   * After a crash: every acknowledged batch is still on some live member of the committed
   * ISR (unless every member is down; the durable copies are checked by brokerCrashed).
   * Implied by acked_on_isr, and checked on its own because it is the property users see.
   */
  checkAckedOnLiveIsr(crashed: NodeId, isUp: (id: NodeId) => boolean, nowMs: number): void {
    for (const [partition, byOffset] of this.acked) {
      if (this.unpromised.has(partition)) continue
      const live = this.committedIsr(partition).filter(isUp)
      if (live.length === 0) continue
      for (const acked of byOffset.values()) {
        if (live.some((id) => this.holds(id, acked) === null)) continue
        this.fail('acked_on_isr', `after broker ${crashed} crashed, no live ISR member [${live.join(',')}] of ${partition} holds ${describeBatch(acked.batch)} (acknowledged by broker ${acked.brokerId})`, nowMs)
        return
      }
    }
  }

  // ---- leadership and acknowledgements ----------------------------------------------------

  /** A broker became leader of `partition` in `epoch` (PartitionState.becomeLeader succeeded). */
  becameLeader(brokerId: NodeId, partition: string, epoch: number, nowMs: number): void {
    const named = this.leaderOfEpoch.get(`${partition}/${epoch}`)
    if (named !== brokerId) {
      this.fail('single_leader_per_epoch', `broker ${brokerId} became leader of ${partition} in epoch ${epoch}, but the metadata names ${named ?? 'no leader'} for it`, nowMs)
    }
  }

  /**
   * A leader answered an acks=all produce with success. `maximalIsr` is its PartitionState's
   * maximal ISR at that moment; `producerBytes` what the client sent.
   */
  acknowledged(brokerId: NodeId, partition: string, epoch: number, batch: SimBatch, producerBytes: Buffer, maximalIsr: readonly NodeId[], nowMs: number): void {
    const key = `${partition}/${epoch}`
    const named = this.leaderOfEpoch.get(key)
    if (named !== brokerId) {
      this.fail('single_leader_per_epoch', `broker ${brokerId} acknowledged a produce to ${partition} in epoch ${epoch}, whose leader is ${named ?? 'unknown'}`, nowMs)
      return
    }
    const acker = this.ackerOfEpoch.get(key)
    if (acker !== undefined && acker !== brokerId) {
      this.fail('single_leader_per_epoch', `brokers ${acker} and ${brokerId} both acknowledged produces to ${partition} in epoch ${epoch}`, nowMs)
      return
    }
    this.ackerOfEpoch.set(key, brokerId)
    if (this.unpromised.has(partition)) {
      this.ackedCount++
      return
    }
    if (!sameRecords(batch.bytes, producerBytes)) {
      this.fail('acked_on_isr', `broker ${brokerId} acknowledged offset ${batch.baseOffset} of ${partition}, but the batch there is not the producer's`, nowMs)
      return
    }
    let byOffset = this.acked.get(partition)
    if (byOffset === undefined) {
      byOffset = new Map()
      this.acked.set(partition, byOffset)
    }
    const earlier = byOffset.get(batch.baseOffset)
    if (earlier !== undefined) {
      if (!earlier.batch.bytes.equals(batch.bytes)) {
        this.fail('acked_on_isr', `offset ${batch.baseOffset} of ${partition} was acknowledged twice with different batches (epochs ${earlier.batch.epoch} and ${batch.epoch})`, nowMs)
      }
      return
    }
    const acked: AckedBatch = { partition, batch, brokerId }
    byOffset.set(batch.baseOffset, acked)
    this.ackedCount++
    const isr = this.committedIsr(partition)
    const members = [...maximalIsr, ...isr.filter((id) => !maximalIsr.includes(id))]
    for (const id of members) {
      const problem = this.holds(id, acked)
      if (problem !== null) {
        const which = maximalIsr.includes(id) ? 'maximal ISR' : 'committed ISR'
        this.fail('acked_on_isr', `broker ${brokerId} acknowledged ${describeBatch(batch)} of ${partition}, but ${which} member ${id} ${problem} ` +
          `(maximal ISR [${maximalIsr.join(',')}], committed ISR [${isr.join(',')}])`, nowMs)
        return
      }
    }
  }

  // ---- the end of the run -----------------------------------------------------------------

  /**
   * After healing: each replica of `partition` (`replicaIds`) holds every acknowledged batch,
   * and `readable` (what a consumer read from the leader below its HW) holds them too.
   */
  checkAckedEverywhere(partition: string, replicaIds: readonly NodeId[], readable: readonly SimBatch[], nowMs: number): void {
    if (this.unpromised.has(partition)) return
    const byBase = new Map<bigint, SimBatch>()
    for (const b of readable) byBase.set(b.baseOffset, b)
    for (const acked of this.acked.get(partition)?.values() ?? []) {
      const read = byBase.get(acked.batch.baseOffset)
      if (read === undefined || !read.bytes.equals(acked.batch.bytes)) {
        this.fail('acked_readable', `${describeBatch(acked.batch)} of ${partition}, acknowledged by broker ${acked.brokerId}, is not readable from the leader below its HW`, nowMs)
        return
      }
      for (const id of replicaIds) {
        const log = this.disks.log(id, partition)
        const held = log?.batchContaining(acked.batch.baseOffset)
        if (held === undefined || !held.bytes.equals(acked.batch.bytes)) {
          this.fail('acked_readable', `${describeBatch(acked.batch)} of ${partition}, acknowledged by broker ${acked.brokerId}, is ${held === undefined ? 'missing' : 'different'} on replica ${id} after healing`, nowMs)
          return
        }
      }
    }
  }

  // ---- internals --------------------------------------------------------------------------

  private recordLeader(partition: string, epoch: number, leader: NodeId, where: string, nowMs: number): void {
    const key = `${partition}/${epoch}`
    const known = this.leaderOfEpoch.get(key)
    if (known === undefined) {
      this.leaderOfEpoch.set(key, leader)
      return
    }
    if (known !== leader) this.fail('single_leader_per_epoch', `${where}: partition ${partition} epoch ${epoch} has leader ${leader}, but another image named ${known}`, nowMs)
  }

  /** Every acknowledged batch of `partition` is on broker `id` (durably, in fsync mode). */
  private checkAckedOn(partition: string, id: NodeId, why: string, nowMs: number): void {
    if (this.unpromised.has(partition)) return
    for (const acked of this.acked.get(partition)?.values() ?? []) {
      const problem = this.holds(id, acked)
      if (problem !== null) {
        this.fail('acked_on_isr', `${describeBatch(acked.batch)} of ${partition} (acknowledged by broker ${acked.brokerId}): ISR member ${id} ${why} and ${problem}`, nowMs)
        return
      }
    }
  }

  /** Null if broker `id` holds `acked` as it must; else what is wrong. */
  private holds(id: NodeId, acked: AckedBatch): string | null {
    const log = this.disks.log(id, acked.partition)
    const held = log?.batchContaining(acked.batch.baseOffset)
    if (log === undefined || held === undefined) return 'does not have it'
    if (!held.bytes.equals(acked.batch.bytes)) return `holds a different batch there (${describeBatch(held)})`
    if (this.durability === 'fsync' && this.requireDurable && !log.isDurable(acked.batch.baseOffset)) return 'has not made it durable'
    return null
  }

  /** Checks the replica's batches overlapping [from, to) against the committed log, extending it. */
  private checkAgainstCommitted(brokerId: NodeId, partition: string, log: SimPartitionLog, from: bigint, to: bigint, why: string, nowMs: number): void {
    if (to <= from || this.unpromised.has(partition)) return
    let c = this.committed.get(partition)
    if (c === undefined) {
      c = { batches: [], end: 0n, firstSeenOn: [] }
      this.committed.set(partition, c)
    }
    let offset = from
    while (offset < to) {
      const mine = log.batchContaining(offset)
      if (mine === undefined) {
        this.fail('replicas_agree', `broker ${brokerId} has no batch at offset ${offset} of ${partition}, below its HW ${to} (${why})`, nowMs)
        return
      }
      if (mine.baseOffset < c.end) {
        const i = findBatch(c.batches, mine.baseOffset)
        const theirs = i < 0 ? undefined : c.batches[i]
        if (theirs === undefined || !theirs.bytes.equals(mine.bytes)) {
          const other = i < 0 ? 'a batch boundary elsewhere' : `${describeBatch(theirs as SimBatch)} (first committed on broker ${c.firstSeenOn[i]})`
          this.fail('replicas_agree', `broker ${brokerId} holds ${describeBatch(mine)} of ${partition} below its HW ${to} (${why}), but the committed log has ${other}`, nowMs)
          return
        }
      } else if (mine.baseOffset === c.end) {
        c.batches.push(mine)
        c.firstSeenOn.push(brokerId)
        c.end = mine.lastOffset + 1n
      } else {
        this.fail('replicas_agree', `broker ${brokerId} has HW ${to} for ${partition} past a gap: the committed log ends at ${c.end}`, nowMs)
        return
      }
      offset = mine.lastOffset + 1n
    }
  }
}

/** Calls `fn` for every partition registration of `next` that is not the same object in `previous`. */
function forEachChangedPartition(
  previous: MetadataImage | null,
  next: MetadataImage,
  fn: (key: string, p: PartitionRegistration, old: PartitionRegistration | undefined) => void,
): void {
  if (previous !== null && previous.topicsById === next.topicsById) return
  for (const [topicId, topic] of next.topicsById) {
    const before = previous?.topicsById.get(topicId)
    if (before === topic) continue
    for (const [partitionId, p] of topic.partitions) {
      const old = before?.partitions.get(partitionId)
      if (old !== p) fn(partitionKey({ topicId, partitionId }), p, old)
    }
  }
}

function findBatch(batches: readonly SimBatch[], baseOffset: bigint): number {
  let lo = 0
  let hi = batches.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const b = batches[mid].baseOffset
    if (b === baseOffset) return mid
    if (b < baseOffset) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

/** RecordBatch v2: baseOffset (0-7) and partitionLeaderEpoch (12-15) are stamped by the broker. */
function sameRecords(stored: Buffer, producer: Buffer): boolean {
  return stored.length === producer.length && stored.subarray(8, 12).equals(producer.subarray(8, 12)) && stored.subarray(16).equals(producer.subarray(16))
}

export function describeBatch(b: SimBatch): string {
  return `batch ${b.baseOffset}..${b.lastOffset}@${b.epoch}`
}

export function splitKey(partition: string): [TopicId, number] {
  const i = partition.lastIndexOf('-')
  return [partition.slice(0, i) as TopicId, Number(partition.slice(i + 1))]
}

export { partitionKey, type PartitionKey }
