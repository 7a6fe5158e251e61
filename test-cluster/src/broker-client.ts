/**
 * BrokerClient: a minimal raw client of BrokerService (proto/broker.proto) for multi-process
 * tests and benchmarks. It is NOT the SDK (packages/client, a later issue): no batching, no
 * partitioner, no idempotence. It does just what a test needs to drive a cluster and count
 * what went wrong:
 *   - bootstrap, Metadata, and a cache of brokers and partition leaders;
 *   - Produce of one RecordBatch to the partition leader, with a request timeout, retrying
 *     retriable Kafka errors (going to the leader a NOT_LEADER_OR_FOLLOWER answer names, KIP-951,
 *     else refreshing metadata first when the code says so) and transport failures (UNAVAILABLE, a deadline) with a short
 *     backoff, inside a delivery timeout, as Kafka's producer does (KIP-91);
 *   - Fetch from an offset as a consumer (replica_id -1), ListOffsets, and the admin requests
 *     a broker forwards to the active controller (CreateTopics, ElectLeaders).
 *
 * Every call it makes is recorded as an Attempt (which node, how long, which error), so a
 * test can tell error responses (e.g. NOT_LEADER_OR_FOLLOWER) apart from failed sends (a
 * send that never got an acknowledgment within its delivery timeout).
 *
 * Retries of a send that timed out may write the batch twice (there is no idempotence here):
 * callers check acknowledged offsets, not the absence of duplicates.
 */
import * as grpc from '@grpc/grpc-js'
import { performance } from 'node:perf_hooks'
import {
  broker,
  controller,
  decodeRecords,
  encodeRecordBatch,
  ErrorCode,
  errorInfo,
  iterateBatches,
  type DecodedRecord,
  type RecordInput,
} from '@tributary/protocol'

/** Deadline of a Metadata, ListOffsets or admin call. */
export const CALL_TIMEOUT_MS = 2000
/** acks=all: how long the leader may wait for the ISR (ProduceRequest.timeout_ms). */
export const PRODUCE_REQUEST_TIMEOUT_MS = 1500
/** How long one send may take, retries included, before it counts as failed (delivery.timeout.ms). */
export const DELIVERY_TIMEOUT_MS = 15_000
/** Backoff between retries: starts here and doubles up to the max (KIP-580's shape, no jitter). */
export const RETRY_BACKOFF_MS = 10
export const RETRY_BACKOFF_MAX_MS = 100
/** Largest gRPC message either way: a fetch of a few 1 MiB batches fits. */
export const MESSAGE_BYTES_MAX = 64 * 1024 * 1024
/** HTTP/2 flow-control window of the client's channels. */
export const FLOW_CONTROL_WINDOW_BYTES = 32 * 1024 * 1024
/** Attempts kept for inspection; older ones are dropped (counters keep counting). */
export const ATTEMPTS_KEPT_MAX = 100_000

const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 1000,
  'grpc.keepalive_timeout_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
  // A restarted broker is found again within 100 ms (the transport's own choice too).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 100,
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
  // A large HTTP/2 window, as the broker's own channels use (server-limits.ts): with the
  // default 64 KiB, a 1 MiB fetch answer stalls on WINDOW_UPDATEs.
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
} as const

/** gRPC statuses that say "try again" (the node is down, restarting, or slow). */
const RETRIABLE_GRPC = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.RESOURCE_EXHAUSTED])

export type Operation = 'metadata' | 'produce' | 'fetch' | 'list_offsets' | 'create_topics' | 'elect_leaders'

export interface Attempt {
  readonly op: Operation
  /** The broker the call went to, or null for a bootstrap address of unknown id. */
  readonly nodeId: number | null
  readonly address: string
  /** performance.now() when the call started, and how long it took. */
  readonly startedAtMs: number
  readonly durationMs: number
  /** ok; a Kafka error code in the body; or a gRPC failure (no answer). */
  readonly outcome: 'ok' | 'error_code' | 'transport'
  /** The Kafka error code (0 when ok), or the gRPC status code for 'transport'. */
  readonly code: number
  /** NONE, NOT_LEADER_OR_FOLLOWER, ... or the gRPC status name (UNAVAILABLE, ...). */
  readonly name: string
  readonly detail: string
}

