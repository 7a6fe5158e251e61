/**
 * The leader's Fetch (Kafka's ReplicaManager.fetchMessages with DelayedFetch): one handler for
 * consumers (replica_id -1, reading up to the high watermark) and followers (replica_id = the
 * follower's broker id, reading up to the log end and acknowledging their fetch offset).
 *
 * Per partition, in Kafka's order: the partition must be here (UNKNOWN_TOPIC_OR_PARTITION; a
 * topic id that does not match, UNKNOWN_TOPIC_ID), usable (KAFKA_STORAGE_ERROR), at the
 * caller's leader epoch (older: FENCED_LEADER_EPOCH, newer: UNKNOWN_LEADER_EPOCH), led here
 * (NOT_LEADER_OR_FOLLOWER with the leader we know), consistent with the fetcher's last fetched
 * epoch (KIP-320: else diverging_epoch, no records), and in range (OFFSET_OUT_OF_RANGE). A
 * follower's fetch is then recorded once (PartitionState.onFollowerFetch: it moves the HW and
 * may propose an ISR expand), before the read.
 *
 * Long poll: the fetch is answered at once when it has min_bytes, any error or divergence,
 * max_wait_ms is 0, or (followers) the HW moved past what the follower was last told.
 * Otherwise it parks (at most PARKED_FETCHES_MAX at once) and is re-read when one of its
 * partitions changes in a way that matters (the log end for followers, the HW for consumers,
 * the HW past what a follower knows, the role or epoch), when the caller goes away, or when
 * max_wait_ms passes. Wake-ups are coalesced: at most one re-read runs per parked fetch.
 *
 * Sizes: at most min(max_bytes, FETCH_RESPONSE_BYTES_MAX) bytes of records, at most
 * partition_max_bytes per partition; the first partition that has data may return one batch
 * larger than that (KIP-74), so a consumer always makes progress.
 */
import { AssertionError, type Logger } from '@tributary/metadata-quorum'
import { ErrorCode, NO_NODE, type ErrorCodeInfo, type NodeId, type broker } from '@tributary/protocol'
import { READ_BYTES_MAX } from '../log/log-limits.js'
import type { Partition } from '../partition/partition.js'
import type { RecentAppends } from './recent-appends.js'
import { FETCH_MAX_WAIT_MS_MAX, FETCH_RESPONSE_BYTES_MAX, NEW_LEADER_FOLLOWER_POLL_MS, NEW_LEADER_FOLLOWER_WINDOW_MS, PARKED_FETCHES_MAX } from './replica-limits.js'

export interface FetchHandlerContext {
  readonly brokerId: NodeId
  readonly logger: Logger
  readonly clock: () => number
  partition(topic: string, partitionId: number): Partition | undefined
  /** The leader's latest appends: a follower fetching at the tail is answered from memory. */
  readonly recentAppends?: RecentAppends
}

/** One requested partition and what was decided for it. */
interface Slot {
  readonly topicIndex: number
  readonly request: broker.FetchPartition
  readonly topic: broker.FetchTopic
  readonly partition: Partition | undefined
  /** The follower's fetch was recorded (done once per request). */
  recorded: boolean
  /** Role facts when last evaluated, to tell whether a wake-up matters. */
  seenHighWatermark: bigint
  seenLogEnd: bigint
  seenLeaderEpoch: number
  seenLeader: boolean
}

interface Evaluation {
  readonly response: broker.FetchResponse
  readonly complete: boolean
  readonly bytes: number
}

const EMPTY = Buffer.alloc(0)

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The caller's view of the leader epoch against ours (Kafka's Partition.checkCurrentLeaderEpoch). */
export function leaderEpochError(requested: number, current: number): ErrorCodeInfo | null {
  if (requested < 0) return null
  if (requested < current) return ErrorCode.FENCED_LEADER_EPOCH
  if (requested > current) return ErrorCode.UNKNOWN_LEADER_EPOCH
  return null
}

