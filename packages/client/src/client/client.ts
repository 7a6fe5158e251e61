/**
 * Client: the entry point (DESIGN.md "Client"). It owns what every producer, consumer and
 * admin made from it shares:
 * - the metadata cache, refreshed from any broker, one refresh at a time: brokers that have
 *   not failed recently first, in turn (not always the same one), then the bootstrap
 *   addresses, then the brokers that failed, longest ago first. A broker whose request just
 *   failed (transport error, timeout, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS...) is thus
 *   not the one asked where the leader went: cut off from the controller, it still answers
 *   Metadata from its stale view, naming itself leader (Kafka's leastLoadedNode avoids it the
 *   same way). With the cache's leader epochs (KIP-320) an older view never wins;
 * - one reused connection per broker (BrokerConnections);
 * - the retry policy (retry.ts) and the routing of requests to partition leaders, with
 *   refreshes on NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH,
 *   UNKNOWN_LEADER_EPOCH and the other codes whose `refreshMetadata` is set;
 * - close({ timeoutMs }): producers flush what they hold, every call in flight is awaited,
 *   then the connections close; after timeoutMs, what is left fails instead of waiting.
 */
import { broker, ErrorCode, type controller } from '@tributary/protocol'
import { Admin } from '../admin/admin.js'
import { Consumer } from '../consumer/consumer.js'
import type { ConsumerOptions } from '../consumer/options.js'
import { ClientClosedError, kafkaError, TributaryError } from '../errors.js'
import { Producer } from '../producer/producer.js'
import { PRODUCER_DEFAULTS, type ProducerOptions } from '../producer/options.js'
import { retry, type BackoffOptions } from '../retry.js'
import { BrokerConnections, type MethodPicker } from './broker-connections.js'
import { CLIENT_LIMITS } from './limits.js'
import { MetadataCache } from './metadata-cache.js'
import { CLIENT_DEFAULTS, resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js'
import type { PartitionInfo, TopicInfo } from './types.js'

export class Client {
  readonly options: ResolvedClientOptions
  /** @internal */
  readonly cache = new MetadataCache()
  /** @internal */
  readonly connections: BrokerConnections
  private readonly producers = new Set<Producer>()
  private readonly consumers = new Set<Consumer>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly closing = new AbortController()
  private refresh: { readonly topics: ReadonlySet<string> | 'all'; readonly done: Promise<broker.MetadataResponse> } | null = null
  /** Per broker address: when a request to it last failed (it is asked for metadata last for a while). */
  private readonly failedAtMs = new Map<string, number>()
  /** Where the next metadata source is taken from among the healthy brokers (they take turns). */
  private turn = 0
  /** Topics this client's producers and consumers use: every refresh asks for them too. */
  private readonly interesting = new Set<string>()
  private closed: Promise<void> | null = null

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options)
    this.connections = new BrokerConnections(this.options.clientId)
  }

  admin(): Admin {
    this.assertOpen()
    return new Admin(this)
  }

  producer(options: ProducerOptions = {}): Producer {
    this.assertOpen()
    const p = new Producer(this, options, () => this.producers.delete(p))
    this.producers.add(p)
    return p
  }

  /** A consumer: assign() partitions, or with a groupId subscribe() to topics as a group member. */
  consumer(options: ConsumerOptions = {}): Consumer {
    this.assertOpen()
    const c = new Consumer(this, options, () => this.consumers.delete(c))
    this.consumers.add(c)
    return c
  }

  /**
   * Flushes every producer, stops the consumers, waits for calls in flight, then closes the
   * connections. Idempotent. Bounded by `timeoutMs` (default PRODUCER_DEFAULTS.closeTimeoutMs):
   * records still unacknowledged then reject with ClientClosedError (Producer.close), and calls
   * still in flight are left to the closing connections.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? PRODUCER_DEFAULTS.closeTimeoutMs
    this.closed ??= (async () => {
      const deadlineMs = Date.now() + timeoutMs
      await Promise.allSettled([...this.producers].map((p) => p.close({ timeoutMs })))
      await Promise.allSettled([...this.consumers].map((c) => c.close()))
      this.closing.abort()
      while (this.inFlight.size > 0) {
        const leftMs = deadlineMs - Date.now()
        if (leftMs <= 0) break
        let timer: NodeJS.Timeout | null = null
        await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, leftMs)))])
        if (timer !== null) clearTimeout(timer)
      }
      this.connections.close()
    })()
    return this.closed
  }

  get isClosed(): boolean {
    return this.closed !== null
  }

  // ---- internals shared with Producer and Admin ---------------------------------------

  /** @internal Fires when close() has flushed the producers: retries stop. */
  get closeSignal(): AbortSignal {
    return this.closing.signal
  }

  /** @internal */
  get backoff(): BackoffOptions {
    return { initialMs: this.options.retryBackoffMs, maxMs: this.options.retryBackoffMaxMs, jitter: CLIENT_DEFAULTS.retryBackoffJitter }
  }

  /** @internal Counts `work` as in flight until it settles (close() waits for it). */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work)
    void work.then(() => this.inFlight.delete(work), () => this.inFlight.delete(work))
    return work
  }

  /** @internal */
  assertOpen(): void {
    if (this.closed !== null) throw new ClientClosedError('the client')
  }

  /** @internal One call to one broker address; a retriable failure marks the broker as failing. */
  call<Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, context: string, timeoutMs = this.options.requestTimeoutMs): Promise<Res> {
    return this.track(this.connections.call(address, pick, request, timeoutMs, context).catch((err: unknown) => {
      if (err instanceof TributaryError && err.retriable) this.brokerFailed(address)
      throw err
    }))
  }

  /** @internal A request to `address` failed: metadata is asked elsewhere first for a while. */
  brokerFailed(address: string, nowMs = Date.now()): void {
    this.failedAtMs.set(address, nowMs)
  }

  /**
   * @internal A call to any broker, in the order of candidates(); a transport failure moves
   * to the next. Throws the last transport error when none answers.
   */
  async callAny<Req, Res>(pick: MethodPicker<Req, Res>, request: Req, context: string, timeoutMs = this.options.requestTimeoutMs): Promise<Res> {
    let last: TributaryError | null = null
    for (const address of this.candidates()) {
      try {
        return await this.call(address, pick, request, context, timeoutMs)
      } catch (err) {
        if (!(err instanceof TributaryError) || !err.retriable) throw err
        last = err
      }
    }
    throw last ?? kafkaError(ErrorCode.NETWORK_EXCEPTION.code, context, 'no broker to ask')
  }

  /**
   * @internal Refreshes metadata for `topics` (plus the topics in use) or every topic.
   * Concurrent refreshes covering the same topics share one call. `inUse` adds the topics
   * to those every later refresh asks for (producers' topics; not an admin's one-off reads).
   */
  async refreshMetadata(topics: readonly string[] | 'all', inUse = true): Promise<broker.MetadataResponse> {
    if (inUse) for (const t of topics === 'all' ? [] : topics) this.interesting.add(t)
    const pending = this.refresh
    if (pending !== null && (pending.topics === 'all' || (topics !== 'all' && topics.every((t) => (pending.topics as ReadonlySet<string>).has(t))))) return pending.done
    if (pending !== null) await pending.done.catch(() => undefined)
    const asked: ReadonlySet<string> | 'all' = topics === 'all' ? 'all' : new Set([...topics, ...this.interesting])
    const request: broker.MetadataRequest = asked === 'all' ? { topics: [], allTopics: true } : { topics: [...asked], allTopics: false }
    const done = this.callAny((s) => s.metadata.bind(s), request, 'Metadata').then((res) => {
      this.cache.update(res, Date.now())
      return res
    })
    const entry = { topics: asked, done }
    this.refresh = entry
    try {
      return await done
    } finally {
      if (this.refresh === entry) this.refresh = null
    }
  }

  /**
   * @internal The topic's metadata, from the cache unless missing or older than
   * metadataMaxAgeMs. An unknown topic is retried (it may be being created) until `deadlineMs`,
   * then UNKNOWN_TOPIC_OR_PARTITION.
   */
  async topicMetadata(topic: string, deadlineMs: number): Promise<TopicInfo> {
    this.interesting.add(topic)
    const cached = this.cache.topic(topic)
    if (cached !== undefined && !this.cache.isStale(topic, Date.now(), this.options.metadataMaxAgeMs)) return cached
    return retry(async () => {
      await this.refreshMetadata([topic])
      const info = this.cache.topic(topic)
      if (info === undefined) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, `metadata of '${topic}'`)
      return info
    }, { deadlineMs, backoff: this.backoff, what: `metadata of '${topic}'`, signal: this.closing.signal })
  }

  /**
   * @internal Applies a partition error's consequences: the broker the request went to (the
   * cached leader) is marked as failing when the error says it cannot serve the partition now,
   * then a leader hint is taken, else the topic is refreshed later.
   */
  onPartitionError(topic: string, partition: number, code: number, hint?: { readonly leaderId: number; readonly leaderEpoch: number }): void {
    const error = new TributaryError(code)
    if (FAILING_BROKER_CODES.has(code)) {
      const leader = this.cache.leader(topic, partition)
      if (leader !== null) this.brokerFailed(leader.address)
    }
    if (!error.refreshMetadata) return
    if (hint !== undefined && this.cache.applyLeaderHint(topic, partition, hint.leaderId, hint.leaderEpoch)) return
    this.cache.invalidate(topic)
  }

  /** @internal The partitions of a topic as cached (empty when unknown). */
  cachedPartitions(topic: string): readonly PartitionInfo[] {
    return this.cache.topic(topic)?.partitions ?? []
  }

  /** @internal Admin requests that any broker forwards to the active controller. */
  forward<Req, Res extends { errorCode: number; errorMessage: string }>(pick: MethodPicker<Req, Res>, request: Req, what: string, deadlineMs: number): Promise<Res> {
    return retry(async () => {
      const res = await this.callAny(pick, request, what)
      // Whole-request errors: NOT_CONTROLLER while the quorum elects is retriable.
      if (res.errorCode !== ErrorCode.NONE.code) throw kafkaError(res.errorCode, what, res.errorMessage)
      return res
    }, { deadlineMs, backoff: this.backoff, what, signal: this.closing.signal })
  }

  /** @internal */
  createTopicsRaw(request: controller.CreateTopicsRequest, deadlineMs: number): Promise<controller.CreateTopicsResponse> {
    return this.forward((s) => s.createTopics.bind(s), request, 'CreateTopics', deadlineMs)
  }

  /**
   * @internal The order in which brokers are asked for metadata (callAny): the known brokers
   * that have not failed within brokerFailureMemoryMs, taking turns, then the bootstrap
   * addresses that have not, then every failed one, the oldest failure first (a failing
   * broker is asked last, never dropped: it may be the only one left).
   */
  candidates(nowMs = Date.now()): string[] {
    const known = this.cache.brokerList().map((b) => `${b.host}:${b.port}`)
    const all: string[] = [...known]
    for (const a of this.options.bootstrap) if (!all.includes(a)) all.push(a)
    const failed: string[] = []
    for (const [address, atMs] of this.failedAtMs) {
      if (nowMs - atMs >= CLIENT_LIMITS.brokerFailureMemoryMs) this.failedAtMs.delete(address)
      else if (all.includes(address)) failed.push(address)
    }
    const healthyKnown = known.filter((a) => !this.failedAtMs.has(a))
    const start = healthyKnown.length === 0 ? 0 : this.turn++ % healthyKnown.length
    const out = [...healthyKnown.slice(start), ...healthyKnown.slice(0, start)]
    for (const a of this.options.bootstrap) if (!out.includes(a) && !this.failedAtMs.has(a)) out.push(a)
    failed.sort((a, b) => this.failedAtMs.get(a)! - this.failedAtMs.get(b)!)
    return [...out, ...failed]
  }
}

/**
 * Partition errors that say the broker cannot serve the partition now (not, or no longer, its
 * leader; cut off from its followers or the controller): its view of the cluster is suspect.
 */
const FAILING_BROKER_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER.code,
  ErrorCode.LEADER_NOT_AVAILABLE.code,
  ErrorCode.NOT_ENOUGH_REPLICAS.code,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND.code,
  ErrorCode.REQUEST_TIMED_OUT.code,
  ErrorCode.NETWORK_EXCEPTION.code,
  ErrorCode.KAFKA_STORAGE_ERROR.code,
  ErrorCode.FENCED_LEADER_EPOCH.code,
])