export interface ProduceOptions {
  /** 0, 1 or -1 (all); -1 by default. */
  readonly acks?: number
  /** ProduceRequest.timeout_ms. */
  readonly requestTimeoutMs?: number
  /** Give up (and throw SendFailedError) after this long. */
  readonly deliveryTimeoutMs?: number
}

export interface ProduceAck {
  readonly topic: string
  readonly partition: number
  readonly baseOffset: bigint
  /** The broker that acknowledged it. */
  readonly leaderId: number
  /** Calls made for this send (1 when the first one succeeded). */
  readonly calls: number
  /** Error responses (Kafka codes) and transport failures seen on the way. */
  readonly errors: readonly Attempt[]
  readonly startedAtMs: number
  readonly ackedAtMs: number
}

export interface FetchOptions {
  readonly maxWaitMs?: number
  readonly minBytes?: number
  readonly maxBytes?: number
  /** Retry leader errors and transport failures for this long; 0 means one call. */
  readonly retryForMs?: number
}

export interface FetchResult {
  readonly errorCode: number
  readonly highWatermark: bigint
  readonly logStartOffset: bigint
  /** Records at or after the fetch offset (batches may start earlier; those records are dropped). */
  readonly records: readonly DecodedRecord[]
  readonly bytes: number
  readonly leaderId: number
}

/** A send that got no acknowledgment: a non-retriable error, or the delivery timeout. */
export class SendFailedError extends Error {
  readonly attempts: readonly Attempt[]

  constructor(message: string, attempts: readonly Attempt[]) {
    const last = attempts.at(-1)
    super(`${message}${last === undefined ? '' : ` (last: ${last.name} from node ${last.nodeId ?? '?'}: ${last.detail})`}; ${attempts.length} calls`)
    this.name = 'SendFailedError'
    this.attempts = attempts
  }
}