export class FetchHandler {
  private readonly context: FetchHandlerContext
  private readonly parked = new Set<ParkedFetch>()
  private closed = false
  /**
   * Partitions this broker started leading that a follower has not fetched in the new epoch
   * yet. Until it has, the HW of each cannot move (a new leader knows nothing of its
   * followers), so that follower's parked fetches are kept short: it answers, the follower
   * adds the partition to its next request (NEW_LEADER_FOLLOWER_POLL_MS).
   */
  private readonly awaitingFirstFetch = new Map<NodeId, Map<Partition, number>>()

  constructor(context: FetchHandlerContext) {
    this.context = context
  }

  get parkedCount(): number {
    return this.parked.size
  }

  async fetch(request: broker.FetchRequest, signal: AbortSignal): Promise<broker.FetchResponse> {
    const slots: Slot[] = []
    request.topics.forEach((topic, topicIndex) => {
      for (const p of topic.partitions) {
        slots.push({
          topicIndex,
          request: p,
          topic,
          partition: this.context.partition(topic.topic, p.partition),
          recorded: false,
          seenHighWatermark: -1n,
          seenLogEnd: -1n,
          seenLeaderEpoch: -1,
          seenLeader: false,
        })
      }
    })
    const first = await this.evaluate(request, slots)
    let maxWaitMs = Math.min(Math.max(0, request.maxWaitMs), FETCH_MAX_WAIT_MS_MAX)
    if (request.replicaId >= 0 && this.awaitsFirstFetch(request.replicaId as NodeId)) maxWaitMs = Math.min(maxWaitMs, NEW_LEADER_FOLLOWER_POLL_MS)
    if (first.complete || maxWaitMs === 0 || signal.aborted || this.closed || this.parked.size >= PARKED_FETCHES_MAX) return this.finish(request, slots, first)
    return new Promise<broker.FetchResponse>((resolve) => {
      const parked = new ParkedFetch(this, request, slots, maxWaitMs, signal, resolve)
      this.parked.add(parked)
      parked.start()
    })
  }

  /**
   * This broker now leads `partition` (a new leader epoch): its followers must fetch it before
   * its HW can move, so their parked fetches (for other partitions) are answered now and their
   * next ones kept short, letting each follower put the partition in its next request instead
   * of after a whole replica.fetch.wait.max.ms.
   */
  onLeaderStarted(partition: Partition, replicas: readonly NodeId[]): void {
    const followers = replicas.filter((r) => r !== this.context.brokerId)
    const nowMs = Date.now()
    for (const replicaId of followers) {
      let started = this.awaitingFirstFetch.get(replicaId)
      if (started === undefined) {
        started = new Map()
        this.awaitingFirstFetch.set(replicaId, started)
      }
      started.set(partition, nowMs)
    }
    for (const parked of [...this.parked]) if (followers.includes(parked.replicaId)) parked.answerNow()
  }

  /** `partition` no longer leads here (or is gone). */
  onLeaderStopped(partition: Partition): void {
    this.context.recentAppends?.drop(partition)
    for (const [replicaId, set] of this.awaitingFirstFetch) {
      set.delete(partition)
      if (set.size === 0) this.awaitingFirstFetch.delete(replicaId)
    }
  }

  /**
   * Whether `replicaId` has a partition to start fetching here. Entries older than
   * NEW_LEADER_FOLLOWER_WINDOW_MS are dropped: a follower that does not come for a partition
   * by then (its replica failed, say) must not keep its polls short forever.
   */
  private awaitsFirstFetch(replicaId: NodeId): boolean {
    const started = this.awaitingFirstFetch.get(replicaId)
    if (started === undefined) return false
    const oldest = Date.now() - NEW_LEADER_FOLLOWER_WINDOW_MS
    for (const [partition, startedMs] of started) if (startedMs < oldest) started.delete(partition)
    if (started.size === 0) this.awaitingFirstFetch.delete(replicaId)
    return started.size > 0
  }

