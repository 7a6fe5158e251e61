/**
 * Consumer (groundwork for issue 4: manual assignment, no groups yet). It reads the
 * partitions given to assign() from their leaders with Fetch, as an async iterable of
 * records in offset order per partition.
 *
 * - Positions: a partition without one starts at its log start (fromBeginning) or its end
 *   (ListOffsets at the leader); seek() sets one. OFFSET_OUT_OF_RANGE resets it the same way
 *   (Kafka's auto.offset.reset).
 * - Fetching: up to CONSUMER_FETCHES_PER_LEADER Fetches per leader, each for its own share of
 *   the leader's assigned, unpaused partitions (a partition is in one fetch at a time); the next
 *   round is started as soon as a round's records are handed over (prefetch), so the
 *   iterator rarely waits on the network. A seek or pause during a round discards that
 *   round's records of the partition (a generation per partition tells them apart).
 * - Errors: leader errors refresh metadata (or follow the leader hint) and retry after a
 *   backoff; other errors end the iteration with the error.
 *
 * - Groups: with a groupId, subscribe() joins the group (group-member.ts, KIP-848): the
 *   coordinator's assignment replaces assign(); partitions added start at the committed
 *   offset; revoked ones stop fetching and (autoCommit) have their positions committed before
 *   they are released. commit() commits with the member epoch; autoCommit commits every
 *   autoCommitIntervalMs and on close(), which then leaves the group.
 *
 * Not yet: per-partition prefetch limits.
 */
import { compressionCodecs, decodeRecordsInto, ErrorCode, iterateBatches, type broker, type RecordSink } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { asTributaryError, ClientClosedError, kafkaError, TributaryError } from '../errors.js'
import { backoffMs } from '../retry.js'
import { GroupMember, tpKey, type CommitOffset } from './group-member.js'
import { resolveConsumerOptions, type ConsumerOptions, type ResolvedConsumerOptions } from './options.js'
import { RecordQueue } from './record-queue.js'
import { sleepUntilAborted } from './sleep-until-aborted.js'
import type { ConsumerRecord, TopicPartition } from './types.js'

interface Assigned {
  readonly topic: string
  readonly partition: number
  /** The next offset to hand out, or null until reset. */
  position: bigint | null
  /** The next offset to fetch: past what is buffered (prefetched) but not yet handed out. */
  fetchPosition: bigint | null
  paused: boolean
  /** Bumped by seek/pause: fetched records of an older generation are dropped. */
  generation: number
}

/** Start the next fetch round once this few records remain buffered (at least; see prefetchLowRecords). */
export const CONSUMER_PREFETCH_LOW_RECORDS = 100

/**
 * Fetches in flight to one leader at most, each for its own partitions (Kafka's consumer has
 * one per node; a gRPC answer is read and decoded whole, so a second one lets the leader read
 * and send one while the consumer decodes the other).
 */
export const CONSUMER_FETCHES_PER_LEADER = 2

/** Records poll() hands out at most by default (Kafka's max.poll.records). */
export const CONSUMER_POLL_MAX_RECORDS = 500