export interface BrokerClientOptions {
  /** host:port of one or more brokers. */
  readonly bootstrap: readonly string[]
  readonly callTimeoutMs?: number
  readonly retryBackoffMs?: number
  readonly retryBackoffMaxMs?: number
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall

type CallResult<Res> = { readonly ok: true; readonly value: Res } | { readonly ok: false; readonly error: grpc.ServiceError }

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class BrokerClient {
  private readonly bootstrap: readonly string[]
  private readonly callTimeoutMs: number
  private readonly retryBackoffMs: number
  private readonly retryBackoffMaxMs: number
  private readonly stubs = new Map<string, broker.BrokerServiceClient>()
  /** Broker id -> host:port, from the last Metadata answers. */
  private readonly brokers = new Map<number, string>()
  private readonly partitions = new Map<string, broker.MetadataPartition>()
  private closed = false
  /** The broker that answered Metadata last: asked first next time (a dead or hung one is not). */
  private lastAnswered: string | null = null
  /** Every call, oldest first (bounded by ATTEMPTS_KEPT_MAX). */
  readonly attempts: Attempt[] = []
  /** Calls per outcome name (NONE, NOT_LEADER_OR_FOLLOWER, UNAVAILABLE, ...) and operation. */
  readonly counts = new Map<string, number>()

  constructor(options: BrokerClientOptions) {
    if (options.bootstrap.length === 0) throw new Error('a BrokerClient needs at least one bootstrap address')
    this.bootstrap = [...options.bootstrap]
    this.callTimeoutMs = options.callTimeoutMs ?? CALL_TIMEOUT_MS
    this.retryBackoffMs = options.retryBackoffMs ?? RETRY_BACKOFF_MS
    this.retryBackoffMaxMs = options.retryBackoffMaxMs ?? RETRY_BACKOFF_MAX_MS
  }

  // ---- metadata ------------------------------------------------------------------------

  /**
   * Metadata for `topics` (every topic when empty) from the first broker that answers,
   * trying known brokers before the bootstrap list; updates the cache. Throws when none answers.
   */
  async metadata(topics: readonly string[] = []): Promise<broker.MetadataResponse> {
    const request: broker.MetadataRequest = { topics: [...topics], allTopics: topics.length === 0 }
    const errors: string[] = []
    for (const { nodeId, address } of this.candidates()) {
      const r = await this.unary('metadata', nodeId, address, (s) => s.metadata.bind(s), request, this.callTimeoutMs, () => ErrorCode.NONE.code)
      if (!r.ok) {
        errors.push(`${address}: ${grpc.status[r.error.code]}`)
        continue
      }
      this.learn(r.value)
      this.lastAnswered = address
      return r.value
    }
    throw new Error(`no broker answered Metadata (${errors.join('; ')})`)
  }

  /** Metadata as answered by one broker (no fallback), for tests that compare nodes' views. */
  async metadataFrom(address: string, topics: readonly string[] = []): Promise<broker.MetadataResponse> {
    const request: broker.MetadataRequest = { topics: [...topics], allTopics: topics.length === 0 }
    const r = await this.unary('metadata', this.idOf(address), address, (s) => s.metadata.bind(s), request, this.callTimeoutMs, () => ErrorCode.NONE.code)
    if (!r.ok) throw r.error
    return r.value
  }

  /** The cached partition (leader, ISR, ...) as last seen, or null. */
  cachedPartition(topic: string, partition: number): broker.MetadataPartition | null {
    return this.partitions.get(partitionKey(topic, partition)) ?? null
  }

  /** The partition as the broker that answers Metadata sees it now (null if unknown there). */
  async partition(topic: string, partition: number): Promise<broker.MetadataPartition | null> {
    await this.metadata([topic])
    return this.cachedPartition(topic, partition)
  }

  // ---- produce -------------------------------------------------------------------------

  /** Encodes `records` as one RecordBatch v2 and sends it (see produceBatch). */
  produce(topic: string, partition: number, records: readonly RecordInput[], options: ProduceOptions = {}): Promise<ProduceAck> {
    return this.produceBatch(topic, partition, encodeRecordBatch({ records }), options)
  }

  /**
   * Sends one batch to the partition's leader until it is acknowledged: retriable Kafka errors
   * and transport failures are retried after a backoff (metadata refreshed when the code asks
   * for it, and after every transport failure). Throws SendFailedError on a non-retriable
   * error or when the delivery timeout passes. With acks=0 the broker sends no response; the
   * ack then carries baseOffset -1.
   */
  async produceBatch(topic: string, partition: number, batch: Buffer, options: ProduceOptions = {}): Promise<ProduceAck> {
    const acks = options.acks ?? -1
    const requestTimeoutMs = options.requestTimeoutMs ?? PRODUCE_REQUEST_TIMEOUT_MS
    const startedAtMs = performance.now()
    const deadline = startedAtMs + (options.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS)
    const request: broker.ProduceRequest = {
      acks,
      timeoutMs: requestTimeoutMs,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, records: batch }] }],
      transactionalId: '',
    }
    const errors: Attempt[] = []
    let calls = 0
    let backoffMs = this.retryBackoffMs
    for (;;) {
      this.assertOpen()
      const leader = await this.leaderOf(topic, partition, errors)
      if (leader !== null) {
        calls++
        const before = this.attempts.length
        const r = await this.unary('produce', leader.nodeId, leader.address, (s) => s.produce.bind(s), request, requestTimeoutMs + this.callTimeoutMs, (res) => producePartition(res, topic, partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code)
        const attempt = this.attempts.length > before ? this.attempts[this.attempts.length - 1]! : null
        if (r.ok) {
          const p = producePartition(r.value, topic, partition)
          if (acks === 0 && p === undefined) {
            return { topic, partition, baseOffset: -1n, leaderId: leader.nodeId, calls, errors, startedAtMs, ackedAtMs: performance.now() }
          }
          if (p !== undefined && p.errorCode === ErrorCode.NONE.code) {
            return { topic, partition, baseOffset: p.baseOffset, leaderId: leader.nodeId, calls, errors, startedAtMs, ackedAtMs: performance.now() }
          }
          if (attempt !== null) errors.push(attempt)
          const code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code
          const info = errorInfo(code)
          if (!info.retriable) throw new SendFailedError(`produce to ${topic}-${partition} failed with ${info.name}`, errors)
          // KIP-951: a NOT_LEADER_OR_FOLLOWER answer names the new leader; go there without a Metadata round trip.
          if (p !== undefined && !this.followHint(topic, partition, p.currentLeaderId, p.currentLeaderEpoch) && info.refreshMetadata) this.forget(topic, partition)
        } else {
          if (attempt !== null) errors.push(attempt)
          if (!RETRIABLE_GRPC.has(r.error.code)) throw new SendFailedError(`produce to ${topic}-${partition} failed with gRPC ${grpc.status[r.error.code]}`, errors)
          this.forget(topic, partition)
        }
      }
      if (performance.now() + backoffMs > deadline) {
        throw new SendFailedError(`produce to ${topic}-${partition} not acknowledged within the delivery timeout`, errors)
      }
      await sleep(backoffMs)
      backoffMs = Math.min(this.retryBackoffMaxMs, backoffMs * 2)
    }
  }

  // ---- fetch ---------------------------------------------------------------------------

  /** One consumer fetch from the partition leader, retried on leader errors for options.retryForMs. */
  async fetch(topic: string, partition: number, offset: bigint, options: FetchOptions = {}): Promise<FetchResult> {
    const maxWaitMs = options.maxWaitMs ?? 0
    const maxBytes = options.maxBytes ?? 8 * 1024 * 1024
    const request: broker.FetchRequest = {
      replicaId: -1,
      replicaEpoch: -1n,
      maxWaitMs,
      minBytes: options.minBytes ?? 1,
      maxBytes,
      isolationLevel: 0,
      topics: [{ topic, topicId: '', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: maxBytes }] }],
      correlationId: 0n,
    }
    const deadline = performance.now() + (options.retryForMs ?? 0)
    const ignored: Attempt[] = []
    let backoffMs = this.retryBackoffMs
    for (;;) {
      this.assertOpen()
      const leader = await this.leaderOf(topic, partition, ignored)
      let retriable = true
      let last = 'no leader known'
      if (leader !== null) {
        const r = await this.unary('fetch', leader.nodeId, leader.address, (s) => s.fetch.bind(s), request, maxWaitMs + this.callTimeoutMs, (res) => {
          if (res.errorCode !== ErrorCode.NONE.code) return res.errorCode
          return fetchPartition(res, topic, partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code
        })
        if (r.ok) {
          const p = fetchPartition(r.value, topic, partition)
          const code = r.value.errorCode !== ErrorCode.NONE.code ? r.value.errorCode : (p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code)
          if (code === ErrorCode.NONE.code && p !== undefined) {
            return {
              errorCode: code,
              highWatermark: p.highWatermark,
              logStartOffset: p.logStartOffset,
              records: recordsFrom(Buffer.from(p.records), offset),
              bytes: p.records.length,
              leaderId: leader.nodeId,
            }
          }
          const info = errorInfo(code)
          last = info.name
          retriable = info.retriable
          if (info.refreshMetadata) this.forget(topic, partition)
          if (!retriable) return { errorCode: code, highWatermark: p?.highWatermark ?? -1n, logStartOffset: p?.logStartOffset ?? -1n, records: [], bytes: 0, leaderId: leader.nodeId }
        } else {
          last = grpc.status[r.error.code]
          retriable = RETRIABLE_GRPC.has(r.error.code)
          this.forget(topic, partition)
          if (!retriable) throw r.error
        }
      }
      if (performance.now() + backoffMs > deadline) throw new Error(`fetch of ${topic}-${partition} at ${offset} failed: ${last}`)
      await sleep(backoffMs)
      backoffMs = Math.min(this.retryBackoffMaxMs, backoffMs * 2)
    }
  }

  /**
   * Every record in [from, until) (until defaults to the high watermark at the first
   * fetch), fetching from the leader batch after batch; retries leader errors for retryForMs
   * per fetch.
   */
  async readRange(topic: string, partition: number, from: bigint, until?: bigint, retryForMs = 10_000): Promise<DecodedRecord[]> {
    const out: DecodedRecord[] = []
    let offset = from
    let end = until ?? null
    for (;;) {
      if (end !== null && offset >= end) return out
      const r = await this.fetch(topic, partition, offset, { retryForMs })
      if (r.errorCode !== ErrorCode.NONE.code) throw new Error(`fetch of ${topic}-${partition} at ${offset}: ${errorInfo(r.errorCode).name}`)
      end ??= r.highWatermark
      if (offset >= end) return out
      const fresh = r.records.filter((rec) => rec.offset >= offset && rec.offset < (end ?? rec.offset + 1n))
      if (fresh.length === 0) {
        if (r.highWatermark < end) throw new Error(`${topic}-${partition}: the high watermark ${r.highWatermark} went below ${end}`)
        // Nothing new below the end yet: it is not committed; wait a little.
        await sleep(this.retryBackoffMs)
        continue
      }
      out.push(...fresh)
      offset = fresh[fresh.length - 1]!.offset + 1n
    }
  }

  // ---- offsets -------------------------------------------------------------------------

  /** ListOffsets at the leader: timestamp -1 latest (the high watermark), -2 earliest, else by time. */
  async listOffsets(topic: string, partition: number, timestamp: bigint, retryForMs = 5000): Promise<broker.ListOffsetsPartitionResponse> {
    const request: broker.ListOffsetsRequest = { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }] }
    const deadline = performance.now() + retryForMs
    const ignored: Attempt[] = []
    for (;;) {
      this.assertOpen()
      const leader = await this.leaderOf(topic, partition, ignored)
      if (leader !== null) {
        const r = await this.unary('list_offsets', leader.nodeId, leader.address, (s) => s.listOffsets.bind(s), request, this.callTimeoutMs, (res) => listOffsetsPartition(res, topic, partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR.code)
        if (r.ok) {
          const p = listOffsetsPartition(r.value, topic, partition)
          if (p !== undefined && (p.errorCode === ErrorCode.NONE.code || !errorInfo(p.errorCode).retriable)) return p
          if (p === undefined || errorInfo(p.errorCode).refreshMetadata) this.forget(topic, partition)
        } else {
          if (!RETRIABLE_GRPC.has(r.error.code)) throw r.error
          this.forget(topic, partition)
        }
      }
      if (performance.now() > deadline) throw new Error(`ListOffsets of ${topic}-${partition} did not succeed within ${retryForMs} ms`)
      await sleep(this.retryBackoffMaxMs)
    }
  }

  // ---- admin (forwarded to the active controller by the broker) ------------------------

  /**
   * CreateTopics through any broker. Retries transport failures and whole-request retriable
   * errors (NOT_CONTROLLER while the quorum elects) for retryForMs; per-topic errors are
   * returned as they are.
   */
  async createTopics(topics: readonly controller.CreatableTopic[], retryForMs = 10_000): Promise<controller.CreateTopicsResponse> {
    const request: controller.CreateTopicsRequest = { topics: [...topics], validateOnly: false }
    return this.admin('create_topics', (s) => s.createTopics.bind(s), request, retryForMs)
  }

  /** ElectLeaders (preferred by default) through any broker; see createTopics for retries. */
  async electLeaders(topicPartitions: readonly controller.ElectLeadersTopicPartitions[], electionType = controller.ElectionType.PREFERRED, retryForMs = 10_000): Promise<controller.ElectLeadersResponse> {
    const request: controller.ElectLeadersRequest = { electionType, topicPartitions: [...topicPartitions] }
    return this.admin('elect_leaders', (s) => s.electLeaders.bind(s), request, retryForMs)
  }

  // ---- accounting ----------------------------------------------------------------------

  /** Attempts recorded since index `from` of `attempts` (take attempts.length before an action). */
  attemptsSince(from: number): Attempt[] {
    return this.attempts.slice(from)
  }

  count(name: string, op?: Operation): number {
    return this.counts.get(op === undefined ? name : `${op}:${name}`) ?? 0
  }

  close(): void {
    this.closed = true
    for (const s of this.stubs.values()) s.close()
    this.stubs.clear()
  }

  // ---- internals -----------------------------------------------------------------------

  private async admin<Req, Res extends { errorCode: number }>(
    op: Operation,
    method: (s: broker.BrokerServiceClient) => UnaryMethod<Req, Res>,
    request: Req,
    retryForMs: number,
  ): Promise<Res> {
    const deadline = performance.now() + retryForMs
    let last = ''
    for (;;) {
      this.assertOpen()
      for (const { nodeId, address } of this.candidates()) {
        const r = await this.unary(op, nodeId, address, method, request, this.callTimeoutMs * 2, (res) => res.errorCode)
        if (r.ok) {
          const info = errorInfo(r.value.errorCode)
          if (r.value.errorCode === ErrorCode.NONE.code || !info.retriable) return r.value
          last = info.name
        } else {
          if (!RETRIABLE_GRPC.has(r.error.code)) throw r.error
          last = grpc.status[r.error.code]
        }
      }
      if (performance.now() > deadline) throw new Error(`${op} did not succeed within ${retryForMs} ms (last: ${last})`)
      await sleep(this.retryBackoffMaxMs)
    }
  }

  /** The leader's id and address from the cache, refreshing metadata when unknown; null if none yet. */
  private async leaderOf(topic: string, partition: number, errors: Attempt[]): Promise<{ nodeId: number; address: string } | null> {
    let p = this.cachedPartition(topic, partition)
    if (p === null || p.leaderId < 0 || !this.brokers.has(p.leaderId)) {
      try {
        await this.metadata([topic])
      } catch {
        // No broker answered: the caller backs off and asks again.
        return null
      }
      p = this.cachedPartition(topic, partition)
    }
    if (p === null || p.leaderId < 0) {
      // Leaderless (an election in progress): not a response to the caller's request, but
      // worth seeing in its error list.
      if (p !== null) errors.push(syntheticAttempt(p.errorCode === ErrorCode.NONE.code ? ErrorCode.LEADER_NOT_AVAILABLE.code : p.errorCode))
      return null
    }
    const address = this.brokers.get(p.leaderId)
    return address === undefined ? null : { nodeId: p.leaderId, address }
  }

  /**
   * Moves the cached leader to a response's hint when it is newer than what the cache holds
   * and the broker's address is known; returns whether it did.
   */
  private followHint(topic: string, partition: number, leaderId: number, leaderEpoch: number): boolean {
    const cached = this.cachedPartition(topic, partition)
    if (cached === null || leaderId < 0 || !this.brokers.has(leaderId) || leaderEpoch <= cached.leaderEpoch) return false
    this.partitions.set(partitionKey(topic, partition), { ...cached, leaderId, leaderEpoch })
    return true
  }

  private forget(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition))
  }

  private learn(res: broker.MetadataResponse): void {
    if (res.brokers.length > 0) {
      // Metadata lists unfenced brokers only: a fenced one is dropped until it is back.
      this.brokers.clear()
      for (const b of res.brokers) this.brokers.set(b.nodeId, `${b.host}:${b.port}`)
    }
    for (const t of res.topics) {
      if (t.errorCode !== ErrorCode.NONE.code) continue
      for (const p of t.partitions) this.partitions.set(partitionKey(t.name, p.partitionIndex), p)
    }
  }

  /** Known brokers first (the last one that answered Metadata first), then bootstrap addresses not among them. */
  private candidates(): { nodeId: number | null; address: string }[] {
    const out: { nodeId: number | null; address: string }[] = [...this.brokers].map(([nodeId, address]) => ({ nodeId, address }))
    const preferred = out.findIndex((c) => c.address === this.lastAnswered)
    if (preferred > 0) out.unshift(...out.splice(preferred, 1))
    for (const address of this.bootstrap) if (!out.some((c) => c.address === address)) out.push({ nodeId: null, address })
    return out
  }

  private idOf(address: string): number | null {
    for (const [id, a] of this.brokers) if (a === address) return id
    return null
  }

  private stub(address: string): broker.BrokerServiceClient {
    let s = this.stubs.get(address)
    if (s === undefined) {
      s = new broker.BrokerServiceClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS)
      this.stubs.set(address, s)
    }
    return s
  }

  /** One call with a deadline; records it as an Attempt, classified by `codeOf` on success. */
  private unary<Req, Res>(
    op: Operation,
    nodeId: number | null,
    address: string,
    method: (s: broker.BrokerServiceClient) => UnaryMethod<Req, Res>,
    request: Req,
    timeoutMs: number,
    codeOf: (res: Res) => number,
  ): Promise<CallResult<Res>> {
    const startedAtMs = performance.now()
    return new Promise((resolve) => {
      method(this.stub(address))(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        const durationMs = performance.now() - startedAtMs
        if (error !== null) {
          this.record({ op, nodeId, address, startedAtMs, durationMs, outcome: 'transport', code: error.code, name: grpc.status[error.code] ?? `GRPC_${error.code}`, detail: error.details })
          resolve({ ok: false, error })
          return
        }
        const code = codeOf(response)
        const info = errorInfo(code)
        this.record({ op, nodeId, address, startedAtMs, durationMs, outcome: code === ErrorCode.NONE.code ? 'ok' : 'error_code', code, name: info.name, detail: info.message })
        resolve({ ok: true, value: response })
      })
    })
  }

  private record(a: Attempt): void {
    this.attempts.push(a)
    if (this.attempts.length > ATTEMPTS_KEPT_MAX) this.attempts.splice(0, this.attempts.length - ATTEMPTS_KEPT_MAX)
    this.counts.set(a.name, (this.counts.get(a.name) ?? 0) + 1)
    this.counts.set(`${a.op}:${a.name}`, (this.counts.get(`${a.op}:${a.name}`) ?? 0) + 1)
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the BrokerClient is closed')
  }
}