  private fetchedInEpoch(replicaId: NodeId, partition: Partition): void {
    const set = this.awaitingFirstFetch.get(replicaId)
    if (set === undefined) return
    set.delete(partition)
    if (set.size === 0) this.awaitingFirstFetch.delete(replicaId)
  }

  /** Ends every parked fetch: each partition answers NOT_LEADER_OR_FOLLOWER (the broker is going away). */
  close(): void {
    this.closed = true
    for (const parked of [...this.parked]) parked.abortAll()
  }

  /** @internal */
  unpark(parked: ParkedFetch): void {
    this.parked.delete(parked)
  }

  /** @internal Whether a change on `slot`'s partition could complete the fetch. */
  mattersFor(request: broker.FetchRequest, slot: Slot): boolean {
    const p = slot.partition
    if (p === undefined) return false
    if (p.unavailable() !== null || p.isLeader !== slot.seenLeader || p.leaderEpoch !== slot.seenLeaderEpoch) return true
    if (request.replicaId >= 0) return p.logEndOffset !== slot.seenLogEnd || p.highWatermark > p.highWatermarkSentTo(request.replicaId as NodeId)
    return p.highWatermark !== slot.seenHighWatermark
  }

  /** Records what a follower was told, so its next fetch parks until there is news. */
  finish(request: broker.FetchRequest, slots: readonly Slot[], evaluation: Evaluation): broker.FetchResponse {
    if (request.replicaId >= 0) {
      let i = 0
      for (const topic of evaluation.response.topics) {
        for (const answer of topic.partitions) {
          const slot = slots[i++]
          if (slot?.partition !== undefined && answer.errorCode === ErrorCode.NONE.code && slot.partition.isLeader) {
            slot.partition.recordHighWatermarkSent(request.replicaId as NodeId, answer.highWatermark)
          }
        }
      }
    }
    return evaluation.response
  }

  /** Reads every partition once; decides whether the fetch is complete. */
  async evaluate(request: broker.FetchRequest, slots: readonly Slot[], forceNotLeader = false): Promise<Evaluation> {
    const isFollower = request.replicaId >= 0
    const nowMs = this.context.clock()
    let budget = Math.min(request.maxBytes > 0 ? request.maxBytes : FETCH_RESPONSE_BYTES_MAX, FETCH_RESPONSE_BYTES_MAX)
    let bytes = 0
    let immediate = false
    let minOneBatch = true
    const topics: broker.FetchTopicResponse[] = request.topics.map((t) => ({ topic: t.topic, topicId: t.topicId, partitions: [] }))
    for (const slot of slots) {
      const answer = forceNotLeader ? this.errorAnswer(slot, ErrorCode.NOT_LEADER_OR_FOLLOWER) : await this.evaluateSlot(request, slot, isFollower, nowMs, budget, minOneBatch)
      topics[slot.topicIndex].partitions.push(answer)
      if (answer.errorCode !== ErrorCode.NONE.code || answer.divergingEpoch !== undefined) immediate = true
      if (answer.records.length > 0) {
        bytes += answer.records.length
        budget = Math.max(0, budget - answer.records.length)
        minOneBatch = false
      }
      const p = slot.partition
      if (p !== undefined) {
        slot.seenHighWatermark = p.highWatermark
        slot.seenLogEnd = p.logEndOffset
        slot.seenLeaderEpoch = p.leaderEpoch
        slot.seenLeader = p.isLeader
        // A follower that has not heard the current HW gets it now (its acks=all waiters need it).
        if (isFollower && answer.errorCode === ErrorCode.NONE.code && answer.highWatermark > p.highWatermarkSentTo(request.replicaId as NodeId)) immediate = true
      }
    }
    const minBytes = Math.max(0, request.minBytes)
    const response: broker.FetchResponse = { errorCode: ErrorCode.NONE.code, errorMessage: '', topics, correlationId: request.correlationId }
    return { response, complete: immediate || bytes >= minBytes || (minBytes === 0 && slots.length === 0), bytes }
  }

