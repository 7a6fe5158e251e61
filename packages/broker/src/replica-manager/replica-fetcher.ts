/**
 * Replica fetchers: the follower side of replication (Kafka's ReplicaFetcherManager,
 * AbstractFetcherThread and ReplicaFetcherThread), pull-based.
 *
 * One ReplicaFetcher per source (leader) broker carries every partition this broker follows
 * there, over one LeaderChannel (one replica fetch stream per broker pair). Its loop:
 *
 *   1. Truncation (KIP-101/279): partitions that start following a new leader epoch (and
 *      those a fetch answer sent back to it) ask OffsetsForLeaderEpoch for their latest local
 *      epoch, in one request for all of them, and cut their log where followerTruncation()
 *      says, asking again with a smaller epoch while it answers ask_again.
 *   2. Fetch: one FetchRequest for every partition that is ready, each at its local log end
 *      (in fsync mode the log is flushed first, so the fetch offset is the durable end: a
 *      follower acknowledges everything below its fetch offset), with its last fetched epoch
 *      for the leader's divergence check (KIP-320) and its current leader epoch.
 *   3. Per partition: append what came back, or truncate on a diverging epoch, or handle the
 *      error; then one flush per appended partition (group commit), then the follower HW.
 *
 * Errors: NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH and other retriable codes back the
 * partition off for replicaFetchBackoffMs (the leader may simply not have applied the metadata
 * that makes it leader yet, so waiting for new metadata could wait forever); FENCED_LEADER_EPOCH
 * parks the partition until new metadata (our epoch is old; newer metadata is on its way);
 * OFFSET_OUT_OF_RANGE truncates fully to the leader's log start when we are behind it, and
 * otherwise truncates again; transport errors back off every partition and reopen the channel.
 *
 * Every fetch result is applied only if the partition still follows in the leader epoch it
 * was fetched for (Partition.followsIn), so a role change between request and answer drops it.
 */
import { AssertionError, type Logger, type MetadataImage } from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId, type broker } from '@tributary/protocol'
import type { Partition } from '../partition/partition.js'
import { followerTruncation } from '../replica/follower-truncation.js'
import type { Durability, FollowerTruncation } from '../replica/partition-state.js'
import { LEADER_NOT_READY_BACKOFF_MS, TRUNCATION_ROUNDS_MAX } from './replica-limits.js'
import type { LeaderChannel, LeaderChannels } from './types.js'

export interface ReplicaFetcherConfig {
  readonly brokerId: NodeId
  readonly durability: Durability
  readonly replicaFetchWaitMaxMs: number
  readonly replicaFetchMaxBytes: number
  readonly replicaFetchResponseMaxBytes: number
  readonly replicaFetchBackoffMs: number
}

export interface ReplicaFetcherManagerOptions {
  readonly config: ReplicaFetcherConfig
  readonly channels: LeaderChannels
  readonly image: () => MetadataImage
  readonly brokerEpoch: () => bigint
  readonly logger: Logger
}

type Phase = 'truncating' | 'fetching' | 'parked'

interface FetchEntry {
  readonly partition: Partition
  readonly leaderEpoch: number
  phase: Phase
  /** The epoch to ask OffsetsForLeaderEpoch about, while truncating. */
  askEpoch: number
  truncationRounds: number
  /** Not before this (Date.now) after an error. */
  notBeforeMs: number
  /** The next back-off for a leader that is not ready yet (doubles per repeat, reset by success). */
  notReadyBackoffMs: number
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Keeps one ReplicaFetcher per leader broker and moves partitions between them. */
export class ReplicaFetcherManager {
  private readonly options: ReplicaFetcherManagerOptions
  private readonly fetchers = new Map<NodeId, ReplicaFetcher>()
  /** partition name -> the leader it is fetched from. */
  private readonly sources = new Map<string, NodeId>()
  private closed = false

  constructor(options: ReplicaFetcherManagerOptions) {
    this.options = options
  }

  /**
   * Fetch `partition` from `leaderId` in `leaderEpoch`. If it is already fetched there in that
   * epoch it keeps its progress (a parked one resumes); otherwise it starts over with
   * `truncation` (a new leader epoch always truncates first).
   */
  follow(partition: Partition, leaderId: NodeId, leaderEpoch: number, truncation: FollowerTruncation | null): void {
    if (this.closed) return
    const source = this.sources.get(partition.name)
    if (source !== undefined && source !== leaderId) this.unfollow(partition)
    let fetcher = this.fetchers.get(leaderId)
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher(leaderId, this.options)
      this.fetchers.set(leaderId, fetcher)
    }
    this.sources.set(partition.name, leaderId)
    fetcher.add(partition, leaderEpoch, truncation)
  }