function producePartition(res: broker.ProduceResponse, topic: string, partition: number): broker.ProducePartitionResponse | undefined {
  return res.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
}

function fetchPartition(res: broker.FetchResponse, topic: string, partition: number): broker.FetchPartitionResponse | undefined {
  return res.topics.find((t) => t.topic === topic)?.partitions.find((p) => p.partitionIndex === partition)
}

function listOffsetsPartition(res: broker.ListOffsetsResponse, topic: string, partition: number): broker.ListOffsetsPartitionResponse | undefined {
  return res.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
}

/**
 * The records of every whole batch in `bytes` at or after `from`. A fetch may end with a
 * partial batch (Kafka returns one when the next batch is bigger than the size limit): it is
 * skipped, as a consumer does.
 */
export function recordsFrom(bytes: Buffer, from: bigint): DecodedRecord[] {
  const out: DecodedRecord[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') break
    for (const r of decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes))) if (r.offset >= from) out.push(r)
  }
  return out
}

/** A leaderless partition in a Metadata answer, as an entry of a send's error list. */
function syntheticAttempt(code: number): Attempt {
  const info = errorInfo(code)
  return { op: 'metadata', nodeId: null, address: '', startedAtMs: performance.now(), durationMs: 0, outcome: 'error_code', code, name: info.name, detail: 'the partition has no leader in Metadata' }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * One unary call with raw bytes as the request (identity serializers): for bad-input tests.
 * Resolves with the gRPC status and details, or the raw response bytes.
 */
export function rawUnaryCall(address: string, path: string, bytes: Buffer, timeoutMs = CALL_TIMEOUT_MS): Promise<{ readonly code: grpc.status; readonly details: string } | { readonly ok: Buffer }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, value) => {
      client.close()
      if (err !== null) resolve({ code: err.code, details: err.details })
      else resolve({ ok: value ?? Buffer.alloc(0) })
    })
  })
}

/** A record with a small text value: what the tests and benchmarks send. */
export function textRecord(value: string, key: string | null = null): RecordInput {
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(value), timestamp: BigInt(Date.now()) }
}