  private errorAnswer(slot: Slot, error: ErrorCodeInfo, partition?: Partition): broker.FetchPartitionResponse {
    const p = partition
    const hint = p !== undefined && (error === ErrorCode.NOT_LEADER_OR_FOLLOWER || error === ErrorCode.FENCED_LEADER_EPOCH)
    return {
      partitionIndex: slot.request.partition,
      errorCode: error.code,
      highWatermark: p !== undefined && p.unavailable() === null ? p.highWatermark : -1n,
      lastStableOffset: p !== undefined && p.unavailable() === null ? p.highWatermark : -1n,
      logStartOffset: p !== undefined && p.unavailable() === null ? p.logStartOffset : -1n,
      divergingEpoch: undefined,
      currentLeader: hint ? { leaderId: p.leaderId === this.context.brokerId && !p.isLeader ? NO_NODE : p.leaderId, leaderEpoch: p.leaderEpoch } : undefined,
      records: EMPTY,
    }
  }

  private async evaluateSlot(request: broker.FetchRequest, slot: Slot, isFollower: boolean, nowMs: number, budget: number, minOneBatch: boolean): Promise<broker.FetchPartitionResponse> {
    const p = slot.partition
    const req = slot.request
    if (p === undefined) return this.errorAnswer(slot, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if (slot.topic.topicId.length > 0 && slot.topic.topicId !== p.topicId) return this.errorAnswer(slot, ErrorCode.UNKNOWN_TOPIC_ID)
    const unavailable = p.unavailable()
    if (unavailable !== null) return this.errorAnswer(slot, unavailable, unavailable === ErrorCode.NOT_LEADER_OR_FOLLOWER ? p : undefined)
    const epochError = leaderEpochError(req.currentLeaderEpoch, p.leaderEpoch)
    if (epochError !== null) return this.errorAnswer(slot, epochError, p)
    if (!p.isLeader) return this.errorAnswer(slot, ErrorCode.NOT_LEADER_OR_FOLLOWER, p)
    const base = { partitionIndex: req.partition, errorCode: ErrorCode.NONE.code, divergingEpoch: undefined, currentLeader: undefined, records: EMPTY }
    const positions = (): { highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint } => ({
      highWatermark: p.highWatermark,
      lastStableOffset: p.highWatermark,
      logStartOffset: p.logStartOffset,
    })
    try {
      if (req.lastFetchedEpoch >= 0) {
        // KIP-320: the fetcher's history must match ours at fetch_offset, or it truncates first.
        const end = p.endOffsetForEpoch(req.lastFetchedEpoch)
        if (end.epoch < 0 || end.endOffset < 0n) return { ...base, ...positions(), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code }
        if (end.epoch < req.lastFetchedEpoch || end.endOffset < req.fetchOffset) {
          return { ...base, ...positions(), divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } }
        }
      }
      if (req.fetchOffset < p.logStartOffset || req.fetchOffset > p.logEndOffset) return { ...base, ...positions(), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code }
      if (isFollower && !slot.recorded) {
        slot.recorded = true
        const recorded = p.onFollowerFetch(request.replicaId as NodeId, req.fetchOffset, request.replicaEpoch, nowMs)
        if (recorded.kind === 'offset_out_of_range') return { ...base, ...positions(), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code }
        if (recorded.kind !== 'ok') return this.errorAnswer(slot, ErrorCode.NOT_LEADER_OR_FOLLOWER, p)
        this.fetchedInEpoch(request.replicaId as NodeId, p)
      }
      const maxBytes = Math.min(Math.max(0, req.partitionMaxBytes), budget, READ_BYTES_MAX)
      // A follower at the tail (at or above the HW: nothing there can have been compacted)
      // gets the bytes the leader just appended, without a file read (recent-appends.ts).
      if (isFollower && req.fetchOffset >= p.highWatermark) {
        const recent = this.context.recentAppends?.read(p, req.fetchOffset, maxBytes, minOneBatch) ?? null
        if (recent !== null) return { ...base, ...positions(), records: recent }
      }
      const read = await p.read(req.fetchOffset, maxBytes, isFollower ? undefined : p.highWatermark, minOneBatch)
      if (read.kind === 'error') return this.errorAnswer(slot, read.error, p)
      if (read.kind === 'offset_out_of_range') return { ...base, ...positions(), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE.code }
      return { ...base, ...positions(), records: read.bytes }
    } catch (err) {
      if (err instanceof AssertionError) throw err
      this.context.logger.error({ partition: p.name, err: errorMessage(err) }, 'fetch failed')
      return this.errorAnswer(slot, ErrorCode.KAFKA_STORAGE_ERROR)
    }
  }
}