/** With a fetch round in flight, next() lets the event loop turn once per this many records (see mustYield). */
export const CONSUMER_YIELD_RECORDS = 256

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly options: ResolvedConsumerOptions
  private readonly assigned = new Map<string, Assigned>()
  private readonly buffer = new RecordQueue<ConsumerRecord>()
  /** Start the next round once this few records remain: half of the last round's records (at least CONSUMER_PREFETCH_LOW_RECORDS). */
  private prefetchLowRecords: number = CONSUMER_PREFETCH_LOW_RECORDS
  /** Fetches in flight, by an id (each settles to its error, or null), how many per leader address, and the partitions they carry. */
  private readonly fetching = new Map<number, Promise<unknown>>()
  private readonly leaderFetches = new Map<string, number>()
  private nextFetchId = 0
  private readonly fetchingParts = new Set<Assigned>()
  /**
   * The partition of the record handed out last, while the assignment is unchanged (null after
   * any change): records come in runs of one partition, so takeBuffered rarely builds a key to
   * look one up (per record, that was a string concatenation and a hash).
   */
  private lastTaken: Assigned | null = null
  /** Records handed out since the event loop last turned inside next() (see mustYield). */
  private handedOutSinceTurn = 0
  private round: Promise<void> | null = null
  private failures = 0
  private failure: TributaryError | null = null
  private closed = false
  /**
   * Set at the very start of close(): from then on next() hands out nothing, so the positions
   * close() commits are the last records the application saw (a record handed out after that
   * commit would be read again by the partition's next owner).
   */
  private closing: Promise<void> | null = null
  private readonly stop = new AbortController()
  /** Aborted when partitions become fetchable (assigned or resumed) or on close: ends an idle round's wait. */
  private fetchable = new AbortController()
  private member: GroupMember | null = null
  private autoCommitTimer: NodeJS.Timeout | null = null

  /** @internal Made by Client.consumer(). */
  constructor(
    private readonly client: Client,
    options: ConsumerOptions,
    private readonly onClosed: () => void,
  ) {
    this.options = resolveConsumerOptions(options)
  }

  /** Replaces the assignment. Positions of partitions kept are kept. */
  assign(partitions: readonly TopicPartition[]): void {
    this.assertOpen()
    if (this.member !== null) throw new TributaryError(ErrorCode.INVALID_REQUEST, 'assign() on a consumer that subscribed: the group assigns its partitions')
    const next = new Map<string, Assigned>()
    for (const tp of partitions) {
      if (!Number.isInteger(tp.partition) || tp.partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${tp.partition}`)
      const k = tpKey(tp.topic, tp.partition)
      next.set(k, this.assigned.get(k) ?? { topic: tp.topic, partition: tp.partition, position: null, fetchPosition: null, paused: false, generation: 0 })
    }
    this.assigned.clear()
    this.lastTaken = null
    for (const [k, a] of next) this.assigned.set(k, a)
    this.buffer.retain((r) => this.assigned.has(tpKey(r.topic, r.partition)))
    this.wakeIdleRound()
  }

  /**
   * Joins the consumer group `groupId` (or changes the subscription) and starts heartbeating;
   * the coordinator's assignment then decides what the consumer reads. Resolves once the
   * topics' metadata is known (the assignment follows with the heartbeats).
   */
  async subscribe(topics: readonly string[]): Promise<void> {
    this.assertOpen()
    const groupId = this.options.groupId
    if (groupId === null) throw new TributaryError(ErrorCode.INVALID_REQUEST, 'subscribe() needs a groupId; use assign() without one')
    if (topics.length === 0) throw new RangeError('subscribe() needs at least one topic')
    if (this.member === null && this.assigned.size > 0) throw new TributaryError(ErrorCode.INVALID_REQUEST, 'subscribe() on a consumer with assigned partitions')
    const deadlineMs = Date.now() + this.client.options.requestTimeoutMs
    for (const t of topics) await this.client.topicMetadata(t, deadlineMs)
    if (this.member === null) {
      this.member = new GroupMember(this.client, groupId, this.options, {
        onAssigned: (parts, committed) => this.onAssigned(parts, committed),
        onRevoked: (parts, commit) => this.onRevoked(parts, commit),
        onFatal: (error) => {
          this.failure = error
        },
      })
      if (this.options.autoCommit) {
        this.autoCommitTimer = setInterval(() => void this.commit().catch(() => undefined), this.options.autoCommitIntervalMs)
        this.autoCommitTimer.unref()
      }
    }
    this.member.subscribe(topics)
  }

  /**
   * Commits to the group: `record`'s offset + 1 for its partition, or without one the
   * position of every partition the consumer owns. Only partitions the member still owns are
   * committed (a revoked partition's offset belongs to its new owner).
   */
  async commit(record?: { readonly topic: string; readonly partition: number; readonly offset: bigint }): Promise<void> {
    const member = this.member
    if (member === null) throw new TributaryError(ErrorCode.INVALID_REQUEST, 'commit() needs a consumer that subscribed with a groupId')
    const offsets: CommitOffset[] = record !== undefined
      ? [{ topic: record.topic, partition: record.partition, offset: record.offset + 1n }]
      : [...this.assigned.values()].flatMap((a) => (a.position === null ? [] : [{ topic: a.topic, partition: a.partition, offset: a.position }]))
    if (offsets.length > 0) await member.commit(offsets)
  }

  /** @internal The group membership (tests). */
  get group(): GroupMember | null {
    return this.member
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map((a) => ({ topic: a.topic, partition: a.partition }))
  }

  /** The next offset the consumer will hand out for the partition, or null before it is known. */
  position(topic: string, partition: number): bigint | null {
    return this.get(topic, partition).position
  }

  /** The next record of the partition handed out will be at `offset`. */
  seek(topic: string, partition: number, offset: bigint): void {
    if (offset < 0n) throw new RangeError(`offset must be >= 0, got ${offset}`)
    const a = this.get(topic, partition)
    a.position = offset
    a.fetchPosition = offset
    a.generation++
    this.buffer.retain((r) => r.topic !== topic || r.partition !== partition)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const a = this.get(tp.topic, tp.partition)
      if (a.paused) continue
      a.paused = true
      a.generation++
      // Records buffered but not handed out are fetched again on resume.
      a.fetchPosition = a.position
      this.buffer.retain((r) => r.topic !== tp.topic || r.partition !== tp.partition)
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.get(tp.topic, tp.partition).paused = false
    this.wakeIdleRound()
  }

  /** The next record, waiting for one; null once closed. Throws a fetch's non-retriable error. */
  async next(): Promise<ConsumerRecord | null> {
    for (;;) {
      if (this.closed || this.closing !== null) return null
      if (this.failure !== null) {
        const error = this.failure
        this.failure = null
        throw error
      }
      if (this.mustYield()) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        continue
      }
      const record = this.takeBuffered()
      if (record !== undefined) return record
      this.startRound()
      await this.round
      this.handedOutSinceTurn = 0
    }
  }

  /**
   * The next records, at least one (waiting for it), at most `maxRecords`: what is buffered now
   * (Kafka's poll()). [] once closed. Throws a fetch's non-retriable error as next() does. One
   * promise per call instead of one per record: the consumer's largest cost with small records.
   */
  async poll(maxRecords: number = CONSUMER_POLL_MAX_RECORDS): Promise<ConsumerRecord[]> {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`)
    const first = await this.next()
    if (first === null) return []
    const records = [first]
    // Stops where next() would let the event loop turn (so the next call does) or throw.
    while (records.length < maxRecords && this.closing === null && this.failure === null && !(this.fetchInFlight && this.handedOutSinceTurn >= CONSUMER_YIELD_RECORDS)) {
      const record = this.takeBuffered()
      if (record === undefined) break
      records.push(record)
    }
    return records
  }

  /**
   * Whether to let the event loop turn before handing out the next record: a fetch is in
   * flight and CONSUMER_YIELD_RECORDS records went out since the last turn. Records
   * handed out from the buffer resolve at once, so a consuming loop (`await next()`) runs in
   * microtasks only and the round's answer is not even read off the socket until the buffer
   * is empty: fetching and consuming took turns instead of overlapping (about half of the
   * consume time in issue 7's runs).
   */
  private get fetchInFlight(): boolean {
    return this.round !== null || this.fetching.size > 0
  }

  private mustYield(): boolean {
    if (!this.fetchInFlight || this.handedOutSinceTurn < CONSUMER_YIELD_RECORDS) return false
    this.handedOutSinceTurn = 0
    return true
  }

  /** A buffered record, handed out (its partition's position moves past it). */
  private takeBuffered(): ConsumerRecord | undefined {
    const record = this.buffer.shift()
    if (record === undefined) return undefined
    this.handedOutSinceTurn++
    let a = this.lastTaken
    if (a === null || a.partition !== record.partition || a.topic !== record.topic) {
      a = this.assigned.get(tpKey(record.topic, record.partition)) ?? null
      this.lastTaken = a
    }
    if (a !== null) a.position = record.offset + 1n
    // Prefetch: the next round runs while the buffered records are handed out.
    if (this.buffer.length <= this.prefetchLowRecords) this.startRound()
    return record
  }

  /**
   * The records as an async iterator. A buffered record is handed out without going through
   * next()'s async function (fewer promise hops per record; the iterator is the hot path).
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined }
    return {
      next: (): Promise<IteratorResult<ConsumerRecord, undefined>> => {
        if (!this.closed && this.closing === null && this.failure === null && (!this.fetchInFlight || this.handedOutSinceTurn < CONSUMER_YIELD_RECORDS)) {
          const record = this.takeBuffered()
          if (record !== undefined) return Promise.resolve({ done: false, value: record })
        }
        return this.next().then((record) => (record === null ? done : { done: false, value: record }))
      },
      return: (): Promise<IteratorResult<ConsumerRecord, undefined>> => Promise.resolve(done),
    }
  }

  /** Stops fetching; a group member commits its positions (autoCommit) and leaves the group. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    this.buffer.clear()
    if (this.autoCommitTimer !== null) clearInterval(this.autoCommitTimer)
    this.autoCommitTimer = null
    if (this.member !== null) {
      if (this.options.autoCommit) await this.commit().catch(() => undefined)
      await this.member.leave()
      // The group may give them to another member at once.
      this.assigned.clear()
      this.lastTaken = null
      this.buffer.clear()
    }
    this.closed = true
    this.stop.abort()
    this.fetchable.abort()
    await this.round?.catch(() => undefined)
    this.onClosed()
  }

  // ---- the group's assignment -----------------------------------------------------------

  private onAssigned(partitions: readonly TopicPartition[], committed: ReadonlyMap<string, bigint>): void {
    for (const tp of partitions) {
      const k = tpKey(tp.topic, tp.partition)
      const offset = committed.get(k) ?? null
      this.assigned.set(k, { topic: tp.topic, partition: tp.partition, position: offset, fetchPosition: offset, paused: false, generation: 0 })
      this.lastTaken = null
    }
    this.wakeIdleRound()
  }

  private async onRevoked(partitions: readonly TopicPartition[], commit: boolean): Promise<void> {
    const offsets: CommitOffset[] = []
    for (const tp of partitions) {
      const k = tpKey(tp.topic, tp.partition)
      const a = this.assigned.get(k)
      if (a?.position !== null && a?.position !== undefined) offsets.push({ topic: tp.topic, partition: tp.partition, offset: a.position })
      // Stop fetching: records of a round in flight for it are dropped (fetchFrom finds no entry).
      this.assigned.delete(k)
      this.lastTaken = null
    }
    const gone = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)))
    this.buffer.retain((r) => !gone.has(tpKey(r.topic, r.partition)))
    if (commit && offsets.length > 0) await this.member?.commit(offsets).catch(() => undefined)
  }

  // ---- fetching -----------------------------------------------------------------------

  private get(topic: string, partition: number): Assigned {
    const a = this.assigned.get(tpKey(topic, partition))
    if (a === undefined) throw new RangeError(`${topic}-${partition} is not assigned to this consumer`)
    return a
  }

  private wakeIdleRound(): void {
    this.fetchable.abort()
    this.fetchable = new AbortController()
  }

  private assertOpen(): void {
    if (this.closed || this.client.isClosed) throw new ClientClosedError('the consumer')
  }

  /** One fetch round at a time; it never rejects: a non-retriable error waits in `failure` for next(). */
  private startRound(): void {
    if (this.round !== null || this.closed || this.failure !== null) return
    this.round = this.client.track(this.fetchRound()).then(
      () => {
        this.failures = 0
      },
      async (err: unknown) => {
        const error = asTributaryError(err)
        if (!error.retriable) {
          this.failure = error
          return
        }
        await sleepUntilAborted(backoffMs(this.failures++, this.client.backoff, Math.random), this.stop.signal)
      },
    ).finally(() => {
      this.round = null
    })
  }

  private async fetchRound(): Promise<void> {
    const active = [...this.assigned.values()].filter((a) => !a.paused)
    if (active.length === 0) {
      // Nothing to fetch yet (a group member before its assignment): wait, but not past the
      // moment partitions arrive (waiting out maxWaitMs here cost up to 0.5 s at each start).
      await sleepUntilAborted(this.options.maxWaitMs, this.fetchable.signal)
      return
    }
    const deadlineMs = Date.now() + this.client.options.requestTimeoutMs
    for (const topic of new Set(active.map((a) => a.topic))) await this.client.topicMetadata(topic, deadlineMs)
    await Promise.all(active.filter((a) => a.fetchPosition === null).map((a) => this.reset(a)))
    const byLeader = new Map<string, Assigned[]>()
    for (const a of active) {
      if (this.fetchingParts.has(a)) continue
      const leader = this.client.cache.leader(a.topic, a.partition)
      if (leader === null) {
        this.client.cache.invalidate(a.topic)
        throw kafkaError(ErrorCode.LEADER_NOT_AVAILABLE.code, `fetch ${a.topic}-${a.partition}`)
      }
      if ((this.leaderFetches.get(leader.address) ?? 0) >= CONSUMER_FETCHES_PER_LEADER) continue
      byLeader.set(leader.address, [...(byLeader.get(leader.address) ?? []), a])
    }
    // Fetches in flight per leader (one per partition), each on its own, as Kafka's Fetcher:
    // the round ends when any of them answers. Waiting for all of them let one leader whose
    // partitions had no new records (its fetch parked for maxWaitMs) stall the others.
    // Up to CONSUMER_FETCHES_PER_LEADER fetches per leader, over disjoint partitions: a
    // partition is in one fetch at a time, so its records still arrive in offset order.
    for (const [address, all] of byLeader) {
      const slots = Math.min(all.length, CONSUMER_FETCHES_PER_LEADER - (this.leaderFetches.get(address) ?? 0))
      for (let slot = 0; slot < slots; slot++) {
        const parts = all.filter((_, i) => i % slots === slot)
        for (const a of parts) this.fetchingParts.add(a)
        const id = this.nextFetchId++
        this.leaderFetches.set(address, (this.leaderFetches.get(address) ?? 0) + 1)
        const settled = this.fetchFrom(address, parts).then(
          (): null => null,
          (err: unknown) => err,
        )
        const done = settled.finally(() => {
          this.fetching.delete(id)
          const left = (this.leaderFetches.get(address) ?? 1) - 1
          if (left === 0) this.leaderFetches.delete(address)
          else this.leaderFetches.set(address, left)
          for (const a of parts) this.fetchingParts.delete(a)
        })
        this.fetching.set(id, done)
      }
    }
    if (this.fetching.size === 0) return
    const bufferedBefore = this.buffer.length
    const failure = await Promise.race(this.fetching.values())
    this.prefetchLowRecords = Math.max(CONSUMER_PREFETCH_LOW_RECORDS, Math.floor((this.buffer.length - bufferedBefore) / 2))
    if (failure !== null && this.buffer.length === 0) throw failure
  }

  private async fetchFrom(address: string, parts: readonly Assigned[]): Promise<void> {
    const generations = new Map(parts.map((a) => [a, a.generation]))
    const byTopic = new Map<string, broker.FetchPartition[]>()
    for (const a of parts) {
      const list = byTopic.get(a.topic) ?? []
      list.push({ partition: a.partition, currentLeaderEpoch: -1, fetchOffset: a.fetchPosition!, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: this.options.partitionMaxBytes })
      byTopic.set(a.topic, list)
    }
    const request: broker.FetchRequest = {
      replicaId: -1,
      replicaEpoch: -1n,
      maxWaitMs: this.options.maxWaitMs,
      minBytes: this.options.minBytes,
      maxBytes: this.options.maxBytes,
      isolationLevel: 0,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, topicId: '', partitions })),
      correlationId: 0n,
    }
    const res = await this.client.call(address, (s) => s.fetch.bind(s), request, 'Fetch', this.options.maxWaitMs + this.client.options.requestTimeoutMs)
    if (res.errorCode !== ErrorCode.NONE.code) throw kafkaError(res.errorCode, `fetch at ${address}`, res.errorMessage)
    let retriable: TributaryError | null = null
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const a = this.assigned.get(tpKey(t.topic, p.partitionIndex))
        if (a === undefined || a.paused || generations.get(a) !== a.generation) continue
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE.code) {
          // auto.offset.reset: start again at the log start or end.
          a.position = null
          a.fetchPosition = null
          continue
        }
        if (p.errorCode !== ErrorCode.NONE.code) {
          const error = kafkaError(p.errorCode, `fetch ${t.topic}-${p.partitionIndex}`)
          const hint = p.currentLeader === undefined ? undefined : { leaderId: p.currentLeader.leaderId, leaderEpoch: p.currentLeader.leaderEpoch }
          this.client.onPartitionError(t.topic, p.partitionIndex, p.errorCode, hint)
          if (!error.retriable) throw error
          retriable = error
          continue
        }
        this.take(a, p.records)
      }
    }
    if (retriable !== null && this.buffer.length === 0) throw retriable
  }

  /**
   * Buffers the records of whole batches at or after the position (a fetch may end with a
   * partial batch). Records are built straight from the decoder's fields (decodeRecordsInto),
   * one object per record. A corrupt batch buffers nothing of this answer: the error is thrown
   * and the partition is fetched again from the same position.
   */
  private take(a: Assigned, bytes: Buffer): void {
    const from = a.fetchPosition!
    let batchesEnd = from
    const buffer = this.buffer
    const { topic, partition } = a
    const sink: RecordSink = (offset, timestamp, key, value, headers) => {
      if (offset >= from) buffer.push({ topic, partition, offset, timestamp, key, value, headers })
    }
    const bufferedBefore = buffer.length
    try {
      for (const scan of iterateBatches(bytes)) {
        if (scan.kind !== 'batch') break
        // A compacted topic's batch may hold fewer records than its offset range, or none at all
        // (log cleaner): the next fetch starts after the batch, not after its last record, or
        // the consumer would fetch the same batch forever. Offsets handed out may jump.
        if (scan.header.lastOffset + 1n > batchesEnd) batchesEnd = scan.header.lastOffset + 1n
        decodeRecordsInto(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs: compressionCodecs }, sink)
      }
    } catch (err) {
      buffer.truncate(bufferedBefore)
      throw err
    }
    // The position moves when records are handed out; the next fetch starts after what is buffered.
    if (batchesEnd > from) a.fetchPosition = batchesEnd
  }

  private async reset(a: Assigned): Promise<void> {
    const [offset] = await this.client.admin().listOffsets(a.topic, this.options.fromBeginning ? 'earliest' : 'latest', [a.partition])
    if (a.fetchPosition === null && offset !== undefined) {
      a.position = offset.offset
      a.fetchPosition = offset.offset
    }
  }
}