  /** Stop fetching `partition` (it leads now, lost its leader, or is deleted). */
  unfollow(partition: Partition): void {
    const source = this.sources.get(partition.name)
    if (source === undefined) return
    this.sources.delete(partition.name)
    const fetcher = this.fetchers.get(source)
    if (fetcher === undefined) return
    fetcher.remove(partition)
    if (fetcher.size === 0) {
      this.fetchers.delete(source)
      void fetcher.stop()
    }
  }

  /** The number of fetchers (one per source broker), for tests and status. */
  get fetcherCount(): number {
    return this.fetchers.size
  }

  async close(): Promise<void> {
    this.closed = true
    const all = [...this.fetchers.values()]
    this.fetchers.clear()
    this.sources.clear()
    await Promise.all(all.map((f) => f.stop()))
  }
}

/** One leader broker's fetcher (see the module header). */
export class ReplicaFetcher {
  private readonly leaderId: NodeId
  private readonly options: ReplicaFetcherManagerOptions
  private readonly logger: Logger
  private readonly entries = new Map<string, FetchEntry>()
  private channel: LeaderChannel | null = null
  private stopped = false
  private wake: (() => void) | null = null
  private readonly done: Promise<void>
  private correlationId = 0n
  /** Rotates the partition order between requests so no partition always goes last (KIP-74 budget). */
  private rotation = 0

  constructor(leaderId: NodeId, options: ReplicaFetcherManagerOptions) {
    this.leaderId = leaderId
    this.options = options
    this.logger = {
      debug: (f, m) => options.logger.debug({ leader: leaderId, ...f }, m),
      info: (f, m) => options.logger.info({ leader: leaderId, ...f }, m),
      warn: (f, m) => options.logger.warn({ leader: leaderId, ...f }, m),
      error: (f, m) => options.logger.error({ leader: leaderId, ...f }, m),
    }
    this.done = this.run()
  }

  get size(): number {
    return this.entries.size
  }

  add(partition: Partition, leaderEpoch: number, truncation: FollowerTruncation | null): void {
    const existing = this.entries.get(partition.name)
    if (existing !== undefined && existing.partition === partition && existing.leaderEpoch === leaderEpoch) {
      if (existing.phase === 'parked') {
        existing.askEpoch = partition.latestEpoch ?? -1
        existing.truncationRounds = 0
        existing.phase = needsTruncation(partition, existing.askEpoch) ? 'truncating' : 'fetching'
        this.kick()
      }
      return
    }
    const askEpoch = truncation?.kind === 'offsets_for_leader_epoch' ? truncation.leaderEpoch : (partition.latestEpoch ?? -1)
    const phase = needsTruncation(partition, askEpoch) ? 'truncating' : 'fetching'
    const entry: FetchEntry = { partition, leaderEpoch, phase, askEpoch, truncationRounds: 0, notBeforeMs: 0, notReadyBackoffMs: LEADER_NOT_READY_BACKOFF_MS }
    this.entries.set(partition.name, entry)
    this.logger.info({ partition: partition.name, leaderEpoch, phase: entry.phase }, 'started fetching partition')
    this.kick()
  }

  remove(partition: Partition): void {
    if (this.entries.delete(partition.name)) this.logger.info({ partition: partition.name }, 'stopped fetching partition')
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.closeChannel()
    this.kick()
    await this.done
  }