/** A fetch waiting for data (Kafka's DelayedFetch). */
class ParkedFetch {
  private readonly unsubscribes: (() => void)[] = []
  private timer: NodeJS.Timeout | null = null
  private evaluating = false
  private dirty = false
  private wakeScheduled = false
  private done = false
  private readonly onAbort = (): void => void this.complete(false)

  constructor(
    private readonly handler: FetchHandler,
    private readonly request: broker.FetchRequest,
    private readonly slots: Slot[],
    private readonly maxWaitMs: number,
    private readonly signal: AbortSignal,
    private readonly resolve: (response: broker.FetchResponse) => void,
  ) {}

  start(): void {
    const seen = new Set<Partition>()
    for (const slot of this.slots) {
      const p = slot.partition
      if (p === undefined || seen.has(p)) continue
      seen.add(p)
      this.unsubscribes.push(p.subscribe(() => this.onChange()))
    }
    this.timer = setTimeout(() => void this.complete(false), this.maxWaitMs)
    this.signal.addEventListener('abort', this.onAbort, { once: true })
  }

  private onChange(): void {
    if (this.done) return
    if (!this.slots.some((slot) => this.handler.mattersFor(this.request, slot))) return
    if (this.evaluating) {
      this.dirty = true
      return
    }
    if (this.wakeScheduled) return
    // Re-read on the next turn of the event loop, not inside the change: a leader append
    // notifies before its produce handler has offered the bytes to RecentAppends (that runs a
    // few promise steps later), and changes made in the same turn are answered by one read.
    this.wakeScheduled = true
    setImmediate(() => {
      this.wakeScheduled = false
      if (this.done) return
      if (this.evaluating) {
        this.dirty = true
        return
      }
      void this.reevaluate()
    })
  }

  private async reevaluate(): Promise<void> {
    this.evaluating = true
    try {
      do {
        this.dirty = false
        const evaluation = await this.handler.evaluate(this.request, this.slots)
        if (this.done) return
        if (evaluation.complete) {
          this.settle(this.handler.finish(this.request, this.slots, evaluation))
          return
        }
      } while (this.dirty && !this.done)
    } finally {
      this.evaluating = false
    }
  }

  /** Time is up (or the caller left): answer with whatever is there now. */
  private async complete(notLeader: boolean): Promise<void> {
    if (this.done) return
    this.detach()
    const evaluation = await this.handler.evaluate(this.request, this.slots, notLeader)
    this.settle(this.handler.finish(this.request, this.slots, evaluation))
  }

  abortAll(): void {
    void this.complete(true)
  }

  /** Answer with what is there now. */
  answerNow(): void {
    void this.complete(false)
  }

  get replicaId(): NodeId {
    return this.request.replicaId as NodeId
  }

  private detach(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe()
    this.signal.removeEventListener('abort', this.onAbort)
    this.handler.unpark(this)
  }

  private settle(response: broker.FetchResponse): void {
    if (this.done) return
    this.done = true
    this.detach()
    this.resolve(response)
  }
}
