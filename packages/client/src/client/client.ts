/**
 * Client: the entry point (DESIGN.md "Client"). It owns what every producer, consumer and
 * admin made from it shares:
 * - the metadata cache, refreshed from any broker (the one that answered last first, then
 *   the other known brokers, then the bootstrap addresses), one refresh at a time;
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
  private lastAnswered: string | null = null
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

  /** @internal One call to one broker address. */
  call<Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, context: string, timeoutMs = this.options.requestTimeoutMs): Promise<Res> {
    return this.track(this.connections.call(address, pick, request, timeoutMs, context))
  }

  /**
   * @internal A call to any broker: the one that answered last first, then the other known
   * brokers, then the bootstrap addresses; a transport failure moves to the next. Throws
   * the last transport error when none answers.
   */
  async callAny<Req, Res>(pick: MethodPicker<Req, Res>, request: Req, context: string, timeoutMs = this.options.requestTimeoutMs): Promise<Res> {
    let last: TributaryError | null = null
    for (const address of this.candidates()) {
      try {
        const res = await this.call(address, pick, request, context, timeoutMs)
        this.lastAnswered = address
        return res
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

  /** @internal Applies a partition error's consequences to the cache: a leader hint, else a refresh later. */
  onPartitionError(topic: string, partition: number, code: number, hint?: { readonly leaderId: number; readonly leaderEpoch: number }): void {
    const error = new TributaryError(code)
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

  private candidates(): string[] {
    const known = this.cache.brokerList().map((b) => `${b.host}:${b.port}`)
    const out: string[] = []
    if (this.lastAnswered !== null && known.includes(this.lastAnswered)) out.push(this.lastAnswered)
    for (const a of known) if (!out.includes(a)) out.push(a)
    for (const a of this.options.bootstrap) if (!out.includes(a)) out.push(a)
    return out
  }
}