  private kick(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private async sleep(ms: number | null): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = ms === null ? null : setTimeout(() => this.kick(), ms)
      this.wake = () => {
        if (timer !== null) clearTimeout(timer)
        resolve()
      }
    })
  }

  private closeChannel(): void {
    const channel = this.channel
    this.channel = null
    channel?.close()
  }

  private backoff(entries: Iterable<FetchEntry>): void {
    const until = Date.now() + this.options.config.replicaFetchBackoffMs
    for (const entry of entries) entry.notBeforeMs = until
  }

  private live(entry: FetchEntry): boolean {
    return !this.stopped && this.entries.get(entry.partition.name) === entry && entry.partition.followsIn(entry.leaderEpoch)
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step()
      } catch (err) {
        if (err instanceof AssertionError) throw err
        // Partition operations report their own storage failures; anything else is a bug in
        // a peer's answer or here: back everything off rather than spin.
        this.logger.error({ err: errorMessage(err) }, 'replica fetcher round failed')
        this.backoff(this.entries.values())
        this.closeChannel()
      }
    }
    this.closeChannel()
  }

  private async step(): Promise<void> {
    const now = Date.now()
    let nextWakeMs: number | null = null
    const ready: FetchEntry[] = []
    for (const entry of this.entries.values()) {
      if (!entry.partition.followsIn(entry.leaderEpoch) || entry.phase === 'parked') continue
      if (entry.notBeforeMs > now) {
        nextWakeMs = nextWakeMs === null ? entry.notBeforeMs : Math.min(nextWakeMs, entry.notBeforeMs)
        continue
      }
      ready.push(entry)
    }
    if (ready.length === 0) {
      await this.sleep(nextWakeMs === null ? null : Math.max(1, nextWakeMs - now))
      return
    }
    if (this.channel === null) {
      this.channel = this.options.channels.open(this.leaderId, this.options.image())
      if (this.channel === null) {
        this.logger.warn({}, 'no endpoint for the leader broker; backing off')
        this.backoff(ready)
        return
      }
    }
    const channel = this.channel
    const truncating = ready.filter((e) => e.phase === 'truncating')
    if (truncating.length > 0) {
      await this.truncationRound(channel, truncating)
      return
    }
    await this.fetchRound(channel, ready)
  }

  // ---------------------------------------------------------------------------- truncation

  private async truncationRound(channel: LeaderChannel, entries: readonly FetchEntry[]): Promise<void> {
    const byTopic = new Map<string, broker.OffsetForLeaderTopic>()
    for (const entry of entries) {
      let topic = byTopic.get(entry.partition.topicName)
      if (topic === undefined) {
        topic = { topic: entry.partition.topicName, partitions: [] }
        byTopic.set(entry.partition.topicName, topic)
      }
      topic.partitions.push({ partition: entry.partition.partitionId, currentLeaderEpoch: entry.leaderEpoch, leaderEpoch: entry.askEpoch })
    }
    let response: broker.OffsetsForLeaderEpochResponse
    try {
      response = await channel.offsetsForLeaderEpoch({ replicaId: this.options.config.brokerId, topics: [...byTopic.values()] })
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'OffsetsForLeaderEpoch failed; backing off')
      this.backoff(entries)
      this.closeChannel()
      return
    }
    for (const entry of entries) {
      if (!this.live(entry)) continue
      const answer = response.topics.find((t) => t.topic === entry.partition.topicName)?.partitions.find((p) => p.partition === entry.partition.partitionId)
      if (answer === undefined) {
        this.backoff([entry])
        continue
      }
      if (answer.errorCode !== ErrorCode.NONE.code) {
        this.onPartitionError(entry, answer.errorCode, 'OffsetsForLeaderEpoch')
        continue
      }
      await this.applyTruncationAnswer(entry, { epoch: answer.leaderEpoch, endOffset: answer.endOffset }, 'OffsetsForLeaderEpoch')
    }
  }

  /** followerTruncation on an OffsetsForLeaderEpoch answer or a diverging epoch (KIP-320). */
  private async applyTruncationAnswer(entry: FetchEntry, answer: { epoch: number; endOffset: bigint }, source: string): Promise<void> {
    const step = followerTruncation(answer, entry.partition.truncationView())
    if (step.kind === 'ask_again') {
      entry.truncationRounds++
      if (entry.truncationRounds > TRUNCATION_ROUNDS_MAX) {
        this.logger.error({ partition: entry.partition.name, rounds: entry.truncationRounds }, 'truncation did not converge; starting over after a back-off')
        entry.truncationRounds = 0
        entry.askEpoch = entry.partition.latestEpoch ?? -1
        this.backoff([entry])
        return
      }
      entry.phase = 'truncating'
      entry.askEpoch = step.leaderEpoch
      return
    }
    const newEnd = await entry.partition.truncateAsFollower(entry.leaderEpoch, step.offset, `${source} answered epoch ${answer.epoch} ending at ${answer.endOffset}`)
    if (newEnd === null) return
    entry.phase = 'fetching'
    entry.truncationRounds = 0
  }

  // ---------------------------------------------------------------------------- fetch

  private async fetchRound(channel: LeaderChannel, ready: readonly FetchEntry[]): Promise<void> {
    const config = this.options.config
    // Fetch from the durable end: flush first (free when nothing is unflushed).
    if (config.durability === 'fsync') await Promise.all(ready.map((e) => e.partition.flush()))
    const ordered = rotate(ready, this.rotation++)
    const sent = new Map<string, { readonly entry: FetchEntry; readonly fetchOffset: bigint }>()
    const byTopic = new Map<string, broker.FetchTopic>()
    for (const entry of ordered) {
      if (!this.live(entry)) continue
      const p = entry.partition
      const fetchOffset = p.logEndOffset
      let topic = byTopic.get(p.topicName)
      if (topic === undefined) {
        topic = { topic: p.topicName, topicId: p.topicId, partitions: [] }
        byTopic.set(p.topicName, topic)
      }
      topic.partitions.push({
        partition: p.partitionId,
        currentLeaderEpoch: entry.leaderEpoch,
        fetchOffset,
        lastFetchedEpoch: p.latestEpoch ?? -1,
        logStartOffset: p.logStartOffset,
        partitionMaxBytes: config.replicaFetchMaxBytes,
      })
      sent.set(p.name, { entry, fetchOffset })
    }
    if (sent.size === 0) return
    const request: broker.FetchRequest = {
      replicaId: config.brokerId,
      replicaEpoch: this.options.brokerEpoch(),
      maxWaitMs: config.replicaFetchWaitMaxMs,
      minBytes: 1,
      maxBytes: config.replicaFetchResponseMaxBytes,
      isolationLevel: 0,
      topics: [...byTopic.values()],
      correlationId: ++this.correlationId,
    }
    let response: broker.FetchResponse
    try {
      response = await channel.fetch(request)
    } catch (err) {
      if (!this.stopped) this.logger.warn({ err: errorMessage(err) }, 'replica fetch failed; backing off and reconnecting')
      this.backoff([...sent.values()].map((s) => s.entry))
      this.closeChannel()
      return
    }
    if (response.errorCode !== ErrorCode.NONE.code) {
      this.logger.warn({ errorCode: response.errorCode, errorMessage: response.errorMessage }, 'replica fetch refused; backing off')
      this.backoff([...sent.values()].map((s) => s.entry))
      return
    }
    const appended: { entry: FetchEntry; highWatermark: bigint }[] = []
    const learned: { entry: FetchEntry; highWatermark: bigint }[] = []
    const unanswered = new Set(sent.keys())
    for (const topic of response.topics) {
      for (const answer of topic.partitions) {
        const name = `${topic.topic}-${answer.partitionIndex}`
        const slot = sent.get(name)
        if (slot === undefined || !unanswered.delete(name) || !this.live(slot.entry)) continue
        const outcome = await this.applyFetchAnswer(slot.entry, slot.fetchOffset, answer)
        if (answer.errorCode === ErrorCode.NONE.code) slot.entry.notReadyBackoffMs = LEADER_NOT_READY_BACKOFF_MS
        if (outcome === 'appended') appended.push({ entry: slot.entry, highWatermark: answer.highWatermark })
        else if (outcome === 'nothing') learned.push({ entry: slot.entry, highWatermark: answer.highWatermark })
      }
    }
    // A partition the answer left out (or named twice) would be asked for again at once, and
    // a leader that keeps doing that would have us spin: back it off instead.
    if (unanswered.size > 0) {
      this.logger.warn({ partitions: [...unanswered] }, 'the fetch answer left out partitions; backing them off')
      this.backoff([...unanswered].map((name) => sent.get(name)!.entry))
    }
    // Group commit: one flush per appended partition, then the HW each may now hold.
    if (config.durability === 'fsync') await Promise.all(appended.map(({ entry }) => entry.partition.flush()))
    for (const { entry, highWatermark } of [...appended, ...learned]) entry.partition.updateFollowerHighWatermark(entry.leaderEpoch, highWatermark)
  }

  /** One partition of a fetch answer: 'appended', 'nothing' (no records, no error) or 'other'. */
  private async applyFetchAnswer(entry: FetchEntry, fetchOffset: bigint, answer: broker.FetchPartitionResponse): Promise<'appended' | 'nothing' | 'other'> {
    const p = entry.partition
    if (answer.errorCode !== ErrorCode.NONE.code) {
      if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE.code) {
        await this.onOutOfRange(entry, fetchOffset, answer)
        return 'other'
      }
      this.onPartitionError(entry, answer.errorCode, 'Fetch')
      return 'other'
    }
    if (answer.divergingEpoch !== undefined) {
      this.logger.info({ partition: p.name, divergingEpoch: answer.divergingEpoch.epoch, endOffset: String(answer.divergingEpoch.endOffset) }, 'leader reported a diverging epoch')
      const before = { end: p.logEndOffset, epoch: p.latestEpoch }
      await this.applyTruncationAnswer(entry, answer.divergingEpoch, 'Fetch diverging epoch')
      if (entry.phase === 'fetching' && p.logEndOffset === before.end && p.latestEpoch === before.epoch) {
        // The same fetch would diverge again: never spin on it.
        this.logger.error({ partition: p.name, fetchOffset: String(fetchOffset), lastFetchedEpoch: before.epoch }, 'a diverging epoch changed nothing locally; backing off')
        this.backoff([entry])
      }
      return 'other'
    }
    if (answer.records.length === 0) return 'nothing'
    const result = await p.appendAsFollower(entry.leaderEpoch, answer.records)
    switch (result.kind) {
      case 'appended':
        this.logger.debug({ partition: p.name, fetchOffset: String(fetchOffset), lastOffset: String(result.lastOffset) }, 'appended as follower')
        return 'appended'
      case 'stale':
        return 'other'
      case 'offset_mismatch':
        this.logger.warn({ partition: p.name, expected: String(result.expectedOffset), actual: String(result.actualOffset) }, 'fetched batches do not start at the log end; retrying')
        this.backoff([entry])
        return 'other'
      case 'invalid':
        this.logger.error({ partition: p.name, error: result.error.name, reason: result.reason }, 'fetched batches are invalid; retrying after a back-off')
        this.backoff([entry])
        return 'other'
    }
  }

  /**
   * Kafka's handleOutOfRangeError: behind the leader's log start (retention moved it), start
   * the log afresh there; otherwise our log end is past the leader's, so truncate again.
   */
  private async onOutOfRange(entry: FetchEntry, fetchOffset: bigint, answer: broker.FetchPartitionResponse): Promise<void> {
    const p = entry.partition
    if (answer.logStartOffset >= 0n && fetchOffset < answer.logStartOffset) {
      this.logger.warn({ partition: p.name, fetchOffset: String(fetchOffset), leaderLogStartOffset: String(answer.logStartOffset) }, 'behind the leader log start; starting the log there')
      await p.truncateFullyAsFollower(entry.leaderEpoch, answer.logStartOffset)
      return
    }
    this.logger.warn({ partition: p.name, fetchOffset: String(fetchOffset), leaderHighWatermark: String(answer.highWatermark) }, 'fetch offset out of range at the leader; truncating again')
    entry.askEpoch = p.latestEpoch ?? -1
    entry.truncationRounds = 0
    if (entry.askEpoch < 0) {
      // An empty log past the leader's end: nothing to keep, start where the leader starts.
      if (answer.logStartOffset >= 0n) await p.truncateFullyAsFollower(entry.leaderEpoch, answer.logStartOffset)
    } else {
      entry.phase = 'truncating'
    }
    this.backoff([entry])
  }

  private onPartitionError(entry: FetchEntry, errorCode: number, what: string): void {
    if (errorCode === ErrorCode.FENCED_LEADER_EPOCH.code) {
      // Our leader epoch is older than the leader's: new metadata is on its way (follow()).
      this.logger.info({ partition: entry.partition.name, leaderEpoch: entry.leaderEpoch, what }, 'fenced leader epoch; waiting for new metadata')
      entry.phase = 'parked'
      return
    }
    if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER.code || errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH.code) {
      // Usually the leader has not applied the metadata that makes it leader yet: retry soon,
      // then less often.
      const backoffMs = Math.min(entry.notReadyBackoffMs, this.options.config.replicaFetchBackoffMs)
      entry.notBeforeMs = Date.now() + backoffMs
      entry.notReadyBackoffMs = Math.min(backoffMs * 2, this.options.config.replicaFetchBackoffMs)
      this.logger.debug({ partition: entry.partition.name, errorCode, what, backoffMs }, 'leader not ready; retrying')
      return
    }
    this.logger.debug({ partition: entry.partition.name, errorCode, what }, 'partition error from the leader; backing off')
    this.backoff([entry])
  }
}

/**
 * Whether a partition starting to follow must truncate before it fetches: it has an epoch to
 * ask about, or it holds records without any epoch (a lost epoch checkpoint). The latter asks
 * with epoch -1, which no leader knows, so it truncates to its HW (Kafka's fetcher does the
 * same for partitions without epochs): records past the HW may have diverged.
 */
function needsTruncation(partition: Partition, askEpoch: number): boolean {
  return askEpoch >= 0 || partition.logEndOffset > partition.logStartOffset
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return []
  const k = by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}
